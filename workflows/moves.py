"""Moves of an order besides the loop (issue 15): 延期, 挂起, 转办, 退单, duplicates and merging.

- 延期 (extension): the holder asks for a later deadline with a reason; a dispatcher or supervisor
  in scope approves or refuses in one tap; the deadline moves only on approval. While a request
  is pending, `extension_requested_at` and `extension_until` are set on the order (both None
  otherwise) and the status stays what it was (accepted or on the way).
- 挂起 (pause): the holder pauses an order waiting on a third party until a date. Status PAUSED;
  `resolve_due` is cleared (no reminder, no breach, not overdue) and `resolve_left` keeps the
  seconds that were left (working seconds for a working-time order); on resume, by hand or at
  `paused_until` (the RESUME timer), the deadline is set again from what was left.
- 转办 (transfer) to another department's liaison, by a dispatcher or supervisor in scope or by
  the liaison holding it; 退单 (return) by the liaison holding it to the dispatcher, a second
  return of the same order to the supervisor.
- Duplicates: a resident's new order of the same category in the same building as an open one
  of the last days may join it as a follower (`order_followers`), who then gets its resolve and
  close news and the confirmation question; staff merge a later order into an earlier one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from workflows.cards import Card, withdraw_cards
from workflows.dispatch import (
    OrderContext,
    allowed,
    candidates,
    card_params,
    dispatchers,
    load,
    offer,
    resident_notice,
    send_task_card,
    to_queue,
)
from workflows.errors import (
    DomainError,
    InvalidInput,
    NotAllowed,
    NotYourOrder,
    NotYourTask,
    StaleAction,
)
from workflows.followers import short
from workflows.model import (
    KEEP,
    Action,
    Notice,
    Order,
    OrderChanges,
    OrderEvent,
    OrderStatus,
    Person,
    Place,
    PlaceKind,
    Role,
)
from workflows.orders import MAX_NOTE, clean_text
from workflows.ports import Clock, UnitOfWork
from workflows.states import can, move
from workflows.timers import SHANGHAI, Due, Effect, Moot, TimerPolicy
from workflows.vocabulary import Move, TimerKind, Verb
from workflows.work import held_task
from workflows.worktime import (
    add_working_time,
    counts_working_time,
    schedule,
    working_time_between,
)

DAY_CHOICES = (1, 3, 7)  # the +1 day / +3 days / +1 week buttons
NEW_DEADLINE_AT = time(18, 0)  # a typed date for a new deadline: that day's evening, local
RESUME_AT = time(9, 0)  # a paused order resumes in the morning of its date, local
DUPLICATE_DAYS = 3  # a category's duplicate_days when the organisation file does not say
MAX_DUPLICATES = 3
PAUSED = frozenset({OrderStatus.PAUSED})


class DateNotLater(DomainError):
    """The date chosen is not later than the deadline (or today)."""

    key = "extend.date_not_later"


class NoSuchDepartment(DomainError):
    """The department chosen is not one (or is where the order already is)."""

    key = "transfer.no_department"


def local_moment(day: date, at: time, zone: tzinfo = SHANGHAI) -> datetime:
    """Return the UTC moment of a local date and time."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def shown(moment: datetime | None, zone: tzinfo = SHANGHAI) -> str:
    """Return a moment as people read it: local "12-05 18:00"."""
    return "—" if moment is None else moment.astimezone(zone).strftime("%m-%d %H:%M")


async def deciders(uow: UnitOfWork, ctx: OrderContext) -> list[Person]:
    """Return the dispatchers and supervisors of the order's community (or its street)."""
    scopes = [ctx.place.community.id]
    if ctx.place.community.parent_id is not None:
        scopes.append(ctx.place.community.parent_id)
    found = {p.id: p for p in await dispatchers(uow, ctx.place)}
    for person in await uow.people.with_role(Role.SUPERVISOR, scopes):
        if person.telegram_id is not None:
            found.setdefault(person.id, person)
    return list(found.values())


