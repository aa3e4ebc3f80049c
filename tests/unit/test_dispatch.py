"""Accepting (接单), declining, claiming from the pool, escalating and dispatching by hand."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from tests.fakes import OrgBuilder, World, sample_world
from workflows.dispatch import (
    accept_task,
    claim_from_pool,
    decline_task,
    dispatch_by_hand,
    escalate,
    load,
    redispatch,
)
from workflows.errors import (
    NotAllowed,
    NotYourTask,
    OrderAlreadyTaken,
    OrderNotFound,
    StaleAction,
)
from workflows.model import EDIT_KEY, Order, OrderStatus, Person, PersonChanges, Role
from workflows.work import held_task


async def accept(w: World, person: Person, order: Order) -> Order:
    return await accept_task(w.uow, w.clock, w.person(person.id), order.id)


# --- accept ---------------------------------------------------------------------------------


async def test_accepting_tells_the_resident_who_is_coming() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.repairs)
    w.clock.advance(minutes=5)

    accepted = await accept(w, org.unit_head, order)

    assert (accepted.status, accepted.assignee_id) == (OrderStatus.ACCEPTED, org.unit_head.id)
    assert accepted.resolve_due == w.clock.now() + timedelta(hours=org.repairs.resolve_hours)
    (told,) = w.uow.notices_for(org.resident.id)
    assert told.key == "order.accepted"
    assert told.params == {
        "number": order.number,
        "category": org.repairs.names.zh,
        "worker": org.unit_head.name,
    }


async def test_only_the_person_offered_may_accept() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.grid_matters)
    assert order.assignee_id == org.grid_worker.id
    before = copy.deepcopy(w.uow.store)

    with pytest.raises(NotYourTask):
        await accept(w, org.grid_worker2, order)
    with pytest.raises(NotYourTask):
        await accept(w, org.resident, order)

    assert w.order(order.id).status == OrderStatus.OFFERED
    assert w.uow.store == before  # nothing written, nobody told


async def test_accepting_twice_is_refused() -> None:
    w = sample_world()
    order = await w.accepted(w.org.repairs)

    with pytest.raises(NotYourTask):
        await accept(w, w.org.unit_head, order)


async def test_acting_on_an_order_that_does_not_exist() -> None:
    w = sample_world()

    with pytest.raises(OrderNotFound):
        await accept_task(w.uow, w.clock, w.org.unit_head, 424242)


# --- decline --------------------------------------------------------------------------------


async def test_declining_offers_the_order_to_the_next_candidate_then_the_queue() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.grid_matters)
    assert order.assignee_id == org.grid_worker.id
    w.uow.sent.deliver()

    second = await decline_task(w.uow, w.clock, org.grid_worker, order.id, "今天请假")

    assert (second.status, second.assignee_id) == (OrderStatus.OFFERED, org.grid_worker2.id)
    assert w.uow.keys_for(org.grid_worker2.id) == ["task.offered"]

    queued = await decline_task(w.uow, w.clock, org.grid_worker2, order.id, "不在片区")

    assert (queued.status, queued.assignee_id) == (OrderStatus.QUEUED, None)
    (card,) = w.uow.notices_for(org.dispatcher.id)
    assert card.key == "queue.new"
    assert (card.params["reason"], card.params["note"]) == ("all_declined", "不在片区")
    # The one who declined first was not offered it again; their card lost its buttons.
    assert w.uow.keys_for(org.grid_worker.id) == [EDIT_KEY]
    timeline = await w.uow.orders.events(order.id)
    declines = [(e.actor_id, e.note, e.target_id) for e in timeline if e.action == "decline"]
    assert declines == [
        (org.grid_worker.id, "今天请假", org.grid_worker.id),
        (org.grid_worker2.id, "不在片区", org.grid_worker2.id),
    ]
    assert timeline[-1].to_status == OrderStatus.QUEUED


async def test_a_single_unit_head_declining_sends_the_order_to_the_queue() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.repairs)

    queued = await decline_task(w.uow, w.clock, org.unit_head, order.id, "腿脚不便")

    assert queued.status == OrderStatus.QUEUED
    assert w.uow.notices_for(org.dispatcher.id)[-1].params["reason"] == "all_declined"


async def test_only_the_person_offered_may_decline() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.repairs)

    with pytest.raises(NotYourTask):
        await decline_task(w.uow, w.clock, org.building_head, order.id, "x")

    assert w.order(order.id).assignee_id == org.unit_head.id


async def test_an_accepted_task_cannot_be_declined() -> None:
    w = sample_world()
    order = await w.accepted(w.org.repairs)

    with pytest.raises(NotYourTask):
        await decline_task(w.uow, w.clock, w.org.unit_head, order.id, "改主意了")


async def test_a_timed_out_offer_is_not_offered_again_to_the_same_person() -> None:
    # Regression: redispatch() used to remember only decline events' actors, and a timer
    # re-dispatch has none, so the order bounced back to whoever had let it lapse.
    w = sample_world()
    org = w.org
    order = await w.place(org.grid_matters)
    assert order.assignee_id == org.grid_worker.id

    # The acceptance deadline passes twice; the scheduler re-dispatches with no actor.
    w.clock.advance(minutes=31)
    ctx = await load(w.uow, order.id)
    second = await redispatch(w.uow, w.clock, ctx, actor_id=None, note="timeout")
    assert second.assignee_id == org.grid_worker2.id
    w.clock.advance(minutes=31)
    ctx = await load(w.uow, order.id)
    third = await redispatch(w.uow, w.clock, ctx, actor_id=None, note="timeout")

    # Both grid workers let it lapse: it belongs in the dispatcher's queue now.
    assert (third.status, third.assignee_id) == (OrderStatus.QUEUED, None)


# --- the pool -------------------------------------------------------------------------------


async def test_the_first_claim_wins_and_the_second_is_told_it_is_taken() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.wishes)

    claimed = await claim_from_pool(w.uow, w.clock, org.volunteer2, order.id)

    assert (claimed.status, claimed.assignee_id, claimed.level) == (
        OrderStatus.ACCEPTED,
        org.volunteer2.id,
        Role.VOLUNTEER,
    )
    (told,) = w.uow.notices_for(org.resident.id)
    assert (told.key, told.params["worker"]) == ("order.accepted", org.volunteer2.name)
    before = copy.deepcopy(w.uow.store)
    with pytest.raises(OrderAlreadyTaken):
        await claim_from_pool(w.uow, w.clock, org.volunteer1, order.id)
    assert w.uow.store == before
    assert w.order(order.id).assignee_id == org.volunteer2.id
    claims = [e for e in await w.uow.orders.events(order.id) if e.action == "claim"]
    assert [(e.actor_id, e.from_status, e.to_status) for e in claims] == [
        (org.volunteer2.id, OrderStatus.POOL, OrderStatus.ACCEPTED)
    ]


async def test_two_claims_racing_on_the_same_read_only_one_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.wishes)
    stale = w.order(order.id)  # both taps read the order before either wrote

    await claim_from_pool(w.uow, w.clock, org.volunteer1, order.id)
    await w.uow.commit()  # the first tap's update commits

    real_get = w.uow.orders.get

    async def get_as_read_before(order_id: int) -> Order | None:
        return stale if order_id == order.id else await real_get(order_id)

    monkeypatch.setattr(w.uow.orders, "get", get_as_read_before)
    with pytest.raises(OrderAlreadyTaken):
        await claim_from_pool(w.uow, w.clock, org.volunteer2, order.id)
    await w.uow.rollback()
    monkeypatch.undo()

    assert w.order(order.id).assignee_id == org.volunteer1.id
    assert w.uow.keys_for(org.resident.id) == ["order.accepted"]


async def test_only_volunteers_the_pool_was_offered_to_may_claim() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.wishes)

    for outsider in (org.grid_worker, org.resident, org.dispatcher):
        with pytest.raises(NotAllowed):
            await claim_from_pool(w.uow, w.clock, outsider, order.id)
    assert w.order(order.id).status == OrderStatus.POOL


# --- escalation -----------------------------------------------------------------------------


async def test_escalation_climbs_one_level_at_a_time_and_the_resident_is_told() -> None:
    w = sample_world()
    org = w.org
    order = await w.accepted(org.repairs)
    assert order.assignee_id == org.unit_head.id

    up = await escalate(w.uow, w.clock, org.unit_head, order.id, "需要换总阀")
    assert (up.status, up.assignee_id, up.level) == (
        OrderStatus.OFFERED,
        org.building_head.id,
        Role.BUILDING_HEAD,
    )
    assert w.uow.keys_for(org.building_head.id) == ["task.offered"]
    assert w.uow.keys_for(org.resident.id)[-1] == "order.escalated"
    await accept(w, org.building_head, up)

    up = await escalate(w.uow, w.clock, org.building_head, order.id, "楼里解决不了")
    assert (up.status, up.assignee_id, up.level) == (
        OrderStatus.OFFERED,
        org.grid_worker.id,
        Role.GRID_WORKER,
    )
    await accept(w, org.grid_worker, up)

    up = await escalate(w.uow, w.clock, org.grid_worker, order.id, "要社区协调")
    assert (up.status, up.assignee_id, up.level) == (
        OrderStatus.QUEUED,
        None,
        Role.COMMUNITY_CADRE,
    )
    (card,) = w.uow.notices_for(org.dispatcher.id)
    assert (card.key, card.params["reason"], card.params["note"]) == (
        "queue.new",
        "escalated",
        "要社区协调",
    )
    assert w.uow.keys_for(org.resident.id).count("order.escalated") == 3

    # The community blows the whistle: the cadre takes it, then passes it to the department.
    up = await dispatch_by_hand(w.uow, w.clock, org.dispatcher, order.id, org.cadre.id)
    await accept(w, org.cadre, up)
    up = await escalate(w.uow, w.clock, org.cadre, order.id, "需要自来水公司")
    assert (up.status, up.assignee_id, up.level) == (
        OrderStatus.OFFERED,
        org.liaison.id,
        Role.DEPT_LIAISON,
    )
    await accept(w, org.liaison, up)
    up = await escalate(w.uow, w.clock, org.liaison, order.id, "不归我们管")
    assert (up.status, up.level) == (OrderStatus.QUEUED, Role.COMMUNITY_CADRE)

    timeline = await w.uow.orders.events(order.id)
    escalations = [(e.actor_id, e.note) for e in timeline if e.action == "escalate"]
    assert escalations == [
        (org.unit_head.id, "需要换总阀"),
        (org.building_head.id, "楼里解决不了"),
        (org.grid_worker.id, "要社区协调"),
        (org.cadre.id, "需要自来水公司"),
        (org.liaison.id, "不归我们管"),
    ]


async def test_escalation_skips_an_empty_level() -> None:
    w = sample_world()
    org = w.org
    await w.uow.people.update(org.building_head.id, PersonChanges(telegram_id=None))
    w.uow.settle()
    order = await w.accepted(org.repairs)

    up = await escalate(w.uow, w.clock, org.unit_head, order.id, "需要网格员")

    assert (up.assignee_id, up.level) == (org.grid_worker.id, Role.GRID_WORKER)


async def test_a_volunteer_escalates_to_the_unit_head() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.wishes)
    await claim_from_pool(w.uow, w.clock, org.volunteer1, order.id)

    up = await escalate(w.uow, w.clock, org.volunteer1, order.id, "需要单元长帮忙")

    assert (up.status, up.assignee_id, up.level) == (
        OrderStatus.OFFERED,
        org.unit_head.id,
        Role.UNIT_HEAD,
    )


async def test_only_the_worker_holding_the_task_may_escalate() -> None:
    w = sample_world()
    org = w.org
    offered = await w.place(org.repairs)

    with pytest.raises(NotYourTask):  # offered, not yet accepted
        await escalate(w.uow, w.clock, org.unit_head, offered.id, "x")
    await accept(w, org.unit_head, offered)
    with pytest.raises(NotYourTask):
        await escalate(w.uow, w.clock, org.building_head, offered.id, "x")
    with pytest.raises(NotYourTask):
        await held_task(w.uow, org.grid_worker, offered.id)

    assert w.order(offered.id).assignee_id == org.unit_head.id


# --- dispatch by hand -----------------------------------------------------------------------


async def test_a_dispatcher_hands_a_queued_order_to_a_worker() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.other)

    handed = await dispatch_by_hand(w.uow, w.clock, org.dispatcher, order.id, org.grid_worker2.id)

    assert (handed.status, handed.assignee_id, handed.level) == (
        OrderStatus.OFFERED,
        org.grid_worker2.id,
        Role.GRID_WORKER,
    )
    (card,) = w.uow.notices_for(org.grid_worker2.id)
    assert card.key == "task.offered"
    assert [a.label for a in card.actions] == ["btn.accept", "btn.decline"]
    last = (await w.uow.orders.events(order.id))[-1]
    assert (last.action, last.actor_id, last.target_id) == (
        "offer",
        org.dispatcher.id,
        org.grid_worker2.id,
    )


@pytest.mark.parametrize(
    "who", ["cadre", "grid_worker", "resident", "other_dispatcher"], ids=lambda s: s
)
async def test_only_a_dispatcher_of_the_community_may_dispatch_by_hand(who: str) -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.other)
    before = copy.deepcopy(w.uow.store)

    with pytest.raises(NotAllowed):
        await dispatch_by_hand(w.uow, w.clock, getattr(org, who), order.id, org.grid_worker.id)

    assert w.order(order.id).status == OrderStatus.QUEUED
    assert w.uow.store == before
    assert w.uow.notices_for(org.grid_worker.id) == []


async def test_a_dispatcher_cannot_hand_an_order_to_a_resident_or_a_dispatcher() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.other)
    unreachable = OrgBuilder(w.uow).person(
        "无电报网格员", (Role.GRID_WORKER, org.grid), telegram=False
    )
    w.uow.settle()

    for target in (org.neighbour.id, org.dispatcher.id, unreachable.id, 999_999):
        with pytest.raises(NotAllowed):
            await dispatch_by_hand(w.uow, w.clock, org.dispatcher, order.id, target)

    assert w.order(order.id).status == OrderStatus.QUEUED


async def test_a_closed_order_cannot_be_dispatched_again() -> None:
    w = sample_world()
    org = w.org
    order = await w.resolved(org.repairs)

    with pytest.raises(StaleAction):
        await dispatch_by_hand(w.uow, w.clock, org.dispatcher, order.id, org.grid_worker.id)


async def test_a_dispatcher_cannot_hand_an_order_to_another_communitys_worker() -> None:
    # Regression: a forged 'hd' button used to hand the resident's phone and address to anyone.
    w = sample_world()
    org = w.org
    order = await w.place(org.other)

    with pytest.raises(NotAllowed):
        await dispatch_by_hand(w.uow, w.clock, org.dispatcher, order.id, org.other_grid_worker.id)

    assert w.uow.notices_for(org.other_grid_worker.id) == []
    assert w.order(order.id).status == OrderStatus.QUEUED


async def test_a_handed_order_takes_the_role_that_covers_the_household() -> None:
    w = sample_world()
    org = w.org
    other_grid = org.other_grid_worker.roles[0].place_id
    both = OrgBuilder(w.uow).person(
        "两边兼职",
        (Role.GRID_WORKER, w.uow.store.places[other_grid]),
        (Role.BUILDING_HEAD, org.building),
    )
    w.uow.settle()
    order = await w.place(org.other)

    handed = await dispatch_by_hand(w.uow, w.clock, org.dispatcher, order.id, both.id)

    assert (handed.assignee_id, handed.level) == (both.id, Role.BUILDING_HEAD)


async def test_a_dispatcher_may_blow_the_whistle_to_a_department_liaison() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.other)

    handed = await dispatch_by_hand(w.uow, w.clock, org.dispatcher, order.id, org.liaison.id)

    assert (handed.assignee_id, handed.level) == (org.liaison.id, Role.DEPT_LIAISON)
    assert w.uow.keys_for(org.liaison.id) == ["task.offered"]


async def test_the_worker_who_loses_a_task_to_a_handover_is_told() -> None:
    # Regression: the worker who lost an accepted task to a handover used to hear nothing.
    w = sample_world()
    org = w.org
    order = await w.accepted(org.grid_matters)
    assert order.assignee_id == org.grid_worker.id
    w.uow.sent.deliver()

    await dispatch_by_hand(w.uow, w.clock, org.dispatcher, order.id, org.grid_worker2.id)

    # The working card they hold loses its buttons, and they are told.
    edit, told = w.uow.notices_for(org.grid_worker.id)
    assert (edit.key, edit.params["buttons"]) == (EDIT_KEY, [])
    assert (told.key, told.params) == ("task.reassigned", {"number": order.number})
    assert w.uow.keys_for(org.grid_worker2.id) == ["task.offered"]


async def test_the_pool_shows_the_address_only_to_the_volunteer_who_claims() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.wishes)

    for volunteer in (org.volunteer1, org.volunteer2):
        (card,) = w.uow.notices_for(volunteer.id)
        assert org.room101.room not in card.params.get("address", ""), card
    await claim_from_pool(w.uow, w.clock, org.volunteer1, order.id)

    card = w.uow.notices_for(org.volunteer1.id)[-1]
    assert card.key == "task.card"
    assert org.room101.room in card.params["address"]
    assert card.params["phone"] == org.resident.phone
    for notice in w.uow.notices_for(org.volunteer2.id):
        assert org.room101.room not in notice.params.get("address", "")
