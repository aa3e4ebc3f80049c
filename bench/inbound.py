"""Inbound: a burst of resident conversations through the real bot and the fake Bot API.

N residents start at once; each registers (community → building → unit → room → skip the
phone) and places an order (/new → category → description → done → urgency → confirm), waiting
for each reply as a person would — the steps of the end-to-end tests. The real bot runs on each
Telegram library (aiogram, python-telegram-bot) and each database (SQLite; PostgreSQL when it
answers, in a scratch database made and dropped here). Then the library's bare echo bot polls
the same fake server and N users each send as many messages, one reply at a time.

Latency runs from "update available" (the fake server queued it) to "reply sent" (the server
received the bot's sendMessage or edit for that chat). Printed: updates/s, p50/p99 latency, and
Sandan's rate as a share of the echo bot's (target ≥ 0.5×).

    uv run python -m bench.inbound [--residents N] [--backend sqlite|postgresql|both]
                                   [--library aiogram|ptb|both]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from bench.common import backends, machine, percentile, scratch_database, table, verdict
from bot.app import running
from bot.demo import Neighbourhood, demo_settings, prepare, survey
from bot.emulator import FakeBotAPI, FakeUser, TranscriptLine

TOKEN = "4242:BENCH-TOKEN"
STEP_TIMEOUT = 60.0  # one reply under a burst may be slow; a person would wait this long
ROOMS = ("101", "102", "201", "202", "301", "302", "401", "402", "501", "502", "601", "602")
ECHO_TARGET = 0.5
# Replies to registered residents go through the outbox at Telegram's pace (1/s per chat after a
# burst of 3, 25/s overall), which bench.outbound measures. Here the fake server enforces no
# limits, and the pace is lifted so that the figure is Sandan's handling of updates.
UNPACED = {"delivery_rate": 10_000.0, "chat_rate": 10_000.0, "chat_burst": 10_000}


@dataclass
class Meter:
    """Times each update from when the fake server queued it to the bot's next reply there."""

    waiting: dict[int, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    latencies: list[float] = field(default_factory=list)
    updates: int = 0
    first: float | None = None
    last: float = 0.0
    cpu_first: float = 0.0
    cpu_last: float = 0.0

    def on_line(self, line: TranscriptLine) -> None:
        """Record a user's update or the bot's reply (the emulator calls this as it happens)."""
        now = time.perf_counter()
        if not line.who.startswith("bot"):
            self.updates += 1
            if self.first is None:
                self.first, self.cpu_first = now, time.process_time()
            self.waiting[line.chat_id].append(now)
        elif line.kind not in ("answer", "delete"):
            queue = self.waiting[line.chat_id]
            while queue:
                self.latencies.append(now - queue.popleft())
            self.last, self.cpu_last = now, time.process_time()

    def figures(self) -> tuple[float, float, float, int]:
        """Return updates/s, p50 and p99 latency in ms, and the updates seen."""
        span = self.last - (self.first or self.last)
        rate = self.updates / span if span > 0 else float("nan")
        p50 = percentile(self.latencies, 0.50) * 1000
        p99 = percentile(self.latencies, 0.99) * 1000
        return rate, p50, p99, self.updates

    def cpu_per_update(self) -> float:
        """Return the process's CPU time per update, in ms (bot, fake server and residents)."""
        return (self.cpu_last - self.cpu_first) * 1000 / max(1, self.updates)

    def busy(self) -> float:
        """Return the share of the time the process was on the CPU (1.0: CPU-bound)."""
        span = self.last - (self.first or self.last)
        return (self.cpu_last - self.cpu_first) / span if span > 0 else float("nan")


async def tap(user: FakeUser, label: str, timeout: float = STEP_TIMEOUT) -> None:
    """Wait for a button with this label and tap it."""
    await user.tap(label, timeout=timeout)


async def converse(
    user: FakeUser,
    place: Neighbourhood,
    room: str,
    step: float = STEP_TIMEOUT,
    think: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Register as a resident and place an order, as tests/e2e do, one reply at a time
    (`think`: awaited before each step, a person reading the reply; none: at once)."""

    async def ready() -> None:
        if think is not None:
            await think()

    user.start()
    for label in (place.community.names.zh, place.building.names.zh, place.unit.names.zh, room):
        await ready()
        await tap(user, label, step)
    await user.wait_for(lambda m: m.reply_keyboard is not None, timeout=step)
    await ready()
    user.send("跳过")
    await user.wait_for("/new", timeout=step)
    await ready()
    user.send("/new")
    await ready()
    await tap(user, "水电气维修", step)
    await user.wait_for(lambda m: not m.buttons and "情况" in m.text, timeout=step)
    await ready()
    user.send("厨房水龙头一直滴水，关不紧。")
    for label in ("好了", "不急", "确认提交"):
        await ready()
        await tap(user, label, step)
    placed = await user.wait_for(
        lambda m: "已提交" in m.text or "邻居已经报告" in m.text, timeout=step
    )
    if "邻居已经报告" in placed.text:  # a neighbour's order of the same kind is offered first
        await ready()
        user.press("不是，继续报事", placed)
        await user.wait_for("已提交", timeout=step)


async def sandan(backend: str, library: str, residents: int) -> tuple[Meter, int]:
    """Run the burst through the real bot; return the meter and the updates per resident."""
    meter = Meter()
    async with scratch_database(backend) as url:
        await prepare(url)
        async with FakeBotAPI(TOKEN, on_line=meter.on_line) as api:
            settings = demo_settings(api, url).model_copy(
                update={"telegram_library": library, "sweep_seconds": 3600, **UNPACED}
            )
            async with running(settings) as app:
                async with app.unit_of_work() as uow:
                    place = await survey(uow)
                await api.wait_idle()
                meter.waiting.clear()
                meter.latencies.clear()
                meter.updates, meter.first = 0, None
                users = [
                    api.user(10_000 + i, f"居民{i}", language_code="zh-hans")
                    for i in range(residents)
                ]
                async with asyncio.timeout(STEP_TIMEOUT * 20):
                    await asyncio.gather(
                        *(converse(u, place, ROOMS[i % len(ROOMS)]) for i, u in enumerate(users))
                    )
    return meter, meter.updates // max(1, residents)


async def chatter(api: FakeBotAPI, users: int, messages: int) -> None:
    """Have each user send messages one at a time, each after the echo of the last."""

    async def one(user: FakeUser) -> None:
        for n in range(messages):
            user.send(f"消息 {n}")
            await user.wait_for(f"消息 {n}", timeout=STEP_TIMEOUT)

    people = [api.user(10_000 + i, f"居民{i}") for i in range(users)]
    async with asyncio.timeout(STEP_TIMEOUT * 20):
        await asyncio.gather(*(one(u) for u in people))


@contextlib.asynccontextmanager
async def aiogram_echo(api: FakeBotAPI) -> AsyncIterator[None]:
    """Run aiogram's minimal echo bot (its defaults) against the fake server."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    task = asyncio.create_task(
        dispatcher.start_polling(bot, polling_timeout=5, handle_signals=False)
    )
    try:
        yield
    finally:
        await dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError, RuntimeError):
            await asyncio.wait_for(task, 10)
        await bot.session.close()


