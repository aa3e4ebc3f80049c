"""Repositories of the timers: the fired-timer ledger, key households and visits, report queries."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Select, and_, bindparam, exists, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    HouseholdRow,
    KeyHouseholdRow,
    OrderEventRow,
    OrderRow,
    PlaceRow,
    TimerRow,
    VisitRow,
    dialect_insert,
)
from storage.repositories import to_event, to_household, to_order, to_place
from workflows.model import (
    OPEN_STATUSES,
    HouseholdPlace,
    KeyHousehold,
    Order,
    OrderEvent,
    OrderStatus,
    Place,
    Visit,
    VisitKind,
    VisitOutcome,
)
from workflows.ports import OrderMoment

IN_CHUNK = 500  # ids per IN (…) list

MOMENTS = {
    "accept_due": OrderRow.accept_due,
    "resolve_due": OrderRow.resolve_due,
    "resolved_at": OrderRow.resolved_at,
    "closed_at": OrderRow.closed_at,
}


def to_visit(row: VisitRow) -> Visit:
    """Return the domain visit for a row."""
    return Visit(
        id=row.id,
        household_id=row.household_id,
        person_id=row.person_id,
        kind=VisitKind(row.kind),
        opened_at=row.opened_at,
        due_at=row.due_at,
        order_id=row.order_id,
        outcome=VisitOutcome(row.outcome) if row.outcome else None,
        note=row.note,
        logged_at=row.logged_at,
        missed_at=row.missed_at,
    )


class SqlTimers:
    """The ledger of fired timers; the insert is the timer's conditional write."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fire(
        self, kind: str, subject_id: int, due_at: datetime, at: datetime, outcome: str = "fired"
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
        kind: str,
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


class SqlVisits:
    """Key households and their visit tasks."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def unlink_orders(self, order_ids: Iterable[int]) -> None:
        wanted = sorted(set(order_ids))
        for start in range(0, len(wanted), IN_CHUNK):
            await self.session.execute(
                update(VisitRow)
                .where(VisitRow.order_id.in_(wanted[start : start + IN_CHUNK]))
                .values(order_id=None, note=None)
                .execution_options(synchronize_session=False)
            )

    async def key_households(self) -> list[KeyHousehold]:
        rows = await self.session.scalars(
            select(KeyHouseholdRow).order_by(KeyHouseholdRow.household_id)
        )
        return [_key(r) for r in rows]

    async def key_household(self, household_id: int) -> KeyHousehold | None:
        row = await self.session.get(KeyHouseholdRow, household_id, populate_existing=True)
        return _key(row) if row else None

    async def latest(self, household_id: int, kind: VisitKind) -> Visit | None:
        row = await self.session.scalar(
            select(VisitRow)
            .where(VisitRow.household_id == household_id, VisitRow.kind == kind.value)
            .order_by(VisitRow.opened_at.desc(), VisitRow.id.desc())
            .limit(1)
        )
        return to_visit(row) if row else None

    async def latest_of_each(self, kind: VisitKind) -> dict[int, Visit]:
        # One read for every household (a sweep asks for all of them), not one per household.
        rows = await self.session.scalars(_latest_visits(), {"kind": kind.value})
        return {row.household_id: to_visit(row) for row in rows}

    async def add(
        self,
        *,
        household_id: int,
        person_id: int,
        kind: VisitKind,
        opened_at: datetime,
        due_at: datetime,
        order_id: int | None = None,
    ) -> Visit:
        row = VisitRow(
            household_id=household_id,
            person_id=person_id,
            kind=kind.value,
            opened_at=opened_at,
            due_at=due_at,
            order_id=order_id,
        )
        self.session.add(row)
        await self.session.flush()
        return to_visit(row)

    async def get(self, visit_id: int) -> Visit | None:
        row = await self.session.get(VisitRow, visit_id, populate_existing=True)
        return to_visit(row) if row else None

    async def log(
        self, visit_id: int, outcome: VisitOutcome, at: datetime, note: str | None = None
    ) -> Visit | None:
        result = await self.session.execute(
            update(VisitRow)
            .where(VisitRow.id == visit_id, VisitRow.logged_at.is_(None))
            .values(outcome=outcome.value, logged_at=at, note=note)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return await self.get(visit_id)

    async def unlogged_due(self, before: datetime) -> list[Visit]:
        rows = await self.session.scalars(
            select(VisitRow)
            .where(
                VisitRow.logged_at.is_(None),
                VisitRow.missed_at.is_(None),
                VisitRow.due_at <= before,
            )
            .order_by(VisitRow.due_at, VisitRow.id)
        )
        return [to_visit(r) for r in rows]

    async def mark_missed(self, visit_id: int, at: datetime) -> None:
        await self.session.execute(
            update(VisitRow)
            .where(VisitRow.id == visit_id, VisitRow.missed_at.is_(None))
            .values(missed_at=at)
            .execution_options(synchronize_session=False)
        )

    async def missed_between(self, since: datetime, until: datetime) -> list[Visit]:
        rows = await self.session.scalars(
            select(VisitRow)
            .where(VisitRow.missed_at >= since, VisitRow.missed_at < until)
            .order_by(VisitRow.missed_at, VisitRow.id)
        )
        return [to_visit(r) for r in rows]

    async def open_for(self, person_id: int) -> list[Visit]:
        rows = await self.session.scalars(
            select(VisitRow)
            .where(VisitRow.person_id == person_id, VisitRow.logged_at.is_(None))
            .order_by(VisitRow.due_at, VisitRow.id)
        )
        return [to_visit(r) for r in rows]


def _key(row: KeyHouseholdRow) -> KeyHousehold:
    return KeyHousehold(row.household_id, row.kind, row.liaison_id, row.visit_every_days)


@functools.cache
def _latest_visits() -> Select[VisitRow]:
    """Return the query of each household's latest visit of a kind, built once."""
    newer = aliased(VisitRow)
    return select(VisitRow).where(
        VisitRow.kind == bindparam("kind"),
        ~exists().where(
            newer.household_id == VisitRow.household_id,
            newer.kind == VisitRow.kind,
            or_(
                newer.opened_at > VisitRow.opened_at,
                and_(newer.opened_at == VisitRow.opened_at, newer.id > VisitRow.id),
            ),
        ),
    )


