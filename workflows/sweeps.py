"""One sweep of every timer, in a fixed order; the scheduler runs it, tests call it by hand."""

from __future__ import annotations

from workflows.deadlines import (
    ask_followups,
    close_unconfirmed,
    escalate_overdue,
    lapse_offers,
    remind,
)
from workflows.digests import send_digests
from workflows.ports import Clock
from workflows.timers import TimerPolicy, UnitsOfWork
from workflows.visits import plan_visits, report_missed_visits


async def run_due(units: UnitsOfWork, clock: Clock, policy: TimerPolicy) -> int:
    """Fire every timer due at the clock's time, each once; return how many took effect."""
    fired = 0
    # Missed deadlines first: a reminder whose deadline has passed is not sent any more.
    fired += await lapse_offers(units, clock, policy)
    fired += await escalate_overdue(units, clock, policy)
    fired += await remind(units, clock, policy, "accept")
    fired += await remind(units, clock, policy, "resolve")
    fired += await close_unconfirmed(units, clock, policy)
    fired += await ask_followups(units, clock, policy)
    fired += await plan_visits(units, clock, policy)
    fired += await report_missed_visits(units, clock, policy)
    fired += await send_digests(units, clock, policy)
    return fired
