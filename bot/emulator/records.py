"""What the emulator remembers and hands to tests: sent messages, calls, transcript lines, files."""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


class Waits:
    """How long a simulated person waits for the bot when a test names no bound (seconds).

    A bound for a bot that never answers, not a measure of speed: a test suite on a small,
    busy machine may raise it (tests/conftest.py does).
    """

    seconds: float = 5.0


Match = str | Callable[["SentMessage"], bool] | None


def now() -> int:
    """The current Unix time, as Telegram dates messages."""
    return int(time.time())


def dumps(obj: Any) -> str:
    """JSON text as Telegram writes it (UTF-8, not escaped)."""
    return json.dumps(obj, ensure_ascii=False)


class Serial:
    """One counter shared by file ids, callback query ids and fake image salts."""

    def __init__(self) -> None:
        self.value = 0

    def next(self) -> int:
        """Advance and return the new value."""
        self.value += 1
        return self.value


@dataclass(frozen=True)
class InlineButton:
    """One inline keyboard button as the user sees it."""

    text: str
    callback_data: str | None = None
    url: str | None = None
    web_app: str | None = None  # a Mini App's URL (web_app.url)


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


@dataclass(frozen=True)
class InjectedFault:
    """A fault the emulator injected instead of answering a call."""

    method: str
    kind: str
    time: float


@dataclass(frozen=True)
class RateViolation:
    """A send that exceeded a limit; ``enforced`` means it was refused with 429."""

    method: str
    chat_id: int
    scope: str
    time: float
    retry_after: int
    enforced: bool


@dataclass
class Stored:
    """A message as the emulator keeps it: the Telegram object and, for bot messages, the view."""

    message: JSON
    sent: SentMessage | None = None
    deleted: bool = False
