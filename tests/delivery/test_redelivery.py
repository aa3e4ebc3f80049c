"""Telegram delivering the same updates again (a restart before confirming): nothing changes."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import App, running
from bot.clock import SystemClock
from bot.demo import demo_settings, survey
from bot.emulator import FakeBotAPI
from storage.models import OrderEventRow, OrderRow, OutboxRow
from tests.delivery.conftest import TELEGRAM_CHAT_BURST, delivered
from tests.e2e.conftest import World


async def counts(app: App) -> tuple[int, int, int]:
    """Return how many orders, timeline entries and outgoing messages the database holds."""
    async with app.sessions() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(OrderRow)) or 0),
            int(await session.scalar(select(func.count()).select_from(OrderEventRow)) or 0),
            int(await session.scalar(select(func.count()).select_from(OutboxRow)) or 0),
        )


async def test_updates_delivered_twice_change_nothing_and_send_nothing(sample_db: str) -> None:
    """Every update of a whole loop comes again after a restart: same state, no new messages."""
    async with FakeBotAPI() as api:
        settings = demo_settings(api, sample_db).model_copy(
            update={"chat_burst": TELEGRAM_CHAT_BURST, "quiet_hours": ""}
        )
        async with running(settings, SystemClock()) as app:
            async with app.unit_of_work() as uow:
                world = World(api, app, await survey(uow))
            worker = await world.join(world.place.unit_head)
            resident = await world.resident("孙阿姨", "101")
            order_id = await world.order(resident, "水电气维修", "阳台下水道堵了")
            worker.press("接单", await worker.wait_for("新任务"))
            await resident.wait_for("已由")
            await delivered(app)
            await api.wait_idle()
            before = await counts(app)
            order = await world.get(order_id)
        messages = len(api.transcript)
        sends = len(api.calls_to("sendMessage"))

        for update in api.updates:
            api.redeliver(update)
        async with running(settings, SystemClock()) as app:
            await api.wait_idle(timeout=15)  # every update fetched, processed and confirmed
            await delivered(app)
            assert await counts(app) == before
            world = World(api, app, world.place)
            assert await world.get(order_id) == order
        assert len(api.calls_to("sendMessage")) == sends
        assert [line.kind for line in api.transcript[messages:]] == []
