"""Webhook mode: Telegram POSTs updates to our aiohttp server; 200 once an update took effect."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"


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
            data = await request.json()
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="not JSON")
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        try:
            await sink.process_json(data)
        except Exception:
            # Telegram redelivers after a non-2xx answer; what took effect once is then ignored.
            log.exception("update %s failed; Telegram will deliver it again", data["update_id"])
            return web.Response(status=500, text="update failed")
        return web.Response(status=200, text="ok")

    async def health(request: web.Request) -> web.Response:
        """Say whether the bot is up and its database answers."""
        database = await database_answers()
        return web.json_response(
            {"status": "ok" if database else "degraded", "database": database},
            status=200 if database else 503,
            dumps=json.dumps,
        )

    app = web.Application()
    app.router.add_post(path, receive)
    app.router.add_get(HEALTH_PATH, health)
    return app


@contextlib.asynccontextmanager
async def serving(app: web.Application, host: str, port: int) -> AsyncIterator[int]:
    """Serve the application on host:port (0 picks a free port); yield the port it bound."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        log.info("webhook server listening on %s:%s", host, bound)
        yield int(bound)
    finally:
        await runner.cleanup()
