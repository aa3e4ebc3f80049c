"""Reconciling staff with the file, the truth for staff.

Roles and team memberships the file no longer gives are taken away, and the work the remaining
roles no longer cover moves on (workflows.staffing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PersonRow, PlaceRow, RoleRow, TeamMemberRow, TeamRow
from storage.orgfile.report import ImportReport, staff_lines
from storage.orgfile.schema import OrgFile
from storage.uow import SqlUnitOfWork
from workflows.model import Role
from workflows.ports import Clock
from workflows.staffing import release_work


@dataclass(frozen=True)
class Staffed:
    """Who the import may take roles from: coded people, at places of this file's street."""

    listed: set[int]  # the people the file lists
    unlisted: set[int]  # people with a code the file no longer lists (residents have none)
    street: set[int]  # ids of every place under the street, in the file or kept from before
    codes: dict[int, str]  # place id -> code, for the report


async def staffed_people(
    session: AsyncSession, org: OrgFile, places: Mapping[str, int], people: Mapping[str, int]
) -> Staffed:
    """Return who the import may take roles from, and the street's places."""
    rows = list(await session.scalars(select(PlaceRow)))
    parents = {row.id: row.parent_id for row in rows}
    top = places[org.street.code]

    def in_street(place_id: int | None) -> bool:
        seen: set[int] = set()
        while place_id is not None and place_id not in seen:
            if place_id == top:
                return True
            seen.add(place_id)
            place_id = parents.get(place_id)
        return False

    coded = set(await session.scalars(select(PersonRow.id).where(PersonRow.code.is_not(None))))
    listed = set(people.values())
    return Staffed(
        listed,
        coded - listed,
        {row.id for row in rows if in_street(row.id)},
        {row.id: row.code for row in rows},
    )


async def write_roles(
    session: AsyncSession,
    org: OrgFile,
    places: Mapping[str, int],
    people: Mapping[str, int],
    staffed: Staffed,
    report: ImportReport,
) -> dict[int, list[str]]:
    """Make the roles of the street's staff what the file says; return what each one lost."""
    wanted: set[tuple[int, str, int]] = {
        (people[person.code], role.role.value, places[role.scope])
        for person in org.people
        for role in person.roles
    }
    # Every team member volunteers in the team's community.
    wanted |= {
        (people[member], Role.VOLUNTEER.value, places[team.community])
        for team in org.teams
        for member in team.members
    }
    lost: dict[int, list[str]] = {}
    for row in await session.scalars(select(RoleRow).order_by(RoleRow.id)):
        # Someone the file no longer lists loses the roles they held in this street.
        dropped = row.person_id in staffed.unlisted and row.place_id in staffed.street
        if row.person_id not in staffed.listed and not dropped:
            continue
        key = (row.person_id, row.role, row.place_id)
        if key in wanted:
            wanted.discard(key)
            report.roles.unchanged += 1
        else:
            await session.delete(row)
            report.roles.removed += 1
            place = staffed.codes.get(row.place_id, str(row.place_id))
            lost.setdefault(row.person_id, []).append(f"{row.role} at {place}")
    for person_id, role, place_id in sorted(wanted):
        session.add(RoleRow(person_id=person_id, role=role, place_id=place_id))
        report.roles.created += 1
    return lost


async def write_team_members(
    session: AsyncSession,
    org: OrgFile,
    teams: Mapping[str, int],
    people: Mapping[str, int],
    staffed: Staffed,
    report: ImportReport,
) -> dict[int, list[str]]:
    """Make the street's teams' members what the file says; return the teams each one left."""
    wanted = {(teams[team.code], people[member]) for team in org.teams for member in team.members}
    team_rows = {row.id: row for row in await session.scalars(select(TeamRow))}
    left: dict[int, list[str]] = {}
    for row in await session.scalars(select(TeamMemberRow)):
        team = team_rows.get(row.team_id)
        dropped = (
            row.person_id in staffed.unlisted
            and team is not None
            and team.community_id in staffed.street
        )
        if row.person_id not in staffed.listed and not dropped:
            continue
        key = (row.team_id, row.person_id)
        if key in wanted:
            wanted.discard(key)
            report.team_members.unchanged += 1
        else:
            await session.delete(row)
            report.team_members.removed += 1
            left.setdefault(row.person_id, []).append(team.code if team else str(row.team_id))
    for team_id, person_id in sorted(wanted):
        session.add(TeamMemberRow(team_id=team_id, person_id=person_id))
        report.team_members.created += 1
    return left


async def hand_over_work(
    uow: SqlUnitOfWork,
    clock: Clock,
    people: Mapping[str, int],
    staffed: Staffed,
    lost: Mapping[int, list[str]],
    left: Mapping[int, list[str]],
    report: ImportReport,
) -> None:
    """Move on the work of everyone who lost a role or a team; report it person by person."""
    session = uow.session
    codes = {person_id: code for code, person_id in people.items()}
    for person_id in sorted(lost.keys() | left.keys()):
        release = await release_work(uow, clock, person_id)
        if release is None:
            continue
        row = await session.get(PersonRow, person_id)
        code = codes.get(person_id) or (row.code if row and row.code else str(person_id))
        report.staff.append(
            await staff_lines(
                session,
                code,
                release,
                lost.get(person_id, []),
                left.get(person_id, []),
                person_id in staffed.listed,
            )
        )
