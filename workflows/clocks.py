"""A clock on every stage (issue 15): the one table of who must act by when, and what then.

Every status where someone must act maps to its clock: the column that holds its deadline
(written by the workflow that put the order there, in working time where the category says
so), whom the reminder before it goes to, and what the breach after it does. The sweep runs
the table's finders (workflows/sweeps.py); the digest counts waiting and overdue orders per
stage from it (workflows/digests.py). A status with no clock is one nobody must act on; a test
(tests/unit/test_clocks.py) fails on an open status without a clock.

| stage | deadline | reminder to | breach |
|---|---|---|---|
| queued | `wait_due` (queue_minutes) | the community's dispatchers | the supervisors are told |
| pool | `wait_due` (pool_hours) | the volunteers it was offered to | offered to a grid worker |
| offered | `accept_due` | the person offered it | the next candidate, or the queue |
| accepted, on_way | `resolve_due` | the holder | one level up; the dispatcher is told |
| resolved | `resolved_at` + autoclose | (the resident was asked) | closed; the resident is told |
| paused | `paused_until` | (the holder chose the date) | resumes with the time that was left |
| 延期 asked | `extension_requested_at` + 4 h | (deciders asked at once) | the supervisors asked |
| resident asked | `info_asked_at` + 48 h | the resident, after 12 h | the holder told; cleared |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from workflows.deadlines import (
    _lead_limit,
    _reminder_time,
    lapsed_offers,
    overdue_tasks,
    reminders_due,
    unconfirmed,
)
from workflows.dispatch import (
    OrderContext,
    allowed,
    candidates,
    card_params,
    dispatchers,
    load,
    offer,
    to_queue,
)
from workflows.infoask import info_breaches, info_reminders
from workflows.model import (
    WORKING_STATUSES,
    Action,
    Notice,
    Order,
    OrderEvent,
    OrderStatus,
    PlaceKind,
    Role,
    Urgency,
)
from workflows.moves import resumes_due, supervisors
from workflows.ports import Clock, OrderMoment, UnitOfWork
from workflows.timers import Due, Effect, Finder, Moot, TimerPolicy, minutes_left, remind_lead
from workflows.vocabulary import Move, TimerKind, Verb


@dataclass(frozen=True)
class StageClock:
    """The clock of one stage: its deadline column, its reminder and its breach finders."""

    column: OrderMoment  # where the stage's deadline (or its start, with `after`) is kept
    remind: Finder | None  # None: the stage's reminder is sent by the workflow itself
    breach: Finder
    who: str  # who must act (for the documentation and the digest)
    after: str | None = None  # a TimerPolicy field added to the column (the auto-close)

    def deadline(self, order: Order, policy: TimerPolicy) -> datetime | None:
        """Return the order's deadline at this stage, if it has one."""
        moment: datetime | None = getattr(order, self.column)
        if moment is None or self.after is None:
            return moment
        extra: timedelta = getattr(policy, self.after)
        return moment + extra


# --- the queue and the pool --------------------------------------------------------------------

QUEUED = frozenset({OrderStatus.QUEUED})
POOLED = frozenset({OrderStatus.POOL})


async def _current(uow: UnitOfWork, seen: Order, statuses: frozenset[OrderStatus]) -> OrderContext:
    ctx = await load(uow, seen.id)
    if ctx.order.status not in statuses or ctx.order.wait_due != seen.wait_due:
        raise Moot(f"order {seen.id} moved on")
    return ctx


WAITING = QUEUED | POOLED


def _what(status: OrderStatus) -> str:
    return "queue" if status == OrderStatus.QUEUED else "pool"


