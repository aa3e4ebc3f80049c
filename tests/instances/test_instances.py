"""Three bot processes on one PostgreSQL, in webhook mode behind a round-robin proxy.

Updates are spread across the instances (several at once, as Telegram does with
max_connections); each instance runs its own delivery worker and timer sweeps over the one
database. A burst of residents orders while a crowd of timers is due (offers that lapsed while
nobody was running, offers whose reminder is due, and every supervisor's digest): every order
is placed once, every timer fires once, every message arrives once and in order per chat, and
Telegram's limits hold for the instances together.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select, update

from bot.clock import ManualClock, SystemClock
from bot.demo import survey, tap
from bot.emulator import FakeBotAPI, FakeUser, RateLimits
from storage.db import make_engine, make_sessions
from storage.models import OrderEventRow, OrderRow, OutboxRow, PersonRow, TimerRow
from storage.uow import SqlUnitOfWork
from tests.delivery.conftest import eventually, received
from workflows.dispatch import allowed
from workflows.model import EDIT_KEY, PlaceKind, Role, Urgency
from workflows.orders import OrderDraft, place_order
from workflows.people import issue_invite, join_staff, register_resident
from workflows.timers import TimerPolicy

pytestmark = pytest.mark.skipif(
    not os.environ.get("SANDAN_TEST_POSTGRES_URL"),
    reason="instances share one PostgreSQL: set SANDAN_TEST_POSTGRES_URL",
)
ROOT = Path(__file__).resolve().parents[2]
INSTANCES = ("a", "b", "c")
RESIDENTS = 12  # ordering through the chat, all at once
LAPSED = 24  # orders whose offer lapsed while no instance was running
REMINDED = 12  # orders whose offer is 85% through its time to accept: a reminder is due
SECRET = "instances-test-secret"
SENT_KINDS = frozenset({"text", "photo"})


def free_port() -> int:
    """Return a port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def round_robin(backends: list[str]) -> AsyncIterator[tuple[str, Counter[str]]]:
    """Run a proxy passing each POST to the next backend in turn; yield its URL and a tally."""
    turn = itertools.cycle(backends)
    tally: Counter[str] = Counter()
    session = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        backend = next(turn)
        tally[backend] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with session.post(
            backend + request.path, data=await request.read(), headers=headers
        ) as answer:
            return web.Response(status=answer.status, body=await answer.read())

    app = web.Application()
    app.router.add_post("/{tail:.*}", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", tally
    finally:
        await runner.cleanup()
        await session.close()


@asynccontextmanager
async def instance(api: FakeBotAPI, database_url: str, name: str, cwd: Path) -> AsyncIterator[str]:
    """Run `sandan run --webhook` as instance `name`; yield its base URL once it is healthy."""
    port = free_port()
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "SANDAN_BOT_TOKEN": api.token,
        "SANDAN_API_BASE": api.base_url,
        "SANDAN_BOT_USERNAME": api.bot_username,
        "SANDAN_DATABASE_URL": database_url,
        "SANDAN_INSTANCE": name,
        "SANDAN_WEBHOOK_SECRET": SECRET,
        "SANDAN_WEBHOOK_HOST": "127.0.0.1",
        "SANDAN_WEBHOOK_PORT": str(port),
        "SANDAN_QUIET_HOURS": "",
        "SANDAN_SWEEP_SECONDS": "1",  # all three sweep every second: they race for each timer
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--webhook", cwd=cwd, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(600):
                assert process.returncode is None, f"instance {name} exited"
                try:
                    async with session.get(base + "/healthz") as answer:
                        if answer.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"instance {name} never became healthy")
        yield base
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
        await process.wait()


