"""What monitoring reads from the database: the outbox's backlog, recent timers, open orders.

Each reading is an index range, so a scrape stays cheap however long the history grows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OrderRow, OutboxRow, TimerRow
from workflows.model import ACTIVE_STATUSES

RECENT = timedelta(hours=1)  # the window of the timer readings


@dataclass(frozen=True)
class Readings:
    """The database's side of the metrics, read at one moment."""

    outbox_backlog: int = 0  # messages neither sent nor given up
    outbox_oldest_seconds: float = 0.0  # how long the oldest of them has waited
    timers_fired_recently: dict[str, int] = field(default_factory=dict)  # by kind, last hour
    timer_delay_max_seconds: float = 0.0  # the latest a timer fired after its due time, last hour
    orders_by_status: dict[str, int] = field(default_factory=dict)  # the active statuses


async def read(session: AsyncSession, now: datetime) -> Readings:
    """Return the readings at `now`."""
    backlog, oldest = (
        await session.execute(
            select(func.count(), func.min(OutboxRow.created_at)).where(
                OutboxRow.sent_at.is_(None), OutboxRow.failed_at.is_(None)
            )
        )
    ).one()
    fired = await session.execute(
        select(TimerRow.kind, TimerRow.due_at, TimerRow.fired_at).where(
            TimerRow.fired_at >= now - RECENT
        )
    )
    by_kind: dict[str, int] = {}
    delay = 0.0
    for kind, due_at, fired_at in fired:  # a window's worth: the fired_at index reads it
        by_kind[str(kind)] = by_kind.get(str(kind), 0) + 1
        delay = max(delay, (fired_at - due_at).total_seconds())
    statuses = await session.execute(
        select(OrderRow.status, func.count())
        .where(OrderRow.status.in_([s.value for s in ACTIVE_STATUSES]))
        .group_by(OrderRow.status)
    )
    orders = {s.value: 0 for s in ACTIVE_STATUSES}
    orders.update({str(status): int(count) for status, count in statuses})
    return Readings(
        outbox_backlog=int(backlog or 0),
        outbox_oldest_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        timers_fired_recently=by_kind,
        timer_delay_max_seconds=delay,
        orders_by_status=orders,
    )
