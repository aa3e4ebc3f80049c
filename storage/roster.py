"""Who the organisation file names, and who of them has joined: what `sandan org people` prints."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PersonRow, PlaceRow, RoleRow


@dataclass(frozen=True)
class StaffLine:
    """One staff member: code, name, roles with their places, joined and reachable or not."""

    code: str
    name: str
    roles: tuple[str, ...]  # "grid_worker@G1"
    joined: bool
    reachable: bool

    def line(self) -> str:
        """Return the member as one line for the operator."""
        state = "not joined" if not self.joined else "joined" if self.reachable else "BLOCKED"
        roles = ", ".join(self.roles) or "(no role)"
        return f"{self.code:<16} {self.name:<12} {state:<10} {roles}"


async def staff_roster(session: AsyncSession) -> list[StaffLine]:
    """Return every person with a code (everyone the organisation file names), by code."""
    people = (await session.execute(select(PersonRow).where(PersonRow.code.is_not(None)))).scalars()
    roles = await session.execute(
        select(RoleRow.person_id, RoleRow.role, PlaceRow.code)
        .join(PlaceRow, PlaceRow.id == RoleRow.place_id)
        .order_by(RoleRow.person_id, RoleRow.role, PlaceRow.code)
    )
    held: dict[int, list[str]] = {}
    for person_id, role, place in roles:
        held.setdefault(person_id, []).append(f"{role}@{place}")
    return [
        StaffLine(
            code=p.code or "",
            name=p.name,
            roles=tuple(held.get(p.id, ())),
            joined=p.telegram_id is not None,
            reachable=p.reachable,
        )
        for p in people
    ]
