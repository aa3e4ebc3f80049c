"""Odd answers from Telegram: a send it took counts as sent, once, and the chat goes on at once."""

from __future__ import annotations

from typing import Any

import pytest

from bot.emulator import SentMessage
from handlers.render import EDIT
from tests.delivery.conftest import delivered, outbox_rows, received
from tests.delivery.test_faults import sent
from tests.e2e.conftest import World

Body = dict[str, Any]


def null_result(body: Body) -> Body:
    """Telegram's answer with a null result."""
    return {**body, "result": None}


def unknown_field(body: Body) -> Body:
    """Telegram's answer with a field no library knows yet."""
    return {**body, "result": {**body["result"], "sandan_new_field": {"nested": [1, "二"]}}}


def date_in_milliseconds(body: Body) -> Body:
    """Telegram's answer dated in milliseconds, not seconds."""
    return {**body, "result": {**body["result"], "date": body["result"]["date"] * 1000}}


def ill_typed_field(body: Body) -> Body:
    """Telegram's answer whose date is text."""
    return {**body, "result": {**body["result"], "date": "yesterday"}}


ODD_ANSWERS = (null_result, unknown_field, date_in_milliseconds, ill_typed_field)
COMMANDS = ("/help", "/my", "/help", "/my", "/help", "/my")


@pytest.mark.parametrize("live", ["aiogram", "ptb"], indirect=True)
async def test_a_send_whose_answer_cannot_be_read_counts_as_sent_and_the_chat_goes_on(
    live: World,
) -> None:
    """Four sends in a row get odd answers; every message arrives once, in order, none held."""
    resident = await live.resident("王阿姨", "101")
    await delivered(live.app)
    await live.api.wait_idle()
    before = len(sent(resident))
    first_row = max(r.id for r in await outbox_rows(live.app))
    live.api.answer_oddly("sendMessage", resident.id, *ODD_ANSWERS)

    for command in COMMANDS:
        resident.send(command)
    await live.api.wait_idle()  # every update handled and confirmed: its messages are queued
    await delivered(live.app)  # within the delivery tests' bound: no 120 s claim in the way
    await live.api.wait_idle()

    rows = [r for r in await outbox_rows(live.app, after=first_row) if r.chat_id == resident.id]
    odd = [c for c in live.api.calls_to("sendMessage") if c.fault == "odd answer"]
    assert len(odd) == len(ODD_ANSWERS)
    assert len(rows) > len(ODD_ANSWERS)  # messages came after the odd answers, too
    assert all(r.sent_at is not None and r.failed_at is None for r in rows)
    # Each once, in order: as many messages as rows; those whose answer was read are the
    # very messages at their places (a sent row keeps only Telegram's id for it).
    messages = [r for r in rows if r.key != EDIT]
    got = sent(resident)[before:]
    assert len(got) == len(messages), resident.render()
    for text, row in zip(got, messages, strict=True):
        if row.message_id is not None:
            assert received(live.api, row) == text, resident.render()
    # Which answers a library cannot read differs (aiogram reads a millisecond date), but each
    # library fails on some of them: those rows are sent without an id, and nothing waited.
    assert 1 <= sum(r.message_id is None for r in messages) <= len(ODD_ANSWERS)
    sends_to_her = [
        c for c in live.api.calls_to("sendMessage") if c.params["chat_id"] == resident.id
    ]
    assert len([c for c in sends_to_her if c.ok]) == len(sent(resident))  # nothing sent twice
    # The sends answered plainly keep the id Telegram gave them.
    last: SentMessage = resident.messages[-1]
    assert rows[-1].message_id == last.message_id
