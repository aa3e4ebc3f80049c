"""Scale: a digest and a timer sweep over 10k, 100k and 1M historical orders, 100k pending timers.

The sample organisation is imported, then rows are written straight into the tables with bulk
INSERTs (executemany on SQLite, COPY on PostgreSQL), not through the workflows:

- recent activity is the same at every size: 100 orders a day over the last 30 days, closed;
- the rest of the history is older, spread over the three years before that, closed, each with
  its timeline (place, accept, resolve, confirm, half of them rated) and its fired follow-up in
  the timer ledger, as a bot that ran all along would have left it;
- 100k pending timers: open orders offered, being worked, or (a fifth; issue 15's clocks) waiting
  in the dispatcher's queue or the volunteers' pool, their deadlines 1–30 days ahead;
- 50 orders past their resolution deadline whose breach already fired (the digest lists them).

Then, at each size, the street supervisor's daily digest (both communities: report and chart)
and a full timer sweep (`run_due`, nothing new due: what the scheduler pays every 30 s) are timed
several times; the median is printed, with the target (digest ≤ 200 ms, sweep ≤ 50 ms at 1M).

    uv run python -m bench.scale [--sizes 10000,100000,1000000] [--pending 100000]
                                 [--backend sqlite|postgresql|both] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import backends, machine, median, scratch_database, table, verdict
from bot.clock import ManualClock
from bot.demo import prepare
from bot.sweeps import run_due
from storage.db import make_engine, make_sessions
from storage.uow import SqlUnitOfWork
from workflows.digests import queue_report, scope_of, supervisors
from workflows.model import Person
from workflows.timers import TimerPolicy

# 15:00 in Shanghai: the day's digests went out this morning (and are past their catch-up).
NOW = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
RECENT_DAYS = 30
RECENT_PER_DAY = 100
OLDER_DAYS = 3 * 365
OVERDUE = 50
HOUSEHOLDS = 2_000
CHUNK = 50_000
DIGEST_TARGET = 0.200
SWEEP_TARGET = 0.050
Row = tuple[Any, ...]

ORDER_COLUMNS = (
    "id",
    "resident_id",
    "household_id",
    "category_id",
    "community_id",
    "description",
    "urgency",
    "status",
    "assignee_id",
    "level",
    "photos",
    "created_at",
    "accept_due",
    "resolve_due",
    "resolved_at",
    "closed_at",
    "rating",
    "version",
    "wait_due",
)
EVENT_COLUMNS = ("id", "order_id", "at", "actor_id", "action", "from_status", "to_status", "note")
TIMER_COLUMNS = ("id", "kind", "subject_id", "due_at", "fired_at", "outcome")


@dataclass
class Organisation:
    """What the generated rows refer to: households with residents, categories, workers."""

    households: list[tuple[int, int, int]]  # household id, resident id, community id
    categories: list[tuple[int, int]]  # category id, follow-up days
    workers: list[int]


@dataclass
class Ids:
    """The next free id of each table the generator writes."""

    order: int
    event: int
    timer: int


class Writer:
    """Bulk inserts: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = make_url(url).get_backend_name() == "sqlite"

    async def write(self, table_name: str, columns: Sequence[str], rows: list[Row]) -> None:
        """Insert the rows."""
        if not rows:
            return
        if self.sqlite:
            await asyncio.to_thread(self._sqlite, table_name, columns, rows)
        else:
            await self._copy(table_name, columns, rows)

    def _sqlite(self, table_name: str, columns: Sequence[str], rows: list[Row]) -> None:
        database = make_url(self.url).database
        assert database is not None
        connection = sqlite3.connect(database)
        try:
            marks = ", ".join("?" for _ in columns)
            with connection:
                connection.executemany(
                    f"INSERT INTO {table_name} ({', '.join(columns)}) VALUES ({marks})",
                    [tuple(_sqlite_value(v) for v in row) for row in rows],
                )
        finally:
            connection.close()

    async def _copy(self, table_name: str, columns: Sequence[str], rows: list[Row]) -> None:
        import asyncpg

        dsn = make_url(self.url).set(drivername="postgresql").render_as_string(False)
        connection = await asyncpg.connect(dsn)
        try:
            await connection.copy_records_to_table(table_name, records=rows, columns=columns)
        finally:
            await connection.close()