async def test_three_instances_place_fire_and_send_everything_once(
    sample_db: str, tmp_path: Path
) -> None:
    """A burst of orders and a crowd of due timers, spread over three instances."""
    engine = make_engine(sample_db)
    sessions = make_sessions(engine)
    clock = SystemClock()
    policy = TimerPolicy()

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(sessions, clock.now)

    async with uow() as work:
        place = await survey(work)
        rooms = await work.places.households(place.unit.id)
        tops = await work.places.children(None, PlaceKind.STREET)
        tops += await work.places.children(None, PlaceKind.COMMUNITY)
        bosses = await work.people.with_role(Role.SUPERVISOR, [p.id for p in tops])
        water = next(c for c in await work.categories.list() if c.code == "water_power_gas")
    crew = [place.unit_head, place.building_head, place.grid_worker, place.dispatcher]
    staff = {person.id: 7000 + n for n, person in enumerate([*crew, *bosses])}
    for person_id, telegram_id in staff.items():
        async with uow() as work:
            person = await work.people.get(person_id)
            assert person is not None
            token = await issue_invite(work, clock, person)
            await work.commit()
        async with uow() as work:
            await join_staff(work, clock, telegram_id, token, "zh")
            await work.commit()
    # Every supervisor's digest came due a minute ago.
    due_at = (clock.now() - timedelta(minutes=1)).astimezone(policy.zone).strftime("%H:%M")
    async with sessions() as session, session.begin():
        await session.execute(
            update(PersonRow)
            .where(PersonRow.id.in_(p.id for p in bosses))
            .values(digest_time=due_at)
        )

    async def placed_at(when: ManualClock, first: int, count: int, name: str) -> list[int]:
        """Register `count` residents now; have each place an order at `when`; return them."""
        placed = []
        for n in range(count):
            async with uow() as work:
                person = await register_resident(
                    work, first + n, f"{name}{n}", "zh", rooms[n % len(rooms)].id
                )
                await work.commit()
            async with SqlUnitOfWork(sessions, when.now) as work:
                order = await place_order(work, when, person, OrderDraft(water.id, f"{n}号水管漏"))
                await work.commit()
            placed.append(order.id)
        return placed

    # Offers that lapsed two days ago, while no instance was running.
    lapsed = await placed_at(ManualClock(clock.now() - timedelta(days=2)), 8000, LAPSED, "住户")
    # Offers 85% through their time to accept: each holder is due a reminder.
    lately = ManualClock(clock.now() - allowed(water, Urgency.NORMAL, "accept") * 0.85)
    reminded = await placed_at(lately, 8100, REMINDED, "邻居")
    for n in range(RESIDENTS):
        async with uow() as work:
            await register_resident(work, 9000 + n, f"居民{n}", "zh", rooms[n % len(rooms)].id)
            await work.commit()

    async with FakeBotAPI(webhook_parallel=8) as api, AsyncExitStack() as stack:
        api.limits = RateLimits()  # Telegram's limits, metered over what all instances send
        people = [api.user(t, f"员工{t}", language_code="zh-hans") for t in staff.values()]
        people += [api.user(8000 + n, f"住户{n}", language_code="zh-hans") for n in range(LAPSED)]
        people += [api.user(8100 + n, f"邻居{n}", language_code="zh-hans") for n in range(REMINDED)]
        residents = [
            api.user(9000 + n, f"居民{n}", language_code="zh-hans") for n in range(RESIDENTS)
        ]
        for user in (*people, *residents):
            user.started = True
        backends = [
            await stack.enter_async_context(instance(api, sample_db, name, tmp_path))
            for name in INSTANCES
        ]
        proxy, tally = await stack.enter_async_context(round_robin(backends))
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                api.api_url + "/setWebhook",
                json={"url": proxy + "/telegram", "secret_token": SECRET},
            ) as answer,
        ):
            assert answer.status == 200

        async def order(user: FakeUser) -> None:
            user.send("/new")
            await tap(user, "水电气维修")
            await user.wait_for("说说情况", timeout=20)
            user.send(f"{user.name}家停水了")
            await tap(user, "好了")
            await tap(user, "不急")
            await user.wait_for(lambda m: "确认提交" in str(m.buttons), timeout=20)
            user.press("确认提交", user.messages[-1])
            # Orders placed a moment earlier in the same building may be offered as the same
            # matter; each household here has its own water cut, so it goes on.
            answer = await user.wait_for(
                lambda m: "已提交" in m.text or "是同一件事吗" in m.text, timeout=30
            )
            if "是同一件事吗" in answer.text:
                user.press("不是，继续报事", answer)
                await user.wait_for("已提交", timeout=30)

        await asyncio.gather(*(order(user) for user in residents))

        async def settled() -> bool:
            async with sessions() as session:
                counted = await session.execute(
                    select(TimerRow.kind, func.count()).group_by(TimerRow.kind)
                )
                kinds = {kind: n for kind, n in counted}
                digests = await session.scalar(
                    select(func.count())
                    .select_from(OutboxRow)
                    .where(OutboxRow.key == "digest.report")
                )
                unsent = await session.scalar(
                    select(func.count()).select_from(OutboxRow).where(OutboxRow.sent_at.is_(None))
                )
            timers = kinds.get("breach_accept") == LAPSED and kinds.get("remind_accept") == REMINDED
            return timers and bool(digests) and unsent == 0

        await eventually(settled, within=90)
        await asyncio.sleep(3)  # three more sweeps each: a timer firing twice would show now
        await eventually(settled, within=30)
        await api.wait_idle(timeout=10)
        await stack.aclose()  # the instances stop: nothing more can arrive

        async with sessions() as session:
            rows = list(await session.scalars(select(OutboxRow).order_by(OutboxRow.id)))
            orders = list(await session.scalars(select(OrderRow)))
            breaches = list(
                await session.scalars(
                    select(OrderEventRow.order_id).where(OrderEventRow.action == "breach_accept")
                )
            )
            fired = list(await session.scalars(select(TimerRow)))

        # Updates were spread across all three instances.
        assert all(tally[backend] > 0 for backend in backends), tally
        # Every order once: the burst's, and the lapsed ones.
        assert len(orders) == RESIDENTS + LAPSED + REMINDED
        for user in residents:
            assert len([m for m in user.messages if "已提交" in m.text]) == 1, user.render()
        # Every lapsed offer fired once, and once only, though three instances swept it.
        assert sorted(breaches) == sorted(lapsed)
        assert Counter((t.kind, t.subject_id, t.due_at) for t in fired).most_common(1)[0][1] == 1
        # Every due reminder once, to the order's holder.
        # A sent row keeps no text: what it said is what its chat got (the fake Bot API's).
        said = {r.id: received(api, r) for r in rows if r.key != EDIT_KEY}
        reminders = Counter(
            said[r.id].split("任务 ")[1][:5] for r in rows if r.key == "task.remind_accept"
        )
        assert reminders == Counter(f"{order_id:05d}" for order_id in reminded)
        # Every supervisor's daily digest once (and the weekly one at most once, on Mondays).
        reports = Counter(
            (r.person_id, "weekly" if "周报" in said[r.id] else "daily")
            for r in rows
            if r.key == "digest.report"
        )
        assert {p for p, kind in reports if kind == "daily"} == {b.id for b in bosses}
        assert max(reports.values()) == 1
        # Every message once, in order, per chat: what each chat received is its outbox.
        for user in (*people, *residents):
            wanted = [
                said[r.id].removeprefix("[photo] ")
                for r in rows
                if r.chat_id == user.id and r.key != EDIT_KEY
            ]
            got = [
                line.text.removeprefix("[photo] ")
                for line in user.transcript
                if line.who.startswith("bot") and line.kind in SENT_KINDS
            ]
            assert got == wanted, user.render()
        # Telegram's limits held for the three instances together.
        assert api.rate_violations == []
    await engine.dispose()
