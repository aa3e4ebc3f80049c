"""Wiring: settings → database, catalogs, conversations, delivery and the Telegram adapter."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.aiogram_adapter import AiogramBot
from bot.clock import SystemClock
from bot.delivery import Delivery, RateLimiter
from bot.polling import poll
from bot.sending import SendFailed
from bot.settings import Settings
from handlers.context import Links
from handlers.conversations import Conversations
from handlers.events import Incoming
from handlers.menus import default_menus
from handlers.texts import Texts
from storage.db import make_engine, make_sessions, upgrade
from storage.outbox import OutboxQueue
from storage.uow import SqlUnitOfWork
from workflows.ports import Clock

log = logging.getLogger(__name__)


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
    adapter: AiogramBot

    def unit_of_work(self) -> SqlUnitOfWork:
        """Return a fresh unit of work whose commits wake the delivery worker."""
        return SqlUnitOfWork(self.sessions, self.clock.now, self.delivery.wake)


@contextlib.asynccontextmanager
async def running(settings: Settings, clock: Clock | None = None) -> AsyncIterator[App]:
    """Migrate the database, start long polling and delivery; stop both on exit."""
    if settings.bot_token is None:
        raise ValueError("no bot token: set SANDAN_BOT_TOKEN")
    clock = clock or SystemClock()
    await upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_sessions(engine)
    texts = Texts.load(fallback=settings.default_language)
    app: App | None = None

    async def respond(event: Incoming) -> None:
        assert app is not None
        for reply in await app.conversations.handle(event):
            try:
                await app.adapter.perform(reply)
            except SendFailed as error:
                log.warning("reply to chat %s not sent: %s", event.chat_id, error)

    adapter = AiogramBot(settings.bot_token.get_secret_value(), settings.api_base, respond)
    delivery = Delivery(
        OutboxQueue(sessions, clock.now),
        adapter,
        texts,
        clock.now,
        RateLimiter(
            overall_per_second=settings.delivery_rate,
            per_chat_per_second=settings.chat_rate,
            per_chat_burst=settings.chat_burst,
        ),
    )
    username = settings.bot_username or await adapter.username()
    conversations = Conversations(
        lambda: SqlUnitOfWork(sessions, clock.now, delivery.wake, deferred=True),
        clock,
        texts,
        default_language=settings.default_language,
        links=Links(username),
    )
    app = App(settings, clock, engine, sessions, texts, conversations, delivery, adapter)
    for menu in default_menus(texts):
        try:
            await adapter.perform(menu)
        except SendFailed as error:
            log.warning("could not set the command menu: %s", error)
    try:
        await adapter.drop_webhook()
    except SendFailed as error:
        log.warning("deleteWebhook failed (%s); polling anyway", error)
    tasks = [
        asyncio.create_task(delivery.run(), name="delivery"),
        asyncio.create_task(poll(adapter, timeout=settings.polling_timeout), name="polling"),
    ]
    try:
        yield app
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await adapter.close()
        await engine.dispose()


async def run_forever(settings: Settings) -> None:
    """Run the bot until interrupted."""
    async with running(settings):
        log.info("Sandan is running; press Ctrl+C to stop")
        await asyncio.Event().wait()
