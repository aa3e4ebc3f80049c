"""Every move is on the order's timeline; a workflow stages it all and never commits."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from tests.fakes import World, sample_world
from workflows.dispatch import (
    accept_task,
    claim_from_pool,
    decline_task,
    dispatch_by_hand,
    escalate,
)
from workflows.errors import (
    DomainError,
    InvalidInput,
    NoOneToEscalateTo,
    NotAllowed,
    NotYourOrder,
    NotYourTask,
    OrderAlreadyTaken,
    StaleAction,
)
from workflows.model import OrderStatus as S
from workflows.orders import (
    add_information,
    cancel_order,
    comment_order,
    confirm_fixed,
    rate_order,
    reopen_order,
)
from workflows.work import add_note, on_my_way, resolve_task


async def test_the_whole_loop_is_on_the_timeline() -> None:
    w = sample_world()
    org = w.org
    start = w.clock.now()
    order = await w.place(org.repairs)
    steps: list[Callable[[], Awaitable[object]]] = [
        lambda: decline_task(w.uow, w.clock, org.unit_head, order.id, "不在家"),
        lambda: dispatch_by_hand(w.uow, w.clock, org.dispatcher, order.id, org.unit_head.id),
        lambda: accept_task(w.uow, w.clock, org.unit_head, order.id),
        lambda: on_my_way(w.uow, w.clock, org.unit_head, order.id),
        lambda: add_note(w.uow, w.clock, org.unit_head, order.id, "到了"),
        lambda: resolve_task(w.uow, w.clock, org.unit_head, order.id, "修好了", "ph"),
        lambda: reopen_order(w.uow, w.clock, org.resident, order.id, "又漏了"),
        lambda: resolve_task(w.uow, w.clock, org.unit_head, order.id, "这次真好了"),
        lambda: confirm_fixed(w.uow, w.clock, org.resident, order.id),
        lambda: rate_order(w.uow, w.clock, org.resident, order.id, 5),
    ]
    for step in steps:
        w.clock.advance(minutes=10)
        await step()

    timeline = await w.uow.orders.events(order.id)
    rows = [(e.action, e.actor_id, e.from_status, e.to_status, e.note) for e in timeline]
    r, uh, d = org.resident.id, org.unit_head.id, org.dispatcher.id
    assert rows == [
        ("place", r, None, S.QUEUED, None),
        ("offer", None, S.QUEUED, S.OFFERED, None),
        ("decline", uh, S.OFFERED, S.OFFERED, "不在家"),
        ("queue", uh, S.OFFERED, S.QUEUED, "不在家"),
        ("offer", d, S.QUEUED, S.OFFERED, None),
        ("accept", uh, S.OFFERED, S.ACCEPTED, None),
        ("on_way", uh, S.ACCEPTED, S.ON_WAY, None),
        ("note", uh, S.ON_WAY, S.ON_WAY, "到了"),
        ("resolve", uh, S.ON_WAY, S.RESOLVED, "修好了"),
        ("reopen", r, S.RESOLVED, S.ACCEPTED, "又漏了"),
        ("resolve", uh, S.ACCEPTED, S.RESOLVED, "这次真好了"),
        ("confirm", r, S.RESOLVED, S.CLOSED, None),
        ("rate", r, S.CLOSED, S.CLOSED, "5"),
    ]
    assert w.order(order.id).status == timeline[-1].to_status == S.CLOSED
    # Each entry is stamped with the time it happened, in order.
    assert timeline[0].at == start
    assert [e.at for e in timeline] == sorted(e.at for e in timeline)
    assert timeline[-1].at == start + timedelta(minutes=100)
    assert [e.photo for e in timeline if e.photo] == ["ph"]


Call = Callable[[World, int], Awaitable[object]]
Setup = Callable[[World], Awaitable[int]]


async def _queued(w: World) -> int:
    return (await w.place(w.org.other)).id


async def _offered(w: World) -> int:
    return (await w.place(w.org.repairs)).id


async def _pool(w: World) -> int:
    return (await w.place(w.org.wishes)).id


async def _claimed(w: World) -> int:
    order_id = await _pool(w)
    await claim_from_pool(w.uow, w.clock, w.org.volunteer2, order_id)
    return order_id


async def _accepted(w: World) -> int:
    return (await w.accepted(w.org.repairs)).id


async def _resolved(w: World) -> int:
    return (await w.resolved(w.org.repairs)).id


async def _closed(w: World) -> int:
    order_id = await _resolved(w)
    await confirm_fixed(w.uow, w.clock, w.org.resident, order_id)
    return order_id


async def _rated(w: World) -> int:
    order_id = await _closed(w)
    await rate_order(w.uow, w.clock, w.org.resident, order_id, 3)
    return order_id


async def _commented(w: World) -> int:
    order_id = await _rated(w)
    await comment_order(w.uow, w.clock, w.org.resident, order_id, "好")
    return order_id


async def _at_cadre_without_department(w: World) -> int:
    order_id = await _queued(w)
    await dispatch_by_hand(w.uow, w.clock, w.org.dispatcher, order_id, w.org.cadre.id)
    await accept_task(w.uow, w.clock, w.org.cadre, order_id)
    return order_id


CASES: list[tuple[str, Setup, Call, type[DomainError] | None]] = [
    ("accept", _offered, lambda w, o: accept_task(w.uow, w.clock, w.org.unit_head, o), None),
    (
        "accept-not-mine",
        _offered,
        lambda w, o: accept_task(w.uow, w.clock, w.org.grid_worker, o),
        NotYourTask,
    ),
    (
        "decline",
        _offered,
        lambda w, o: decline_task(w.uow, w.clock, w.org.unit_head, o, "忙"),
        None,
    ),
    ("claim", _pool, lambda w, o: claim_from_pool(w.uow, w.clock, w.org.volunteer1, o), None),
    (
        "claim-not-offered",
        _pool,
        lambda w, o: claim_from_pool(w.uow, w.clock, w.org.grid_worker, o),
        NotAllowed,
    ),
    (
        "claim-taken",
        _claimed,
        lambda w, o: claim_from_pool(w.uow, w.clock, w.org.volunteer1, o),
        OrderAlreadyTaken,
    ),
    ("on_way", _accepted, lambda w, o: on_my_way(w.uow, w.clock, w.org.unit_head, o), None),
    ("note", _accepted, lambda w, o: add_note(w.uow, w.clock, w.org.unit_head, o, "在路上"), None),
    (
        "note-empty",
        _accepted,
        lambda w, o: add_note(w.uow, w.clock, w.org.unit_head, o, " "),
        InvalidInput,
    ),
    (
        "resolve",
        _accepted,
        lambda w, o: resolve_task(w.uow, w.clock, w.org.unit_head, o, "好了"),
        None,
    ),
    (
        "escalate",
        _accepted,
        lambda w, o: escalate(w.uow, w.clock, w.org.unit_head, o, "上报"),
        None,
    ),
    (
        "escalate-nobody",
        _at_cadre_without_department,
        lambda w, o: escalate(w.uow, w.clock, w.org.cadre, o, "上报"),
        NoOneToEscalateTo,
    ),
    (
        "hand",
        _queued,
        lambda w, o: dispatch_by_hand(w.uow, w.clock, w.org.dispatcher, o, w.org.grid_worker.id),
        None,
    ),
    (
        "hand-not-dispatcher",
        _queued,
        lambda w, o: dispatch_by_hand(w.uow, w.clock, w.org.cadre, o, w.org.grid_worker.id),
        NotAllowed,
    ),
    ("confirm", _resolved, lambda w, o: confirm_fixed(w.uow, w.clock, w.org.resident, o), None),
    (
        "confirm-twice",
        _closed,
        lambda w, o: confirm_fixed(w.uow, w.clock, w.org.resident, o),
        StaleAction,
    ),
    (
        "reopen",
        _resolved,
        lambda w, o: reopen_order(w.uow, w.clock, w.org.resident, o, "没好"),
        None,
    ),
    ("rate", _closed, lambda w, o: rate_order(w.uow, w.clock, w.org.resident, o, 4), None),
    (
        "rate-twice",
        _rated,
        lambda w, o: rate_order(w.uow, w.clock, w.org.resident, o, 4),
        StaleAction,
    ),
    (
        "rate-six",
        _closed,
        lambda w, o: rate_order(w.uow, w.clock, w.org.resident, o, 6),
        InvalidInput,
    ),
    (
        "comment",
        _rated,
        lambda w, o: comment_order(w.uow, w.clock, w.org.resident, o, "谢谢"),
        None,
    ),
    (
        "comment-twice",
        _commented,
        lambda w, o: comment_order(w.uow, w.clock, w.org.resident, o, "谢谢"),
        StaleAction,
    ),
    ("cancel", _accepted, lambda w, o: cancel_order(w.uow, w.clock, w.org.resident, o), None),
    (
        "cancel-closed",
        _closed,
        lambda w, o: cancel_order(w.uow, w.clock, w.org.resident, o),
        StaleAction,
    ),
    (
        "cancel-not-mine",
        _offered,
        lambda w, o: cancel_order(w.uow, w.clock, w.org.neighbour, o),
        NotYourOrder,
    ),
    ("info", _pool, lambda w, o: add_information(w.uow, w.clock, w.org.resident, o, "补充"), None),
]


@pytest.mark.parametrize(
    ("setup", "call", "error"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_a_workflow_stages_all_or_nothing_and_leaves_the_commit_to_its_entry_point(
    setup: Setup, call: Call, error: type[DomainError] | None
) -> None:
    w = sample_world()
    order_id = await setup(w)
    await w.uow.commit()  # the setup's own entry points committed it
    before = copy.deepcopy(w.uow.store)

    if error is None:
        await call(w, order_id)
        assert w.uow.store != before
        timeline = await w.uow.orders.events(order_id)
        assert w.order(order_id).status == timeline[-1].to_status
    else:
        with pytest.raises(error):
            await call(w, order_id)
    await w.uow.rollback()  # all it staged is in the one unit of work: it goes as a whole
    assert w.uow.store == before


async def test_a_failed_order_leaves_no_trace() -> None:
    w = sample_world()
    before = copy.deepcopy(w.uow.store)

    with pytest.raises(InvalidInput):
        await w.place(w.org.repairs, description="x")

    assert w.uow.store == before  # validated before anything was written
