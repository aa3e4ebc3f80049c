"""督办 and lookup: who may see an order and its timeline, chase, reassign, escalate, notes.

Staff in the order's scope see the whole timeline and may add internal notes (备注) that only
staff see; supervisors and dispatchers of its community may chase its holder (催办), give it to
another person (改派) or send it up the grid (上报). A resident sees their own order's public
timeline. Anyone else is told, as for an unknown number, that there is no such order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from workflows.cards import Card
from workflows.dispatch import (
    NOT_WORKING,
    OrderContext,
    card_params,
    climb,
    covering_role,
    dispatchers,
    load,
    offer,
    suggest,
    work_actions,
)
from workflows.errors import DomainError, NotAllowed, OrderNotFound, StaleAction
from workflows.model import (
    Action,
    AuditEntry,
    Notice,
    Order,
    OrderEvent,
    OrderStatus,
    Person,
    Role,
)
from workflows.orders import MAX_NOTE, clean_text
from workflows.ports import Clock, UnitOfWork
from workflows.states import can, move
from workflows.vocabulary import Move, Verb

LINK_PREFIX = "o_"  # /o_00042: a command Telegram shows as a link to tap, to look the order up
CHASE_WINDOW = timedelta(hours=1)
CHASES_PER_WINDOW = 1  # one chase of an order an hour, whoever taps: the holder is not spammed

# What a resident sees of their order's timeline, and which of those lines keep their words.
PUBLIC_MOVES = frozenset(
    {
        Move.PLACE,
        Move.ACCEPT,
        Move.CLAIM,
        Move.ON_WAY,
        Move.NOTE,
        Move.RESOLVE,
        Move.ESCALATE,
        Move.CONFIRM,
        Move.REOPEN,
        Move.CANCEL,
        Move.ADD_INFO,
        Move.RATE,
        Move.COMMENT,
        Move.AUTOCLOSE,
        Move.FOLLOWUP_OK,
        Move.FOLLOWUP_REOPEN,
    }
)
PUBLIC_NOTES = frozenset(
    {
        Move.NOTE,
        Move.RESOLVE,
        Move.REOPEN,
        Move.ADD_INFO,
        Move.RATE,
        Move.COMMENT,
        Move.FOLLOWUP_REOPEN,
    }
)
# Lines of a resident's timeline that name the worker who did them (as the notices do).
WORKER_MOVES = frozenset({Move.ACCEPT, Move.CLAIM, Move.ON_WAY, Move.NOTE, Move.RESOLVE})


def link(order: Order) -> str:
    """Return the command that looks the order up, tappable in any message: /o_00042."""
    return f"/{LINK_PREFIX}{order.number}"


class ChasedRecently(DomainError):
    """The order's holder was chased a moment ago; another chase would only spam them."""

    key = "chase.too_soon"


@dataclass(frozen=True)
class Powers:
    """What a viewer may do with one order."""

    staff: bool = False  # sees the whole timeline and may add internal notes
    resident: bool = False  # the resident who placed it: the public timeline only
    supervisor: bool = False
    dispatcher: bool = False

    @property
    def supervises(self) -> bool:
        """Return whether the viewer may chase, reassign and escalate the order."""
        return self.supervisor or self.dispatcher


async def powers(uow: UnitOfWork, person: Person, ctx: OrderContext) -> Powers | None:
    """Return what the person may do with the order, or None if it is none of their business."""
    community = ctx.place.community
    mine = {community.id} | ({community.parent_id} if community.parent_id else set())
    supervisor = any(r.role == Role.SUPERVISOR and r.place_id in mine for r in person.roles)
    dispatcher = person.id in {d.id for d in await dispatchers(uow, ctx.place)}
    scopes = ctx.place.scope_ids()
    # A volunteer sees only what they hold: they are the community's, not an area's, crew.
    worker = ctx.order.assignee_id == person.id or any(
        r.role not in (*NOT_WORKING, Role.VOLUNTEER)
        and (
            r.place_id == ctx.category.department_id
            if r.role == Role.DEPT_LIAISON
            else r.place_id in scopes
        )
        for r in person.roles
    )
    staff = supervisor or dispatcher or worker
    resident = ctx.order.resident_id == person.id
    if not staff and not resident:
        return None
    return Powers(staff, resident, supervisor, dispatcher)


