"""The fake Bot API server: the aiohttp app, the method table, and what a test asks of it."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from bot.emulator.activity import Activity, Notifier
from bot.emulator.bot_profile import BotProfile
from bot.emulator.callbacks import Callbacks
from bot.emulator.chats import FakeChat, FakeGroup
from bot.emulator.directory import Chats
from bot.emulator.errors import WEBHOOK_CONFLICT, BotAPIError, refuse
from bot.emulator.faults import FaultPlan, OddAnswers, inject
from bot.emulator.files import FileStore
from bot.emulator.messaging import Messaging
from bot.emulator.parameters import Params, normalize, read_request
from bot.emulator.rates import RateLimits, RateMeter
from bot.emulator.records import (
    JSON,
    ApiCall,
    InjectedFault,
    RateViolation,
    SentMessage,
    Serial,
    Stored,
    TranscriptLine,
    UploadedFile,
    dumps,
)
from bot.emulator.transcript import Transcript
from bot.emulator.updates import UpdateQueue
from bot.emulator.users import FakeUser
from bot.emulator.webhook import WebhookWorker

log = logging.getLogger(__name__)

Handler = Callable[[Params], Awaitable[Any]]


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

        # The rooms the server is made of; each public list below is one of theirs.
        self.activity = Activity()
        self.serial = Serial()
        self.transcript_log = Transcript(on_line)
        self.queue = UpdateQueue(self.activity)
        self.file_store = FileStore(self.serial, bot_id)
        self.chats = Chats(self)
        self.callbacks = Callbacks(self.chats, self.queue, self.transcript_log, self.serial, bot_id)
        self.messaging = Messaging(
            self.chats,
            self.file_store,
            self.transcript_log,
            guard=self._guard,
            bot_user=lambda: self.bot_user,
        )
        self.profile = BotProfile()
        self.webhook = WebhookWorker(
            self.queue,
            self.activity,
            self._run_webhook_reply,
            retry_delay=webhook_retry_delay,
            parallel=webhook_parallel,
        )
        self.odd_answers = OddAnswers()

        self.calls: list[ApiCall] = []
        self.transcript: list[TranscriptLine] = self.transcript_log.lines
        self.updates: list[JSON] = self.queue.updates
        self.dropped_updates: list[JSON] = self.queue.dropped
        self.files = self.file_store.files
        self.server_errors: list[BaseException] = []
        self.faults: FaultPlan | None = None
        self.injected_faults: list[InjectedFault] = []
        self.rate_violations: list[RateViolation] = []
        self.webhook_deliveries = self.webhook.deliveries
        self.commands = self.profile.commands
        self.descriptions = self.profile.descriptions
        self.menu_buttons = self.profile.menu_buttons

        self._limits: RateLimits | None = None
        self._meter: RateMeter | None = None
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, tuple[str, Handler]] = {}
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
        self.activity.stopping.clear()
        self.activity.touch()

    async def stop(self) -> None:
        """Release held requests and shut the server down."""
        self.activity.stopping.set()
        self.activity.changed.notify()
        await self.webhook.stop()
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

    # -- settings that live in the rooms ------------------------------------------------------

    @property
    def on_line(self) -> Callable[[TranscriptLine], None] | None:
        """The hook that sees each new transcript line."""
        return self.transcript_log.on_line

    @on_line.setter
    def on_line(self, hook: Callable[[TranscriptLine], None] | None) -> None:
        self.transcript_log.on_line = hook

    @property
    def allowed_updates(self) -> list[str] | None:
        """The update types the bot asked for (None: Telegram's default)."""
        return self.queue.allowed_updates

    @allowed_updates.setter
    def allowed_updates(self, kinds: list[str] | None) -> None:
        self.queue.allowed_updates = kinds

    @property
    def webhook_url(self) -> str:
        """The webhook the bot set ("" when it polls)."""
        return self.webhook.url

    @webhook_url.setter
    def webhook_url(self, url: str) -> None:
        self.webhook.url = url

    @property
    def webhook_secret(self) -> str | None:
        """The secret token the webhook POSTs carry."""
        return self.webhook.secret

    @webhook_secret.setter
    def webhook_secret(self, secret: str | None) -> None:
        self.webhook.secret = secret

    @property
    def webhook_retry_delay(self) -> float:
        """The first pause after a failed webhook POST (doubling up to 5 s)."""
        return self.webhook.retry_delay

    @webhook_retry_delay.setter
    def webhook_retry_delay(self, delay: float) -> None:
        self.webhook.retry_delay = delay

    @property
    def webhook_parallel(self) -> int:
        """Updates POSTed at once (Telegram opens up to max_connections); one chat's in turn."""
        return self.webhook.parallel

    @webhook_parallel.setter
    def webhook_parallel(self, parallel: int) -> None:
        self.webhook.parallel = parallel

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
        return self.chats.user(
            user_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            started=started,
        )

    def group(self, chat_id: int, title: str, *, type: str = "supergroup") -> FakeGroup:
        """Create (or return) a group chat the bot is in (negative id)."""
        return self.chats.group(chat_id, title, type=type)

    def chat(self, chat_id: int) -> FakeChat:
        """The known chat with this id."""
        return self.chats.chat(chat_id)

    def calls_to(self, method: str) -> list[ApiCall]:
        """The recorded calls of one method (case-insensitive)."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def file_bytes(self, file_id: str) -> bytes:
        """The content of a known file."""
        return self.files[file_id].data

    def my_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The commands set for a scope (default scope when None) and language."""
        return self.profile.my_commands(scope, language_code)

    def answer_oddly(self, method: str, chat_id: int, *rewrites: Callable[[JSON], Any]) -> None:
        """Carry out the next calls of ``method`` to the chat as usual, but answer oddly.

        Each call takes effect (the message is delivered) and is answered 200 with the body
        ``rewrite({"ok": True, "result": ...})``: a null result, a date in milliseconds, an
        unknown or ill-typed field, as Telegram itself has been seen to answer.
        """
        self.odd_answers.add(method, chat_id, rewrites)

    def garble_next_update(self, rewrite: Callable[[JSON], JSON]) -> None:
        """Queue the next update (a message, a press, …) as ``rewrite(update)``."""
        self.queue.garbles.append(rewrite)

    def redeliver(self, update: JSON) -> JSON:
        """Queue an update again with its own update_id, as Telegram does when unconfirmed."""
        return self.queue.redeliver(update)

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot."""
        return list(self.queue.pending)

    @property
    def limits(self) -> RateLimits | None:
        """The rate limits being metered (None: no metering)."""
        return self._limits

    @limits.setter
    def limits(self, limits: RateLimits | None) -> None:
        self._limits = limits
        self._meter = RateMeter(limits, self.rate_violations) if limits is not None else None

    def render_transcript(self, lines: Sequence[TranscriptLine] | None = None) -> str:
        """The transcript (or the given lines) as readable text."""
        return self.transcript_log.render(lines)

    async def wait_idle(self, timeout: float = 10.0, quiet: float = 0.3) -> None:
        """Wait until all updates are confirmed and no API call happened for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            busy = self._busy_reason()
            wait: float | None = None
            if busy is None:
                idle_for = now - self.activity.last
                if idle_for >= quiet:
                    return
                wait = quiet - idle_for
            remaining = deadline - now
            if remaining <= 0:
                reason = busy or f"API activity within the last {quiet}s"
                raise AssertionError(f"emulator not idle after {timeout}s: {reason}")
            await self.activity.changed.wait(remaining if wait is None else min(remaining, wait))

    def _busy_reason(self) -> str | None:
        queued = self.queue.busy_reason()
        if queued is not None:
            return queued
        busy = [m for m in self.activity.inflight.values() if m != "getUpdates"]
        if busy:
            return f"{len(busy)} API call(s) in progress: {busy}"
        return None

    # -- the names the rooms had when they were one ------------------------------------------

    @property
    def _changed(self) -> Notifier:
        return self.activity.changed

    @property
    def _pending(self) -> list[JSON]:
        return self.queue.pending

    def _stored_for(self, message: SentMessage) -> Stored:
        return self.chats.stored_for(message)

    def _press(self, user: FakeUser, stored: Stored, data: str, *, label: str) -> str:
        return self.callbacks.press(user, stored, data, label=label)

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        return self.file_store.download(request, self.token)

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        entry = self._handlers.get(name.lower())
        early: BotAPIError | None = None
        try:
            values, files = await read_request(request)
        except BotAPIError as exc:
            values, files, early = {}, {}, exc
        if request.match_info["token"] != self.token:
            early = BotAPIError(401, "Unauthorized")
        call = ApiCall(method=entry[0] if entry else name, params=values, time=time.time())
        call.files = files
        self.calls.append(call)
        key = id(call)
        polling = call.method == "getUpdates"
        self.activity.inflight[key] = call.method
        if not polling:
            self.activity.touch()
        try:
            if early is not None:
                return refuse(call, early)
            if entry is None:
                return refuse(call, BotAPIError(404, "Not Found"))
            plan = self.faults
            fault = plan.pick(call.method) if plan is not None else None
            if plan is not None and fault is not None:
                stopping = self.activity.stopping
                return await inject(request, call, fault, plan, self.injected_faults, stopping)
            status, body = await self._execute(call, entry[1], Params(values, files))
            if status == 200 and self.odd_answers:
                body = self.odd_answers.rewrite(call, body)
            return web.json_response(body, status=status, dumps=dumps)
        finally:
            self.activity.inflight.pop(key, None)
            if polling:
                self.activity.changed.notify()
            else:
                self.activity.touch()

    async def _execute(self, call: ApiCall, handler: Handler, params: Params) -> tuple[int, JSON]:
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

    async def _run_webhook_reply(self, values: JSON, files: dict[str, UploadedFile]) -> None:
        name = str(values.pop("method", ""))
        entry = self._handlers.get(name.lower())
        values = normalize(values, files)
        call = ApiCall(method=entry[0] if entry else name, params=values, time=time.time())
        call.files = files
        self.calls.append(call)
        if entry is None:
            refuse(call, BotAPIError(404, "Not Found"))
            return
        await self._execute(call, entry[1], Params(values, files))
        self.activity.touch()

    # -- the method table --------------------------------------------------------------------

    def add_method(self, name: str, handler: Callable[[JSON], Any]) -> None:
        """Serve an extra (or replace a) Bot API method: handler(params) -> result or awaitable.

        Raise BotAPIError from the handler to answer with a Telegram error.
        """

        async def wrapped(p: Params) -> Any:
            result = handler(p.values)
            if inspect.isawaitable(result):
                result = await result
            return result

        self._handlers[name.lower()] = (name, wrapped)

    def _register_methods(self) -> None:
        profile, messaging, webhook = self.profile, self.messaging, self.webhook
        table: dict[str, Handler] = {
            "getMe": self._m_get_me,
            "getUpdates": self._m_get_updates,
            "setWebhook": webhook.set_webhook,
            "deleteWebhook": webhook.delete_webhook,
            "getWebhookInfo": webhook.get_webhook_info,
            "setMyCommands": profile.set_my_commands,
            "getMyCommands": profile.get_my_commands,
            "deleteMyCommands": profile.delete_my_commands,
            "setMyDescription": profile.set_my_description,
            "getMyDescription": profile.get_my_description,
            "setMyShortDescription": profile.set_my_short_description,
            "getMyShortDescription": profile.get_my_short_description,
            "setChatMenuButton": profile.set_chat_menu_button,
            "getChatMenuButton": profile.get_chat_menu_button,
            "sendMessage": messaging.send_message,
            "sendPhoto": messaging.send_photo,
            "sendDocument": messaging.send_document,
            "sendLocation": messaging.send_location,
            "sendVoice": messaging.send_voice,
            "sendVideoNote": messaging.send_video_note,
            "sendAudio": messaging.send_audio,
            "sendChatAction": messaging.send_chat_action,
            "editMessageText": messaging.edit_message_text,
            "editMessageCaption": messaging.edit_message_caption,
            "editMessageReplyMarkup": messaging.edit_message_reply_markup,
            "deleteMessage": messaging.delete_message,
            "answerCallbackQuery": self.callbacks.answer,
            "getFile": messaging.get_file,
            "getChat": messaging.get_chat,
            "close": self._m_true,
            "logOut": self._m_true,
        }
        self._handlers = {name.lower(): (name, handler) for name, handler in table.items()}

    def _guard(self, method: str, chat_id: int) -> None:
        if self._meter is not None:
            self._meter.guard(method, chat_id)

    async def _m_true(self, p: Params) -> bool:
        return True

    async def _m_get_me(self, p: Params) -> JSON:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_get_updates(self, p: Params) -> list[JSON]:
        if self.webhook.url:
            raise BotAPIError(409, WEBHOOK_CONFLICT)
        return await self.queue.poll(p)