def _sqlite_value(value: Any) -> Any:
    """Store a value as SQLAlchemy does on SQLite (naive UTC datetimes as text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


async def organisation(engine: AsyncEngine, writer: Writer) -> Organisation:
    """Add households with one resident each to the imported organisation; return the refs."""
    async with engine.begin() as connection:
        # Supervisors get their digests only once they are in the chat.
        await connection.execute(
            text(
                "UPDATE people SET telegram_id = 900000 + id WHERE telegram_id IS NULL AND id IN "
                "(SELECT person_id FROM roles WHERE role = 'supervisor')"
            )
        )
        places = {
            row.id: (row.kind, row.parent_id)
            for row in await connection.execute(text("SELECT id, kind, parent_id FROM places"))
        }
        categories = [
            (row.id, row.followup_days)
            for row in await connection.execute(text("SELECT id, followup_days FROM categories"))
        ]
        workers = list(await connection.scalars(text("SELECT DISTINCT person_id FROM roles")))
        next_household = int(
            await connection.scalar(text("SELECT COALESCE(MAX(id), 0) FROM households")) or 0
        )
        next_person = int(
            await connection.scalar(text("SELECT COALESCE(MAX(id), 0) FROM people")) or 0
        )

    def community_of(place_id: int) -> int:
        while places[place_id][0] != "community":
            parent = places[place_id][1]
            assert parent is not None
            place_id = parent
        return place_id

    units = sorted(p for p, (kind, _) in places.items() if kind == "unit")
    households: list[Row] = []
    residents: list[Row] = []
    refs = []
    for i in range(HOUSEHOLDS):
        unit = units[i % len(units)]
        household, person = next_household + 1 + i, next_person + 1 + i
        households.append((household, unit, f"B{i:05d}", False))
        residents.append((person, f"居民{i}", "zh", None, household, True))
        refs.append((household, person, community_of(unit)))
    await writer.write("households", ("id", "unit_id", "room", "is_key"), households)
    await writer.write(
        "people", ("id", "name", "lang", "telegram_id", "household_id", "reachable"), residents
    )
    return Organisation(refs, categories, workers)


def _timeline(
    ids: Ids, order_id: int, worker: int, resident: int, created: datetime, rated: bool
) -> Iterator[Row]:
    moments: list[tuple[str, str | None, str, datetime, int, str | None]] = [
        ("place", None, "offered", created, resident, None),
        ("accept", "offered", "accepted", created + timedelta(minutes=20), worker, None),
        ("resolve", "accepted", "resolved", created + timedelta(hours=5), worker, None),
        ("confirm", "resolved", "closed", created + timedelta(hours=7), resident, None),
    ]
    if rated:
        moments.append(("rate", "closed", "closed", created + timedelta(hours=7), resident, "5"))
    for action, before, after, at, actor, note in moments:
        yield (ids.event, order_id, at, actor, action, before, after, note)
        ids.event += 1


def history(
    org: Organisation, ids: Ids, count: int, start: datetime, days: float, seed: int
) -> Iterator[tuple[list[Row], list[Row], list[Row]]]:
    """Yield chunks of closed orders created within `days` after `start`, their timelines and
    their fired follow-ups."""
    rng = random.Random(seed)
    for chunk in range(0, count, CHUNK):
        orders: list[Row] = []
        events: list[Row] = []
        timers: list[Row] = []
        for _ in range(min(CHUNK, count - chunk)):
            household, resident, community = rng.choice(org.households)
            category, followup_days = rng.choice(org.categories)
            worker = rng.choice(org.workers)
            created = start + timedelta(seconds=rng.uniform(0, days * 86_400))
            closed = created + timedelta(hours=7)
            rated = rng.random() < 0.5
            order_id = ids.order
            ids.order += 1
            orders.append(
                (
                    order_id,
                    resident,
                    household,
                    category,
                    community,
                    "楼道灯不亮了",
                    "normal",
                    "closed",
                    worker,
                    "grid_worker",
                    "[]",
                    created,
                    created + timedelta(minutes=30),
                    created + timedelta(hours=24),
                    created + timedelta(hours=5),
                    closed,
                    5 if rated else None,
                    4,
                    None,
                )
            )
            events.extend(_timeline(ids, order_id, worker, resident, created, rated))
            followup = closed + timedelta(days=followup_days)
            if followup <= NOW:
                timers.append((ids.timer, "followup", order_id, closed, followup, "fired"))
                ids.timer += 1
        yield orders, events, timers


def pending(
    org: Organisation, ids: Ids, count: int, seed: int, now: datetime = NOW
) -> tuple[list[Row], list[Row], list[Row]]:
    """Return open orders whose deadlines lie ahead of `now`, and a few overdue ones already
    breached."""
    rng = random.Random(seed)
    orders: list[Row] = []
    events: list[Row] = []
    timers: list[Row] = []
    for i in range(count + OVERDUE):
        household, resident, community = rng.choice(org.households)
        category, _ = rng.choice(org.categories)
        worker = rng.choice(org.workers)
        created = now - timedelta(seconds=rng.uniform(0, 365 * 86_400))
        ahead = timedelta(seconds=rng.uniform(86_400, 30 * 86_400))
        offered = i < count and i % 5 < 2
        status = "offered" if offered else ("accepted" if i % 5 < 4 else "on_way")
        accept_due: datetime | None = now + ahead if offered else created + timedelta(minutes=30)
        resolve_due = None if offered else now + ahead
        # Clocks (issue 15): a tenth wait in the dispatcher's queue, a tenth in the pool.
        wait_due: datetime | None = None
        waiting = i < count and i % 10 in (1, 3)
        if waiting:
            status = "queued" if i % 10 == 1 else "pool"
            accept_due, resolve_due, wait_due = None, None, now + ahead
        if i >= count:  # overdue: the breach and its reminder fired already
            resolve_due = now - timedelta(hours=rng.uniform(1, 72))
            for kind in ("remind_resolve", "breach_resolve"):
                timers.append((ids.timer, kind, ids.order, resolve_due, resolve_due, "fired"))
                ids.timer += 1
        orders.append(
            (
                ids.order,
                resident,
                household,
                category,
                community,
                "水管漏水",
                "normal",
                status,
                worker,
                "grid_worker",
                "[]",
                created,
                accept_due,
                resolve_due,
                None,
                None,
                None,
                1 if offered or waiting else 2,
                wait_due,
            )
        )
        events.append((ids.event, ids.order, created, resident, "place", None, "offered", None))
        ids.event += 1
        if not offered and not waiting:
            at = created + timedelta(minutes=10)
            events.append((ids.event, ids.order, at, worker, "accept", "offered", status, None))
            ids.event += 1
        ids.order += 1
    return orders, events, timers


async def write_all(
    writer: Writer, batches: Iterator[tuple[list[Row], list[Row], list[Row]]]
) -> None:
    """Write generated orders, timelines and ledger rows, chunk by chunk."""
    for orders, events, timers in batches:
        await writer.write("orders", ORDER_COLUMNS, orders)
        await writer.write("order_events", EVENT_COLUMNS, events)
        await writer.write("timers", TIMER_COLUMNS, timers)


async def settle(engine: AsyncEngine, sqlite: bool, *, analyze_sqlite: bool = True) -> None:
    """Bring sequences past the written ids and refresh the planner's statistics.

    `analyze_sqlite=False` leaves SQLite without statistics, as a deployment's file is (Sandan
    never runs ANALYZE; PostgreSQL's autovacuum does, so it is analysed either way).
    """
    async with engine.begin() as connection:
        if sqlite:
            if analyze_sqlite:
                await connection.execute(text("ANALYZE"))
            return
        for table_name in ("orders", "order_events", "timers", "households", "people"):
            await connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), "
                    f"(SELECT MAX(id) FROM {table_name}))"
                )
            )
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE"))


async def next_ids(engine: AsyncEngine) -> Ids:
    """Return the next free ids (the sweeps wrote rows of their own)."""
    async with engine.connect() as connection:
        tops = [
            int(await connection.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {name}")) or 0)
            for name in ("orders", "order_events", "timers")
        ]
    return Ids(order=tops[0] + 1, event=tops[1] + 1, timer=tops[2] + 1)


async def time_digest(engine: AsyncEngine, person: Person, policy: TimerPolicy) -> float:
    """Return the seconds one daily digest (report and chart) takes; nothing is kept."""
    sessions = make_sessions(engine)
    clock = ManualClock(NOW)
    started = time.perf_counter()
    async with SqlUnitOfWork(sessions, clock.now) as uow:
        scope = await scope_of(uow, person)
        assert scope is not None
        today = policy.local_date(NOW)
        until = policy.at_local(today, datetime.min.time())
        since = until - timedelta(days=1)
        await queue_report(
            uow, policy, person, scope, "daily", since, until, NOW, today - timedelta(days=1)
        )
        await uow.rollback()
    return time.perf_counter() - started


async def time_sweep(engine: AsyncEngine, policy: TimerPolicy, at: datetime) -> tuple[float, int]:
    """Return the seconds one full timer sweep takes at a moment, and how many timers fired."""
    sessions = make_sessions(engine)
    clock = ManualClock(at)
    started = time.perf_counter()
    fired = await run_due(lambda: SqlUnitOfWork(sessions, clock.now), clock, policy)
    return time.perf_counter() - started, fired


async def street_supervisor(engine: AsyncEngine) -> Person:
    """Return the supervisor whose scope is widest (the street's)."""
    async with SqlUnitOfWork(make_sessions(engine), lambda: NOW) as uow:
        people = await supervisors(uow)
        widest = None
        for person in people:
            scope = await scope_of(uow, person)
            if scope and (widest is None or len(scope.community_ids) > widest[0]):
                widest = (len(scope.community_ids), person)
    assert widest is not None, "the organisation has no supervisor"
    return widest[1]


async def run_backend(
    backend: str, sizes: list[int], pending_count: int, repeat: int
) -> list[list[object]]:
    """Grow one database through the sizes; return a row of figures per size."""
    rows: list[list[object]] = []
    policy = TimerPolicy()
    async with scratch_database(backend) as url:
        await prepare(url)
        writer = Writer(url)
        engine = make_engine(url)
        try:
            org = await organisation(engine, writer)
            ids = Ids(order=1, event=1, timer=1)
            started = time.perf_counter()
            await write_all(writer, iter([pending(org, ids, pending_count, seed=1)]))
            recent_start = NOW - timedelta(days=RECENT_DAYS)
            recent = RECENT_DAYS * RECENT_PER_DAY
            await write_all(writer, history(org, ids, recent, recent_start, RECENT_DAYS, 2))
            written = recent
            person = await street_supervisor(engine)
            for size in sizes:
                older_start = recent_start - timedelta(days=OLDER_DAYS)
                more = max(0, size - written)
                ids = await next_ids(engine)
                await write_all(writer, history(org, ids, more, older_start, OLDER_DAYS, size))
                written += more
                await settle(engine, writer.sqlite)
                fill = time.perf_counter() - started
                # The first sweep opens what the organisation's key households are due (visits).
                await time_sweep(engine, policy, NOW)
                await time_digest(engine, person, policy)
                digests = [await time_digest(engine, person, policy) for _ in range(repeat)]
                sweeps = []
                fired = 0
                for n in range(repeat):
                    seconds, count = await time_sweep(engine, policy, NOW + timedelta(seconds=n))
                    sweeps.append(seconds)
                    fired += count
                rows.append(
                    [
                        backend,
                        f"{written:,}",
                        f"{pending_count:,}",
                        f"{median(digests) * 1000:.0f} ms",
                        f"{median(sweeps) * 1000:.0f} ms",
                        f"{fired}",
                        f"{fill:.0f} s",
                    ]
                )
                print("  " + "  ".join(str(c) for c in rows[-1]), flush=True)
        finally:
            await engine.dispose()
    return rows


async def main() -> None:
    """Parse the flags, run each backend, print the table and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    wanted = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    print(f"Scale — {machine()}")
    print(
        f"historical orders {', '.join(f'{s:,}' for s in sizes)}; {args.pending:,} pending "
        f"timers; median of {args.repeat} (digest: the street supervisor's daily report and "
        "chart; sweep: every timer kind, nothing new due)"
    )
    rows = []
    for backend in await backends(wanted):
        rows += await run_backend(backend, sizes, args.pending, args.repeat)
    header = ["backend", "orders", "pending", "digest", "sweep", "fired", "filled after"]
    print()
    print(table(rows, header))
    print()
    for row in rows:
        if row[1] == f"{max(sizes):,}":
            digest = float(str(row[3]).split()[0]) / 1000
            sweep = float(str(row[4]).split()[0]) / 1000
            print(
                f"{row[0]} at {row[1]}: digest {verdict(digest <= DIGEST_TARGET)} (≤ 200 ms), "
                f"sweep {verdict(sweep <= SWEEP_TARGET)} (≤ 50 ms)"
            )


if __name__ == "__main__":
    asyncio.run(main())
