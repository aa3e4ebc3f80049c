"""Dispatch (派单) and acceptance (接单): route, accept, decline, claim, escalate, hand over."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workflows.cards import Card, show_card
from workflows.errors import (
    NoLongerInRole,
    NoOneToEscalateTo,
    NotAllowed,
    NotYourTask,
    OrderAlreadyTaken,
    OrderNotFound,
)
from workflows.model import (
    VOICE_KEY,
    Action,
    AuditEntry,
    Category,
    CategoryKind,
    HouseholdPlace,
    Notice,
    Order,
    OrderChanges,
    OrderEvent,
    OrderStatus,
    Person,
    Role,
    Urgency,
    Voice,
    VolunteerTeam,
)
from workflows.ports import Clock, UnitOfWork, WorkCalendar
from workflows.states import move
from workflows.vocabulary import Channel, Move, Verb
from workflows.worktime import add_working_time, counts_working_time, on_duty, schedule

# One level up at a time: "能解决的当场解决，不能解决的上报".
ESCALATION_CHAIN: tuple[Role, ...] = (
    Role.VOLUNTEER,
    Role.UNIT_HEAD,
    Role.BUILDING_HEAD,
    Role.GRID_WORKER,
    Role.COMMUNITY_CADRE,
    Role.DEPT_LIAISON,
)
BUSY = (OrderStatus.OFFERED, OrderStatus.ACCEPTED, OrderStatus.ON_WAY)
SUGGESTION_ROLES = (
    Role.GRID_WORKER,
    Role.COMMUNITY_CADRE,
    Role.DEPT_LIAISON,
    Role.BUILDING_HEAD,
    Role.UNIT_HEAD,
)
MAX_SUGGESTIONS = 5
# Timeline actions after which the order's holder is not offered it again ("withdraw": the
# organisation file took their role away).
PASSED_ON = frozenset({Move.DECLINE, Move.BREACH_ACCEPT, Move.WITHDRAW})
# Roles that dispatch, supervise or administer: none of them works an order.
NOT_WORKING = (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)


@dataclass(frozen=True)
class OrderContext:
    """An order with its category and household place, loaded together."""

    order: Order
    category: Category
    place: HouseholdPlace


async def load(uow: UnitOfWork, order_id: int) -> OrderContext:
    """Load an order with its category and place, or raise OrderNotFound."""
    order = await uow.orders.get(order_id)
    if order is None:
        raise OrderNotFound()
    if order.household_id is None:
        raise OrderNotFound()  # its resident erased themselves: nothing more is done with it
    category = await uow.categories.get(order.category_id)
    place = await uow.places.household_place(order.household_id)
    if category is None or place is None:
        raise OrderNotFound()
    return OrderContext(order, category, place)


def _scopes(ctx: OrderContext, role: Role) -> list[int]:
    """Return the places whose holders of the role may take the order, narrowest first."""
    if role == Role.DEPT_LIAISON:
        # moves (issue 15): an order transferred (转办) is with its new department.
        department = ctx.order.department_id or ctx.category.department_id
        return [] if department is None else [department]
    return ctx.place.scope_ids()


def _holders(people: Sequence[Person], role: Role, scopes: Sequence[int]) -> list[Person]:
    """Return the people who hold the role at one of the places."""
    return [p for p in people if any(r.role == role and r.place_id in scopes for r in p.roles)]


def _ranked(
    people: Sequence[Person],
    role: Role,
    scopes: Sequence[int],
    load_by_person: dict[int, int],
    now: datetime | None,
) -> list[Person]:
    """Return the people by the narrowest scope they hold the role at, then the least loaded;
    given the moment, those on duty first."""

    def rank(person: Person) -> tuple[int, int, int]:
        places = [r.place_id for r in person.roles if r.role == role]
        narrowest = min((scopes.index(pid) for pid in places if pid in scopes), default=99)
        return (narrowest, load_by_person.get(person.id, 0), person.id)

    ranked = sorted(people, key=rank)
    if now is not None:
        return sorted(ranked, key=lambda p: not on_duty(p.on_duty, now))
    return ranked


def _able(person: Person, exclude: set[int]) -> bool:
    """Return whether the person can be offered work: not left out, on Telegram, reachable."""
    return person.id not in exclude and person.telegram_id is not None and person.reachable


async def candidates(
    uow: UnitOfWork,
    ctx: OrderContext,
    role: Role,
    exclude: set[int],
    *,
    now: datetime | None = None,
) -> list[Person]:
    """Return who may take the order at this role level: narrowest scope, then least loaded.

    Given the moment (`now`), people with their own hours are left out of normal orders
    outside them; an urgent order goes to whoever is on duty first, and to the others only
    when nobody is.
    """
    scopes = _scopes(ctx, role)
    if not scopes:
        return []
    people = [p for p in await uow.people.with_role(role, scopes) if _able(p, exclude)]
    if now is not None:
        people = _on_duty_first(people, ctx.order.urgency, now)
    load_by_person = await uow.people.workload([p.id for p in people])
    return _ranked(people, role, scopes, load_by_person, now)


def _on_duty_first(people: list[Person], urgency: Urgency, now: datetime) -> list[Person]:
    """Return the people who may be offered an order now (clocks, issue 15)."""
    present = [p for p in people if on_duty(p.on_duty, now)]
    if urgency == Urgency.URGENT and not present:
        return people
    return present


def _desk(place: HouseholdPlace) -> list[int]:
    """Return the places whose dispatchers handle the household's orders: its community, and
    the whole street."""
    scopes = [place.community.id]
    if place.community.parent_id is not None:
        scopes.append(place.community.parent_id)
    return scopes


async def dispatchers(uow: UnitOfWork, place: HouseholdPlace) -> list[Person]:
    """Return the dispatchers of the household's community (or of the whole street)."""
    return [
        p
        for p in await uow.people.with_role(Role.DISPATCHER, _desk(place))
        if p.telegram_id is not None
    ]


