"""The order timers: reminders, a lapsed offer, a missed resolution, auto-close, the follow-up.

Each sweep finds what is due from the order's own columns (see workflows.timers); each timer
then fires in its own unit of work, re-reading the order first: a timer whose order has moved on
(accepted, re-offered, cancelled, reopened) does nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.dispatch import (
    OrderContext,
    allowed,
    card_params,
    climb,
    dispatchers,
    load,
    redispatch,
    resident_notice,
    work_actions,
)
from workflows.followers import tell_followers
from workflows.model import (
    WORKING_STATUSES,
    Action,
    Category,
    Notice,
    Order,
    OrderChanges,
    OrderEvent,
    OrderStatus,
    Place,
    PlaceKind,
    Urgency,
)
from workflows.ports import Clock, OrderMoment, UnitOfWork
from workflows.states import move
from workflows.timers import (
    Due,
    Effect,
    Moot,
    TimerPolicy,
    minutes_left,
    remind_lead,
)
from workflows.visits import open_followup_visit
from workflows.vocabulary import Move, TimerKind, Verb
from workflows.worktime import (
    add_working_time,
    counts_working_time,
    schedule,
    working_time_between,
)

OFFERED = frozenset({OrderStatus.OFFERED})
RESOLVED = frozenset({OrderStatus.RESOLVED})
CLOSED = frozenset({OrderStatus.CLOSED})


async def _current(
    uow: UnitOfWork, seen: Order, column: OrderMoment, statuses: frozenset[OrderStatus]
) -> OrderContext:
    """Reload the order; raise Moot unless it is still where the timer found it."""
    ctx = await load(uow, seen.id)
    order = ctx.order
    if (
        order.status not in statuses
        or getattr(order, column) != getattr(seen, column)
        or order.assignee_id != seen.assignee_id
    ):
        raise Moot(f"order {seen.id} moved on")
    return ctx


# --- reminders ---------------------------------------------------------------------------------


async def reminders_due(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find each holder whose time to accept (or to resolve) is 80% gone."""
    now = clock.now()
    categories = {c.id: c for c in await uow.categories.list()}
    working = any(c.working_time for c in categories.values())
    communities = await uow.places.children(None, PlaceKind.COMMUNITY) if working else []
    due: list[Due] = []
    for what in ("accept", "resolve"):
        column: OrderMoment = "accept_due" if what == "accept" else "resolve_due"
        statuses = OFFERED if what == "accept" else WORKING_STATUSES
        kind = TimerKind.REMIND_ACCEPT if what == "accept" else TimerKind.REMIND_RESOLVE
        # A deadline is due for its reminder once it is nearer than its category's lead: the
        # sweep reads those (by index, up to the longest lead), not every open order. A lead in
        # working time reaches as far as it does in the community where it reaches furthest.
        limits = {
            (c.id, u.value): _lead_limit(uow, now, c, u, what, policy, communities)
            for c in categories.values()
            for u in Urgency
        }
        latest = max(limits.values(), default=now)
        orders = await uow.timers.orders_due(
            kind, statuses, column, latest, after=now, by_category=limits
        )
        for order in orders:
            deadline: datetime | None = getattr(order, column)
            category = categories.get(order.category_id)
            if deadline is None or category is None or now >= deadline:
                continue  # past the deadline the breach speaks instead
            lead = remind_lead(allowed(category, order.urgency, what), policy)
            if not await _reminder_time(uow, now, deadline, lead, category, order):
                continue
            effect = _reminder(clock, order, deadline, what, column, statuses)
            due.append(Due(kind, order.id, deadline, effect))
    return due


def _lead_limit(
    uow: UnitOfWork,
    now: datetime,
    category: Category,
    urgency: Urgency,
    what: str,
    policy: TimerPolicy,
    communities: list[Place],
) -> datetime:
    """Return the latest deadline of the category and urgency whose reminder may be due now."""
    lead = remind_lead(allowed(category, urgency, what), policy)
    if not counts_working_time(category, urgency) or not communities:
        return now + lead
    return max(add_working_time(now, lead, *schedule(c, uow.calendar)) for c in communities)


