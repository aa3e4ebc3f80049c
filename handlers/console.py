"""/console: a staff member asks for a one-time login link to the web console (issue 18)."""

from __future__ import annotations

from urllib.parse import quote

from handlers.context import Context
from handlers.events import Button, SetMenuButton
from workflows.console import LOGIN_MINUTES, issue_login

LOGIN_PATH = "/console/login"  # the console's page that redeems a link (bot/console/auth.py)
APP_PATH = "/console/app"  # the Mini App's first page: it signs in with Telegram's initData


def login_url(base: str, token: str) -> str:
    """Return the login link for a token, under the console's public base URL."""
    return f"{base.rstrip('/')}{LOGIN_PATH}?t={quote(token)}"


async def console_command(ctx: Context) -> None:
    """/console: send a one-time login link, in a private chat only; residents are refused."""
    person = ctx.require()
    if not person.is_staff:
        ctx.say("console.staff_only")
        return
    if ctx.event.chat_type != "private":
        ctx.say("console.private_only")
        return
    if not ctx.links.console_url:
        ctx.say("console.not_served")
        return
    token = await issue_login(ctx.uow, ctx.clock, person)
    url = login_url(ctx.links.console_url, token)
    buttons = [(Button(ctx.t("console.btn_open"), url=url),)]
    app = ctx.links.console_url.rstrip("/") + APP_PATH
    if app.startswith("https://"):  # Telegram opens Mini Apps over HTTPS only
        buttons.append((Button(ctx.t("console.btn_app"), web_app=app),))
        ctx.replies.append(SetMenuButton(ctx.event.chat_id, ctx.t("console.menu_button"), app))
    ctx.say("console.link", tuple(buttons), url=url, minutes=LOGIN_MINUTES)
