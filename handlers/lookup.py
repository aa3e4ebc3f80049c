"""Look an order up (/order 00042, /o_00042, its number's button) and 督办 on it.

The card shows the order, its timeline (who, when, what, why, in the organisation's time
zone), paged to fit one message, and the buttons of what the viewer may do: 催办, 改派, 上报,
备注 (workflows/supervision.py decides who may do what).
"""

from __future__ import annotations

from handlers.context import Context, is_id
from handlers.events import Button, Send, rows
from workflows.errors import InvalidInput, OrderNotFound
from workflows.model import ChatState, OrderEvent
from workflows.supervision import (
    LINK_PREFIX,
    Powers,
    add_staff_note,
    chase,
    escalate_by,
    look_up,
    reassign,
    reassign_choices,
    staff_noting,
    supervising,
    timeline,
    viewer_actions,
)
from workflows.vocabulary import Move, Step, Verb

MAX_UNITS = 4096  # Telegram's limit of a message, in UTF-16 code units
MARGIN = 96  # room for the "…earlier entries" line


def units(text: str) -> int:
    """Return a text's length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def pages(lines: list[str], budget: int) -> list[list[str]]:
    """Cut the timeline's lines into pages that fit the budget: page 0 holds the newest."""
    found: list[list[str]] = []
    page: list[str] = []
    size = 0
    for line in reversed(lines):
        cost = units(line) + 1
        if page and size + cost > budget:
            found.append(page[::-1])
            page, size = [], 0
        page.append(line)
        size += cost
    if page or not found:
        found.append(page[::-1])
    return found


def order_id_of(text: str) -> int | None:
    """Return the order id a typed number stands for ("00042", "42", "#42"), or None."""
    digits = text.strip().lstrip("#")
    if not digits or not is_id(digits):
        return None
    return int(digits)


async def order_command(ctx: Context) -> None:
    """/order 00042: show the order, or say how to ask."""
    ctx.require()
    if not ctx.event.args:
        ctx.say("lookup.usage")
        return
    order_id = order_id_of(ctx.event.args.split()[0])
    if order_id is None:
        raise OrderNotFound()
    await show(ctx, order_id, 0)


def is_link(command: str) -> bool:
    """Return whether a command is an order's link (/o_00042)."""
    return command.startswith(LINK_PREFIX)


async def order_link(ctx: Context, command: str) -> None:
    """/o_00042, tapped in a message: show the order."""
    ctx.require()
    order_id = order_id_of(command[len(LINK_PREFIX) :])
    if order_id is None:
        raise OrderNotFound()
    await show(ctx, order_id, 0)


async def view(ctx: Context, order_id: int, page: str) -> None:
    """The order's number tapped, or "earlier entries": show that page of its timeline."""
    ctx.answer()
    await show(ctx, order_id, int(page) if is_id(page) else 0)


async def show(ctx: Context, order_id: int, page: int) -> None:
    """Send the order's card: what it is, its timeline's page, the viewer's buttons."""
    person = ctx.require()
    octx, viewer = await look_up(ctx.uow, person, order_id)
    order = octx.order
    holder = await ctx.uow.people.get(order.assignee_id) if order.assignee_id else None
    params = {
        "number": order.number,
        "category": octx.category.names.pick(ctx.lang),
        "status": order.status.value,
        "description": order.description,
        "placed": order.created_at.astimezone(ctx.policy.zone).strftime("%Y-%m-%d %H:%M"),
    }
    if viewer.staff:
        head = ctx.t(
            "lookup.header_staff",
            address=octx.place.address(ctx.lang),
            holder=holder.name if holder else "—",
            **params,
        )
    else:
        head = ctx.t("lookup.header_resident", **params)
    lines = [await _line(ctx, e, viewer) for e in await timeline(ctx.uow, octx, viewer)]
    title = ctx.t("lookup.timeline")
    earlier = ctx.t("lookup.earlier")
    split = pages(lines, MAX_UNITS - units(head) - units(title) - units(earlier) - MARGIN)
    shown = split[min(page, len(split) - 1)]
    text = "\n".join([head, "", title, *([earlier] if page + 1 < len(split) else []), *shown])
    buttons = [*ctx.action_buttons(viewer_actions(octx, viewer))]
    if page + 1 < len(split):
        buttons.append((Button(ctx.t("lookup.btn_earlier"), Verb.LOOKUP.data(order.id, page + 1)),))
    ctx.send(Send(ctx.event.chat_id, text, tuple(buttons)))


