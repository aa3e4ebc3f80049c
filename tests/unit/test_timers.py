"""The timers on the fakes: reminders, missed deadlines, auto-close, follow-ups, visits, digests."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

import pytest

from bot.sweeps import fire_once, run_due
from tests.fakes import OrgBuilder, World, sample_world
from workflows.digests import NotSupervisor, send_stats
from workflows.errors import StaleAction
from workflows.model import (
    KeyHousehold,
    OrderStatus,
    Person,
    Role,
    VisitKind,
    VisitOutcome,
)
from workflows.orders import answer_followup, confirm_fixed, rate_order, reopen_after_followup
from workflows.timers import QuietHours, TimerPolicy
from workflows.visits import log_visit
from workflows.vocabulary import TimerKind

POLICY = TimerPolicy()


async def sweep(w: World) -> int:
    """Run every due timer once at the fake clock's time.

    What the test did before is committed first, as the entry points that did it would have.
    """
    await w.uow.commit()
    return await run_due(lambda: w.uow, w.clock, POLICY)


def keys(w: World, person: Person) -> list[str]:
    return w.uow.keys_for(person.id)


async def test_the_reminder_comes_at_80_percent_of_the_time_to_accept_and_once() -> None:
    w = sample_world()
    order = await w.place(w.org.repairs)  # 30 minutes to accept
    assert order.assignee_id == w.org.unit_head.id
    w.clock.advance(minutes=23)
    await sweep(w)
    assert "task.remind_accept" not in keys(w, w.org.unit_head)

    w.clock.advance(minutes=2)
    await sweep(w)
    await sweep(w)
    reminders = [n for n in w.uow.notices_for(w.org.unit_head.id) if n.key == "task.remind_accept"]
    assert len(reminders) == 1
    assert reminders[0].params["minutes"] == 5
    assert [a.verb for a in reminders[0].actions] == ["acc", "dec"]


async def test_a_lapsed_offer_goes_on_and_its_holder_is_not_asked_again() -> None:
    w = sample_world()
    order = await w.place(w.org.grid_matters)  # to a grid worker; there are two in the grid
    first = order.assignee_id
    assert first in (w.org.grid_worker.id, w.org.grid_worker2.id)
    w.clock.advance(minutes=31)
    assert await sweep(w) == 1

    moved = w.order(order.id)
    second = moved.assignee_id
    assert moved.status == OrderStatus.OFFERED and second not in (None, first)
    lapse = [e for e in await w.uow.orders.events(order.id) if e.action == "breach_accept"]
    assert [(e.actor_id, e.target_id) for e in lapse] == [(None, first)]
    assert first is not None and "task.offer_lapsed" in w.uow.keys_for(first)

    w.clock.advance(minutes=31)  # the second lets it lapse too: nobody is left, so the queue
    await sweep(w)
    assert w.order(order.id).status == OrderStatus.QUEUED
    queued = w.uow.notices_for(w.org.dispatcher.id)[-1]
    assert queued.key == "queue.new" and queued.params["reason"] == "no_answer"
    assert await sweep(w) == 0


async def test_an_offer_accepted_in_time_does_not_lapse() -> None:
    w = sample_world()
    order = await w.accepted(w.org.repairs)
    w.clock.advance(minutes=45)
    await sweep(w)
    assert w.order(order.id).status == OrderStatus.ACCEPTED
    assert w.uow.ledger.fired("breach_accept") == []


async def test_a_missed_resolution_goes_one_level_up_and_the_dispatcher_is_told() -> None:
    w = sample_world()
    order = await w.accepted(w.org.repairs)  # the unit head has 24 hours
    w.clock.advance(hours=20)
    await sweep(w)
    assert keys(w, w.org.unit_head)[-1] == "task.remind_resolve"

    w.clock.advance(hours=5)
    await sweep(w)
    moved = w.order(order.id)
    assert moved.status == OrderStatus.OFFERED
    assert moved.assignee_id == w.org.building_head.id and moved.level == Role.BUILDING_HEAD
    breach = [e for e in await w.uow.orders.events(order.id) if e.action == "breach_resolve"]
    assert [(e.actor_id, e.target_id) for e in breach] == [(None, w.org.unit_head.id)]
    assert keys(w, w.org.unit_head)[-1] == "task.overdue_escalated"
    told = w.uow.notices_for(w.org.dispatcher.id)[-1]
    assert told.key == "queue.overdue" and told.params["name"] == w.org.building_head.name
    assert "order.escalated" in keys(w, w.org.resident)
    assert keys(w, w.org.building_head)[-1] == "task.offered"


async def test_no_answer_within_72_hours_closes_the_order_and_tells_the_resident() -> None:
    w = sample_world()
    order = await w.resolved(w.org.repairs)
    w.clock.advance(hours=71)
    await sweep(w)
    assert w.order(order.id).status == OrderStatus.RESOLVED

    w.clock.advance(hours=2)
    await sweep(w)
    closed = w.order(order.id)
    assert closed.status == OrderStatus.CLOSED and closed.closed_at == w.clock.now()
    told = w.uow.notices_for(w.org.resident.id)[-1]
    assert told.key == "order.auto_closed" and told.deferrable and told.params["hours"] == 72
    assert keys(w, w.org.unit_head)[-1] == "task.auto_closed"
    last = (await w.uow.orders.events(order.id))[-1]
    assert (last.action, last.actor_id, last.to_status) == ("autoclose", None, OrderStatus.CLOSED)


async def test_a_confirmed_order_is_not_closed_again() -> None:
    w = sample_world()
    order = await w.resolved(w.org.repairs)
    await confirm_fixed(w.uow, w.clock, w.org.resident, order.id)
    w.clock.advance(hours=80)
    await sweep(w)
    assert [e.action for e in await w.uow.orders.events(order.id)].count("autoclose") == 0


async def test_the_follow_up_asks_after_the_category_days_and_no_reopens_to_the_worker() -> None:
    w = sample_world()
    order = await w.resolved(w.org.repairs)
    await confirm_fixed(w.uow, w.clock, w.org.resident, order.id)
    await rate_order(w.uow, w.clock, w.org.resident, order.id, 5)
    w.clock.advance(days=6, hours=23)
    await sweep(w)
    assert "order.followup" not in keys(w, w.org.resident)

    w.clock.advance(hours=2)
    await sweep(w)
    asked = w.uow.notices_for(w.org.resident.id)[-1]
    assert asked.key == "order.followup" and asked.deferrable and asked.params["days"] == 7
    assert [a.verb for a in asked.actions] == ["fuy", "fun", "fuu"]

    reopened = await reopen_after_followup(
        w.uow, w.clock, w.org.resident, order.id, "水龙头又开始滴水了"
    )
    assert reopened.status == OrderStatus.ACCEPTED
    assert reopened.assignee_id == w.org.unit_head.id
    assert reopened.rating is None and reopened.closed_at is None
    assert reopened.resolve_due == w.clock.now() + timedelta(hours=24)
    card = w.uow.notices_for(w.org.unit_head.id)[-1]
    assert card.key == "task.reopened" and card.params["reason"] == "水龙头又开始滴水了"
    with pytest.raises(StaleAction):
        await answer_followup(w.uow, w.clock, w.org.resident, order.id, fixed=True)


async def test_a_follow_up_answered_yes_stays_closed_and_is_not_asked_twice() -> None:
    w = sample_world()
    order = await w.resolved(w.org.repairs)
    await confirm_fixed(w.uow, w.clock, w.org.resident, order.id)
    w.clock.advance(days=8)
    await sweep(w)
    await answer_followup(w.uow, w.clock, w.org.resident, order.id, fixed=True)
    assert w.order(order.id).status == OrderStatus.CLOSED
    with pytest.raises(StaleAction):
        await answer_followup(w.uow, w.clock, w.org.resident, order.id, fixed=False)
    w.clock.advance(days=8)
    await sweep(w)
    assert keys(w, w.org.resident).count("order.followup") == 1


async def test_a_follow_up_visit_category_gives_the_grid_worker_a_visit_task() -> None:
    w = sample_world()
    category = dataclasses.replace(w.org.repairs, followup_visit=True, followup_days=3)
    w.uow.store.categories[category.id] = category
    order = await w.resolved(category)
    await confirm_fixed(w.uow, w.clock, w.org.resident, order.id)
    w.clock.advance(days=3, minutes=1)
    await sweep(w)
    visits = list(w.uow.store.visits.values())
    assert [(v.kind, v.person_id, v.order_id) for v in visits] == [
        (VisitKind.FOLLOWUP, w.org.grid_worker.id, order.id)
    ]
    card = w.uow.notices_for(w.org.grid_worker.id)[-1]
    assert card.key == "visit.followup_task" and [a.verb for a in card.actions] == [
        "vv",
        "vn",
        "vh",
    ]


async def test_key_households_get_visits_on_their_cadence_and_a_missed_one_is_reported() -> None:
    w = sample_world()
    liaison = w.org.volunteer1
    household = w.org.room102
    w.uow.store.key_households[household.id] = KeyHousehold(
        household.id, "elderly_alone", liaison.id, 14
    )
    w.uow.settle()
    await sweep(w)
    (first,) = w.uow.store.visits.values()
    today = POLICY.local_day_start(w.clock.now())
    assert (first.person_id, first.opened_at, first.due_at) == (
        liaison.id,
        today,
        today + timedelta(days=14),
    )
    card = w.uow.notices_for(liaison.id)[-1]
    assert card.key == "visit.task" and card.params["household_kind"] == "elderly_alone"
    await sweep(w)
    assert len(w.uow.store.visits) == 1  # no second task for the same period

    w.clock.advance(days=14)  # the period is over: the next task opens; the first is not late yet
    await sweep(w)
    assert len(w.uow.store.visits) == 2
    assert "visit.missed" not in keys(w, w.org.dispatcher)

    w.clock.advance(hours=25)  # past the grace period: missed
    await sweep(w)
    assert w.uow.store.visits[first.id].missed_at == w.clock.now()
    missed = w.uow.notices_for(w.org.dispatcher.id)[-1]
    assert missed.key == "visit.missed" and missed.params["name"] == liaison.name
    await sweep(w)
    assert keys(w, w.org.dispatcher).count("visit.missed") == 1

    second = max(w.uow.store.visits.values(), key=lambda v: v.id)
    logged = await log_visit(w.uow, w.clock, liaison, second.id, VisitOutcome.VISITED)
    assert logged.outcome == VisitOutcome.VISITED
    with pytest.raises(StaleAction):
        await log_visit(w.uow, w.clock, liaison, second.id, VisitOutcome.NOT_HOME)


def supervisor(w: World, digest_time: str | None = None) -> Person:
    """Add a supervisor of the sample community, in the chat."""
    person = OrgBuilder(w.uow).person("陈书记", (Role.SUPERVISOR, w.org.community))
    person = dataclasses.replace(person, telegram_id=99_001, digest_time=digest_time)
    w.uow.store.people[person.id] = person
    w.uow.settle()
    return person


async def test_the_daily_digest_counts_yesterday_and_goes_once_at_the_supervisors_time() -> None:
    w = sample_world()  # Monday 09:00 in Shanghai
    boss = supervisor(w, "08:30")
    w.clock.at = datetime(2024, 5, 6, 16, 0, tzinfo=UTC)  # Monday 00:00 local
    await sweep(w)
    assert keys(w, boss) == []  # Monday's 08:30 is still to come; Sunday's is long past

    w.clock.advance(hours=1)  # 01:00: an order accepted, then resolved and rated
    done = await w.resolved(w.org.repairs)
    await confirm_fixed(w.uow, w.clock, w.org.resident, done.id)
    await rate_order(w.uow, w.clock, w.org.resident, done.id, 4)
    late = await w.accepted(w.org.grid_matters)  # 24 hours to resolve: overdue tomorrow
    w.clock.at = datetime(2024, 5, 8, 0, 29, tzinfo=UTC)  # Wednesday 08:29 local
    await sweep(w)
    assert "digest.report" not in keys(w, boss)

    w.clock.advance(minutes=1)
    await sweep(w)
    await sweep(w)
    assert keys(w, boss).count("digest.report") == 1
    report, chart = [n for n in w.uow.notices_for(boss.id) if n.key.startswith("digest.")]
    figures = report.params
    assert figures["kind"] == "daily" and figures["period"] == "05-07"
    # Tuesday (local) saw two new orders, two accepted, one resolved; one is overdue now.
    assert (figures["new"], figures["accepted"], figures["resolved"]) == (2, 2, 1)
    assert figures["overdue"] == 1 and figures["overdue_list"][0]["number"] == late.number
    assert (figures["rating_avg"], figures["rating_count"]) == (4.0, 1)
    assert figures["accept_minutes"] == 0.0 and figures["resolve_minutes"] == 0.0
    assert {c["name"]: (c["new"], c["resolved"]) for c in figures["categories"]} == {
        "类别repairs": (1, 1),
        "类别grid": (1, 0),
    }
    assert figures["grids"] == [{"name": "第一网格", "new": 2, "resolved": 1, "overdue": 1}]
    assert chart.key == "digest.chart" and len(chart.params["days"]) == 14
    assert chart.params["days"][-1] == "05-07" and chart.params["new"][-1] == 2
    assert chart.params["resolved"][-1] == 1 and sum(chart.params["new"]) == 2


async def test_the_weekly_summary_comes_on_monday_with_the_daily_digest() -> None:
    w = sample_world()
    boss = supervisor(w)
    w.clock.at = datetime(2024, 5, 6, 0, 5, tzinfo=UTC)  # Monday 08:05 local
    await sweep(w)
    kinds = [n.params["kind"] for n in w.uow.notices_for(boss.id) if n.key == "digest.report"]
    assert kinds == ["daily", "weekly"]
    weekly = [n for n in w.uow.notices_for(boss.id) if n.key == "digest.report"][1]
    assert weekly.params["period"] == "04-29 – 05-05"


async def test_a_digest_missed_by_hours_is_not_sent_late() -> None:
    w = sample_world()
    boss = supervisor(w)
    w.clock.at = datetime(2024, 5, 7, 7, 0, tzinfo=UTC)  # Tuesday 15:00 local
    await sweep(w)
    assert keys(w, boss) == []


async def test_stats_are_for_supervisors_only() -> None:
    w = sample_world()
    boss = supervisor(w)
    await w.place(w.org.repairs)
    await send_stats(w.uow, w.clock, POLICY, boss)
    report = w.uow.notices_for(boss.id)[0]
    assert report.params["kind"] == "stats" and report.params["new"] == 1
    with pytest.raises(NotSupervisor):
        await send_stats(w.uow, w.clock, POLICY, w.org.dispatcher)


def test_quiet_hours_hold_until_eight_local_and_let_the_day_through() -> None:
    quiet = QuietHours()
    shanghai = POLICY.zone
    at = datetime(2024, 5, 6, 23, 0, tzinfo=shanghai)
    assert quiet.until(at) == datetime(2024, 5, 7, 8, 0, tzinfo=shanghai)
    assert quiet.until(datetime(2024, 5, 7, 6, 30, tzinfo=shanghai)) == datetime(
        2024, 5, 7, 8, 0, tzinfo=shanghai
    )
    assert quiet.until(datetime(2024, 5, 7, 8, 0, tzinfo=shanghai)) is None
    assert quiet.until(datetime(2024, 5, 7, 21, 59, tzinfo=shanghai)) is None
    lunch = QuietHours(time(12, 0), time(14, 0), shanghai)
    assert lunch.until(datetime(2024, 5, 7, 13, 0, tzinfo=shanghai)) == datetime(
        2024, 5, 7, 14, 0, tzinfo=shanghai
    )
    assert QuietHours.parse("", shanghai) is None


async def test_a_failing_timer_is_recorded_once_and_not_retried() -> None:
    w = sample_world()
    calls = 0

    async def broken(uow: object) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    due = w.clock.now()
    assert not await fire_once(lambda: w.uow, w.clock, TimerKind.DIGEST, 1, due, broken)
    assert not await fire_once(lambda: w.uow, w.clock, TimerKind.DIGEST, 1, due, broken)
    assert calls == 1
    assert w.uow.ledger.fired(TimerKind.DIGEST) == [(TimerKind.DIGEST, 1, due, "failed")]
