"""The workers' conversations: task cards, accept/decline, work, resolve, escalate; pool; queue."""

from __future__ import annotations

from typing import Any

from handlers import publicity
from handlers.context import Context, is_id
from handlers.events import Button, Send, rows
from workflows.cards import Card
from workflows.dispatch import (
    OrderContext,
    accept_task,
    card_params,
    claim_from_pool,
    decline_task,
    dispatch_by_hand,
    dispatchers,
    escalate,
    holding,
    load,
    suggest,
    team_label,
    work_actions,
)
from workflows.errors import InvalidInput, NotAllowed
from workflows.model import Action, ChatState, OrderStatus, Role, VisitKind
from workflows.visits import visit_actions, visit_params
from workflows.vocabulary import Step, Verb
from workflows.work import add_note, held_task, on_my_way, resolve_task

TASKS_SHOWN = 10
# Buttons that ask for a text first: verb → (state, prompt key).
ASKS_TEXT: dict[Verb, tuple[Step, str]] = {
    Verb.DECLINE: (Step.DECLINE, "task.ask_decline_reason"),
    Verb.NOTE: (Step.NOTE, "task.ask_note"),
    Verb.RESOLVE: (Step.RESOLVE, "task.ask_resolution"),
    Verb.ESCALATE: (Step.ESCALATE, "task.ask_escalation_reason"),
}


async def accept(ctx: Context, order_id: int) -> None:
    """Accept the task; the card pressed becomes the working card (with the phone)."""
    person = ctx.require()
    await accept_task(ctx.uow, ctx.clock, person, order_id)
    ctx.answer("task.accepted_toast")


async def claim(ctx: Context, order_id: int) -> None:
    """Claim a pool task; the first to claim wins: the card pressed becomes the working card."""
    person = ctx.require()
    await claim_from_pool(ctx.uow, ctx.clock, person, order_id)
    ctx.answer("task.claimed_toast")


async def ask_text(ctx: Context, verb: Verb, order_id: int) -> None:
    """Ask for the reason or note a task button needs."""
    person = ctx.require()
    state, prompt = ASKS_TEXT[verb]
    if verb == Verb.DECLINE:
        ctx_order = await holding(ctx.uow, person, order_id, (OrderStatus.OFFERED,))
    else:
        ctx_order = await held_task(ctx.uow, person, order_id)
    await ctx.set_state(ChatState(state, {"order_id": order_id}))
    ctx.answer()
    ctx.say(prompt, number=ctx_order.order.number)


async def text_given(ctx: Context) -> None:
    """Carry out the decline, note, resolution or escalation the person was asked for."""
    state = ctx.state
    assert state is not None
    person = ctx.require()
    order_id = int(state.data["order_id"])
    name = Step.parse(state.name)
    event = ctx.event
    if name == Step.RESOLVE and event.photo and not event.text:
        data = dict(state.data, photo=event.photo)
        await ctx.set_state(ChatState(state.name, data))
        ctx.say("task.photo_kept")
        return
    if not event.text or event.command:
        ctx.say("task.need_text")
        return
    await ctx.set_state(None)
    if name == Step.DECLINE:
        order = await decline_task(ctx.uow, ctx.clock, person, order_id, event.text)
        ctx.say("task.declined", number=order.number)
    elif name == Step.NOTE:
        order = await add_note(ctx.uow, ctx.clock, person, order_id, event.text)
        ctx.say("task.noted", number=order.number)  # the card above shows the note
    elif name == Step.RESOLVE:
        photo = event.photo or state.data.get("photo")
        order = await resolve_task(ctx.uow, ctx.clock, person, order_id, event.text, photo)
        ctx.say("task.resolved", number=order.number)
        publicity.ask_time_spent(ctx, order)  # publicity (issue 17): for the service hours
    elif name == Step.ESCALATE:
        order = await escalate(ctx.uow, ctx.clock, person, order_id, event.text)
        ctx.say("task.escalated", number=order.number)


async def on_way(ctx: Context, order_id: int) -> None:
    """Tell the resident the worker is on the way."""
    await on_my_way(ctx.uow, ctx.clock, ctx.require(), order_id)
    ctx.answer("task.on_way_toast")  # the card itself now says so (workflows/work.py)


async def hand_over(ctx: Context, order_id: int, person_id: str) -> None:
    """Dispatch a queued order by hand to the chosen person."""
    if not is_id(person_id):
        raise InvalidInput(reason="expired")
    order = await dispatch_by_hand(ctx.uow, ctx.clock, ctx.require(), order_id, int(person_id))
    worker = await ctx.uow.people.get(int(person_id))
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("queue.dispatched", number=order.number, name=worker.name if worker else "")


