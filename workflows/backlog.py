"""The backlog and the three rates in digests and /stats (issue 15).

- waiting per stage: the open orders in each status that has a clock (workflows/clocks.py), the
  oldest of them, and how many are past their stage's deadline (超时未办 counts every stage);
- 响应率 (response rate): of the orders whose first response was settled in the period — taken
  (accepted or claimed) or a response deadline missed (an offer lapsed, the queue or the pool
  left too long) — the share taken without a response deadline missed in the period;
- 解决率 (resolution rate): orders resolved in the period ÷ (those + the open orders past their
  resolution deadline now);
- 满意率 (satisfaction rate): ratings of 4 or 5 stars ÷ ratings given in the period;
- the median time from placing an order to its first response (accepted or claimed);
- each rate for the whole scope, and per community, grid and category;
- the chart's backlog line: the open orders at the end of each day, walked back from now by the
  orders placed, reopened, resolved, cancelled and merged since.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from workflows.clocks import CLOCKS
from workflows.model import OPEN_STATUSES, Order, OrderEvent, OrderStatus
from workflows.timers import TimerPolicy
from workflows.vocabulary import Move

RESPONSES = (Move.ACCEPT, Move.CLAIM)
RESPONSE_BREACHES = (Move.BREACH_ACCEPT, Move.BREACH_QUEUE, Move.BREACH_POOL)
# What moves an order into or out of the open statuses, for the backlog line.
INTO_OPEN = (Move.REOPEN, Move.FOLLOWUP_REOPEN)
OUT_OF_OPEN = (Move.RESOLVE, Move.CANCEL, Move.MERGE)  # merged: closed into another
COUNTED = (*RESPONSES, *RESPONSE_BREACHES, Move.RESOLVE, Move.RATE)


def stages() -> list[OrderStatus]:
    """Return the statuses someone must act on, in the table's order."""
    return [status for status, clock in CLOCKS.items() if clock is not None]


@dataclass
class Rates:
    """The counts behind the three rates of one group (a community, grid or category)."""

    responded: set[int] = field(default_factory=set)
    late_response: set[int] = field(default_factory=set)
    resolved: set[int] = field(default_factory=set)
    late_to_resolve: set[int] = field(default_factory=set)
    ratings: list[int] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        """Return the rates as whole percentages (None where nothing was due)."""
        settled = self.responded | self.late_response
        on_time = self.responded - self.late_response
        due_to_resolve = self.resolved | self.late_to_resolve
        satisfied = sum(1 for stars in self.ratings if stars >= 4)
        return {
            "response": _percent(len(on_time), len(settled)),
            "resolution": _percent(len(self.resolved), len(due_to_resolve)),
            "satisfaction": _percent(satisfied, len(self.ratings)),
        }


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


Group = Callable[[int], Awaitable[Iterable[tuple[str, str]]]]


async def rates(
    events: list[OrderEvent],
    overdue: list[Order],
    now: datetime,
    groups: Group,
) -> tuple[dict[str, Any], dict[tuple[str, str], dict[str, Any]]]:
    """Return the scope's rates and each group's ((kind, name) → rates).

    `groups(order_id)` names the groups an order counts in: ("community", name), ("grid",
    name), ("category", name).
    """
    whole = Rates()
    by_group: dict[tuple[str, str], Rates] = {}

    async def each(order_id: int) -> list[Rates]:
        found = [whole]
        for key in await groups(order_id):
            found.append(by_group.setdefault(key, Rates()))
        return found

    for e in events:
        for r in await each(e.order_id):
            if e.action in RESPONSES:
                r.responded.add(e.order_id)
            elif e.action in RESPONSE_BREACHES:
                r.late_response.add(e.order_id)
            elif e.action == Move.RESOLVE:
                r.resolved.add(e.order_id)
            elif e.action == Move.RATE and e.note and e.note.isdigit():
                r.ratings.append(int(e.note))
    for order in overdue:
        if order.resolve_due is not None and order.resolve_due <= now:
            for r in await each(order.id):
                r.late_to_resolve.add(order.id)
    return whole.figures(), {key: r.figures() for key, r in by_group.items()}


def first_response_minutes(events: list[OrderEvent], placed: dict[int, datetime]) -> float | None:
    """Return the median minutes from placing to the first response, of responses seen."""
    first: dict[int, datetime] = {}
    for e in events:
        if e.action in RESPONSES:
            first.setdefault(e.order_id, e.at)
    spans = [(at - placed[o]).total_seconds() for o, at in first.items() if o in placed]
    return round(statistics.median(spans) / 60, 1) if spans else None


def stage_lines(
    waiting: dict[OrderStatus, tuple[int, datetime]],
    overdue: list[Order],
    now: datetime,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Return waiting and overdue per stage, and the oldest waiting order's age."""
    late: dict[OrderStatus, int] = {}
    for order in overdue:
        late[order.status] = late.get(order.status, 0) + 1
    lines = []
    oldest: tuple[datetime, OrderStatus] | None = None
    for status in stages():
        count, since = waiting.get(status, (0, now))
        if not count and not late.get(status):
            continue
        lines.append({"stage": status.value, "waiting": count, "overdue": late.get(status, 0)})
        if count and status in OPEN_STATUSES and (oldest is None or since < oldest[0]):
            oldest = (since, status)
    if oldest is None:
        return lines, None
    return lines, {
        "stage": oldest[1].value,
        "minutes": round((now - oldest[0]).total_seconds() / 60),
    }


def backlog_line(
    days: list[date],
    policy: TimerPolicy,
    open_now: int,
    placed: list[datetime],
    events: list[OrderEvent],
) -> list[int]:
    """Return the open orders at the end of each day, walked back from the count now."""
    change: dict[date, int] = {}
    for moment in placed:
        day = policy.local_date(moment)
        change[day] = change.get(day, 0) + 1
    for e in events:
        day = policy.local_date(e.at)
        if e.action in INTO_OPEN:
            change[day] = change.get(day, 0) + 1
        elif e.action in OUT_OF_OPEN:
            change[day] = change.get(day, 0) - 1
    line = []
    for day in days:
        later = sum(delta for d, delta in change.items() if d > day)
        line.append(max(0, open_now - later))
    return line
