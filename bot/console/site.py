"""The console's shared machinery: its settings, templates, the signed-in viewer, error pages.

Every request opens its own unit of work; a POST that changes something commits it once, at its
end (the entry point commits, as for a Telegram update). Domain errors become a page that says
what went wrong in the viewer's language, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.console.reach import Viewer, viewer_of
from bot.console.sessions import COOKIE, Session, verify
from handlers.texts import Texts
from storage.uow import SqlUnitOfWork
from workflows.ports import Clock

UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[SqlUnitOfWork]]


@dataclass(frozen=True)
class ConsoleConfig:
    """What the console is told by the settings."""

    key: bytes  # signs session cookies
    bot_token: str | None  # checks a Mini App's initData
    base_url: str | None  # its public address: the origin forms must come from
    session_hours: float
    initdata_max_age: int  # seconds
    api_base: str  # the Bot API server, to fetch an order's photos and voice
    zone: tzinfo
    bot_username: str | None = None  # for invite links and building posters

    @property
    def secure(self) -> bool:
        """Return whether cookies are sent over HTTPS only."""
        return bool(self.base_url and self.base_url.startswith("https://"))


@dataclass
class Console:
    """The console's dependencies, kept on its aiohttp sub-application."""

    config: ConsoleConfig
    units: UnitOfWorkFactory
    clock: Clock
    texts: Texts

    def t(self, lang: str, key: str, **params: Any) -> str:
        """Return a text in the viewer's language."""
        return self.texts(lang, key, **params)

    def local(self, moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        """Return a moment in the organisation's time zone, or a dash."""
        return moment.astimezone(self.config.zone).strftime(pattern) if moment else "—"

    def session(self, request: web.Request) -> Session | None:
        """Return the request's valid session, if any."""
        value = request.cookies.get(COOKIE)
        return verify(self.config.key, value, self.clock.now()) if value else None


CONSOLE = web.AppKey("console", Console)


def console_of(request: web.Request) -> Console:
    """Return the console a request reached."""
    return request.app[CONSOLE]


async def signed_in(request: web.Request, uow: SqlUnitOfWork) -> tuple[Viewer, Session]:
    """Return the signed-in staff member, or answer with the sign-in page (401)."""
    console = console_of(request)
    session = console.session(request)
    person = await uow.people.get(session.person_id) if session is not None else None
    if session is None or person is None or not person.is_staff:
        raise web.HTTPUnauthorized(
            text=render_text(request, "signin.html", {"lang": "zh"}),
            content_type="text/html",
        )
    return await viewer_of(uow, person), session


def render_text(request: web.Request, name: str, context: dict[str, Any]) -> str:
    """Render a template with the console's helpers to a string."""
    console = console_of(request)
    lang = str(context.get("lang", "zh"))
    helpers = {
        "t": lambda key, **params: console.t(lang, key, **params),
        "local": console.local,
        "path": request.path,
        "query": request.query,
    }
    return aiohttp_jinja2.render_string(name, request, {**helpers, **context})


def page(
    request: web.Request,
    name: str,
    viewer: Viewer,
    session: Session,
    status: int = 200,
    **context: Any,
) -> web.Response:
    """Return a full page for a signed-in viewer."""
    context.update(viewer=viewer, lang=viewer.lang, csrf=session.csrf, via=session.via)
    return web.Response(
        text=render_text(request, name, context),
        status=status,
        content_type="text/html",
        headers=SECURITY_HEADERS,
    )


def problem(request: web.Request, lang: str, status: int, key: str, **params: Any) -> web.Response:
    """Return a short page saying what went wrong (nothing was changed)."""
    console = console_of(request)
    if "field" in params:  # a form's field: named as its label reads
        params["field"] = console.t(lang, f"web.field_{params['field']}")
    return web.Response(
        text=render_text(
            request,
            "problem.html",
            {"lang": lang, "message": console.t(lang, key, **params), "status": status},
        ),
        status=status,
        content_type="text/html",
        headers=SECURITY_HEADERS,
    )


# No framing by other sites, no sniffing, no referrer to other origins.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self' "
        "'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'self' "
        "https://web.telegram.org https://*.telegram.org"
    ),
}


def use_templates(app: web.Application) -> None:
    """Set aiohttp-jinja2 up on the console's sub-application: autoescaped HTML, this package."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("bot.console", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def see_other(location: str) -> web.Response:
    """Return a 303 redirect (after a POST, or to the board)."""
    return web.Response(status=303, headers={"Location": location, **SECURITY_HEADERS})
