"""The backlog line and the three rates (workflows/backlog.py), on plain events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from workflows.backlog import backlog_line, rates
from workflows.model import OrderEvent, OrderStatus
from workflows.timers import TimerPolicy
from workflows.vocabulary import Move

S = OrderStatus
MONDAY = datetime(2026, 11, 30, 2, tzinfo=UTC)  # 10:00 in Shanghai


def event(order_id: int, day: int, action: Move, to: OrderStatus | None = None) -> OrderEvent:
    return OrderEvent(order_id, MONDAY + timedelta(days=day), None, action, None, to)


def test_the_backlog_line_walks_back_through_resolved_cancelled_and_merged_orders() -> None:
    """Three placed on Monday; one resolved Tuesday, one merged into another Wednesday: the
    line is 3, 2, 1 — a merged order leaves the backlog like a resolved one."""
    days = [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]
    placed = [MONDAY, MONDAY, MONDAY]
    events = [event(1, 1, Move.RESOLVE, S.RESOLVED), event(2, 2, Move.MERGE, S.CLOSED)]
    assert backlog_line(days, TimerPolicy(), 1, placed, events) == [3, 2, 1]
    reopened = [*events, event(1, 2, Move.REOPEN, S.ACCEPTED)]
    assert backlog_line(days, TimerPolicy(), 2, placed, reopened) == [3, 2, 2]


async def test_a_merged_order_is_not_counted_as_resolved() -> None:
    """解决率 counts resolutions only: merging a duplicate away resolves nothing."""

    async def groups(order_id: int) -> list[tuple[str, str]]:
        return [("grid", "第一网格")]

    events = [
        event(1, 0, Move.ACCEPT, S.ACCEPTED),
        event(1, 1, Move.RESOLVE, S.RESOLVED),
        event(2, 1, Move.MERGE, S.CLOSED),
        event(1, 1, Move.RATE),
    ]
    whole, by_group = await rates(events, [], MONDAY + timedelta(days=3), groups)
    assert whole["resolution"] == 100.0 and whole["response"] == 100.0
    assert by_group[("grid", "第一网格")]["resolution"] == 100.0
