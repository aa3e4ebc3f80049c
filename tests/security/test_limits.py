"""Limits with friendly replies: text length, photos, orders per hour and day, message floods."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from handlers.conversations import Conversations
from handlers.events import Answer, Send
from storage.models import OrderRow, OutboxRow
from storage.uow import SqlUnitOfWork
from tests.security.scene import Scene, category
from workflows.errors import InvalidInput
from workflows.orders import Limits, OrderDraft, place_order


async def orders(scene: Scene) -> int:
    """Return how many orders exist."""
    async with scene.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OrderRow)) or 0)


async def order(scene: Scene, text: str, limits: Limits) -> None:
    """Place a repair order for the resident within these limits."""
    water = await category(scene, "water_power_gas")
    async with scene.uow() as uow:
        await place_order(uow, scene.clock, scene.people["owner"], OrderDraft(water, text), limits)
        await uow.commit()


async def newest_message(scene: Scene) -> str:
    """Return the text of the newest message queued."""
    async with scene.sessions() as session:
        rows = await session.execute(select(OutboxRow).order_by(OutboxRow.id.desc()).limit(1))
        row = rows.scalars().one()
    return str(row.params["text"])


async def test_orders_per_hour_and_per_day(scene: Scene) -> None:
    """The third order within an hour is refused kindly; after an hour it goes through."""
    limits = Limits(orders_per_hour=2, orders_per_day=3)
    water = await category(scene, "water_power_gas")
    for _ in range(2):
        async with scene.uow() as uow:
            await place_order(
                uow, scene.clock, scene.people["owner"], OrderDraft(water, "漏水了"), limits
            )
            await uow.commit()
    async with scene.uow() as uow:
        with pytest.raises(InvalidInput) as refused:
            await place_order(
                uow, scene.clock, scene.people["owner"], OrderDraft(water, "又漏了"), limits
            )
    assert refused.value.params == {"reason": "too_many_orders_hour", "limit": 2}
    assert await orders(scene) == 2
    scene.clock.advance(hours=1, minutes=1)
    async with scene.uow() as uow:
        await place_order(
            uow, scene.clock, scene.people["owner"], OrderDraft(water, "又漏了"), limits
        )
        await uow.commit()
    scene.clock.advance(hours=2)
    async with scene.uow() as uow:
        with pytest.raises(InvalidInput) as refused:
            await place_order(
                uow, scene.clock, scene.people["owner"], OrderDraft(water, "还漏"), limits
            )
    assert refused.value.params["reason"] == "too_many_orders_day"
    assert await orders(scene) == 3


async def test_long_description_is_refused_in_the_conversation(scene: Scene) -> None:
    """A description over the configured length gets the limit back, and the draft waits."""
    conversations = Conversations(
        lambda: SqlUnitOfWork(scene.sessions, scene.clock.now),
        scene.clock,
        scene.conversations.texts,
        limits=Limits(description=50),
    )
    scene.conversations = conversations
    await scene.say("owner", "/new")
    water = await category(scene, "water_power_gas")
    await scene.press("owner", f"nc:{water}")
    await scene.say("owner", "很" * 51)
    async with scene.sessions() as session:
        last = (
            (await session.execute(select(OutboxRow).order_by(OutboxRow.id.desc())))
            .scalars()
            .first()
        )
    assert last is not None and "50" in last.params["text"] and "太长" in last.params["text"]
    await scene.say("owner", "水管漏水")
    async with scene.sessions() as session:
        last = (
            (await session.execute(select(OutboxRow).order_by(OutboxRow.id.desc())))
            .scalars()
            .first()
        )
    assert last is not None and "照片" in last.params["text"]


async def test_a_flood_of_messages_is_slowed_down(scene: Scene) -> None:
    """Past the per-minute limit the person is asked once to slow down, and nothing happens."""
    scene.conversations.limits = replace(scene.conversations.limits, messages_per_minute=5)
    replies = [await scene.say("stranger", "/help") for _ in range(8)]
    assert all(r for r in replies[:5])
    slow = [r for r in replies[5:] if r]
    assert len(slow) == 1 and isinstance(slow[0][0], Send) and "太快" in slow[0][0].text
    pressed = await scene.press("stranger", "noop")
    assert isinstance(pressed[0], Answer) and pressed[0].alert


def test_limits_come_from_settings() -> None:
    """Operators set the limits with environment variables."""
    from bot.settings import Settings

    settings = Settings(orders_per_hour=9, max_photos=2, _env_file=None)  # type: ignore[call-arg]
    assert settings.limits() == Limits(photos=2, orders_per_hour=9)
