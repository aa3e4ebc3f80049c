"""Recurring visits 走访 to key households, follow-up visits after an order, and their logs.

Each key household's liaison gets one visit task per period of its cadence ("每月走访至少一次"):
the task opens when the previous period ends, is due at the end of its own, and is logged in
chat (visited / not at home / needs help). A task not logged by its due time plus a grace period
is reported to the dispatcher as missed and counted in the digest.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.dispatch import OrderContext, candidates, dispatchers
from workflows.errors import NoLongerInRole, NotAllowed, StaleAction
from workflows.model import (
    Action,
    KeyHousehold,
    Notice,
    Person,
    Role,
    Visit,
    VisitKind,
    VisitOutcome,
)
from workflows.ports import Clock, UnitOfWork
from workflows.timers import Due, Effect, Moot, TimerPolicy
from workflows.vocabulary import TimerKind, Verb


def next_opening(
    latest: Visit | None, key: KeyHousehold, now: datetime, policy: TimerPolicy
) -> datetime | None:
    """Return when the household's next visit task opens, if that is now or past; else None.

    The first opens at the start of today (local), so that every instance picks the same moment;
    each next one when the previous period ends, skipping periods the bot was off for.
    """
    if latest is None:
        return policy.local_day_start(now)
    if latest.due_at > now:
        return None
    every = timedelta(days=key.visit_every_days)
    opened = latest.due_at
    while opened + every <= now:
        opened += every
    return opened


async def visits_to_open(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find each key household whose visit period begins: its liaison gets a visit task."""
    now = clock.now()
    latest = await uow.visits.latest_of_each(VisitKind.KEY)
    due = []
    for key in await uow.visits.key_households():
        opened = next_opening(latest.get(key.household_id), key, now, policy)
        if opened is not None:
            effect = _open_visit(policy, key.household_id, opened)
            due.append(Due(TimerKind.VISIT_OPEN, key.household_id, opened, effect))
    return due


def _open_visit(policy: TimerPolicy, household_id: int, opened: datetime) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        key = await uow.visits.key_household(household_id)
        if key is None:
            raise Moot("no longer a key household")
        await open_key_visit(uow, policy, key, opened)

    return effect


async def open_key_visit(
    uow: UnitOfWork, policy: TimerPolicy, key: KeyHousehold, opened: datetime
) -> Visit:
    """Give a key household's liaison the visit task of the period opening at `opened`."""
    visit = await uow.visits.add(
        household_id=key.household_id,
        person_id=key.liaison_id,
        kind=VisitKind.KEY,
        opened_at=opened,
        due_at=opened + timedelta(days=key.visit_every_days),
    )
    await send_visit_card(uow, policy, visit, key.kind)
    return visit


async def open_followup_visit(
    uow: UnitOfWork, clock: Clock, policy: TimerPolicy, ctx: OrderContext
) -> Visit | None:
    """Give the household's grid worker an in-person follow-up visit of a closed order."""
    workers = await candidates(uow, ctx, Role.GRID_WORKER, set())
    person_id = workers[0].id if workers else ctx.order.assignee_id
    if person_id is None:
        return None
    visit = await uow.visits.add(
        household_id=ctx.place.household.id,
        person_id=person_id,
        kind=VisitKind.FOLLOWUP,
        opened_at=clock.now(),
        due_at=clock.now() + timedelta(days=policy.followup_visit_days),
        order_id=ctx.order.id,
    )
    await send_visit_card(uow, policy, visit, "followup", number=ctx.order.number)
    return visit


def visit_actions(visit_id: int) -> tuple[Action, ...]:
    """Return the buttons to log a visit."""
    return (
        Action.of(Verb.VISITED, visit_id),
        Action.of(Verb.NOT_HOME, visit_id),
        Action.of(Verb.NEEDS_HELP, visit_id),
    )


async def visit_params(
    uow: UnitOfWork, policy: TimerPolicy, visit: Visit, lang: str
) -> dict[str, object]:
    """Return what a visit card shows: the address, why, and the last day to visit."""
    place = await uow.places.household_place(visit.household_id)
    last_day = policy.local_date(visit.due_at - timedelta(seconds=1))
    return {
        "address": place.address(lang) if place else "—",
        "due": last_day.strftime("%m-%d"),
    }


async def send_visit_card(
    uow: UnitOfWork, policy: TimerPolicy, visit: Visit, why: str, *, number: str = ""
) -> None:
    """Send the visitor the visit task with the buttons to log it."""
    person = await uow.people.get(visit.person_id)
    if person is None:
        return
    params = await visit_params(uow, policy, visit, person.lang)
    params.update(household_kind=why, number=number)
    key = "visit.followup_task" if visit.kind == VisitKind.FOLLOWUP else "visit.task"
    await uow.outbox.add(Notice(person.id, key, params, visit_actions(visit.id)))


async def missed_visits(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find each visit not logged by its due time and the grace period: the dispatcher is told."""
    visits = await uow.visits.unlogged_due(clock.now() - policy.visit_grace)
    return [
        Due(TimerKind.VISIT_MISSED, visit.id, visit.due_at, _missed(clock, policy, visit.id))
        for visit in visits
    ]


def _missed(clock: Clock, policy: TimerPolicy, visit_id: int) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        visit = await uow.visits.get(visit_id)
        if visit is None or visit.logged_at is not None or visit.missed_at is not None:
            raise Moot("logged meanwhile")
        await uow.visits.mark_missed(visit.id, clock.now())
        place = await uow.places.household_place(visit.household_id)
        visitor = await uow.people.get(visit.person_id)
        if place is None:
            return
        for dispatcher in await dispatchers(uow, place):
            params = await visit_params(uow, policy, visit, dispatcher.lang)
            params["name"] = visitor.name if visitor else "—"
            await uow.outbox.add(Notice(dispatcher.id, "visit.missed", params))

    return effect


async def require_visitor(uow: UnitOfWork, person: Person, visit: Visit) -> None:
    """Refuse a visitor the organisation file no longer makes one: no role, not the liaison.

    A key household's liaison named in the file may log its visits without another role.
    """
    if person.is_staff:
        return
    if visit.kind == VisitKind.KEY:
        key = await uow.visits.key_household(visit.household_id)
        if key is not None and key.liaison_id == person.id:
            return
    raise NoLongerInRole(number="")


async def log_visit(
    uow: UnitOfWork, clock: Clock, person: Person, visit_id: int, outcome: VisitOutcome
) -> Visit:
    """Log how the visit went; only its visitor may, and only once."""
    visit = await uow.visits.get(visit_id)
    if visit is None or visit.person_id != person.id:
        raise NotAllowed()
    await require_visitor(uow, person, visit)
    logged = await uow.visits.log(visit_id, outcome, clock.now())
    if logged is None:
        raise StaleAction(number="")
    return logged


async def needing_help(uow: UnitOfWork, person: Person, visit_id: int) -> Visit:
    """Return the person's visit logged as needing help, or raise."""
    visit = await uow.visits.get(visit_id)
    if visit is None or visit.person_id != person.id:
        raise NotAllowed()
    await require_visitor(uow, person, visit)
    if visit.outcome != VisitOutcome.NEEDS_HELP:
        raise StaleAction(number="")
    return visit
