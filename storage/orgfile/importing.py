"""Importing the organisation file: every write in one transaction, reported, or dry-run."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import AuditRow
from storage.orgfile.checks import check_org, org_warnings, place_entries
from storage.orgfile.reading import OrgFileError
from storage.orgfile.report import ImportReport
from storage.orgfile.schema import OrgFile
from storage.orgfile.staff import (
    hand_over_work,
    staffed_people,
    write_roles,
    write_team_members,
)
from storage.orgfile.upserts import (
    write_categories,
    write_households,
    write_key_households,
    write_people,
    write_places,
    write_teams,
)
from storage.uow import SqlUnitOfWork
from workflows.ports import Clock


class _WallClock:
    """The wall clock, for imports run without one (the command line)."""

    def now(self) -> datetime:
        """Return the current time, UTC."""
        return datetime.now(UTC)


async def import_org(
    sessions: async_sessionmaker[AsyncSession],
    org: OrgFile,
    *,
    clock: Clock | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Write the organisation in one transaction, matching rows by code; on error change nothing.

    Places, households, people, teams and categories are created or updated in place by code
    (households by unit and room), so importing the same file twice changes nothing. A person's
    telegram account, household, reachability and (once created) language are never touched;
    name and phone come from the file. The file is the truth for staff: roles and team
    memberships it no longer gives are removed, from the people it lists and, at places of its
    street, from people with a code it no longer lists (residents have no code and are left
    alone); every team member also gets the volunteer role in the team's community. Work the
    remaining roles no longer cover moves on (workflows.staffing) and the report says, per
    person, what was taken and where it went. Places, households, categories, teams and people
    missing from the file are kept, because orders and residents refer to them; households not
    listed as key lose that mark, and their key-household entry (liaison, kind, visit cadence)
    is removed, so no more visit tasks are planned for them. With `dry_run` everything is done
    and reported, then rolled back.
    """
    problems = check_org(org)
    if problems:
        raise OrgFileError(problems)
    report = ImportReport(street=org.street.code, warnings=org_warnings(org), dry_run=dry_run)
    entries = place_entries(org)
    clock = clock or _WallClock()
    async with SqlUnitOfWork(sessions, clock.now) as uow:
        session = uow.session
        places = await write_places(session, entries, report)
        await write_households(session, org, entries, places, report)
        people = await write_people(session, org, report)
        teams = await write_teams(session, org, places, report, people)
        staffed = await staffed_people(session, org, places, people)
        lost = await write_roles(session, org, places, people, staffed, report)
        left = await write_team_members(session, org, teams, people, staffed, report)
        await write_categories(session, org, places, report)
        await write_key_households(session, org, places, people, report)
        await session.flush()
        await hand_over_work(uow, clock, people, staffed, lost, left, report)
        session.add(
            AuditRow(
                at=clock.now(),
                actor="cli",
                action="import",
                subject=f"street {org.street.code}",
                details={
                    kind: [t.created, t.updated, t.removed] for kind, t in report.tallies().items()
                }
                | ({"staff": [lines[0] for lines in report.staff]} if report.staff else {}),
            )
        )
        if dry_run:
            await uow.rollback()
        else:
            await uow.commit()
    return report
