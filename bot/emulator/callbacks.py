"""Callback queries: a fake user's press on an inline button, and the bot's answer to it."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from bot.emulator.directory import Chats
from bot.emulator.errors import QUERY_TOO_OLD, bad
from bot.emulator.parameters import Params
from bot.emulator.records import CallbackAnswer, Serial, Stored
from bot.emulator.transcript import Transcript
from bot.emulator.updates import UpdateQueue
from bot.emulator.users import FakeUser


@dataclass
class _Query:
    user: FakeUser
    answered: bool = False


class Callbacks:
    """The callback queries sent, and whether the bot answered each."""

    def __init__(
        self,
        chats: Chats,
        queue: UpdateQueue,
        transcript: Transcript,
        serial: Serial,
        bot_id: int,
    ) -> None:
        self.chats = chats
        self.queue = queue
        self.transcript = transcript
        self.serial = serial
        self.bot_id = bot_id
        self._queries: dict[str, _Query] = {}

    def press(self, user: FakeUser, stored: Stored, data: str, *, label: str) -> str:
        """Queue the callback query of ``user`` pressing ``data`` on a message; return its id."""
        chat = self.chats.chat(stored.message["chat"]["id"])
        if chat is user:
            user.started = True
        query_id = f"{self.bot_id}{self.serial.next():012d}"
        self._queries[query_id] = _Query(user=user)
        self.transcript.add(
            chat.id, user.name, "press", pressed=label, message_id=stored.message["message_id"]
        )
        instance = (chat.id * 2654435761 + self.bot_id) % 10**19
        self.queue.enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.user_object(),
                    "message": copy.deepcopy(stored.message),
                    "chat_instance": str(instance),
                    "data": data,
                }
            }
        )
        return query_id

    async def answer(self, p: Params) -> bool:
        """answerCallbackQuery: show the toast or alert, once per query."""
        query_id = p.text("callback_query_id") or ""
        state = self._queries.get(query_id)
        if state is None or state.answered:
            raise bad(QUERY_TOO_OLD.removeprefix("Bad Request: "))
        state.answered = True
        text = p.text("text")
        answer = CallbackAnswer(
            query_id=query_id,
            text=text,
            show_alert=p.flag("show_alert"),
            url=p.text("url"),
            cache_time=p.integer("cache_time") or 0,
        )
        state.user.callback_answers.append(answer)
        if text:
            user = state.user
            self.transcript.add(
                user.id, f"bot → {user.name}", "answer", text, alert=answer.show_alert
            )
        return True
