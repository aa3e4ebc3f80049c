"""The Bot API as aiogram and python-telegram-bot both spell it: what the two adapters share.

Both libraries mirror Telegram's method, parameter and field names. So reading a message into an
`Incoming`, building keyboards, carrying out a reply and sorting errors into ours is written once
here; an adapter adds its library's classes, its routing of updates and its HTTP session.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any, Protocol, TypeVar

from bot.incoming import (
    ALLOWED_UPDATES,
    CallbackQuery,
    Message,
    incoming_callback,
    incoming_message,
    unreadable_update,
)
from bot.sending import Blocked, Rejected, RetryAfter, SendFailed, Transient
from handlers.events import (
    Answer,
    Edit,
    Incoming,
    Keyboard,
    Reply,
    Send,
    SetCommands,
    SetMenuButton,
    Unreadable,
)

log = logging.getLogger(__name__)

Respond = Callable[[Incoming | Unreadable], Awaitable[None]]
T = TypeVar("T")
MAX_TEXT = 4096
MAX_CAPTION = 1024
LOGGED_ANSWER = 500  # characters of an odd answer or update kept in the log
# The answers a library received during the Bot API call being made (see `BotApiAdapter._call`):
# a library that reads the answer after it returned it (PTB) records it here first.
ANSWERS: ContextVar[list[object] | None] = ContextVar("ANSWERS", default=None)


class UnreadableAnswer(Exception):
    """Telegram answered 2xx with ok: true, but the library could not read the result.

    The request took effect (a message was sent): it must count as done, never be repeated.
    """

    def __init__(self, answer: object, error: Exception) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.answer = answer


def shortened(data: object, limit: int = LOGGED_ANSWER) -> str:
    """Return JSON-like data as one line for the log, cut to `limit` characters."""
    try:
        line = json.dumps(data, ensure_ascii=False, default=repr)
    except ValueError:  # circular, or too deep to write
        line = repr(data)
    return cut(line, limit)


# -- what Sandan reads of Telegram's objects, in either library ---------------------------------


# -- what Sandan asks of the Bot API, in either library ------------------------------------------


class Named(Protocol):
    """The bot's own user, as getMe returns it."""

    @property
    def username(self) -> str | None: ...


class WebhookInfo(Protocol):
    """What getWebhookInfo returns, as far as operators care."""

    @property
    def url(self) -> str: ...
    @property
    def pending_update_count(self) -> int: ...
    @property
    def last_error_date(self) -> datetime | None: ...
    @property
    def last_error_message(self) -> str | None: ...
    @property
    def allowed_updates(self) -> Sequence[str] | None: ...


class BotApi(Protocol):
    """The Bot API methods Sandan calls, as both libraries' Bot classes spell them."""

    def get_me(self) -> Awaitable[Named]: ...
    def set_webhook(
        self, url: str, *, secret_token: str, allowed_updates: list[str]
    ) -> Awaitable[bool]: ...
    def delete_webhook(self, *, drop_pending_updates: bool) -> Awaitable[bool]: ...
    def get_webhook_info(self) -> Awaitable[WebhookInfo]: ...
    def send_message(self, chat_id: int, text: str, *, reply_markup: Any) -> Awaitable[object]: ...
    def send_photo(
        self, chat_id: int, photo: Any, *, caption: str, reply_markup: Any
    ) -> Awaitable[object]: ...
    def send_voice(
        self, chat_id: int, voice: Any, *, caption: str, reply_markup: Any
    ) -> Awaitable[object]: ...
    def send_video_note(
        self, chat_id: int, video_note: Any, *, reply_markup: Any
    ) -> Awaitable[object]: ...
    def send_audio(
        self, chat_id: int, audio: Any, *, caption: str, reply_markup: Any
    ) -> Awaitable[object]: ...
    def edit_message_text(
        self, text: str, *, chat_id: int, message_id: int, reply_markup: Any
    ) -> Awaitable[object]: ...
    def edit_message_reply_markup(
        self, *, chat_id: int, message_id: int, reply_markup: Any
    ) -> Awaitable[object]: ...
    def answer_callback_query(
        self, callback_query_id: str, *, text: str | None, show_alert: bool
    ) -> Awaitable[bool]: ...
    def set_my_commands(
        self, commands: list[Any], *, scope: Any, language_code: str | None
    ) -> Awaitable[bool]: ...
    def set_chat_menu_button(self, *, chat_id: int, menu_button: Any) -> Awaitable[bool]: ...


