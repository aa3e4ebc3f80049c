"""The aiogram adapter: Telegram updates in, handler replies out, nothing else."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, cast

from aiogram import Bot, Dispatcher, Router, types
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetUpdates
from aiogram.methods.base import Response, TelegramMethod
from aiogram.types import CallbackQuery, Message, Update
from aiohttp_socks import ProxyConnectionError, ProxyError, ProxyTimeoutError
from pydantic import ValidationError

from bot.bot_api import (
    BotApiAdapter,
    Classes,
    Errors,
    Respond,
    UnreadableAnswer,
)
from bot.incoming import ALLOWED_UPDATES

AIOGRAM_CLASSES = Classes.named_in(types)
AIOGRAM_ERRORS = Errors(
    retry_after=TelegramRetryAfter,
    seconds=lambda error: cast(TelegramRetryAfter, error).retry_after,
    blocked=(TelegramForbiddenError,),
    rejected=(TelegramBadRequest, TelegramNotFound),
    # aiohttp-socks' failures to reach or use a proxy are not aiohttp's, so not aiogram's.
    transient=(
        TelegramServerError,
        TelegramNetworkError,
        ProxyConnectionError,
        ProxyError,
        ProxyTimeoutError,
    ),
    base=TelegramAPIError,
)


class AnswerReadingSession(AiohttpSession):
    """aiogram's HTTP session, telling a successful answer it cannot read from a failure.

    aiogram reads the answer into its models before it looks at the status: a result it
    cannot read (null, ill-typed) raises ClientDecodeError even when Telegram took the request.
    """

    def check_response(
        self, bot: Bot, method: TelegramMethod[Any], status_code: int, content: str
    ) -> Response[Any]:
        """Read Telegram's answer; an unreadable one to a request that took effect is marked so."""
        try:
            return super().check_response(bot, method, status_code, content)
        except ClientDecodeError as error:
            data = error.data
            took = HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED
            if took and isinstance(data, dict) and data.get("ok") is True:
                raise UnreadableAnswer(data, error) from error
            raise


class GetRawUpdates(GetUpdates):
    """getUpdates, its answer left as JSON (see `BotApiAdapter.fetch`)."""

    __returning__ = list[dict[str, Any]]


def response_models() -> list[type[Response[Any]]]:
    """Return aiogram's response model of every Bot API method, built once.

    aiogram reads each answer with `Response[<what the method returns>]`; pydantic builds that
    class on first use (~5 ms: it was a fifth of the CPU an update cost) and keeps it only as
    long as someone holds it, so without these references it was built again and again.
    """
    returning = {method.__returning__ for method in _methods(TelegramMethod)}
    generic: Any = Response
    return [generic[kind] for kind in sorted(returning, key=repr)]


def _methods(base: type[TelegramMethod[Any]]) -> list[type[TelegramMethod[Any]]]:
    found = []
    for method in base.__subclasses__():
        found += [method, *_methods(method)]
    return [m for m in found if "__returning__" in vars(m)]


class AiogramBot(BotApiAdapter):
    """Sandan on aiogram: aiogram parses and routes updates, our handlers decide the replies."""

    def __init__(
        self, token: str, api_base: str, respond: Respond, *, proxy: str | None = None
    ) -> None:
        self.response_models = response_models()
        server = TelegramAPIServer.from_base(api_base)
        self.bot = Bot(token, session=AnswerReadingSession(api=server, proxy=proxy))
        super().__init__(self.bot, AIOGRAM_CLASSES, AIOGRAM_ERRORS, respond)
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(self._router())

    def _router(self) -> Router:
        router = Router(name="sandan")

        @router.message()
        async def on_message(message: Message, event_update: Update) -> None:
            await self.take_message(event_update.update_id, message)

        @router.callback_query()
        async def on_button(query: CallbackQuery, event_update: Update) -> None:
            await self.take_press(event_update.update_id, query)

        return router

    async def process(self, update: Update) -> None:
        """Route one update through aiogram to our handlers; returns once it took effect."""
        await self.dispatcher.feed_update(self.bot, update)

    async def process_json(self, data: dict[str, Any]) -> None:
        """Parse an update received as JSON and process it; one aiogram cannot read is answered."""
        try:
            update = Update.model_validate(data, context={"bot": self.bot})
        except (ValidationError, ValueError, TypeError) as error:
            await self.take_unreadable(data, error)
            return
        await self.process(update)

    async def raw_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        """Call getUpdates and return the updates as JSON, unparsed."""
        ask = GetRawUpdates(offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES)
        return await self.bot(ask)  # type: ignore[arg-type]

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.bot.session.close()
