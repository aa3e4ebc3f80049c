"""Incoming updates: each takes effect once; the record of seen ones is kept for a week."""

from __future__ import annotations

from datetime import timedelta

from workflows.ports import Clock, UpdateUnitOfWork

# Telegram redelivers an unconfirmed update for at most a day; a week is a wide margin.
SEEN_UPDATES_KEPT = timedelta(days=7)


async def forget_seen_updates(uow: UpdateUnitOfWork, clock: Clock) -> int:
    """Drop the records of updates seen more than a week ago; return how many."""
    forgotten = await uow.updates.forget_before(clock.now() - SEEN_UPDATES_KEPT)
    return forgotten
