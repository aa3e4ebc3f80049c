"""Timers (秒回 速办): what is due when, quiet hours, and firing each timer exactly once.

Where the timers live: every deadline is already a column, written by the workflow that set it —
`orders.accept_due` and `resolve_due` (the offer and the acceptance), `resolved_at` (+ the
confirmation window → auto-close), `closed_at` (+ the category's follow-up days → 回访),
`visits.due_at` (+ a grace period → a missed visit), and each supervisor's digest time. A sweep
derives what is due from those indexed columns, so a deadline that moves (a re-offer, a reopen)
cannot leave a stale timer behind and nothing has to be armed or cancelled. What fired is written
to the `timers` ledger, unique by (kind, subject, due_at), in the same transaction as the effects:
a restart loses nothing (the columns are durable) and fires nothing twice (the ledger row exists),
and of two instances sweeping at once only one commits (the runner, bot/sweeps.py, commits
each timer on its own). Each fire re-reads its subject first; a
timer whose order has moved on is recorded as moot and does nothing.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from workflows.ports import Clock, UnitOfWork
from workflows.vocabulary import TimerKind

UnitsOfWork = Callable[[], AbstractAsyncContextManager[UnitOfWork]]
Effect = Callable[[UnitOfWork], Awaitable[None]]
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Moot(Exception):
    """The timer's subject moved on since it was found due: record the timer, do nothing."""


def clock_time(text: str) -> time:
    """Parse a local "HH:MM" (24-hour clock)."""
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"not a time of day: {text!r}")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class QuietHours:
    """The local hours in which deferrable resident notices wait (22:00–08:00 by default)."""

    start: time = time(22, 0)
    end: time = time(8, 0)
    zone: tzinfo = SHANGHAI

    @classmethod
    def parse(cls, text: str, zone: tzinfo) -> QuietHours | None:
        """Read "22:00-08:00"; an empty text means no quiet hours."""
        if not text.strip():
            return None
        start, _, end = text.partition("-")
        return cls(clock_time(start.strip()), clock_time(end.strip()), zone)

    def until(self, now: datetime) -> datetime | None:
        """Return when the quiet hours around `now` end (UTC), or None outside them."""
        local = now.astimezone(self.zone)
        at = local.time()
        if self.start == self.end:
            return None
        if self.start < self.end:
            quiet = self.start <= at < self.end
        else:
            quiet = at >= self.start or at < self.end
        if not quiet:
            return None
        day = local.date() if at < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=self.zone).astimezone(UTC)


@dataclass(frozen=True)
class TimerPolicy:
    """How the timers behave; built from the settings."""

    zone: tzinfo = SHANGHAI
    # A reminder goes when this share of the time allowed has passed (0.8: with 30 minutes to
    # accept, at 24 minutes; with 24 hours to resolve, at 19.2 hours).
    remind_at: float = 0.8
    autoclose_after: timedelta = timedelta(hours=72)
    visit_grace: timedelta = timedelta(hours=24)
    followup_visit_days: int = 3
    digest_time: str = "08:00"
    # A digest or follow-up found later than this (the bot was down) is not sent any more.
    catch_up: timedelta = timedelta(hours=6)
    followup_window: timedelta = timedelta(days=14)
    quiet: QuietHours | None = field(default_factory=QuietHours)
    # A 延期 request nobody decided on within this time goes to the supervisors as well.
    extension_decide: timedelta = timedelta(hours=4)
    # behalf (issue 16): the time a grid worker has to answer a question (咨询).
    question_minutes: int = 240
    # infoask (issue 15): the resident is reminded of the holder's question, then the holder is
    # told nobody answered and the question is dropped (the resolve clock runs all along).
    info_remind: timedelta = timedelta(hours=12)
    info_breach: timedelta = timedelta(hours=48)

    def local_day_start(self, moment: datetime) -> datetime:
        """Return the UTC moment the local day containing `moment` began."""
        return self.at_local(moment.astimezone(self.zone).date(), time(0, 0))

    def at_local(self, day: date, at: time) -> datetime:
        """Return the UTC moment of a local date and time."""
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)

    def local_date(self, moment: datetime) -> date:
        """Return the local date of a moment."""
        return moment.astimezone(self.zone).date()


@dataclass(frozen=True)
class Due:
    """A timer found due: its ledger key (kind, subject, moment) and what firing it does."""

    kind: TimerKind
    subject_id: int
    due_at: datetime
    effect: Effect


# Each timer kind has a finder: it reads what is due in the sweep's one unit of work and returns
# the timers to fire, each of which then fires in a unit of work of its own.
Finder = Callable[[UnitOfWork, Clock, TimerPolicy], Awaitable[list[Due]]]


def remind_lead(allowed: timedelta, policy: TimerPolicy) -> timedelta:
    """Return how long before a deadline its reminder goes."""
    return allowed * (1 - policy.remind_at)


def minutes_left(deadline: datetime, now: datetime) -> int:
    """Return the whole minutes until a deadline, at least 1."""
    return max(1, math.ceil((deadline - now).total_seconds() / 60))