async def _reminder_time(
    uow: UnitOfWork,
    now: datetime,
    deadline: datetime,
    lead: timedelta,
    category: Category,
    order: Order,
) -> bool:
    """Return whether the order's deadline is within its reminder lead (in working time if so)."""
    if not counts_working_time(category, order.urgency):
        return now >= deadline - lead
    place = await uow.places.household_place(order.household_id) if order.household_id else None
    if place is None:
        return True  # its household is gone: the widest community's limit found it due
    left = working_time_between(now, deadline, *schedule(place.community, uow.calendar))
    return left <= lead


def _reminder(
    clock: Clock,
    seen: Order,
    deadline: datetime,
    what: str,
    column: OrderMoment,
    statuses: frozenset[OrderStatus],
) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        ctx = await _current(uow, seen, column, statuses)
        holder = await uow.people.get(seen.assignee_id) if seen.assignee_id else None
        if holder is None:
            raise Moot("nobody holds the order")
        params = card_params(ctx, holder.lang)
        minutes = minutes_left(deadline, clock.now())
        params["minutes"] = minutes
        params["hours"] = max(1, round(minutes / 60))
        if what == "accept":
            actions: tuple[Action, ...] = (
                Action.of(Verb.ACCEPT, seen.id),
                Action.of(Verb.DECLINE, seen.id),
            )
            await uow.outbox.add(Notice(holder.id, "task.remind_accept", params, actions))
        else:
            await uow.outbox.add(
                Notice(holder.id, "task.remind_resolve", params, work_actions(seen.id, seen.status))
            )

    return effect


# --- missed deadlines --------------------------------------------------------------------------


