"""Bot messages: sending, editing and deleting them, checked and shown the way Telegram does."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Final

from bot.emulator.chats import FakeChat
from bot.emulator.directory import Chats
from bot.emulator.errors import NOT_MODIFIED, BotAPIError, bad
from bot.emulator.files import FileStore
from bot.emulator.formatting import read_caption, read_text
from bot.emulator.keyboards import Markup, buttons_of, read_markup
from bot.emulator.parameters import Params
from bot.emulator.records import JSON, SentMessage, Stored, now
from bot.emulator.transcript import Transcript
from bot.emulator.users import FakeUser

CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
EDITABLE_KEYS: Final = ("text", "entities", "caption", "caption_entities", "reply_markup")


class Messaging:
    """The bot's messages in every chat: the send*, edit*, deleteMessage and getChat methods."""

    def __init__(
        self,
        chats: Chats,
        files: FileStore,
        transcript: Transcript,
        *,
        guard: Callable[[str, int], None],
        bot_user: Callable[[], JSON],
    ) -> None:
        self.chats = chats
        self.files = files
        self.transcript = transcript
        self.guard = guard  # the rate meter of the moment, which a test may swap
        self.bot_user = bot_user

    def resolve_chat(self, p: Params, *, send: bool) -> FakeChat:
        """The chat a request names; for a send, one the bot may write to."""
        raw = p.values.get("chat_id")
        if raw is None or raw == "":
            raise bad("chat_id is empty")
        chat_id: int | None
        try:
            chat_id = p.integer("chat_id")
        except BotAPIError:
            chat_id = None
        chat = self.chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad("chat not found")
        if send and isinstance(chat, FakeUser):
            if chat.blocked:
                raise BotAPIError(403, "Forbidden: bot was blocked by the user")
            if not chat.started:
                raise BotAPIError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _reply_target(self, chat: FakeChat, p: Params) -> JSON | None:
        """The message a send replies to, as it is quoted, or None."""
        params = p.obj("reply_parameters")
        message_id = p.integer("reply_to_message_id")
        allow = p.flag("allow_sending_without_reply")
        if isinstance(params, dict) and params.get("message_id") is not None:
            message_id = int(params["message_id"])
            allow = allow or bool(params.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        stored = chat._stored.get(message_id)
        if stored is None or stored.deleted:
            if allow:
                return None
            raise bad("message to be replied not found")
        replied = dict(stored.message)
        replied.pop("reply_to_message", None)
        return replied

    def _deliver(
        self,
        chat: FakeChat,
        kind: str,
        content: JSON,
        *,
        raw_text: str,
        markup: Markup,
        reply: JSON | None,
    ) -> JSON:
        message_id = chat._new_id()
        message: JSON = {
            "message_id": message_id,
            "from": self.bot_user(),
            "chat": chat.chat_object(),
            "date": now(),
            **content,
        }
        if reply is not None:
            message["reply_to_message"] = reply
        if markup.inline is not None:
            message["reply_markup"] = markup.inline
        if markup.keyboard is not None:
            chat.reply_keyboard = markup.keyboard
            chat.keyboard_persistent = markup.persistent
        elif markup.remove:
            chat.reply_keyboard = None
            chat.keyboard_persistent = False
        sent = SentMessage(
            message_id=message_id,
            chat_id=chat.id,
            kind=kind,
            reply_keyboard=markup.keyboard,
            force_reply=markup.force_reply,
            date=message["date"],
        )
        sync(sent, message, raw_text)
        chat._stored[message_id] = Stored(message=message, sent=sent)
        chat.messages.append(sent)
        chat._record_event(sent)
        self.transcript.add(
            chat.id,
            f"bot → {chat.name}",
            kind,
            summary(sent),
            buttons=sent.buttons,
            keyboard=markup.keyboard,
            message_id=message_id,
        )
        return copy.deepcopy(message)

    def _edit_target(self, p: Params) -> tuple[FakeChat, Stored]:
        """The chat and the bot message an edit names."""
        if p.has("inline_message_id") and not p.has("chat_id"):
            raise bad("message to edit not found")
        chat = self.resolve_chat(p, send=True)
        message_id = p.integer("message_id")
        if message_id is None:
            raise bad("message identifier is not specified")
        stored = chat._stored.get(message_id)
        if stored is None or stored.deleted:
            raise bad("message to edit not found")
        if stored.sent is None:
            raise bad("message can't be edited")
        return chat, stored

    def _apply_edit(self, method: str, chat: FakeChat, stored: Stored, new: JSON, raw: str) -> JSON:
        old = stored.message
        if all(new.get(k) == old.get(k) for k in EDITABLE_KEYS):
            raise bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        self.guard(method, chat.id)
        new["edit_date"] = now()
        stored.message = new
        sent = stored.sent
        assert sent is not None
        sent.edits += 1
        sync(sent, new, raw)
        chat._record_event(sent)
        self.transcript.add(
            chat.id,
            f"bot → {chat.name}",
            "edit",
            summary(sent),
            buttons=sent.buttons,
            edited=True,
            message_id=sent.message_id,
        )
        return copy.deepcopy(new)

    # -- the methods -------------------------------------------------------------------------

    async def send_message(self, p: Params) -> JSON:
        """sendMessage: deliver a text message."""
        chat = self.resolve_chat(p, send=True)
        text, entities, raw = read_text(p)
        markup = read_markup(p)
        reply = self._reply_target(chat, p)
        self.guard("sendMessage", chat.id)
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return self._deliver(chat, "text", content, raw_text=raw, markup=markup, reply=reply)

    async def send_photo(self, p: Params) -> JSON:
        """sendPhoto: deliver a photo in Telegram's sizes."""
        chat = self.resolve_chat(p, send=True)
        ref = p.file_ref("photo")
        if ref is None:
            raise bad("there is no photo in the request")
        caption = read_caption(p)
        markup = read_markup(p)
        reply = self._reply_target(chat, p)
        sizes = self.files.photo_sizes(ref)
        self.guard("sendPhoto", chat.id)
        content, raw = media_content("photo", sizes, caption)
        return self._deliver(chat, "photo", content, raw_text=raw, markup=markup, reply=reply)

    async def send_document(self, p: Params) -> JSON:
        """sendDocument: deliver a file."""
        chat = self.resolve_chat(p, send=True)
        ref = p.file_ref("document")
        if ref is None:
            raise bad("there is no document in the request")
        caption = read_caption(p)
        markup = read_markup(p)
        reply = self._reply_target(chat, p)
        stored = self.files.document(ref)
        content, raw = media_content("document", self.files.document_object(stored), caption)
        return self._deliver(chat, "document", content, raw_text=raw, markup=markup, reply=reply)

    async def send_voice(self, p: Params) -> JSON:
        """sendVoice: deliver a voice message (voice, caption, duration)."""
        return self._send_clip(p, "sendVoice", "voice", captioned=True)

    async def send_video_note(self, p: Params) -> JSON:
        """sendVideoNote: deliver a round video (video_note, duration, length; no caption)."""
        return self._send_clip(p, "sendVideoNote", "video_note", captioned=False)

    async def send_audio(self, p: Params) -> JSON:
        """sendAudio: deliver an audio file (audio, caption, duration, performer, title)."""
        return self._send_clip(p, "sendAudio", "audio", captioned=True)

    def _send_clip(self, p: Params, method: str, kind: str, *, captioned: bool) -> JSON:
        chat = self.resolve_chat(p, send=True)
        ref = p.file_ref(kind)
        if ref is None:
            raise bad(f"there is no {kind} in the request")
        caption = read_caption(p) if captioned else None
        markup = read_markup(p)
        reply = self._reply_target(chat, p)
        clip = self.files.clip(ref, kind, p.number("duration"))
        self.guard(method, chat.id)
        content, raw = media_content(kind, clip, caption)
        return self._deliver(chat, kind, content, raw_text=raw, markup=markup, reply=reply)

    async def send_location(self, p: Params) -> JSON:
        """sendLocation: deliver a map point."""
        chat = self.resolve_chat(p, send=True)
        latitude, longitude = p.number("latitude"), p.number("longitude")
        if latitude is None or longitude is None:
            raise bad("wrong latitude or longitude specified")
        markup = read_markup(p)
        reply = self._reply_target(chat, p)
        self.guard("sendLocation", chat.id)
        content: JSON = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._deliver(chat, "location", content, raw_text="", markup=markup, reply=reply)

    async def send_chat_action(self, p: Params) -> bool:
        """sendChatAction: check the action (nothing is shown)."""
        self.resolve_chat(p, send=True)
        if (p.text("action") or "") not in CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        return True

    async def edit_message_text(self, p: Params) -> JSON:
        """editMessageText: change a text message."""
        chat, stored = self._edit_target(p)
        if "text" not in stored.message:
            raise bad("there is no text in the message to edit")
        text, entities, raw = read_text(p)
        markup = read_markup(p)
        new = dict(stored.message)
        new["text"] = text
        set_or_drop(new, "entities", entities or None)
        set_or_drop(new, "reply_markup", markup.inline)
        return self._apply_edit("editMessageText", chat, stored, new, raw)

    async def edit_message_caption(self, p: Params) -> JSON:
        """editMessageCaption: change a media message's caption."""
        chat, stored = self._edit_target(p)
        if "text" in stored.message:
            raise bad("there is no caption in the message to edit")
        caption = read_caption(p)
        markup = read_markup(p)
        new = dict(stored.message)
        raw = ""
        if caption is None:
            new.pop("caption", None)
            new.pop("caption_entities", None)
        else:
            new["caption"], entities, raw = caption
            set_or_drop(new, "caption_entities", entities or None)
        set_or_drop(new, "reply_markup", markup.inline)
        return self._apply_edit("editMessageCaption", chat, stored, new, raw)

    async def edit_message_reply_markup(self, p: Params) -> JSON:
        """editMessageReplyMarkup: change only the inline keyboard."""
        chat, stored = self._edit_target(p)
        markup = read_markup(p)
        new = dict(stored.message)
        set_or_drop(new, "reply_markup", markup.inline)
        raw = stored.sent.raw_text if stored.sent else ""
        return self._apply_edit("editMessageReplyMarkup", chat, stored, new, raw)

    async def delete_message(self, p: Params) -> bool:
        """deleteMessage: mark a message deleted."""
        chat = self.resolve_chat(p, send=False)
        message_id = p.integer("message_id")
        stored = chat._stored.get(message_id) if message_id is not None else None
        if stored is None or stored.deleted:
            raise bad("message to delete not found")
        stored.deleted = True
        if stored.sent is not None:
            stored.sent.deleted = True
            text = summary(stored.sent)
        else:
            text = str(stored.message.get("text") or stored.message.get("caption") or "")
        self.transcript.add(chat.id, f"bot → {chat.name}", "delete", text, message_id=message_id)
        return True

    async def get_file(self, p: Params) -> JSON:
        """getFile: the path to download a known file."""
        return self.files.get_file(p.text("file_id") or "")

    async def get_chat(self, p: Params) -> JSON:
        """getChat: the chat's Telegram object."""
        chat = self.resolve_chat(p, send=False)
        return chat.chat_object() | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        }


