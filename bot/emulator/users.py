"""Fake people: a user's private chat with the bot, and everything they can do in it."""

from __future__ import annotations

import asyncio
import copy
import mimetypes
import re
from typing import TYPE_CHECKING, Final

from bot.emulator.chats import FakeChat, FakeGroup
from bot.emulator.files import fake_jpeg, scaled
from bot.emulator.formatting import utf16_len
from bot.emulator.keyboards import find_button
from bot.emulator.records import JSON, CallbackAnswer, InlineButton, SentMessage, Stored, Waits, now

if TYPE_CHECKING:
    from bot.emulator.server import FakeBotAPI

COMMAND_RE: Final = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")
# An @username in a text: Telegram marks each with a "mention" entity (UTF-16 offsets).
MENTION_RE: Final = re.compile(r"(?<![A-Za-z0-9_])@[A-Za-z0-9_]{5,32}(?![A-Za-z0-9_])")


def display_name(user: JSON) -> str:
    """A User object's name as Telegram shows it: first and last name."""
    last = user.get("last_name")
    return f"{user['first_name']} {last}" if last else str(user["first_name"])


class FakeUser(FakeChat):
    """A fake person chatting with the bot; their private chat id equals their user id."""

    def __init__(
        self,
        api: FakeBotAPI,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
        started: bool,
    ) -> None:
        super().__init__(api, user_id)
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.started = started
        self.blocked = False
        self.callback_answers: list[CallbackAnswer] = []

    @property
    def name(self) -> str:
        """The user's display name."""
        return display_name(self.user_object())

    def user_object(self) -> JSON:
        """The Telegram User object of this user."""
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat_object(self) -> JSON:
        """The Telegram Chat object of the private chat with this user."""
        chat: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    # -- actions -----------------------------------------------------------------------------

    def send(
        self, text: str, *, chat: FakeGroup | None = None, reply_to: int | None = None
    ) -> JSON:
        """Send a text message (bot commands and @mentions get their entities)."""
        content: JSON = {"text": text}
        command = COMMAND_RE.match(text)
        entities: list[JSON] = []
        if command:
            entities.append(
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
            )
        for mention in MENTION_RE.finditer(text, command.end() if command else 0):
            offset = utf16_len(text[: mention.start()])
            entities.append({"type": "mention", "offset": offset, "length": utf16_len(mention[0])})
        if entities:
            content["entities"] = entities
        return self._post(content, chat=chat, kind="text", summary=text, reply_to=reply_to)

    def start(self, payload: str | None = None) -> JSON:
        """Send /start, optionally with a deep-link payload."""
        return self.send("/start" if payload is None else f"/start {payload}")

    def send_photo(
        self,
        caption: str | None = None,
        *,
        data: bytes | None = None,
        width: int = 1280,
        height: int = 960,
        chat: FakeGroup | None = None,
        media_group_id: str | None = None,
    ) -> JSON:
        """Send a photo (two PhotoSize entries, downloadable via getFile), maybe of an album."""
        big = data if data is not None else fake_jpeg(width, height, self.api.serial.value)
        small_w, small_h = scaled(width, height, 320)
        sizes = [
            self.api.file_store.photo_size(fake_jpeg(small_w, small_h), small_w, small_h),
            self.api.file_store.photo_size(big, width, height),
        ]
        content: JSON = {"photo": sizes}
        if caption:
            content["caption"] = caption
        if media_group_id is not None:
            content["media_group_id"] = media_group_id
        return self._post(content, chat=chat, kind="photo", summary=f"[photo] {caption or ''}")

    def send_document(
        self,
        file_name: str = "document.pdf",
        *,
        data: bytes = b"%PDF-1.4 fake document\n",
        mime_type: str | None = None,
        caption: str | None = None,
        chat: FakeGroup | None = None,
    ) -> JSON:
        """Send a document file."""
        mime = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        stored = self.api.file_store.store("document", data, file_name=file_name, mime_type=mime)
        content: JSON = {"document": self.api.file_store.document_object(stored)}
        if caption:
            content["caption"] = caption
        summary = f"[document: {file_name}] {caption or ''}"
        return self._post(content, chat=chat, kind="document", summary=summary)

    def send_location(
        self, latitude: float, longitude: float, *, chat: FakeGroup | None = None
    ) -> JSON:
        """Share a location."""
        content: JSON = {"location": {"latitude": latitude, "longitude": longitude}}
        summary = f"[location {latitude}, {longitude}]"
        return self._post(content, chat=chat, kind="location", summary=summary)

    def send_contact(self, phone_number: str, *, chat: FakeGroup | None = None) -> JSON:
        """Share one's own contact (as the request_contact keyboard button does)."""
        contact: JSON = {
            "phone_number": phone_number,
            "first_name": self.first_name,
            "user_id": self.id,
        }
        if self.last_name:
            contact["last_name"] = self.last_name
        summary = f"[contact {phone_number}]"
        return self._post({"contact": contact}, chat=chat, kind="contact", summary=summary)

    def send_sticker(self, emoji: str = "👍", *, chat: FakeGroup | None = None) -> JSON:
        """Send a sticker."""
        stored = self.api.file_store.store("sticker", b"RIFF....WEBPfake", mime_type="image/webp")
        sticker: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(stored.data),
        }
        return self._post(
            {"sticker": sticker}, chat=chat, kind="sticker", summary=f"[sticker {emoji}]"
        )

    def send_voice(
        self, duration: int = 3, *, data: bytes = b"OggS fake voice", chat: FakeGroup | None = None
    ) -> JSON:
        """Send a voice message."""
        stored = self.api.file_store.store("voice", data, mime_type="audio/ogg")
        self.api.file_store.durations[stored.file_id] = duration
        voice: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return self._post({"voice": voice}, chat=chat, kind="voice", summary=f"[voice {duration}s]")

    def send_video_note(
        self,
        duration: int = 5,
        *,
        data: bytes = b"fake mp4 round video",
        chat: FakeGroup | None = None,
    ) -> JSON:
        """Send a round video message (a video note)."""
        stored = self.api.file_store.store("video_note", data, mime_type="video/mp4")
        self.api.file_store.durations[stored.file_id] = duration
        note: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "length": 240,
            "duration": duration,
            "file_size": len(data),
        }
        summary = f"[video note {duration}s]"
        return self._post({"video_note": note}, chat=chat, kind="video_note", summary=summary)

    def send_audio(
        self,
        duration: int = 30,
        *,
        data: bytes = b"ID3 fake audio",
        title: str = "录音",
        chat: FakeGroup | None = None,
    ) -> JSON:
        """Send an audio file."""
        stored = self.api.file_store.store("audio", data, mime_type="audio/mpeg")
        self.api.file_store.durations[stored.file_id] = duration
        audio: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "title": title,
            "mime_type": "audio/mpeg",
            "file_size": len(data),
        }
        summary = f"[audio {duration}s]"
        return self._post({"audio": audio}, chat=chat, kind="audio", summary=summary)

    def send_album(self, count: int = 3, *, caption: str | None = None) -> list[JSON]:
        """Send photos as one album: messages sharing a media_group_id (caption on the first)."""
        group = f"album{self.api.serial.next()}"
        return [
            self.send_photo(caption if i == 0 else None, media_group_id=group) for i in range(count)
        ]

    def press(self, button: str, message: SentMessage | None = None) -> str:
        """Tap an inline button (by text, text fragment or callback_data); returns the query id."""
        located = self._locate(button, message)
        if located is None:
            raise AssertionError(self._not_found(button, message))
        return self._tap_located(*located)

    async def tap(
        self, button: str, message: SentMessage | None = None, *, timeout: float | None = None
    ) -> str:
        """Wait until such an inline button is on screen (ignoring the cursor), then press it."""
        timeout = Waits.seconds if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            located = self._locate(button, message)
            if located is not None:
                return self._tap_located(*located)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s: {self._not_found(button, message)}\n"
                    f"Chat so far:\n{self.render()}"
                )
            await self.api.activity.changed.wait(remaining)

    def press_data(self, data: str, message: SentMessage) -> str:
        """Send a callback query with arbitrary (possibly forged) data for a bot message."""
        stored = self.api.chats.stored_for(message)
        return self.api.callbacks.press(self, stored, data, label=f"(data: {data})")

    def block(self) -> None:
        """Block the bot: sends to this user now fail with 403."""
        if not self.blocked:
            self.blocked = True
            self._member_update("member", "kicked")

    def unblock(self) -> None:
        """Unblock the bot."""
        if self.blocked:
            self.blocked = False
            self._member_update("kicked", "member")

    async def wait_answer(self, query_id: str, timeout: float | None = None) -> CallbackAnswer:
        """Wait for the bot's answerCallbackQuery to this press."""
        timeout = Waits.seconds if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for answer in self.callback_answers:
                if answer.query_id == query_id:
                    return answer
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for the bot to answer callback query "
                    f"{query_id} of {self.name}.\nChat so far:\n{self.render()}"
                )
            await self.api.activity.changed.wait(remaining)

    # -- internal ----------------------------------------------------------------------------

    def _post(
        self,
        content: JSON,
        *,
        chat: FakeGroup | None,
        kind: str,
        summary: str,
        reply_to: int | None = None,
    ) -> JSON:
        target: FakeChat = chat if chat is not None else self
        if target is self:
            self.started = True
        message_id = target._new_id()
        message: JSON = {
            "message_id": message_id,
            "from": self.user_object(),
            "chat": target.chat_object(),
            "date": now(),
            **content,
        }
        if reply_to is not None and reply_to in target._stored:
            replied = dict(target._stored[reply_to].message)
            replied.pop("reply_to_message", None)
            message["reply_to_message"] = replied
        target._stored[message_id] = Stored(message=message)
        to = "bot" if target is self else target.name
        self.api.transcript_log.add(
            target.id, self.name, kind, summary.strip(), to=to, message_id=message_id
        )
        self.api.queue.enqueue({"message": message})
        return copy.deepcopy(message)

    def _locate(
        self, button: str, message: SentMessage | None
    ) -> tuple[Stored, InlineButton] | None:
        if message is not None:
            stored = self.api.chats.stored_for(message)
            found = find_button(stored, button)
            return (stored, found) if found is not None else None
        for sent in reversed(self.messages):
            if sent.deleted or not sent.buttons:
                continue
            stored = self._stored[sent.message_id]
            found = find_button(stored, button)
            if found is not None:
                return stored, found
        return None

    def _not_found(self, button: str, message: SentMessage | None) -> str:
        if message is not None:
            live = self.api.chats.stored_for(message).sent
            assert live is not None
            return (
                f"no inline button matching {button!r} in message {message.message_id} "
                f"({live.text[:60]!r}); available: {live._buttons()}"
            )
        on_screen = [
            f"message {m.message_id}: {m._buttons()}"
            for m in reversed(self.messages)
            if m.buttons and not m.deleted
        ]
        return (
            f"{self.name} sees no inline button matching {button!r}; buttons on screen "
            f"(newest first): {'; '.join(on_screen) or 'none'}"
        )

    def _tap_located(self, stored: Stored, found: InlineButton) -> str:
        if found.callback_data is None:
            kind = "a URL button" if found.url else "not a callback button"
            raise AssertionError(f"button {found.text!r} is {kind}; pressing it sends no callback")
        return self.api.callbacks.press(self, stored, found.callback_data, label=found.text)

    def _member_update(self, old: str, new: str) -> None:
        def member(status: str) -> JSON:
            result: JSON = {"status": status, "user": self.api.bot_user}
            if status == "kicked":
                result["until_date"] = 0
            return result

        self.api.transcript_log.add(self.id, self.name, "block" if new == "kicked" else "unblock")
        self.api.queue.enqueue(
            {
                "my_chat_member": {
                    "chat": self.chat_object(),
                    "from": self.user_object(),
                    "date": now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )
