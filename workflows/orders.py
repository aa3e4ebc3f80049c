"""The resident's side of the loop (下单): place, add information, cancel, confirm, rate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from workflows.cards import Card
from workflows.dispatch import (
    OrderContext,
    card_params,
    covering_role,
    due,
    load,
    notify_dispatchers,
    resident_notice,
    route,
    to_queue,
    work_actions,
)
from workflows.errors import InvalidInput, NotAllowed, NotRegistered, NotYourOrder, StaleAction
from workflows.followers import tell_followers
from workflows.groups import tell_staff_group
from workflows.model import (
    Action,
    Category,
    Notice,
    Order,
    OrderChanges,
    OrderEvent,
    OrderStatus,
    Person,
    Urgency,
    Voice,
)
from workflows.ports import Clock, UnitOfWork
from workflows.staffing import ROLE_WITHDRAWN, WITHDRAW
from workflows.states import can, move
from workflows.text import has_visible
from workflows.vocabulary import Channel, Move, Verb

MAX_DESCRIPTION = 1000
MIN_DESCRIPTION = 2
MAX_PHOTOS = 5


@dataclass(frozen=True)
class Limits:
    """What one resident may send, so that nobody floods the community (all configurable)."""

    description: int = MAX_DESCRIPTION
    photos: int = MAX_PHOTOS
    orders_per_hour: int = 5
    orders_per_day: int = 20
    messages_per_minute: int = 30


DEFAULT_LIMITS = Limits()
CALL_BACK_CODE = "call_back"  # the built-in category of "please call me back" (storage/orgfile)
MAX_NOTE = 500
RATINGS = range(1, 6)


@dataclass(frozen=True)
class OrderDraft:
    """What the resident entered in the /new conversation."""

    category_id: int
    description: str
    urgency: Urgency = Urgency.NORMAL
    photos: Sequence[str] = field(default_factory=tuple)
    latitude: float | None = None
    longitude: float | None = None
    voices: Sequence[Voice] = field(default_factory=tuple)  # an order may be told by voice only


def clean_text(text: str, *, limit: int, minimum: int = 1) -> str:
    """Return trimmed text, or raise InvalidInput if it is too short or too long.

    The text was normalised where it came in (workflows.text.normalise); here it is only trimmed
    and measured, and text a reader would not see counts as empty.
    """
    cleaned = " ".join(text.split()) if "\n" not in text else text.strip()
    if len(cleaned) < minimum or not has_visible(cleaned):
        raise InvalidInput(reason="too_short", limit=minimum)
    if len(cleaned) > limit:
        raise InvalidInput(reason="too_long", limit=limit)
    return cleaned


async def place_order(
    uow: UnitOfWork,
    clock: Clock,
    resident: Person,
    draft: OrderDraft,
    limits: Limits = DEFAULT_LIMITS,
) -> Order:
    """Create the order and route it by the rules at once, in the same transaction."""
    if resident.household_id is None:
        raise NotRegistered()
    await within_limits(uow, clock, resident, draft, limits)
    channel = Channel.FAMILY if resident.proxy else Channel.CHAT
    return await _place(uow, clock, resident, resident.household_id, draft, channel=channel)


async def within_limits(
    uow: UnitOfWork, clock: Clock, resident: Person, draft: OrderDraft, limits: Limits
) -> None:
    """Refuse an order over the resident's limits: text, photos, orders per hour and per day."""
    if draft.description or not draft.voices:
        clean_text(draft.description, limit=limits.description, minimum=MIN_DESCRIPTION)
    if len(draft.photos) > limits.photos:
        raise InvalidInput(reason="too_many_photos", limit=limits.photos)
    now = clock.now()
    if await uow.orders.placed_since(resident.id, now - timedelta(hours=1)) >= (
        limits.orders_per_hour
    ):
        raise InvalidInput(reason="too_many_orders_hour", limit=limits.orders_per_hour)
    if await uow.orders.placed_since(resident.id, now - timedelta(days=1)) >= limits.orders_per_day:
        raise InvalidInput(reason="too_many_orders_day", limit=limits.orders_per_day)