def media_content(
    key: str, media: JSON | list[JSON], caption: tuple[str, list[JSON], str] | None
) -> tuple[JSON, str]:
    """The content of a media message with its caption, and the caption's raw source."""
    content: JSON = {key: media}
    raw = ""
    if caption is not None:
        content["caption"], entities, raw = caption
        if entities:
            content["caption_entities"] = entities
    return content, raw


def set_or_drop(message: JSON, key: str, value: Any) -> None:
    """Set a key, or remove it when the value is None."""
    if value is None:
        message.pop(key, None)
    else:
        message[key] = value


def sync(sent: SentMessage, message: JSON, raw_text: str) -> None:
    """Refresh the user's view of a bot message from its Telegram object."""
    sent.text = str(message.get("text") or message.get("caption") or "")
    sent.raw_text = raw_text or sent.text
    photo = message.get("photo")
    sent.photo_file_id = photo[-1]["file_id"] if photo else None
    sent.document = message.get("document")
    sent.buttons = buttons_of(message.get("reply_markup"))
    sent.raw = message


def summary(sent: SentMessage) -> str:
    """A bot message as one transcript line: a media tag and the text."""
    prefix = ""
    if sent.kind == "photo":
        prefix = "[photo] "
    elif sent.kind == "document" and sent.document:
        prefix = f"[document: {sent.document.get('file_name', 'file')}] "
    elif sent.kind == "location":
        location = sent.raw.get("location", {})
        prefix = f"[location {location.get('latitude')}, {location.get('longitude')}] "
    return (prefix + sent.text).strip()
