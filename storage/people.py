"""People and their roles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.mappers import to_person
from storage.models import OrderRow, PersonRow, RoleRow, TeamMemberRow, TeamRow
from workflows.model import (
    Names,
    OrderStatus,
    Person,
    PersonChanges,
    Role,
    RoleAssignment,
    VolunteerTeam,
)

BUSY = (OrderStatus.OFFERED.value, OrderStatus.ACCEPTED.value, OrderStatus.ON_WAY.value)

# -- statements every update runs, built once --------------------------------------------------
# What each update does (the person, their conversation state, the places they pick, the outbox
# rows, the update's record) is read and written with these prebuilt Core statements: building a
# statement and turning rows into ORM objects cost several times the query itself (the
# by-Telegram-id lookup of a person and their roles: ~0.5 ms through the ORM, ~0.06 ms here).
# Every ORM write in the repositories is flushed at once, so these reads never miss one.
_PEOPLE = cast(Table, PersonRow.__table__)
_ROLES = cast(Table, RoleRow.__table__)
_PERSON = (
    select(_PEOPLE, _ROLES.c.role.label("role_name"), _ROLES.c.place_id.label("role_place"))
    .outerjoin(_ROLES, _ROLES.c.person_id == _PEOPLE.c.id)
    .order_by(_ROLES.c.id)
)
PERSON_BY_ID = _PERSON.where(_PEOPLE.c.id == bindparam("key"))
PERSON_BY_TELEGRAM = _PERSON.where(_PEOPLE.c.telegram_id == bindparam("key"))
PERSON_BY_CODE = _PERSON.where(_PEOPLE.c.code == bindparam("key"))
# The people with any of some phones (a partner's caller, in all the forms a phone is kept in).
PEOPLE_WITH_PHONE = (
    _PERSON.where(
        _PEOPLE.c.household_id.is_not(None),
        _PEOPLE.c.phone.in_(bindparam("phones", expanding=True)),
    )
    .order_by(None)
    .order_by(_PEOPLE.c.id, _ROLES.c.id)
)
# A new person (no roles yet), written without the ORM's unit of work.
ADD_PERSON = insert(_PEOPLE).returning(*_PEOPLE.c)
# The holders of any of some roles over some places, each with all their roles: a row per
# (person, role). Dispatch runs it for every order it routes (~2.5 ms through the ORM).
_EVERY = _ROLES.alias("every_role")
PEOPLE_WITH_ROLES = (
    select(_PEOPLE, _EVERY.c.role.label("role_name"), _EVERY.c.place_id.label("role_place"))
    .join(_EVERY, _EVERY.c.person_id == _PEOPLE.c.id)
    .where(
        _PEOPLE.c.id.in_(
            select(_ROLES.c.person_id).where(
                _ROLES.c.role.in_(bindparam("roles", expanding=True)),
                _ROLES.c.place_id.in_(bindparam("places", expanding=True)),
            )
        )
    )
    .order_by(_PEOPLE.c.id, _EVERY.c.id)
)


async def _one_person(session: AsyncSession, statement: Any, key: object) -> Person | None:
    """Run one of the PERSON_BY_* statements: one row per role (one with none if none)."""
    rows: Sequence[Row[Any]] = (await session.execute(statement, {"key": key})).all()
    if not rows:
        return None
    roles = (RoleAssignment(Role(r.role_name), r.role_place) for r in rows if r.role_name)
    return to_person(rows[0], roles)


def _each_person(rows: Iterable[Row[Any]]) -> list[Person]:
    """Return the people of rows that hold a person and one of their roles each (a person's
    rows in a run; `role_name` None for one with none), in the order they came."""
    found: dict[int, tuple[Row[Any], list[RoleAssignment]]] = {}
    for row in rows:
        held = found.setdefault(row.id, (row, []))[1]
        if row.role_name:
            held.append(RoleAssignment(Role(row.role_name), row.role_place))
    return [to_person(row, held) for row, held in found.values()]


class SqlPeople:
    """People and their roles."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _roles(self, person_ids: Sequence[int]) -> dict[int, list[RoleAssignment]]:
        found: dict[int, list[RoleAssignment]] = {pid: [] for pid in person_ids}
        if not person_ids:
            return found
        rows = await self.session.scalars(
            select(RoleRow).where(RoleRow.person_id.in_(person_ids)).order_by(RoleRow.id)
        )
        for r in rows:
            found[r.person_id].append(RoleAssignment(Role(r.role), r.place_id))
        return found

    async def _people(self, rows: Sequence[PersonRow]) -> list[Person]:
        roles = await self._roles([r.id for r in rows])
        return [to_person(r, roles[r.id]) for r in rows]

    async def get(self, person_id: int) -> Person | None:
        return await _one_person(self.session, PERSON_BY_ID, person_id)

    async def by_telegram(self, telegram_id: int) -> Person | None:
        return await _one_person(self.session, PERSON_BY_TELEGRAM, telegram_id)

    async def by_code(self, code: str) -> Person | None:
        return await _one_person(self.session, PERSON_BY_CODE, code)

    async def forget(self, person_id: int, placeholder: str) -> None:
        await self.session.execute(
            update(PersonRow)
            .where(PersonRow.id == person_id)
            .values(name=placeholder, phone=None, telegram_id=None, household_id=None)
        )

    async def add_resident(
        self, telegram_id: int, name: str, lang: str, household_id: int
    ) -> Person:
        values = dict(name=name, lang=lang, telegram_id=telegram_id, household_id=household_id)
        return to_person((await self.session.execute(ADD_PERSON, values)).one(), ())

    async def of_household(self, household_id: int) -> list[Person]:
        rows = await self.session.scalars(
            select(PersonRow).where(PersonRow.household_id == household_id).order_by(PersonRow.id)
        )
        return await self._people(list(rows))

    async def add_contact(self, name: str, phone: str, household_id: int) -> Person:
        values = dict(name=name, lang="zh", phone=phone, household_id=household_id)
        return to_person((await self.session.execute(ADD_PERSON, values)).one(), ())

    async def named(self, words: str, limit: int) -> list[Person]:
        rows = await self.session.scalars(
            select(PersonRow)
            .where(
                PersonRow.household_id.is_not(None),
                PersonRow.name.contains(words, autoescape=True),
            )
            .order_by(PersonRow.id)
            .limit(limit)
        )
        return await self._people(list(rows))

    async def with_phone(self, phones: Sequence[str]) -> list[Person]:
        if not phones:
            return []
        rows = await self.session.execute(PEOPLE_WITH_PHONE, {"phones": list(phones)})
        return _each_person(rows)

    async def update(self, person_id: int, changes: PersonChanges) -> None:
        await self.session.execute(
            update(PersonRow).where(PersonRow.id == person_id).values(**changes.set())
        )

    async def set_reachable(self, person_id: int, reachable: bool) -> bool:
        result = await self.session.execute(
            update(PersonRow)
            .where(PersonRow.id == person_id, PersonRow.reachable.is_not(reachable))
            .values(reachable=reachable)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def with_role(self, role: Role, place_ids: Sequence[int]) -> list[Person]:
        return await self.with_roles((role,), place_ids)

    async def with_roles(self, roles: Sequence[Role], place_ids: Sequence[int]) -> list[Person]:
        if not roles or not place_ids:
            return []
        rows = await self.session.execute(
            PEOPLE_WITH_ROLES, {"roles": [r.value for r in roles], "places": list(place_ids)}
        )
        return _each_person(rows)

    async def volunteers_with_skills(
        self, skills: Sequence[str], community_id: int
    ) -> list[Person]:
        teams = await self.session.scalars(
            select(TeamRow).where(TeamRow.community_id == community_id)
        )
        team_ids = [t.id for t in teams if not skills or set(skills) & set(t.skills or ())]
        if not team_ids:
            return []
        rows = await self.session.scalars(
            select(PersonRow)
            .join(TeamMemberRow, TeamMemberRow.person_id == PersonRow.id)
            .where(TeamMemberRow.team_id.in_(team_ids))
            .distinct()
            .order_by(PersonRow.id)
        )
        return await self._people(list(rows))

    async def teams(self, community_ids: Sequence[int]) -> list[VolunteerTeam]:
        """Return the communities' volunteer teams with their members and leader, by id."""
        if not community_ids:
            return []
        teams = list(
            await self.session.scalars(
                select(TeamRow)
                .where(TeamRow.community_id.in_(list(community_ids)))
                .order_by(TeamRow.id)
            )
        )
        members: dict[int, list[int]] = {}
        if teams:
            rows = await self.session.execute(
                select(TeamMemberRow.team_id, TeamMemberRow.person_id)
                .where(TeamMemberRow.team_id.in_([t.id for t in teams]))
                .order_by(TeamMemberRow.person_id)
            )
            for team_id, person_id in rows:
                members.setdefault(team_id, []).append(person_id)
        return [
            VolunteerTeam(
                id=t.id,
                code=t.code,
                names=Names(t.name_zh, t.name_en),
                community_id=t.community_id,
                skills=tuple(t.skills or ()),
                member_ids=tuple(members.get(t.id, ())),
                leader_id=t.leader_id,
            )
            for t in teams
        ]

    async def workload(self, person_ids: Sequence[int]) -> dict[int, int]:
        if not person_ids:
            return {}
        rows = await self.session.execute(
            select(OrderRow.assignee_id, func.count())
            .where(OrderRow.assignee_id.in_(person_ids), OrderRow.status.in_(BUSY))
            .group_by(OrderRow.assignee_id)
        )
        return {int(pid): int(n) for pid, n in rows if pid is not None}