async def supervisors(uow: UnitOfWork, ctx: OrderContext) -> list[Person]:
    """Return the supervisors of the order's community (or its street) who can be reached."""
    scopes = [ctx.place.community.id]
    if ctx.place.community.parent_id is not None:
        scopes.append(ctx.place.community.parent_id)
    return [
        p for p in await uow.people.with_role(Role.SUPERVISOR, scopes) if p.telegram_id is not None
    ]


async def _require_decider(uow: UnitOfWork, person: Person, ctx: OrderContext) -> None:
    if person.id not in {p.id for p in await deciders(uow, ctx)}:
        raise NotAllowed()


def _event(
    clock: Clock, order: Order, actor_id: int | None, action: Move, note: str | None
) -> OrderEvent:
    return OrderEvent(
        order_id=order.id,
        at=clock.now(),
        actor_id=actor_id,
        action=action,
        from_status=order.status,
        to_status=order.status,
        note=note,
    )


# --- 延期 -------------------------------------------------------------------------------------


def extended_by(order: Order, clock: Clock, days: int) -> datetime:
    """Return the deadline a "+N days" button asks for: N days after the current one."""
    return max(order.resolve_due or clock.now(), clock.now()) + timedelta(days=days)


async def ask_extension(
    uow: UnitOfWork, clock: Clock, person: Person, order_id: int, until: datetime, reason: str
) -> Order:
    """The holder asks for a later deadline; the dispatchers and supervisors get a card."""
    ctx = await held_task(uow, person, order_id)
    order = ctx.order
    if order.extension_requested_at is not None:
        raise StaleAction(number=order.number)
    if until <= max(order.resolve_due or clock.now(), clock.now()):
        raise DateNotLater()
    reason = clean_text(reason, limit=MAX_NOTE)
    order = await move(
        uow,
        clock,
        order,
        Move.EXTEND_ASK,
        actor_id=person.id,
        note=f"{reason} → {shown(until)}",
        changes=OrderChanges(extension_requested_at=clock.now(), extension_until=until),
    )
    ctx = OrderContext(order, ctx.category, ctx.place)
    for decider in await deciders(uow, ctx):
        params = card_params(ctx, decider.lang)
        params.update(
            name=person.name, reason=reason, due=shown(order.resolve_due), until=shown(until)
        )
        await uow.outbox.add(
            Notice(
                decider.id,
                "extend.asked",
                params,
                (Action.of(Verb.EXTEND_OK, order.id), Action.of(Verb.EXTEND_NO, order.id)),
                ref=Card.EXTEND.ref(order.id),
            )
        )
    return order


async def decide_extension(
    uow: UnitOfWork, clock: Clock, person: Person, order_id: int, *, approve: bool
) -> Order:
    """Approve (the deadline moves) or refuse a pending request; the holder is told."""
    ctx = await load(uow, order_id)
    await _require_decider(uow, person, ctx)
    order = ctx.order
    if order.extension_requested_at is None or not can(Move.EXTEND_OK, order.status):
        raise StaleAction(number=order.number)
    until = order.extension_until
    moved = await move(
        uow,
        clock,
        order,
        Move.EXTEND_OK if approve else Move.EXTEND_NO,
        actor_id=person.id,
        note=shown(until),
        changes=OrderChanges(
            extension_requested_at=None,
            extension_until=None,
            resolve_due=until if approve else KEEP,
        ),
    )
    await withdraw_cards(uow, [Card.EXTEND.ref(order.id)])
    if moved.assignee_id is not None:
        await uow.outbox.add(
            Notice(
                moved.assignee_id,
                "extend.approved" if approve else "extend.refused",
                {"number": moved.number, "until": shown(until), "name": person.name},
            )
        )
    return moved


# --- 挂起 -------------------------------------------------------------------------------------


def resume_on(clock: Clock, days: int, zone: tzinfo = SHANGHAI) -> datetime:
    """Return when an order paused for N days resumes: the morning of that local day."""
    today = clock.now().astimezone(zone).date()
    return local_moment(today + timedelta(days=days), RESUME_AT, zone)


def _time_left(uow: UnitOfWork, clock: Clock, ctx: OrderContext) -> int:
    """Return the seconds left to resolve (working seconds for a working-time order)."""
    now = clock.now()
    due = ctx.order.resolve_due
    if due is None:
        return int(allowed(ctx.category, ctx.order.urgency, "resolve").total_seconds())
    if due <= now:
        return 0
    if counts_working_time(ctx.category, ctx.order.urgency):
        left = working_time_between(now, due, *schedule(ctx.place.community, uow.calendar))
    else:
        left = due - now
    return int(left.total_seconds())


