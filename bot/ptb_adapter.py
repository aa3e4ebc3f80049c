"""The python-telegram-bot adapter: Telegram updates in, handler replies out, nothing else."""

from __future__ import annotations

import asyncio
import warnings
from datetime import timedelta
from typing import Any, cast

import telegram
from telegram import Bot, Update
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.bot_api import ANSWERS, BotApiAdapter, Classes, Errors, Respond
from bot.incoming import ALLOWED_UPDATES

POLL_SLACK = 10.0  # seconds a getUpdates answer may take beyond its long-poll timeout
# `raw_updates` asks getUpdates through do_api_request, PTB's public way to a raw answer, which
# suggests Bot.get_updates instead: that one parses every update (see `BotApiAdapter.fetch`).
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)


def retry_seconds(error: Exception) -> float:
    """Return how long PTB's RetryAfter asks us to wait (whole seconds, or a timedelta)."""
    with warnings.catch_warnings():  # PTB 22 warns that the int will become a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = cast(RetryAfter, error).retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


PTB_CLASSES = Classes.named_in(telegram)
PTB_ERRORS = Errors(
    retry_after=RetryAfter,
    seconds=retry_seconds,
    blocked=(Forbidden,),
    rejected=(BadRequest,),
    transient=(NetworkError,),  # TimedOut is a NetworkError; so are 5xx answers
    base=TelegramError,
)


class AnswerKeepingBot(Bot):
    """PTB's Bot, keeping each answer it received before reading it into its classes.

    PTB reads a method's result (Message.de_json, …) after `_post` returned it: an error then
    means Telegram took the request and only its answer could not be read (see ANSWERS).
    """

    async def _post(self, endpoint: str, data: Any = None, **kwargs: Any) -> Any:
        result = await super()._post(endpoint, data, **kwargs)
        answers = ANSWERS.get()
        if answers is not None:
            answers.append(result)
        return result


class PtbBot(BotApiAdapter):
    """Sandan on python-telegram-bot: PTB parses and routes updates, our handlers reply."""

    def __init__(
        self, token: str, api_base: str, respond: Respond, *, proxy: str | None = None
    ) -> None:
        self.requests = (  # replies and delivery share the first; long polls get their own
            HTTPXRequest(proxy=proxy),
            HTTPXRequest(connection_pool_size=1, read_timeout=POLL_SLACK, proxy=proxy),
        )
        self.bot = AnswerKeepingBot(
            token,
            base_url=f"{api_base}/bot",
            base_file_url=f"{api_base}/file/bot",
            request=self.requests[0],
            get_updates_request=self.requests[1],
        )
        super().__init__(self.bot, PTB_CLASSES, PTB_ERRORS, respond)
        self.application = Application.builder().bot(self.bot).updater(None).job_queue(None).build()
        self.application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self._on_message))
        self.application.add_handler(CallbackQueryHandler(self._on_button))
        self.application.add_error_handler(self._keep_failure)
        self._failures: dict[int, Exception] = {}
        self._starting = asyncio.Lock()
        self._started = False

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Hand a message to the conversations."""
        if update.message is not None:
            await self.take_message(update.update_id, update.message)

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Hand a button press to the conversations."""
        if update.callback_query is not None:
            await self.take_press(update.update_id, update.callback_query)

    async def _keep_failure(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Keep a handler's exception, so `process` raises it instead of PTB only logging it."""
        if context.error is not None:
            self._failures[id(update)] = context.error

    async def _start(self) -> None:
        """Initialise the PTB application once (it asks getMe)."""
        async with self._starting:
            if not self._started:
                await self._call(self.application.initialize())
                self._started = True

    async def process(self, update: Update) -> None:
        """Route one update through PTB to our handlers; returns once it took effect."""
        await self._start()
        try:
            await self.application.process_update(update)
        finally:
            failure = self._failures.pop(id(update), None)
        if failure is not None:
            raise failure

    async def process_json(self, data: dict[str, Any]) -> None:
        """Parse an update received as JSON and process it; one PTB cannot read is answered."""
        try:
            update = Update.de_json(data, self.bot)
        except Exception as error:  # de_json raises whatever a field's reading raised
            await self.take_unreadable(data, error)
            return
        await self.process(update)

    async def raw_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        """Call getUpdates and return the updates as JSON, unparsed."""
        asked = {"offset": offset, "timeout": timeout, "allowed_updates": ALLOWED_UPDATES}
        answer = await self.bot.do_api_request(
            "getUpdates", api_kwargs=asked, read_timeout=POLL_SLACK + timeout
        )
        return cast(list[dict[str, Any]], answer)

    async def close(self) -> None:
        """Shut the application down and close both HTTP clients."""
        await self.application.shutdown()
        await asyncio.gather(*(request.shutdown() for request in self.requests))
