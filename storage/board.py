"""What the web console reads in bulk (issue 18): the board, report rows, staff, the audit log.

Each read takes a `Reach`: the places and categories whose orders a viewer may see, as the chat's
lookup decides one order at a time (workflows/supervision.py `powers`), turned into one SQL
condition so that 100,000 open orders are filtered and counted by the database, not in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, false, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from storage.models import (
    OPEN_ORDER_STATUSES,
    AuditRow,
    HouseholdRow,
    OrderEventRow,
    OrderRow,
    PersonRow,
    PlaceRow,
    RoleRow,
    TeamMemberRow,
    TeamRow,
)
from workflows.model import OPEN_STATUSES, OrderStatus
from workflows.vocabulary import Move

PAGE_SIZE = 50
ORDER_OF_STAGES = (
    OrderStatus.QUEUED,
    OrderStatus.POOL,
    OrderStatus.OFFERED,
    OrderStatus.ACCEPTED,
    OrderStatus.ON_WAY,
    OrderStatus.PAUSED,
)


@dataclass(frozen=True)
class Reach:
    """Whose orders a viewer may see: whole communities, buildings, units, categories, their own."""

    person_id: int
    community_ids: tuple[int, ...] = ()
    building_ids: tuple[int, ...] = ()
    unit_ids: tuple[int, ...] = ()
    category_ids: tuple[int, ...] = ()

    def _rest(self, open_only: bool) -> ColumnElement[bool]:
        """Return the reach beyond whole communities: what they hold, their buildings, units
        and categories, as an `id IN (…)` read once (`open_only`: of open orders alone, so that
        what a worker once held, closed long ago, is not read for the board)."""
        inner = aliased(OrderRow)
        others: list[ColumnElement[bool]] = [inner.assignee_id == self.person_id]
        if self.building_ids:
            others.append(inner.building_id.in_(self.building_ids))
        if self.unit_ids:
            units = select(HouseholdRow.id).where(HouseholdRow.unit_id.in_(self.unit_ids))
            others.append(inner.household_id.in_(units))
        if self.category_ids:
            others.append(inner.category_id.in_(self.category_ids))
        found = select(inner.id).where(or_(*others))
        if open_only:
            found = found.where(inner.status.in_([str(s) for s in OPEN_STATUSES]))
        return OrderRow.id.in_(found)

    def condition(self, open_only: bool = False) -> ColumnElement[bool]:
        """Return the SQL condition an order in reach meets.

        Whole communities are matched on an index; the rest (`_rest`) by an `id IN (…)` read
        once, so that counting a street's 100k open orders needs nothing but the index.
        """
        if not self.community_ids:
            return self._rest(open_only)
        return or_(OrderRow.community_id.in_(self.community_ids), self._rest(open_only))

    def parts(self, open_only: bool = False) -> list[ColumnElement[bool]]:
        """Return `condition()` as disjoint conditions, each one an index can serve alone.

        SQLite reads `a OR b` by scanning the whole table; the whole communities, read on their
        own, are counted from an index without touching a row.
        """
        if not self.community_ids:
            return [self.condition(open_only)]
        return [
            OrderRow.community_id.in_(self.community_ids),
            and_(OrderRow.community_id.not_in(self.community_ids), self._rest(open_only)),
        ]


@dataclass(frozen=True)
class BoardFilters:
    """What the board is narrowed to; None or empty: everything in reach."""

    community_id: int | None = None
    grid_id: int | None = None
    category_id: int | None = None
    urgency: str | None = None
    channel: str | None = None
    status: str | None = None
    overdue: bool = False
    number: int | None = None
    words: str = ""
    page: int = 1


@dataclass(frozen=True)
class BoardRow:
    """One open order as the board lists it."""

    id: int
    status: str
    urgency: str
    channel: str
    category_id: int
    community_id: int
    building_id: int | None
    description: str
    assignee_id: int | None
    created_at: datetime
    due: datetime | None
    overdue: bool

    @property
    def number(self) -> str:
        """Return the order's number as people quote it."""
        return f"{self.id:05d}"


@dataclass(frozen=True)
class BoardPage:
    """One page of the board, with the counts of the whole selection by stage."""

    rows: list[BoardRow]
    counts: dict[str, int]
    overdue: int
    page: int
    pages: int

    @property
    def total(self) -> int:
        """Return how many open orders the selection holds."""
        return sum(self.counts.values())


