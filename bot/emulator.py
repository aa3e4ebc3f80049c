"""A local fake Telegram Bot API server ("emulator") for end-to-end tests and offline demos.

Run a real bot framework (aiogram, python-telegram-bot) against it over loopback HTTP::

    async with FakeBotAPI() as api:
        bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
        user = api.user(42, "王阿姨")
        user.start()
        reply = await user.wait_for("欢迎")
        user.press("水电气维修")
        print(api.render_transcript())

The server keeps every chat in memory, validates requests the way Telegram does (same error
codes and descriptions), records every call in ``api.calls`` and every visible event in
``api.transcript``. Phase 2 adds fault injection (``api.faults``) and a rate meter
(``api.limits``).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import html
import inspect
import json
import logging
import math
import mimetypes
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Literal, Self

import aiohttp
from aiohttp import web

__all__ = [
    "ApiCall",
    "BotAPIError",
    "CallbackAnswer",
    "FakeBotAPI",
    "FakeChat",
    "FakeGroup",
    "FakeUser",
    "FaultPlan",
    "InjectedFault",
    "InlineButton",
    "RateLimits",
    "RateViolation",
    "SentMessage",
    "StoredFile",
    "TranscriptLine",
    "UploadedFile",
    "WebhookDelivery",
    "parse_html",
]

log = logging.getLogger(__name__)

JSON = dict[str, Any]
Match = str | Callable[["SentMessage"], bool] | None

TEXT_LIMIT: Final = 4096
CAPTION_LIMIT: Final = 1024
CALLBACK_DATA_LIMIT: Final = 64

WEBHOOK_CONFLICT: Final = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT: Final = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD: Final = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)

SEND_METHODS: Final = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendLocation"})
FAULT_KINDS: Final = frozenset({"429", "500", "502", "timeout", "drop"})

_CHAT_ACTIONS: Final = frozenset(
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
# Update types a bot receives when it has not asked for a specific list.
_NOT_DEFAULT_UPDATES: Final = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)
_INT_KEYS: Final = frozenset(
    {
        "chat_id",
        "message_id",
        "from_chat_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "user_id",
        "duration",
        "width",
        "height",
        "max_connections",
    }
)
_BOOL_KEYS: Final = frozenset(
    {
        "show_alert",
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "has_spoiler",
        "disable_content_type_detection",
        "show_caption_above_media",
        "allow_paid_broadcast",
    }
)
# Parameters that are always plain strings, never JSON-decoded even if they look like JSON.
_STRING_KEYS: Final = frozenset(
    {
        "text",
        "caption",
        "title",
        "description",
        "short_description",
        "name",
        "url",
        "secret_token",
        "callback_query_id",
        "data",
        "parse_mode",
        "action",
        "language_code",
        "file_id",
        "emoji",
        "phone_number",
        "first_name",
        "last_name",
        "address",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "inline_message_id",
        "photo",
        "document",
    }
)
_HTML_TAGS: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_ATTRS_RE: Final = re.compile(
    r"""((?:\s+[A-Za-z_:-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']+))?)*)\s*>"""
)
_ATTR_RE: Final = re.compile(r"""([A-Za-z_:-]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+))?""")
_ENTITY_RE: Final = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]+);")
_COMMAND_RE: Final = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")
_BOT_COMMAND_RE: Final = re.compile(r"^[a-z0-9_]{1,32}$")
_INT_RE: Final = re.compile(r"^-?[0-9]+$")
_EDITABLE_KEYS: Final = ("text", "entities", "caption", "caption_entities", "reply_markup")


def _now() -> int:
    return int(time.time())


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _display_name(user: JSON) -> str:
    last = user.get("last_name")
    return f"{user['first_name']} {last}" if last else str(user["first_name"])


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG image, or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:4] == b"GIF8" and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height = int.from_bytes(data[i + 5 : i + 7], "big")
                width = int.from_bytes(data[i + 7 : i + 9], "big")
                return width, height
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


def _fake_jpeg(width: int, height: int, salt: int = 0) -> bytes:
    """A tiny JPEG-shaped byte string whose SOF0 header carries the given size."""
    sof = b"\xff\xc0\x00\x11\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big")
    sof += b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + sof + b"FAKE" + salt.to_bytes(4, "big") + b"\xff\xd9"


# ---------------------------------------------------------------------------------------------
# Formatting (parse_mode)


class BotAPIError(Exception):
    """A Telegram-style error answer; raise it from a method added with ``add_method``."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """The JSON answer Telegram would send."""
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> BotAPIError:
    return BotAPIError(400, f"Bad Request: {description}")


def _entity_error(description: str) -> BotAPIError:
    return _bad(f"can't parse entities: {description}")


def parse_html(source: str) -> tuple[str, list[JSON]]:
    """Parse Telegram HTML into plain text and entities; ValueError has Telegram's wording."""
    out: list[str] = []
    entities: list[JSON] = []
    stack: list[tuple[str, int, JSON]] = []
    pos = 0  # in UTF-16 code units of the output
    i = 0
    n = len(source)

    def byte_offset(index: int) -> int:
        return len(source[:index].encode("utf-8"))

    while i < n:
        ch = source[i]
        if ch == "<":
            begin = byte_offset(i)
            if i + 1 < n and source[i + 1] == "/":
                end = source.find(">", i)
                if end < 0:
                    raise ValueError(f"Unclosed end tag at byte offset {begin}")
                name = source[i + 2 : end].strip().lower()
                if not stack:
                    raise ValueError(f"Unexpected end tag at byte offset {begin}")
                open_name, start, extra = stack.pop()
                if name != open_name:
                    raise ValueError(
                        f'Unmatched end tag at byte offset {begin}, expected "</{open_name}>", '
                        f'found "</{name}>"'
                    )
                if pos > start and not (open_name == "a" and "url" not in extra):
                    entities.append(
                        {"type": _HTML_TAGS[open_name], "offset": start, "length": pos - start}
                        | extra
                    )
                i = end + 1
                continue
            j = i + 1
            while j < n and source[j] not in " \t\r\n>":
                j += 1
            if j >= n:
                raise ValueError(f"Unclosed start tag at byte offset {begin}")
            name = source[i + 1 : j].lower()
            if name not in _HTML_TAGS:
                raise ValueError(f'Unsupported start tag "{name}" at byte offset {begin}')
            m = _ATTRS_RE.match(source, j)
            if m is None:
                raise ValueError(f"Unclosed start tag at byte offset {begin}")
            attrs = {
                a.group(1).lower(): (a.group(2) or "").strip("\"'")
                for a in _ATTR_RE.finditer(m.group(1))
            }
            extra = {}
            if name == "a" and attrs.get("href"):
                extra["url"] = html.unescape(attrs["href"])
            elif name == "span" and attrs.get("class") != "tg-spoiler":
                raise ValueError('Tag "span" must have class "tg-spoiler"')
            elif name == "tg-emoji" and attrs.get("emoji-id"):
                extra["custom_emoji_id"] = attrs["emoji-id"]
            stack.append((name, pos, extra))
            i = m.end()
            continue
        if ch == "&":
            m = _ENTITY_RE.match(source, i)
            if m is not None:
                decoded = html.unescape(m.group(0))
                if decoded != m.group(0):
                    out.append(decoded)
                    pos += _utf16_len(decoded)
                    i = m.end()
                    continue
        out.append(ch)
        pos += 2 if ord(ch) > 0xFFFF else 1
        i += 1
    if stack:
        raise ValueError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


_MDV2_ALWAYS_RESERVED: Final = frozenset("#+-={}.!")


def _parse_markdown_v2(source: str) -> str:
    """Strip MarkdownV2 markup (roughly), raising ValueError for unescaped reserved characters."""
    out: list[str] = []
    i = 0
    n = len(source)
    in_code = False
    in_link_text = False
    line_start = True
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n:
            out.append(source[i + 1])
            i += 2
            line_start = False
            continue
        if ch == "`":
            fence = 3 if source.startswith("```", i) else 1
            in_code = not in_code
            i += fence
            continue
        if in_code:
            out.append(ch)
            i += 1
            continue
        if ch in "*_~":
            i += 1
            continue
        if ch == "|" and source.startswith("||", i):
            i += 2
            continue
        if ch == "[":
            in_link_text = True
            i += 1
            continue
        if ch == "]" and in_link_text and source.startswith("](", i):
            close = source.find(")", i)
            if close < 0:
                raise ValueError("Can't find end of a URL")
            in_link_text = False
            i = close + 1
            continue
        if ch == ">" and line_start:
            i += 1
            continue
        if ch in _MDV2_ALWAYS_RESERVED or ch in "()[]|>":
            raise ValueError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        out.append(ch)
        line_start = ch == "\n"
        i += 1
    return "".join(out)