async def place_for_household(
    uow: UnitOfWork,
    clock: Clock,
    visitor: Person,
    visit_id: int,
    draft: OrderDraft,
) -> Order:
    """Open an order on a visited household's behalf; the visitor follows it like a resident.

    The order goes through the normal routing; its timeline says it came from a visit.
    """
    visit = await uow.visits.get(visit_id)
    if visit is None or visit.person_id != visitor.id:
        raise NotAllowed()
    return await _place(uow, clock, visitor, visit.household_id, draft, channel=Channel.VISIT)


async def _place(
    uow: UnitOfWork,
    clock: Clock,
    placer: Person,
    household_id: int,
    draft: OrderDraft,
    *,
    channel: Channel,
    actor: Person | None = None,
) -> Order:
    category = await uow.categories.get(draft.category_id)
    if category is None:
        raise InvalidInput(reason="category")
    description = (
        clean_text(draft.description, limit=MAX_DESCRIPTION, minimum=MIN_DESCRIPTION)
        if draft.description or not draft.voices
        else ""  # told by voice only
    )
    if len(draft.photos) > MAX_PHOTOS:
        raise InvalidInput(reason="too_many_photos", limit=MAX_PHOTOS)
    place = await uow.places.household_place(household_id)
    if place is None:
        raise InvalidInput(reason="household")
    order = await uow.orders.add(
        resident_id=placer.id,
        household_id=household_id,
        category_id=category.id,
        description=description,
        urgency=draft.urgency,
        status=OrderStatus.QUEUED,
        photos=tuple(draft.photos),
        latitude=draft.latitude,
        longitude=draft.longitude,
        created_at=clock.now(),
        voices=tuple(draft.voices),
        channel=channel,
    )
    ctx = OrderContext(order, category, place)
    await uow.orders.add_event(
        _placed_event(
            clock, order, (actor or placer).id, None if channel == Channel.CHAT else channel
        )
    )
    order = await route(uow, clock, ctx, actor_id=None)
    # notices (issue 17): the grid crew's staff group may claim it (first tap wins).
    await tell_staff_group(uow, OrderContext(order, ctx.category, ctx.place))
    return order


async def place_as(
    uow: UnitOfWork,
    clock: Clock,
    owner: Person,
    household_id: int,
    draft: OrderDraft,
    channel: Channel,
    *,
    actor: Person,
) -> Order:
    """Place an order owned by `owner` for a household, placed by `actor` (staff on behalf)."""
    return await _place(uow, clock, owner, household_id, draft, channel=channel, actor=actor)


def _placed_event(
    clock: Clock, order: Order, actor_id: int, channel: str | None = None
) -> OrderEvent:
    """Return the first line of an order's timeline; its note names a channel other than chat."""
    return OrderEvent(
        order_id=order.id,
        at=clock.now(),
        actor_id=actor_id,
        action=Move.PLACE,
        from_status=None,
        to_status=order.status,
        note=channel,
    )


async def own_order(uow: UnitOfWork, resident: Person, order_id: int) -> OrderContext:
    """Load an order that belongs to this resident, or raise."""
    ctx = await load(uow, order_id)
    if ctx.order.resident_id != resident.id:
        raise NotYourOrder()
    return ctx


async def cancel_order(uow: UnitOfWork, clock: Clock, resident: Person, order_id: int) -> Order:
    """Cancel an open order; whoever holds it is told."""
    ctx = await own_order(uow, resident, order_id)
    holder = ctx.order.assignee_id
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.CANCEL,
        actor_id=resident.id,
        changes=OrderChanges(assignee_id=None),
    )
    if holder is not None:
        await uow.outbox.add(Notice(holder, "task.cancelled", {"number": order.number}))
    return order


