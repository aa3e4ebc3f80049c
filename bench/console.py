"""Console: the board for a street with 100k open and 1M closed orders; the month's XLSX of 30k.

The sample organisation is imported, then orders are written straight into the tables with bulk
INSERTs (bench/scale.py's writer): 100k open orders of every stage over the last 9 days (a tenth
past their stage's deadline), 1M closed ones over the three years before, of which the last 30k
fall in the report's month, each with its timeline (place, offer, accept, on the way, resolve,
confirm). Then, as the street's supervisor, over HTTP against the console's own aiohttp app:

- the board's server time (the request, the queries and the rendered page), for the default
  board and with filters (overdue, a category, a grid, words, a far page); median of --repeat;
- the month's XLSX (30k orders, one row each with its stage times): seconds.

Targets: the board ≤ 300 ms, the XLSX ≤ 5 s.

    uv run python -m bench.console [--scale 1.0] [--backend sqlite|postgresql|both] [--repeat 5]
        [--keep FILE.sqlite3]   # fill once, reuse on later runs
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook
from sqlalchemy import text

from bench.common import backends, machine, median, scratch_database, table, verdict
from bench.scale import EVENT_COLUMNS, Organisation, Writer, organisation, settle, street_supervisor
from bot.clock import ManualClock
from bot.console import Console, ConsoleConfig, console_app
from bot.console.sessions import COOKIE, new_session, sign
from bot.demo import prepare
from handlers.texts import Texts
from storage.db import make_engine, make_sessions
from storage.uow import SqlUnitOfWork
from workflows.timers import SHANGHAI

NOW = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
MONTH_START = datetime(2026, 2, 1, tzinfo=SHANGHAI)  # the report's month: February 2026
OPEN = 100_000
CLOSED = 1_000_000
IN_MONTH = 30_000
CHUNK = 50_000
BOARD_TARGET = 0.300
XLSX_TARGET = 5.0
KEY = b"bench-console-key-0123456789abcdef"
OPEN_STAGES = ("queued", "offered", "pool", "accepted", "on_way", "paused")
COLUMNS = (
    "id",
    "resident_id",
    "household_id",
    "building_id",
    "category_id",
    "community_id",
    "description",
    "urgency",
    "status",
    "assignee_id",
    "photos",
    "created_at",
    "accept_due",
    "resolve_due",
    "resolved_at",
    "closed_at",
    "wait_due",
    "rating",
    "version",
    "channel",
)
WORDS = ("水龙头漏水", "楼道灯不亮", "电梯异响", "垃圾没清运", "下水道堵了", "门禁坏了", "噪音扰民")
Row = tuple[Any, ...]


def open_orders(
    org: Organisation, buildings: dict[int, int], count: int, seed: int
) -> Iterator[list[Row]]:
    """Yield chunks of open orders of every stage placed over the last 60 days."""
    rng = random.Random(seed)
    chunk: list[Row] = []
    for n in range(count):
        household, resident, community = org.households[n % len(org.households)]
        category, _ = org.categories[n % len(org.categories)]
        placed = NOW - timedelta(minutes=rng.randrange(9 * 24 * 60))  # after the report's month
        status = OPEN_STAGES[n % len(OPEN_STAGES)]
        late = rng.random() < 0.1
        due = NOW + (timedelta(hours=-rng.randrange(1, 48)) if late else timedelta(days=1))
        held = status in ("offered", "accepted", "on_way", "paused")
        chunk.append(
            (
                n + 1,
                resident,
                household,
                buildings.get(household),
                category,
                community,
                f"{WORDS[n % len(WORDS)]} #{n}",
                "urgent" if n % 10 == 0 else "normal",
                status,
                rng.choice(org.workers) if held else None,
                "[]",
                placed,
                due if status == "offered" else None,
                due if status in ("accepted", "on_way") else None,
                None,
                None,
                due if status in ("queued", "pool") else None,
                None,
                0,
                "chat",
            )
        )
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def closed_orders(
    org: Organisation, buildings: dict[int, int], first: int, count: int, in_month: int, seed: int
) -> Iterator[tuple[list[Row], list[Row]]]:
    """Yield chunks of closed orders (the last `in_month` in the report's month, with timelines)."""
    rng = random.Random(seed)
    orders: list[Row] = []
    events: list[Row] = []
    event_id = 1
    month_seconds = 28 * 24 * 3600
    for n in range(count):
        order_id = first + n
        household, resident, community = org.households[n % len(org.households)]
        category, _ = org.categories[n % len(org.categories)]
        recent = n >= count - in_month
        if recent:
            placed = MONTH_START + timedelta(seconds=rng.randrange(month_seconds))
        else:
            placed = MONTH_START - timedelta(minutes=rng.randrange(1, 3 * 365 * 24 * 60))
        worker = rng.choice(org.workers)
        resolved = placed + timedelta(hours=rng.randrange(2, 48))
        closed = resolved + timedelta(hours=rng.randrange(1, 72))
        orders.append(
            (
                order_id,
                resident,
                household,
                buildings.get(household),
                category,
                community,
                f"{WORDS[n % len(WORDS)]} #{order_id}",
                "normal",
                "closed",
                worker,
                "[]",
                placed,
                None,
                None,
                resolved,
                closed,
                None,
                rng.choice((None, 4, 5)),
                6,
                "chat",
            )
        )
        if recent:
            steps = (
                ("place", None, "queued", placed, resident),
                ("offer", "queued", "offered", placed + timedelta(minutes=1), None),
                ("accept", "offered", "accepted", placed + timedelta(minutes=20), worker),
                ("on_way", "accepted", "on_way", placed + timedelta(minutes=40), worker),
                ("resolve", "on_way", "resolved", resolved, worker),
                ("confirm", "resolved", "closed", closed, resident),
            )
            for action, before, after, at, actor in steps:
                events.append((event_id, order_id, at, actor, action, before, after, None))
                event_id += 1
        if len(orders) >= CHUNK:
            yield orders, events
            orders, events = [], []
    if orders:
        yield orders, events


async def building_of_households(url: str) -> dict[int, int]:
    """Return each household's building (a household's unit's parent)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                text("SELECT h.id, u.parent_id FROM households h JOIN places u ON u.id = h.unit_id")
            )
            return {int(h): int(b) for h, b in result.all()}
    finally:
        await engine.dispose()


async def fill(url: str, open_count: int, closed_count: int, in_month: int) -> float:
    """Import the organisation and write the orders; return the seconds it took."""
    await prepare(url)
    writer = Writer(url)
    engine = make_engine(url)
    try:
        org = await organisation(engine, writer)
        buildings = await building_of_households(url)
        started = time.perf_counter()
        for chunk in open_orders(org, buildings, open_count, seed=1):
            await writer.write("orders", COLUMNS, chunk)
        batches = closed_orders(org, buildings, open_count + 1, closed_count, in_month, 2)
        for orders, events in batches:
            await writer.write("orders", COLUMNS, orders)
            await writer.write("order_events", EVENT_COLUMNS, events)
        # No ANALYZE on SQLite: a deployment's file has no statistics, the board's plans must
        # be good without them.
        await settle(engine, writer.sqlite, analyze_sqlite=False)
        return time.perf_counter() - started
    finally:
        await engine.dispose()


@asynccontextmanager
async def filled(
    backend: str, keep: Path | None, open_count: int, closed_count: int, in_month: int
) -> AsyncIterator[tuple[str, float]]:
    """Yield a filled database's URL and its fill time; with `keep` (SQLite), reuse that file."""
    if keep is not None and backend == "sqlite":
        url = f"sqlite+aiosqlite:///{keep}"
        made = await asyncio.to_thread(keep.exists)
        yield url, 0.0 if made else await fill(url, open_count, closed_count, in_month)
        return
    async with scratch_database(backend) as url:
        yield url, await fill(url, open_count, closed_count, in_month)


async def run_backend(
    backend: str, scale: float, repeat: int, keep: Path | None = None
) -> list[list[object]]:
    """Fill one database and time the board and the XLSX; return the table's rows."""
    open_count, closed_count = int(OPEN * scale), int(CLOSED * scale)
    in_month = min(IN_MONTH, closed_count)
    async with filled(backend, keep, open_count, closed_count, in_month) as (url, fill_seconds):
        engine = make_engine(url)
        try:
            person = await street_supervisor(engine)
            sessions = make_sessions(engine)
            clock = ManualClock(NOW)
            console = Console(
                ConsoleConfig(
                    key=KEY,
                    bot_token=None,
                    base_url=None,
                    session_hours=1,
                    initdata_max_age=60,
                    api_base="http://127.0.0.1:9",
                    zone=SHANGHAI,
                ),
                lambda: SqlUnitOfWork(sessions, clock.now),
                clock,
                Texts.load(),
            )
            cookie = sign(KEY, new_session(person.id, NOW, 1, "link"))
            async with TestClient(TestServer(console_app(console))) as client:
                client.session.cookie_jar.update_cookies({COOKIE: cookie})
                rows = await time_pages(
                    client, repeat, backend, fill_seconds, open_count, closed_count
                )
                rows.append(await time_xlsx(client, backend, in_month))
        finally:
            await engine.dispose()
    return rows


async def time_pages(
    client: TestClient[Any, Any],
    repeat: int,
    backend: str,
    fill: float,
    open_count: int,
    closed_count: int,
) -> list[list[object]]:
    """Time the board's variants; return one row each."""
    grid = await first_grid(client)
    variants = {
        "board": "/",
        "overdue": "/?overdue=1",
        "category": "/?category=1",
        "grid": f"/?grid={grid}",
        "words": "/?q=电梯",
        "page 100": "/?page=100",
        "stage": "/?status=accepted",
    }
    rows: list[list[object]] = []
    for name, path in variants.items():
        await get(client, path)  # warm
        seconds = [await get(client, path) for _ in range(repeat)]
        rows.append(
            [
                backend,
                f"{open_count:,} open + {closed_count:,} closed",
                name,
                f"{median(seconds) * 1000:.0f} ms",
                verdict(median(seconds) <= BOARD_TARGET),
                f"{fill:.0f} s fill",
            ]
        )
        print("  " + "  ".join(str(c) for c in rows[-1]), flush=True)
    return rows


async def first_grid(client: TestClient[Any, Any]) -> int:
    """Return a grid's id from the board's filter."""
    answer = await client.get("/")
    page = await answer.text()
    marker = '<select id="grid" name="grid"><option value="">'
    rest = page.split(marker, 1)[1]
    return int(rest.split('<option value="', 1)[1].split('"', 1)[0])


async def get(client: TestClient[Any, Any], path: str) -> float:
    """Return the seconds one page takes, its whole body read."""
    started = time.perf_counter()
    answer = await client.get(path)
    await answer.read()
    assert answer.status == 200, (path, answer.status)
    return time.perf_counter() - started


async def time_xlsx(client: TestClient[Any, Any], backend: str, in_month: int) -> list[object]:
    """Time the month's XLSX and check it holds one row per order."""
    started = time.perf_counter()
    answer = await client.get("/reports/orders.xlsx?period=month&date=2026-02-10")
    body = await answer.read()
    seconds = time.perf_counter() - started
    assert answer.status == 200, answer.status
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    assert sheet is not None
    rows = sum(1 for _ in sheet.iter_rows()) - 1
    row: list[object] = [
        backend,
        f"{rows:,} orders in the month",
        "XLSX",
        f"{seconds:.2f} s",
        verdict(seconds <= XLSX_TARGET),
        f"{len(body) // 1024} KiB",
    ]
    print("  " + "  ".join(str(c) for c in row), flush=True)
    assert rows >= in_month
    return row


async def main() -> None:
    """Parse the flags, run each backend, print the table and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of 100k open / 1M closed")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--keep", type=Path, help="an SQLite file to fill once and reuse (the same --scale)"
    )
    args = parser.parse_args()
    wanted = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(machine())
    rows: list[list[object]] = []
    for backend in await backends(wanted):
        rows += await run_backend(backend, args.scale, args.repeat, args.keep)
    print(table(rows, ("backend", "data", "page", "server time", "target", "")))
    print(f"targets: board ≤ {BOARD_TARGET * 1000:.0f} ms, monthly XLSX ≤ {XLSX_TARGET:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())