async def pause_order(
    uow: UnitOfWork, clock: Clock, person: Person, order_id: int, until: datetime, reason: str
) -> Order:
    """Pause the task until a date with a reason; its clock stops; the resident is told."""
    ctx = await held_task(uow, person, order_id)
    if until <= clock.now():
        raise DateNotLater()
    reason = clean_text(reason, limit=MAX_NOTE)
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.PAUSE,
        actor_id=person.id,
        note=f"{reason} → {shown(until)}",
        changes=OrderChanges(
            paused_until=until,
            resolve_left=_time_left(uow, clock, ctx),
            resolve_due=None,
            extension_requested_at=None,
            extension_until=None,
        ),
    )
    ctx = OrderContext(order, ctx.category, ctx.place)
    await resident_notice(uow, ctx, "pause.resident_paused", reason=reason, until=shown(until))
    return order


async def resume(
    uow: UnitOfWork, clock: Clock, ctx: OrderContext, *, actor_id: int | None, action: Move
) -> Order:
    """Resume a paused order with the time it had left; holder and resident are told."""
    order = ctx.order
    left = timedelta(
        seconds=order.resolve_left
        if order.resolve_left is not None
        else allowed(ctx.category, order.urgency, "resolve").total_seconds()
    )
    now = clock.now()
    if counts_working_time(ctx.category, order.urgency):
        due = add_working_time(now, left, *schedule(ctx.place.community, uow.calendar))
    else:
        due = now + left
    order = await move(
        uow,
        clock,
        order,
        action,
        actor_id=actor_id,
        note=shown(due),
        changes=OrderChanges(paused_until=None, resolve_left=None, resolve_due=due),
    )
    ctx = OrderContext(order, ctx.category, ctx.place)
    holder = await uow.people.get(order.assignee_id) if order.assignee_id else None
    if holder is not None and holder.telegram_id is not None:
        await uow.outbox.add(
            Notice(holder.id, "pause.holder_resumed", {"number": order.number, "due": shown(due)})
        )
        await send_task_card(uow, ctx, holder, offered=False, photos=False)
    await resident_notice(uow, ctx, "pause.resident_resumed")
    return order


async def resume_order(uow: UnitOfWork, clock: Clock, person: Person, order_id: int) -> Order:
    """Resume a paused order by hand: its holder, or a dispatcher or supervisor in scope."""
    ctx = await load(uow, order_id)
    if ctx.order.assignee_id != person.id:
        await _require_decider(uow, person, ctx)
    if ctx.order.status != OrderStatus.PAUSED:
        raise StaleAction(number=ctx.order.number)
    return await resume(uow, clock, ctx, actor_id=person.id, action=Move.RESUME)


