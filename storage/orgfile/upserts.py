"""Writing the organisation's rows, matched by code (households by unit and room).

Places, households, people, teams, categories and key households are created or updated in
place, so importing the same file twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CategoryRow, HouseholdRow, KeyHouseholdRow, PersonRow, PlaceRow, TeamRow
from storage.orgfile.checks import PlaceEntry
from storage.orgfile.reading import OrgFileError
from storage.orgfile.report import ImportReport, Tally
from storage.orgfile.schema import BilingualName, CategorySpec, OrgFile
from workflows.model import KEY_FROM_CHAT as CHAT_SOURCE
from workflows.model import KEY_FROM_FILE as FILE_SOURCE
from workflows.model import CategoryKind, PlaceKind, Role
from workflows.orders import CALL_BACK_CODE

RowT = TypeVar("RowT")
# The built-in call-back category: "请工作人员给我回电话" becomes an order of it, for the
# household's grid worker, under the same clocks as any order (code: workflows.orders.CALL_BACK).
BUILT_IN_LAST = 10_000  # a built-in category's place: after the file's, whatever they are
CALL_BACK = CategorySpec(
    code=CALL_BACK_CODE,
    name=BilingualName(zh="请回电话", en="Call me back"),
    kind=CategoryKind.ROUTED,
    role=Role.GRID_WORKER,
    accept_minutes=30,
    resolve_hours=24,
    urgent_accept_minutes=10,
    urgent_resolve_hours=2,
    followup_days=7,
    duplicate_days=0,  # a call-back is never "the same thing" as a neighbour's
)


def _assign(row: object, values: Mapping[str, object]) -> bool:
    """Set the row's attributes that differ; return whether any did."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _upsert(
    session: AsyncSession,
    existing: dict[str, RowT],
    code: str,
    values: Mapping[str, object],
    make: Callable[..., RowT],
    tally: Tally,
) -> RowT:
    row = existing.get(code)
    if row is None:
        row = make(code=code, **values)
        session.add(row)
        existing[code] = row
        tally.created += 1
    elif _assign(row, values):
        tally.updated += 1
    else:
        tally.unchanged += 1
    return row


async def write_places(
    session: AsyncSession, entries: list[PlaceEntry], report: ImportReport
) -> dict[str, int]:
    """Create or update every place, widest first; return their ids by code."""
    existing = {row.code: row for row in await session.scalars(select(PlaceRow))}
    clashes = [
        f"{e.path}.code: {e.code!r} is a {existing[e.code].kind} in the database, "
        f"not a {e.kind.value}; give the {e.kind.value} a new code"
        for e in entries
        if e.code in existing and existing[e.code].kind != e.kind.value
    ]
    if clashes:
        raise OrgFileError(clashes)
    ids: dict[str, int] = {}
    for depth in range(max(e.depth for e in entries) + 1):
        level = [e for e in entries if e.depth == depth]
        rows = [
            _upsert(
                session,
                existing,
                e.code,
                {
                    "kind": e.kind.value,
                    "name_zh": e.name.zh,
                    "name_en": e.name.en,
                    "parent_id": ids[e.parent] if e.parent is not None else None,
                    "position": e.position,
                    "working_hours": e.working_hours,
                    "closed_days": list(e.closed_days) or None,
                    "duty_phone": e.duty_phone,
                    "channel": e.channel,
                },
                PlaceRow,
                report.places,
            )
            for e in level
        ]
        await session.flush()
        ids.update({e.code: row.id for e, row in zip(level, rows, strict=True)})
    return ids


async def write_households(
    session: AsyncSession,
    org: OrgFile,
    entries: list[PlaceEntry],
    ids: Mapping[str, int],
    report: ImportReport,
) -> None:
    """Create the units' rooms as households and mark the key ones."""
    units = {ids[e.code]: e for e in entries if e.kind == PlaceKind.UNIT}
    keys = {k.household for k in org.key_households}
    # Rounds (issue 17): households made key in chat (with a supervisor's approval) stay key.
    marked_in_chat = set(
        await session.scalars(
            select(KeyHouseholdRow.household_id).where(KeyHouseholdRow.source == CHAT_SOURCE)
        )
    )
    existing = {
        (row.unit_id, row.room): row
        for row in await session.scalars(select(HouseholdRow))
        if row.unit_id in units
    }
    for unit_id, unit in units.items():
        for room in unit.rooms:
            row = existing.pop((unit_id, room), None)
            is_key = f"{unit.code}/{room}" in keys or (row is not None and row.id in marked_in_chat)
            if row is None:
                session.add(HouseholdRow(unit_id=unit_id, room=room, is_key=is_key))
                report.households.created += 1
            elif _assign(row, {"is_key": is_key}):
                report.households.updated += 1
            else:
                report.households.unchanged += 1
    # Rooms no longer in the file are kept (residents and orders refer to them), but not as key.
    for row in existing.values():
        if row.is_key and row.id not in marked_in_chat:
            row.is_key = False
            report.households.updated += 1


