"""The ledger of fired timers, and the orders due at a moment column that have not fired."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Select, and_, bindparam, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.mappers import to_order
from storage.models import IN_CHUNK, OrderRow, TimerRow, dialect_insert
from workflows.model import Order, OrderStatus
from workflows.ports import OrderMoment
from workflows.vocabulary import TimerKind

MOMENTS = {
    "accept_due": OrderRow.accept_due,
    "resolve_due": OrderRow.resolve_due,
    "resolved_at": OrderRow.resolved_at,
    "closed_at": OrderRow.closed_at,
    "paused_until": OrderRow.paused_until,  # moves (issue 15)
    "wait_due": OrderRow.wait_due,
    "extension_requested_at": OrderRow.extension_requested_at,  # an undecided 延期
    "info_asked_at": OrderRow.info_asked_at,  # infoask: the resident not answering
}


class SqlTimers:
    """The ledger of fired timers; the insert is the timer's conditional write."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fire(
        self,
        kind: TimerKind,
        subject_id: int,
        due_at: datetime,
        at: datetime,
        outcome: str = "fired",
    ) -> bool:
        # Two instances racing: the unique key decides. On PostgreSQL the later insert waits
        # for the earlier transaction; if that commits, this one writes nothing and says so.
        written = await self.session.scalar(
            dialect_insert(self.session)(TimerRow)
            .values(kind=kind, subject_id=subject_id, due_at=due_at, fired_at=at, outcome=outcome)
            .on_conflict_do_nothing(index_elements=["kind", "subject_id", "due_at"])
            .returning(TimerRow.id)
        )
        return written is not None

    async def orders_due(
        self,
        kind: TimerKind,
        statuses: Iterable[OrderStatus],
        column: OrderMoment,
        before: datetime,
        after: datetime | None = None,
        by_category: Mapping[tuple[int, str], datetime] | None = None,
    ) -> list[Order]:
        # Categories sharing an urgency and a bound are one IN list: the condition has a term
        # per distinct bound, not per category.
        groups: dict[tuple[str, datetime], list[int]] = {}
        for (category_id, urgency), limit in (by_category or {}).items():
            groups.setdefault((urgency, limit), []).append(category_id)
        shape = tuple((urgency, tuple(ids)) for (urgency, _), ids in groups.items())
        query = _due_query(column, after is not None, shape if by_category is not None else None)
        params: dict[str, object] = {
            "kind": kind,
            "statuses": [s.value for s in statuses],
            "before": before,
        }
        if after is not None:
            params["after"] = after
        params.update((f"limit_{n}", limit) for n, (_, limit) in enumerate(groups))
        # The ids come from the index alone (0006); only the orders due are read whole, and on
        # most sweeps there are none.
        ids = list(await self.session.scalars(query, params))
        orders: list[Order] = []
        for start in range(0, len(ids), IN_CHUNK):
            rows = await self.session.scalars(
                select(OrderRow).where(OrderRow.id.in_(ids[start : start + IN_CHUNK]))
            )
            orders += (to_order(r) for r in rows)
        return sorted(orders, key=lambda o: (getattr(o, column), o.id))


Shape = tuple[tuple[str, tuple[int, ...]], ...]
_due_queries: dict[tuple[str, bool, Shape | None], Select[int]] = {}


def _due_query(column: OrderMoment, bounded_below: bool, shape: Shape | None) -> Select[int]:
    """Return the query of the ids of orders due at a moment column, built once per shape.

    Every sweep asks the same few questions with new moments; building the statement (a term
    per category bound) cost more than running it, so the statement is kept and only its
    parameters change. The shape — which categories share a bound — changes only when the
    organisation's categories do.
    """
    key = (column, bounded_below, shape)
    found = _due_queries.get(key)
    if found is not None:
        return found
    moment = MOMENTS[column]
    conditions = [
        OrderRow.status.in_(bindparam("statuses", expanding=True)),
        moment.is_not(None),
        moment <= bindparam("before", type_=moment.type),
    ]
    if bounded_below:
        conditions.append(moment > bindparam("after", type_=moment.type))
    if shape is not None:
        # Filtered in the database: the rows outside their own category's bound are never
        # turned into orders.
        conditions.append(
            or_(
                false(),
                *(
                    and_(
                        OrderRow.urgency == urgency,
                        OrderRow.category_id.in_(category_ids),
                        moment <= bindparam(f"limit_{n}", type_=moment.type),
                    )
                    for n, (urgency, category_ids) in enumerate(shape)
                ),
            )
        )
    fired = exists().where(
        TimerRow.kind == bindparam("kind"),
        TimerRow.subject_id == OrderRow.id,
        TimerRow.due_at == moment,
    )
    query = select(OrderRow.id).where(*conditions, ~fired)
    if len(_due_queries) > 64:  # categories changed many times over: start afresh
        _due_queries.clear()
    _due_queries[key] = query
    return query
