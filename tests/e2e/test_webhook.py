"""Webhook mode end to end: the fake Bot API POSTs updates to the bot's own aiohttp server."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from bot.demo import tap
from bot.emulator import FakeBotAPI, WebhookDelivery
from bot.monitoring import HEALTH_PATH
from bot.webhook import SECRET_HEADER
from tests.e2e.conftest import WEBHOOK_SECRET, World, webhook_url

pytestmark = pytest.mark.webhook_mode
STRANGER = 4242


def start_update(update_id: int, user_id: int, name: str) -> dict[str, Any]:
    """Return a /start message update as Telegram would POST it."""
    person = {"id": user_id, "is_bot": False, "first_name": name, "language_code": "zh-hans"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": name},
            "from": person,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def handled(world: World, update_id: int) -> bool:
    """Return whether the database records the update as handled."""
    async with world.app.engine.connect() as connection:
        found = await connection.execute(
            text("SELECT count(*) FROM processed_updates WHERE update_id = :id"), {"id": update_id}
        )
        return bool(found.scalar_one())


def answers_to(api: FakeBotAPI, chat_id: int) -> list[str]:
    """Return the texts the bot tried to send to a chat."""
    calls = api.calls_to("sendMessage")
    return [str(c.params.get("text")) for c in calls if c.params.get("chat_id") == chat_id]


async def delivery_of(api: FakeBotAPI, update_id: int, status: int) -> WebhookDelivery:
    """Wait for the emulator to record a webhook answer with this status for the update."""
    async with asyncio.timeout(5):
        while True:
            for delivery in api.webhook_deliveries:
                if delivery.update_id == update_id and delivery.status == status:
                    return delivery
            await asyncio.sleep(0)


async def test_telegram_delivers_to_our_server(world: World) -> None:
    """setWebhook points Telegram at the bot; getWebhookInfo says so; updates arrive by POST."""
    state = await world.app.adapter.webhook()
    assert state.url == webhook_url(world.app)
    assert set(state.allowed_updates) == {"message", "callback_query"}
    assert world.api.webhook_secret == WEBHOOK_SECRET
    resident = await world.resident("王阿姨", "101")
    resident.send("/help")
    await resident.wait_for("/new")
    assert world.api.webhook_deliveries
    assert all(d.status == 200 for d in world.api.webhook_deliveries)


async def test_wrong_or_missing_secret_is_refused_and_changes_nothing(world: World) -> None:
    """A POST without the right secret gets 401 and is never processed; the right one is."""
    update = start_update(900_001, STRANGER, "陌生人")
    url = webhook_url(world.app)
    right = {SECRET_HEADER: WEBHOOK_SECRET}
    async with aiohttp.ClientSession() as session:
        for headers in ({SECRET_HEADER: "not-the-secret"}, {SECRET_HEADER: ""}, {}):
            async with session.post(url, json=update, headers=headers) as response:
                assert response.status == 401
        async with session.post(url, data=b"{not json", headers=right) as response:
            assert response.status == 400
        await world.api.wait_idle()
        assert not await handled(world, 900_001)
        assert not answers_to(world.api, STRANGER)

        async with session.post(url, json=update, headers=right) as response:
            assert response.status == 200
        assert await handled(world, 900_001)
        assert answers_to(world.api, STRANGER)  # the welcome (this emulator has no such chat)


async def test_health_endpoint_answers(world: World) -> None:
    """GET /healthz says the bot is up and its database answers."""
    url = f"http://127.0.0.1:{world.app.webhook_port}{HEALTH_PATH}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "database": True}


async def test_200_only_after_the_order_is_committed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When Telegram gets its 200 for the confirm tap, the order is already in the database."""
    resident = await world.resident("李大爷", "102")
    resident.send("/new")
    await tap(resident, "水电气维修")
    await resident.wait_for(lambda m: not m.buttons and "情况" in m.text)
    resident.send("暖气不热")
    await tap(resident, "好了")
    await tap(resident, "不急")
    handle = world.app.conversations.handle

    async def slow_handle(event: Any) -> Any:
        await asyncio.sleep(0.3)  # a slow transaction: the 200 must still wait for its commit
        return await handle(event)

    monkeypatch.setattr(world.app.conversations, "handle", slow_handle)
    await tap(resident, "确认提交")
    confirm = world.api.updates[-1]["update_id"]
    await delivery_of(world.api, confirm, 200)
    async with world.app.engine.connect() as connection:
        orders = (await connection.execute(text("SELECT count(*) FROM orders"))).scalar_one()
    assert orders == 1
    await resident.wait_for("已提交")


async def test_a_failed_update_gets_500_and_takes_effect_once_redelivered(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If handling fails, Telegram gets a 500, delivers again, and the person is answered once."""
    resident = await world.resident("张阿姨", "201")
    handle = world.app.conversations.handle
    failures = [OSError("the database went away")]

    async def flaky_handle(event: Any) -> Any:
        if failures:
            raise failures.pop()
        return await handle(event)

    monkeypatch.setattr(world.app.conversations, "handle", flaky_handle)
    resident.send("/help")
    asked = world.api.updates[-1]["update_id"]
    failed = await delivery_of(world.api, asked, 500)
    taken = await delivery_of(world.api, asked, 200)
    assert failed.time <= taken.time
    await resident.wait_for("/new")
    await world.api.wait_idle()
    assert await handled(world, asked)
    helps = [m for m in resident.messages if "/forget" in m.text]
    assert len(helps) == 1


async def trickle(port: int, path: str, closed: list[bytes]) -> None:
    """Open a webhook call whose body comes a byte at a time; note what came back at the close."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{SECRET_HEADER}: {WEBHOOK_SECRET}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
    writer.write(head.encode() + b'{"update_id": 1, "pad": "')
    got = bytearray()  # kept across waits: a wait that ends mid-answer loses nothing
    try:
        while True:
            writer.write(b"x")
            await writer.drain()
            try:
                async with asyncio.timeout(0.5):
                    chunk = await reader.read(65536)
            except TimeoutError:
                continue
            if not chunk:  # the server closed the connection
                break
            got += chunk
    except ConnectionError:
        if not got:
            got += b"reset"
    finally:
        writer.close()
    closed.append(bytes(got))


async def test_bodies_that_trickle_in_are_cut_off(world: World) -> None:
    """Fifty calls whose bodies never finish are all cut off, and the server still answers."""
    assert world.app.webhook_port is not None
    closed: list[bytes] = []
    callers = [
        trickle(world.app.webhook_port, world.app.settings.webhook_path, closed) for _ in range(50)
    ]
    async with asyncio.timeout(60):  # a bound for a broken server, not a timing assertion
        await asyncio.gather(*callers)
    assert len([c for c in closed if c]) == 50
    assert all(c == b"reset" or c.startswith(b"HTTP/1.1 408") for c in closed if c)
    resident = await world.resident("赵阿姨", "101")  # meanwhile and after, updates go through
    resident.send("/help")
    await resident.wait_for("/new")


def nested(depth: int) -> bytes:
    """Return an update whose extra field nests lists `depth` deep."""
    return b'{"update_id": 77, "x": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [100, 100_000])
async def test_deeply_nested_json_is_refused_with_400(world: World, depth: int) -> None:
    """Nesting no update has is refused before any parsing goes deep: 400, nothing handled."""
    right = {SECRET_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(webhook_url(world.app), data=nested(depth), headers=right) as response,
    ):
        assert response.status == 400
        assert "nested" in await response.text()
    assert not await handled(world, 77)
