"""Webhook mode: Telegram POSTs updates to our aiohttp server; 200 once an update took effect."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from bot.monitoring import HEALTH_PATH, health_handler

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram sends an update whole and at once; a body that trickles in is cut off after this
# long, so slow connections cannot pile up. Bodies and their nesting are bounded too: an
# update is a few KB, nested about ten deep.
READ_SECONDS = 5.0
MAX_BODY = 1024**2
MAX_NESTING = 32


class UpdateSink(Protocol):
    """What a Telegram adapter offers the webhook server."""

    async def process_json(self, data: dict[str, Any]) -> None:
        """Handle one update given as JSON; return once its transaction has committed."""
        ...


def webhook_app(
    sink: UpdateSink,
    *,
    secret: str,
    path: str,
    database_answers: Callable[[], Awaitable[bool]],
    read_seconds: float = READ_SECONDS,
) -> web.Application:
    """Return the aiohttp application: the update endpoint at `path`, and /healthz."""
    expected = secret.encode()

    async def receive(request: web.Request) -> web.Response:
        """Take one update from Telegram; answer 200 only after it took effect."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("webhook call from %s without the right secret", request.remote)
            return web.Response(status=401, text="wrong secret token")
        try:
            async with asyncio.timeout(read_seconds):
                body = await request.read()
        except TimeoutError:
            log.warning(
                "webhook call from %s: body not read within %ss", request.remote, read_seconds
            )
            slow = web.Response(status=408, text="request body too slow")
            slow.force_close()
            return slow
        try:
            data = json.loads(body)
        except RecursionError:
            return web.Response(status=400, text="nested too deeply")
        except ValueError:  # UnicodeDecodeError too
            return web.Response(status=400, text="not JSON")
        if nesting(data) > MAX_NESTING:
            return web.Response(status=400, text="nested too deeply")
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        try:
            await sink.process_json(data)
        except Exception:
            # Telegram redelivers after a non-2xx answer; what took effect once is then ignored.
            log.exception("update %s failed; Telegram will deliver it again", data["update_id"])
            return web.Response(status=500, text="update failed")
        return web.Response(status=200, text="ok")

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post(path, receive)
    app.router.add_get(HEALTH_PATH, health_handler(database_answers))
    return app


def nesting(data: object) -> int:
    """Return how deeply JSON data nests (a scalar 0, {} 1), counting no further than the limit."""
    deepest = 0
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack and deepest <= MAX_NESTING:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


@contextlib.asynccontextmanager
async def serving(app: web.Application, host: str, port: int) -> AsyncIterator[int]:
    """Serve the application on host:port (0 picks a free port); yield the port it bound."""
    # No lingering: the rest of a body not read (too slow, a wrong secret) is not waited for.
    runner = web.AppRunner(app, access_log=None, lingering_time=0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        log.info("webhook server listening on %s:%s", host, bound)
        yield int(bound)
    finally:
        await runner.cleanup()