def allowed(category: Category, urgency: Urgency, what: str) -> timedelta:
    """Return the time the category allows to accept or to resolve, by urgency.

    clocks (issue 15): also to dispatch from the queue ("queue") and to claim ("pool").
    """
    urgent = urgency == Urgency.URGENT
    if what == "queue":
        return timedelta(
            minutes=category.urgent_queue_minutes if urgent else category.queue_minutes
        )
    if what == "pool":
        return timedelta(hours=category.urgent_pool_hours if urgent else category.pool_hours)
    if what == "accept":
        minutes = category.urgent_accept_minutes if urgent else category.accept_minutes
        return timedelta(minutes=minutes)
    hours = category.urgent_resolve_hours if urgent else category.resolve_hours
    return timedelta(hours=hours)


def due(clock: Clock, ctx: OrderContext, what: str, calendar: WorkCalendar) -> datetime:
    """Return the deadline to accept or to resolve, from the category and urgency.

    A normal order of a working-time category counts only the community's working hours on
    its working days (the calendar's, less the community's closed days); an urgent order, and
    every order of another category, counts calendar time.
    """
    now = clock.now()
    time_allowed = allowed(ctx.category, ctx.order.urgency, what)
    if not counts_working_time(ctx.category, ctx.order.urgency):
        return now + time_allowed
    return add_working_time(now, time_allowed, *schedule(ctx.place.community, calendar))


def spoken(voices: Sequence[Voice]) -> str:
    """Return the clips an order was told in as a card shows them: 🎤 0:42."""
    return " ".join(f"🎤 {clip.length}" for clip in voices)


def card_params(ctx: OrderContext, lang: str) -> dict[str, Any]:
    """Return what a worker's task card shows about the order."""
    return {
        "number": ctx.order.number,
        "category": ctx.category.names.pick(lang),
        "description": " ".join(filter(None, (ctx.order.description, spoken(ctx.order.voices)))),
        "address": ctx.place.address(lang),
        "area": f"{ctx.place.community.names.pick(lang)} {ctx.place.building.names.pick(lang)}",
        "urgency": ctx.order.urgency.value,
        "channel": ctx.order.channel.value,
    }