async def lapsed_offers(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find each offer not accepted in time: it passes to the next candidate, or the queue."""
    orders = await uow.timers.orders_due(
        TimerKind.BREACH_ACCEPT, OFFERED, "accept_due", clock.now()
    )
    due = []
    for order in orders:
        assert order.accept_due is not None
        due.append(Due(TimerKind.BREACH_ACCEPT, order.id, order.accept_due, _lapse(clock, order)))
    return due


def _lapse(clock: Clock, seen: Order) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        ctx = await _current(uow, seen, "accept_due", OFFERED)
        # The breach is on the timeline with the person it lapsed with; they are not asked again.
        await redispatch(
            uow,
            clock,
            ctx,
            actor_id=None,
            note=None,
            action=Move.BREACH_ACCEPT,
            queue_reason="no_answer",
        )
        if seen.assignee_id is not None:
            await uow.outbox.add(
                Notice(seen.assignee_id, "task.offer_lapsed", {"number": seen.number})
            )

    return effect


async def overdue_tasks(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find each task not resolved in time: it goes one level up; the dispatcher is told."""
    orders = await uow.timers.orders_due(
        TimerKind.BREACH_RESOLVE, WORKING_STATUSES, "resolve_due", clock.now()
    )
    due = []
    for order in orders:
        assert order.resolve_due is not None
        due.append(
            Due(TimerKind.BREACH_RESOLVE, order.id, order.resolve_due, _overdue(clock, order))
        )
    return due


def _overdue(clock: Clock, seen: Order) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        ctx = await _current(uow, seen, "resolve_due", WORKING_STATUSES)
        late = seen.assignee_id
        await uow.orders.add_event(
            OrderEvent(
                order_id=seen.id,
                at=clock.now(),
                actor_id=None,
                action=Move.BREACH_RESOLVE,
                from_status=ctx.order.status,
                to_status=ctx.order.status,
                target_id=late,
            )
        )
        order = await climb(
            uow, clock, ctx, actor_id=None, note=None, queue_reason="overdue", queue_at_top=True
        )
        if late is not None:
            await uow.outbox.add(Notice(late, "task.overdue_escalated", {"number": seen.number}))
        if order.status == OrderStatus.OFFERED and order.assignee_id is not None:
            # Queued orders reach the dispatcher with the queue card; this one went to a person.
            late_person = await uow.people.get(late) if late is not None else None
            taker = await uow.people.get(order.assignee_id)
            moved = OrderContext(order, ctx.category, ctx.place)
            for dispatcher in await dispatchers(uow, ctx.place):
                params = card_params(moved, dispatcher.lang)
                params["late"] = late_person.name if late_person else "—"
                params["name"] = taker.name if taker else "—"
                await uow.outbox.add(Notice(dispatcher.id, "queue.overdue", params))

    return effect


# --- after resolution --------------------------------------------------------------------------


async def unconfirmed(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find each resolved order the resident has not answered in time: it closes; they are told."""
    cutoff = clock.now() - policy.autoclose_after
    orders = await uow.timers.orders_due(TimerKind.AUTOCLOSE, RESOLVED, "resolved_at", cutoff)
    due = []
    for order in orders:
        assert order.resolved_at is not None
        effect = _autoclose(clock, policy, order)
        due.append(Due(TimerKind.AUTOCLOSE, order.id, order.resolved_at, effect))
    return due


def _autoclose(clock: Clock, policy: TimerPolicy, seen: Order) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        ctx = await _current(uow, seen, "resolved_at", RESOLVED)
        order = await move(
            uow,
            clock,
            ctx.order,
            Move.AUTOCLOSE,
            actor_id=None,
            changes=OrderChanges(closed_at=clock.now()),
        )
        hours = round(policy.autoclose_after.total_seconds() / 3600)
        await resident_notice(
            uow,
            OrderContext(order, ctx.category, ctx.place),
            "order.auto_closed",
            quiet=True,
            hours=hours,
        )
        if order.assignee_id is not None:
            await uow.outbox.add(
                Notice(order.assignee_id, "task.auto_closed", {"number": order.number})
            )
        await tell_followers(uow, order, ctx, "dup.follower_closed")

    return effect


async def followups_due(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find each order closed its category's days ago: the resident is asked if the fix held."""
    now = clock.now()
    categories = {c.id: c for c in await uow.categories.list()}
    days = [c.followup_days for c in categories.values()] or [0]
    # An order is asked between its category's days and that plus the window after closing:
    # only orders closed within those bounds are read, not the whole history, and of those
    # only the ones whose own category's days have passed are turned into orders.
    limits = {
        (c.id, u.value): now - timedelta(days=c.followup_days)
        for c in categories.values()
        for u in Urgency
    }
    orders = await uow.timers.orders_due(
        TimerKind.FOLLOWUP,
        CLOSED,
        "closed_at",
        now - timedelta(days=min(days)),
        after=now - timedelta(days=max(days), seconds=1) - policy.followup_window,
        by_category=limits,
    )
    due = []
    for order in orders:
        category = categories.get(order.category_id)
        if category is None or order.closed_at is None or order.merged_into_id is not None:
            continue  # (an order closed as merged is followed up through the one it joined)
        at = order.closed_at + timedelta(days=category.followup_days)
        if at > now or at < now - policy.followup_window:
            continue  # not yet; or long past (the bot was off): a late question helps nobody
        due.append(
            Due(TimerKind.FOLLOWUP, order.id, order.closed_at, _followup(clock, policy, order))
        )
    return due


def _followup(clock: Clock, policy: TimerPolicy, seen: Order) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        ctx = await _current(uow, seen, "closed_at", CLOSED)
        order = await move(uow, clock, ctx.order, Move.FOLLOWUP, actor_id=None)
        ctx = OrderContext(order, ctx.category, ctx.place)
        await resident_notice(
            uow,
            ctx,
            "order.followup",
            quiet=True,
            days=ctx.category.followup_days,
            actions=(
                Action.of(Verb.FOLLOWUP_FIXED, order.id),
                Action.of(Verb.FOLLOWUP_BROKEN, order.id),
                Action.of(Verb.FOLLOWUP_UNSURE, order.id),
            ),
        )
        if ctx.category.followup_visit:
            await open_followup_visit(uow, clock, policy, ctx)

    return effect
