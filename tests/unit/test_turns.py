"""Chat first (bot/turns.py): a partner's order waits while a chat update is in hand."""

from __future__ import annotations

import asyncio

from bot.turns import ChatFirst


async def test_a_partner_waits_until_the_chat_update_in_hand_is_done() -> None:
    first = ChatFirst(patience=30)
    happened: list[str] = []

    async def partner() -> None:
        await first.turn()
        happened.append("partner files")

    with first.chatting():
        with first.chatting():  # two residents' updates at once
            filing = asyncio.create_task(partner())
            await asyncio.sleep(0.01)
            happened.append("one reply")
        await asyncio.sleep(0.01)
        happened.append("other reply")
    await filing
    assert happened == ["one reply", "other reply", "partner files"]


async def test_a_partner_goes_at_once_when_nobody_is_chatting() -> None:
    first = ChatFirst(patience=30)
    await asyncio.wait_for(first.turn(), timeout=1)


async def test_a_chat_that_never_pauses_holds_a_partner_off_only_for_its_patience() -> None:
    first = ChatFirst(patience=0.01)
    with first.chatting():
        await asyncio.wait_for(first.turn(), timeout=5)  # returns though the chat goes on
