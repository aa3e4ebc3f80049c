"""The order state machine: one table of moves, terminal ends, conditional writes."""

from __future__ import annotations

import pytest

from tests.fakes import sample_world
from workflows.errors import OrderAlreadyTaken, StaleAction
from workflows.model import OPEN_STATUSES, WORKING_STATUSES
from workflows.model import OrderStatus as S
from workflows.states import ALLOWED, MOVES, can, move, target
from workflows.vocabulary import Move


def test_cancelled_is_terminal_and_closed_reopens_only_on_follow_up() -> None:
    assert ALLOWED[S.CANCELLED] == frozenset()
    assert [a for a in MOVES if can(a, S.CANCELLED)] == []
    # A closed order takes its rating, its comment and the follow-up, and stays closed…
    assert [a for a in MOVES if can(a, S.CLOSED)] == [
        "rate",
        "comment",
        "followup",
        "followup_ok",
        "followup_unsure",
        "followup_reopen",
        "follower_ok",  # moves (issue 15): a neighbour following it answers too
        "follower_bad",
    ]
    assert target(Move.RATE, S.CLOSED) == S.CLOSED
    # …unless the resident says at the follow-up that it is broken again.
    assert ALLOWED[S.CLOSED] == {S.ACCEPTED}
    assert target(Move.FOLLOWUP_REOPEN, S.CLOSED) == S.ACCEPTED


def test_the_loop_runs_through_the_table() -> None:
    # (closed: merged into an earlier order — moves, issue 15; accepted: claimed in the grid
    # crew's staff group — notices, issue 17)
    assert ALLOWED[S.QUEUED] == {S.QUEUED, S.OFFERED, S.POOL, S.ACCEPTED, S.CANCELLED, S.CLOSED}
    assert ALLOWED[S.POOL] == {S.QUEUED, S.OFFERED, S.ACCEPTED, S.CANCELLED, S.CLOSED}
    assert ALLOWED[S.OFFERED] == {S.QUEUED, S.OFFERED, S.ACCEPTED, S.CANCELLED, S.CLOSED}
    # paused waits on a third party; it resumes, or goes back to dispatch, or is cancelled
    assert ALLOWED[S.PAUSED] == {S.ACCEPTED, S.QUEUED, S.OFFERED, S.CANCELLED, S.CLOSED}
    assert S.RESOLVED in ALLOWED[S.ACCEPTED] and S.RESOLVED in ALLOWED[S.ON_WAY]
    # confirm (or no answer in time), or reopen to the worker
    assert ALLOWED[S.RESOLVED] == {S.CLOSED, S.ACCEPTED}


def test_every_status_is_reachable_from_queued() -> None:
    seen, frontier = {S.QUEUED}, [S.QUEUED]
    while frontier:
        for nxt in ALLOWED[frontier.pop()] - seen:
            seen.add(nxt)
            frontier.append(nxt)
    assert seen == set(S)


def test_only_open_orders_can_be_cancelled_and_only_working_ones_resolved() -> None:
    assert {s for s in S if can(Move.CANCEL, s)} == OPEN_STATUSES
    assert {s for s in S if can(Move.RESOLVE, s)} == WORKING_STATUSES
    assert {s for s in S if can(Move.ADD_INFO, s)} == OPEN_STATUSES


@pytest.mark.parametrize("action", sorted(MOVES))
def test_each_move_leads_where_the_table_allows(action: Move) -> None:
    starts, to = MOVES[action]
    for status in starts:
        assert target(action, status) == (to if to is not None else status)
        if to is not None and to != status:
            assert to in ALLOWED[status]


async def test_a_move_the_table_forbids_is_stale_and_writes_nothing() -> None:
    w = sample_world()
    order = await w.place(w.org.repairs)
    events = len(await w.uow.orders.events(order.id))

    with pytest.raises(StaleAction):
        await move(w.uow, w.clock, order, Move.CONFIRM, actor_id=w.org.resident.id)
    with pytest.raises(StaleAction):  # an explicit target outside the table
        await move(w.uow, w.clock, order, Move.ACCEPT, actor_id=None, to=S.RESOLVED)

    assert w.order(order.id) == order
    assert len(await w.uow.orders.events(order.id)) == events


async def test_a_move_on_a_stale_read_loses_and_says_so() -> None:
    w = sample_world()
    stale = await w.place(w.org.repairs)
    await move(w.uow, w.clock, stale, Move.ACCEPT, actor_id=w.org.unit_head.id)

    with pytest.raises(StaleAction):
        await move(w.uow, w.clock, stale, Move.ACCEPT, actor_id=w.org.unit_head.id)
    with pytest.raises(OrderAlreadyTaken):
        await move(
            w.uow, w.clock, stale, Move.DECLINE, actor_id=None, taken_error=OrderAlreadyTaken
        )
    assert w.order(stale.id).status == S.ACCEPTED
