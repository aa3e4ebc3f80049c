"""Reading what Telegram sends, as aiogram and python-telegram-bot both spell it: messages and
button presses into `Incoming`, and what an update the library could not read still tells."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol

from handlers.events import Incoming, Unreadable

ALLOWED_UPDATES = ["message", "callback_query"]
OTHER_KINDS = (
    "sticker",
    "voice",
    "video",
    "video_note",
    "audio",
    "document",
    "animation",
    "poll",
    "dice",
    "game",
    "venue",
)


class Sender(Protocol):
    """A Telegram user as both libraries describe one."""

    @property
    def id(self) -> int: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str | None: ...
    @property
    def language_code(self) -> str | None: ...


class Chat(Protocol):
    """A chat: its id and its type (private, group, …)."""

    @property
    def id(self) -> int: ...
    @property
    def type(self) -> str: ...


class Placed(Protocol):
    """A message that may be inaccessible: only where it stands."""

    @property
    def chat(self) -> Chat: ...
    @property
    def message_id(self) -> int: ...


class PhotoSize(Protocol):
    """One size of a photo."""

    @property
    def file_id(self) -> str: ...


class Location(Protocol):
    """A shared location."""

    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...


class Contact(Protocol):
    """A shared contact."""

    @property
    def phone_number(self) -> str: ...
    @property
    def user_id(self) -> int | None: ...


class Message(Placed, Protocol):
    """A message as Sandan reads it."""

    @property
    def from_user(self) -> Sender | None: ...
    @property
    def text(self) -> str | None: ...
    @property
    def caption(self) -> str | None: ...
    @property
    def photo(self) -> Sequence[PhotoSize] | None: ...
    @property
    def location(self) -> Location | None: ...
    @property
    def contact(self) -> Contact | None: ...


class CallbackQuery(Protocol):
    """A button press."""

    @property
    def id(self) -> str: ...
    @property
    def from_user(self) -> Sender: ...
    @property
    def message(self) -> Placed | None: ...
    @property
    def data(self) -> str | None: ...


# Sounds a resident may tell a request in (issue 16): kept on the order, sent to its worker.
CLIP_KINDS = ("voice", "video_note", "audio")


def clip_of(message: object) -> tuple[str, int, str] | None:
    """Return (file_id, seconds, kind) of a voice message, video note or audio file; else None.

    Read by name, as both libraries spell it; a duration may come as a timedelta.
    """
    for kind in CLIP_KINDS:
        clip = getattr(message, kind, None)
        file_id = getattr(clip, "file_id", None)
        if isinstance(file_id, str):
            duration = getattr(clip, "duration", 0)
            if isinstance(duration, timedelta):
                duration = duration.total_seconds()
            seconds = int(duration) if isinstance(duration, int | float) else 0
            return file_id, max(0, seconds), kind
    return None


def incoming_message(update_id: int, message: Message) -> Incoming | None:
    """Return the handlers' view of a message, or None for service messages without a sender."""
    user = message.from_user
    if user is None:
        return None
    clip = clip_of(message)
    other = next((kind for kind in OTHER_KINDS if getattr(message, kind, None)), None)
    contact = message.contact
    group = getattr(message, "media_group_id", None)
    replied = getattr(getattr(message, "reply_to_message", None), "from_user", None)
    bot = getattr(replied, "username", None) if getattr(replied, "is_bot", False) else None
    return Incoming(
        update_id=update_id,
        user_id=user.id,
        chat_id=message.chat.id,
        chat_type=str(message.chat.type),
        first_name=user.first_name,
        last_name=user.last_name,
        language_code=user.language_code,
        text=message.text or message.caption,
        message_id=message.message_id,
        photo=message.photo[-1].file_id if message.photo else None,
        latitude=message.location.latitude if message.location else None,
        longitude=message.location.longitude if message.location else None,
        contact_phone=contact.phone_number if contact else None,
        contact_user_id=contact.user_id if contact else None,
        other=None if message.photo or message.location or contact or clip else other,
        clip=clip,
        media_group_id=group if isinstance(group, str) else None,
        reply_to_bot=bot if isinstance(bot, str) else None,
    )


def incoming_callback(update_id: int, query: CallbackQuery) -> Incoming:
    """Return the handlers' view of a button press."""
    message = query.message
    return Incoming(
        update_id=update_id,
        user_id=query.from_user.id,
        chat_id=message.chat.id if message else query.from_user.id,
        chat_type=str(message.chat.type) if message else "private",
        first_name=query.from_user.first_name,
        last_name=query.from_user.last_name,
        language_code=query.from_user.language_code,
        callback_id=query.id,
        callback_data=query.data or "",
        message_id=message.message_id if message else None,
    )


def _int(value: object) -> int | None:
    """Return an id from raw JSON: an int, never a bool."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def unreadable_update(data: dict[str, Any]) -> Unreadable:
    """Return what the raw JSON of an update the library could not read still tells.

    The chat to answer is a private one only: the message's chat when it is private (or is the
    sender's own), else the sender's; a group is never answered for an update nobody could read.
    """
    update_id = _int(data.get("update_id")) or 0
    kind = next((k for k in ALLOWED_UPDATES if isinstance(data.get(k), dict)), None)
    if kind is None:
        return Unreadable(update_id)
    part = _dict(data[kind])
    user = _dict(part.get("from"))
    user_id = _int(user.get("id"))
    language = user.get("language_code")
    message = part if kind == "message" else _dict(part.get("message"))
    chat = _dict(message.get("chat"))
    chat_id = _int(chat.get("id"))
    if chat_id is None or (chat.get("type") != "private" and chat_id != user_id):
        in_group = chat.get("type") not in (None, "private")
        chat_id = None if in_group else user_id
    callback = part.get("id") if kind == "callback_query" else None
    return Unreadable(
        update_id,
        chat_id=chat_id,
        user_id=user_id,
        language_code=language if isinstance(language, str) else None,
        callback_id=callback if isinstance(callback, str) else None,
    )
