"""Wiring: settings → database, catalogs, conversations, delivery and the Telegram adapter."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.adapters import telegram_adapter
from bot.bot_api import BotApiAdapter
from bot.clock import SystemClock
from bot.console import Console, ConsoleConfig, mount_console
from bot.console.sessions import session_key
from bot.delivery import Delivery
from bot.monitoring import Metrics, monitor_app
from bot.open311 import mount as mount_open311
from bot.polling import poll
from bot.sending import SendFailed, Transient
from bot.settings import Settings
from bot.sweeps import run_due
from bot.turns import ChatFirst
from bot.webhook import serving, webhook_app
from handlers.context import Links
from handlers.conversations import Conversations
from handlers.events import Incoming, Unreadable
from handlers.menus import default_menus
from handlers.texts import Texts
from storage.db import opened
from storage.health import Readings, read
from storage.outbox import OutboxQueue
from storage.uow import SqlUnitOfWork
from workflows.ports import Clock
from workflows.timers import TimerPolicy

log = logging.getLogger(__name__)
Mode = Literal["polling", "webhook"]


@dataclass
class App:
    """A running Sandan: what tests and the demo may look at."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    texts: Texts
    conversations: Conversations
    delivery: Delivery
    adapter: BotApiAdapter
    webhook_port: int | None = None  # where the webhook server listens, in webhook mode
    monitor_port: int | None = None  # where /healthz and /metrics answer, when asked for
    metrics: Metrics = field(default_factory=Metrics)
    policy: TimerPolicy = field(default_factory=TimerPolicy)
    _sweeping: asyncio.Lock = field(default_factory=asyncio.Lock)
    chat_first: ChatFirst = field(default_factory=ChatFirst)  # partners wait for the chat

    def unit_of_work(self) -> SqlUnitOfWork:
        """Return a fresh unit of work whose commits wake the delivery worker."""
        return SqlUnitOfWork(self.sessions, self.clock.now, self.delivery.wake, quiet=self.quiet)

    def quiet(self, now: datetime) -> datetime | None:
        """Return until when a deferrable resident notice written now waits (quiet hours)."""
        return self.policy.quiet.until(now) if self.policy.quiet else None

    async def tick(self) -> int:
        """Fire every timer due at the clock's time, once, and wake delivery; return how many.

        The scheduler calls this every `sweep_seconds`; tests call it after moving the clock.
        """
        async with self._sweeping:  # one sweep at a time in this process
            fired = await run_due(self.unit_of_work, self.clock, self.policy)
        self.metrics.timers.inc(fired)
        self.delivery.wake()
        return fired

    async def readings(self) -> Readings:
        """Read what monitoring reports from the database."""
        async with self.sessions() as session:
            return await read(session, self.clock.now())