def team_label(
    teams: Sequence[VolunteerTeam], person_id: int, category: Category, lang: str
) -> str:
    """Return the category named after the person's team that takes it: "红管家 · 微心愿"."""
    name = category.names.pick(lang)
    for team in teams:
        if person_id in team.member_ids and team.serves(category.skills):
            return f"{team.names.pick(lang)} · {name}"
    return name


async def resident_notice(
    uow: UnitOfWork,
    ctx: OrderContext,
    key: str,
    *,
    actions: tuple[Action, ...] = (),
    quiet: bool | None = None,
    **params: object,
) -> None:
    """Tell the resident who placed the order what just happened, in their language.

    The notice waits out the quiet hours if `quiet` says so (by default: for normal urgency).
    A family member's order (子女代办) is news for the household too: the relative on Telegram
    gets the same notice, without the buttons, which stay with whoever placed it.
    """
    told = [(ctx.order.resident_id, actions)]
    if ctx.order.channel == Channel.FAMILY and ctx.order.household_id is not None:
        for member in await uow.people.of_household(ctx.order.household_id):
            if member.id != ctx.order.resident_id and not member.proxy:
                told.append((member.id, ()))
    for person_id, buttons in told:
        resident = await uow.people.get(person_id)
        if resident is None or resident.telegram_id is None:
            continue
        base: dict[str, object] = {
            "number": ctx.order.number,
            "category": ctx.category.names.pick(resident.lang),
        }
        base.update(params)
        await uow.outbox.add(
            Notice(
                person_id=resident.id,
                key=key,
                params=base,
                actions=buttons,
                deferrable=deferrable(ctx.order) if quiet is None else quiet,
            )
        )


def deferrable(order: Order) -> bool:
    """Return whether news of this order may wait out the resident's quiet hours."""
    return order.urgency == Urgency.NORMAL


async def offer(
    uow: UnitOfWork,
    clock: Clock,
    ctx: OrderContext,
    person: Person,
    role: Role,
    *,
    actor_id: int | None,
    action: Move = Move.OFFER,
    note: str | None = None,
) -> Order:
    """Offer the order to one person and send them the task card with Accept / Decline."""
    order = await move(
        uow,
        clock,
        ctx.order,
        action,
        actor_id=actor_id,
        to=OrderStatus.OFFERED,
        target_id=person.id,
        note=note,
        changes=OrderChanges(
            assignee_id=person.id, level=role, accept_due=due(clock, ctx, "accept", uow.calendar)
        ),
    )
    ctx = OrderContext(order, ctx.category, ctx.place)
    await send_task_card(uow, ctx, person, offered=True)
    return order


async def send_task_card(
    uow: UnitOfWork, ctx: OrderContext, person: Person, *, offered: bool, photos: bool = True
) -> None:
    """Queue the task card for a worker: an offer to decide on, or the card of a taken task.

    The resident's phone is on the card only once the task is theirs; the card of a taken
    task is the offer they took, edited in place (workflows/cards.py show_card).
    """
    params = await task_card_params(uow, ctx, person, phone=not offered)
    if photos:
        for photo in ctx.order.photos:
            await uow.outbox.add(
                Notice(person.id, "task.photo", {"number": ctx.order.number}, photo=photo)
            )
        for clip in ctx.order.voices:  # what the resident said, to hear it
            clip_params = {"number": ctx.order.number, **clip.to_dict()}
            await uow.outbox.add(Notice(person.id, VOICE_KEY, clip_params))
    # moves (issue 15): a department may pass the order on (转办) or give it back (退单).
    passing: tuple[Action, ...] = ()
    if ctx.order.level == Role.DEPT_LIAISON:
        passing = (Action.of(Verb.TRANSFER, ctx.order.id), Action.of(Verb.RETURN, ctx.order.id))
    if offered:
        actions: tuple[Action, ...] = (
            Action.of(Verb.ACCEPT, ctx.order.id),
            Action.of(Verb.DECLINE, ctx.order.id),
            *passing,
        )
        await uow.outbox.add(
            Notice(person.id, "task.offered", params, actions, ref=Card.OFFER.ref(ctx.order.id))
        )
        return
    actions = (*work_actions(ctx.order.id), *passing)
    await show_card(uow, person.id, ctx.order.id, "task.card", params, actions)


