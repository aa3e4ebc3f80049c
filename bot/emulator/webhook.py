"""Webhook delivery: setWebhook and its worker POSTing updates, in turn per chat, with retries."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Awaitable, Callable

import aiohttp

from bot.emulator.activity import Activity
from bot.emulator.errors import bad
from bot.emulator.parameters import Params, read_multipart
from bot.emulator.records import JSON, UploadedFile, WebhookDelivery, dumps, now
from bot.emulator.updates import UpdateQueue, update_chat

# Runs a method call the webhook answered with, as Telegram allows.
ReplyRunner = Callable[[JSON, dict[str, UploadedFile]], Awaitable[None]]


class WebhookWorker:
    """The webhook as the bot set it, and the task that POSTs the queue to it."""

    def __init__(
        self,
        queue: UpdateQueue,
        activity: Activity,
        run_reply: ReplyRunner,
        *,
        retry_delay: float,
        parallel: int,
    ) -> None:
        self.queue = queue
        self.activity = activity
        self.run_reply = run_reply
        self.retry_delay = retry_delay
        # Updates POSTed at once (Telegram opens up to max_connections); one chat's go in turn.
        self.parallel = parallel
        self.deliveries: list[WebhookDelivery] = []
        self.url = ""
        self.secret: str | None = None
        self._max_connections: int | None = None
        self._error: tuple[int, str] | None = None
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._delay = retry_delay

    # -- methods -----------------------------------------------------------------------------

    async def set_webhook(self, p: Params) -> bool:
        """setWebhook: check the URL and secret, then start delivering to it."""
        url = p.text("url") or ""
        if url and not url.startswith(("http://", "https://")):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.text("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad("secret token contains unallowed characters")
        self.queue.allow(p.obj("allowed_updates"))
        if p.flag("drop_pending_updates"):
            self.queue.drop_all()
        await self.stop()
        self.url = url
        self.secret = secret
        self._max_connections = p.integer("max_connections")
        self._error = None
        if url:
            self._task = asyncio.create_task(self._work())
        self.activity.touch()
        return True

    async def delete_webhook(self, p: Params) -> bool:
        """deleteWebhook: stop delivering (and maybe drop what is pending)."""
        if p.flag("drop_pending_updates"):
            self.queue.drop_all()
        await self.stop()
        self.url = ""
        self.secret = None
        self._error = None
        return True

    async def get_webhook_info(self, p: Params) -> JSON:
        """getWebhookInfo: the URL, the pending count and the last error."""
        info: JSON = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.queue.pending),
        }
        if self._error is not None:
            info["last_error_date"], info["last_error_message"] = self._error
        if self.url:
            info["max_connections"] = self._max_connections or 40
            if self.queue.allowed_updates:
                info["allowed_updates"] = list(self.queue.allowed_updates)
        return info

    # -- the worker --------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop the worker and close its HTTP session."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _work(self) -> None:
        session = self._session = aiohttp.ClientSession()
        self._delay = self.retry_delay
        stopping = self.activity.stopping
        posting: dict[int, asyncio.Task[bool]] = {}  # update_id → its POST
        while self.url and not stopping.is_set():
            self.queue.drop_disallowed()
            chats: set[int | None] = set()  # chats with an earlier update pending or on the way
            for update in list(self.queue.pending):
                chat = update_chat(update)
                waits = chat in chats or len(posting) >= max(1, self.parallel)
                chats.add(chat if chat is not None else id(update))
                if update["update_id"] in posting or waits:
                    continue
                posting[update["update_id"]] = asyncio.create_task(self._post(session, update))
            changed = asyncio.create_task(self.activity.changed.next())
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
                        await asyncio.wait_for(stopping.wait(), self._delay)
                    self._delay = min(self._delay * 2, 5.0)
        for task in posting.values():
            task.cancel()
        await asyncio.gather(*posting.values(), return_exceptions=True)

    async def _post(self, session: aiohttp.ClientSession, update: JSON) -> bool:
        """POST one update to the webhook; on success take it off the queue; say whether it was."""
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.secret
        status: int | None = None
        error: str | None = None
        reply: tuple[JSON, dict[str, UploadedFile]] | None = None
        try:
            async with session.post(
                self.url,
                data=dumps(update).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as resp:
                status = resp.status
                if 200 <= status < 300:
                    reply = await read_webhook_reply(resp)
                else:
                    error = f"Wrong response from the webhook: {status} {resp.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"Connection failed: {type(exc).__name__}: {exc}"
        self.deliveries.append(
            WebhookDelivery(update["update_id"], self.url, status, error, time.time())
        )
        if error is not None:
            self._error = (now(), error)
            self.activity.touch()
            return False
        self.queue.confirm_one(update)
        self._delay = self.retry_delay
        self.activity.touch()
        if reply is not None:
            await self.run_reply(*reply)
        return True


async def read_webhook_reply(
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
        await read_multipart(aiohttp.MultipartReader(resp.headers, resp.content), values, files)
    if not values.get("method"):
        return None
    return values, files