def stage_due() -> ColumnElement[Any]:
    """Return the deadline of an open order's current stage (workflows/clocks.py CLOCKS)."""
    return case(
        (OrderRow.status.in_((OrderStatus.QUEUED, OrderStatus.POOL)), OrderRow.wait_due),
        (OrderRow.status == OrderStatus.OFFERED, OrderRow.accept_due),
        (OrderRow.status.in_((OrderStatus.ACCEPTED, OrderStatus.ON_WAY)), OrderRow.resolve_due),
        else_=None,
    )


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """Return the SQL condition of an open order whose stage's deadline has passed."""
    return or_(
        and_(OrderRow.status.in_((OrderStatus.QUEUED, OrderStatus.POOL)), OrderRow.wait_due < now),
        and_(OrderRow.status == OrderStatus.OFFERED, OrderRow.accept_due < now),
        and_(
            OrderRow.status.in_((OrderStatus.ACCEPTED, OrderStatus.ON_WAY)),
            OrderRow.resolve_due < now,
        ),
    )


def open_orders() -> ColumnElement[bool]:
    """Return `orders.status IN ('queued', …)` with the stages written out, as the board's
    partial indexes are defined (storage/models.py OPEN_ORDERS_SQL): a database uses a partial
    index only when the query's own text proves its condition, and a bound parameter does not."""
    return OrderRow.status.in_([literal_column(f"'{s}'") for s in OPEN_ORDER_STATUSES])


def _narrowed(filters: BoardFilters, now: datetime) -> list[ColumnElement[bool]]:
    """Return the conditions of the board's selection (without reach and the stage filter)."""
    where: list[ColumnElement[bool]] = [open_orders()]
    if filters.community_id is not None:
        where.append(OrderRow.community_id == filters.community_id)
    if filters.grid_id is not None:
        buildings = select(PlaceRow.id).where(PlaceRow.parent_id == filters.grid_id)
        where.append(OrderRow.building_id.in_(buildings))
    if filters.category_id is not None:
        where.append(OrderRow.category_id == filters.category_id)
    if filters.urgency:
        where.append(OrderRow.urgency == filters.urgency)
    if filters.channel:
        where.append(OrderRow.channel == filters.channel)
    if filters.overdue:
        where.append(overdue_condition(now))
    if filters.number is not None:
        where.append(OrderRow.id == filters.number)
    for word in filters.words.split()[:5]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(OrderRow.description.like(f"%{escaped}%", escape="\\"))
    return where


async def board(
    session: AsyncSession, reach: Reach, filters: BoardFilters, now: datetime
) -> BoardPage:
    """Return one page of open orders in reach, newest first, and the counts by stage."""
    where = _narrowed(filters, now)
    if filters.words:
        counts, overdue, matched = await _matched(session, reach, where, filters.status, now)
    else:
        counts, overdue = await _counted(session, reach, where, now)
    total = counts.get(filters.status, 0) if filters.status else sum(counts.values())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    wanted = page * PAGE_SIZE
    if filters.words:
        ids = matched
    else:
        # The page's ids first, from each part (an index holds them), then only those rows.
        if filters.status:
            where.append(OrderRow.status == filters.status)
        ids = []
        for part in reach.parts(open_only=True):
            found = await session.scalars(
                select(OrderRow.id).where(*where, part).order_by(OrderRow.id.desc()).limit(wanted)
            )
            ids += found.all()
    shown = sorted(ids, reverse=True)[(page - 1) * PAGE_SIZE : wanted]
    result = await session.execute(
        select(
            OrderRow.id,
            OrderRow.status,
            OrderRow.urgency,
            OrderRow.channel,
            OrderRow.category_id,
            OrderRow.community_id,
            OrderRow.building_id,
            OrderRow.description,
            OrderRow.assignee_id,
            OrderRow.created_at,
            stage_due().label("due"),
        )
        .where(OrderRow.id.in_(shown))
        .order_by(OrderRow.id.desc())
    )
    rows = []
    for r in result.all():
        stage_deadline = _aware(r.due)
        rows.append(
            BoardRow(
                id=r.id,
                status=r.status,
                urgency=r.urgency,
                channel=r.channel,
                category_id=r.category_id,
                community_id=r.community_id,
                building_id=r.building_id,
                description=r.description,
                assignee_id=r.assignee_id,
                created_at=_aware(r.created_at) or now,
                due=stage_deadline,
                overdue=stage_deadline is not None and stage_deadline < now,
            )
        )
    return BoardPage(rows, counts, overdue, page, pages)


