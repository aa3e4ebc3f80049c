"""An update runs through Conversations on the fakes, and is committed once, at its end."""

from __future__ import annotations

from handlers.conversations import Conversations
from handlers.events import Incoming
from handlers.texts import Texts
from tests.fakes import World, sample_world


def resident_says(w: World, text: str, update_id: int) -> Incoming:
    """Return the sample resident's message as an incoming update."""
    telegram_id = w.org.resident.telegram_id
    assert telegram_id is not None
    return Incoming(update_id, telegram_id, telegram_id, "王", text=text)


async def test_an_update_stages_its_reply_and_state_and_commits_once() -> None:
    w = sample_world()
    conversations = Conversations(lambda: w.uow, w.clock, Texts.load())
    update = resident_says(w, "/new", 1)

    await conversations.handle(update)

    state = await w.uow.chats.get(update.user_id)
    assert state is not None and state.name == "new"
    assert w.uow.notices_for(w.org.resident.id)  # the categories to choose from are queued
    assert w.uow.committed == 1
    assert await conversations.handle(update) == []  # a redelivered update changes nothing
    assert w.uow.committed == 1


async def test_a_refused_step_keeps_the_update_record_and_nothing_else() -> None:
    w = sample_world()
    conversations = Conversations(lambda: w.uow, w.clock, Texts.load())

    await conversations.handle(resident_says(w, "/tasks", 7))  # a resident has no tasks

    assert w.uow.committed == 1
    assert 7 in w.uow.store.updates
    assert await w.uow.chats.get(w.org.resident.telegram_id or 0) is None