async def task_card_params(
    uow: UnitOfWork, ctx: OrderContext, person: Person, *, phone: bool = True
) -> dict[str, Any]:
    """Return what the worker's card of a task says: the order, the resident, their phone."""
    params = card_params(ctx, person.lang)
    resident = await uow.people.get(ctx.order.resident_id)
    params["resident"] = resident.name if resident else ""
    if phone:
        params["phone"] = (resident.phone if resident else None) or "—"
    return params


def work_actions(order_id: int, status: OrderStatus | None = None) -> tuple[Action, ...]:
    """Return the buttons of an accepted task (once on the way, 在路上 is done and goes)."""
    return (
        *(() if status == OrderStatus.ON_WAY else (Action.of(Verb.ON_WAY, order_id),)),
        Action.of(Verb.NOTE, order_id),
        Action.of(Verb.RESOLVE, order_id),
        Action.of(Verb.ESCALATE, order_id),
        # moves (issue 15): ask for more time, or pause while waiting on a third party.
        Action.of(Verb.EXTEND, order_id),
        Action.of(Verb.PAUSE, order_id),
        # infoask (issue 15): ask the resident a question.
        Action.of(Verb.ASK_RESIDENT, order_id),
    )


async def to_queue(
    uow: UnitOfWork,
    clock: Clock,
    ctx: OrderContext,
    reason: str,
    *,
    actor_id: int | None,
    action: Move = Move.QUEUE,
    note: str | None = None,
) -> Order:
    """Put the order in the community queue and give each dispatcher one-tap suggestions."""
    order = await move(
        uow,
        clock,
        ctx.order,
        action,
        actor_id=actor_id,
        to=OrderStatus.QUEUED,
        note=note or reason,
        changes=OrderChanges(
            assignee_id=None,
            level=Role.COMMUNITY_CADRE,
            wait_due=due(clock, ctx, "queue", uow.calendar),
        ),
    )
    ctx = OrderContext(order, ctx.category, ctx.place)
    await notify_dispatchers(uow, ctx, reason, note)
    return order


async def notify_dispatchers(
    uow: UnitOfWork, ctx: OrderContext, reason: str, note: str | None
) -> None:
    """Send every dispatcher of the community the queued order with suggestions."""
    suggestions, desk = await _suggestions(uow, ctx, with_desk=True)
    for dispatcher in desk:
        params = card_params(ctx, dispatcher.lang)
        params["reason"] = reason
        params["note"] = note or "—"
        actions = (
            *(
                Action.of(Verb.HAND_OVER, ctx.order.id, arg=str(p.id), params={"name": p.name})
                for p in suggestions
            ),
            Action.of(Verb.TRANSFER, ctx.order.id),  # moves (issue 15): 转办
        )
        await uow.outbox.add(
            Notice(dispatcher.id, "queue.new", params, actions, ref=Card.QUEUE.ref(ctx.order.id))
        )


async def suggest(uow: UnitOfWork, ctx: OrderContext) -> list[Person]:
    """Return a few people a dispatcher may hand the order to, most fitting first: the best
    of each role level (the category's own first), each person once."""
    suggestions, _ = await _suggestions(uow, ctx, with_desk=False)
    return suggestions


