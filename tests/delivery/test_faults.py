"""Telegram failing a fifth of the sends: every message still arrives once, in order, unhurried."""

from __future__ import annotations

import asyncio
from collections import Counter

from bot.emulator import FakeUser, FaultPlan, RateLimits, SentMessage
from handlers.render import EDIT
from tests.delivery.conftest import delivered, outbox_rows, received
from tests.e2e.conftest import World
from workflows.model import OrderStatus


async def working_card(worker: FakeUser, number: str, within: float = 15.0) -> SentMessage:
    """Wait for the worker's card of an accepted task, with its Resolve button."""
    for _ in range(int(within / 0.05)):
        for message in reversed(worker.messages):
            if number in message.text and "办结" in str(message.buttons):
                return message
        await asyncio.sleep(0.05)
    raise AssertionError(f"no working card for {number}:\n{worker.render()}")


def sent(chat: FakeUser) -> list[str]:
    """Return the texts of the messages the bot sent to the chat, as they were when sent."""
    return [
        line.text for line in chat.transcript if line.who.startswith("bot") and line.kind in SENDS
    ]


SENDS = frozenset({"text", "photo"})
FAULTY = frozenset({"sendMessage", "sendPhoto", "editMessageText", "editMessageReplyMarkup"})
ROOMS = ("101", "102", "201")


async def test_every_message_arrives_once_in_order_within_limits(live: World) -> None:
    """Residents order, the worker accepts and resolves, while 20% of sends fail in every way."""
    worker = await live.join(live.place.unit_head)
    residents = [await live.resident(f"居民{n}", room) for n, room in enumerate(ROOMS)]
    await delivered(live.app)
    await live.api.wait_idle()
    before = {chat.id: len(sent(chat)) for chat in (worker, *residents)}
    first_row = max((r.id for r in await outbox_rows(live.app)), default=0)
    live.api.limits = RateLimits()  # Telegram's: 30/s overall, 1/s per chat after 3, 20/min group
    live.api.faults = FaultPlan(
        rate=0.2,
        seed=20,
        sequence=("429", "500", "timeout", "drop"),  # each kind at least once, first
        retry_after=1,
        hold=0.3,  # a "timeout" holds the request this long, then drops the connection
        methods=FAULTY,
    )

    orders = await asyncio.gather(
        *(live.order(r, "水电气维修", f"{r.name}家的水管漏水") for r in residents)
    )
    for _ in orders:
        # A new card, not an earlier one edited after its accept (updates of different people
        # are handled at once, so an accept may come before the last resident's order).
        card = await worker.wait_for(
            lambda m: "新任务" in m.text and "接单" in str(m.buttons), timeout=15
        )
        worker.press("接单", card)
    for resident in residents:
        await resident.wait_for("接单", timeout=15)
    for resident, order_id in list(zip(residents, orders, strict=True))[:1]:
        number = f"{order_id:05d}"
        worker.press("办结", await working_card(worker, number))
        await worker.wait_for("怎么解决", timeout=15)
        worker.send(f"修好了{resident.name}家的水管")
        await resident.wait_for("问题解决了吗", timeout=15)
    await delivered(live.app)
    await live.api.wait_idle()

    kinds = Counter(f.kind for f in live.api.injected_faults)
    assert set(kinds) == {"429", "500", "timeout", "drop"}, kinds
    assert live.api.rate_violations == []
    rows = await outbox_rows(live.app, after=first_row)
    assert [r.id for r in rows if r.failed_at is not None] == []
    for chat in (worker, *residents):
        mine = [r for r in rows if r.chat_id == chat.id]
        # Each message row is one message the chat got, in the rows' order: none twice.
        expected = [received(live.api, r) for r in mine if r.key != EDIT]
        got = sent(chat)[before[chat.id] :]
        assert got == expected, f"chat with {chat.name}:\n{chat.render()}"
        assert all(r.sent_at is not None for r in mine if r.key == EDIT)
    # The edits arrived: every offer was accepted, and no card still offers it.
    assert not [m for m in worker.messages if "✅ 接单" in m.button_texts()], worker.render()
    statuses = [(await live.get(order_id)).status for order_id in orders]
    assert sorted(statuses) == sorted([OrderStatus.RESOLVED] + [OrderStatus.ACCEPTED] * 2)
