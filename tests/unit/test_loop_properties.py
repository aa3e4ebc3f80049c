"""Random taps by random people: only domain refusals, and the loop stays sound."""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import Awaitable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import World, sample_world
from workflows.dispatch import (
    accept_task,
    claim_from_pool,
    decline_task,
    dispatch_by_hand,
    escalate,
)
from workflows.errors import DomainError
from workflows.model import (
    WORKING_STATUSES,
    Order,
    OrderEvent,
    OrderStatus,
    Person,
    Role,
    Urgency,
)
from workflows.orders import (
    OrderDraft,
    add_information,
    cancel_order,
    comment_order,
    confirm_fixed,
    place_order,
    rate_order,
    reopen_order,
)
from workflows.states import can
from workflows.vocabulary import Move
from workflows.work import add_note, on_my_way, resolve_task

WORKER_OPS = ("accept", "decline", "on_way", "note", "resolve", "escalate")
RESIDENT_OPS = ("confirm", "reopen", "rate", "comment", "cancel", "info")
# Weighted towards the taps that move an order on, so random runs get deep into the loop.
OPS = (
    *("place",) * 3,
    *("accept", "claim", "on_way", "resolve", "confirm") * 2,
    "hand",
    *WORKER_OPS,
    *RESIDENT_OPS,
)
RESIDENT_MOVES = {"place", "confirm", "reopen", "rate", "cancel", "add_info"}
WORKER_MOVES = {"accept", "decline", "on_way", "note", "resolve", "escalate"}
# Timeline entries written without a conditional write (they keep the status and the version).
UNVERSIONED = {"place", "decline", "escalate"}
NOWHERE = 424_242  # an order id nobody has
# The state-table action behind each tap.
ACTIONS: dict[str, Move] = {
    "place": Move.QUEUE,
    "accept": Move.ACCEPT,
    "decline": Move.DECLINE,
    "claim": Move.CLAIM,
    "hand": Move.OFFER,
    "on_way": Move.ON_WAY,
    "note": Move.NOTE,
    "resolve": Move.RESOLVE,
    "escalate": Move.ESCALATE,
    "confirm": Move.CONFIRM,
    "reopen": Move.REOPEN,
    "rate": Move.RATE,
    "comment": Move.RATE,
    "cancel": Move.CANCEL,
    "info": Move.ADD_INFO,
}

Step = tuple[
    str, int, int, int
]  # what, who (small: the person the button was for), which order, arg
steps = st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(0, 19), st.integers(0, 9), st.integers(0, 29)),
    max_size=40,
)


def _pick_order(w: World, step: Step, placed: list[int]) -> int:
    """Return the order tapped: mostly one whose card has this button now, sometimes any."""
    op, _, which, _ = step
    if not placed or which == 9:
        return NOWHERE
    if which < 6:
        fitting = [i for i in placed if can(ACTIONS[op], w.uow.store.orders[i].status)]
        if fitting:
            return fitting[which % len(fitting)]
    return placed[which % len(placed)]


def _actor(w: World, step: Step, order: Order | None, everyone: list[Person]) -> Person:
    """Return who taps: usually the person the button was meant for, sometimes anyone."""
    op, who, _, arg = step
    if who >= 16 or (order is None and op not in ("place", "hand")):
        return everyone[who % len(everyone)]
    org = w.org
    if op == "place":
        return w.person((org.resident, org.neighbour, org.other_resident)[arg % 3].id)
    if op == "hand":
        return w.person(org.dispatcher.id)
    assert order is not None
    if op == "claim":
        offered = w.uow.store.pool_offers
        ids = [pid for oid, pid in offered if oid == order.id] or [everyone[who % len(everyone)].id]
        return w.person(ids[arg % len(ids)])
    if op in WORKER_OPS and order.assignee_id is not None:
        return w.person(order.assignee_id)
    return w.person(order.resident_id)


def _call(w: World, step: Step, actor: Person, order_id: int) -> Awaitable[object]:
    """Return the workflow call a tap makes."""
    op, _, _, arg = step
    uow, clock, org = w.uow, w.clock, w.org
    text = "" if arg % 9 == 0 else f"第{arg}次说明"
    match op:
        case "place":
            category = (org.repairs, org.grid_matters, org.wishes, org.other)[arg % 4]
            urgency = Urgency.URGENT if arg % 5 == 0 else Urgency.NORMAL
            draft = OrderDraft(category.id, text or "x", urgency, ("ph",) * (arg % 3))
            return place_order(uow, clock, actor, draft)
        case "accept":
            return accept_task(uow, clock, actor, order_id)
        case "decline":
            return decline_task(uow, clock, actor, order_id, text or "忙")
        case "claim":
            return claim_from_pool(uow, clock, actor, order_id)
        case "hand":
            target = org.staff[arg % len(org.staff)]
            return dispatch_by_hand(uow, clock, actor, order_id, target.id)
        case "on_way":
            return on_my_way(uow, clock, actor, order_id)
        case "note":
            return add_note(uow, clock, actor, order_id, text)
        case "resolve":
            return resolve_task(uow, clock, actor, order_id, text, "ph" if arg % 2 else None)
        case "escalate":
            return escalate(uow, clock, actor, order_id, text or "上报")
        case "confirm":
            return confirm_fixed(uow, clock, actor, order_id)
        case "reopen":
            return reopen_order(uow, clock, actor, order_id, text)
        case "rate":
            return rate_order(uow, clock, actor, order_id, arg % 8)
        case "comment":
            return comment_order(uow, clock, actor, order_id, text)
        case "cancel":
            return cancel_order(uow, clock, actor, order_id)
        case "info":
            return add_information(uow, clock, actor, order_id, text or None)
    raise AssertionError(op)


