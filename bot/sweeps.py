"""The timer runner, an entry point: find what is due, then fire and commit each timer alone.

The scheduler runs a sweep every `sweep_seconds`; tests call `run_due` by hand after moving the
clock. The finders and the effects are workflows (workflows/sweeps.py, workflows/deadlines.py …):
they only stage changes; this runner commits each timer's ledger row and effects together.
"""

from __future__ import annotations

import logging
from datetime import datetime

from workflows.errors import DomainError
from workflows.ports import Clock
from workflows.sweeps import FINDERS
from workflows.timers import Effect, Moot, TimerPolicy, UnitsOfWork
from workflows.vocabulary import TimerKind

log = logging.getLogger(__name__)


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


async def fire_once(
    units: UnitsOfWork,
    clock: Clock,
    kind: TimerKind,
    subject_id: int,
    due_at: datetime,
    effect: Effect,
) -> bool:
    """Fire one timer in its own unit of work: the ledger row and the effects commit together.

    Returns whether it took effect. A timer that fired before does nothing; one whose subject
    moved on (Moot, or a domain error such as a stale order) is recorded as moot; one whose
    effect fails is recorded as failed and logged, so that it does not fail on every sweep.
    """
    outcome = "moot"
    async with units() as uow:
        try:
            if not await uow.timers.fire(kind, subject_id, due_at, clock.now()):
                return False
            await effect(uow)
            await uow.commit()
            return True
        except (Moot, DomainError) as reason:
            log.debug("timer %s:%s moot: %r", kind, subject_id, reason)
            await uow.rollback()
        except Exception:
            log.exception("timer %s:%s at %s failed", kind, subject_id, due_at)
            await uow.rollback()
            outcome = "failed"
    try:
        async with units() as uow:
            if await uow.timers.fire(kind, subject_id, due_at, clock.now(), outcome=outcome):
                await uow.commit()
    except Exception:  # another instance recorded it first: nothing more to do
        log.debug("timer %s:%s already recorded", kind, subject_id, exc_info=True)
    return False
