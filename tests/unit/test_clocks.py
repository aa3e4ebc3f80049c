"""A clock on every stage (issue 15): the table covers every status; the digest's figures."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.sweeps import run_due
from tests.fakes import World, sample_world
from workflows.clocks import CLOCKS, INFO_CLOCK, clock_finders
from workflows.digests import Scope, figures
from workflows.dispatch import accept_task
from workflows.model import ACTIVE_STATUSES, OrderChanges, OrderStatus, Role, RoleAssignment
from workflows.moves import ask_extension, decide_extension
from workflows.orders import confirm_fixed, rate_order
from workflows.sweeps import FINDERS
from workflows.timers import TimerPolicy
from workflows.vocabulary import Verb
from workflows.work import on_my_way, resolve_task

POLICY = TimerPolicy()


def test_every_status_has_an_entry_and_every_open_one_a_clock() -> None:
    """Nothing waits unwatched: a new status without a row here fails this test."""
    assert set(CLOCKS) == set(OrderStatus), "add the new status to workflows/clocks.py CLOCKS"
    for status in ACTIVE_STATUSES:
        clock = CLOCKS[status]
        assert clock is not None, f"{status} is open but has no clock"
        assert clock.breach in FINDERS, f"the sweep does not run {status}'s breach"
        if clock.remind is not None:
            assert clock.remind in FINDERS
    assert set(clock_finders()) <= set(FINDERS)
    # infoask (issue 15): the question to the resident is watched too, though not a status.
    assert {INFO_CLOCK.breach, INFO_CLOCK.remind} <= set(clock_finders())


async def sweep(w: World) -> int:
    await w.uow.commit()
    return await run_due(lambda: w.uow, w.clock, POLICY)


async def test_the_digest_figures_match_a_hand_built_history_of_every_stage() -> None:
    """Monday 09:00–11:40 in Shanghai, order by order, then the figures are checked by hand."""
    w = sample_world()
    org = w.org
    supervisor = dataclasses.replace(
        org.cadre, roles=(RoleAssignment(Role.SUPERVISOR, org.community.id),)
    )
    w.uow.store.people[supervisor.id] = supervisor
    since = w.clock.now()
    resident, neighbour = org.resident, org.neighbour

    # 1 rated 5: accepted at 10 minutes (first response), resolved, confirmed.
    rated_well = await w.place(org.repairs, resident)
    w.clock.advance(minutes=10)
    await accept_task(w.uow, w.clock, org.unit_head, rated_well.id)
    await resolve_task(w.uow, w.clock, org.unit_head, rated_well.id, "换了阀门")
    await confirm_fixed(w.uow, w.clock, w.person(resident.id), rated_well.id)
    await rate_order(w.uow, w.clock, w.person(resident.id), rated_well.id, 5)
    # 2 rated 2: accepted at 30 minutes after placing (placed at 10), resolved, confirmed.
    rated_badly = await w.place(org.grid_matters, neighbour)
    w.clock.advance(minutes=30)
    await accept_task(w.uow, w.clock, org.grid_worker, rated_badly.id)
    await resolve_task(w.uow, w.clock, org.grid_worker, rated_badly.id, "处理了")
    await confirm_fixed(w.uow, w.clock, w.person(neighbour.id), rated_badly.id)
    await rate_order(w.uow, w.clock, w.person(neighbour.id), rated_badly.id, 2)
    # 3 offered at 40 minutes and never answered: the offer lapses at 70 (a late response),
    # it goes to the queue and is left there past its 60 minutes (at 131: overdue, queued).
    lapsed = await w.place(org.repairs, resident)
    # 4 a wish in the pool: waiting, on time.
    wish = await w.place(org.wishes, neighbour)
    w.clock.advance(minutes=31)
    await sweep(w)
    assert w.order(lapsed.id).status == OrderStatus.QUEUED
    w.clock.advance(minutes=61)  # 09:00 + 132 minutes: the queue breached
    await sweep(w)
    assert "clock.queue_breach" in w.uow.keys_for(supervisor.id)
    # 5 on the way, on time; 6 resolved, awaiting the resident; 7 accepted but past its
    # deadline (written by hand: the sweep that would climb it is not run before the digest).
    on_way = await w.accepted(org.grid_matters, resident)
    await on_my_way(w.uow, w.clock, org.grid_worker, on_way.id)
    waiting_confirmation = await w.resolved(org.repairs, neighbour)
    late = await w.accepted(org.repairs, neighbour)
    w.clock.advance(minutes=28)  # 11:40
    now = w.clock.now()
    await w.uow.orders.update(late.id, OrderChanges(resolve_due=now - timedelta(minutes=5)))
    # 8 queued at 11:40 and on time.
    fresh = await w.place(org.other, resident)

    scope = Scope("和平社区", (org.community.id,))
    got = await figures(w.uow, POLICY, supervisor, scope, since, now + timedelta(seconds=1), now)

    assert got["new"] == 8
    stages = {line["stage"]: (line["waiting"], line["overdue"]) for line in got["stages"]}
    assert stages == {
        "queued": (2, 1),  # the lapsed one (late), the fresh one
        "pool": (1, 0),
        "accepted": (1, 1),  # the late one
        "on_way": (1, 0),
        "resolved": (1, 0),
    }
    assert got["overdue"] == 2  # 超时未办 counts every stage: the queue and the work
    assert got["oldest"] == {"stage": "queued", "minutes": 160 - 40}
    # Responses: 1, 2, 5, 6, 7 taken on time; 3 lapsed first → 5 of 6.
    assert got["rates"]["response"] == round(100 * 5 / 6, 1)
    # Resolved: 1, 2, 6; late to resolve: 7 → 3 of 4.
    assert got["rates"]["resolution"] == 75.0
    # Ratings 5 and 2: one of two satisfied.
    assert got["rates"]["satisfaction"] == 50.0
    # First responses (minutes after placing): 10, 30, 0, 0, 0 → the median is 0.
    assert got["first_response_minutes"] == 0.0
    groups = {(g["kind"], g["name"]): g for g in got["rate_groups"]}
    repairs = groups[("category", org.repairs.names.zh)]
    assert (repairs["response"], repairs["resolution"], repairs["satisfaction"]) == (
        75.0,  # 1, 6, 7 on time; 3 lapsed
        round(100 * 2 / 3, 1),  # 1, 6 resolved; 7 late
        100.0,
    )
    grid = groups[("grid", org.grid.names.zh)]
    assert grid["response"] == round(100 * 5 / 6, 1)
    assert wish.id and fresh.id and waiting_confirmation.id  # placed, counted above


async def test_an_undecided_extension_goes_to_the_supervisors_once() -> None:
    """延期 asked at 09:00: nobody decides by 13:00, so the supervisors get it with both buttons."""
    w = sample_world()
    org = w.org
    supervisor = dataclasses.replace(
        org.cadre, roles=(RoleAssignment(Role.SUPERVISOR, org.community.id),)
    )
    w.uow.store.people[supervisor.id] = supervisor
    asked = await w.place(org.repairs, org.resident)
    await accept_task(w.uow, w.clock, org.unit_head, asked.id)
    order = await w.uow.orders.get(asked.id)
    assert order is not None and order.resolve_due is not None
    await ask_extension(
        w.uow, w.clock, org.unit_head, asked.id, order.resolve_due + timedelta(days=3), "等配件"
    )
    w.clock.advance(hours=3, minutes=59)
    await sweep(w)
    assert "clock.extension_breach" not in w.uow.keys_for(supervisor.id)
    w.clock.advance(minutes=2)
    await sweep(w)
    assert w.uow.keys_for(supervisor.id).count("clock.extension_breach") == 1
    late = [n for n in w.uow.store.notices if n.key == "clock.extension_breach"][-1]
    assert [a.verb for a in late.actions] == [Verb.EXTEND_OK, Verb.EXTEND_NO]
    assert late.params["hours"] == 4
    w.clock.advance(hours=5)
    await sweep(w)  # fired once: not again
    assert w.uow.keys_for(supervisor.id).count("clock.extension_breach") == 1

    # A second request, decided in time: nobody is asked again.
    other = await w.place(org.repairs, org.neighbour)
    await accept_task(w.uow, w.clock, org.unit_head, other.id)
    placed = await w.uow.orders.get(other.id)
    assert placed is not None and placed.resolve_due is not None
    await ask_extension(
        w.uow, w.clock, org.unit_head, other.id, placed.resolve_due + timedelta(days=1), "下雨"
    )
    await decide_extension(w.uow, w.clock, supervisor, other.id, approve=True)
    w.clock.advance(hours=5)
    await sweep(w)
    assert w.uow.keys_for(supervisor.id).count("clock.extension_breach") == 1
