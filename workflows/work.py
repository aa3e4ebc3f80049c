"""Working an accepted task: on my way, progress notes, resolution."""

from __future__ import annotations

from dataclasses import replace

from workflows.cards import Card, show_card
from workflows.dispatch import (
    OrderContext,
    deferrable,
    holding,
    resident_notice,
    task_card_params,
    work_actions,
)
from workflows.followers import follower_actions, tell_followers
from workflows.model import Action, Notice, Order, OrderChanges, OrderStatus, Person
from workflows.orders import MAX_NOTE, clean_text
from workflows.ports import Clock, UnitOfWork
from workflows.states import move
from workflows.vocabulary import Move, Verb

# The worker's card of a task being worked, edited in place, by where the task stands.
CARD_KEYS = {
    OrderStatus.ACCEPTED: "intake.card_accepted",
    OrderStatus.ON_WAY: "intake.card_on_way",
    OrderStatus.RESOLVED: "intake.card_resolved",
}


async def held_task(uow: UnitOfWork, person: Person, order_id: int) -> OrderContext:
    """Load an order this person holds, is working and still may, or raise."""
    return await holding(uow, person, order_id, (OrderStatus.ACCEPTED, OrderStatus.ON_WAY))


async def on_my_way(uow: UnitOfWork, clock: Clock, person: Person, order_id: int) -> Order:
    """Mark the task as under way; the resident is told the worker is coming."""
    ctx = await held_task(uow, person, order_id)
    order = await move(uow, clock, ctx.order, Move.ON_WAY, actor_id=person.id)
    ctx = OrderContext(order, ctx.category, ctx.place)
    await resident_notice(uow, ctx, "order.on_way", worker=person.name)
    await working_card(uow, ctx, person)
    return order


async def working_card(
    uow: UnitOfWork, ctx: OrderContext, person: Person, note: str = "", *, live: bool = True
) -> None:
    """Edit the worker's one card of the task to say where it stands now (and its last note)."""
    params = await task_card_params(uow, ctx, person)
    params["note"] = note or "—"
    actions = work_actions(ctx.order.id, ctx.order.status) if live else ()
    key = CARD_KEYS[ctx.order.status]
    await show_card(uow, person.id, ctx.order.id, key, params, actions, live=live)


async def add_note(
    uow: UnitOfWork, clock: Clock, person: Person, order_id: int, text: str
) -> Order:
    """Record a progress note; the resident sees it."""
    ctx = await held_task(uow, person, order_id)
    note = clean_text(text, limit=MAX_NOTE)
    order = await move(uow, clock, ctx.order, Move.NOTE, actor_id=person.id, note=note)
    await resident_notice(uow, ctx, "order.note", worker=person.name, note=note)
    await working_card(uow, OrderContext(order, ctx.category, ctx.place), person, note)
    return order


async def resolve_task(
    uow: UnitOfWork,
    clock: Clock,
    person: Person,
    order_id: int,
    text: str,
    photo: str | None = None,
) -> Order:
    """Resolve the task with a note and optional photo; the resident is asked to confirm."""
    ctx = await held_task(uow, person, order_id)
    note = clean_text(text, limit=MAX_NOTE)
    # The card says it is done and loses its buttons, before the move would only strip them.
    done = replace(ctx.order, status=OrderStatus.RESOLVED)
    await working_card(uow, OrderContext(done, ctx.category, ctx.place), person, note, live=False)
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.RESOLVE,
        actor_id=person.id,
        note=note,
        photo=photo,
        # (a 延期 request still pending is moot once it is resolved: moves, issue 15; so is a
        # question to the resident: infoask, issue 15)
        changes=OrderChanges(
            resolved_at=clock.now(),
            extension_requested_at=None,
            extension_until=None,
            info_asked_at=None,
        ),
    )
    resident = await uow.people.get(order.resident_id)
    if resident is not None:
        if photo is not None:
            await uow.outbox.add(
                Notice(
                    resident.id,
                    "order.resolved_photo",
                    {"number": order.number},
                    photo=photo,
                    deferrable=deferrable(order),
                )
            )
        await uow.outbox.add(
            Notice(
                resident.id,
                "order.resolved",
                {
                    "number": order.number,
                    "category": ctx.category.names.pick(resident.lang),
                    "worker": person.name,
                    "note": note,
                },
                (
                    Action.of(Verb.SATISFIED, order.id),
                    Action.of(Verb.NOT_SATISFIED, order.id),
                ),
                deferrable=deferrable(order),
                ref=Card.ORDER.ref(order.id),
            )
        )
    await tell_followers(
        uow, order, ctx, "dup.follower_resolved", follower_actions(order.id), note=note
    )
    return order
