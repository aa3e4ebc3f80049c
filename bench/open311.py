"""Open311: reading a street's month of orders, and partners filing orders while people chat.

1. GET requests: 30,000 orders placed over one month in the sample street (both communities,
   every building, each with its timeline's first line), read with the street's key through the
   running bot's listener: the month's first page (1,000 orders, the most one answer holds), a
   deep page, and the whole month page by page. The figure is the server's own time (its
   Server-Timing header); target ≤ 200 ms an answer.
2. POST requests at a steady 50 a second (each a stranger's call: the order and a call-back task)
   from a partner client in a process of its own, for `--seconds`, while `--residents` people
   chat all through that window: each registers and places an order, pausing about `--think`
   seconds before each step as a person reads, and a newcomer takes their place when they are
   done (one unmeasured conversation warms the bot up first). The chat's latency (update queued
   → the bot's reply) is taken over the same window with and without the API's load, from a few
   hundred replies each, so that its p99 is a figure and not the slowest two replies. Replies go
   out at Telegram's pace (1 a second per chat after a burst of 3, 25 a second in all), as they
   would for real: the task cards the partner's orders send to staff then compete with the
   replies for it (`--unpaced` lifts the pace). Printed: the achieved rate, the server's p50/p99
   per POST, and the chat's replies, p50 and p99, alone and beside the POSTs.

    uv run python -m bench.open311 [--orders N] [--seconds S] [--rate R] [--residents N]
                                   [--think S] [--unpaced] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, select, update

from bench.common import backends, machine, percentile, scratch_database, table, verdict
from bench.inbound import ROOMS, TOKEN, UNPACED, Meter, converse
from bot.app import App, running
from bot.clock import SystemClock
from bot.demo import Neighbourhood, demo_settings, prepare, survey
from bot.emulator import FakeBotAPI
from storage.models import (
    CategoryRow,
    HouseholdRow,
    OrderEventRow,
    OrderRow,
    PersonRow,
    PlaceRow,
)
from storage.open311 import add_key
from workflows.model import OrderStatus, PlaceKind

GET_TARGET_MS = 200.0
STAFF_TELEGRAM = 900_000  # staff members' Telegram ids: this plus their person id
IN_FLIGHT = 10  # POSTs waiting for their answers at most: the partner's connection pool
MONTH = timedelta(days=30)
STATUSES = [
    (OrderStatus.CLOSED, 0.70),
    (OrderStatus.ACCEPTED, 0.10),
    (OrderStatus.RESOLVED, 0.08),
    (OrderStatus.QUEUED, 0.05),
    (OrderStatus.OFFERED, 0.04),
    (OrderStatus.CANCELLED, 0.03),
]
API_SETTINGS = {"api_enabled": True, "api_rate": 1_000_000, "monitor_port": 0}


async def staff_on_telegram(app: App, api: FakeBotAPI) -> None:
    """Give every staff member of the sample street a Telegram account, as in a live street:
    orders are then offered to people, not left in the dispatcher's queue."""
    async with app.sessions() as session:
        staff = (
            await session.execute(
                select(PersonRow.id, PersonRow.name).where(PersonRow.code.is_not(None))
            )
        ).all()
        for person_id, _ in staff:
            await session.execute(
                update(PersonRow)
                .where(PersonRow.id == person_id)
                .values(telegram_id=STAFF_TELEGRAM + person_id)
            )
        await session.commit()
    for person_id, name in staff:
        api.user(STAFF_TELEGRAM + person_id, name, started=True)


def placed_at(row: dict[str, object]) -> datetime:
    """Return when a written order was placed."""
    at = row["created_at"]
    assert isinstance(at, datetime)
    return at


def server_ms(response: httpx.Response) -> float:
    """Return the server's own time for an answer, from its Server-Timing header."""
    return float(response.headers["Server-Timing"].split("dur=")[1])


