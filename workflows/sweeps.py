"""One sweep of every timer, in a fixed order; the scheduler runs it, tests call it by hand."""

from __future__ import annotations

from workflows.deadlines import (
    followups_due,
    lapsed_offers,
    overdue_tasks,
    reminders_due,
    unconfirmed,
)
from workflows.digests import digests_due
from workflows.ports import Clock
from workflows.timers import Finder, TimerPolicy, UnitsOfWork, fire_once
from workflows.visits import missed_visits, visits_to_open

# Missed deadlines first: a reminder whose deadline has passed is not sent any more.
FINDERS: tuple[Finder, ...] = (
    lapsed_offers,
    overdue_tasks,
    reminders_due,
    unconfirmed,
    followups_due,
    visits_to_open,
    missed_visits,
    digests_due,
)


async def run_due(units: UnitsOfWork, clock: Clock, policy: TimerPolicy) -> int:
    """Fire every timer due at the clock's time, each once; return how many took effect."""
    # Every kind is looked for in one unit of work (one connection, one transaction): on most
    # sweeps nothing is due and this read is all the sweep does. Each timer found then fires
    # in its own unit of work, re-reading its subject, so what an earlier one changed is seen.
    async with units() as uow:
        due = [timer for find in FINDERS for timer in await find(uow, clock, policy)]
    fired = 0
    for timer in due:
        fired += await fire_once(
            units, clock, timer.kind, timer.subject_id, timer.due_at, timer.effect
        )
    return fired
