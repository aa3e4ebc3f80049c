"""The chats of issue 15's moves: 延期, 挂起, 转办, 退单, duplicates and /merge."""

from __future__ import annotations

import re
from datetime import date, datetime

from handlers.context import Context, is_id
from handlers.events import Button, rows
from workflows.dispatch import load
from workflows.errors import InvalidInput, StaleAction
from workflows.followers import short
from workflows.model import ChatState, OrderStatus
from workflows.moves import (
    DAY_CHOICES,
    NEW_DEADLINE_AT,
    RESUME_AT,
    alike,
    ask_extension,
    decide_extension,
    departments,
    extended_by,
    follower_answer,
    join_order,
    local_moment,
    may_transfer,
    merge_orders,
    pause_order,
    resume_on,
    resume_order,
    return_order,
    shown,
    transfer_order,
)
from workflows.vocabulary import Step, Verb
from workflows.work import held_task

TYPED = "d"  # the "type a date" choice
DAY_LABELS = {1: "extend.btn_days_1", 3: "extend.btn_days_3", 7: "extend.btn_days_7"}
DATE = re.compile(r"^\s*(?:(\d{4})[-/.年])?\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
NUMBER = re.compile(r"\d{1,9}")


def parse_day(text: str, today: date) -> date | None:
    """Read "2026-12-10", "12-10", "12月10日" (a date without a year: the next such day)."""
    found = DATE.match(text)
    if found is None:
        return None
    year, month, day = found.groups()
    try:
        if year:
            return date(int(year), int(month), int(day))
        chosen = date(today.year, int(month), int(day))
        return chosen if chosen >= today else date(today.year + 1, int(month), int(day))
    except ValueError:
        return None


def _day_buttons(ctx: Context, verb: Verb, order_id: int) -> list[Button]:
    return [
        *(ctx.button(DAY_LABELS[n], verb.data(order_id, n)) for n in DAY_CHOICES),
        ctx.button("extend.btn_typed", verb.data(order_id, TYPED)),
    ]


def _today(ctx: Context) -> date:
    return ctx.clock.now().astimezone(ctx.policy.zone).date()


# --- 延期 -------------------------------------------------------------------------------------


async def ask_extend(ctx: Context, order_id: int) -> None:
    """The holder tapped 延期: offer +1 day, +3 days, +1 week or a typed date."""
    octx = await held_task(ctx.uow, ctx.require(), order_id)
    if octx.order.extension_requested_at is not None:
        raise StaleAction(number=octx.order.number)
    ctx.answer()
    ctx.say(
        "extend.ask_date",
        rows(_day_buttons(ctx, Verb.EXTEND_BY, order_id), 2),
        number=octx.order.number,
        due=shown(octx.order.resolve_due),
    )


async def extend_by(ctx: Context, order_id: int, choice: str) -> None:
    """Keep the new deadline chosen (or ask for a date) and ask for the reason."""
    octx = await held_task(ctx.uow, ctx.require(), order_id)
    ctx.answer()
    ctx.clear_buttons()
    if choice == TYPED:
        await ctx.set_state(ChatState(Step.EXTEND_DATE, {"order_id": order_id}))
        ctx.say("extend.ask_typed_date")
        return
    if not choice.isdigit() or int(choice) not in DAY_CHOICES:
        raise InvalidInput(reason="expired")
    until = extended_by(octx.order, ctx.clock, int(choice))
    await _ask_reason(ctx, Step.EXTEND_REASON, order_id, until, "extend.ask_reason")


async def _ask_reason(ctx: Context, step: Step, order_id: int, until: datetime, key: str) -> None:
    await ctx.set_state(ChatState(step, {"order_id": order_id, "until": until.isoformat()}))
    ctx.say(key, until=shown(until))


async def date_given(ctx: Context) -> None:
    """Take a typed date for a new deadline or a resume date, then ask for the reason."""
    state = ctx.state
    assert state is not None
    day = parse_day(ctx.event.text or "", _today(ctx))
    if day is None or ctx.event.command:
        ctx.say("extend.need_date")
        return
    order_id = int(state.data["order_id"])
    if state.name == Step.EXTEND_DATE:
        until = local_moment(day, NEW_DEADLINE_AT, ctx.policy.zone)
        await _ask_reason(ctx, Step.EXTEND_REASON, order_id, until, "extend.ask_reason")
    else:
        until = local_moment(day, RESUME_AT, ctx.policy.zone)
        await _ask_reason(ctx, Step.PAUSE_REASON, order_id, until, "pause.ask_reason")


async def reason_given(ctx: Context) -> None:
    """Carry out the extension request, pause, transfer or return the reason was asked for."""
    state = ctx.state
    assert state is not None
    given = await ctx.answered_text("extend.need_reason")
    if given is None:
        return
    order_id, reason = given
    person = ctx.require()
    name = Step.parse(state.name)
    if name == Step.EXTEND_REASON:
        until = datetime.fromisoformat(state.data["until"])
        order = await ask_extension(ctx.uow, ctx.clock, person, order_id, until, reason)
        ctx.say("extend.asked_done", number=order.number, until=shown(until))
    elif name == Step.PAUSE_REASON:
        until = datetime.fromisoformat(state.data["until"])
        order = await pause_order(ctx.uow, ctx.clock, person, order_id, until, reason)
        ctx.say(
            "pause.done",
            rows([ctx.verb_button(Verb.RESUME, order.id)], 1),
            number=order.number,
            until=shown(until),
        )
    elif name == Step.TRANSFER_REASON:
        department_id = int(state.data["department_id"])
        order = await transfer_order(ctx.uow, ctx.clock, person, order_id, department_id, reason)
        ctx.say("transfer.done", number=order.number)
    elif name == Step.RETURN_REASON:
        order = await return_order(ctx.uow, ctx.clock, person, order_id, reason)
        ctx.say("transfer.returned_done", number=order.number)


async def approve_extension(ctx: Context, order_id: int) -> None:
    """A dispatcher or supervisor approves the new deadline."""
    order = await decide_extension(ctx.uow, ctx.clock, ctx.require(), order_id, approve=True)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("extend.approved_done", number=order.number, due=shown(order.resolve_due))


async def refuse_extension(ctx: Context, order_id: int) -> None:
    """A dispatcher or supervisor refuses it: the deadline stays."""
    order = await decide_extension(ctx.uow, ctx.clock, ctx.require(), order_id, approve=False)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("extend.refused_done", number=order.number, due=shown(order.resolve_due))


# --- 挂起 -------------------------------------------------------------------------------------


async def ask_pause(ctx: Context, order_id: int) -> None:
    """The holder tapped 挂起: offer the resume dates."""
    octx = await held_task(ctx.uow, ctx.require(), order_id)
    ctx.answer()
    ctx.say(
        "pause.ask_date",
        rows(_day_buttons(ctx, Verb.PAUSE_FOR, order_id), 2),
        number=octx.order.number,
    )


async def pause_for(ctx: Context, order_id: int, choice: str) -> None:
    """Keep the resume date chosen (or ask for one) and ask for the reason."""
    await held_task(ctx.uow, ctx.require(), order_id)
    ctx.answer()
    ctx.clear_buttons()
    if choice == TYPED:
        await ctx.set_state(ChatState(Step.PAUSE_DATE, {"order_id": order_id}))
        ctx.say("pause.ask_typed_date")
        return
    if not choice.isdigit() or int(choice) not in DAY_CHOICES:
        raise InvalidInput(reason="expired")
    until = resume_on(ctx.clock, int(choice), ctx.policy.zone)
    await _ask_reason(ctx, Step.PAUSE_REASON, order_id, until, "pause.ask_reason")


async def resume_now(ctx: Context, order_id: int) -> None:
    """Resume a paused order by hand."""
    order = await resume_order(ctx.uow, ctx.clock, ctx.require(), order_id)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("pause.resumed_done", number=order.number, due=shown(order.resolve_due))


# --- 转办 and 退单 ----------------------------------------------------------------------------


async def ask_transfer(ctx: Context, order_id: int) -> None:
    """Show the departments the order may go to."""
    octx = await load(ctx.uow, order_id)
    await may_transfer(ctx.uow, ctx.require(), octx)
    buttons = [
        Button(d.names.pick(ctx.lang), Verb.TRANSFER_TO.data(order_id, d.id))
        for d in await departments(ctx.uow, octx)
    ]
    ctx.answer()
    if not buttons:
        ctx.say("transfer.no_department")
        return
    ctx.say("transfer.ask_department", rows(buttons, 1), number=octx.order.number)


async def transfer_to(ctx: Context, order_id: int, department_id: str) -> None:
    """Keep the department chosen and ask for the reason."""
    if not is_id(department_id):
        raise InvalidInput(reason="expired")
    octx = await load(ctx.uow, order_id)
    await may_transfer(ctx.uow, ctx.require(), octx)
    state = {"order_id": order_id, "department_id": int(department_id)}
    await ctx.set_state(ChatState(Step.TRANSFER_REASON, state))
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("transfer.ask_reason", number=octx.order.number)


async def ask_return(ctx: Context, order_id: int) -> None:
    """The liaison holding the order tapped 退单: ask why it is outside their remit."""
    octx = await load(ctx.uow, order_id)
    person = ctx.require()
    if octx.order.assignee_id != person.id or octx.order.status not in (
        OrderStatus.OFFERED,
        OrderStatus.ACCEPTED,
        OrderStatus.ON_WAY,
    ):
        raise StaleAction(number=octx.order.number)
    await ctx.set_state(ChatState(Step.RETURN_REASON, {"order_id": order_id}))
    ctx.answer()
    ctx.say("transfer.ask_return_reason", number=octx.order.number)


# --- duplicates ------------------------------------------------------------------------------


async def offer_alike(ctx: Context, category_id: int) -> bool:
    """Before placing an order, show the neighbours' open orders like it; True if shown."""
    person = ctx.require()
    found = await alike(ctx.uow, ctx.clock, person, category_id)
    if not found:
        return False
    category = await ctx.uow.categories.get(category_id)
    name = category.names.pick(ctx.lang) if category else ""
    lines = "\n".join(
        ctx.t("dup.line", number=o.number, category=name, description=short(o.description))
        for o in found
    )
    if len(found) == 1:
        same = [ctx.button("dup.btn_same", Verb.DUP_SAME.data(found[0].id))]
    else:
        same = [
            ctx.button("dup.btn_same_number", Verb.DUP_SAME.data(o.id), number=o.number)
            for o in found
        ]
    buttons = [*same, ctx.verb_button(Verb.DUP_NEW)]
    key = "dup.ask_one" if len(found) == 1 else "dup.ask_many"
    ctx.say(key, rows(buttons, 1), orders=lines)
    return True


async def same_thing(ctx: Context, order_id: int) -> None:
    """The resident says it is the same thing: they follow that order; no new order."""
    if ctx.state is None or ctx.state.name != Step.NEW:
        raise InvalidInput(reason="expired")
    order = await join_order(ctx.uow, ctx.clock, ctx.require(), order_id)
    await ctx.set_state(None)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("dup.joined", number=order.number)


async def follower_fixed(ctx: Context, order_id: int) -> None:
    """A follower says it is fixed."""
    order = await follower_answer(ctx.uow, ctx.clock, ctx.require(), order_id, fixed=True)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("dup.follower_thanks", number=order.number)


async def follower_not_fixed(ctx: Context, order_id: int) -> None:
    """A follower says it is not fixed: whoever holds it is told."""
    order = await follower_answer(ctx.uow, ctx.clock, ctx.require(), order_id, fixed=False)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("dup.follower_passed_on", number=order.number)


async def merge(ctx: Context) -> None:
    """/merge 00041 00043: the later order follows the earlier one."""
    person = ctx.require()
    numbers = [int(n) for n in NUMBER.findall(ctx.event.args)]
    if len(numbers) != 2:
        ctx.say("dup.merge_usage")
        return
    earlier, later = await merge_orders(ctx.uow, ctx.clock, person, *numbers)
    ctx.say("dup.merged_done", number=later.number, into=earlier.number)
