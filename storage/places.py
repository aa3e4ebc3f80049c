"""Places (street, community, grid, building, unit, departments) and households."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.mappers import closed_days, to_household, to_place
from storage.models import HouseholdRow, PlaceRow, dialect_insert
from workflows.model import PUBLIC_ROOMS, Household, HouseholdPlace, Names, Place, PlaceKind

# Prebuilt Core statements: see storage/people.py for why the reads every update makes are
# not built each time.
_PLACES = cast(Table, PlaceRow.__table__)
_HOUSEHOLDS = cast(Table, HouseholdRow.__table__)
PLACE_BY_ID = select(_PLACES).where(_PLACES.c.id == bindparam("place_id"))
PLACE_BY_CODE = select(_PLACES).where(_PLACES.c.code == bindparam("code"))
_CHILDREN = select(_PLACES).order_by(_PLACES.c.position, _PLACES.c.id)
TOP_PLACES = _CHILDREN.where(_PLACES.c.kind == bindparam("kind"))
CHILD_PLACES = TOP_PLACES.where(_PLACES.c.parent_id == bindparam("parent_id"))
HOUSEHOLD_BY_ID = select(_HOUSEHOLDS).where(_HOUSEHOLDS.c.id == bindparam("household_id"))
HOUSEHOLD_BY_ROOM = select(_HOUSEHOLDS).where(
    _HOUSEHOLDS.c.unit_id == bindparam("unit_id"), _HOUSEHOLDS.c.room == bindparam("room")
)
HOUSEHOLDS_OF_UNIT = (
    select(_HOUSEHOLDS)
    .where(_HOUSEHOLDS.c.unit_id == bindparam("unit_id"))
    .where(_HOUSEHOLDS.c.room.not_in(PUBLIC_ROOMS))  # nobody lives in a public area
    .order_by(_HOUSEHOLDS.c.id)
)
# A household with its unit, building, grid and community, in one read.
_LEVELS = ("unit", "building", "grid", "community")
_UP = [_PLACES.alias(level) for level in _LEVELS]
HOUSEHOLD_PLACE = (
    select(_HOUSEHOLDS, *(c.label(f"{up.name}__{c.key}") for up in _UP for c in up.c))
    .join(_UP[0], _UP[0].c.id == _HOUSEHOLDS.c.unit_id)
    .join(_UP[1], _UP[1].c.id == _UP[0].c.parent_id)
    .join(_UP[2], _UP[2].c.id == _UP[1].c.parent_id)
    .join(_UP[3], _UP[3].c.id == _UP[2].c.parent_id)
    .where(_HOUSEHOLDS.c.id == bindparam("household_id"))
)


PLACES_SEEN = "sandan.household_places"  # the session's `info` key of the places read


def forget_places(session: AsyncSession) -> None:
    """Forget the households' places this session has read (after writing to a household)."""
    session.info.pop(PLACES_SEEN, None)


class SqlPlaces:
    """Places and households."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, place_id: int) -> Place | None:
        row = (await self.session.execute(PLACE_BY_ID, {"place_id": place_id})).first()
        return to_place(row) if row else None

    async def children(self, parent_id: int | None, kind: PlaceKind) -> list[Place]:
        if parent_id is None:
            rows = await self.session.execute(TOP_PLACES, {"kind": kind.value})
        else:
            asked = {"kind": kind.value, "parent_id": parent_id}
            rows = await self.session.execute(CHILD_PLACES, asked)
        return [to_place(r) for r in rows]

    async def by_code(self, code: str) -> Place | None:
        row = (await self.session.execute(PLACE_BY_CODE, {"code": code})).first()
        return to_place(row) if row else None

    async def households(self, unit_id: int) -> list[Household]:
        rows = await self.session.execute(HOUSEHOLDS_OF_UNIT, {"unit_id": unit_id})
        return [to_household(r) for r in rows]

    async def household(self, household_id: int) -> Household | None:
        asked = {"household_id": household_id}
        row = (await self.session.execute(HOUSEHOLD_BY_ID, asked)).first()
        return to_household(row) if row else None

    async def public_household(self, unit_id: int, room: str) -> Household:
        asked = {"unit_id": unit_id, "room": room}
        row = (await self.session.execute(HOUSEHOLD_BY_ROOM, asked)).first()
        if row is None:
            # Made on first use, perhaps by two transactions at once (partners' orders are
            # filed several at a time on PostgreSQL): the second finds the first's, no error.
            await self.session.execute(
                dialect_insert(self.session)(_HOUSEHOLDS)
                .values(unit_id=unit_id, room=room, is_key=False)
                .on_conflict_do_nothing(index_elements=["unit_id", "room"])
            )
            row = (await self.session.execute(HOUSEHOLD_BY_ROOM, asked)).one()
        return Household(row.id, row.unit_id, row.room, bool(row.is_key))

    async def household_place(self, household_id: int) -> HouseholdPlace | None:
        # Kept for the session (one unit of work): placing an order reads its household's
        # place several times over. Writes to a household forget it (`forget_places`).
        known: dict[int, HouseholdPlace] = self.session.info.setdefault(PLACES_SEEN, {})
        if household_id in known:
            return known[household_id]
        found = await self._household_place(household_id)
        if found is not None:
            known[household_id] = found
        return found

    async def _household_place(self, household_id: int) -> HouseholdPlace | None:
        asked = {"household_id": household_id}
        row = (await self.session.execute(HOUSEHOLD_PLACE, asked)).first()
        if row is None:
            return None
        found = row._mapping
        unit, building, grid, community = (
            Place(
                found[f"{level}__id"],
                PlaceKind(found[f"{level}__kind"]),
                found[f"{level}__code"],
                Names(found[f"{level}__name_zh"], found[f"{level}__name_en"]),
                found[f"{level}__parent_id"],
                working_hours=found[f"{level}__working_hours"] or "",
                closed_days=closed_days(found[f"{level}__closed_days"]),
                duty_phone=found[f"{level}__duty_phone"] or "",
                channel=found[f"{level}__channel"],
            )
            for level in _LEVELS
        )
        return HouseholdPlace(to_household(row), unit, building, grid, community)