async def _suggestions(
    uow: UnitOfWork, ctx: OrderContext, *, with_desk: bool
) -> tuple[list[Person], list[Person]]:
    """Return the suggestions for the order and (`with_desk`) its dispatchers on Telegram.

    Everyone of every level is read at once, with one workload count: a queued order's card
    is made for every order nobody could be offered.
    """
    roles = list(SUGGESTION_ROLES)
    if ctx.category.role is not None and ctx.category.role not in roles:
        roles.insert(0, ctx.category.role)
    elif ctx.category.role is not None:
        roles.remove(ctx.category.role)
        roles.insert(0, ctx.category.role)
    scopes = {role: _scopes(ctx, role) for role in roles}
    desk = _desk(ctx.place) if with_desk else []
    places = list(dict.fromkeys([*(pid for wanted in scopes.values() for pid in wanted), *desk]))
    read = [*roles, Role.DISPATCHER] if with_desk else roles
    everyone = await uow.people.with_roles(read, places)
    workers = [p for p in everyone if _able(p, set()) and any(r.role in roles for r in p.roles)]
    load_by_person = await uow.people.workload([p.id for p in workers])
    picked: list[Person] = []
    for role in roles:
        seen = {p.id for p in picked}
        holders = [p for p in _holders(workers, role, scopes[role]) if p.id not in seen]
        ranked = _ranked(holders, role, scopes[role], load_by_person, None)
        if ranked:
            picked.append(ranked[0])
    on_desk = [p for p in _holders(everyone, Role.DISPATCHER, desk) if p.telegram_id is not None]
    return picked[:MAX_SUGGESTIONS], on_desk


async def route(uow: UnitOfWork, clock: Clock, ctx: OrderContext, *, actor_id: int | None) -> Order:
    """Route a new order by the rules: to a role in scope, to the pool, or to the queue."""
    if ctx.category.kind == CategoryKind.POOL:
        return await open_pool(uow, clock, ctx)
    if ctx.category.role is None:
        return await to_queue(uow, clock, ctx, "no_rule", actor_id=actor_id)
    people = await candidates(uow, ctx, ctx.category.role, set(), now=clock.now())
    if not people:
        return await to_queue(uow, clock, ctx, "no_rule", actor_id=actor_id)
    return await offer(uow, clock, ctx, people[0], ctx.category.role, actor_id=actor_id)


async def open_pool(uow: UnitOfWork, clock: Clock, ctx: OrderContext) -> Order:
    """Open the order to matching volunteers; each gets a card with Claim."""
    volunteers = [
        p
        for p in await uow.people.volunteers_with_skills(
            ctx.category.skills, ctx.place.community.id
        )
        if p.telegram_id is not None and p.reachable
    ]
    volunteers = _on_duty_first(volunteers, ctx.order.urgency, clock.now())
    if not volunteers:
        return await to_queue(uow, clock, ctx, "no_volunteer", actor_id=None)
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.POOL,
        actor_id=None,
        changes=OrderChanges(
            level=Role.VOLUNTEER,
            assignee_id=None,
            wait_due=due(clock, ctx, "pool", uow.calendar),
        ),
    )
    teams = await uow.people.teams([ctx.place.community.id])
    for volunteer in volunteers:
        await uow.orders.add_pool_offer(order.id, volunteer.id)
        params = card_params(ctx, volunteer.lang)
        del params["address"]  # the room is for the volunteer who claims it, not for everyone
        # publicity (issue 17): the card names the volunteer's team: "红管家 · 微心愿".
        params["category"] = team_label(teams, volunteer.id, ctx.category, volunteer.lang)
        await uow.outbox.add(
            Notice(
                volunteer.id,
                "pool.new",
                params,
                (Action.of(Verb.CLAIM, order.id),),
                ref=Card.OFFER.ref(order.id),
            )
        )
    return order


async def accept_task(uow: UnitOfWork, clock: Clock, person: Person, order_id: int) -> Order:
    """Accept a task offered to this person; the resident is told who is coming."""
    ctx = await holding(uow, person, order_id, (OrderStatus.OFFERED,))
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.ACCEPT,
        actor_id=person.id,
        changes=OrderChanges(resolve_due=due(clock, ctx, "resolve", uow.calendar)),
    )
    ctx = OrderContext(order, ctx.category, ctx.place)
    await send_task_card(uow, ctx, person, offered=False, photos=False)
    await resident_notice(uow, ctx, "order.accepted", worker=person.name)
    return order