async def _counted(
    session: AsyncSession, reach: Reach, where: list[ColumnElement[bool]], now: datetime
) -> tuple[dict[str, int], int]:
    """Return the selection's open orders by stage, and how many are overdue, from the index."""
    late = func.sum(case((overdue_condition(now), 1), else_=0))
    counts = {str(s): 0 for s in ORDER_OF_STAGES}
    overdue = 0
    # Grouped by community as well: the rows then come in the order of the counting index
    # (community, stage, …), which the planner prefers to an index in stage order that reads rows.
    for part in reach.parts(open_only=True):
        counted = await session.execute(
            select(OrderRow.status, func.count(), late)
            .where(*where, part)
            .group_by(OrderRow.community_id, OrderRow.status)
        )
        for status, n, n_late in counted.all():
            counts[status] = counts.get(status, 0) + int(n)
            overdue += int(n_late or 0)
    return counts, overdue


async def _matched(
    session: AsyncSession,
    reach: Reach,
    where: list[ColumnElement[bool]],
    status: str | None,
    now: datetime,
) -> tuple[dict[str, int], int, list[int]]:
    """Return the counts, the overdue and the ids (of the stage asked for) of a word search.

    Words are matched in the orders' rows, not in an index: each open order in reach is read
    once, for the counts and the page together, rather than once for each.
    """
    late = case((overdue_condition(now), 1), else_=0)
    counts = {str(s): 0 for s in ORDER_OF_STAGES}
    overdue = 0
    ids: list[int] = []
    for part in reach.parts(open_only=True):
        query = select(OrderRow.id, OrderRow.status, late).where(*where, part)
        found = await session.execute(query)
        for order_id, stage, is_late in found.all():
            counts[stage] = counts.get(stage, 0) + 1
            overdue += int(is_late)
            if status is None or stage == status:
                ids.append(int(order_id))
    return counts, overdue, ids


