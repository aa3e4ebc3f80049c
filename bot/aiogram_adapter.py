"""The aiogram adapter: Telegram updates in, handler replies out, nothing else."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from bot.sending import Blocked, Rejected, RetryAfter, SendFailed, Transient
from handlers.events import Answer, Edit, Incoming, Keyboard, Reply, Send, SetCommands

log = logging.getLogger(__name__)

Respond = Callable[[Incoming], Awaitable[None]]
T = TypeVar("T")
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
MAX_TEXT = 4096
MAX_CAPTION = 1024


def incoming_message(update_id: int, message: Message) -> Incoming | None:
    """Return the handlers' view of a message, or None for service messages without a sender."""
    user = message.from_user
    if user is None:
        return None
    other = next((kind for kind in OTHER_KINDS if getattr(message, kind, None)), None)
    contact = message.contact
    return Incoming(
        update_id=update_id,
        user_id=user.id,
        chat_id=message.chat.id,
        chat_type=message.chat.type,
        first_name=user.first_name,
        language_code=user.language_code,
        text=message.text or message.caption,
        message_id=message.message_id,
        photo=message.photo[-1].file_id if message.photo else None,
        latitude=message.location.latitude if message.location else None,
        longitude=message.location.longitude if message.location else None,
        contact_phone=contact.phone_number if contact else None,
        contact_user_id=contact.user_id if contact else None,
        other=None if message.photo or message.location or contact else other,
    )


def incoming_callback(update_id: int, query: CallbackQuery) -> Incoming:
    """Return the handlers' view of a button press."""
    message = query.message
    return Incoming(
        update_id=update_id,
        user_id=query.from_user.id,
        chat_id=message.chat.id if message else query.from_user.id,
        chat_type=message.chat.type if message else "private",
        first_name=query.from_user.first_name,
        language_code=query.from_user.language_code,
        callback_id=query.id,
        callback_data=query.data or "",
        message_id=message.message_id if message else None,
    )


def inline(buttons: Keyboard) -> InlineKeyboardMarkup | None:
    """Return aiogram's inline keyboard for our buttons."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=b.text, callback_data=b.data, url=b.url) for b in row]
            for row in buttons
        ]
    )


def markup(
    reply: Send,
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """Return the keyboard a Send asks for."""
    if reply.ask_contact or reply.reply_keys:
        keys: list[list[KeyboardButton]] = []
        if reply.ask_contact:
            keys.append([KeyboardButton(text=reply.ask_contact, request_contact=True)])
        keys.extend([KeyboardButton(text=k)] for k in reply.reply_keys)
        return ReplyKeyboardMarkup(keyboard=keys, resize_keyboard=True, one_time_keyboard=True)
    if reply.remove_keyboard and not reply.buttons:
        return ReplyKeyboardRemove()
    return inline(reply.buttons)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def fetch_username(token: str, api_base: str) -> str:
    """Ask the Bot API for the bot's @username."""
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
    try:
        me = await bot.get_me()
        return me.username or ""
    finally:
        await bot.session.close()


class AiogramBot:
    """Sandan on aiogram: aiogram parses and routes updates, our handlers decide the replies."""

    def __init__(self, token: str, api_base: str, respond: Respond) -> None:
        self.bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
        self.respond = respond
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(self._router())

    def _router(self) -> Router:
        router = Router(name="sandan")

        @router.message()
        async def on_message(message: Message, event_update: Update) -> None:
            event = incoming_message(event_update.update_id, message)
            if event is not None:
                await self.respond(event)

        @router.callback_query()
        async def on_button(query: CallbackQuery, event_update: Update) -> None:
            await self.respond(incoming_callback(event_update.update_id, query))

        return router

    async def username(self) -> str:
        """Return the bot's @username (asked from getMe)."""
        me = await self.bot.get_me()
        return me.username or ""

    async def fetch(self, offset: int | None, timeout: int) -> list[tuple[int, Update]]:
        """Long-poll for updates after `offset` (which confirms everything before it)."""
        updates = await self._call(
            self.bot.get_updates(offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES)
        )
        return [(u.update_id, u) for u in updates]

    async def process(self, update: Update) -> None:
        """Route one update through aiogram to our handlers; returns once it took effect."""
        await self.dispatcher.feed_update(self.bot, update)

    async def process_json(self, data: dict[str, Any]) -> None:
        """Process an update received as JSON (webhook mode)."""
        await self.process(Update.model_validate(data, context={"bot": self.bot}))

    async def drop_webhook(self) -> None:
        """Make sure no webhook is set, so long polling may run."""
        await self._call(self.bot.delete_webhook(drop_pending_updates=False))

    async def perform(self, reply: Reply) -> None:
        """Carry out one reply through the Bot API, mapping aiogram's errors to ours."""
        try:
            await self._perform(reply)
        except TelegramBadRequest as error:
            if isinstance(reply, Edit) and "not modified" in error.message:
                return
            if isinstance(reply, Answer) and "query is too old" in error.message:
                return
            raise Rejected(error.message) from error
        except SendFailed:
            raise

    async def _call(self, request: Awaitable[T]) -> T:
        """Await a Bot API call, turning aiogram's errors into ours."""
        try:
            return await request
        except TelegramRetryAfter as error:
            raise RetryAfter(error.retry_after) from error
        except TelegramForbiddenError as error:
            raise Blocked(error.message) from error
        except (TelegramBadRequest, TelegramNotFound) as error:
            raise Rejected(error.message) from error
        except (TelegramServerError, TelegramNetworkError) as error:
            raise Transient(str(error)) from error
        except TelegramAPIError as error:
            raise Rejected(error.message) from error

    async def _perform(self, reply: Reply) -> None:
        if isinstance(reply, Send):
            if reply.photo:
                await self._call(
                    self.bot.send_photo(
                        reply.chat_id,
                        reply.photo,
                        caption=_cut(reply.text, MAX_CAPTION),
                        reply_markup=markup(reply),
                    )
                )
            else:
                await self._call(
                    self.bot.send_message(
                        reply.chat_id, _cut(reply.text, MAX_TEXT), reply_markup=markup(reply)
                    )
                )
        elif isinstance(reply, Edit):
            if reply.text is not None:
                await self._call(
                    self.bot.edit_message_text(
                        text=_cut(reply.text, MAX_TEXT),
                        chat_id=reply.chat_id,
                        message_id=reply.message_id,
                        reply_markup=inline(reply.buttons),
                    )
                )
            else:
                await self._call(
                    self.bot.edit_message_reply_markup(
                        chat_id=reply.chat_id,
                        message_id=reply.message_id,
                        reply_markup=inline(reply.buttons),
                    )
                )
        elif isinstance(reply, Answer):
            await self._call(
                self.bot.answer_callback_query(
                    reply.callback_id, text=reply.text, show_alert=reply.alert
                )
            )
        elif isinstance(reply, SetCommands):
            scope = (
                BotCommandScopeChat(chat_id=reply.chat_id)
                if reply.chat_id is not None
                else BotCommandScopeDefault()
            )
            await self._call(
                self.bot.set_my_commands(
                    [BotCommand(command=c, description=d) for c, d in reply.commands],
                    scope=scope,
                    language_code=reply.language,
                )
            )

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.bot.session.close()