async def decline_task(
    uow: UnitOfWork, clock: Clock, person: Person, order_id: int, reason: str
) -> Order:
    """Decline an offered task with a reason; it goes to the next candidate or the queue."""
    ctx = await holding(uow, person, order_id, (OrderStatus.OFFERED,))
    order = await redispatch(uow, clock, ctx, actor_id=person.id, note=reason)
    return order


async def redispatch(
    uow: UnitOfWork,
    clock: Clock,
    ctx: OrderContext,
    *,
    actor_id: int | None,
    note: str | None,
    action: Move = Move.DECLINE,
    queue_reason: str = "all_declined",
) -> Order:
    """Offer the order to the next candidate at its level who has not passed on it.

    `action` names why the holder passed: "decline" (their own) or "breach_accept" (the offer
    lapsed); either way they are not asked again.
    """
    passed = {
        person_id
        for e in await uow.orders.events(ctx.order.id)
        if e.action in PASSED_ON
        for person_id in (e.actor_id, e.target_id)
        if person_id is not None
    }
    if ctx.order.assignee_id is not None:
        passed.add(ctx.order.assignee_id)
    await uow.orders.add_event(
        _event(clock, ctx.order, actor_id, action, note, ctx.order.assignee_id)
    )
    role = ctx.order.level or ctx.category.role
    people = await candidates(uow, ctx, role, passed, now=clock.now()) if role is not None else []
    if people and role is not None:
        return await offer(uow, clock, ctx, people[0], role, actor_id=actor_id, note=note)
    return await to_queue(uow, clock, ctx, queue_reason, actor_id=actor_id, note=note)


def _event(
    clock: Clock,
    order: Order,
    actor_id: int | None,
    action: Move,
    note: str | None,
    target_id: int | None,
) -> OrderEvent:
    """Build a timeline entry for an action that keeps the status."""
    return OrderEvent(
        order_id=order.id,
        at=clock.now(),
        actor_id=actor_id,
        action=action,
        from_status=order.status,
        to_status=order.status,
        note=note,
        target_id=target_id,
    )


async def claim_from_pool(uow: UnitOfWork, clock: Clock, person: Person, order_id: int) -> Order:
    """Claim an open pool task; the first claim wins and the others are told it is taken."""
    ctx = await load(uow, order_id)
    if person.id not in await uow.orders.pool_offers(order_id):
        raise NotAllowed()
    if ctx.order.status != OrderStatus.POOL:
        raise OrderAlreadyTaken(number=ctx.order.number)
    require_role(person, ctx, Role.VOLUNTEER)
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.CLAIM,
        actor_id=person.id,
        taken_error=OrderAlreadyTaken,
        changes=OrderChanges(
            assignee_id=person.id, resolve_due=due(clock, ctx, "resolve", uow.calendar)
        ),
    )
    ctx = OrderContext(order, ctx.category, ctx.place)
    await send_task_card(uow, ctx, person, offered=False)
    await resident_notice(uow, ctx, "order.accepted", worker=person.name)
    return order


async def dispatch_by_hand(
    uow: UnitOfWork, clock: Clock, dispatcher: Person, order_id: int, person_id: int
) -> Order:
    """Let a dispatcher of the order's community hand it to a chosen person."""
    ctx = await load(uow, order_id)
    if dispatcher.id not in {d.id for d in await dispatchers(uow, ctx.place)}:
        raise NotAllowed()
    target = await uow.people.get(person_id)
    role = covering_role(target, ctx) if target is not None else None
    if target is None or target.telegram_id is None or role is None:
        raise NotAllowed()
    previous = ctx.order.assignee_id
    order = await offer(uow, clock, ctx, target, role, actor_id=dispatcher.id, action=Move.OFFER)
    if previous is not None and previous != target.id:
        await uow.outbox.add(Notice(previous, "task.reassigned", {"number": order.number}))
    await uow.audit.record(
        AuditEntry(
            clock.now(),
            "dispatch_override",
            dispatcher.id,
            dispatcher.name,
            f"order {order.number}",
            {"to": target.id, "from": previous, "role": role.value},
        )
    )
    return order