async def look_up(uow: UnitOfWork, person: Person, order_id: int) -> tuple[OrderContext, Powers]:
    """Return the order with what the person may do, or refuse as for an unknown number."""
    ctx = await load(uow, order_id)
    found = await powers(uow, person, ctx)
    if found is None:
        raise OrderNotFound()
    return ctx, found


async def timeline(uow: UnitOfWork, ctx: OrderContext, viewer: Powers) -> list[OrderEvent]:
    """Return the order's timeline as the viewer may see it, oldest first.

    Staff see every line. A resident sees only the public lines, without internal reasons
    (an escalation's, a reassignment's) and never an internal note.
    """
    events = await uow.orders.events(ctx.order.id)
    if viewer.staff:
        return events
    return [
        OrderEvent(
            order_id=e.order_id,
            at=e.at,
            actor_id=(
                e.actor_id
                if e.action in WORKER_MOVES or e.actor_id == ctx.order.resident_id
                else None
            ),
            action=e.action,
            from_status=e.from_status,
            to_status=e.to_status,
            note=e.note if e.action in PUBLIC_NOTES else None,
        )
        for e in events
        if e.action in PUBLIC_MOVES
    ]


def viewer_actions(ctx: OrderContext, viewer: Powers) -> tuple[Action, ...]:
    """Return the buttons of the actions this viewer may take on the order now."""
    order = ctx.order
    actions: list[Action] = []
    if viewer.supervises and can(Move.CHASE, order.status):
        actions.append(Action.of(Verb.CHASE, order.id))
    if viewer.supervises and can(Move.REASSIGN, order.status):
        actions.append(Action.of(Verb.REASSIGN, order.id))
    if viewer.supervises and can(Move.SUPERVISE_ESCALATE, order.status):
        actions.append(Action.of(Verb.SUPERVISE_ESCALATE, order.id))
    if viewer.staff and can(Move.STAFF_NOTE, order.status):
        actions.append(Action.of(Verb.STAFF_NOTE, order.id))
    return tuple(actions)


async def supervising(uow: UnitOfWork, person: Person, order_id: int, action: Move) -> OrderContext:
    """Load an order a supervisor or dispatcher in its scope may act on with `action`, or raise."""
    ctx, viewer = await look_up(uow, person, order_id)
    if not viewer.supervises:
        raise NotAllowed()
    if not can(action, ctx.order.status):
        raise StaleAction(number=ctx.order.number)
    return ctx


async def staff_noting(uow: UnitOfWork, person: Person, order_id: int) -> OrderContext:
    """Load an order staff in its scope may add an internal note to, or raise."""
    ctx, viewer = await look_up(uow, person, order_id)
    if not viewer.staff:
        raise NotAllowed()
    if not can(Move.STAFF_NOTE, ctx.order.status):
        raise StaleAction(number=ctx.order.number)
    return ctx


async def add_staff_note(
    uow: UnitOfWork, clock: Clock, person: Person, order_id: int, text: str
) -> Order:
    """Record an internal note on the order's timeline: staff see it, the resident never."""
    ctx = await staff_noting(uow, person, order_id)
    note = clean_text(text, limit=MAX_NOTE)
    return await move(uow, clock, ctx.order, Move.STAFF_NOTE, actor_id=person.id, note=note)