async def my_tasks(ctx: Context) -> None:
    """List the worker's offered and accepted tasks, each with its buttons."""
    person = ctx.require()
    if not person.is_staff:
        raise NotAllowed()
    orders = await ctx.uow.orders.of_assignee(
        person.id,
        (OrderStatus.OFFERED, OrderStatus.ACCEPTED, OrderStatus.ON_WAY, OrderStatus.PAUSED),
    )
    # rounds (issue 17): the visit tasks opened for the person, beside the orders.
    visits = [v for v in await ctx.uow.visits.open_for(person.id) if v.opened_at <= ctx.clock.now()]
    if not orders and not visits:
        ctx.say("tasks.none")
        return
    ctx.say("tasks.header", count=len(orders) + len(visits))
    for visit in visits[:TASKS_SHOWN]:
        params = await visit_params(ctx.uow, ctx.policy, visit, ctx.lang)
        key = await ctx.uow.visits.key_household(visit.household_id)
        params["household_kind"] = (
            key.kind if key is not None and visit.kind == VisitKind.KEY else visit.kind.value
        )
        text = ctx.t("tasks.visit_item", **params)
        ctx.send(Send(ctx.event.chat_id, text, ctx.action_buttons(visit_actions(visit.id), 3)))
    for order in orders[:TASKS_SHOWN]:
        octx = await load(ctx.uow, order.id)
        if order.status == OrderStatus.OFFERED:
            actions: tuple[Action, ...] = (
                Action.of(Verb.ACCEPT, order.id),
                Action.of(Verb.DECLINE, order.id),
            )
            card = Card.OFFER
        elif order.status == OrderStatus.PAUSED:  # moves (issue 15): it can be resumed early
            actions = (Action.of(Verb.RESUME, order.id),)
            card = Card.TASK
        else:
            actions = work_actions(order.id, order.status)
            card = Card.TASK
        ctx.say(
            "tasks.item", ctx.action_buttons(actions), ref=card.ref(order.id), **_item(ctx, octx)
        )


def _item(ctx: Context, octx: OrderContext) -> dict[str, Any]:
    params = card_params(octx, ctx.lang)
    params["status"] = octx.order.status.value
    return params


async def open_pool(ctx: Context) -> None:
    """List the open pool tasks this volunteer may claim."""
    person = ctx.require()
    if not person.has_role(Role.VOLUNTEER):
        raise NotAllowed()
    orders = await ctx.uow.orders.pool_for(person.id)
    if not orders:
        ctx.say("pool.none")
        return
    for order in orders[:TASKS_SHOWN]:
        octx = await load(ctx.uow, order.id)
        item = _item(ctx, octx)
        # publicity (issue 17): each task named after the volunteer's team ("红管家 · 微心愿").
        teams = await ctx.uow.people.teams([octx.place.community.id])
        item["category"] = team_label(teams, person.id, octx.category, ctx.lang)
        ctx.say(
            "pool.item",
            rows([ctx.verb_button(Verb.CLAIM, order.id)], 1),
            ref=Card.OFFER.ref(order.id),
            **item,
        )


async def queue(ctx: Context) -> None:
    """List the community's orders waiting for a dispatcher, with one-tap suggestions."""
    person = ctx.require()
    communities = [r.place_id for r in person.roles if r.role == Role.DISPATCHER]
    if not communities:
        raise NotAllowed()
    shown = 0
    for place_id in communities:
        place = await ctx.uow.places.get(place_id)
        if place is None:
            continue
        community_ids = [place_id]
        if place.kind.value == "street":
            community_ids = [
                c.id for c in await ctx.uow.places.children(place_id, place.kind.COMMUNITY)
            ]
        for community_id in community_ids:
            for order in await ctx.uow.orders.in_community(community_id, (OrderStatus.QUEUED,)):
                octx = await load(ctx.uow, order.id)
                if person.id not in {d.id for d in await dispatchers(ctx.uow, octx.place)}:
                    continue
                buttons = [
                    Button(
                        ctx.t("btn.dispatch_to", name=p.name), Verb.HAND_OVER.data(order.id, p.id)
                    )
                    for p in await suggest(ctx.uow, octx)
                ]
                ctx.say(
                    "queue.item",
                    rows(buttons, 1),
                    ref=Card.QUEUE.ref(order.id),
                    **_item(ctx, octx),
                )
                shown += 1
    if not shown:
        ctx.say("queue.none")
