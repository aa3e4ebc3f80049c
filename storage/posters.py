"""What each building's 亮身份 poster shows: where it is, who looks after it, the duty phone.

Read for `sandan org posters` (bot/posters.py draws them). Staff appear by name and phone only
when the organisation file says they agreed (`public: true`); the others are counted, unnamed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PersonRow, PlaceRow, RoleRow
from workflows.model import PlaceKind, Role


@dataclass(frozen=True)
class Carer:
    """A building head or grid worker who agreed to be shown: name and phone."""

    role: Role
    name: str
    phone: str


@dataclass(frozen=True)
class PosterFacts:
    """Everything one building's poster says."""

    code: str
    building: str
    community: str
    grid: str
    carers: tuple[Carer, ...]
    duty_phone: str


async def poster_facts(session: AsyncSession) -> list[PosterFacts]:
    """Return the facts of every building's poster, in the organisation file's order."""
    places = {p.id: p for p in (await session.execute(select(PlaceRow))).scalars()}
    shown = [
        (role, place_id, person)
        for role, place_id, person in (
            await session.execute(
                select(RoleRow.role, RoleRow.place_id, PersonRow)
                .join(PersonRow, PersonRow.id == RoleRow.person_id)
                .where(RoleRow.role.in_([Role.BUILDING_HEAD.value, Role.GRID_WORKER.value]))
                .order_by(RoleRow.id)
            )
        ).all()
        if person.public
    ]
    facts = []

    def ordered(kind: PlaceKind, parent: int | None) -> list[PlaceRow]:
        found = [p for p in places.values() if p.kind == kind.value and p.parent_id == parent]
        return sorted(found, key=lambda p: (p.position, p.id))

    for street in ordered(PlaceKind.STREET, None):
        for community in ordered(PlaceKind.COMMUNITY, street.id):
            for grid in ordered(PlaceKind.GRID, community.id):
                for building in ordered(PlaceKind.BUILDING, grid.id):
                    carers = [
                        Carer(Role(role), person.name, person.phone or "")
                        for wanted, place in (
                            (Role.BUILDING_HEAD, building.id),
                            (Role.GRID_WORKER, grid.id),
                        )
                        for role, place_id, person in shown
                        if role == wanted.value and place_id == place
                    ]
                    facts.append(
                        PosterFacts(
                            code=building.code,
                            building=building.name_zh,
                            community=community.name_zh,
                            grid=grid.name_zh,
                            carers=tuple(carers),
                            duty_phone=community.duty_phone or "",
                        )
                    )
    return facts
