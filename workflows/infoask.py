"""Information asked (issue 15): the holder asks the resident a question and waits for the answer.

The holder of an accepted or on-the-way order asks a question; the resident gets it with a reply
button and answers in words; the answer reaches the holder. Both are on the order's timeline.
While a question is unanswered, `orders.info_asked_at` holds when it was asked (None otherwise).
Its clock (workflows/clocks.py INFO_CLOCK): after `info_remind` the resident is reminded once;
after `info_breach` the holder is told nobody answered and the column is cleared so the work
goes on. The resolve clock is NOT stopped while waiting: the holder still owns the deadline and
may ask for 延期 or 挂起 if the answer is needed to go on.
"""

from __future__ import annotations

from workflows.dispatch import OrderContext, load, resident_notice
from workflows.errors import NotYourOrder, StaleAction
from workflows.model import WORKING_STATUSES, Action, Notice, Order, OrderChanges, Person
from workflows.orders import MAX_NOTE, clean_text
from workflows.ports import Clock, UnitOfWork
from workflows.states import can, move
from workflows.timers import Due, Effect, Moot, TimerPolicy
from workflows.vocabulary import Move, TimerKind, Verb
from workflows.work import held_task


async def ask_resident(
    uow: UnitOfWork, clock: Clock, person: Person, order_id: int, question: str
) -> Order:
    """The holder asks the resident a question; the resident gets it with a reply button."""
    ctx = await held_task(uow, person, order_id)
    question = clean_text(question, limit=MAX_NOTE)
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.ASK_RESIDENT,
        actor_id=person.id,
        note=question,
        changes=OrderChanges(info_asked_at=clock.now()),
    )
    ctx = OrderContext(order, ctx.category, ctx.place)
    await resident_notice(
        uow,
        ctx,
        "askinfo.to_resident",
        actions=(Action.of(Verb.RESIDENT_REPLY, order.id),),
        quiet=False,
        number=order.number,
        worker=person.name,
        question=question,
    )
    return order


async def may_answer(uow: UnitOfWork, person: Person, order_id: int) -> OrderContext:
    """Load the order whose question this resident may answer, or raise."""
    ctx = await load(uow, order_id)
    if ctx.order.resident_id != person.id:
        raise NotYourOrder()
    if ctx.order.info_asked_at is None or not can(Move.RESIDENT_ANSWERED, ctx.order.status):
        raise StaleAction(number=ctx.order.number)
    return ctx


async def resident_answers(
    uow: UnitOfWork,
    clock: Clock,
    person: Person,
    order_id: int,
    answer: str,
    photo: str | None = None,
) -> Order:
    """The resident's answer reaches the holder; the question's clock stops."""
    ctx = await may_answer(uow, person, order_id)
    answer = clean_text(answer, limit=MAX_NOTE) if answer else ""
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.RESIDENT_ANSWERED,
        actor_id=person.id,
        note=answer,
        photo=photo,
        changes=OrderChanges(info_asked_at=None),
    )
    if order.assignee_id is not None:
        await uow.outbox.add(
            Notice(
                order.assignee_id,
                "askinfo.answered",
                {"number": order.number, "resident": person.name, "answer": answer or "—"},
                photo=photo,
            )
        )
    return order


# --- the clock -----------------------------------------------------------------------------


async def info_reminders(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find each question unanswered for `info_remind`: the resident is reminded once."""
    asked_before = clock.now() - policy.info_remind
    orders = await uow.timers.orders_due(
        TimerKind.REMIND_INFO, WORKING_STATUSES, "info_asked_at", asked_before
    )
    return [
        Due(TimerKind.REMIND_INFO, o.id, o.info_asked_at, _remind(o))
        for o in orders
        if o.info_asked_at is not None and o.info_asked_at + policy.info_breach > clock.now()
    ]


async def info_breaches(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find each question unanswered for `info_breach`: the holder is told; the work goes on."""
    asked_before = clock.now() - policy.info_breach
    orders = await uow.timers.orders_due(
        TimerKind.BREACH_INFO, WORKING_STATUSES, "info_asked_at", asked_before
    )
    return [
        Due(TimerKind.BREACH_INFO, o.id, o.info_asked_at, _breach(clock, o))
        for o in orders
        if o.info_asked_at is not None
    ]


async def _still_asked(uow: UnitOfWork, seen: Order) -> OrderContext:
    ctx = await load(uow, seen.id)
    if ctx.order.info_asked_at is None or ctx.order.info_asked_at != seen.info_asked_at:
        raise Moot(f"order {seen.id}'s question was answered")
    return ctx


def _remind(seen: Order) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        ctx = await _still_asked(uow, seen)
        await resident_notice(
            uow,
            ctx,
            "askinfo.remind_resident",
            actions=(Action.of(Verb.RESIDENT_REPLY, seen.id),),
            number=seen.number,
        )

    return effect


def _breach(clock: Clock, seen: Order) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        ctx = await _still_asked(uow, seen)
        if not can(Move.RESIDENT_SILENT, ctx.order.status):
            raise Moot(f"order {seen.id} moved on")
        order = await move(
            uow,
            clock,
            ctx.order,
            Move.RESIDENT_SILENT,
            actor_id=None,
            changes=OrderChanges(info_asked_at=None),
        )
        if order.assignee_id is not None:
            await uow.outbox.add(
                Notice(order.assignee_id, "askinfo.silent", {"number": order.number})
            )

    return effect
