"""Privacy: /forget erases a resident's data but keeps the figures; logs hold no phones or texts."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from storage.models import OrderEventRow, OrderRow, OutboxRow, PersonRow
from tests.security.scene import Scene, accepted, closed
from workflows.model import OrderStatus
from workflows.orders import rate_order


async def test_forget_erases_the_resident_and_keeps_the_statistics(scene: Scene) -> None:
    """Open orders are cancelled (the worker told), texts blanked, ratings kept, account gone."""
    done = await closed(scene)
    async with scene.uow() as uow:
        await rate_order(uow, scene.clock, scene.people["owner"], done.id, 4)
        await uow.commit()
    working = await accepted(scene)
    await scene.say("owner", "/forget")
    replies = await scene.press("owner", "fg")
    assert any("已删除" in (getattr(r, "text", None) or "") for r in replies), "told directly"

    async with scene.sessions() as session:
        person = await session.get(PersonRow, scene.people["owner"].id)
        orders = {o.id: o for o in (await session.execute(select(OrderRow))).scalars()}
        notes = [
            (e.action, e.note)
            for e in (await session.execute(select(OrderEventRow))).scalars()
            if e.actor_id == scene.people["owner"].id
        ]
    assert person is not None
    assert (person.name, person.phone, person.telegram_id, person.household_id) == (
        "—", None, None, None,
    )  # fmt: skip
    assert orders[done.id].description == "—" and orders[done.id].rating == 4
    assert orders[working.id].status == OrderStatus.CANCELLED.value
    assert notes and all(note is None for action, note in notes if action != "rate"), (
        "what the resident wrote is gone"
    )
    assert ("rate", "4") in notes, "the stars stay: the digests count them"
    # The worker holding the cancelled order hears about it.
    async with scene.uow() as uow:
        pending = await uow.orders.get(working.id)
    assert pending is not None and pending.assignee_id is None

    # Nothing was delivered here: the unsent cards about their orders are gone, the worker's
    # news of the cancellation (by number only) is what is left, and nothing is addressed to them.
    async with scene.sessions() as session:
        queued = list((await session.execute(select(OutboxRow))).scalars())
    assert not [r for r in queued if r.person_id == scene.people["owner"].id or r.chat_id == 501]
    text = " ".join(f"{r.key} {r.params} {r.actions} {r.photo}" for r in queued)
    assert "水管漏水" not in text and "业主" not in text
    to_worker = [(r.key, r.params) for r in queued if r.person_id == scene.people["unit_head"].id]
    assert to_worker == [("task.cancelled", {"number": working.number})]

    again = await scene.say("owner", "/my")
    assert again, "the forgotten person is a stranger now and is greeted as one"


async def test_staff_cannot_forget_themselves_here(scene: Scene) -> None:
    """Staff details come from the organisation file; /forget refuses politely."""
    await scene.say("unit_head", "/forget")
    async with scene.sessions() as session:
        person = await session.get(PersonRow, scene.people["unit_head"].id)
    assert person is not None and person.telegram_id is not None


async def test_logs_carry_no_phone_numbers_or_message_texts(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    """Even at DEBUG, the bot's logs hold neither what people typed nor their phones."""
    caplog.set_level(logging.DEBUG)
    await scene.say("owner", "/new")
    await scene.say("owner", "我家电话13812345678，燃气有味道")
    await scene.say("owner", "/forget")
    await scene.press("owner", "garbage:data:1")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "13812345678" not in logged
    assert "燃气有味道" not in logged