async def write_people(session: AsyncSession, org: OrgFile, report: ImportReport) -> dict[str, int]:
    """Create or update the people the file lists; return their ids by code."""
    existing = {
        row.code: row
        for row in await session.scalars(select(PersonRow).where(PersonRow.code.is_not(None)))
        if row.code is not None
    }
    rows = [
        _upsert(
            session,
            existing,
            person.code,
            # The language is the file's only until the person picks their own with /lang.
            {
                "name": person.name,
                "phone": person.phone,
                "digest_time": person.digest_time,
                "on_duty": person.on_duty,
                "public": person.public,
            }
            | ({} if person.code in existing else {"lang": person.lang}),
            PersonRow,
            report.people,
        )
        for person in org.people
    ]
    await session.flush()
    return {person.code: row.id for person, row in zip(org.people, rows, strict=True)}


async def write_teams(
    session: AsyncSession,
    org: OrgFile,
    places: Mapping[str, int],
    report: ImportReport,
    people: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Create or update the teams; return their ids by code."""
    existing = {row.code: row for row in await session.scalars(select(TeamRow))}
    rows = [
        _upsert(
            session,
            existing,
            team.code,
            {
                "name_zh": team.name.zh,
                "name_en": team.name.en,
                "community_id": places[team.community],
                "skills": list(team.skills),
                "leader_id": (people or {}).get(team.leader) if team.leader else None,
            },
            TeamRow,
            report.teams,
        )
        for team in org.teams
    ]
    await session.flush()
    return {team.code: row.id for team, row in zip(org.teams, rows, strict=True)}


async def write_categories(
    session: AsyncSession, org: OrgFile, places: Mapping[str, int], report: ImportReport
) -> None:
    """Create or update the categories, in the order the file gives them."""
    existing = {row.code: row for row in await session.scalars(select(CategoryRow))}
    categories = list(org.categories)
    if CALL_BACK.code not in {c.code for c in categories}:
        categories.append(CALL_BACK)  # built in; the file may define it to change its clocks
    for position, category in enumerate(categories):
        _upsert(
            session,
            existing,
            category.code,
            {
                "name_zh": category.name.zh,
                "name_en": category.name.en,
                "kind": category.kind.value,
                "role": category.role.value if category.role is not None else None,
                "skills": list(category.skills),
                "department_id": (
                    places[category.department] if category.department is not None else None
                ),
                "accept_minutes": category.accept_minutes,
                "resolve_hours": category.resolve_hours,
                "urgent_accept_minutes": category.urgent_accept_minutes,
                "urgent_resolve_hours": category.urgent_resolve_hours,
                "working_time": category.working_time,
                "queue_minutes": category.queue_minutes,
                "urgent_queue_minutes": category.urgent_queue_minutes,
                "pool_hours": category.pool_hours,
                "urgent_pool_hours": category.urgent_pool_hours,
                "followup_days": category.followup_days,
                "followup_visit": category.followup_visit,
                "duplicate_days": category.duplicate_days,
                "position": position if category is not CALL_BACK else BUILT_IN_LAST,
                "keywords": list(category.keywords) or None,
            },
            CategoryRow,
            report.categories if category is not CALL_BACK else Tally(),
        )


async def write_key_households(
    session: AsyncSession,
    org: OrgFile,
    places: Mapping[str, int],
    people: Mapping[str, int],
    report: ImportReport,
) -> None:
    """Make the key households' kinds, liaisons and cadences what the file says."""
    await session.flush()
    rooms = {
        (row.unit_id, row.room): row.id
        for row in await session.scalars(
            select(HouseholdRow).where(HouseholdRow.unit_id.in_(list(places.values())))
        )
    }
    existing = {row.household_id: row for row in await session.scalars(select(KeyHouseholdRow))}
    wanted: set[int] = set()
    for key in org.key_households:
        unit_code, _, room = key.household.partition("/")
        household_id = rooms[(places[unit_code], room)]
        wanted.add(household_id)
        values = {
            "kind": key.kind,
            "liaison_id": people[key.liaison],
            "visit_every_days": key.visit_every_days,
            "source": FILE_SOURCE,  # listed in the file: the file is its truth from now on
        }
        row = existing.get(household_id)
        if row is None:
            session.add(KeyHouseholdRow(household_id=household_id, **values))
            report.key_households.created += 1
        elif _assign(row, values):
            report.key_households.updated += 1
        else:
            report.key_households.unchanged += 1
    # A household the file no longer lists as key gets no more visit tasks, unless it was made
    # key in chat (rounds, issue 17): the file never knew it, so leaving it out removes nothing.
    for household_id, row in existing.items():
        if household_id not in wanted and row.source != CHAT_SOURCE:
            await session.delete(row)
            report.key_households.removed += 1
