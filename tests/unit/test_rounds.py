"""Rounds of visits on fakes: the roster's scope, the month's count, key requests decided once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fakes import OrgBuilder, World, sample_world
from workflows.errors import NotAllowed, StaleAction
from workflows.model import KeyHousehold, KeyRequestStatus, Person, Role, VisitKind
from workflows.rounds import (
    AlreadyKey,
    NoSupervisor,
    NotOnRoster,
    ask_key,
    decide_key,
    log_round_visit,
    month_round,
    order_from_visit,
    round_progress,
)
from workflows.timers import TimerPolicy

POLICY = TimerPolicy()


def supervisor(w: World) -> Person:
    """Add a reachable supervisor of the sample community."""
    made = OrgBuilder(w.uow).person("主管", (Role.SUPERVISOR, w.org.community))
    w.uow.settle()
    return made


async def test_the_round_counts_this_months_visits_of_every_household_in_scope() -> None:
    w = sample_world()
    org = w.org
    before = await month_round(w.uow, w.clock, POLICY, org.building_head)
    assert {e.household.id for e in before.entries} == {org.room101.id, org.room102.id}
    assert before.visited == set()

    await log_round_visit(w.uow, w.clock, org.building_head, org.room101.id, "家里都好")
    after = await month_round(w.uow, w.clock, POLICY, org.building_head)
    assert after.visited == {org.room101.id}
    assert [e.household.id for e in after.left] == [org.room102.id]
    by_grid_worker = await month_round(w.uow, w.clock, POLICY, org.grid_worker)
    assert org.room101.id in by_grid_worker.visited  # shared by everyone in scope

    progress = await round_progress(w.uow, POLICY, [org.community.id], w.clock.now())
    assert progress == [{"name": org.building_head.name, "done": 1, "total": 2}]

    w.clock.advance(days=40)  # a new month: the round starts again
    assert (await month_round(w.uow, w.clock, POLICY, org.building_head)).visited == set()


async def test_nobody_outside_the_scope_logs_a_visit_or_has_a_roster() -> None:
    w = sample_world()
    org = w.org
    with pytest.raises(NotOnRoster):
        await log_round_visit(w.uow, w.clock, org.other_grid_worker, org.room101.id, "看看")
    with pytest.raises(NotOnRoster):
        await log_round_visit(w.uow, w.clock, org.building_head, org.other_household.id, "看看")
    with pytest.raises(NotAllowed):
        await month_round(w.uow, w.clock, POLICY, org.resident)
    assert w.uow.store.visits == {}


async def test_a_visit_logs_the_open_task_and_its_problem_becomes_the_households_order() -> None:
    w = sample_world()
    org = w.org
    task = await w.uow.visits.add(
        household_id=org.room102.id,
        person_id=org.grid_worker.id,
        kind=VisitKind.KEY,
        opened_at=w.clock.now(),
        due_at=w.clock.now() + timedelta(days=30),
    )
    logged = await log_round_visit(
        w.uow, w.clock, org.grid_worker, org.room102.id, "楼道扶手松了", "photo-9"
    )
    assert logged.id == task.id and (logged.note, logged.photo) == ("楼道扶手松了", "photo-9")
    order = await order_from_visit(w.uow, w.clock, org.grid_worker, task.id, org.grid_matters.id)
    assert (order.household_id, order.description) == (org.room102.id, "楼道扶手松了")
    assert order.photos == ("photo-9",)
    with pytest.raises(NotAllowed):  # another person's visit
        await order_from_visit(w.uow, w.clock, org.building_head, task.id, org.grid_matters.id)


async def test_a_key_request_is_decided_once_by_a_supervisor_in_scope() -> None:
    w = sample_world()
    org = w.org
    with pytest.raises(NoSupervisor):
        await ask_key(w.uow, w.clock, org.building_head, org.room101.id, "独居老人", 14)
    boss = supervisor(w)
    await w.uow.visits.mark_key(KeyHousehold(org.room102.id, "elderly_alone", org.unit_head.id, 30))
    with pytest.raises(AlreadyKey):
        await ask_key(w.uow, w.clock, org.building_head, org.room102.id, "独居老人", 14)
    with pytest.raises(StaleAction):  # a cadence no button offers
        await ask_key(w.uow, w.clock, org.building_head, org.room101.id, "独居老人", 3)
    request = await ask_key(w.uow, w.clock, org.building_head, org.room101.id, "独居老人", 14)
    assert [n.key for n in w.uow.store.notices if n.person_id == boss.id] == ["round.key_request"]
    assert await w.uow.visits.key_household(org.room101.id) is None

    with pytest.raises(NotAllowed):  # not a supervisor of the household
        await decide_key(w.uow, w.clock, POLICY, org.dispatcher, request.id, approve=True)
    refused = await decide_key(w.uow, w.clock, POLICY, boss, request.id, approve=False)
    assert refused.status == KeyRequestStatus.REFUSED
    with pytest.raises(StaleAction):
        await decide_key(w.uow, w.clock, POLICY, boss, request.id, approve=True)
    assert await w.uow.visits.key_household(org.room101.id) is None
    told = [n.key for n in w.uow.store.notices if n.person_id == org.building_head.id]
    assert told == ["round.key_refused"]