async def chase(uow: UnitOfWork, clock: Clock, person: Person, order_id: int) -> Order:
    """催办: tell the order's holder (or, with nobody holding it, its dispatchers) to act now.

    The timeline says who chased; a second chase within the hour is refused.
    """
    ctx = await supervising(uow, person, order_id, Move.CHASE)
    since = clock.now() - CHASE_WINDOW
    recent = [
        e for e in await uow.orders.events(order_id) if e.action == Move.CHASE and e.at > since
    ]
    if len(recent) >= CHASES_PER_WINDOW:
        last = max(e.at for e in recent)
        wait = max(1, round((last + CHASE_WINDOW - clock.now()).total_seconds() / 60))
        raise ChasedRecently(number=ctx.order.number, minutes=wait)
    holder_id = ctx.order.assignee_id
    order = await move(uow, clock, ctx.order, Move.CHASE, actor_id=person.id, target_id=holder_id)
    chased = await uow.people.get(holder_id) if holder_id is not None else None
    targets = [chased] if chased is not None else await dispatchers(uow, ctx.place)
    now_ctx = OrderContext(order, ctx.category, ctx.place)
    for target in targets:
        actions: tuple[Action, ...] = ()
        ref = None
        if target.id == holder_id and order.status == OrderStatus.OFFERED:
            actions = (Action.of(Verb.ACCEPT, order.id), Action.of(Verb.DECLINE, order.id))
            ref = Card.OFFER.ref(order.id)
        elif target.id == holder_id and order.status in (OrderStatus.ACCEPTED, OrderStatus.ON_WAY):
            actions = work_actions(order.id, order.status)
            ref = Card.TASK.ref(order.id)
        params = card_params(now_ctx, target.lang) | {"name": person.name, "link": link(order)}
        await uow.outbox.add(Notice(target.id, "chase.notice", params, actions, ref=ref))
    return order


async def reassign_choices(
    uow: UnitOfWork, person: Person, order_id: int
) -> tuple[OrderContext, list[Person]]:
    """Return the order and the people it may be given to (the dispatcher's picker)."""
    ctx = await supervising(uow, person, order_id, Move.REASSIGN)
    people = [p for p in await suggest(uow, ctx) if p.id != ctx.order.assignee_id]
    return ctx, people


async def reassign(
    uow: UnitOfWork,
    clock: Clock,
    person: Person,
    order_id: int,
    target_id: int,
    reason: str,
) -> tuple[Order, Person]:
    """改派: offer an open order to another eligible person, with a reason.

    The old holder's cards are taken back and they are told; the new one gets the task card.
    """
    ctx = await supervising(uow, person, order_id, Move.REASSIGN)
    note = clean_text(reason, limit=MAX_NOTE)
    target = await uow.people.get(target_id)
    role = covering_role(target, ctx) if target is not None else None
    if target is None or target.telegram_id is None or role is None:
        raise NotAllowed()
    if target.id == ctx.order.assignee_id:
        raise StaleAction(number=ctx.order.number)
    previous = ctx.order.assignee_id
    order = await offer(
        uow, clock, ctx, target, role, actor_id=person.id, action=Move.REASSIGN, note=note
    )
    await _tell_previous(uow, order, previous, note)
    await uow.audit.record(
        AuditEntry(
            clock.now(),
            "reassign",
            person.id,
            person.name,
            f"order {order.number}",
            {"to": target.id, "from": previous, "role": role.value},
        )
    )
    return order, target


async def escalate_by(
    uow: UnitOfWork, clock: Clock, person: Person, order_id: int, reason: str
) -> Order:
    """上报 by a supervisor or dispatcher: the order goes one level up the grid, as a climb."""
    ctx = await supervising(uow, person, order_id, Move.SUPERVISE_ESCALATE)
    note = clean_text(reason, limit=MAX_NOTE)
    previous = ctx.order.assignee_id
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.SUPERVISE_ESCALATE,
        actor_id=person.id,
        note=note,
        target_id=previous,
    )
    order = await climb(
        uow,
        clock,
        OrderContext(order, ctx.category, ctx.place),
        actor_id=person.id,
        note=note,
        queue_at_top=True,
    )
    await _tell_previous(uow, order, previous, note)
    return order


async def _tell_previous(uow: UnitOfWork, order: Order, previous: int | None, note: str) -> None:
    """Tell the person who held the order that it is no longer theirs."""
    if previous is not None and previous != order.assignee_id:
        await uow.outbox.add(
            Notice(previous, "reassign.told_holder", {"number": order.number, "reason": note})
        )
