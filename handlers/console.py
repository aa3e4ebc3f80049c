"""/console: a staff member asks for a one-time login link to the web console (issue 18)."""

from __future__ import annotations

from urllib.parse import quote

from handlers.context import Context
from handlers.events import Button
from workflows.console import LOGIN_MINUTES, issue_login

LOGIN_PATH = "/console/login"  # the console's page that redeems a link (bot/console/auth.py)


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
    button = Button(ctx.t("console.btn_open"), url=url)
    ctx.say("console.link", ((button,),), url=url, minutes=LOGIN_MINUTES)
