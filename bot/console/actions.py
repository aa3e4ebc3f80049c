"""The order page's forms: each calls the same workflow the chat's button does, then commits once.

Every POST must come from the console's own origin and carry the session's CSRF token. The form
is read and checked first; a domain refusal (not allowed, moved on, chased a moment ago) is shown
in the viewer's language and nothing is written. After success the browser goes back to the order
page (303), which says what was done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from bot.console.forms import Invalid, moment_of, required_id, words
from bot.console.sessions import same_origin
from bot.console.site import Console as ConsoleDeps
from bot.console.site import console_of, problem, see_other, signed_in
from storage.uow import SqlUnitOfWork
from workflows.errors import DomainError
from workflows.model import AuditEntry, Person
from workflows.moves import (
    NEW_DEADLINE_AT,
    RESUME_AT,
    ask_extension,
    decide_extension,
    pause_order,
    resume_order,
    transfer_order,
)
from workflows.orders import MAX_NOTE
from workflows.supervision import add_staff_note, chase, escalate_by, reassign
from workflows.work import resolve_task

Form = Mapping[str, Any]
Act = Callable[[SqlUnitOfWork, ConsoleDeps, Person, int, Form], Awaitable[None]]


async def _chase(uow: SqlUnitOfWork, c: ConsoleDeps, p: Person, order_id: int, f: Form) -> None:
    await chase(uow, c.clock, p, order_id)


async def _reassign(uow: SqlUnitOfWork, c: ConsoleDeps, p: Person, order_id: int, f: Form) -> None:
    target = required_id(f, "to")
    reason = words(f, "reason", MAX_NOTE)
    await reassign(uow, c.clock, p, order_id, target, reason)


async def _escalate(uow: SqlUnitOfWork, c: ConsoleDeps, p: Person, order_id: int, f: Form) -> None:
    await escalate_by(uow, c.clock, p, order_id, words(f, "reason", MAX_NOTE))


async def _note(uow: SqlUnitOfWork, c: ConsoleDeps, p: Person, order_id: int, f: Form) -> None:
    await add_staff_note(uow, c.clock, p, order_id, words(f, "note", MAX_NOTE))


async def _extend(uow: SqlUnitOfWork, c: ConsoleDeps, p: Person, order_id: int, f: Form) -> None:
    until = moment_of(f, "until", c.config.zone, NEW_DEADLINE_AT)
    await ask_extension(uow, c.clock, p, order_id, until, words(f, "reason", MAX_NOTE))


async def _decide(uow: SqlUnitOfWork, c: ConsoleDeps, p: Person, order_id: int, f: Form) -> None:
    answer = str(f.get("answer", ""))
    if answer not in ("approve", "refuse"):
        raise Invalid("answer")
    await decide_extension(uow, c.clock, p, order_id, approve=answer == "approve")


async def _pause(uow: SqlUnitOfWork, c: ConsoleDeps, p: Person, order_id: int, f: Form) -> None:
    until = moment_of(f, "until", c.config.zone, RESUME_AT)
    await pause_order(uow, c.clock, p, order_id, until, words(f, "reason", MAX_NOTE))


async def _resume(uow: SqlUnitOfWork, c: ConsoleDeps, p: Person, order_id: int, f: Form) -> None:
    await resume_order(uow, c.clock, p, order_id)


async def _transfer(uow: SqlUnitOfWork, c: ConsoleDeps, p: Person, order_id: int, f: Form) -> None:
    department = required_id(f, "department")
    await transfer_order(uow, c.clock, p, order_id, department, words(f, "reason", MAX_NOTE))


async def _close(uow: SqlUnitOfWork, c: ConsoleDeps, p: Person, order_id: int, f: Form) -> None:
    await resolve_task(uow, c.clock, p, order_id, words(f, "note", MAX_NOTE))


# The console's actions (the URL's last part) → what each does; each names its page's notice.
ACTIONS: dict[str, Act] = {
    "chase": _chase,
    "reassign": _reassign,
    "escalate": _escalate,
    "note": _note,
    "extend": _extend,
    "decide": _decide,
    "pause": _pause,
    "resume": _resume,
    "transfer": _transfer,
    "close": _close,
}


async def order_action(request: web.Request) -> web.StreamResponse:
    """Carry out one action on an order from its page's form, as the chat would."""
    console = console_of(request)
    async with console.units() as uow:
        viewer, session = await signed_in(request, uow)
        lang = viewer.lang
        form = await request.post()
        if not same_origin(request, console.config.base_url) or form.get("csrf") != session.csrf:
            return problem(request, lang, 403, "web.cross_site")
        name = request.match_info["action"]
        act = ACTIONS.get(name)
        raw = request.match_info["order_id"]
        if act is None or not (raw.isdigit() and len(raw) <= 9):
            return problem(request, lang, 404, "error.order_not_found")
        order_id = int(raw)
        try:
            await act(uow, console, viewer.person, order_id, form)
        except Invalid as bad:
            return problem(request, lang, 400, "web.bad_input", field=bad.field)
        except DomainError as refused:
            status = 404 if refused.key == "error.order_not_found" else 409
            if refused.key == "error.not_allowed":
                status = 403
            return problem(request, lang, status, refused.key, **refused.params)
        await uow.audit.record(
            AuditEntry(
                console.clock.now(),
                "console_action",
                viewer.person.id,
                viewer.person.name,
                f"order {order_id:05d}",
                {"action": name, "via": session.via},
            )
        )
        await uow.commit()
    return see_other(f"/console/orders/{order_id}?done={name}")