@dataclass(frozen=True)
class Classes:
    """A library's classes for what Sandan sends: keyboards, commands and command scopes."""

    inline_keyboard: Callable[..., object]
    inline_button: Callable[..., object]
    reply_keyboard: Callable[..., object]
    reply_button: Callable[..., object]
    remove_keyboard: Callable[[], object]
    command: Callable[..., object]
    chat_scope: Callable[..., object]
    default_scope: Callable[[], object]
    upload: Callable[..., object]  # a file to upload, from its bytes and filename=
    web_app: Callable[..., object]  # WebAppInfo(url=): a Mini App (console, issue 18)
    menu_button_web_app: Callable[..., object]  # MenuButtonWebApp(text=, web_app=)

    @classmethod
    def named_in(cls, types: ModuleType) -> Classes:
        """Return the classes of a library that names them as the Bot API does (both do)."""
        return cls(
            inline_keyboard=types.InlineKeyboardMarkup,
            inline_button=types.InlineKeyboardButton,
            reply_keyboard=types.ReplyKeyboardMarkup,
            reply_button=types.KeyboardButton,
            remove_keyboard=types.ReplyKeyboardRemove,
            command=types.BotCommand,
            chat_scope=types.BotCommandScopeChat,
            default_scope=types.BotCommandScopeDefault,
            # aiogram's InputFile is abstract, its BufferedInputFile takes bytes; PTB's takes them
            upload=getattr(types, "BufferedInputFile", None) or types.InputFile,
            web_app=types.WebAppInfo,
            menu_button_web_app=types.MenuButtonWebApp,
        )


@dataclass(frozen=True)
class Errors:
    """A library's exceptions sorted into our kinds of failure, tried in this order."""

    retry_after: type[Exception]
    seconds: Callable[[Exception], float]  # how long a retry_after error asks us to wait
    blocked: tuple[type[Exception], ...]
    rejected: tuple[type[Exception], ...]  # before transient: PTB's BadRequest is a NetworkError
    transient: tuple[type[Exception], ...]
    base: type[Exception]  # anything else the library raises: the request itself was refused

    def ours(self, error: Exception) -> SendFailed | None:
        """Return our kind of failure for the library's error, or None for other exceptions."""
        text = str(getattr(error, "message", error))
        if isinstance(error, self.retry_after):
            return RetryAfter(self.seconds(error))
        if isinstance(error, self.blocked):
            return Blocked(text)
        if isinstance(error, self.rejected):
            return Rejected(text)
        if isinstance(error, self.transient):
            return Transient(text)
        if isinstance(error, self.base):
            return Rejected(text)
        return None


@dataclass(frozen=True)
class WebhookState:
    """Where Telegram delivers updates, and how that goes."""

    url: str
    pending_updates: int
    last_error: str | None
    last_error_at: datetime | None
    allowed_updates: tuple[str, ...]

    def lines(self) -> list[str]:
        """Return the state as lines for the command line."""
        return [
            f"url: {self.url or '(none: the bot polls)'}",
            f"pending updates: {self.pending_updates}",
            f"allowed updates: {', '.join(self.allowed_updates) or '(default)'}",
            f"last error: {self.last_error or '(none)'}"
            + (f" at {self.last_error_at.isoformat()}" if self.last_error_at else ""),
        ]


def already_in_effect(reply: Reply, error: Rejected) -> bool:
    """Tell whether Telegram refused only because the edit or the answer had nothing left to do."""
    text = str(error).lower()
    if isinstance(reply, Edit):
        return "message is not modified" in text
    return isinstance(reply, Answer) and "query is too old" in text