async def add_information(
    uow: UnitOfWork,
    clock: Clock,
    resident: Person,
    order_id: int,
    text: str | None,
    photo: str | None = None,
) -> Order:
    """Add a note or photo to an open order; the person holding it gets it too."""
    ctx = await own_order(uow, resident, order_id)
    if not can(Move.ADD_INFO, ctx.order.status):
        raise StaleAction(number=ctx.order.number)
    note = clean_text(text, limit=MAX_NOTE) if text else None
    if note is None and photo is None:
        raise InvalidInput(reason="too_short", limit=1)
    order = await move(
        uow, clock, ctx.order, Move.ADD_INFO, actor_id=resident.id, note=note, photo=photo
    )
    if order.assignee_id is not None:
        await uow.outbox.add(
            Notice(
                order.assignee_id,
                "task.info_added",
                {"number": order.number, "note": note or "—"},
                photo=photo,
            )
        )
    elif order.status == OrderStatus.QUEUED:
        await notify_dispatchers(uow, OrderContext(order, ctx.category, ctx.place), "info", note)
    return order


async def confirm_fixed(uow: UnitOfWork, clock: Clock, resident: Person, order_id: int) -> Order:
    """Close a resolved order as satisfied; the resident is then asked for a rating."""
    ctx = await own_order(uow, resident, order_id)
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.CONFIRM,
        actor_id=resident.id,
        changes=OrderChanges(closed_at=clock.now()),
    )
    if order.assignee_id is not None:
        await uow.outbox.add(Notice(order.assignee_id, "task.confirmed", {"number": order.number}))
    await tell_followers(uow, order, ctx, "dup.follower_closed")
    return order


async def reopen_order(
    uow: UnitOfWork, clock: Clock, resident: Person, order_id: int, reason: str
) -> Order:
    """Reopen a resolved order to the same worker with the resident's reason."""
    ctx = await own_order(uow, resident, order_id)
    reason = clean_text(reason, limit=MAX_NOTE)
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.REOPEN,
        actor_id=resident.id,
        note=reason,
        changes=OrderChanges(
            resolved_at=None, resolve_due=due(clock, ctx, "resolve", uow.calendar)
        ),
    )
    order = await _back_to_the_worker(
        uow, clock, OrderContext(order, ctx.category, ctx.place), reason
    )
    return order


async def _back_to_the_worker(
    uow: UnitOfWork, clock: Clock, ctx: OrderContext, reason: str
) -> Order:
    """Send the worker the reopened task with the resident's reason and the work buttons.

    A worker who may no longer work it (the organisation file took the role away) does not get
    it: the order goes to the dispatcher's queue, saying why, as their other work did.
    """
    order = ctx.order
    if order.assignee_id is None:
        return order
    worker = await uow.people.get(order.assignee_id)
    if worker is None or covering_role(worker, ctx) is None:
        return await to_queue(
            uow, clock, ctx, ROLE_WITHDRAWN, actor_id=None, action=WITHDRAW, note=reason
        )
    params = card_params(ctx, worker.lang)
    params["reason"] = reason
    await uow.outbox.add(
        Notice(
            order.assignee_id,
            "task.reopened",
            params,
            work_actions(order.id),
            ref=Card.TASK.ref(order.id),
        )
    )
    return order


FOLLOWUP_ANSWERS = frozenset({Move.FOLLOWUP_OK, Move.FOLLOWUP_UNSURE, Move.FOLLOWUP_REOPEN})


async def pending_followup(uow: UnitOfWork, resident: Person, order_id: int) -> OrderContext:
    """Load the resident's closed order whose follow-up question is still unanswered."""
    ctx = await own_order(uow, resident, order_id)
    events = await uow.orders.events(order_id)
    asked = [i for i, e in enumerate(events) if e.action == Move.FOLLOWUP]
    if (
        ctx.order.status != OrderStatus.CLOSED
        or not asked
        or any(e.action in FOLLOWUP_ANSWERS for e in events[asked[-1] :])
    ):
        raise StaleAction(number=ctx.order.number)
    return ctx