def _aware(value: datetime | str | None) -> datetime | None:
    """Return a database moment as aware UTC (a CASE over SQLite columns comes back naive)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class ReportRow:
    """One order of a report, with the moment it reached each stage (None: never)."""

    id: int
    status: str
    urgency: str
    channel: str
    category_id: int
    community_id: int
    building_id: int | None
    assignee_id: int | None
    created_at: datetime
    rating: int | None
    stages: dict[str, datetime] = field(default_factory=dict)


# The moves whose first time is a stage time in the report (placed is the order's own moment).
STAGE_MOVES = tuple(
    str(m)
    for m in (
        Move.OFFER,
        Move.ACCEPT,
        Move.CLAIM,
        Move.ON_WAY,
        Move.RESOLVE,
        Move.CONFIRM,
        Move.AUTOCLOSE,
        Move.CANCEL,
    )
)


async def report_rows(
    session: AsyncSession, reach: Reach, since: datetime, until: datetime
) -> list[ReportRow]:
    """Return the orders in reach placed in [since, until), with their stage times."""
    columns = (
        OrderRow.id,
        OrderRow.status,
        OrderRow.urgency,
        OrderRow.channel,
        OrderRow.category_id,
        OrderRow.community_id,
        OrderRow.building_id,
        OrderRow.assignee_id,
        OrderRow.created_at,
        OrderRow.rating,
    )
    found: list[Any] = []
    for part in reach.parts():
        result = await session.execute(
            select(*columns).where(part, OrderRow.created_at >= since, OrderRow.created_at < until)
        )
        found += result.all()
    found.sort(key=lambda r: r.id)
    rows = {
        r.id: ReportRow(
            r.id,
            r.status,
            r.urgency,
            r.channel,
            r.category_id,
            r.community_id,
            r.building_id,
            r.assignee_id,
            _aware(r.created_at) or since,
            r.rating,
        )
        for r in found
    }
    ids = list(rows)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        # The stage moves are picked here, not in SQL: with `action IN (…)` as well, SQLite
        # may read every event of those kinds from their index instead of these orders' own.
        events = await session.execute(
            select(OrderEventRow.order_id, OrderEventRow.action, func.min(OrderEventRow.at))
            .where(OrderEventRow.order_id.in_(chunk))
            .group_by(OrderEventRow.order_id, OrderEventRow.action)
        )
        for order_id, action, at in events.all():
            if action not in STAGE_MOVES:
                continue
            moment = _aware(at)
            if moment is not None:
                rows[order_id].stages[action] = moment
    return list(rows.values())


@dataclass(frozen=True)
class StaffRow:
    """A staff member as the people page lists them."""

    id: int
    name: str
    code: str | None
    joined: bool
    reachable: bool
    lang: str
    roles: tuple[tuple[str, int], ...]


async def staff(session: AsyncSession, place_ids: Sequence[int]) -> list[StaffRow]:
    """Return the people holding a role at any of the places, by name."""
    if not place_ids:
        return []
    result = await session.execute(
        select(PersonRow, RoleRow.role, RoleRow.place_id)
        .join(RoleRow, RoleRow.person_id == PersonRow.id)
        .where(RoleRow.place_id.in_(place_ids))
        .order_by(PersonRow.name, PersonRow.id)
    )
    found: dict[int, tuple[PersonRow, list[tuple[str, int]]]] = {}
    for person, role, place_id in result.all():
        found.setdefault(person.id, (person, []))[1].append((role, place_id))
    return [
        StaffRow(
            p.id,
            p.name,
            p.code,
            p.telegram_id is not None,
            p.reachable,
            p.lang,
            tuple(sorted(roles)),
        )
        for p, roles in found.values()
    ]


@dataclass(frozen=True)
class AuditLine:
    """One line of the audit log."""

    at: datetime
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any]


async def audit(
    session: AsyncSession,
    *,
    actor_ids: Sequence[int] | None,
    action: str = "",
    words: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[AuditLine]:
    """Return the latest audit lines, newest first; `actor_ids` None: everyone's."""
    where: list[ColumnElement[bool]] = []
    if actor_ids is not None:
        where.append(AuditRow.actor_id.in_(actor_ids) if actor_ids else false())
    if action:
        where.append(AuditRow.action == action)
    if words:
        escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(
            or_(
                AuditRow.subject.like(f"%{escaped}%", escape="\\"),
                AuditRow.actor.like(f"%{escaped}%", escape="\\"),
            )
        )
    if since is not None:
        where.append(AuditRow.at >= since)
    if until is not None:
        where.append(AuditRow.at < until)
    result = await session.execute(
        select(AuditRow).where(*where).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
    )
    return [
        AuditLine(r.at, r.actor, r.action, r.subject, dict(r.details or {}))
        for r in result.scalars()
    ]


async def audit_actions(session: AsyncSession) -> list[str]:
    """Return the kinds of action the audit log holds."""
    result = await session.execute(select(AuditRow.action).distinct().order_by(AuditRow.action))
    return [str(a) for a in result.scalars()]


async def teams_of(session: AsyncSession, person_ids: Sequence[int]) -> dict[int, str]:
    """Return, for each person in a team, the team's Chinese name (their first team)."""
    found: dict[int, str] = {}
    ids = list(dict.fromkeys(person_ids))
    for start in range(0, len(ids), 500):
        result = await session.execute(
            select(TeamMemberRow.person_id, TeamRow.name_zh, TeamRow.name_en)
            .join(TeamRow, TeamRow.id == TeamMemberRow.team_id)
            .where(TeamMemberRow.person_id.in_(ids[start : start + 500]))
            .order_by(TeamRow.id)
        )
        for person_id, zh, _en in result.all():
            found.setdefault(person_id, zh)
    return found


async def names(session: AsyncSession, person_ids: Sequence[int]) -> dict[int, str]:
    """Return people's names by id, read in chunks."""
    found: dict[int, str] = {}
    ids = list(dict.fromkeys(person_ids))
    for start in range(0, len(ids), 500):
        result = await session.execute(
            select(PersonRow.id, PersonRow.name).where(PersonRow.id.in_(ids[start : start + 500]))
        )
        found.update({int(i): str(n) for i, n in result.all()})
    return found


async def place_table(session: AsyncSession) -> dict[int, tuple[str, str, int | None]]:
    """Return every place but households: id → (zh name, en name, parent id)."""
    result = await session.execute(
        select(PlaceRow.id, PlaceRow.name_zh, PlaceRow.name_en, PlaceRow.parent_id)
    )
    return {int(i): (str(zh), str(en), p) for i, zh, en, p in result.all()}