async def fill(app: App, orders: int, start: datetime) -> None:
    """Write `orders` orders over the month from `start` into the sample street, in bulk."""
    rng = random.Random(19)
    async with app.sessions() as session:
        units = (
            await session.execute(
                select(PlaceRow.id, PlaceRow.parent_id).where(PlaceRow.kind == PlaceKind.UNIT.value)
            )
        ).all()
        buildings = dict(
            (
                await session.execute(
                    select(PlaceRow.id, PlaceRow.parent_id).where(
                        PlaceRow.kind == PlaceKind.BUILDING.value
                    )
                )
            ).all()
        )
        grids = dict(
            (
                await session.execute(
                    select(PlaceRow.id, PlaceRow.parent_id).where(
                        PlaceRow.kind == PlaceKind.GRID.value
                    )
                )
            ).all()
        )
        households = (await session.execute(select(HouseholdRow.id, HouseholdRow.unit_id))).all()
        unit_building = {unit: building for unit, building in units}
        categories = list(await session.scalars(select(CategoryRow.id)))
        resident = PersonRow(name="压测居民", lang="zh", household_id=households[0][0])
        session.add(resident)
        await session.flush()
        rows: list[dict[str, object]] = []
        events: list[dict[str, object]] = []
        statuses = [s for s, _ in STATUSES]
        weights = [w for _, w in STATUSES]
        for n in range(orders):
            household, unit = rng.choice(households)
            building = unit_building[unit] or 0
            community = grids[buildings[building] or 0]
            at = start + MONTH * (n / orders)
            status = rng.choices(statuses, weights)[0]
            rows.append(
                {
                    "resident_id": resident.id,
                    "household_id": household,
                    "building_id": building,
                    "category_id": rng.choice(categories),
                    "community_id": community,
                    "description": "压测",
                    "urgency": "normal",
                    "status": status.value,
                    "photos": [],
                    "created_at": at,
                    "resolve_due": at + timedelta(hours=24),
                    "channel": "chat",
                    "version": 0,
                }
            )
        for chunk in range(0, len(rows), 5000):
            await session.execute(insert(OrderRow), rows[chunk : chunk + 5000])
        ids = list(await session.scalars(select(OrderRow.id).order_by(OrderRow.id)))
        for order_id, row in zip(ids, rows, strict=True):
            events.append(
                {
                    "order_id": order_id,
                    "at": placed_at(row) + timedelta(minutes=rng.randint(1, 600)),
                    "action": "place",
                    "to_status": row["status"],
                }
            )
        for chunk in range(0, len(events), 5000):
            await session.execute(insert(OrderEventRow), events[chunk : chunk + 5000])
        await session.commit()


