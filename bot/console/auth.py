"""Signing in to the console: a one-time link from chat, or Telegram's signed Mini App initData.

Either way the browser gets a session cookie (bot/console/sessions.py) and goes to the board.
The Mini App's page reads `tgWebAppData` from its own URL fragment (where Telegram puts it) and
posts it back; it is checked with aiogram's `safe_parse_webapp_init_data` against the bot's
token and refused when altered or older than `console_initdata_max_age` seconds.
"""

from __future__ import annotations

import logging
import re

from aiogram.utils.web_app import safe_parse_webapp_init_data
from aiohttp import web

from bot.console.sessions import clear_cookie, new_session, same_origin, set_cookie
from bot.console.site import SECURITY_HEADERS, console_of, problem, render_text, see_other
from workflows.console import redeem_login

log = logging.getLogger(__name__)
MAX_INIT_DATA = 4096


async def login(request: web.Request) -> web.StreamResponse:
    """A login link from chat: redeem it once, set the session, go to the board."""
    console = console_of(request)
    token = request.query.get("t", "")
    async with console.units() as uow:
        person = await redeem_login(uow, console.clock, token)
        if person is None:
            return problem(request, "zh", 403, "web.login_refused")
        await uow.commit()
    return _signed_in(request, person.id, "link")


def within_console(target: str) -> str:
    """Return a page of the console to go to after signing in; the board for anything else.

    Only a path on this console is followed (a button on a task card opens its order page),
    never another site: no scheme, no host, no "//", no backslash.
    """
    if re.fullmatch(r"/console/[A-Za-z0-9/_-]{0,80}", target) and "//" not in target:
        return target
    return "/console/"


def _signed_in(
    request: web.Request, person_id: int, via: str, target: str = "/console/"
) -> web.StreamResponse:
    """Redirect to the board (or the console page asked for) with a fresh session."""
    console = console_of(request)
    config = console.config
    session = new_session(person_id, console.clock.now(), config.session_hours, via)
    response = see_other(within_console(target))
    set_cookie(response, config.key, session, int(config.session_hours * 3600), config.secure)
    return response


async def app_page(request: web.Request) -> web.Response:
    """The Mini App's first page: it posts Telegram's initData back to sign in."""
    return web.Response(
        text=render_text(
            request,
            "miniapp.html",
            {"lang": "zh", "next": within_console(request.query.get("next", ""))},
        ),
        content_type="text/html",
        headers=SECURITY_HEADERS,
    )


async def app_session(request: web.Request) -> web.StreamResponse:
    """Check the Mini App's initData (signature and age) and sign its user in."""
    console = console_of(request)
    config = console.config
    if not same_origin(request, config.base_url):
        return problem(request, "zh", 403, "web.cross_site")
    form = await request.post()
    init_data = str(form.get("init_data", ""))
    if not init_data or len(init_data) > MAX_INIT_DATA or config.bot_token is None:
        return problem(request, "zh", 400, "web.app_refused")
    try:
        data = safe_parse_webapp_init_data(config.bot_token, init_data)
    except ValueError:
        return problem(request, "zh", 403, "web.app_refused")
    age = (console.clock.now() - data.auth_date).total_seconds()
    if data.user is None or age > config.initdata_max_age or age < -60:
        return problem(request, "zh", 403, "web.app_expired")
    async with console.units() as uow:
        person = await uow.people.by_telegram(data.user.id)
        if person is None or not person.is_staff:
            return problem(request, "zh", 403, "web.staff_only")
    return _signed_in(request, person.id, "app", str(form.get("next", "")))


async def logout(request: web.Request) -> web.StreamResponse:
    """Sign out: the cookie is taken off, and the sign-in page shown."""
    console = console_of(request)
    session = console.session(request)
    if session is not None:
        form = await request.post()
        if not same_origin(request, console.config.base_url) or form.get("csrf") != session.csrf:
            return problem(request, "zh", 403, "web.cross_site")
    response = see_other("/console/signed-out")
    clear_cookie(response)
    return response


async def signed_out(request: web.Request) -> web.Response:
    """The page after signing out."""
    return web.Response(
        text=render_text(request, "signin.html", {"lang": "zh", "signed_out": True}),
        content_type="text/html",
        headers=SECURITY_HEADERS,
    )