@contextlib.asynccontextmanager
async def running(
    settings: Settings, clock: Clock | None = None, *, mode: Mode = "polling"
) -> AsyncIterator[App]:
    """Migrate the database, start receiving updates (polling or webhook) and delivery."""
    if settings.bot_token is None:
        raise ValueError("no bot token: set SANDAN_BOT_TOKEN")
    if mode == "webhook" and settings.webhook_secret is None:
        raise ValueError("webhook mode needs a secret: set SANDAN_WEBHOOK_SECRET")
    clock = clock or SystemClock()
    policy = settings.timer_policy()
    quiet = policy.quiet.until if policy.quiet else None
    texts = Texts.load(fallback=settings.default_language)
    app: App | None = None
    metrics = Metrics()

    async def respond(event: Incoming | Unreadable) -> None:
        assert app is not None
        with metrics.update_seconds.time(), app.chat_first.chatting():
            try:
                replies = await app.conversations.handle(event)
            except Exception:
                metrics.updates.labels("failed").inc()
                raise
        metrics.updates.labels("ok").inc()
        for reply in replies:
            try:
                await app.adapter.perform(reply)
            except SendFailed as error:
                log.warning("reply to chat %s not sent: %s", event.chat_id, error)

    async with contextlib.AsyncExitStack() as closing:  # closed in reverse: adapter, database
        engine, sessions = await closing.enter_async_context(opened(settings.database_url))
        adapter = telegram_adapter(settings, respond)
        closing.push_async_callback(adapter.close)
        delivery = Delivery(
            OutboxQueue(sessions, clock.now, owner=settings.instance, pace=settings.pace()),
            adapter,
            texts,
            clock,
            units_of_work=lambda: SqlUnitOfWork(sessions, clock.now, delivery.wake, quiet=quiet),
            keep_sent=timedelta(days=settings.outbox_keep_days),
            on_outcome=metrics.sent,
            console_url=settings.console_base_url,
        )
        username = settings.bot_username or await ask_username(adapter, settings.api_base)
        conversations = Conversations(
            lambda: SqlUnitOfWork(sessions, clock.now, delivery.wake, quiet=quiet),
            clock,
            texts,
            default_language=settings.default_language,
            links=Links(username, console_url=settings.console_base_url),
            limits=settings.limits(),
            policy=policy,
        )
        app = App(
            settings,
            clock,
            engine,
            sessions,
            texts,
            conversations,
            delivery,
            adapter,
            policy=policy,
            metrics=metrics,
        )
        for menu in default_menus(texts):
            try:
                await adapter.perform(menu)
            except SendFailed as error:
                log.warning("could not set the command menu: %s", error)
        tasks = [asyncio.create_task(delivery.run(), name="delivery")]
        scheduler = clockwork(app)
        try:
            async with monitoring(app) as monitor_port, receiving(app, mode) as port:
                app.monitor_port = monitor_port
                app.webhook_port = port
                # What the process loaded to start (modules, catalogs, the app) lives as long as
                # it does: frozen, the collector's full passes no longer walk it. They paused
                # the event loop, and every chat and API answer with it, for ~250 ms each
                # (bench.open311). Unfrozen on the way out, for a process that runs another.
                gc.freeze()
                yield app
        finally:
            gc.unfreeze()
            scheduler.shutdown(wait=False)
            delivery.stop()
            await stop_tasks(tasks)


async def ask_username(adapter: BotApiAdapter, base: str, *, patience: float = 30.0) -> str:
    """Ask Telegram for the bot's @username, waiting out a network that does not answer.

    A bot started while Telegram is out of reach (an outage, a proxy not up yet) waits and tries
    again, up to `patience` seconds between tries, instead of exiting; a refusal (a wrong token)
    is raised at once.
    """
    delay = 1.0
    while True:
        try:
            return await adapter.username()
        except Transient as error:
            log.warning("could not reach %s: %s; trying again in %.0fs", base, error, delay)
            await asyncio.sleep(delay)
            delay = min(patience, delay * 2)


