"""The chats the emulator knows, by id: creating fake users and groups, finding bot messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.emulator.chats import FakeChat, FakeGroup
from bot.emulator.records import SentMessage, Stored
from bot.emulator.users import FakeUser

if TYPE_CHECKING:
    from bot.emulator.server import FakeBotAPI


class Chats:
    """Every private chat and group, keyed by chat id (a user's private chat id is theirs)."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.by_id: dict[int, FakeChat] = {}

    def get(self, chat_id: int) -> FakeChat | None:
        """The chat with this id, or None."""
        return self.by_id.get(chat_id)

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
        started: bool,
    ) -> FakeUser:
        """Create (or return) a fake user; the bot may message them once they wrote (or started)."""
        existing = self.by_id.get(user_id)
        if isinstance(existing, FakeUser):
            if started:
                existing.started = True
            return existing
        if user_id <= 0:
            raise ValueError("user ids are positive")
        if existing is not None:
            raise ValueError(f"chat id {user_id} is already a group")
        user = FakeUser(
            self.api,
            user_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            started=started,
        )
        self.by_id[user_id] = user
        return user

    def group(self, chat_id: int, title: str, *, type: str) -> FakeGroup:
        """Create (or return) a group chat, or a channel the bot is an admin of (negative id)."""
        existing = self.by_id.get(chat_id)
        if isinstance(existing, FakeGroup):
            return existing
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if type not in ("group", "supergroup", "channel"):
            raise ValueError("type is 'group', 'supergroup' or 'channel'")
        chat = FakeGroup(self.api, chat_id, title, type)
        self.by_id[chat_id] = chat
        return chat

    def chat(self, chat_id: int) -> FakeChat:
        """The known chat with this id."""
        try:
            return self.by_id[chat_id]
        except KeyError:
            raise AssertionError(f"no chat {chat_id}") from None

    def stored_for(self, message: SentMessage) -> Stored:
        """The live bot message behind a test's view of it, ready to be tapped."""
        chat = self.by_id.get(message.chat_id)
        stored = chat._stored.get(message.message_id) if chat else None
        if stored is None or stored.sent is None:
            raise AssertionError(f"message {message.message_id} is not a bot message here")
        if stored.deleted:
            raise AssertionError(f"message {message.message_id} was deleted; it can't be tapped")
        return stored