async def reading(backend: str, orders: int) -> list[list[object]]:
    """Measure GET requests over a month of a street's orders; return the table's rows."""
    async with scratch_database(backend) as url:
        await prepare(url)
        async with FakeBotAPI(TOKEN) as api:
            settings = demo_settings(api, url).model_copy(update=API_SETTINGS)
            async with running(settings, SystemClock()) as app:
                end = app.clock.now()
                start = end - MONTH
                began = time.perf_counter()
                await fill(app, orders, start)
                print(f"  {orders} orders written in {time.perf_counter() - began:.1f}s")
                async with app.sessions() as session:
                    key = await add_key(session, "bench", "xinhua", end)
                    await session.commit()
                base = f"http://127.0.0.1:{app.monitor_port}/open311/v2/"
                month = {
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat(),
                    "api_key": key,
                }
                async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                    await http.get("requests.json", params=month)  # warm up
                    first = [await http.get("requests.json", params=month) for _ in range(20)]
                    last_page = str(orders // 1000)
                    deep = [
                        await http.get("requests.json", params={**month, "page": last_page})
                        for _ in range(10)
                    ]
                    await http.get("requests.xml", params=month)  # warm up, as for JSON
                    xml = [await http.get("requests.xml", params=month) for _ in range(20)]
                    whole, seen, page = 0.0, 0, 1
                    while True:
                        answer = await http.get(
                            "requests.json", params={**month, "page": str(page)}
                        )
                        whole += server_ms(answer)
                        got = len(answer.json())
                        seen += got
                        if got < 1000:
                            break
                        page += 1
        rows: list[list[object]] = []
        for label, answers in (
            ("page 1 (1000), JSON", first),
            (f"page {last_page} (1000), JSON", deep),
            ("page 1 (1000), XML", xml),
        ):
            times = [server_ms(a) for a in answers]
            p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
            rows.append([backend, label, f"{p50:.0f}", f"{p99:.0f}", verdict(p99 <= GET_TARGET_MS)])
        rows.append([backend, f"whole month: {page} pages, {seen} orders", f"{whole:.0f}", "", ""])
        return rows


async def filing(
    backend: str,
    seconds: float,
    rate: float,
    residents: int,
    think: float,
    staffed: bool,
    pace: dict[str, Any],
) -> list[object]:
    """Measure POST requests at `rate` a second beside chat; return the table's row."""
    async with scratch_database(backend) as url:  # its own: a new fake server's update ids
        await prepare(url)  # start again at 1, which a database that saw them would skip
        alone = await chat_only(url, seconds, residents, think, staffed, pace)
    async with scratch_database(backend) as url:
        await prepare(url)
        meter = Meter()
        async with FakeBotAPI(TOKEN, on_line=meter.on_line) as api:
            settings = demo_settings(api, url).model_copy(update={**API_SETTINGS, **pace})
            async with running(settings, SystemClock()) as app:
                async with app.unit_of_work() as uow:
                    place = await survey(uow)
                if staffed:
                    await staff_on_telegram(app, api)
                async with app.sessions() as session:
                    key = await add_key(session, "bench", "xinhua", app.clock.now())
                    await session.commit()
                await warm_up(api, place)
                meter.latencies.clear()
                base = f"http://127.0.0.1:{app.monitor_port}/open311/v2/"
                # The partner is another system: its client runs in a process of its own
                # (`--partner`), as it would on another machine, not on the bot's event loop.
                partner = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.open311",
                    "--partner",
                    json.dumps({"base": base, "key": key, "seconds": seconds, "rate": rate}),
                    stdout=asyncio.subprocess.PIPE,
                )
                chatting = asyncio.create_task(
                    chat(api, place, seconds, residents, think, first_id=100_000)
                )
                out, _ = await partner.communicate()
                during = list(meter.latencies)  # the replies while the partner was filing
                await chatting
                found = json.loads(out.decode().strip().splitlines()[-1])
                times, failed, span = found["times"], found["failed"], found["span"]
                sent = found["sent"]
        achieved = len(times) / span
        return [
            backend,
            "on Telegram" if staffed else "none joined",
            f"{rate:.0f}/s × {seconds:.0f}s",
            f"{achieved:.1f}/s",
            f"{len(times)} of {sent} (asked {rate * seconds:.0f})",
            failed,
            f"{percentile(times, 0.5):.0f}",
            f"{percentile(times, 0.99):.0f}",
            *latencies(alone),
            *latencies(during),
        ]


def latencies(samples: list[float]) -> list[str]:
    """Return the chat's replies counted, and their p50 and p99 in ms, for the table."""
    return [
        str(len(samples)),
        f"{percentile(samples, 0.5) * 1000:.0f}",
        f"{percentile(samples, 0.99) * 1000:.0f}",
    ]


async def chat(
    api: FakeBotAPI,
    place: Neighbourhood,
    seconds: float,
    residents: int,
    think: float,
    first_id: int,
) -> None:
    """Have `residents` people chat with the bot for `seconds`, each pausing about `think`
    seconds before each step, as a person reads; each registers and places an order, and a
    newcomer takes their place when they are done (the last ones finish after `seconds`)."""
    rng = random.Random(first_id)
    end = time.perf_counter() + seconds

    async def pause() -> None:
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think)

    async def one(slot: int) -> None:
        await asyncio.sleep(rng.uniform(0, think))  # people do not all start in one instant
        n = 0
        while time.perf_counter() < end:
            user = api.user(first_id + slot * 1000 + n, f"居民{slot}-{n}", language_code="zh-hans")
            await converse(user, place, ROOMS[(slot + n) % len(ROOMS)], think=pause)
            n += 1

    await asyncio.gather(*(one(slot) for slot in range(residents)))