async def wait_reminders(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find each queued or pooled order near its deadline: its dispatchers or volunteers are
    reminded. One read for both stages (their deadline is one column), then each its own lead."""
    now = clock.now()
    categories = {c.id: c for c in await uow.categories.list()}
    working = any(c.working_time for c in categories.values())
    communities = await uow.places.children(None, PlaceKind.COMMUNITY) if working else []
    limits = {
        (c.id, u.value): max(
            _lead_limit(uow, now, c, u, what, policy, communities) for what in ("queue", "pool")
        )
        for c in categories.values()
        for u in Urgency
    }
    latest = max(limits.values(), default=now)
    due = []
    for order in await uow.timers.orders_due(
        TimerKind.REMIND_WAIT, WAITING, "wait_due", latest, after=now, by_category=limits
    ):
        category = categories.get(order.category_id)
        if category is None or order.wait_due is None:
            continue
        lead = remind_lead(allowed(category, order.urgency, _what(order.status)), policy)
        if not await _reminder_time(uow, now, order.wait_due, lead, category, order):
            continue
        if order.status == OrderStatus.QUEUED:
            effect = _queue_reminder(clock, order)
        else:
            effect = _pool_reminder(clock, order)
        due.append(Due(TimerKind.REMIND_WAIT, order.id, order.wait_due, effect))
    return due


async def wait_breaches(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find each order left in the queue (the supervisors are told) or unclaimed in the pool
    (offered to a grid worker) past its deadline."""
    orders = await uow.timers.orders_due(TimerKind.BREACH_WAIT, WAITING, "wait_due", clock.now())
    due = []
    for order in orders:
        assert order.wait_due is not None
        if order.status == OrderStatus.QUEUED:
            effect = _queue_breach(clock, order)
        else:
            effect = _pool_breach(clock, order)
        due.append(Due(TimerKind.BREACH_WAIT, order.id, order.wait_due, effect))
    return due


def _queue_reminder(clock: Clock, seen: Order) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        ctx = await _current(uow, seen, QUEUED)
        assert seen.wait_due is not None
        for dispatcher in await dispatchers(uow, ctx.place):
            params = card_params(ctx, dispatcher.lang)
            params["minutes"] = minutes_left(seen.wait_due, clock.now())
            await uow.outbox.add(Notice(dispatcher.id, "clock.queue_remind", params))

    return effect


def _queue_breach(clock: Clock, seen: Order) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        ctx = await _current(uow, seen, QUEUED)
        await uow.orders.add_event(
            OrderEvent(
                order_id=seen.id,
                at=clock.now(),
                actor_id=None,
                action=Move.BREACH_QUEUE,
                from_status=OrderStatus.QUEUED,
                to_status=OrderStatus.QUEUED,
            )
        )
        assert seen.wait_due is not None
        late = round((clock.now() - seen.wait_due).total_seconds() / 60)
        for supervisor in await supervisors(uow, ctx):
            params = card_params(ctx, supervisor.lang)
            params["waited"] = max(1, round((clock.now() - seen.created_at).total_seconds() / 60))
            params["late"] = late
            await uow.outbox.add(Notice(supervisor.id, "clock.queue_breach", params))

    return effect


def _pool_reminder(clock: Clock, seen: Order) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        ctx = await _current(uow, seen, POOLED)
        assert seen.wait_due is not None
        minutes = minutes_left(seen.wait_due, clock.now())
        for person_id in await uow.orders.pool_offers(seen.id):
            volunteer = await uow.people.get(person_id)
            if volunteer is None or volunteer.telegram_id is None:
                continue
            params = card_params(ctx, volunteer.lang)
            del params["address"]  # the room is for the volunteer who claims it
            params["hours"] = max(1, round(minutes / 60))
            await uow.outbox.add(
                Notice(
                    volunteer.id,
                    "clock.pool_remind",
                    params,
                    (Action.of(Verb.CLAIM, seen.id),),
                )
            )

    return effect


def _pool_breach(clock: Clock, seen: Order) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        ctx = await _current(uow, seen, POOLED)
        people = await candidates(uow, ctx, Role.GRID_WORKER, set(), now=clock.now())
        if people:
            await offer(
                uow, clock, ctx, people[0], Role.GRID_WORKER, actor_id=None, action=Move.BREACH_POOL
            )
        else:
            await to_queue(uow, clock, ctx, "no_volunteer", actor_id=None)

    return effect


# --- the one table -----------------------------------------------------------------------------

CLOCKS: dict[OrderStatus, StageClock | None] = {
    OrderStatus.QUEUED: StageClock("wait_due", wait_reminders, wait_breaches, "dispatcher"),
    OrderStatus.POOL: StageClock("wait_due", wait_reminders, wait_breaches, "volunteers"),
    OrderStatus.OFFERED: StageClock("accept_due", reminders_due, lapsed_offers, "holder"),
    OrderStatus.ACCEPTED: StageClock("resolve_due", reminders_due, overdue_tasks, "holder"),
    OrderStatus.ON_WAY: StageClock("resolve_due", reminders_due, overdue_tasks, "holder"),
    # The resident was asked to confirm when it was resolved; no answer in time closes it.
    OrderStatus.RESOLVED: StageClock(
        "resolved_at", None, unconfirmed, "resident", after="autoclose_after"
    ),
    # Nobody must act on these.
    OrderStatus.CLOSED: None,
    OrderStatus.CANCELLED: None,
    # Paused while waiting on a third party: on its resume date it resumes by itself, with the
    # time to resolve that was left (workflows/moves.py).
    OrderStatus.PAUSED: StageClock("paused_until", None, resumes_due, "holder"),
}


async def undecided_extensions(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find each 延期 request nobody decided on in time: the supervisors are asked."""
    asked_before = clock.now() - policy.extension_decide
    orders = await uow.timers.orders_due(
        TimerKind.BREACH_EXTENSION, WORKING_STATUSES, "extension_requested_at", asked_before
    )
    return [
        Due(
            TimerKind.BREACH_EXTENSION,
            o.id,
            o.extension_requested_at,
            _undecided_extension(policy, o),
        )
        for o in orders
        if o.extension_requested_at is not None
    ]


def _undecided_extension(policy: TimerPolicy, seen: Order) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        ctx = await _current(uow, seen, WORKING_STATUSES)
        if ctx.order.extension_requested_at != seen.extension_requested_at:
            raise Moot(f"order {seen.id}'s extension was decided")
        holder = await uow.people.get(ctx.order.assignee_id) if ctx.order.assignee_id else None
        buttons = (Action.of(Verb.EXTEND_OK, seen.id), Action.of(Verb.EXTEND_NO, seen.id))
        for supervisor in await supervisors(uow, ctx):
            params = card_params(ctx, supervisor.lang)
            params["name"] = holder.name if holder else ""
            hours = policy.extension_decide.total_seconds() / 3600
            params["hours"] = int(hours) if hours.is_integer() else round(hours, 1)
            await uow.outbox.add(Notice(supervisor.id, "clock.extension_breach", params, buttons))

    return effect


# A 延期 request is not a status of its own (the order stays accepted or on its way), but someone
# must decide on it: the dispatchers and supervisors get the request at once; left undecided for
# `extension_decide`, the supervisors are asked again, with the same two buttons.
EXTENSION_CLOCK = StageClock(
    "extension_requested_at", None, undecided_extensions, "dispatcher", after="extension_decide"
)


# infoask (issue 15): a question the holder asked the resident is not a status either (the
# order stays accepted or on its way, and its resolve clock is NOT stopped: the holder still
# owns the deadline). Unanswered for `info_remind` the resident is reminded; for `info_breach`
# the holder is told nobody answered and `info_asked_at` is cleared, so the work goes on.
INFO_CLOCK = StageClock(
    "info_asked_at", info_reminders, info_breaches, "resident", after="info_breach"
)


def clock_finders() -> tuple[Finder, ...]:
    """Return the table's finders, each once: every breach first, then every reminder.

    A missed deadline is handled before its reminder would be: a reminder whose deadline has
    passed is not sent any more.
    """
    stages = [*(c for c in CLOCKS.values() if c is not None), EXTENSION_CLOCK, INFO_CLOCK]
    breaches = [c.breach for c in stages]
    reminders = [c.remind for c in stages if c.remind is not None]
    return tuple(dict.fromkeys([*breaches, *reminders]))
