"""Placing an order (下单) and where the rules send it (派单): a person, the queue or the pool."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fakes import OrgBuilder, sample_world
from workflows.errors import InvalidInput, NotRegistered
from workflows.model import Action, CategoryKind, OrderStatus, PersonChanges, Role, Urgency
from workflows.orders import MAX_DESCRIPTION, OrderDraft, place_order
from workflows.vocabulary import Verb

ACCEPT_DECLINE = ("btn.accept", "btn.decline")


async def test_a_repair_goes_to_the_unit_head_who_gets_a_task_card() -> None:
    w = sample_world()
    org = w.org

    order = await w.place(org.repairs, description="厨房水管漏水", photos=("ph1",))

    assert (order.status, order.assignee_id, order.level) == (
        OrderStatus.OFFERED,
        org.unit_head.id,
        Role.UNIT_HEAD,
    )
    assert order.accept_due == w.clock.now() + timedelta(minutes=org.repairs.accept_minutes)
    photo, card = w.uow.notices_for(org.unit_head.id)
    assert (photo.key, photo.photo, photo.params["number"]) == ("task.photo", "ph1", order.number)
    assert card.key == "task.offered"
    assert card.params == {
        "number": order.number,
        "category": org.repairs.names.zh,
        "description": "厨房水管漏水",
        "address": "和平社区 3号楼 1单元 101",
        "area": "和平社区 3号楼",
        "urgency": "normal",
        "resident": org.resident.name,
        "channel": "chat",
    }
    assert "phone" not in card.params  # the phone comes with the task, once accepted
    assert card.actions == (
        Action("btn.accept", Verb.ACCEPT, order.id),
        Action("btn.decline", Verb.DECLINE, order.id),
    )
    # Nobody else hears about it yet.
    assert {n.person_id for n in w.uow.notices} == {org.unit_head.id}


async def test_the_narrowest_scope_wins_over_a_lighter_load() -> None:
    w = sample_world()
    org = w.org
    # A unit head whose scope is the whole building: eligible, but not as close to room 101.
    wide = OrgBuilder(w.uow).person("楼栋兼单元长", (Role.UNIT_HEAD, org.building))
    w.uow.settle()

    first = await w.place(org.repairs)
    second = await w.place(org.repairs, org.neighbour)

    assert first.assignee_id == org.unit_head.id
    assert second.assignee_id == org.unit_head.id  # busier, but closer
    assert w.uow.notices_for(wide.id) == []


async def test_among_equals_the_least_loaded_gets_the_order() -> None:
    w = sample_world()
    org = w.org

    first = await w.place(org.grid_matters)
    second = await w.place(org.grid_matters, org.neighbour)
    third = await w.place(org.grid_matters)

    assert first.assignee_id == org.grid_worker.id  # equal load: the lower id
    assert second.assignee_id == org.grid_worker2.id
    assert third.assignee_id == org.grid_worker.id
    card = w.uow.notices_for(org.grid_worker2.id)[-1]
    assert card.key == "task.offered"
    assert card.params["category"] == org.grid_matters.names.en  # in the worker's language
    assert card.params["address"] == "Heping Community Building 3 Unit 1 102"


async def test_staff_without_telegram_are_skipped() -> None:
    w = sample_world()
    org = w.org
    await w.uow.people.update(org.grid_worker.id, PersonChanges(telegram_id=None))
    w.uow.settle()

    order = await w.place(org.grid_matters)

    assert order.assignee_id == org.grid_worker2.id


async def test_no_rule_sends_the_order_to_the_queue_with_suggestions() -> None:
    w = sample_world()
    org = w.org

    order = await w.place(org.other, description="楼道灯坏了")

    assert (order.status, order.assignee_id, order.level) == (
        OrderStatus.QUEUED,
        None,
        Role.COMMUNITY_CADRE,
    )
    (card,) = w.uow.notices_for(org.dispatcher.id)
    assert card.key == "queue.new"
    assert card.params["reason"] == "no_rule"
    assert card.params["description"] == "楼道灯坏了"
    assert card.params["number"] == order.number
    assert [(a.label, a.verb, a.target_id) for a in card.actions] == [
        ("btn.dispatch_to", "hd", order.id)
    ] * 4 + [("transfer.btn_transfer", "tf", order.id)]  # moves (issue 15): 转办
    suggested = [(a.arg, a.params["name"]) for a in card.actions if a.verb == "hd"]
    assert suggested == [
        (str(org.grid_worker.id), org.grid_worker.name),
        (str(org.cadre.id), org.cadre.name),
        (str(org.building_head.id), org.building_head.name),
        (str(org.unit_head.id), org.unit_head.name),
    ]
    # The other community's dispatcher and the workers are not bothered.
    assert w.uow.notices_for(org.other_dispatcher.id) == []
    assert {n.person_id for n in w.uow.notices} == {org.dispatcher.id}


async def test_every_dispatcher_of_the_community_and_street_gets_the_queue_card() -> None:
    w = sample_world()
    org = w.org
    b = OrgBuilder(w.uow)
    second = b.person("派单员二", (Role.DISPATCHER, org.community))
    street_level = b.person("街道派单员", (Role.DISPATCHER, org.street))
    silent = b.person("没有电报", (Role.DISPATCHER, org.community), telegram=False)
    w.uow.settle()

    await w.place(org.other)

    for person in (org.dispatcher, second, street_level):
        assert w.uow.keys_for(person.id) == ["queue.new"], person.name
    assert w.uow.notices_for(silent.id) == []


async def test_a_routed_category_with_nobody_in_scope_goes_to_that_communitys_queue() -> None:
    w = sample_world()
    org = w.org

    order = await w.place(org.repairs, org.other_resident)  # 光明社区 has no unit head

    assert (order.status, order.assignee_id) == (OrderStatus.QUEUED, None)
    (card,) = w.uow.notices_for(org.other_dispatcher.id)
    assert (card.key, card.params["reason"]) == ("queue.new", "no_rule")
    # Suggestions stay inside the household's community (and its street's department).
    assert [a.arg for a in card.actions if a.verb == "hd"] == [
        str(org.other_grid_worker.id),
        str(org.liaison.id),
    ]
    assert w.uow.notices_for(org.dispatcher.id) == []
    assert w.uow.notices_for(org.unit_head.id) == []


async def test_a_pool_order_goes_to_every_matching_volunteer_with_claim() -> None:
    w = sample_world()
    org = w.org

    order = await w.place(org.wishes, description="想给孙子买本字典")

    assert (order.status, order.assignee_id, order.level) == (
        OrderStatus.POOL,
        None,
        Role.VOLUNTEER,
    )
    for volunteer in (org.volunteer1, org.volunteer2):
        (card,) = w.uow.notices_for(volunteer.id)
        assert card.key == "pool.new"
        assert card.params["description"] == "想给孙子买本字典"
        assert card.actions == (Action("btn.claim", Verb.CLAIM, order.id),)
    assert sorted(await w.uow.orders.pool_offers(order.id)) == [
        org.volunteer1.id,
        org.volunteer2.id,
    ]
    assert [o.id for o in await w.uow.orders.pool_for(org.volunteer1.id)] == [order.id]


async def test_a_pool_order_without_matching_volunteers_goes_to_the_queue() -> None:
    w = sample_world()
    org = w.org
    legal = OrgBuilder(w.uow).category(
        "legal", role=None, kind=CategoryKind.POOL, skills=["legal_advice"]
    )
    w.uow.settle()

    order = await w.place(legal)

    assert order.status == OrderStatus.QUEUED
    assert w.uow.notices_for(org.volunteer1.id) == []
    (card,) = w.uow.notices_for(org.dispatcher.id)
    assert (card.key, card.params["reason"]) == ("queue.new", "no_volunteer")


async def test_urgent_orders_get_the_urgent_deadline() -> None:
    w = sample_world()
    org = w.org

    order = await w.place(org.repairs, urgency=Urgency.URGENT)

    assert order.accept_due == w.clock.now() + timedelta(minutes=org.repairs.urgent_accept_minutes)
    assert w.uow.notices_for(org.unit_head.id)[-1].params["urgency"] == "urgent"


async def test_the_description_is_tidied() -> None:
    w = sample_world()

    order = await w.place(w.org.repairs, description="  水管   漏水\t了 ")

    assert order.description == "水管 漏水 了"


@pytest.mark.parametrize(
    ("description", "reason"),
    [("", "too_short"), ("水", "too_short"), ("   ", "too_short"), ("漏" * 1001, "too_long")],
    ids=["empty", "one-char", "blank", "too-long"],
)
async def test_a_bad_description_creates_no_order(description: str, reason: str) -> None:
    w = sample_world()

    with pytest.raises(InvalidInput) as caught:
        await w.place(w.org.repairs, description=description)

    assert caught.value.params["reason"] == reason
    assert w.uow.store.orders == {}
    assert w.uow.notices == []


async def test_the_longest_allowed_description_is_accepted() -> None:
    w = sample_world()

    order = await w.place(w.org.repairs, description="漏" * MAX_DESCRIPTION)

    assert len(order.description) == MAX_DESCRIPTION


async def test_too_many_photos_or_an_unknown_category_create_no_order() -> None:
    w = sample_world()
    resident = w.org.resident

    with pytest.raises(InvalidInput):
        await w.place(w.org.repairs, photos=tuple(f"p{i}" for i in range(6)))
    with pytest.raises(InvalidInput):
        await place_order(w.uow, w.clock, resident, OrderDraft(999_999, "水管漏水"))

    assert w.uow.store.orders == {}


async def test_someone_without_a_household_cannot_order() -> None:
    w = sample_world()

    with pytest.raises(NotRegistered):
        await w.place(w.org.repairs, w.org.grid_worker)

    assert w.uow.store.orders == {}