async def answer_followup(
    uow: UnitOfWork, clock: Clock, resident: Person, order_id: int, *, fixed: bool
) -> Order:
    """Record the follow-up answer "still fixed" (or "not sure"); the order stays closed."""
    ctx = await pending_followup(uow, resident, order_id)
    action = Move.FOLLOWUP_OK if fixed else Move.FOLLOWUP_UNSURE
    order = await move(uow, clock, ctx.order, action, actor_id=resident.id)
    return order


async def reopen_after_followup(
    uow: UnitOfWork, clock: Clock, resident: Person, order_id: int, reason: str
) -> Order:
    """Reopen a closed order to the same worker: the resident says at the follow-up it broke."""
    ctx = await pending_followup(uow, resident, order_id)
    reason = clean_text(reason, limit=MAX_NOTE)
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.FOLLOWUP_REOPEN,
        actor_id=resident.id,
        note=reason,
        changes=OrderChanges(
            resolved_at=None,
            closed_at=None,
            rating=None,
            comment=None,
            resolve_due=due(clock, ctx, "resolve", uow.calendar),
        ),
    )
    order = await _back_to_the_worker(
        uow, clock, OrderContext(order, ctx.category, ctx.place), reason
    )
    return order


async def rate_order(
    uow: UnitOfWork, clock: Clock, resident: Person, order_id: int, rating: int
) -> Order:
    """Record the resident's rating (1-5) of a closed order; the worker is told."""
    ctx = await own_order(uow, resident, order_id)
    if rating not in RATINGS:
        raise InvalidInput(reason="rating")
    if ctx.order.rating is not None:
        raise StaleAction(number=ctx.order.number)
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.RATE,
        actor_id=resident.id,
        note=str(rating),
        changes=OrderChanges(rating=rating),
    )
    if order.assignee_id is not None:
        await uow.outbox.add(
            Notice(order.assignee_id, "task.rated", {"number": order.number, "rating": rating})
        )
    return order


async def comment_order(
    uow: UnitOfWork, clock: Clock, resident: Person, order_id: int, comment: str
) -> Order:
    """Add the resident's comment to a rated order."""
    ctx = await own_order(uow, resident, order_id)
    comment = clean_text(comment, limit=MAX_NOTE)
    if ctx.order.rating is None or ctx.order.comment is not None:
        raise StaleAction(number=ctx.order.number)
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.COMMENT,
        actor_id=resident.id,
        note=comment,
        changes=OrderChanges(comment=comment),
    )
    return order


def rating_actions(order_id: int) -> tuple[Action, ...]:
    """Return the 1-5 star buttons."""
    return tuple(Action.of(Verb.RATE, order_id, arg=str(n), label=f"btn.star{n}") for n in RATINGS)


__all__ = [
    "OrderDraft",
    "add_information",
    "answer_followup",
    "cancel_order",
    "comment_order",
    "confirm_fixed",
    "place_for_household",
    "place_order",
    "rate_order",
    "rating_actions",
    "reopen_after_followup",
    "reopen_order",
    "resident_notice",
]


def guess_category(categories: Sequence[Category], text: str) -> Category | None:
    """Return the category whose keywords the text names most (the first on a tie), or None.

    The keywords come from the organisation file; the built-in call-back category is never
    guessed (it is asked for by its own button or phrase).
    """
    words = text.casefold()
    best: Category | None = None
    best_hits = 0
    for category in categories:
        if category.code == CALL_BACK_CODE:
            continue
        hits = sum(1 for keyword in category.keywords if keyword.casefold() in words)
        if hits > best_hits:
            best, best_hits = category, hits
    return best