async def partner_load(base: str, key: str, seconds: float, rate: float) -> dict[str, Any]:
    """POST at `rate` a second for `seconds`, at most IN_FLIGHT waiting; return the server
    times of the answers, the failures and the span (run as `--partner`, in its own process)."""
    times: list[float] = []
    failed = 0
    in_flight = asyncio.Semaphore(IN_FLIGHT)

    async def post(http: httpx.AsyncClient, n: int) -> None:
        nonlocal failed
        async with in_flight:
            answer = await http.post(
                "requests.json",
                headers={"X-Api-Key": key},
                data={
                    "service_code": "water_power_gas",
                    "attribute[urgency]": "normal",
                    "address_id": f"b-hp-{1 + n % 6}-u1",
                    "description": f"压测来电 {n}",
                    "phone": f"139{n:08d}",
                },
            )
        if answer.status_code == 200:
            times.append(server_ms(answer))
        else:
            failed += 1

    async with httpx.AsyncClient(
        base_url=base, timeout=120, limits=httpx.Limits(max_connections=200)
    ) as http:
        began = time.perf_counter()
        posts = []
        n = 0
        while time.perf_counter() - began < seconds:
            if in_flight.locked():  # a partner waits for its answers: none piles up
                await asyncio.sleep(0.005)
                continue
            posts.append(asyncio.create_task(post(http, n)))
            n += 1
            await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))
        await asyncio.gather(*posts)
        span = time.perf_counter() - began
    return {"times": times, "failed": failed, "span": span, "sent": n}


async def warm_up(api: FakeBotAPI, place: Neighbourhood) -> None:
    """Have one resident register and order first, unmeasured: the first conversation of a
    process pays for what is loaded and compiled once, which is not the chat's latency."""
    await converse(api.user(40_000, "预热", language_code="zh-hans"), place, ROOMS[-1])
    await api.wait_idle()


async def chat_only(
    url: str, seconds: float, residents: int, think: float, staffed: bool, pace: dict[str, Any]
) -> list[float]:
    """Return the chat's reply latencies (s) for the same chat without the API's load."""
    meter = Meter()
    async with FakeBotAPI(TOKEN, on_line=meter.on_line) as api:
        settings = demo_settings(api, url).model_copy(update=pace)
        async with running(settings, SystemClock()) as app:
            async with app.unit_of_work() as uow:
                place = await survey(uow)
            if staffed:
                await staff_on_telegram(app, api)
            await warm_up(api, place)
            meter.latencies.clear()
            chatting = asyncio.create_task(
                chat(api, place, seconds, residents, think, first_id=200_000)
            )
            await asyncio.sleep(seconds)
            alone = list(meter.latencies)  # the replies in the same window as with the partner
            await chatting
    return alone


async def main() -> None:
    """Run both measurements on each backend and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=30_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--residents", type=int, default=10)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--unpaced", action="store_true", help="lift Telegram's send limits")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--partner", help=argparse.SUPPRESS)  # the POSTing process's own run
    args = parser.parse_args()
    if args.partner:
        asked = json.loads(args.partner)
        print(json.dumps(await partner_load(**asked)))
        return
    logging.basicConfig(level=logging.WARNING)
    wanted = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(machine())
    started = datetime.now(UTC)
    read_rows: list[list[object]] = []
    post_rows: list[list[object]] = []
    for backend in await backends(wanted):
        if args.orders:
            print(f"{backend}: GET requests over {args.orders} orders …")
            read_rows.extend(await reading(backend, args.orders))
            print(table(read_rows, ["backend", "answer", "p50 ms", "p99 ms", "≤ 200 ms"]))
        print(f"{backend}: POST requests at {args.rate}/s for {args.seconds}s beside chat …")
        for staffed in (False, True):
            post_rows.append(
                await filing(
                    backend,
                    args.seconds,
                    args.rate,
                    args.residents,
                    args.think,
                    staffed,
                    UNPACED if args.unpaced else {},
                )
            )
    print()
    print(f"GET requests, a street's month ({args.orders} orders), server time in ms")
    print(table(read_rows, ["backend", "answer", "p50 ms", "p99 ms", "≤ 200 ms"]))
    print()
    print(
        f"POST requests beside {args.residents} residents chatting (about {args.think:g}s"
        " between steps), chat replies in the same window alone and with the POSTs"
    )
    print(
        table(
            post_rows,
            [
                "backend",
                "staff",
                "asked",
                "achieved",
                "answered",
                "failed",
                "POST p50 ms",
                "POST p99 ms",
                "replies alone",
                "p50 ms",
                "p99 ms",
                "replies with POSTs",
                "p50 ms",
                "p99 ms",
            ],
        )
    )
    print(f"({(datetime.now(UTC) - started).total_seconds():.0f}s)")


if __name__ == "__main__":
    asyncio.run(main())
