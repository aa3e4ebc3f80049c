"""Working an accepted task: on my way, progress notes, resolution with a photo."""

from __future__ import annotations

import pytest

from tests.fakes import sample_world
from workflows.errors import InvalidInput, NotYourTask, StaleAction
from workflows.model import Action, OrderStatus
from workflows.vocabulary import Verb
from workflows.work import add_note, on_my_way, resolve_task


async def test_on_my_way_tells_the_resident_the_worker_is_coming() -> None:
    w = sample_world()
    org = w.org
    order = await w.accepted(org.repairs)

    moving = await on_my_way(w.uow, w.clock, org.unit_head, order.id)

    assert (moving.status, moving.assignee_id) == (OrderStatus.ON_WAY, org.unit_head.id)
    told = w.uow.notices_for(org.resident.id)[-1]
    assert told.key == "order.on_way"
    assert told.params == {
        "number": order.number,
        "category": org.repairs.names.zh,
        "worker": org.unit_head.name,
    }
    with pytest.raises(StaleAction):  # a double tap
        await on_my_way(w.uow, w.clock, org.unit_head, order.id)


async def test_a_progress_note_reaches_the_resident_and_keeps_the_status() -> None:
    w = sample_world()
    org = w.org
    order = await w.accepted(org.repairs)

    noted = await add_note(w.uow, w.clock, org.unit_head, order.id, "  已联系物业，  下午到 ")

    assert noted.status == OrderStatus.ACCEPTED
    told = w.uow.notices_for(org.resident.id)[-1]
    assert (told.key, told.params["note"], told.params["worker"]) == (
        "order.note",
        "已联系物业， 下午到",
        org.unit_head.name,
    )
    last = (await w.uow.orders.events(order.id))[-1]
    assert (last.action, last.actor_id, last.note) == (
        "note",
        org.unit_head.id,
        "已联系物业， 下午到",
    )
    assert (last.from_status, last.to_status) == (OrderStatus.ACCEPTED, OrderStatus.ACCEPTED)


async def test_an_empty_or_huge_note_is_refused_and_nothing_changes() -> None:
    w = sample_world()
    org = w.org
    order = await w.accepted(org.repairs)
    committed, notices = w.uow.committed, len(w.uow.notices)

    for text in ("   ", "字" * 501):
        with pytest.raises(InvalidInput):
            await add_note(w.uow, w.clock, org.unit_head, order.id, text)

    assert (w.uow.committed, len(w.uow.notices)) == (committed, notices)


async def test_resolving_with_a_photo_asks_the_resident_to_confirm() -> None:
    w = sample_world()
    org = w.org
    order = await w.accepted(org.repairs)
    await on_my_way(w.uow, w.clock, org.unit_head, order.id)
    w.clock.advance(hours=2)

    done = await resolve_task(w.uow, w.clock, org.unit_head, order.id, "换了新阀门", "photo-1")

    assert (done.status, done.resolved_at, done.assignee_id) == (
        OrderStatus.RESOLVED,
        w.clock.now(),
        org.unit_head.id,
    )
    photo, resolved = w.uow.notices_for(org.resident.id)[-2:]
    assert (photo.key, photo.photo, photo.params) == (
        "order.resolved_photo",
        "photo-1",
        {"number": order.number},
    )
    assert resolved.key == "order.resolved"
    assert resolved.params == {
        "number": order.number,
        "category": org.repairs.names.zh,
        "worker": org.unit_head.name,
        "note": "换了新阀门",
    }
    assert resolved.actions == (
        Action("btn.satisfied", Verb.SATISFIED, order.id),
        Action("btn.not_satisfied", Verb.NOT_SATISFIED, order.id),
    )
    last = (await w.uow.orders.events(order.id))[-1]
    assert (last.action, last.note, last.photo) == ("resolve", "换了新阀门", "photo-1")


async def test_resolving_without_a_photo_sends_no_photo() -> None:
    w = sample_world()
    org = w.org
    order = await w.accepted(org.repairs)

    await resolve_task(w.uow, w.clock, org.unit_head, order.id, "已处理")

    keys = w.uow.keys_for(org.resident.id)
    assert keys[-1] == "order.resolved"
    assert "order.resolved_photo" not in keys


async def test_a_worker_cannot_work_someone_elses_task() -> None:
    w = sample_world()
    org = w.org
    order = await w.accepted(org.grid_matters)
    assert order.assignee_id == org.grid_worker.id
    committed = w.uow.committed

    with pytest.raises(NotYourTask):
        await on_my_way(w.uow, w.clock, org.grid_worker2, order.id)
    with pytest.raises(NotYourTask):
        await add_note(w.uow, w.clock, org.grid_worker2, order.id, "我来")
    with pytest.raises(NotYourTask):
        await resolve_task(w.uow, w.clock, org.grid_worker2, order.id, "好了")

    assert w.order(order.id).status == OrderStatus.ACCEPTED
    assert w.uow.committed == committed
    assert w.uow.keys_for(org.resident.id) == ["order.accepted"]


async def test_an_offered_task_cannot_be_worked_before_it_is_accepted() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.repairs)

    with pytest.raises(NotYourTask):
        await resolve_task(w.uow, w.clock, org.unit_head, order.id, "好了")
