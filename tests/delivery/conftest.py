"""Delivery fixtures: the real bot on the wall clock, with Telegram's own per-chat burst."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import select

from bot.app import App, running
from bot.clock import SystemClock
from bot.demo import demo_settings, survey
from bot.emulator import FakeBotAPI
from storage.models import OutboxRow
from tests.e2e.conftest import World

TELEGRAM_CHAT_BURST = 3  # what the emulator's rate meter allows one chat at once


@pytest.fixture
async def live(request: pytest.FixtureRequest, sample_db: str) -> AsyncIterator[World]:
    """Start the fake Bot API and the bot on the wall clock, so retries fall due by themselves.

    The bot runs on aiogram, or on the library a test names (parametrize "live" indirectly).
    """
    library = getattr(request, "param", "aiogram")
    async with FakeBotAPI() as api:
        settings = demo_settings(api, sample_db).model_copy(
            # Telegram's burst; no quiet hours, whatever time the wall clock says it is
            update={
                "chat_burst": TELEGRAM_CHAT_BURST,
                "quiet_hours": "",
                "telegram_library": library,
            }
        )
        async with running(settings, SystemClock()) as app:
            async with app.unit_of_work() as uow:
                place = await survey(uow)
            yield World(api, app, place)


async def delivered(app: App, within: float = 20.0) -> None:
    """Wait until the outbox holds nothing unsent and no send is in flight."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while await app.delivery.queue.pending() or app.delivery.busy:
        if loop.time() > end:
            raise AssertionError(f"outbox not delivered within {within}s")
        await asyncio.sleep(0.05)


async def outbox_rows(app: App, after: int = 0) -> list[OutboxRow]:
    """Return the outbox rows with ids above `after`, oldest first."""
    async with app.sessions() as session:
        rows = await session.scalars(
            select(OutboxRow).where(OutboxRow.id > after).order_by(OutboxRow.id)
        )
        return list(rows)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    """Wait until an async check returns True."""
    for _ in range(int(within / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not true within {within}s: {check}")


SENDS = frozenset({"text", "photo"})  # what the bot sends: messages and photos


def received(api: FakeBotAPI, row: OutboxRow) -> str:
    """Return what the chat got for a sent outbox row, as the transcript wrote it when sent.

    A sent row keeps only Telegram's id for the message (what it said is emptied once sent),
    so the text is the fake Bot API's; a photo's starts "[photo] ".
    """
    assert row.sent_at is not None and row.message_id is not None, f"row {row.id} not sent"
    lines = [
        line
        for line in api.transcript
        if line.chat_id == row.chat_id
        and line.message_id == row.message_id
        and line.who.startswith("bot")
        and line.kind in SENDS
    ]
    assert len(lines) == 1, f"row {row.id}: {len(lines)} messages with id {row.message_id}"
    return lines[0].text
