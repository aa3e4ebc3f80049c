"""The Open311 GeoReport v2 API (issue 19): partner systems file orders and read their progress.

An adapter like the chat's: it parses a call, checks the partner's key, calls the same
workflows as chat (workflows/external.py) and answers in JSON or XML. `mount` adds its routes
to the listener that serves /healthz and /metrics.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from bot.open311 import endpoints
from bot.open311.access import RateLimit
from bot.open311.endpoints import Api, endpoint

if TYPE_CHECKING:
    from bot.app import App

FMT = "{fmt:json|xml}"
FILING_AT_ONCE = 4  # partners' orders filed at once on PostgreSQL (SQLite: one, see Api.filing)


def mount(server: web.Application, app: App) -> None:
    """Add the API's routes under SANDAN_API_PATH when SANDAN_API_ENABLED; else nothing."""
    settings = app.settings
    if not settings.api_enabled:
        return
    api = Api(
        units=app.unit_of_work,
        clock=app.clock,
        texts=app.texts,
        policy=app.policy,
        # The bot's clock, so that a test's clock (which moves only when told) holds the limit.
        limit=RateLimit(settings.api_rate, now=lambda: app.clock.now().timestamp()),
        default_lang=settings.default_language,
        chat_first=app.chat_first,
        filing=asyncio.Semaphore(1 if app.engine.dialect.name == "sqlite" else FILING_AT_ONCE),
    )
    prefix = settings.api_path.rstrip("/")
    server.router.add_get(f"{prefix}/services.{FMT}", endpoint(api, endpoints.services))
    server.router.add_get(
        f"{prefix}/services/{{code:[^/]+?}}.{FMT}", endpoint(api, endpoints.definition)
    )
    server.router.add_get(f"{prefix}/requests.{FMT}", endpoint(api, endpoints.requests))
    server.router.add_post(f"{prefix}/requests.{FMT}", endpoint(api, endpoints.post_request))
    server.router.add_get(
        f"{prefix}/requests/{{id:[^/]+?}}.{FMT}", endpoint(api, endpoints.one_request)
    )
    server.router.add_get(f"{prefix}/tokens/{{token:[^/]+?}}.{FMT}", endpoint(api, endpoints.token))
