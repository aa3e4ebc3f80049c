"""The resident closes the loop: confirm, rate, reopen, cancel, add information."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from tests.fakes import sample_world
from workflows.errors import InvalidInput, NotYourOrder, StaleAction
from workflows.model import EDIT_KEY, OrderStatus
from workflows.orders import (
    add_information,
    cancel_order,
    comment_order,
    confirm_fixed,
    rate_order,
    rating_actions,
    reopen_order,
)


async def test_confirming_closes_the_order_and_the_worker_hears() -> None:
    w = sample_world()
    org = w.org
    order = await w.resolved(org.repairs)
    w.clock.advance(hours=1)

    closed = await confirm_fixed(w.uow, w.clock, org.resident, order.id)

    assert (closed.status, closed.closed_at) == (OrderStatus.CLOSED, w.clock.now())
    told = w.uow.notices_for(org.unit_head.id)[-1]
    assert (told.key, told.params) == ("task.confirmed", {"number": order.number})


async def test_a_rating_is_given_once_from_one_to_five() -> None:
    w = sample_world()
    org = w.org
    order = await w.resolved(org.repairs)
    await confirm_fixed(w.uow, w.clock, org.resident, order.id)

    for bad in (0, 6, -1):
        with pytest.raises(InvalidInput):
            await rate_order(w.uow, w.clock, org.resident, order.id, bad)
    rated = await rate_order(w.uow, w.clock, org.resident, order.id, 5)

    assert (rated.status, rated.rating) == (OrderStatus.CLOSED, 5)
    told = w.uow.notices_for(org.unit_head.id)[-1]
    assert (told.key, told.params) == ("task.rated", {"number": order.number, "rating": 5})
    before = copy.deepcopy(w.uow.store)
    with pytest.raises(StaleAction):
        await rate_order(w.uow, w.clock, org.resident, order.id, 1)
    assert w.order(order.id).rating == 5
    assert w.uow.store == before
    last = (await w.uow.orders.events(order.id))[-1]
    assert (last.action, last.note, last.from_status, last.to_status) == (
        "rate",
        "5",
        OrderStatus.CLOSED,
        OrderStatus.CLOSED,
    )


async def test_an_order_cannot_be_rated_before_it_is_closed() -> None:
    w = sample_world()
    order = await w.resolved(w.org.repairs)

    with pytest.raises(StaleAction):
        await rate_order(w.uow, w.clock, w.org.resident, order.id, 4)


async def test_a_comment_follows_the_rating_once() -> None:
    w = sample_world()
    org = w.org
    order = await w.resolved(org.repairs)
    await confirm_fixed(w.uow, w.clock, org.resident, order.id)
    await rate_order(w.uow, w.clock, org.resident, order.id, 4)

    commented = await comment_order(w.uow, w.clock, org.resident, order.id, "师傅很耐心")

    assert (commented.comment, commented.rating) == ("师傅很耐心", 4)
    with pytest.raises(StaleAction):
        await comment_order(w.uow, w.clock, org.resident, order.id, "再说一句")


def test_the_rating_buttons_are_one_to_five_stars() -> None:
    assert [(a.label, a.verb, a.arg) for a in rating_actions(7)] == [
        (f"btn.star{n}", "rate", str(n)) for n in range(1, 6)
    ]


async def test_not_satisfied_reopens_to_the_same_worker_with_the_reason() -> None:
    w = sample_world()
    org = w.org
    order = await w.resolved(org.grid_matters)
    worker = order.assignee_id
    assert worker == org.grid_worker.id

    reopened = await reopen_order(w.uow, w.clock, org.resident, order.id, "还在漏水")

    assert (reopened.status, reopened.assignee_id, reopened.resolved_at) == (
        OrderStatus.ACCEPTED,
        worker,
        None,
    )
    card = w.uow.notices_for(worker)[-1]
    assert card.key == "task.reopened"
    assert card.params["reason"] == "还在漏水"
    assert card.params["number"] == order.number
    assert [a.verb for a in card.actions] == ["way", "note", "res", "esc", "ext", "ps", "ari"]
    assert w.uow.notices_for(org.grid_worker2.id) == []
    last = (await w.uow.orders.events(order.id))[-1]
    assert (last.action, last.actor_id, last.note) == ("reopen", org.resident.id, "还在漏水")


async def test_a_reopened_order_whose_worker_lost_the_role_goes_to_the_queue() -> None:
    """The file took the worker's role away after they resolved it: "not fixed" must not strand
    the order with someone whose buttons are refused; it goes to the dispatcher, saying why."""
    w = sample_world()
    org = w.org
    order = await w.resolved(org.grid_matters)
    worker = org.grid_worker.id
    w.uow.store.people[worker] = dataclasses.replace(w.person(worker), roles=())
    before = len(w.uow.notices_for(worker))

    reopened = await reopen_order(w.uow, w.clock, org.resident, order.id, "还在漏水")

    assert (reopened.status, reopened.assignee_id) == (OrderStatus.QUEUED, None)
    assert len(w.uow.notices_for(worker)) == before  # no task card for them
    told = w.uow.notices_for(org.dispatcher.id)[-1]
    assert told.params["reason"] == "role_withdrawn"
    actions = [e.action for e in await w.uow.orders.events(order.id)][-2:]
    assert actions == ["reopen", "withdraw"]


async def test_an_open_order_cannot_be_confirmed_or_reopened() -> None:
    w = sample_world()
    org = w.org
    order = await w.accepted(org.repairs)

    with pytest.raises(StaleAction):
        await confirm_fixed(w.uow, w.clock, org.resident, order.id)
    with pytest.raises(StaleAction):
        await reopen_order(w.uow, w.clock, org.resident, order.id, "没修好")


async def test_cancelling_tells_whoever_holds_the_order() -> None:
    w = sample_world()
    org = w.org
    order = await w.accepted(org.repairs)

    cancelled = await cancel_order(w.uow, w.clock, org.resident, order.id)

    assert (cancelled.status, cancelled.assignee_id) == (OrderStatus.CANCELLED, None)
    told = w.uow.notices_for(org.unit_head.id)[-1]
    assert (told.key, told.params) == ("task.cancelled", {"number": order.number})
    last = (await w.uow.orders.events(order.id))[-1]
    assert (last.action, last.actor_id, last.to_status) == (
        "cancel",
        org.resident.id,
        OrderStatus.CANCELLED,
    )


async def test_cancelling_an_offered_order_tells_the_person_offered() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.repairs)
    (offer, _, message_id) = w.uow.sent.deliver()[-1]
    assert offer.key == "task.offered" and offer.person_id == org.unit_head.id

    await cancel_order(w.uow, w.clock, org.resident, order.id)

    # The offer's buttons are taken off the card they got, and they are told why.
    edit, told = w.uow.notices_for(org.unit_head.id)
    assert (edit.key, edit.params["message_id"], edit.params["buttons"]) == (
        EDIT_KEY,
        message_id,
        [],
    )
    assert told.key == "task.cancelled"


async def test_a_closed_or_cancelled_order_cannot_be_cancelled() -> None:
    w = sample_world()
    org = w.org
    closed = await w.resolved(org.repairs)
    await confirm_fixed(w.uow, w.clock, org.resident, closed.id)
    cancelled = await w.place(org.other)
    await cancel_order(w.uow, w.clock, org.resident, cancelled.id)
    before = copy.deepcopy(w.uow.store)

    for order in (closed, cancelled):
        with pytest.raises(StaleAction):
            await cancel_order(w.uow, w.clock, org.resident, order.id)

    assert w.uow.store == before
    assert w.order(closed.id).status == OrderStatus.CLOSED


async def test_a_resident_cannot_touch_someone_elses_order() -> None:
    w = sample_world()
    org = w.org
    order = await w.resolved(org.repairs)
    before = copy.deepcopy(w.uow.store)
    n = org.neighbour

    attempts = [
        cancel_order(w.uow, w.clock, n, order.id),
        confirm_fixed(w.uow, w.clock, n, order.id),
        reopen_order(w.uow, w.clock, n, order.id, "没修好"),
        rate_order(w.uow, w.clock, n, order.id, 1),
        comment_order(w.uow, w.clock, n, order.id, "差评"),
        add_information(w.uow, w.clock, n, order.id, "补充"),
    ]
    for attempt in attempts:
        with pytest.raises(NotYourOrder):
            await attempt

    assert w.order(order.id).status == OrderStatus.RESOLVED
    assert w.uow.store == before  # nothing changed, nobody told


async def test_added_information_reaches_the_worker_holding_the_order() -> None:
    w = sample_world()
    org = w.org
    order = await w.accepted(org.repairs)

    await add_information(w.uow, w.clock, org.resident, order.id, "下午三点后在家", "ph-2")

    told = w.uow.notices_for(org.unit_head.id)[-1]
    assert (told.key, told.params, told.photo) == (
        "task.info_added",
        {"number": order.number, "note": "下午三点后在家"},
        "ph-2",
    )
    last = (await w.uow.orders.events(order.id))[-1]
    assert (last.action, last.note, last.photo) == ("add_info", "下午三点后在家", "ph-2")


async def test_added_information_on_a_queued_order_reaches_the_dispatchers() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.other)

    await add_information(w.uow, w.clock, org.resident, order.id, "是三楼的灯")

    card = w.uow.notices_for(org.dispatcher.id)[-1]
    assert (card.key, card.params["reason"], card.params["note"]) == (
        "queue.new",
        "info",
        "是三楼的灯",
    )


async def test_information_needs_text_or_a_photo_and_an_open_order() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.repairs)

    with pytest.raises(InvalidInput):
        await add_information(w.uow, w.clock, org.resident, order.id, None)
    await cancel_order(w.uow, w.clock, org.resident, order.id)
    with pytest.raises(StaleAction):
        await add_information(w.uow, w.clock, org.resident, order.id, "还有")


async def test_a_reopened_task_gets_a_fresh_deadline() -> None:
    w = sample_world()
    org = w.org
    order = await w.resolved(org.repairs)
    w.clock.advance(days=2)  # the resident answers after the first deadline has passed

    reopened = await reopen_order(w.uow, w.clock, org.resident, order.id, "还在漏水")

    assert reopened.resolve_due is not None
    assert reopened.resolve_due > w.clock.now()
