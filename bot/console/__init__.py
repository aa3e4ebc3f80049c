"""The office console (issue 18): a web board inside Telegram (a Mini App) and on the desk.

Served by the bot process on the monitoring listener (SANDAN_MONITOR_PORT, which runs in polling
and in webhook mode alike), under /console, as an aiohttp sub-application mounted with one call,
`mount_console`. Pages are rendered on the server with Jinja2 (aiohttp-jinja2); the same
workflows, state table and timeline as chat do the work. See docs/console.md.
"""

from __future__ import annotations

from aiohttp import web

from bot.console import actions, auth, media, pages, reports
from bot.console.site import CONSOLE, Console, ConsoleConfig, use_templates

__all__ = ["Console", "ConsoleConfig", "console_app", "mount_console"]


def console_app(console: Console) -> web.Application:
    """Return the console's sub-application: its pages, forms and downloads."""
    app = web.Application(client_max_size=64 * 1024)
    app[CONSOLE] = console
    use_templates(app)
    routes = app.router
    routes.add_get("/", pages.board_page)
    routes.add_get("/login", auth.login)
    routes.add_get("/app", auth.app_page)
    routes.add_post("/app", auth.app_session)
    routes.add_post("/logout", auth.logout)
    routes.add_get("/signed-out", auth.signed_out)
    routes.add_get("/orders/{order_id}", pages.order_page)
    routes.add_post("/orders/{order_id}/{action}", actions.order_action)
    routes.add_get("/orders/{order_id}/{kind:photo|voice}/{index}", media.order_file)
    routes.add_get("/people", pages.people_page)
    routes.add_post("/people/{person_id}/invite", pages.invite)
    routes.add_get("/reports", reports.reports_page)
    routes.add_get("/reports/orders.{fmt:xlsx|csv}", reports.export)
    routes.add_get("/audit", pages.audit_page)
    return app


def mount_console(server: web.Application, console: Console) -> None:
    """Serve the console under /console on a listener's app (the one call that wires it in)."""
    server.add_subapp("/console", console_app(console))