def cut(text: str, limit: int) -> str:
    """Return the text shortened to Telegram's limit, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class BotApiAdapter(ABC):
    """What every adapter does the same way: ask, poll, send, edit, answer and set menus."""

    def __init__(self, api: BotApi, classes: Classes, errors: Errors, respond: Respond) -> None:
        self.api = api
        self.classes = classes
        self.errors = errors
        self.respond = respond

    @abstractmethod
    async def process(self, update: Any) -> None:
        """Route one update through the library to our handlers; return once it took effect."""

    @abstractmethod
    async def process_json(self, data: dict[str, Any]) -> None:
        """Parse an update received as JSON and process it; return once it took effect."""

    @abstractmethod
    async def raw_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        """Call getUpdates and return the updates as JSON, unparsed."""

    @abstractmethod
    async def close(self) -> None:
        """Close the HTTP session."""

    async def take_message(self, update_id: int, message: Message) -> None:
        """Hand a message to the conversations; service messages without a sender are skipped."""
        event = incoming_message(update_id, message)
        if event is not None:
            await self.respond(event)

    async def take_press(self, update_id: int, query: CallbackQuery) -> None:
        """Hand a button press to the conversations."""
        await self.respond(incoming_callback(update_id, query))

    async def take_unreadable(self, data: dict[str, Any], error: Exception) -> None:
        """Hand an update the library could not read to the conversations, as far as it goes.

        It is recorded and answered there once, and then confirmed: retrying cannot make the
        library read it, and the person waits for an answer.
        """
        log.warning(
            "update %s cannot be read (%s: %s): %s",
            data.get("update_id"),
            type(error).__name__,
            cut(str(error).replace("\n", " "), LOGGED_ANSWER),
            shortened(data),
        )
        await self.respond(unreadable_update(data))

    async def username(self) -> str:
        """Return the bot's @username (asked from getMe)."""
        me = await self._call(self.api.get_me())
        return me.username or ""

    async def fetch(self, offset: int | None, timeout: int) -> list[tuple[int, dict[str, Any]]]:
        """Long-poll for updates after `offset` (which confirms everything before it).

        The updates come back as JSON: while some are being processed, every getUpdates hands
        them out again (they are not confirmed yet), and parsing them into the library's objects
        each time cost more than processing them. `process_json` parses the new ones only.
        """
        updates = await self._call(self.raw_updates(offset, timeout))
        return [(int(u["update_id"]), u) for u in updates]

    def sender(self, update: dict[str, Any]) -> int | None:
        """Return who sent an update (a message or a button press); None for anything else."""
        for kind in ALLOWED_UPDATES:
            part = update.get(kind)
            user = part.get("from") if isinstance(part, dict) else None
            if isinstance(user, dict) and isinstance(user.get("id"), int):
                return int(user["id"])
        return None

    async def drop_webhook(self) -> None:
        """Make sure no webhook is set, so long polling may run; pending updates stay."""
        await self._call(self.api.delete_webhook(drop_pending_updates=False))

    async def set_webhook(self, url: str, secret: str) -> None:
        """Have Telegram POST our kinds of update to `url`, with the secret token header."""
        await self._call(
            self.api.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        )

    async def webhook(self) -> WebhookState:
        """Return where Telegram delivers updates now (getWebhookInfo)."""
        info = await self._call(self.api.get_webhook_info())
        return WebhookState(
            url=info.url,
            pending_updates=info.pending_update_count,
            last_error=info.last_error_message,
            last_error_at=info.last_error_date,
            allowed_updates=tuple(info.allowed_updates or ()),
        )

    async def perform(self, reply: Reply) -> int | None:
        """Carry out one reply through the Bot API, raising our kinds of failure.

        Returns the id of the message a Send made, as Telegram's answer gives it; else None.
        """
        try:
            result = await self._call(self._request(reply))
        except Rejected as error:
            if not already_in_effect(reply, error):
                raise
            return None
        except UnreadableAnswer as odd:
            # Telegram took it: sending it again would show it twice, waiting would stall the chat.
            log.warning(
                "%s to chat %s taken, but the answer cannot be read (%s): %s",
                type(reply).__name__,
                getattr(reply, "chat_id", None),
                odd,
                shortened(odd.answer),
            )
            return None
        message_id = getattr(result, "message_id", None) if isinstance(reply, Send) else None
        return message_id if isinstance(message_id, int) else None

    async def _call(self, request: Awaitable[T]) -> T:
        """Await a Bot API call, turning the library's errors into ours.

        An error after the library had received Telegram's successful answer (recorded in
        ANSWERS) is the library failing to read that answer: UnreadableAnswer.
        """
        answers: list[object] = []
        token = ANSWERS.set(answers)
        try:
            return await request
        except UnreadableAnswer:
            raise
        except Exception as error:
            ours = self.errors.ours(error)
            if ours is not None:
                raise ours from error
            if answers:
                raise UnreadableAnswer(answers[-1], error) from error
            raise
        finally:
            ANSWERS.reset(token)

    def _request(self, reply: Reply) -> Awaitable[object]:
        """Return the Bot API call that carries out a reply."""
        api = self.api
        match reply:
            case Send(upload=bytes(data)):
                caption = cut(reply.text, MAX_CAPTION)
                upload = self.classes.upload(data, filename="chart.png")
                markup = self.markup(reply)
                return api.send_photo(reply.chat_id, upload, caption=caption, reply_markup=markup)
            case Send(clip=(str(kind), str(file_id))):
                return self._send_clip(reply, kind, file_id)
            case Send(photo=str(photo)):
                caption = cut(reply.text, MAX_CAPTION)
                markup = self.markup(reply)
                return api.send_photo(reply.chat_id, photo, caption=caption, reply_markup=markup)
            case Send():
                text = cut(reply.text, MAX_TEXT)
                return api.send_message(reply.chat_id, text, reply_markup=self.markup(reply))
            case Edit(text=str(text)):
                return api.edit_message_text(
                    cut(text, MAX_TEXT),
                    chat_id=reply.chat_id,
                    message_id=reply.message_id,
                    reply_markup=self.inline(reply.buttons),
                )
            case Edit():
                return api.edit_message_reply_markup(
                    chat_id=reply.chat_id,
                    message_id=reply.message_id,
                    reply_markup=self.inline(reply.buttons),
                )
            case Answer():
                return api.answer_callback_query(
                    reply.callback_id, text=reply.text, show_alert=reply.alert
                )
            case SetCommands():
                return api.set_my_commands(
                    [self.classes.command(command=c, description=d) for c, d in reply.commands],
                    scope=self.scope(reply.chat_id),
                    language_code=reply.language,
                )
            case SetMenuButton():
                button = self.classes.menu_button_web_app(
                    text=reply.text, web_app=self.classes.web_app(url=reply.url)
                )
                return api.set_chat_menu_button(chat_id=reply.chat_id, menu_button=button)

    def _send_clip(self, reply: Send, kind: str, file_id: str) -> Awaitable[object]:
        """Return the call that sends a voice message, video note or audio file (issue 16)."""
        markup = self.markup(reply)
        caption = cut(reply.text, MAX_CAPTION)
        if kind == "video_note":  # a round video has no caption
            return self.api.send_video_note(reply.chat_id, file_id, reply_markup=markup)
        if kind == "audio":
            return self.api.send_audio(reply.chat_id, file_id, caption=caption, reply_markup=markup)
        return self.api.send_voice(reply.chat_id, file_id, caption=caption, reply_markup=markup)

    def inline(self, buttons: Keyboard) -> object | None:
        """Return the library's inline keyboard for our buttons."""
        if not buttons:
            return None
        button = self.classes.inline_button
        return self.classes.inline_keyboard(
            inline_keyboard=[
                [
                    button(text=b.text, web_app=self.classes.web_app(url=b.web_app))
                    if b.web_app
                    else button(text=b.text, callback_data=b.data, url=b.url)
                    for b in row
                ]
                for row in buttons
            ]
        )

    def markup(self, reply: Send) -> object | None:
        """Return the keyboard a Send asks for."""
        if reply.menu and not reply.buttons:  # the menu: stays under the chat, never hidden
            button = self.classes.reply_button
            return self.classes.reply_keyboard(
                keyboard=[[button(text=k) for k in row] for row in reply.menu],
                resize_keyboard=True,
                is_persistent=True,
            )
        if reply.ask_contact or reply.reply_keys:
            button = self.classes.reply_button
            keys: list[list[object]] = []
            if reply.ask_contact:
                keys.append([button(text=reply.ask_contact, request_contact=True)])
            keys.extend([button(text=k)] for k in reply.reply_keys)
            return self.classes.reply_keyboard(
                keyboard=keys, resize_keyboard=True, one_time_keyboard=True
            )
        if reply.remove_keyboard and not reply.buttons:
            return self.classes.remove_keyboard()
        return self.inline(reply.buttons)

    def scope(self, chat_id: int | None) -> object:
        """Return the command-menu scope: one chat, or everyone."""
        if chat_id is None:
            return self.classes.default_scope()
        return self.classes.chat_scope(chat_id=chat_id)