def _parse_markdown_legacy(source: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", source)
    return re.sub(r"[*_`]", "", text)


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip surrounding whitespace like Telegram does, shifting entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = _utf16_len(text[: len(text) - len(text.lstrip())])
    total = _utf16_len(stripped)
    result: list[JSON] = []
    for entity in entities:
        start = max(0, int(entity["offset"]) - lead)
        end = min(total, int(entity["offset"]) + int(entity["length"]) - lead)
        if end > start:
            result.append(entity | {"offset": start, "length": end - start})
    return stripped, result


# ---------------------------------------------------------------------------------------------
# Public records


@dataclass(frozen=True)
class InlineButton:
    """One inline keyboard button as the user sees it."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass
class SentMessage:
    """A bot message in a chat, as the user sees it (text is the text or the caption)."""

    message_id: int
    chat_id: int
    text: str = ""
    raw_text: str = ""
    kind: str = "text"
    photo_file_id: str | None = None
    document: JSON | None = None
    buttons: list[list[InlineButton]] = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None
    force_reply: bool = False
    edits: int = 0
    deleted: bool = False
    date: int = 0
    raw: JSON = field(default_factory=dict, repr=False)

    def button_texts(self) -> list[str]:
        """All inline button texts, row by row."""
        return [button.text for row in self.buttons for button in row]

    def button(self, text: str) -> InlineButton:
        """The inline button with exactly this text."""
        for row in self.buttons:
            for button in row:
                if button.text == text:
                    return button
        raise AssertionError(f"no button {text!r} in message {self.message_id}: {self._buttons()}")

    def snapshot(self) -> SentMessage:
        """A detached copy of the message as it is now."""
        return dataclasses.replace(
            self,
            buttons=[list(row) for row in self.buttons],
            reply_keyboard=[list(r) for r in self.reply_keyboard] if self.reply_keyboard else None,
            document=dict(self.document) if self.document else None,
            raw=copy.deepcopy(self.raw),
        )

    def _buttons(self) -> str:
        return " ".join(f"[{b.text}]" for row in self.buttons for b in row) or "(no buttons)"


@dataclass(frozen=True)
class CallbackAnswer:
    """The bot's answerCallbackQuery for a press."""

    query_id: str
    text: str | None
    show_alert: bool = False
    url: str | None = None
    cache_time: int = 0


@dataclass(frozen=True)
class UploadedFile:
    """A multipart file part of a request."""

    name: str
    filename: str
    content_type: str | None
    data: bytes


@dataclass
class StoredFile:
    """A file the emulator knows: uploaded by the bot or sent by a fake user."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass
class ApiCall:
    """One Bot API request and how it was answered."""

    method: str
    params: JSON
    time: float
    files: dict[str, UploadedFile] = field(default_factory=dict, repr=False)
    ok: bool | None = None
    error_code: int | None = None
    description: str | None = None
    result: Any = field(default=None, repr=False)
    fault: str | None = None


@dataclass(frozen=True)
class TranscriptLine:
    """One readable event of the conversation, for demos and failure reports."""

    time: float
    chat_id: int
    who: str
    kind: str
    text: str = ""
    to: str = "bot"
    buttons: tuple[tuple[str, ...], ...] = ()
    keyboard: tuple[tuple[str, ...], ...] = ()
    pressed: str | None = None
    edited: bool = False
    alert: bool = False
    message_id: int | None = None

    def render(self) -> str:
        """The line as text, e.g. ``[王阿姨 → bot] /new``."""
        if self.kind == "press":
            return f"[{self.who} taps] {self.pressed or self.text}"
        if self.kind in ("block", "unblock"):
            return f"[{self.who} {self.kind}s the bot]"
        label = self.who if self.who.startswith("bot") else f"{self.who} → {self.to}"
        tags = []
        if self.edited:
            tags.append("(edited)")
        if self.kind == "delete":
            tags.append("(deleted)")
        if self.kind == "answer":
            tags.append("(alert)" if self.alert else "(toast)")
        head = f"[{label}{' ' + ' '.join(tags) if tags else ''}]"
        lines = self.text.split("\n") if self.text else [""]
        extras = []
        if self.buttons:
            extras.append("  ".join(" ".join(f"[{b}]" for b in row) for row in self.buttons))
        if self.keyboard:
            extras.append("⌨ " + "  ".join(" ".join(f"[{b}]" for b in r) for r in self.keyboard))
        if len(lines) == 1:
            first = f"{head} {lines[0]}".rstrip()
            return "  ".join([first, *extras]) if extras else first
        rendered = [f"{head} {lines[0]}".rstrip(), *(f"    {line}" for line in lines[1:])]
        rendered.extend(f"    {extra}" for extra in extras)
        return "\n".join(rendered)


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to POST an update to the webhook."""

    update_id: int
    url: str
    status: int | None
    error: str | None
    time: float


# ---------------------------------------------------------------------------------------------
# Phase 2: fault injection and the rate meter


@dataclass(frozen=True)
class InjectedFault:
    """A fault the emulator injected instead of answering a call."""

    method: str
    kind: str
    time: float


@dataclass
class FaultPlan:
    """Which calls fail and how: a seeded random share, or a scripted sequence first."""

    rate: float = 0.0
    seed: int | None = None
    kinds: Sequence[str] = ("429", "500", "timeout", "drop")
    retry_after: int = 1
    methods: Collection[str] = frozenset({"sendMessage", "sendPhoto", "editMessageText"})
    sequence: Sequence[str | None] = ()
    hold: float = 30.0
    _rng: random.Random = field(init=False, repr=False)
    _position: int = field(default=0, init=False, repr=False)
    _methods: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = {k for k in [*self.kinds, *self.sequence] if k is not None} - FAULT_KINDS
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; use {sorted(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        self._rng = random.Random(self.seed)
        self._methods = frozenset(m.lower() for m in self.methods)

    def pick(self, method: str) -> str | None:
        """The fault for this call of ``method``, or None to answer it normally."""
        if method.lower() not in self._methods:
            return None
        if self._position < len(self.sequence):
            self._position += 1
            return self.sequence[self._position - 1]
        if self.rate <= 0 or not self.kinds:
            return None
        if self._rng.random() < self.rate:
            return self._rng.choice(list(self.kinds))
        return None


@dataclass
class RateLimits:
    """Telegram's broadcast limits, metered over delivered sends (optionally enforced with 429)."""

    global_per_sec: float = 30.0
    per_chat_per_sec: float = 1.0
    per_chat_burst: int = 3
    per_group_per_min: int = 20
    enforce: bool = False
    methods: Collection[str] = SEND_METHODS
    clock: Callable[[], float] = time.monotonic


@dataclass(frozen=True)
class RateViolation:
    """A send that exceeded a limit; ``enforced`` means it was refused with 429."""

    method: str
    chat_id: int
    scope: str
    time: float
    retry_after: int
    enforced: bool


class _RateMeter:
    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self.methods = frozenset(m.lower() for m in limits.methods)
        self.global_times: deque[float] = deque()
        self.group_times: dict[int, deque[float]] = {}
        self.buckets: dict[int, tuple[float, float]] = {}

    def check(self, chat_id: int, now: float) -> tuple[str, int] | None:
        lim = self.limits
        window = self.global_times
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= lim.global_per_sec:
            return "global", max(1, math.ceil(window[0] + 1.0 - now))
        if chat_id < 0:
            times = self.group_times.setdefault(chat_id, deque())
            while times and times[0] <= now - 60.0:
                times.popleft()
            if len(times) >= lim.per_group_per_min:
                return "group", max(1, math.ceil(times[0] + 60.0 - now))
            return None
        tokens = self._tokens(chat_id, now)
        if tokens < 1.0:
            return "chat", max(1, math.ceil((1.0 - tokens) / lim.per_chat_per_sec))
        return None

    def _tokens(self, chat_id: int, now: float) -> float:
        tokens, last = self.buckets.get(chat_id, (float(self.limits.per_chat_burst), now))
        refill = (now - last) * self.limits.per_chat_per_sec
        return min(float(self.limits.per_chat_burst), tokens + refill)

    def record(self, chat_id: int, now: float) -> None:
        self.global_times.append(now)
        if chat_id < 0:
            self.group_times.setdefault(chat_id, deque()).append(now)
        else:
            self.buckets[chat_id] = (self._tokens(chat_id, now) - 1.0, now)


# ---------------------------------------------------------------------------------------------
# Internals


def _update_chat(update: JSON) -> int | None:
    """Return the chat (or the user) an update comes from, if it says."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        for holder in (value, value.get("message")):
            if isinstance(holder, dict) and isinstance(holder.get("chat"), dict):
                chat = holder["chat"].get("id")
                return chat if isinstance(chat, int) else None
        sender = value.get("from")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])
    return None


class _Notifier:
    """Wakes every waiter on any state change (an Event swapped on each notify)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def next(self) -> Coroutine[Any, Any, Literal[True]]:
        """Return a wait for the next change after now (bound now, not when first awaited)."""
        return self._event.wait()

    async def wait(self, timeout: float | None) -> bool:
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True


@dataclass
class _Stored:
    message: JSON
    sent: SentMessage | None = None
    deleted: bool = False


@dataclass
class _CallbackState:
    user: FakeUser
    answered: bool = False


@dataclass
class _Markup:
    inline: JSON | None = None
    keyboard: list[list[str]] | None = None
    remove: bool = False
    force_reply: bool = False


class _Params:
    """Request parameters with Telegram-like coercion of form strings."""

    def __init__(self, values: JSON, files: dict[str, UploadedFile]) -> None:
        self.values = values
        self.files = files

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, (dict, list)):
            return _dumps(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise _bad(f"invalid {name} specified")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INT_RE.match(value.strip()):
            return int(value.strip())
        raise _bad(f"invalid {name} specified")

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return float(value)
        raise _bad(f"invalid {name} specified")

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def obj(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            if not value:
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise _bad(f"can't parse {name} JSON object") from None
        return value

    def file_ref(self, name: str) -> UploadedFile | str | None:
        value = self.values.get(name)
        if value is None and name in self.files:
            return self.files[name]
        if not isinstance(value, str) or not value:
            return None
        if value.startswith("attach://"):
            upload = self.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise _bad("wrong file identifier/HTTP URL specified")
            return upload
        return value


def _normalize(values: JSON, files: dict[str, UploadedFile]) -> JSON:
    """Decode JSON object strings and numeric/boolean strings in form parameters."""
    result: JSON = {}
    for key, value in values.items():
        if isinstance(value, str):
            stripped = value.strip()
            if key in _INT_KEYS and _INT_RE.match(stripped):
                value = int(stripped)
            elif key in _BOOL_KEYS and stripped.lower() in ("true", "false"):
                value = stripped.lower() == "true"
            elif key not in _STRING_KEYS and stripped[:1] in ("{", "["):
                with contextlib.suppress(ValueError):
                    value = json.loads(stripped)
        result[key] = value
    referenced = _dumps(result)
    for name in files:
        if name not in result and f"attach://{name}" not in referenced:
            result[name] = f"attach://{name}"
    return result


async def _read_multipart(
    reader: aiohttp.MultipartReader, values: JSON, files: dict[str, UploadedFile]
) -> None:
    while True:
        part = await reader.next()
        if part is None:
            return
        if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
            continue
        if part.filename is not None:
            data = bytes(await part.read(decode=True))
            content_type = part.headers.get(aiohttp.hdrs.CONTENT_TYPE)
            files[part.name] = UploadedFile(part.name, part.filename, content_type, data)
        else:
            values[part.name] = await part.text()


async def _read_request(request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
    values: JSON = dict(request.query)
    files: dict[str, UploadedFile] = {}
    ctype = request.content_type
    if ctype == "application/json":
        raw = await request.read()
        if raw.strip():
            try:
                data = json.loads(raw)
            except ValueError:
                raise _bad("can't parse JSON encoded request body") from None
            if not isinstance(data, dict):
                raise _bad("JSON encoded request body must be an object")
            values.update(data)
    elif ctype == "application/x-www-form-urlencoded":
        form = await request.post()
        values.update({k: v for k, v in form.items() if isinstance(v, str)})
    elif ctype.startswith("multipart/"):
        await _read_multipart(await request.multipart(), values, files)
    return _normalize(values, files), files


# ---------------------------------------------------------------------------------------------
# Chats and users


class FakeChat:
    """A chat as the test sees it: the bot's messages in order, and a read cursor."""

    type: str = "private"

    def __init__(self, api: FakeBotAPI, chat_id: int) -> None:
        self.api = api
        self.id = chat_id
        self.messages: list[SentMessage] = []
        self.reply_keyboard: list[list[str]] | None = None
        self._events: list[SentMessage] = []
        self._cursor = 0
        self._stored: dict[int, _Stored] = {}
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

    async def wait_for(self, match: Match = None, *, timeout: float = 5.0) -> SentMessage:
        """Wait for the first bot message sent or edited after the cursor that matches.

        ``match`` is a substring of the text/caption, a predicate, or None for any message. The
        result is a snapshot of the message as it was at that send/edit; the cursor moves past it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for index in range(self._cursor, len(self._events)):
                event = self._events[index]
                if _matches(event, match):
                    self._cursor = index + 1
                    return event
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self._timeout_report(match, timeout))
            await self.api._changed.wait(remaining)

    async def next_message(self, *, timeout: float = 5.0) -> SentMessage:
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
        if self.api._pending:
            parts.append(
                f"{len(self.api._pending)} update(s) are not yet fetched/confirmed by the bot "
                "(is it polling, or is the webhook reachable?)"
            )
        failed = [c for c in self.api.calls if c.ok is False][-5:]
        if failed:
            parts.append("Recent failed API calls:")
            parts.extend(f"  {c.method}: {c.error_code} {c.description}" for c in failed)
        if self.api.dropped_updates:
            kinds = sorted({_update_type(u) for u in self.api.dropped_updates})
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


def _matches(message: SentMessage, match: Match) -> bool:
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
        return _display_name(self.user_object())

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
        """Send a text message (bot commands get a bot_command entity)."""
        content: JSON = {"text": text}
        command = _COMMAND_RE.match(text)
        if command:
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command.group(0))}
            ]
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
    ) -> JSON:
        """Send a photo (two PhotoSize entries, downloadable via getFile)."""
        big = data if data is not None else _fake_jpeg(width, height, self.api._counter)
        small_w, small_h = _scaled(width, height, 320)
        sizes = [
            self.api._store_photo_size(_fake_jpeg(small_w, small_h), small_w, small_h),
            self.api._store_photo_size(big, width, height),
        ]
        content: JSON = {"photo": sizes}
        if caption:
            content["caption"] = caption
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
        stored = self.api._store_file("document", data, file_name=file_name, mime_type=mime)
        content: JSON = {"document": self.api._document_object(stored)}
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
        stored = self.api._store_file("sticker", b"RIFF....WEBPfake", mime_type="image/webp")
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
        stored = self.api._store_file("voice", data, mime_type="audio/ogg")
        voice: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return self._post({"voice": voice}, chat=chat, kind="voice", summary=f"[voice {duration}s]")

    def press(self, button: str, message: SentMessage | None = None) -> str:
        """Tap an inline button (by text, text fragment or callback_data); returns the query id."""
        located = self._locate(button, message)
        if located is None:
            raise AssertionError(self._not_found(button, message))
        return self._tap_located(*located)

    async def tap(
        self, button: str, message: SentMessage | None = None, *, timeout: float = 5.0
    ) -> str:
        """Wait until such an inline button is on screen (ignoring the cursor), then press it."""
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
            await self.api._changed.wait(remaining)

    def press_data(self, data: str, message: SentMessage) -> str:
        """Send a callback query with arbitrary (possibly forged) data for a bot message."""
        stored = self.api._stored_for(message)
        return self.api._press(self, stored, data, label=f"(data: {data})")

    def block(self) -> None:
        """Block the bot: sends to this user now fail with 403."""
        if not self.blocked:
            self.blocked = True
            self.api._member_update(self, "member", "kicked")

    def unblock(self) -> None:
        """Unblock the bot."""
        if self.blocked:
            self.blocked = False
            self.api._member_update(self, "kicked", "member")

    async def wait_answer(self, query_id: str, timeout: float = 5.0) -> CallbackAnswer:
        """Wait for the bot's answerCallbackQuery to this press."""
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
            await self.api._changed.wait(remaining)

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
            "date": _now(),
            **content,
        }
        if reply_to is not None and reply_to in target._stored:
            replied = dict(target._stored[reply_to].message)
            replied.pop("reply_to_message", None)
            message["reply_to_message"] = replied
        target._stored[message_id] = _Stored(message=message)
        to = "bot" if target is self else target.name
        self.api._line(target.id, self.name, kind, summary.strip(), to=to, message_id=message_id)
        self.api._enqueue({"message": message})
        return copy.deepcopy(message)

    def _locate(
        self, button: str, message: SentMessage | None
    ) -> tuple[_Stored, InlineButton] | None:
        if message is not None:
            stored = self.api._stored_for(message)
            found = _find_button(stored, button)
            return (stored, found) if found is not None else None
        for sent in reversed(self.messages):
            if sent.deleted or not sent.buttons:
                continue
            stored = self._stored[sent.message_id]
            found = _find_button(stored, button)
            if found is not None:
                return stored, found
        return None

    def _not_found(self, button: str, message: SentMessage | None) -> str:
        if message is not None:
            live = self.api._stored_for(message).sent
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

    def _tap_located(self, stored: _Stored, found: InlineButton) -> str:
        if found.callback_data is None:
            kind = "a URL button" if found.url else "not a callback button"
            raise AssertionError(f"button {found.text!r} is {kind}; pressing it sends no callback")
        return self.api._press(self, stored, found.callback_data, label=found.text)


def _scaled(width: int, height: int, side: int) -> tuple[int, int]:
    factor = min(1.0, side / max(width, height, 1))
    return max(1, round(width * factor)), max(1, round(height * factor))


def _find_button(stored: _Stored, wanted: str) -> InlineButton | None:
    sent = stored.sent
    if sent is None:
        return None
    buttons = [b for row in sent.buttons for b in row]
    for b in buttons:
        if b.text == wanted:
            return b
    partial = [b for b in buttons if wanted in b.text]
    if len(partial) > 1:
        raise AssertionError(
            f"{wanted!r} matches several buttons in message {sent.message_id}: "
            + " ".join(f"[{b.text}]" for b in partial)
        )
    if partial:
        return partial[0]
    for b in buttons:
        if b.callback_data == wanted:
            return b
    return None


def _update_type(update: JSON) -> str:
    return next((k for k in update if k != "update_id"), "unknown")


def _buttons_of(markup: JSON | None) -> list[list[InlineButton]]:
    if not markup:
        return []
    return [
        [InlineButton(b["text"], b.get("callback_data"), b.get("url")) for b in row]
        for row in markup.get("inline_keyboard", [])
    ]


# ---------------------------------------------------------------------------------------------
# The server


Handler = Callable[[_Params], Awaitable[Any]]


class FakeBotAPI:
    """An in-process fake of the Telegram Bot API HTTP server."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_id: int = 123456,
        bot_username: str = "sandan_test_bot",
        bot_first_name: str = "Sandan",
        host: str = "127.0.0.1",
        port: int = 0,
        on_line: Callable[[TranscriptLine], None] | None = None,
        webhook_retry_delay: float = 0.1,
        webhook_parallel: int = 1,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.host = host
        self.port = port
        self.on_line = on_line
        self.webhook_retry_delay = webhook_retry_delay
        # Updates POSTed at once (Telegram opens up to max_connections); one chat's go in turn.
        self.webhook_parallel = webhook_parallel

        self.calls: list[ApiCall] = []
        self.transcript: list[TranscriptLine] = []
        self.updates: list[JSON] = []
        self.dropped_updates: list[JSON] = []
        self.files: dict[str, StoredFile] = {}
        self.server_errors: list[BaseException] = []
        self.faults: FaultPlan | None = None
        self.injected_faults: list[InjectedFault] = []
        self.rate_violations: list[RateViolation] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.allowed_updates: list[str] | None = None
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.menu_buttons: dict[int | None, JSON] = {}

        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self._webhook_max_connections: int | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_session: aiohttp.ClientSession | None = None
        self._webhook_delay = webhook_retry_delay

        self._limits: RateLimits | None = None
        self._meter: _RateMeter | None = None
        self._chats: dict[int, FakeChat] = {}
        self._pending: list[JSON] = []
        self._next_update_id = 1
        self._counter = 0
        self._paths: dict[str, StoredFile] = {}
        self._photo_sets: dict[str, list[JSON]] = {}
        self._callbacks: dict[str, _CallbackState] = {}
        self._inflight: dict[int, str] = {}
        self._poll_generation = 0
        self._last_activity = 0.0
        self._changed = _Notifier()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, tuple[str, Handler]] = {}
        self._odd_answers: dict[tuple[str, int], deque[Callable[[JSON], Any]]] = {}
        self._odd_updates: deque[Callable[[JSON], JSON]] = deque()
        self._register_methods()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and start serving (port 0 picks a free port)."""
        if self._runner is not None:
            return
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._stopping.clear()
        self._touch()

    async def stop(self) -> None:
        """Release held requests and shut the server down."""
        self._stopping.set()
        self._changed.notify()
        await self._stop_webhook_worker()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:PORT``."""
        if self._runner is None:
            raise RuntimeError("FakeBotAPI is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """Base URL of the methods for this token (``{base_url}/bot{token}``)."""
        return f"{self.base_url}/bot{self.token}"

    # -- test-facing -------------------------------------------------------------------------

    @property
    def bot_user(self) -> JSON:
        """The bot's Telegram User object."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        started: bool = False,
    ) -> FakeUser:
        """Create (or return) a fake user; the bot may message them once they wrote (or started)."""
        existing = self._chats.get(user_id)
        if isinstance(existing, FakeUser):
            if started:
                existing.started = True
            return existing
        if user_id <= 0:
            raise ValueError("user ids are positive")
        if existing is not None:
            raise ValueError(f"chat id {user_id} is already a group")
        user = FakeUser(
            self,
            user_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            started=started,
        )
        self._chats[user_id] = user
        return user

    def group(self, chat_id: int, title: str, *, type: str = "supergroup") -> FakeGroup:
        """Create (or return) a group chat the bot is in (negative id)."""
        existing = self._chats.get(chat_id)
        if isinstance(existing, FakeGroup):
            return existing
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if type not in ("group", "supergroup"):
            raise ValueError("type is 'group' or 'supergroup'")
        chat = FakeGroup(self, chat_id, title, type)
        self._chats[chat_id] = chat
        return chat

    def chat(self, chat_id: int) -> FakeChat:
        """The known chat with this id."""
        try:
            return self._chats[chat_id]
        except KeyError:
            raise AssertionError(f"no chat {chat_id}") from None

    def calls_to(self, method: str) -> list[ApiCall]:
        """The recorded calls of one method (case-insensitive)."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def file_bytes(self, file_id: str) -> bytes:
        """The content of a known file."""
        return self.files[file_id].data

    def my_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The commands set for a scope (default scope when None) and language."""
        return list(self.commands.get((_scope_key(scope), language_code), []))

    def answer_oddly(self, method: str, chat_id: int, *rewrites: Callable[[JSON], Any]) -> None:
        """Carry out the next calls of ``method`` to the chat as usual, but answer oddly.

        Each call takes effect (the message is delivered) and is answered 200 with the body
        ``rewrite({"ok": True, "result": ...})``: a null result, a date in milliseconds, an
        unknown or ill-typed field, as Telegram itself has been seen to answer.
        """
        self._odd_answers.setdefault((method.lower(), chat_id), deque()).extend(rewrites)

    def garble_next_update(self, rewrite: Callable[[JSON], JSON]) -> None:
        """Queue the next update (a message, a press, …) as ``rewrite(update)``."""
        self._odd_updates.append(rewrite)

    def redeliver(self, update: JSON) -> JSON:
        """Queue an update again with its own update_id, as Telegram does when unconfirmed."""
        again = copy.deepcopy(update)
        self._pending.append(again)
        self._touch()
        return again

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot."""
        return list(self._pending)

    @property
    def limits(self) -> RateLimits | None:
        """The rate limits being metered (None: no metering)."""
        return self._limits

    @limits.setter
    def limits(self, limits: RateLimits | None) -> None:
        self._limits = limits
        self._meter = _RateMeter(limits) if limits is not None else None

    def render_transcript(self, lines: Sequence[TranscriptLine] | None = None) -> str:
        """The transcript (or the given lines) as readable text."""
        return "\n".join(line.render() for line in (self.transcript if lines is None else lines))

    async def wait_idle(self, timeout: float = 10.0, quiet: float = 0.3) -> None:
        """Wait until all updates are confirmed and no API call happened for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            busy = self._busy_reason()
            wait: float | None = None
            if busy is None:
                idle_for = now - self._last_activity
                if idle_for >= quiet:
                    return
                wait = quiet - idle_for
            remaining = deadline - now
            if remaining <= 0:
                reason = busy or f"API activity within the last {quiet}s"
                raise AssertionError(f"emulator not idle after {timeout}s: {reason}")
            await self._changed.wait(remaining if wait is None else min(remaining, wait))

    # -- internal: state ---------------------------------------------------------------------

    def _touch(self) -> None:
        self._last_activity = time.monotonic()
        self._changed.notify()

    def _busy_reason(self) -> str | None:
        if self._pending:
            ids = [u["update_id"] for u in self._pending[:5]]
            return f"{len(self._pending)} update(s) not yet confirmed by the bot (ids {ids}...)"
        busy = [m for m in self._inflight.values() if m != "getUpdates"]
        if busy:
            return f"{len(busy)} API call(s) in progress: {busy}"
        return None

    def _line(
        self,
        chat_id: int,
        who: str,
        kind: str,
        text: str = "",
        *,
        to: str = "bot",
        buttons: list[list[InlineButton]] | None = None,
        keyboard: list[list[str]] | None = None,
        pressed: str | None = None,
        edited: bool = False,
        alert: bool = False,
        message_id: int | None = None,
    ) -> None:
        line = TranscriptLine(
            time=time.time(),
            chat_id=chat_id,
            who=who,
            kind=kind,
            text=text,
            to=to,
            buttons=tuple(tuple(b.text for b in row) for row in buttons or []),
            keyboard=tuple(tuple(row) for row in keyboard or []),
            pressed=pressed,
            edited=edited,
            alert=alert,
            message_id=message_id,
        )
        self.transcript.append(line)
        if self.on_line is not None:
            try:
                self.on_line(line)
            except Exception:
                log.exception("on_line hook failed")

    def _enqueue(self, body: JSON) -> JSON:
        update = {"update_id": self._next_update_id, **body}
        if self._odd_updates:
            update = self._odd_updates.popleft()(copy.deepcopy(update))
        self._next_update_id += 1
        self.updates.append(update)
        self._pending.append(update)
        self._touch()
        return update

    def _member_update(self, user: FakeUser, old: str, new: str) -> None:
        def member(status: str) -> JSON:
            result: JSON = {"status": status, "user": self.bot_user}
            if status == "kicked":
                result["until_date"] = 0
            return result

        self._line(user.id, user.name, "block" if new == "kicked" else "unblock")
        self._enqueue(
            {
                "my_chat_member": {
                    "chat": user.chat_object(),
                    "from": user.user_object(),
                    "date": _now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def _stored_for(self, message: SentMessage) -> _Stored:
        chat = self._chats.get(message.chat_id)
        stored = chat._stored.get(message.message_id) if chat else None
        if stored is None or stored.sent is None:
            raise AssertionError(f"message {message.message_id} is not a bot message here")
        if stored.deleted:
            raise AssertionError(f"message {message.message_id} was deleted; it can't be tapped")
        return stored

    def _press(self, user: FakeUser, stored: _Stored, data: str, *, label: str) -> str:
        chat = self._chats[stored.message["chat"]["id"]]
        if chat is user:
            user.started = True
        self._counter += 1
        query_id = f"{self.bot_id}{self._counter:012d}"
        self._callbacks[query_id] = _CallbackState(user=user)
        self._line(
            chat.id, user.name, "press", pressed=label, message_id=stored.message["message_id"]
        )
        instance = (chat.id * 2654435761 + self.bot_id) % 10**19
        self._enqueue(
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

    def _new_file_ids(self) -> tuple[str, str]:
        self._counter += 1
        n = self._counter
        return f"AgAD{n:06d}fake{self.bot_id}", f"AQAD{n:06d}"

    def _store_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> StoredFile:
        file_id, unique_id = self._new_file_ids()
        folder = {"photo": "photos", "document": "documents", "voice": "voice"}.get(
            kind, kind + "s"
        )
        default_ext = {"photo": ".jpg", "voice": ".oga", "sticker": ".webp"}.get(kind, "")
        ext = ""
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        path = f"{folder}/file_{self._counter}{ext or default_ext}"
        stored = StoredFile(
            file_id, unique_id, kind, data, path, file_name, mime_type, width, height
        )
        self.files[file_id] = stored
        self._paths[path] = stored
        return stored

    def _store_photo_size(self, data: bytes, width: int, height: int) -> JSON:
        stored = self._store_file("photo", data, mime_type="image/jpeg", width=width, height=height)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(data),
            "width": width,
            "height": height,
        }

    def _document_object(self, stored: StoredFile) -> JSON:
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    # -- internal: HTTP ----------------------------------------------------------------------

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error_response(BotAPIError(401, "Unauthorized"))
        stored = self._paths.get(request.match_info["path"])
        if stored is None:
            return _error_response(BotAPIError(404, "Not Found"))
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        entry = self._handlers.get(name.lower())
        early: BotAPIError | None = None
        try:
            values, files = await _read_request(request)
        except BotAPIError as exc:
            values, files, early = {}, {}, exc
        if request.match_info["token"] != self.token:
            early = BotAPIError(401, "Unauthorized")
        call = ApiCall(method=entry[0] if entry else name, params=values, time=time.time())
        call.files = files
        self.calls.append(call)
        key = id(call)
        polling = call.method == "getUpdates"
        self._inflight[key] = call.method
        if not polling:
            self._touch()
        try:
            if early is not None:
                return self._finish(call, early)
            if entry is None:
                return self._finish(call, BotAPIError(404, "Not Found"))
            fault = self.faults.pick(call.method) if self.faults is not None else None
            if fault is not None:
                return await self._inject(request, call, fault)
            status, body = await self._execute(call, entry[1], _Params(values, files))
            if status == 200 and self._odd_answers:
                body = self._oddly(call, body)
            return web.json_response(body, status=status, dumps=_dumps)
        finally:
            self._inflight.pop(key, None)
            if polling:
                self._changed.notify()
            else:
                self._touch()

    def _oddly(self, call: ApiCall, body: JSON) -> Any:
        """Return the answer to a call that took effect, rewritten if `answer_oddly` asked so."""
        chat_id = 0
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(call.params.get("chat_id") or 0)  # form-encoded calls carry text
        odd = self._odd_answers.get((call.method.lower(), chat_id))
        if not odd:
            return body
        call.fault = "odd answer"
        return odd.popleft()(copy.deepcopy(body))

    def _finish(self, call: ApiCall, error: BotAPIError) -> web.Response:
        call.ok, call.error_code, call.description = False, error.code, error.description
        return _error_response(error)

    async def _execute(self, call: ApiCall, handler: Handler, params: _Params) -> tuple[int, JSON]:
        try:
            result = await handler(params)
        except BotAPIError as exc:
            call.ok, call.error_code, call.description = False, exc.code, exc.description
            return exc.code, exc.body()
        except Exception as exc:
            log.exception("emulator failed on %s", call.method)
            self.server_errors.append(exc)
            description = f"Internal Server Error: emulator bug: {exc!r}"
            call.ok, call.error_code, call.description = False, 500, description
            return 500, BotAPIError(500, description).body()
        call.ok, call.result = True, result
        return 200, {"ok": True, "result": result}

    async def _inject(self, request: web.Request, call: ApiCall, kind: str) -> web.StreamResponse:
        assert self.faults is not None
        call.fault = kind
        call.ok = False
        self.injected_faults.append(InjectedFault(call.method, kind, time.time()))
        if kind == "429":
            retry = self.faults.retry_after
            error = BotAPIError(
                429, f"Too Many Requests: retry after {retry}", {"retry_after": retry}
            )
            return self._finish(call, error)
        if kind == "500":
            return self._finish(call, BotAPIError(500, "Internal Server Error"))
        if kind == "502":
            return self._finish(call, BotAPIError(502, "Bad Gateway"))
        call.description = f"injected fault: {kind} (no response)"
        if kind == "timeout":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.faults.hold)
        transport = request.transport
        if transport is not None:
            transport.close()
        return web.Response(status=502)

    # -- internal: method table --------------------------------------------------------------

    def add_method(self, name: str, handler: Callable[[JSON], Any]) -> None:
        """Serve an extra (or replace a) Bot API method: handler(params) -> result or awaitable.

        Raise BotAPIError from the handler to answer with a Telegram error.
        """

        async def wrapped(p: _Params) -> Any:
            result = handler(p.values)
            if inspect.isawaitable(result):
                result = await result
            return result

        self._handlers[name.lower()] = (name, wrapped)

    def _register_methods(self) -> None:
        table: dict[str, Handler] = {
            "getMe": self._m_get_me,
            "getUpdates": self._m_get_updates,
            "setWebhook": self._m_set_webhook,
            "deleteWebhook": self._m_delete_webhook,
            "getWebhookInfo": self._m_get_webhook_info,
            "setMyCommands": self._m_set_my_commands,
            "getMyCommands": self._m_get_my_commands,
            "deleteMyCommands": self._m_delete_my_commands,
            "setMyDescription": self._m_set_my_description,
            "getMyDescription": self._m_get_my_description,
            "setMyShortDescription": self._m_set_my_short_description,
            "getMyShortDescription": self._m_get_my_short_description,
            "setChatMenuButton": self._m_set_chat_menu_button,
            "getChatMenuButton": self._m_get_chat_menu_button,
            "sendMessage": self._m_send_message,
            "sendPhoto": self._m_send_photo,
            "sendDocument": self._m_send_document,
            "sendLocation": self._m_send_location,
            "sendChatAction": self._m_send_chat_action,
            "editMessageText": self._m_edit_message_text,
            "editMessageCaption": self._m_edit_message_caption,
            "editMessageReplyMarkup": self._m_edit_message_reply_markup,
            "deleteMessage": self._m_delete_message,
            "answerCallbackQuery": self._m_answer_callback_query,
            "getFile": self._m_get_file,
            "getChat": self._m_get_chat,
            "close": self._m_true,
            "logOut": self._m_true,
        }
        self._handlers = {name.lower(): (name, handler) for name, handler in table.items()}

    # -- internal: validation helpers --------------------------------------------------------

    def _resolve_chat(self, p: _Params, *, send: bool) -> FakeChat:
        raw = p.values.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        chat_id: int | None
        try:
            chat_id = p.integer("chat_id")
        except BotAPIError:
            chat_id = None
        chat = self._chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise _bad("chat not found")
        if send and isinstance(chat, FakeUser):
            if chat.blocked:
                raise BotAPIError(403, "Forbidden: bot was blocked by the user")
            if not chat.started:
                raise BotAPIError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _format(
        self,
        p: _Params,
        field_name: str,
        mode_field: str,
        entities_field: str,
        *,
        limit: int,
        required: bool,
        empty: str,
        too_long: str,
    ) -> tuple[str, list[JSON], str] | None:
        raw = p.text(field_name)
        if raw is None or raw == "":
            if required:
                raise _bad(empty)
            return None
        mode = (p.text(mode_field) or "").lower()
        entities: list[JSON] = []
        try:
            if mode == "html":
                plain, entities = parse_html(raw)
            elif mode == "markdownv2":
                plain = _parse_markdown_v2(raw)
            elif mode == "markdown":
                plain = _parse_markdown_legacy(raw)
            elif mode == "":
                plain = raw
                given = p.obj(entities_field)
                if isinstance(given, list):
                    entities = [e for e in given if isinstance(e, dict)]
            else:
                raise _bad("unsupported parse_mode")
        except ValueError as exc:
            raise _entity_error(str(exc)) from None
        plain, entities = _trim(plain, entities)
        if not plain:
            if required:
                raise _bad(empty)
            return None
        if len(plain) > limit:
            raise _bad(too_long)
        return plain, entities, raw

    def _text(self, p: _Params) -> tuple[str, list[JSON], str]:
        result = self._format(
            p,
            "text",
            "parse_mode",
            "entities",
            limit=TEXT_LIMIT,
            required=True,
            empty="message text is empty",
            too_long="message is too long",
        )
        assert result is not None
        return result

    def _caption(self, p: _Params) -> tuple[str, list[JSON], str] | None:
        return self._format(
            p,
            "caption",
            "parse_mode",
            "caption_entities",
            limit=CAPTION_LIMIT,
            required=False,
            empty="",
            too_long="message caption is too long",
        )

    def _markup(self, p: _Params) -> _Markup:
        value = p.obj("reply_markup")
        if value is None:
            return _Markup()
        if not isinstance(value, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in value:
            return _Markup(inline=_validate_inline(value["inline_keyboard"]))
        if "keyboard" in value:
            rows = value["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad("can't parse reply keyboard markup JSON object")
            texts = [
                [b if isinstance(b, str) else str(b.get("text", "")) for b in row] for row in rows
            ]
            return _Markup(keyboard=texts)
        if value.get("remove_keyboard"):
            return _Markup(remove=True)
        if value.get("force_reply"):
            return _Markup(force_reply=True)
        raise _bad("can't parse reply keyboard markup JSON object")

    def _reply_target(self, chat: FakeChat, p: _Params) -> JSON | None:
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
            raise _bad("message to be replied not found")
        replied = dict(stored.message)
        replied.pop("reply_to_message", None)
        return replied

    def _guard(self, method: str, chat_id: int) -> None:
        meter = self._meter
        if meter is None or method.lower() not in meter.methods:
            return
        now = meter.limits.clock()
        over = meter.check(chat_id, now)
        if over is not None:
            scope, retry = over
            enforced = meter.limits.enforce
            self.rate_violations.append(
                RateViolation(method, chat_id, scope, time.time(), retry, enforced)
            )
            if enforced:
                raise BotAPIError(
                    429, f"Too Many Requests: retry after {retry}", {"retry_after": retry}
                )
        meter.record(chat_id, now)

    def _deliver(
        self,
        chat: FakeChat,
        kind: str,
        content: JSON,
        *,
        raw_text: str,
        markup: _Markup,
        reply: JSON | None,
    ) -> JSON:
        message_id = chat._new_id()
        message: JSON = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": chat.chat_object(),
            "date": _now(),
            **content,
        }
        if reply is not None:
            message["reply_to_message"] = reply
        if markup.inline is not None:
            message["reply_markup"] = markup.inline
        if markup.keyboard is not None:
            chat.reply_keyboard = markup.keyboard
        elif markup.remove:
            chat.reply_keyboard = None
        sent = SentMessage(
            message_id=message_id,
            chat_id=chat.id,
            kind=kind,
            reply_keyboard=markup.keyboard,
            force_reply=markup.force_reply,
            date=message["date"],
        )
        _sync(sent, message, raw_text)
        chat._stored[message_id] = _Stored(message=message, sent=sent)
        chat.messages.append(sent)
        chat._record_event(sent)
        self._line(
            chat.id,
            f"bot → {chat.name}",
            kind,
            _summary(sent),
            buttons=sent.buttons,
            keyboard=markup.keyboard,
            message_id=message_id,
        )
        return copy.deepcopy(message)

    def _edit_target(self, p: _Params) -> tuple[FakeChat, _Stored]:
        if p.has("inline_message_id") and not p.has("chat_id"):
            raise _bad("message to edit not found")
        chat = self._resolve_chat(p, send=True)
        message_id = p.integer("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        stored = chat._stored.get(message_id)
        if stored is None or stored.deleted:
            raise _bad("message to edit not found")
        if stored.sent is None:
            raise _bad("message can't be edited")
        return chat, stored

    def _apply_edit(
        self, method: str, chat: FakeChat, stored: _Stored, new: JSON, raw: str
    ) -> JSON:
        old = stored.message
        if all(new.get(k) == old.get(k) for k in _EDITABLE_KEYS):
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        self._guard(method, chat.id)
        new["edit_date"] = _now()
        stored.message = new
        sent = stored.sent
        assert sent is not None
        sent.edits += 1
        _sync(sent, new, raw)
        chat._record_event(sent)
        self._line(
            chat.id,
            f"bot → {chat.name}",
            "edit",
            _summary(sent),
            buttons=sent.buttons,
            edited=True,
            message_id=sent.message_id,
        )
        return copy.deepcopy(new)

    # -- methods: bot & updates --------------------------------------------------------------

    async def _m_true(self, p: _Params) -> bool:
        return True

    async def _m_get_me(self, p: _Params) -> JSON:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_get_updates(self, p: _Params) -> list[JSON]:
        if self.webhook_url:
            raise BotAPIError(409, WEBHOOK_CONFLICT)
        offset = p.integer("offset")
        limit = min(100, max(1, p.integer("limit") or 100))
        timeout = max(0.0, p.number("timeout") or 0.0)
        allowed = p.obj("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = [str(a) for a in allowed]
        self._poll_generation += 1
        generation = self._poll_generation
        self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._take(limit)
            if batch or self._stopping.is_set():
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self._changed.wait(remaining)
            if self._poll_generation != generation:
                raise BotAPIError(409, POLL_CONFLICT)

    def _confirm(self, offset: int | None) -> None:
        if not offset:
            return
        before = len(self._pending)
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        else:
            self._pending = self._pending[offset:]
        if len(self._pending) != before:
            self._touch()

    def _allowed(self, update: JSON) -> bool:
        kind = _update_type(update)
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in _NOT_DEFAULT_UPDATES

    def _drop_disallowed(self) -> None:
        keep = []
        for update in self._pending:
            if self._allowed(update):
                keep.append(update)
            else:
                self.dropped_updates.append(update)
        if len(keep) != len(self._pending):
            self._pending = keep
            self._touch()

    def _take(self, limit: int) -> list[JSON]:
        self._drop_disallowed()
        # A queued update is built from copies and never changed in place, so it is handed out as
        # it is: copying every unconfirmed update on every call cost more than the bot under test.
        batch = self._pending[:limit]
        if batch:
            self._touch()
        return batch

    async def _m_set_webhook(self, p: _Params) -> bool:
        url = p.text("url") or ""
        if url and not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.text("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad("secret token contains unallowed characters")
        allowed = p.obj("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = [str(a) for a in allowed]
        if p.flag("drop_pending_updates"):
            self._drop_all_pending()
        await self._stop_webhook_worker()
        self.webhook_url = url
        self.webhook_secret = secret
        self._webhook_max_connections = p.integer("max_connections")
        self._webhook_error = None
        if url:
            self._webhook_task = asyncio.create_task(self._webhook_worker())
        self._touch()
        return True

    async def _m_delete_webhook(self, p: _Params) -> bool:
        if p.flag("drop_pending_updates"):
            self._drop_all_pending()
        await self._stop_webhook_worker()
        self.webhook_url = ""
        self.webhook_secret = None
        self._webhook_error = None
        return True

    def _drop_all_pending(self) -> None:
        self._pending = []
        self._touch()

    async def _m_get_webhook_info(self, p: _Params) -> JSON:
        info: JSON = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        if self.webhook_url:
            info["max_connections"] = self._webhook_max_connections or 40
            if self.allowed_updates:
                info["allowed_updates"] = list(self.allowed_updates)
        return info

    async def _stop_webhook_worker(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        session, self._webhook_session = self._webhook_session, None
        if session is not None:
            await session.close()

    async def _webhook_worker(self) -> None:
        session = self._webhook_session = aiohttp.ClientSession()
        self._webhook_delay = self.webhook_retry_delay
        posting: dict[int, asyncio.Task[bool]] = {}  # update_id → its POST
        while self.webhook_url and not self._stopping.is_set():
            self._drop_disallowed()
            chats: set[int | None] = set()  # chats with an earlier update pending or on the way
            for update in list(self._pending):
                chat = _update_chat(update)
                waits = chat in chats or len(posting) >= max(1, self.webhook_parallel)
                chats.add(chat if chat is not None else id(update))
                if update["update_id"] in posting or waits:
                    continue
                posting[update["update_id"]] = asyncio.create_task(
                    self._post_update(session, update)
                )
            changed = asyncio.create_task(self._changed.next())
            try:
                done, _ = await asyncio.wait(
                    [changed, *posting.values()], return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                changed.cancel()
            for update_id, task in list(posting.items()):
                if task in done:
                    del posting[update_id]
                    if not task.cancelled() and task.exception() is None and task.result():
                        continue
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), self._webhook_delay)
                    self._webhook_delay = min(self._webhook_delay * 2, 5.0)
        for task in posting.values():
            task.cancel()
        await asyncio.gather(*posting.values(), return_exceptions=True)

    async def _post_update(self, session: aiohttp.ClientSession, update: JSON) -> bool:
        """POST one update to the webhook; on success take it off the queue; say whether it was."""
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        status: int | None = None
        error: str | None = None
        reply: tuple[JSON, dict[str, UploadedFile]] | None = None
        try:
            async with session.post(
                self.webhook_url,
                data=_dumps(update).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as resp:
                status = resp.status
                if 200 <= status < 300:
                    reply = await _read_webhook_reply(resp)
                else:
                    error = f"Wrong response from the webhook: {status} {resp.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"Connection failed: {type(exc).__name__}: {exc}"
        self.webhook_deliveries.append(
            WebhookDelivery(update["update_id"], self.webhook_url, status, error, time.time())
        )
        if error is not None:
            self._webhook_error = (_now(), error)
            self._touch()
            return False
        self._pending = [u for u in self._pending if u is not update]
        self._webhook_delay = self.webhook_retry_delay
        self._touch()
        if reply is not None:
            await self._run_webhook_reply(*reply)
        return True

    async def _run_webhook_reply(self, values: JSON, files: dict[str, UploadedFile]) -> None:
        name = str(values.pop("method", ""))
        entry = self._handlers.get(name.lower())
        values = _normalize(values, files)
        call = ApiCall(method=entry[0] if entry else name, params=values, time=time.time())
        call.files = files
        self.calls.append(call)
        if entry is None:
            self._finish(call, BotAPIError(404, "Not Found"))
            return
        await self._execute(call, entry[1], _Params(values, files))
        self._touch()

    # -- methods: commands & settings --------------------------------------------------------

    async def _m_set_my_commands(self, p: _Params) -> bool:
        commands = p.obj("commands")
        if not isinstance(commands, list):
            raise _bad('parameter "commands" is required')
        if len(commands) > 100:
            raise _bad("too many commands")
        cleaned: list[JSON] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand")
            name = str(command.get("command", "")).removeprefix("/")
            description = str(command.get("description", ""))
            if not _BOT_COMMAND_RE.match(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = (_scope_key(p.obj("scope")), p.text("language_code") or "")
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    async def _m_get_my_commands(self, p: _Params) -> list[JSON]:
        return self.my_commands(p.obj("scope"), p.text("language_code") or "")

    async def _m_delete_my_commands(self, p: _Params) -> bool:
        self.commands.pop((_scope_key(p.obj("scope")), p.text("language_code") or ""), None)
        return True

    async def _m_set_my_description(self, p: _Params) -> bool:
        self.descriptions[("description", p.text("language_code") or "")] = (
            p.text("description") or ""
        )
        return True

    async def _m_get_my_description(self, p: _Params) -> JSON:
        key = ("description", p.text("language_code") or "")
        return {"description": self.descriptions.get(key, "")}

    async def _m_set_my_short_description(self, p: _Params) -> bool:
        key = ("short_description", p.text("language_code") or "")
        self.descriptions[key] = p.text("short_description") or ""
        return True

    async def _m_get_my_short_description(self, p: _Params) -> JSON:
        key = ("short_description", p.text("language_code") or "")
        return {"short_description": self.descriptions.get(key, "")}

    async def _m_set_chat_menu_button(self, p: _Params) -> bool:
        button = p.obj("menu_button")
        self.menu_buttons[p.integer("chat_id")] = (
            button if isinstance(button, dict) else {"type": "default"}
        )
        return True

    async def _m_get_chat_menu_button(self, p: _Params) -> JSON:
        chat_id = p.integer("chat_id")
        found = self.menu_buttons.get(chat_id) or self.menu_buttons.get(None)
        return found or {"type": "commands"}

    # -- methods: sending --------------------------------------------------------------------

    async def _m_send_message(self, p: _Params) -> JSON:
        chat = self._resolve_chat(p, send=True)
        text, entities, raw = self._text(p)
        markup = self._markup(p)
        reply = self._reply_target(chat, p)
        self._guard("sendMessage", chat.id)
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return self._deliver(chat, "text", content, raw_text=raw, markup=markup, reply=reply)

    @staticmethod
    def _media_content(
        key: str, media: JSON | list[JSON], caption: tuple[str, list[JSON], str] | None
    ) -> tuple[JSON, str]:
        content: JSON = {key: media}
        raw = ""
        if caption is not None:
            content["caption"], entities, raw = caption
            if entities:
                content["caption_entities"] = entities
        return content, raw

    async def _m_send_photo(self, p: _Params) -> JSON:
        chat = self._resolve_chat(p, send=True)
        ref = p.file_ref("photo")
        if ref is None:
            raise _bad("there is no photo in the request")
        caption = self._caption(p)
        markup = self._markup(p)
        reply = self._reply_target(chat, p)
        sizes = self._photo_sizes(ref)
        self._guard("sendPhoto", chat.id)
        content, raw = self._media_content("photo", sizes, caption)
        return self._deliver(chat, "photo", content, raw_text=raw, markup=markup, reply=reply)

    def _photo_sizes(self, ref: UploadedFile | str) -> list[JSON]:
        if isinstance(ref, UploadedFile):
            if not ref.data:
                raise _bad("file must be non-empty")
            data = ref.data
            width, height = _image_size(data) or (800, 600)
        elif ref.startswith(("http://", "https://")):
            width, height = 800, 600
            data = _fake_jpeg(width, height, self._counter)
        else:
            known = self._photo_sets.get(ref)
            if known is not None:
                return copy.deepcopy(known)
            stored = self.files.get(ref)
            if stored is None:
                raise _bad("wrong file identifier/HTTP URL specified")
            if stored.kind != "photo":
                raise _bad("type of file mismatch")
            data = stored.data
            width, height = stored.width or 800, stored.height or 600
        small_w, small_h = _scaled(width, height, 320)
        big_w, big_h = _scaled(width, height, 1280)
        sizes = [self._store_photo_size(data, small_w, small_h)]
        if (big_w, big_h) != (small_w, small_h):
            sizes.append(self._store_photo_size(data, big_w, big_h))
        for size in sizes:
            self._photo_sets[size["file_id"]] = sizes
        if isinstance(ref, str) and ref in self.files:
            self._photo_sets[ref] = sizes
        return copy.deepcopy(sizes)

    async def _m_send_document(self, p: _Params) -> JSON:
        chat = self._resolve_chat(p, send=True)
        ref = p.file_ref("document")
        if ref is None:
            raise _bad("there is no document in the request")
        caption = self._caption(p)
        markup = self._markup(p)
        reply = self._reply_target(chat, p)
        if isinstance(ref, UploadedFile):
            if not ref.data:
                raise _bad("file must be non-empty")
            mime = ref.content_type or mimetypes.guess_type(ref.filename)[0]
            stored = self._store_file("document", ref.data, file_name=ref.filename, mime_type=mime)
        elif ref.startswith(("http://", "https://")):
            file_name = ref.rstrip("/").rsplit("/", 1)[-1] or "file"
            stored = self._store_file(
                "document", b"downloaded", file_name=file_name, mime_type=None
            )
        else:
            known = self.files.get(ref)
            if known is None:
                raise _bad("wrong file identifier/HTTP URL specified")
            if known.kind != "document":
                raise _bad("type of file mismatch")
            stored = known
        self._guard("sendDocument", chat.id)
        content, raw = self._media_content("document", self._document_object(stored), caption)
        return self._deliver(chat, "document", content, raw_text=raw, markup=markup, reply=reply)

    async def _m_send_location(self, p: _Params) -> JSON:
        chat = self._resolve_chat(p, send=True)
        latitude, longitude = p.number("latitude"), p.number("longitude")
        if latitude is None or longitude is None:
            raise _bad("wrong latitude or longitude specified")
        markup = self._markup(p)
        reply = self._reply_target(chat, p)
        self._guard("sendLocation", chat.id)
        content: JSON = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._deliver(chat, "location", content, raw_text="", markup=markup, reply=reply)

    async def _m_send_chat_action(self, p: _Params) -> bool:
        self._resolve_chat(p, send=True)
        if (p.text("action") or "") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    # -- methods: editing --------------------------------------------------------------------

    async def _m_edit_message_text(self, p: _Params) -> JSON:
        chat, stored = self._edit_target(p)
        if "text" not in stored.message:
            raise _bad("there is no text in the message to edit")
        text, entities, raw = self._text(p)
        markup = self._markup(p)
        new = dict(stored.message)
        new["text"] = text
        _set_or_drop(new, "entities", entities or None)
        _set_or_drop(new, "reply_markup", markup.inline)
        return self._apply_edit("editMessageText", chat, stored, new, raw)

    async def _m_edit_message_caption(self, p: _Params) -> JSON:
        chat, stored = self._edit_target(p)
        if "text" in stored.message:
            raise _bad("there is no caption in the message to edit")
        caption = self._caption(p)
        markup = self._markup(p)
        new = dict(stored.message)
        raw = ""
        if caption is None:
            new.pop("caption", None)
            new.pop("caption_entities", None)
        else:
            new["caption"], entities, raw = caption
            _set_or_drop(new, "caption_entities", entities or None)
        _set_or_drop(new, "reply_markup", markup.inline)
        return self._apply_edit("editMessageCaption", chat, stored, new, raw)

    async def _m_edit_message_reply_markup(self, p: _Params) -> JSON:
        chat, stored = self._edit_target(p)
        markup = self._markup(p)
        new = dict(stored.message)
        _set_or_drop(new, "reply_markup", markup.inline)
        raw = stored.sent.raw_text if stored.sent else ""
        return self._apply_edit("editMessageReplyMarkup", chat, stored, new, raw)

    async def _m_delete_message(self, p: _Params) -> bool:
        chat = self._resolve_chat(p, send=False)
        message_id = p.integer("message_id")
        stored = chat._stored.get(message_id) if message_id is not None else None
        if stored is None or stored.deleted:
            raise _bad("message to delete not found")
        stored.deleted = True
        if stored.sent is not None:
            stored.sent.deleted = True
            text = _summary(stored.sent)
        else:
            text = str(stored.message.get("text") or stored.message.get("caption") or "")
        self._line(chat.id, f"bot → {chat.name}", "delete", text, message_id=message_id)
        return True

    async def _m_answer_callback_query(self, p: _Params) -> bool:
        query_id = p.text("callback_query_id") or ""
        state = self._callbacks.get(query_id)
        if state is None or state.answered:
            raise _bad(QUERY_TOO_OLD.removeprefix("Bad Request: "))
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
            self._line(user.id, f"bot → {user.name}", "answer", text, alert=answer.show_alert)
        return True

    # -- methods: files & chats --------------------------------------------------------------

    async def _m_get_file(self, p: _Params) -> JSON:
        stored = self.files.get(p.text("file_id") or "")
        if stored is None:
            raise _bad("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _m_get_chat(self, p: _Params) -> JSON:
        chat = self._resolve_chat(p, send=False)
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


# ---------------------------------------------------------------------------------------------
# Small helpers used by the server


def _error_response(error: BotAPIError) -> web.Response:
    return web.json_response(error.body(), status=error.code, dumps=_dumps)


def _scope_key(scope: Any) -> str:
    if not isinstance(scope, dict) or not scope:
        scope = {"type": "default"}
    return json.dumps(scope, sort_keys=True)


def _set_or_drop(message: JSON, key: str, value: Any) -> None:
    if value is None:
        message.pop(key, None)
    else:
        message[key] = value


def _validate_inline(rows: Any) -> JSON:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad('can\'t parse inline keyboard button: field "inline_keyboard" must be an Array')
    if sum(len(row) for row in rows) > 100:
        raise _bad("reply markup is too long")
    clean_rows: list[list[JSON]] = []
    for row in rows:
        clean_row: list[JSON] = []
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            clean = {k: v for k, v in button.items() if v is not None}
            actions = set(clean) - {"text"}
            if not actions:
                raise _bad(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in clean:
                data = clean["callback_data"]
                size = len(str(data).encode("utf-8"))
                if not isinstance(data, str) or not 1 <= size <= CALLBACK_DATA_LIMIT:
                    raise _bad("BUTTON_DATA_INVALID")
            if "url" in clean and not str(clean["url"]).strip():
                raise _bad("BUTTON_URL_INVALID")
            clean_row.append(clean)
        clean_rows.append(clean_row)
    return {"inline_keyboard": clean_rows}


def _sync(sent: SentMessage, message: JSON, raw_text: str) -> None:
    """Refresh the user's view of a bot message from its Telegram object."""
    sent.text = str(message.get("text") or message.get("caption") or "")
    sent.raw_text = raw_text or sent.text
    photo = message.get("photo")
    sent.photo_file_id = photo[-1]["file_id"] if photo else None
    sent.document = message.get("document")
    sent.buttons = _buttons_of(message.get("reply_markup"))
    sent.raw = message


def _summary(sent: SentMessage) -> str:
    prefix = ""
    if sent.kind == "photo":
        prefix = "[photo] "
    elif sent.kind == "document" and sent.document:
        prefix = f"[document: {sent.document.get('file_name', 'file')}] "
    elif sent.kind == "location":
        location = sent.raw.get("location", {})
        prefix = f"[location {location.get('latitude')}, {location.get('longitude')}] "
    return (prefix + sent.text).strip()


async def _read_webhook_reply(
    resp: aiohttp.ClientResponse,
) -> tuple[JSON, dict[str, UploadedFile]] | None:
    """A method call in the webhook's response body, as Telegram allows, or None."""
    values: JSON = {}
    files: dict[str, UploadedFile] = {}
    if resp.content_type == "application/json":
        raw = await resp.read()
        with contextlib.suppress(ValueError):
            data = json.loads(raw) if raw.strip() else None
            if isinstance(data, dict):
                values.update(data)
    elif resp.content_type.startswith("multipart/"):
        await _read_multipart(aiohttp.MultipartReader(resp.headers, resp.content), values, files)
    if not values.get("method"):
        return None
    return values, files