def covering_role(person: Person, ctx: OrderContext, only: Role | None = None) -> Role | None:
    """Return the person's working role whose scope covers the order, if any (liaisons: always).

    With `only`, just that role counts (a pool task needs a volunteer of the community).
    """
    scopes = ctx.place.scope_ids()
    for assignment in person.roles:
        if assignment.role in NOT_WORKING or (only is not None and assignment.role != only):
            continue
        if assignment.role == Role.DEPT_LIAISON or assignment.place_id in scopes:
            return assignment.role
    return None


def require_role(person: Person, ctx: OrderContext, only: Role | None = None) -> Role:
    """Return the person's current role that lets them work the order, or raise NoLongerInRole.

    Every worker's action checks it, not only that they hold the offer or task: roles the
    organisation file took away stop working at the next tap, even on cards sent before.
    """
    role = covering_role(person, ctx, only)
    if role is None:
        raise NoLongerInRole(number=ctx.order.number)
    return role


async def holding(
    uow: UnitOfWork, person: Person, order_id: int, statuses: tuple[OrderStatus, ...]
) -> OrderContext:
    """Load an order this person holds in one of the statuses and may still work, or raise."""
    ctx = await load(uow, order_id)
    if ctx.order.assignee_id != person.id or ctx.order.status not in statuses:
        raise NotYourTask(number=ctx.order.number)
    require_role(person, ctx)
    return ctx


async def escalate(
    uow: UnitOfWork, clock: Clock, person: Person, order_id: int, reason: str
) -> Order:
    """Send an accepted task one level up the chain with a reason; the resident is told."""
    ctx = await holding(uow, person, order_id, (OrderStatus.ACCEPTED, OrderStatus.ON_WAY))
    await uow.orders.add_event(_event(clock, ctx.order, person.id, Move.ESCALATE, reason, None))
    order = await climb(uow, clock, ctx, actor_id=person.id, note=reason)
    return order


async def climb(
    uow: UnitOfWork,
    clock: Clock,
    ctx: OrderContext,
    *,
    actor_id: int | None,
    note: str | None,
    queue_reason: str = "escalated",
    queue_at_top: bool = False,
) -> Order:
    """Offer the order one level above its holder's, or queue it for the dispatcher.

    Used by a worker's escalation and by a missed resolution deadline (no actor). At the top of
    the chain a worker is told there is nobody above; with `queue_at_top` (the timer), the
    order goes to the dispatcher instead. The resident is told it went up.
    """
    level = ctx.order.level or Role.GRID_WORKER
    start = ESCALATION_CHAIN.index(level) + 1 if level in ESCALATION_CHAIN else 3
    holder = {ctx.order.assignee_id} if ctx.order.assignee_id is not None else set()
    order: Order | None = None
    for role in ESCALATION_CHAIN[start:]:
        if role == Role.COMMUNITY_CADRE:
            order = await to_queue(uow, clock, ctx, queue_reason, actor_id=actor_id, note=note)
            break
        people = await candidates(uow, ctx, role, holder, now=clock.now())
        if people:
            order = await offer(uow, clock, ctx, people[0], role, actor_id=actor_id, note=note)
            break
    if order is None:
        if level != Role.DEPT_LIAISON and not queue_at_top:
            raise NoOneToEscalateTo(number=ctx.order.number)
        order = await to_queue(uow, clock, ctx, queue_reason, actor_id=actor_id, note=note)
    ctx = OrderContext(order, ctx.category, ctx.place)
    await resident_notice(uow, ctx, "order.escalated")
    return order