async def resumes_due(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find each paused order whose resume date came: it resumes by itself."""
    orders = await uow.timers.orders_due(TimerKind.RESUME, PAUSED, "paused_until", clock.now())
    return [
        Due(TimerKind.RESUME, o.id, o.paused_until, _auto_resume(clock, o))
        for o in orders
        if o.paused_until is not None
    ]


def _auto_resume(clock: Clock, seen: Order) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        ctx = await load(uow, seen.id)
        if ctx.order.status != OrderStatus.PAUSED or ctx.order.paused_until != seen.paused_until:
            raise Moot(f"order {seen.id} moved on")
        await resume(uow, clock, ctx, actor_id=None, action=Move.AUTO_RESUME)

    return effect


# --- 转办 and 退单 ----------------------------------------------------------------------------


def department_of(ctx: OrderContext) -> int | None:
    """Return the department the order is with now: the one it was transferred to, or its
    category's."""
    return ctx.order.department_id or ctx.category.department_id


async def may_transfer(uow: UnitOfWork, person: Person, ctx: OrderContext) -> None:
    """Raise unless the person may transfer the order: a dispatcher or supervisor in scope,
    or the department liaison holding it."""
    if ctx.order.assignee_id == person.id and person.has_role(Role.DEPT_LIAISON):
        return
    await _require_decider(uow, person, ctx)


async def departments(uow: UnitOfWork, ctx: OrderContext) -> list[Place]:
    """Return the departments the order may be transferred to (not the one it is with)."""
    current = department_of(ctx)
    return [d for d in await uow.places.children(None, PlaceKind.DEPARTMENT) if d.id != current]


async def transfer_order(
    uow: UnitOfWork,
    clock: Clock,
    person: Person,
    order_id: int,
    department_id: int,
    reason: str,
) -> Order:
    """Transfer the order to another department's liaison (or its dispatcher, if it has none)."""
    ctx = await load(uow, order_id)
    await may_transfer(uow, person, ctx)
    if not can(Move.TRANSFER, ctx.order.status):
        raise StaleAction(number=ctx.order.number)
    department = await uow.places.get(department_id)
    if (
        department is None
        or department.kind != PlaceKind.DEPARTMENT
        or department.id == department_of(ctx)
    ):
        raise NoSuchDepartment()
    reason = clean_text(reason, limit=MAX_NOTE)
    previous = ctx.order.assignee_id
    await uow.orders.update(ctx.order.id, OrderChanges(department_id=department.id))
    ctx = OrderContext(replace(ctx.order, department_id=department.id), ctx.category, ctx.place)
    exclude = {previous} if previous is not None else set()
    people = await candidates(uow, ctx, Role.DEPT_LIAISON, exclude)
    note = f"{department.names.zh}：{reason}"
    if people:
        order = await offer(
            uow, clock, ctx, people[0], Role.DEPT_LIAISON, actor_id=person.id,
            action=Move.TRANSFER, note=note,
        )  # fmt: skip
    else:
        order = await to_queue(
            uow, clock, ctx, "transferred", actor_id=person.id, action=Move.TRANSFER, note=note
        )
    if previous is not None and previous not in (person.id, order.assignee_id):
        await uow.outbox.add(Notice(previous, "transfer.taken_away", {"number": order.number}))
    await resident_notice(uow, OrderContext(order, ctx.category, ctx.place), "transfer.resident")
    return order


async def return_order(
    uow: UnitOfWork, clock: Clock, person: Person, order_id: int, reason: str
) -> Order:
    """The department liaison holding the order returns it: to the dispatcher, or the second
    time to the supervisor."""
    ctx = await load(uow, order_id)
    order = ctx.order
    if order.assignee_id != person.id or not person.has_role(Role.DEPT_LIAISON):
        raise NotYourTask(number=order.number)
    if not can(Move.RETURN, order.status):
        raise StaleAction(number=order.number)
    reason = clean_text(reason, limit=MAX_NOTE)
    returned_before = any(e.action == Move.RETURN for e in await uow.orders.events(order.id))
    if not returned_before:
        return await to_queue(
            uow, clock, ctx, "returned", actor_id=person.id, action=Move.RETURN, note=reason
        )
    order = await move(
        uow,
        clock,
        order,
        Move.RETURN,
        actor_id=person.id,
        to=OrderStatus.QUEUED,
        note=reason,
        changes=OrderChanges(assignee_id=None, level=Role.SUPERVISOR),
    )
    ctx = OrderContext(order, ctx.category, ctx.place)
    events = await uow.orders.events(order.id)
    reasons = "；".join(e.note or "" for e in events if e.action == Move.RETURN)
    for supervisor in await supervisors(uow, ctx):
        params = card_params(ctx, supervisor.lang)
        params.update(name=person.name, reasons=reasons)
        await uow.outbox.add(
            Notice(
                supervisor.id,
                "transfer.returned_twice",
                params,
                (Action.of(Verb.TRANSFER, order.id),),
                ref=Card.QUEUE.ref(order.id),
            )
        )
    return order


# --- duplicates ------------------------------------------------------------------------------


async def alike(uow: UnitOfWork, clock: Clock, resident: Person, category_id: int) -> list[Order]:
    """Return open orders of the category in the resident's building from the category's last
    `duplicate_days` days (none when it is 0)."""
    category = await uow.categories.get(category_id)
    days = DUPLICATE_DAYS if category is None else category.duplicate_days
    if resident.household_id is None or days <= 0:
        return []
    place = await uow.places.household_place(resident.household_id)
    if place is None:
        return []
    since = clock.now() - timedelta(days=days)
    found = await uow.orders.open_alike(place.building.id, category_id, since, resident.id)
    return found[:MAX_DUPLICATES]


async def join_order(uow: UnitOfWork, clock: Clock, resident: Person, order_id: int) -> Order:
    """The resident says their report is the same as a neighbour's open order: they follow it."""
    ctx = await load(uow, order_id)
    order = ctx.order
    if resident.household_id is None or order.resident_id == resident.id:
        raise NotYourOrder()
    place = await uow.places.household_place(resident.household_id)
    if place is None or place.building.id != ctx.place.building.id:
        raise NotYourOrder()
    if not can(Move.JOIN, order.status):
        raise StaleAction(number=order.number)
    if not await uow.orders.add_follower(order.id, resident.id, clock.now()):
        return order  # a second tap: they follow it already
    return await move(uow, clock, order, Move.JOIN, actor_id=resident.id)


async def follower_answer(
    uow: UnitOfWork, clock: Clock, person: Person, order_id: int, *, fixed: bool
) -> Order:
    """A follower answers the confirmation question; "not fixed" reaches whoever holds it."""
    ctx = await load(uow, order_id)
    order = ctx.order
    if person.id not in await uow.orders.followers(order.id):
        raise NotYourOrder()
    events = await uow.orders.events(order.id)
    resolved = [i for i, e in enumerate(events) if e.action == Move.RESOLVE]
    answers = (Move.FOLLOWER_OK, Move.FOLLOWER_BAD)
    if (
        not can(Move.FOLLOWER_OK, order.status)
        or not resolved
        or any(e.action in answers and e.actor_id == person.id for e in events[resolved[-1] :])
    ):
        raise StaleAction(number=order.number)
    order = await move(
        uow, clock, order, Move.FOLLOWER_OK if fixed else Move.FOLLOWER_BAD, actor_id=person.id
    )
    if not fixed and order.assignee_id is not None:
        await uow.outbox.add(
            Notice(order.assignee_id, "dup.holder_not_fixed", {"number": order.number})
        )
    return order


async def merge_orders(
    uow: UnitOfWork, clock: Clock, staff: Person, first_id: int, second_id: int
) -> tuple[Order, Order]:
    """Merge two open orders: the later one is closed as merged and its resident (and its
    followers) follow the earlier one; both residents are told. Returns (earlier, later)."""
    if first_id == second_id:
        raise InvalidInput(reason="expired")
    a, b = await load(uow, first_id), await load(uow, second_id)
    earlier, later = (a, b) if a.order.id < b.order.id else (b, a)
    await _require_decider(uow, staff, earlier)
    await _require_decider(uow, staff, later)
    for ctx in (earlier, later):
        if not can(Move.MERGE, ctx.order.status):
            raise StaleAction(number=ctx.order.number)
    holder = later.order.assignee_id
    closed = await move(
        uow,
        clock,
        later.order,
        Move.MERGE,
        actor_id=staff.id,
        note=earlier.order.number,
        changes=OrderChanges(
            merged_into_id=earlier.order.id,
            closed_at=clock.now(),
            assignee_id=None,
            paused_until=None,
            extension_requested_at=None,
            extension_until=None,
        ),
    )
    for person_id in [later.order.resident_id, *await uow.orders.followers(later.order.id)]:
        if person_id != earlier.order.resident_id:
            await uow.orders.add_follower(earlier.order.id, person_id, clock.now())
    await uow.orders.add_event(
        _event(clock, earlier.order, staff.id, Move.MERGE, later.order.number)
    )
    if holder is not None:
        await uow.outbox.add(
            Notice(
                holder, "dup.holder_merged", {"number": closed.number, "into": earlier.order.number}
            )
        )
    await resident_notice(
        uow,
        OrderContext(closed, later.category, later.place),
        "dup.merged_later",
        into=earlier.order.number,
        description=short(earlier.order.description),
    )
    await resident_notice(uow, earlier, "dup.merged_earlier")
    return earlier.order, closed
