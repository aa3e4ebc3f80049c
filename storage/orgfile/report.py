"""The import's report: what it did to each kind of row, and what each person lost."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import HouseholdRow, PlaceRow
from workflows.staffing import Outcome, Release


@dataclass
class Tally:
    """What an import did to one kind of row."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def line(self, kind: str) -> str:
        """Return a line like 'places: 3 created, 1 updated, 40 unchanged'."""
        text = f"{kind}: {self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        return text + (f", {self.removed} removed" if self.removed else "")


@dataclass
class ImportReport:
    """Counts of what an import created, updated, left alone and removed, by kind of row."""

    street: str
    places: Tally = field(default_factory=Tally)
    households: Tally = field(default_factory=Tally)
    people: Tally = field(default_factory=Tally)
    roles: Tally = field(default_factory=Tally)
    teams: Tally = field(default_factory=Tally)
    team_members: Tally = field(default_factory=Tally)
    categories: Tally = field(default_factory=Tally)
    key_households: Tally = field(default_factory=Tally)
    warnings: list[str] = field(default_factory=list)
    # Per person whose roles or teams the file took away: what went and what moved on.
    staff: list[list[str]] = field(default_factory=list)
    dry_run: bool = False

    def tallies(self) -> dict[str, Tally]:
        """Return the tallies by kind, in the order the import writes them."""
        return {
            "places": self.places,
            "households": self.households,
            "people": self.people,
            "roles": self.roles,
            "teams": self.teams,
            "team members": self.team_members,
            "categories": self.categories,
            "key households": self.key_households,
        }

    @property
    def changed(self) -> bool:
        """Return whether the import changed anything at all."""
        return bool(self.staff) or any(
            t.created or t.updated or t.removed for t in self.tallies().values()
        )

    def lines(self) -> list[str]:
        """Return the report in English: one line per kind, what staff lost, then warnings."""
        if self.dry_run:
            done = (
                "dry run, nothing was changed; an import would change this"
                if self.changed
                else "dry run, an import would change nothing"
            )
        else:
            done = "imported" if self.changed else "no changes"
        lines = [f"street {self.street}: {done}"]
        lines += [tally.line(kind) for kind, tally in self.tallies().items()]
        if self.staff:
            lines.append("staff whose roles were taken away (the file is the truth for staff):")
            for person in self.staff:
                lines.append(f"  {person[0]}")
                lines += [f"    {line}" for line in person[1:]]
        lines += [f"warning: {warning}" for warning in self.warnings]
        return lines


async def _household_name(session: AsyncSession, household_id: int) -> str:
    """Return a household as the file writes it: unit-code/room."""
    row = await session.get(HouseholdRow, household_id)
    if row is None:
        return f"household {household_id}"
    unit = await session.get(PlaceRow, row.unit_id)
    return f"{unit.code if unit else row.unit_id}/{row.room}"


HANDED_OVER = {
    Outcome.REOFFERED: "offer withdrawn, now offered to {to}",
    Outcome.QUEUED: "taken back, now in the dispatcher's queue",
    Outcome.POOL_DROPPED: "no longer offered to them in the pool",
    Outcome.POOL_QUEUED: "no longer offered in the pool; nobody else was, so it is in the queue",
}


async def staff_lines(
    session: AsyncSession,
    code: str,
    release: Release,
    lost: list[str],
    left: list[str],
    listed: bool,
) -> list[str]:
    """Return the report of one person: what was taken away, where their work went."""
    person = release.person
    lines = [f"{code} {person.name}" + ("" if listed else " (no longer in the file)")]
    if lost:
        lines.append("roles taken away: " + ", ".join(lost))
    if left:
        lines.append("teams left: " + ", ".join(left))
    for h in release.handovers:
        lines.append(f"order {h.number} ({h.was.value}): " + HANDED_OVER[h.outcome].format(to=h.to))
    for key in release.key_households:
        household = await _household_name(session, key.household_id)
        lines.append(
            f"key household {household}: they are still its liaison but hold no role; "
            "visits still go to them until the file names another liaison"
        )
    for visit in release.open_visits:
        household = await _household_name(session, visit.household_id)
        lines.append(
            f"visit to {household} due {visit.due_at:%Y-%m-%d}: still open and theirs; "
            "they can no longer log it, so it will be reported missed"
        )
    return lines