async def _covers(w: World, person_id: int, order: Order) -> bool:
    """Return whether the person may be working this order: in scope, or a matching volunteer."""
    store = w.uow.store
    assert order.household_id is not None  # nobody was erased in these runs
    place = await w.uow.places.household_place(order.household_id)
    assert place is not None
    scopes = place.scope_ids()
    for r in store.people[person_id].roles:
        if r.role in (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN):
            continue
        if r.place_id in scopes:
            return True
        department = store.places[r.place_id]
        serves = {place.community.id, place.community.parent_id}
        if r.role == Role.DEPT_LIAISON and department.parent_id in serves:
            return True
    skills = set(store.categories[order.category_id].skills)
    return any(
        person_id in t.member_ids
        and t.community_id == place.community.id
        and skills & set(t.skills)
        for t in store.teams.values()
    )


async def _check_actors(w: World, order: Order, timeline: list[OrderEvent]) -> None:
    """Check each line of the timeline was written by someone entitled to that move."""
    store = w.uow.store
    holder: int | None = None
    for e in timeline:
        if e.action in RESIDENT_MOVES:
            assert e.actor_id == order.resident_id, e
        elif e.action in WORKER_MOVES:
            assert e.actor_id == holder, e
        elif e.action in ("offer", "queue") and e.actor_id not in (None, holder):
            assert store.people[e.actor_id].has_role(Role.DISPATCHER), e
        if e.action == "offer":
            holder = e.target_id
        elif e.action == "claim":
            assert e.actor_id in await w.uow.orders.pool_offers(order.id), e
            holder = e.actor_id
        elif e.action in ("queue", "pool"):
            holder = None
    if order.assignee_id is not None:
        assert order.assignee_id == holder, (order, timeline)


async def _check_invariants(w: World) -> None:
    store = w.uow.store
    for order in store.orders.values():
        timeline = await w.uow.orders.events(order.id)
        assert timeline[0].action == "place" and timeline[0].from_status is None
        for before, after in itertools.pairwise(timeline):
            assert after.from_status == before.to_status, (before, after)
        assert order.status == timeline[-1].to_status
        await _check_actors(w, order, timeline)
        # Every conditional write left exactly one line on the timeline.
        assert order.version == sum(e.action not in UNVERSIONED for e in timeline)
        if order.status in (OrderStatus.QUEUED, OrderStatus.POOL, OrderStatus.CANCELLED):
            assert order.assignee_id is None, order
        else:
            assert order.assignee_id is not None, order
        if order.status in WORKING_STATUSES:
            assert order.assignee_id is not None
            assert await _covers(w, order.assignee_id, order), order
        if order.status == OrderStatus.POOL:
            assert await w.uow.orders.pool_offers(order.id)
        if order.rating is not None:
            assert order.status == OrderStatus.CLOSED and 1 <= order.rating <= 5
    by_number = {o.number: o for o in store.orders.values()}
    for notice in store.notices:
        person = store.people[notice.person_id]
        if notice.key.startswith("order."):  # residents hear only about their own orders
            assert by_number[notice.params["number"]].resident_id == person.id, notice
        elif notice.key in ("queue.new",):
            assert person.has_role(Role.DISPATCHER), notice
        else:
            assert person.is_staff, notice


async def _run(steps: list[Step]) -> None:
    w = sample_world()
    uow = w.uow
    everyone = sorted(uow.store.people.values(), key=lambda p: p.id)
    placed: list[int] = []
    for step in steps:
        w.clock.advance(minutes=7)
        order_id = _pick_order(w, step, placed)
        order = uow.store.orders.get(order_id)
        actor = _actor(w, step, order, everyone)
        before = copy.deepcopy(uow.store)
        try:
            result = await _call(w, step, actor, order_id)
        except DomainError:
            await uow.rollback()  # as the unit of work does when a handler leaves on an error
            assert uow.store == before
        else:
            await uow.commit()  # the step's entry point does, once
            if step[0] == "place":
                assert isinstance(result, Order)
                placed.append(result.id)
        await _check_invariants(w)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_random_taps_raise_only_domain_errors_and_keep_the_loop_sound(steps: list[Step]) -> None:
    asyncio.run(_run(steps))