async def _line(ctx: Context, event: OrderEvent, viewer: Powers) -> str:
    """Return one timeline line: when, who, what, to whom, why."""
    at = event.at.astimezone(ctx.policy.zone).strftime("%m-%d %H:%M")
    who = await _name(ctx, event.actor_id) if event.actor_id is not None else ""
    if not viewer.staff and ctx.person is not None and event.actor_id == ctx.person.id:
        who = ctx.t("lookup.you")
    what = ctx.t(f"lookup.move_{Move(event.action).value}")
    parts = [at, f"{who} {what}" if who else what]
    if viewer.staff and event.target_id is not None and event.target_id != event.actor_id:
        parts.append(ctx.t("lookup.to", name=await _name(ctx, event.target_id)))
    line = " ".join(parts)
    if event.note:
        line += ctx.t("lookup.why", note=event.note)
    return line


async def _name(ctx: Context, person_id: int | None) -> str:
    person = await ctx.uow.people.get(person_id) if person_id is not None else None
    return person.name if person is not None else ctx.t("lookup.system")


async def chase_tapped(ctx: Context, order_id: int) -> None:
    """催办: the holder is chased at once; the chaser is told."""
    order = await chase(ctx.uow, ctx.clock, ctx.require(), order_id)
    ctx.answer("chase.done", number=order.number)
    ctx.say("chase.done", number=order.number)


async def reassign_tapped(ctx: Context, order_id: int) -> None:
    """改派: show who the order may go to."""
    octx, people = await reassign_choices(ctx.uow, ctx.require(), order_id)
    ctx.answer()
    if not people:
        ctx.say("reassign.nobody", number=octx.order.number)
        return
    buttons = [
        Button(ctx.t("reassign.btn_to", name=p.name), Verb.REASSIGN_TO.data(order_id, p.id))
        for p in people
    ]
    ctx.say("reassign.pick", rows(buttons, 1), number=octx.order.number)


async def reassign_picked(ctx: Context, order_id: int, person_id: str) -> None:
    """A person picked for 改派: ask why."""
    if not is_id(person_id):
        raise InvalidInput(reason="expired")
    octx = await supervising(ctx.uow, ctx.require(), order_id, Move.REASSIGN)
    target = await ctx.uow.people.get(int(person_id))
    if target is None:
        raise InvalidInput(reason="expired")
    await ctx.set_state(ChatState(Step.REASSIGN, {"order_id": order_id, "to": target.id}))
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("reassign.ask_reason", number=octx.order.number, name=target.name)


async def escalate_tapped(ctx: Context, order_id: int) -> None:
    """上报: ask why."""
    octx = await supervising(ctx.uow, ctx.require(), order_id, Move.SUPERVISE_ESCALATE)
    await ctx.set_state(ChatState(Step.SUPERVISE_ESCALATE, {"order_id": order_id}))
    ctx.answer()
    ctx.say("lookup.ask_escalation_reason", number=octx.order.number)


async def note_tapped(ctx: Context, order_id: int) -> None:
    """备注: ask for the internal note."""
    octx = await staff_noting(ctx.uow, ctx.require(), order_id)
    await ctx.set_state(ChatState(Step.STAFF_NOTE, {"order_id": order_id}))
    ctx.answer()
    ctx.say("staffnote.ask", number=octx.order.number)


async def text_given(ctx: Context) -> None:
    """Carry out the 改派, 上报 or note the person was asked to give words for."""
    state = ctx.state
    assert state is not None
    person = ctx.require()
    step = Step.parse(state.name)
    data = dict(state.data)
    answered = await ctx.answered_text("task.need_text")
    if answered is None:
        return
    order_id, text = answered
    if step == Step.STAFF_NOTE:
        order = await add_staff_note(ctx.uow, ctx.clock, person, order_id, text)
        ctx.say("staffnote.added", number=order.number)
    elif step == Step.REASSIGN:
        order, target = await reassign(ctx.uow, ctx.clock, person, order_id, int(data["to"]), text)
        ctx.say("reassign.done", number=order.number, name=target.name)
    elif step == Step.SUPERVISE_ESCALATE:
        order = await escalate_by(ctx.uow, ctx.clock, person, order_id, text)
        holder = await ctx.uow.people.get(order.assignee_id) if order.assignee_id else None
        if holder is not None:
            ctx.say("lookup.escalated_to", number=order.number, name=holder.name)
        else:
            ctx.say("lookup.escalated_queue", number=order.number)
