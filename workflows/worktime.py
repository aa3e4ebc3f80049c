"""Working time: deadlines that count only the hours a street or community works.

A category marked `working_time` in the organisation file counts its normal orders' time to
accept and to resolve in working minutes: only within the working hours (08:30–12:00 and
13:30–17:30 unless the file says otherwise) of working days. Which days work is a calendar's
answer (a port: the national holidays and the weekend days moved to make up for them, 调休,
come from storage; the community's own closed days are added here). Urgent orders ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from workflows.model import Category, Place, Urgency
from workflows.ports import WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_WORKING_HOURS = "08:30-12:00, 13:30-17:30"
# Ten years of days without a single working minute means a calendar that never works.
_MAX_DAYS = 3660


def _clock(text: str) -> time:
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"not a time of day: {text.strip()!r}")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class WorkingHours:
    """The local periods of a working day, in order and apart, e.g. 08:30–12:00, 13:30–17:30."""

    periods: tuple[tuple[time, time], ...]
    zone: tzinfo = SHANGHAI

    @classmethod
    def parse(cls, text: str, zone: tzinfo = SHANGHAI) -> WorkingHours:
        """Read "08:30-12:00, 13:30-17:30"; raise ValueError on anything else."""
        periods: list[tuple[time, time]] = []
        for part in text.split(","):
            start, dash, end = part.partition("-")
            if not dash:
                raise ValueError(f"not a period like 08:30-12:00: {part.strip()!r}")
            begin, finish = _clock(start), _clock(end)
            if begin >= finish:
                raise ValueError(f"a period must end after it starts: {part.strip()!r}")
            if periods and begin < periods[-1][1]:
                raise ValueError(f"periods must be in order and not overlap: {part.strip()!r}")
            periods.append((begin, finish))
        return cls(tuple(periods), zone)

    def day(self, day: date) -> list[tuple[datetime, datetime]]:
        """Return the day's working periods as aware moments."""
        return [
            (datetime.combine(day, a, tzinfo=self.zone), datetime.combine(day, b, tzinfo=self.zone))
            for a, b in self.periods
        ]


class Weekdays:
    """Monday to Friday work: the calendar when no national one is known."""

    def is_workday(self, day: date) -> bool:
        """Return whether the day is a Monday to Friday."""
        return day.weekday() < 5


@dataclass(frozen=True)
class WithClosedDays:
    """A calendar with a community's own closed days taken out."""

    base: WorkCalendar
    closed: frozenset[date]

    def is_workday(self, day: date) -> bool:
        """Return whether the day works in the base calendar and is not a closed day."""
        return day not in self.closed and self.base.is_workday(day)


def add_working_time(
    start: datetime, allowed: timedelta, hours: WorkingHours, calendar: WorkCalendar
) -> datetime:
    """Return the moment (UTC) `allowed` working time after `start` has passed."""
    remaining = allowed
    local = start.astimezone(hours.zone)
    day = local.date()
    for _ in range(_MAX_DAYS):
        if calendar.is_workday(day):
            for opens, closes in hours.day(day):
                begin = max(opens, local)
                if begin >= closes:
                    continue
                if remaining <= closes - begin:
                    return (begin + remaining).astimezone(UTC)
                remaining -= closes - begin
        day += timedelta(days=1)
    raise ValueError("the calendar has no working day in ten years")


def working_time_between(
    start: datetime, end: datetime, hours: WorkingHours, calendar: WorkCalendar
) -> timedelta:
    """Return the working time between two moments (zero if `end` is not after `start`)."""
    if end <= start:
        return timedelta(0)
    first = start.astimezone(hours.zone)
    last = end.astimezone(hours.zone)
    total = timedelta(0)
    day = first.date()
    while day <= last.date():
        if calendar.is_workday(day):
            for opens, closes in hours.day(day):
                begin, finish = max(opens, first), min(closes, last)
                if finish > begin:
                    total += finish - begin
        day += timedelta(days=1)
    return total


def working_minutes_between(
    start: datetime, end: datetime, hours: WorkingHours, calendar: WorkCalendar
) -> int:
    """Return the whole working minutes between two moments, for reports."""
    return int(working_time_between(start, end, hours, calendar).total_seconds() // 60)


def counts_working_time(category: Category, urgency: Urgency) -> bool:
    """Return whether an order's deadlines count working time: normal ones of such categories."""
    return category.working_time and urgency != Urgency.URGENT


def schedule(community: Place, calendar: WorkCalendar) -> tuple[WorkingHours, WorkCalendar]:
    """Return a community's working hours and its calendar less its closed days."""
    hours = WorkingHours.parse(community.working_hours or DEFAULT_WORKING_HOURS)
    return hours, WithClosedDays(calendar, frozenset(community.closed_days))


# --- clocks (issue 15): people's own hours -------------------------------------------------


def on_duty(person_hours: str, now: datetime, zone: tzinfo = SHANGHAI) -> bool:
    """Return whether a person with these local hours ("08:00-20:00"; empty: any) is on duty."""
    if not person_hours:
        return True
    local = now.astimezone(zone)
    return any(
        opens <= local < closes
        for opens, closes in WorkingHours.parse(person_hours, zone).day(local.date())
    )
