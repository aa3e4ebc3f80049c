"""Chats as a test sees them: the bot's messages in order, a read cursor, waiting for the bot."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from bot.emulator.records import JSON, Match, SentMessage, Stored, TranscriptLine, Waits
from bot.emulator.updates import update_type

if TYPE_CHECKING:
    from bot.emulator.server import FakeBotAPI


class FakeChat:
    """A chat as the test sees it: the bot's messages in order, and a read cursor."""

    type: str = "private"

    def __init__(self, api: FakeBotAPI, chat_id: int) -> None:
        self.api = api
        self.id = chat_id
        self.messages: list[SentMessage] = []
        self.reply_keyboard: list[list[str]] | None = None
        self.keyboard_persistent = False  # the reply keyboard asked is_persistent
        self._events: list[SentMessage] = []
        self._cursor = 0
        self._stored: dict[int, Stored] = {}
        self._next_id = 1

    @property
    def name(self) -> str:
        """How the transcript names this chat."""
        return str(self.id)

    def chat_object(self) -> JSON:
        """The Telegram Chat object of this chat."""
        return {"id": self.id, "type": self.type}

    @property
    def last(self) -> SentMessage:
        """The newest bot message in this chat."""
        if not self.messages:
            raise AssertionError(f"the bot has sent nothing to {self.name}")
        return self.messages[-1]

    def message(self, message_id: int) -> SentMessage:
        """The live bot message with this id."""
        stored = self._stored.get(message_id)
        if stored is None or stored.sent is None:
            raise AssertionError(f"no bot message {message_id} in the chat with {self.name}")
        return stored.sent

    def texts(self) -> list[str]:
        """The current texts of the bot's messages that are not deleted."""
        return [m.text for m in self.messages if not m.deleted]

    def mark_read(self) -> None:
        """Move the read cursor past everything seen so far."""
        self._cursor = len(self._events)

    @property
    def transcript(self) -> list[TranscriptLine]:
        """The transcript lines of this chat."""
        return [line for line in self.api.transcript if line.chat_id == self.id]

    def render(self) -> str:
        """This chat's transcript as text."""
        return self.api.render_transcript(self.transcript)

    async def wait_for(self, match: Match = None, *, timeout: float | None = None) -> SentMessage:
        """Wait for the first bot message sent or edited after the cursor that matches.

        ``match`` is a substring of the text/caption, a predicate, or None for any message. The
        result is a snapshot of the message as it was at that send/edit; the cursor moves past it.
        """
        timeout = Waits.seconds if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for index in range(self._cursor, len(self._events)):
                event = self._events[index]
                if matches(event, match):
                    self._cursor = index + 1
                    return event
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self._timeout_report(match, timeout))
            await self.api.activity.changed.wait(remaining)

    async def next_message(self, *, timeout: float | None = None) -> SentMessage:
        """Wait for any bot message after the cursor."""
        return await self.wait_for(None, timeout=timeout)

    def _timeout_report(self, match: Match, timeout: float) -> str:
        if match is None:
            wanted = "any bot message"
        elif isinstance(match, str):
            wanted = f"a bot message containing {match!r}"
        else:
            wanted = f"a bot message matching {getattr(match, '__name__', repr(match))}"
        unread = self._events[self._cursor :]
        parts = [
            f"timed out after {timeout}s waiting for {wanted} in the chat with {self.name}.",
            f"Unread since the cursor: {len(unread)} event(s)"
            + "".join(f"\n  - {e.text!r} (edits={e.edits})" for e in unread),
            "Chat so far:",
            self.render() or "  (nothing)",
        ]
        pending = self.api.pending_updates
        if pending:
            parts.append(
                f"{len(pending)} update(s) are not yet fetched/confirmed by the bot "
                "(is it polling, or is the webhook reachable?)"
            )
        failed = [c for c in self.api.calls if c.ok is False][-5:]
        if failed:
            parts.append("Recent failed API calls:")
            parts.extend(f"  {c.method}: {c.error_code} {c.description}" for c in failed)
        if self.api.dropped_updates:
            kinds = sorted({update_type(u) for u in self.api.dropped_updates})
            parts.append(
                f"Note: {len(self.api.dropped_updates)} update(s) of type {kinds} were dropped "
                f"because the bot's allowed_updates is {self.api.allowed_updates}"
            )
        if self.api.server_errors:
            parts.append(f"Emulator errors: {self.api.server_errors[-3:]!r}")
        return "\n".join(parts)

    # -- internal ----------------------------------------------------------------------------

    def _new_id(self) -> int:
        message_id = self._next_id
        self._next_id += 1
        return message_id

    def _record_event(self, sent: SentMessage) -> None:
        self._events.append(sent.snapshot())


def matches(message: SentMessage, match: Match) -> bool:
    """Whether a message is the one waited for: any, containing a text, or passing a test."""
    if match is None:
        return True
    if isinstance(match, str):
        return match in message.text
    return bool(match(message))


class FakeGroup(FakeChat):
    """A group chat the bot is a member of."""

    def __init__(self, api: FakeBotAPI, chat_id: int, title: str, type: str) -> None:
        super().__init__(api, chat_id)
        self.title = title
        self.type = type

    @property
    def name(self) -> str:
        """The group's title."""
        return self.title

    def chat_object(self) -> JSON:
        """The Telegram Chat object of this group."""
        return {"id": self.id, "type": self.type, "title": self.title}