async def stop_tasks(tasks: list[asyncio.Task[None]], within: float = 10.0) -> None:
    """Cancel background tasks and wait for them, but never forever.

    A library may swallow a cancellation (seen with Python 3.11's wait_for); the tasks are
    cancelled again each second until they end or `within` seconds have passed.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    pending = {t for t in tasks if not t.done()}
    while pending and loop.time() < end:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=1.0)
    for task in pending:
        log.warning("task %s did not stop in %.0fs", task.get_name(), within)


def clockwork(app: App) -> AsyncIOScheduler:
    """Start APScheduler: it runs the timer sweep every `sweep_seconds`.

    The timers themselves live in the database (see workflows.timers); the scheduler is only
    the clock that looks for what is due, so a restart loses nothing and fires nothing twice.
    """
    scheduler = AsyncIOScheduler(timezone=app.policy.zone)

    async def sweep() -> None:
        try:
            await app.tick()
        except Exception:
            log.exception("timer sweep failed")

    scheduler.add_job(
        sweep,
        "interval",
        seconds=app.settings.sweep_seconds,
        id="timers",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    return scheduler


@contextlib.asynccontextmanager
async def monitoring(app: App) -> AsyncIterator[int | None]:
    """Serve /healthz, /metrics and the console on SANDAN_MONITOR_PORT (and Open311 when
    SANDAN_API_ENABLED, on 8090 unless the port is set); yield the port bound.

    This listener runs in polling and in webhook mode alike, so the console and the API live here.
    """
    settings = app.settings
    if settings.listener_port is None:
        yield None
        return
    server = monitor_app(
        app.metrics, database_answers=lambda: database_answers(app.engine), read=app.readings
    )
    mount_open311(server, app)  # the Open311 API, when SANDAN_API_ENABLED
    mount_console(server, console_of(app))  # console (issue 18): /console on this listener
    async with serving(server, settings.monitor_host, settings.listener_port) as port:
        log.info("monitoring on %s:%s (/healthz, /metrics)", settings.monitor_host, port)
        yield port


def console_of(app: App) -> Console:
    """Return the web console's dependencies, from the settings and the running app."""
    settings = app.settings
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    secret = settings.console_secret.get_secret_value() if settings.console_secret else None
    return Console(
        ConsoleConfig(
            key=session_key(secret, token),
            bot_token=token,
            base_url=settings.console_base_url,
            session_hours=settings.console_session_hours,
            initdata_max_age=settings.console_initdata_max_age,
            api_base=settings.api_base,
            zone=app.policy.zone,
            bot_username=app.conversations.links.bot_username,
        ),
        app.unit_of_work,
        app.clock,
        app.texts,
    )


@contextlib.asynccontextmanager
async def receiving(app: App, mode: Mode) -> AsyncIterator[int | None]:
    """Receive updates by long polling, or by a webhook server whose port is yielded."""
    settings, adapter = app.settings, app.adapter
    if mode == "webhook":
        assert settings.webhook_secret is not None
        await warn_of_other_webhook(adapter, settings.webhook_url)
        server = webhook_app(
            adapter,
            secret=settings.webhook_secret.get_secret_value(),
            path=settings.webhook_path,
            database_answers=lambda: database_answers(app.engine),
        )
        async with serving(server, settings.webhook_host, settings.webhook_port) as port:
            yield port
        return
    try:
        await adapter.drop_webhook()
    except SendFailed as error:
        log.warning("deleteWebhook failed (%s); polling anyway", error)
    polling = asyncio.create_task(poll(adapter, timeout=settings.polling_timeout), name="polling")
    try:
        yield None
    finally:
        await stop_tasks([polling])


async def warn_of_other_webhook(adapter: BotApiAdapter, url: str | None) -> None:
    """Warn when Telegram delivers updates somewhere else than this server expects."""
    try:
        state = await adapter.webhook()
    except SendFailed as error:
        log.warning("getWebhookInfo failed (%s); serving the webhook anyway", error)
        return
    if url and state.url != url:
        log.warning(
            "Telegram delivers updates to %r, not %r: run `sandan webhook set`",
            state.url or "(nowhere: no webhook)",
            url,
        )


async def database_answers(engine: AsyncEngine) -> bool:
    """Tell whether the database answers a trivial query within two seconds."""
    try:
        async with asyncio.timeout(2), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError) as error:
        log.warning("the database does not answer: %s", error)
        return False
    return True


async def run_forever(settings: Settings, mode: Mode = "polling") -> None:
    """Run the bot until interrupted (Ctrl+C) or asked to stop (SIGTERM: systemd, docker)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    starting = True

    def on_signal() -> None:
        # Running: the wait below ends, what is in flight finishes, claims are let go.
        # Still starting (e.g. waiting for Telegram to answer): give up the start at once.
        stop.set()
        if starting and main is not None:
            main.cancel()

    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, on_signal)
    try:
        async with running(settings, mode=mode):
            starting = False
            log.info("Sandan is running; press Ctrl+C to stop")
            await stop.wait()
    except asyncio.CancelledError:
        if not stop.is_set():
            raise
    log.info("Sandan stopped")
