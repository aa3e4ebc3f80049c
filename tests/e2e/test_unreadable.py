"""Updates the Telegram library cannot read: recorded, confirmed once, and politely answered."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from bot.emulator import FakeUser
from tests.e2e.conftest import World

pytestmark = pytest.mark.both_modes
TRY_AGAIN = "请您再发一次"
Update = dict[str, Any]


def with_message(field: str, value: object) -> Any:
    """Return a rewrite of an update that sets one field of its message (a press's too)."""

    def rewrite(update: Update) -> Update:
        kind = "message" if "message" in update and "callback_query" not in update else None
        if kind:
            return {**update, "message": {**update["message"], field: value}}
        query = update["callback_query"]
        return {
            **update,
            "callback_query": {**query, "message": {**query["message"], field: value}},
        }

    return rewrite


async def logged(world: World, update_id: int) -> int:
    """Return how often the update log holds the update."""
    async with world.app.engine.connect() as connection:
        found = await connection.execute(
            text("SELECT count(*) FROM processed_updates WHERE update_id = :id"), {"id": update_id}
        )
        return int(found.scalar_one())


def tries_again(user: FakeUser) -> int:
    """Return how many times the person was asked to send again."""
    return sum(TRY_AGAIN in m.text for m in user.messages)


async def settled(world: World) -> None:
    """Wait until every update is confirmed and every message sent."""
    await world.api.wait_idle()
    assert world.api.pending_updates == []


async def test_a_message_the_library_cannot_read_is_answered_once_and_confirmed(
    world: World,
) -> None:
    """A resident's /help whose date is text: "please send again", once; then /help works."""
    resident = await world.resident("王阿姨", "101")
    await settled(world)
    world.api.garble_next_update(with_message("date", "yesterday"))
    resident.send("/help")
    update_id = world.api.updates[-1]["update_id"]
    await resident.wait_for(TRY_AGAIN)
    await settled(world)
    assert tries_again(resident) == 1
    assert await logged(world, update_id) == 1
    assert world.api.updates[-1]["update_id"] == update_id  # handled without a redelivery

    resident.send("/help")
    await resident.wait_for("/new")
    await settled(world)
    assert tries_again(resident) == 1


async def test_a_stranger_whose_chat_cannot_be_read_is_answered_in_private(world: World) -> None:
    """A newcomer's first message names its chat as text: the sender is answered privately."""
    stranger = world.api.user(7777, "新来的", language_code="en")
    world.api.garble_next_update(with_message("chat", "private"))
    stranger.send("/start")
    update_id = world.api.updates[-1]["update_id"]
    await stranger.wait_for("try again")
    await settled(world)
    assert [m.text for m in stranger.messages] == [
        "Sorry, we could not read what you just sent. Please try again."
    ]
    assert await logged(world, update_id) == 1


async def test_a_press_that_cannot_be_read_is_answered_and_the_person_told(world: World) -> None:
    """A press whose message cannot be read: the button stops spinning, the person is told."""
    resident = await world.resident("李叔叔", "102")
    resident.send("/lang")
    offer = await resident.wait_for(lambda m: "English" in m.button_texts())
    await settled(world)
    world.api.garble_next_update(with_message("date", "not a date"))
    query_id = resident.press("English", offer)
    await resident.wait_for(TRY_AGAIN)
    await settled(world)
    assert [a.query_id for a in resident.callback_answers].count(query_id) == 1
    assert tries_again(resident) == 1
    assert await logged(world, world.api.updates[-1]["update_id"]) == 1
    assert resident.message(offer.message_id).button_texts() == ["中文", "English"]