class SqlReports:
    """What digests count: orders placed and timeline entries in a window, by community."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def created_between(
        self, community_ids: Sequence[int], since: datetime, until: datetime
    ) -> list[Order]:
        rows = await self.session.scalars(
            select(OrderRow)
            .where(
                OrderRow.community_id.in_(list(community_ids)),
                OrderRow.created_at >= since,
                OrderRow.created_at < until,
            )
            .order_by(OrderRow.id)
        )
        return [to_order(r) for r in rows]

    async def events_between(
        self,
        community_ids: Sequence[int],
        actions: Sequence[str],
        since: datetime,
        until: datetime,
    ) -> list[OrderEvent]:
        rows = await self.session.scalars(
            select(OrderEventRow)
            .join(OrderRow, OrderRow.id == OrderEventRow.order_id)
            .where(
                OrderRow.community_id.in_(list(community_ids)),
                OrderEventRow.action.in_(list(actions)),
                OrderEventRow.at >= since,
                OrderEventRow.at < until,
            )
            .order_by(OrderEventRow.at, OrderEventRow.id)
        )
        return [to_event(r) for r in rows]

    async def placed_moments(
        self, community_ids: Sequence[int], since: datetime, until: datetime
    ) -> list[datetime]:
        moments = await self.session.scalars(
            select(OrderRow.created_at).where(
                OrderRow.community_id.in_(list(community_ids)),
                OrderRow.created_at >= since,
                OrderRow.created_at < until,
            )
        )
        return list(moments)

    async def overdue(self, community_ids: Sequence[int], now: datetime) -> list[Order]:
        # Two reads of ids, each a range of one (status, deadline) index and nothing else, then
        # the orders found. Joined by OR in one query the planners scanned every order; with
        # the community in the same query, PostgreSQL (which takes most orders of a status for
        # late, the history's deadlines being past) read every open order to filter it.
        late_to_resolve = and_(
            OrderRow.status.in_([s.value for s in OPEN_STATUSES]), OrderRow.resolve_due <= now
        )
        late_to_accept = and_(
            OrderRow.status == OrderStatus.OFFERED.value, OrderRow.accept_due <= now
        )
        ids: set[int] = set()
        for late in (late_to_resolve, late_to_accept):
            ids.update(await self.session.scalars(select(OrderRow.id).where(late)))
        wanted = sorted(ids)
        found: list[Order] = []
        for start in range(0, len(wanted), IN_CHUNK):
            rows = await self.session.scalars(
                select(OrderRow)
                .where(
                    OrderRow.id.in_(wanted[start : start + IN_CHUNK]),
                    OrderRow.community_id.in_(list(community_ids)),
                )
                .order_by(OrderRow.id)
            )
            found += (to_order(r) for r in rows)
        return found

    async def building_grids(self, building_ids: Iterable[int]) -> dict[int, Place]:
        wanted = sorted(set(building_ids))
        building, grid = aliased(PlaceRow), aliased(PlaceRow)
        found: dict[int, Place] = {}
        for start in range(0, len(wanted), IN_CHUNK):
            rows = await self.session.execute(
                select(building.id, grid)
                .join(grid, grid.id == building.parent_id)
                .where(building.id.in_(wanted[start : start + IN_CHUNK]))
            )
            found.update((building_id, to_place(row)) for building_id, row in rows)
        return found

    async def household_places(self, household_ids: Iterable[int]) -> dict[int, HouseholdPlace]:
        wanted = sorted(set(household_ids))
        households = []
        for start in range(0, len(wanted), IN_CHUNK):
            households += list(
                await self.session.scalars(
                    select(HouseholdRow).where(
                        HouseholdRow.id.in_(wanted[start : start + IN_CHUNK])
                    )
                )
            )
        # Unit, building, grid, community: one read per level for all the households.
        places: dict[int, Place] = {}
        level = {h.unit_id for h in households}
        for _ in range(4):
            level -= places.keys()
            found = []
            ids = sorted(level)
            for start in range(0, len(ids), IN_CHUNK):
                found += list(
                    await self.session.scalars(
                        select(PlaceRow).where(PlaceRow.id.in_(ids[start : start + IN_CHUNK]))
                    )
                )
            places.update((p.id, to_place(p)) for p in found)
            level = {p.parent_id for p in found if p.parent_id is not None}
        result: dict[int, HouseholdPlace] = {}
        for row in households:
            chain: list[Place] = []
            place_id: int | None = row.unit_id
            while place_id is not None and place_id in places and len(chain) < 4:
                chain.append(places[place_id])
                place_id = chain[-1].parent_id
            if len(chain) == 4:
                unit, building, grid, community = chain
                result[row.id] = HouseholdPlace(to_household(row), unit, building, grid, community)
        return result