@contextlib.asynccontextmanager
async def ptb_echo(api: FakeBotAPI) -> AsyncIterator[None]:
    """Run python-telegram-bot's minimal echo bot (its defaults) against the fake server."""
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.message is not None:
            await update.message.reply_text(update.message.text or "")

    application = (
        Application.builder()
        .token(api.token)
        .base_url(f"{api.base_url}/bot")
        .base_file_url(f"{api.base_url}/file/bot")
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=5)
        try:
            yield
        finally:
            await application.updater.stop()
            await application.stop()


ECHOES: dict[str, Callable[[FakeBotAPI], contextlib.AbstractAsyncContextManager[None]]] = {
    "aiogram": aiogram_echo,
    "ptb": ptb_echo,
}


async def echo(library: str, users: int, messages: int) -> Meter:
    """Run the same number of one-at-a-time updates through the bare echo bot."""
    meter = Meter()
    async with FakeBotAPI(TOKEN, on_line=meter.on_line) as api, ECHOES[library](api):
        await chatter(api, users, messages)
    return meter


def row(label: str, backend: str, meter: Meter, base: float | None) -> list[object]:
    """Return one line of the table."""
    rate, p50, p99, count = meter.figures()
    ratio = f"{rate / base:.2f}×" if base else "1.00×"
    cpu = f"{meter.cpu_per_update():.1f}"
    busy = f"{meter.busy():.0%}"
    return [label, backend, count, f"{rate:.1f}", f"{p50:.1f}", f"{p99:.1f}", cpu, busy, ratio]


async def main() -> None:
    """Parse the flags, run every combination, print the table and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=30)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--library", choices=("aiogram", "ptb", "both"), default="both")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    wanted = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    libraries = ("aiogram", "ptb") if args.library == "both" else (args.library,)
    print(f"Inbound — {machine()}")
    print(
        f"{args.residents} residents at once, each registering and placing an order "
        "(one reply at a time); the echo bot gets as many updates"
    )
    usable = await backends(wanted)
    rows: list[list[object]] = []
    verdicts: list[str] = []
    for library in libraries:
        results = [(b, *await sandan(b, library, args.residents)) for b in usable]
        per_user = max((r[2] for r in results), default=12)
        bare = await echo(library, args.residents, per_user)
        base = bare.figures()[0]
        rows.append([f"{library} echo", "—", *row("", "", bare, None)[2:]])
        for backend, meter, _ in results:
            rows.append(row(f"{library} Sandan", backend, meter, base))
            ratio = meter.figures()[0] / base
            verdicts.append(
                f"{library} on {backend}: {ratio:.2f}× echo — {verdict(ratio >= ECHO_TARGET)} "
                f"(≥ {ECHO_TARGET}×)"
            )
        print(table(rows[-1 - len(results) :], HEADER), flush=True)
    print()
    print(table(rows, HEADER))
    print()
    print("\n".join(verdicts))


HEADER = (
    "bot",
    "database",
    "updates",
    "updates/s",
    "p50 ms",
    "p99 ms",
    "CPU ms/update",
    "CPU busy",
    "÷ echo",
)


if __name__ == "__main__":
    asyncio.run(main())
