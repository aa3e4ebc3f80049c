"""Supervisors' digests and /stats (成效评议): figures of their street or community, and a chart.

A daily digest at each supervisor's local digest time covers the previous local day; on Monday a
weekly one covers the previous seven days; /stats covers today so far. Each comes as two notices:
the report (counts, medians, satisfaction, by category and grid, the overdue list, missed visits,
breaches) and the chart of the last 14 days, new against resolved, drawn when it is delivered.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from workflows.backlog import (
    INTO_OPEN,
    OUT_OF_OPEN,
    backlog_line,
    first_response_minutes,
    rates,
    stage_lines,
    stages,
)
from workflows.errors import DomainError
from workflows.model import (
    OPEN_STATUSES,
    Action,
    Category,
    HouseholdPlace,
    Notice,
    Order,
    OrderEvent,
    OrderStatus,
    Person,
    Place,
    PlaceKind,
    Role,
)
from workflows.ports import Clock, UnitOfWork
from workflows.rounds import round_progress
from workflows.teams import honour_list, services_between
from workflows.timers import Due, Effect, Moot, TimerPolicy, clock_time
from workflows.vocabulary import Move, TimerKind, Verb

CHART_DAYS = 14
LISTED = 10
COUNTED = (
    Move.ACCEPT,
    Move.CLAIM,
    Move.RESOLVE,
    Move.RATE,
    Move.BREACH_ACCEPT,
    Move.BREACH_RESOLVE,
    # clocks (issue 15)
    Move.BREACH_QUEUE,
    Move.BREACH_POOL,
)


class NotSupervisor(DomainError):
    """Figures are for supervisors of a street or community."""

    key = "stats.not_supervisor"


@dataclass(frozen=True)
class Scope:
    """The communities a supervisor oversees, and the name to show."""

    name: str
    community_ids: tuple[int, ...]


async def scope_of(uow: UnitOfWork, person: Person) -> Scope | None:
    """Return the street or community a supervisor's role covers, or None for others."""
    names: list[str] = []
    ids: list[int] = []
    for role in person.roles:
        if role.role != Role.SUPERVISOR:
            continue
        place = await uow.places.get(role.place_id)
        if place is None:
            continue
        names.append(place.names.pick(person.lang))
        if place.kind == PlaceKind.STREET:
            ids += [c.id for c in await uow.places.children(place.id, PlaceKind.COMMUNITY)]
        elif place.kind == PlaceKind.COMMUNITY:
            ids.append(place.id)
    if not names:
        return None
    return Scope(" / ".join(names), tuple(dict.fromkeys(ids)))


@dataclass
class _Lookup:
    """Orders, categories and places read once per report."""

    uow: UnitOfWork
    orders: dict[int, Order | None]
    categories: dict[int, Category | None]
    places: dict[int, HouseholdPlace | None]
    grids: dict[int, Place | None]  # by building: an order keeps its building, not always its room

    async def order(self, order_id: int) -> Order | None:
        if order_id not in self.orders:
            self.orders[order_id] = await self.uow.orders.get(order_id)
        return self.orders[order_id]

    async def category(self, category_id: int) -> Category | None:
        if category_id not in self.categories:
            self.categories[category_id] = await self.uow.categories.get(category_id)
        return self.categories[category_id]

    async def place(self, household_id: int) -> HouseholdPlace | None:
        if household_id not in self.places:
            self.places[household_id] = await self.uow.places.household_place(household_id)
        return self.places[household_id]

    async def grid(self, order: Order) -> Place | None:
        """Return the grid the order's building is in."""
        if order.building_id is None:
            return None
        if order.building_id not in self.grids:
            found = await self.uow.reports.building_grids([order.building_id])
            self.grids[order.building_id] = found.get(order.building_id)
        return self.grids[order.building_id]


def _median_minutes(spans: list[timedelta]) -> float | None:
    if not spans:
        return None
    return round(statistics.median(s.total_seconds() for s in spans) / 60, 1)


async def figures(
    uow: UnitOfWork,
    policy: TimerPolicy,
    person: Person,
    scope: Scope,
    since: datetime,
    until: datetime,
    now: datetime,
) -> dict[str, Any]:
    """Return the report's figures for the scope between `since` and `until`, names in the
    supervisor's language; what is overdue is as of `now`."""
    lang = person.lang
    look = _Lookup(uow, {}, {}, {}, {})
    ids = list(scope.community_ids)
    created = await uow.reports.created_between(ids, since, until)
    events = await uow.reports.events_between(ids, COUNTED, since, until)
    for order in created:
        look.orders[order.id] = order

    def first(actions: tuple[str, ...]) -> dict[int, OrderEvent]:
        found: dict[int, OrderEvent] = {}
        for e in events:
            if e.action in actions:
                found.setdefault(e.order_id, e)
        return found

    accepted = first((Move.ACCEPT, Move.CLAIM))
    resolved = first((Move.RESOLVE,))
    to_accept: list[timedelta] = []
    to_resolve: list[timedelta] = []
    for e in accepted.values():
        placed = await look.order(e.order_id)
        if placed is not None:
            to_accept.append(e.at - placed.created_at)
    for e in resolved.values():
        placed = await look.order(e.order_id)
        if placed is not None:
            to_resolve.append(e.at - placed.created_at)
    ratings = [int(e.note) for e in events if e.action == Move.RATE and e.note and e.note.isdigit()]

    overdue = sorted(await uow.reports.overdue(ids, now), key=lambda o: _late_since(o, now) or now)
    for late_order in overdue:
        look.orders[late_order.id] = late_order
    # Where every order counted here is, read at once rather than one building at a time.
    look.grids.update(
        await uow.reports.building_grids(
            {o.building_id for o in look.orders.values() if o is not None and o.building_id}
        )
    )

    by_category: dict[str, Counter[str]] = {}
    by_grid: dict[str, Counter[str]] = {}

    async def tally(order_id: int, what: str) -> None:
        order = await look.order(order_id)
        if order is None:
            return
        category = await look.category(order.category_id)
        grid = await look.grid(order)
        if category is not None:
            by_category.setdefault(category.names.pick(lang), Counter())[what] += 1
        if grid is not None:
            by_grid.setdefault(grid.names.pick(lang), Counter())[what] += 1

    for placed in created:
        await tally(placed.id, "new")
    for order_id in resolved:
        await tally(order_id, "resolved")
    for late_order in overdue:
        await tally(late_order.id, "overdue")

    overdue_list = []
    for order in overdue[:LISTED]:
        category = await look.category(order.category_id)
        holder = await uow.people.get(order.assignee_id) if order.assignee_id else None
        late = _late_since(order, now)
        overdue_list.append(
            {
                "number": order.number,
                "category": category.names.pick(lang) if category else "—",
                "who": holder.name if holder else "—",
                "late_minutes": round((now - late).total_seconds() / 60) if late else 0,
            }
        )

    breach_people: dict[int, Counter[str]] = {}
    breach_grids: Counter[str] = Counter()
    for e in events:
        if e.action not in (Move.BREACH_ACCEPT, Move.BREACH_RESOLVE):
            continue
        if e.target_id is not None:
            breach_people.setdefault(e.target_id, Counter())[e.action] += 1
        breached = await look.order(e.order_id)
        grid = await look.grid(breached) if breached else None
        if grid is not None:
            breach_grids[grid.names.pick(lang)] += 1
    breaches = []
    for person_id, counts in sorted(breach_people.items(), key=lambda kv: -sum(kv[1].values())):
        who = await uow.people.get(person_id)
        breaches.append(
            {
                "name": who.name if who else "—",
                "accept": counts[Move.BREACH_ACCEPT],
                "resolve": counts[Move.BREACH_RESOLVE],
            }
        )

    missed = []
    for visit in await uow.visits.missed_between(since, until):
        place = await look.place(visit.household_id)
        if place is None or place.community.id not in scope.community_ids:
            continue
        visitor = await uow.people.get(visit.person_id)
        missed.append(
            {
                "address": place.address(lang),
                "name": visitor.name if visitor else "—",
                "due": policy.local_date(visit.due_at - timedelta(seconds=1)).strftime("%m-%d"),
            }
        )

    # rounds (issue 17): each building head's round of visits this month.
    round_list = await round_progress(uow, policy, ids, now)

    # clocks (issue 15): the backlog per stage, the three rates, the time to first response.
    waiting = await uow.reports.backlog(ids, stages())
    stage_list, oldest = stage_lines(waiting, overdue, now)
    placed_at = {o.id: o.created_at for o in look.orders.values() if o is not None}
    for e in events:
        if e.action in (Move.ACCEPT, Move.CLAIM) and e.order_id not in placed_at:
            responded = await look.order(e.order_id)
            if responded is not None:
                placed_at[e.order_id] = responded.created_at

    communities: dict[int, Place | None] = {}

    async def groups(order_id: int) -> list[tuple[str, str]]:
        order = await look.order(order_id)
        if order is None:
            return []
        found = []
        category = await look.category(order.category_id)
        grid = await look.grid(order)
        if grid is not None:
            if grid.parent_id is not None and len(ids) > 1:
                if grid.parent_id not in communities:
                    communities[grid.parent_id] = await uow.places.get(grid.parent_id)
                community = communities[grid.parent_id]
                if community is not None:
                    found.append(("community", community.names.pick(lang)))
            found.append(("grid", grid.names.pick(lang)))
        if category is not None:
            found.append(("category", category.names.pick(lang)))
        return found

    whole_rates, group_rates = await rates(events, overdue, now, groups)
    order_of_kinds = {"community": 0, "grid": 1, "category": 2}

    asked = await uow.questions.counts(ids, since, until)  # behalf (issue 16): apart from orders
    return {
        "stages": stage_list,
        "oldest": oldest,
        "rates": whole_rates,
        "first_response_minutes": first_response_minutes(events, placed_at),
        "rate_groups": [
            {"kind": kind, "name": name, **figures}
            for (kind, name), figures in sorted(
                group_rates.items(), key=lambda kv: (order_of_kinds[kv[0][0]], kv[0][1])
            )
        ][: LISTED * 3],
        "scope": scope.name,
        "questions_asked": asked.asked,
        "questions_answered": asked.answered,
        "questions_late": asked.late,
        "new": len(created),
        "accepted": len(accepted),
        "resolved": len(resolved),
        "overdue": len(overdue),
        "accept_minutes": _median_minutes(to_accept),
        "resolve_minutes": _median_minutes(to_resolve),
        "rating_avg": round(sum(ratings) / len(ratings), 1) if ratings else None,
        "rating_count": len(ratings),
        "categories": [
            {"name": name, "new": c["new"], "resolved": c["resolved"]}
            for name, c in sorted(by_category.items(), key=lambda kv: -kv[1]["new"])
        ],
        "grids": [
            {"name": name, "new": c["new"], "resolved": c["resolved"], "overdue": c["overdue"]}
            for name, c in sorted(by_grid.items())
        ],
        "overdue_list": overdue_list,
        "overdue_more": max(0, len(overdue) - LISTED),
        "missed_visits": missed[:LISTED],
        "missed_count": len(missed),
        "rounds": round_list[: LISTED * 3],  # rounds (issue 17): the furthest behind first
        "breaches": breaches[:LISTED],
        "breach_grids": [{"name": n, "count": c} for n, c in breach_grids.most_common(LISTED)],
    }


def _late_since(order: Order, now: datetime) -> datetime | None:
    """Return the deadline an open order has missed, or None if it is on time.

    A missed resolution deadline stays missed while the order climbs the chain or waits in the
    queue; an offer not yet accepted in time is late too.
    """
    if order.status not in OPEN_STATUSES:
        return None
    if order.resolve_due is not None and order.resolve_due <= now:
        return order.resolve_due
    if order.status == OrderStatus.OFFERED and order.accept_due and order.accept_due <= now:
        return order.accept_due
    if order.status in (OrderStatus.QUEUED, OrderStatus.POOL) and order.wait_due:
        return order.wait_due if order.wait_due <= now else None
    return None


def supervise_actions(params: dict[str, Any]) -> tuple[Action, ...]:
    """Return the 督办 buttons of each overdue order the report lists: look it up (its number),
    催办, 改派 and 上报; four to a line, at most LISTED lines (workflows/supervision.py acts)."""
    actions: list[Action] = []
    for item in params.get("overdue_list", []):
        number = str(item["number"])
        order_id = int(number)
        actions += [
            Action.of(Verb.LOOKUP, order_id, arg="0", params={"number": number}),
            Action.of(Verb.CHASE, order_id),
            Action.of(Verb.REASSIGN, order_id),
            Action.of(Verb.SUPERVISE_ESCALATE, order_id),
        ]
    return tuple(actions)


async def chart(
    uow: UnitOfWork,
    policy: TimerPolicy,
    scope: Scope,
    last_day: date,
    now: datetime,
    open_now: int | None = None,
) -> dict[str, Any]:
    """Return new and resolved orders per local day for the 14 days ending with `last_day`,
    and (clocks, issue 15) the open orders at each day's end, walked back from `open_now`."""
    days = [last_day - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
    since = policy.at_local(days[0], time(0, 0))
    until = policy.at_local(last_day + timedelta(days=1), time(0, 0))
    ids = list(scope.community_ids)
    # One read of each from the first day to now: the bars take the days', the backlog line
    # what changed after each day's end.
    after = max(now, until) + timedelta(seconds=1)
    placed = await uow.reports.placed_moments(ids, since, after)
    changes = await uow.reports.events_between(ids, (*INTO_OPEN, *OUT_OF_OPEN), since, after)
    new = Counter(policy.local_date(moment) for moment in placed if moment < until)
    resolved_orders: dict[int, date] = {}
    for e in changes:
        if e.action == Move.RESOLVE and e.at < until:
            resolved_orders.setdefault(e.order_id, policy.local_date(e.at))
    resolved = Counter(resolved_orders.values())
    if open_now is None:
        waiting = await uow.reports.backlog(ids, [s for s in stages() if s in OPEN_STATUSES])
        open_now = sum(count for count, _ in waiting.values())
    return {
        "scope": scope.name,
        "days": [d.strftime("%m-%d") for d in days],
        "new": [new[d] for d in days],
        "resolved": [resolved[d] for d in days],
        "backlog": backlog_line(days, policy, open_now, placed, changes),
    }


async def queue_report(
    uow: UnitOfWork,
    policy: TimerPolicy,
    person: Person,
    scope: Scope,
    kind: str,
    since: datetime,
    until: datetime,
    now: datetime,
    chart_until: date,
) -> None:
    """Queue the report and its chart for a supervisor."""
    params = await figures(uow, policy, person, scope, since, until, now)
    first_day = policy.local_date(since)
    last_day = policy.local_date(until - timedelta(seconds=1))
    params["kind"] = kind
    params["period"] = (
        first_day.strftime("%m-%d")
        if first_day == last_day
        else f"{first_day:%m-%d} – {last_day:%m-%d}"
    )
    params["until"] = until.astimezone(policy.zone).strftime("%H:%M")
    # publicity (issue 17): the month's honour list (笑脸墙) up to the report's end.
    month = policy.at_local(last_day.replace(day=1), time(0, 0))
    services = await services_between(uow, scope.community_ids, month, until)
    params["honour"], params["honour_unnamed"] = honour_list(services)
    await uow.outbox.add(
        Notice(person.id, "digest.report", params, supervise_actions(params), urgent=False)
    )
    await uow.outbox.add(
        Notice(
            person.id,
            "digest.chart",
            await chart(uow, policy, scope, chart_until, now, _open(params)),
            urgent=False,
        )
    )


def _open(params: dict[str, Any]) -> int:
    """Return how many orders the report found waiting in an open status."""
    open_stages = {s.value for s in OPEN_STATUSES}
    return sum(line["waiting"] for line in params["stages"] if line["stage"] in open_stages)


async def send_stats(uow: UnitOfWork, clock: Clock, policy: TimerPolicy, person: Person) -> None:
    """Send a supervisor today's figures so far and the chart, at once."""
    scope = await scope_of(uow, person)
    if scope is None:
        raise NotSupervisor()
    now = clock.now()
    since = policy.local_day_start(now)
    until = now + timedelta(seconds=1)  # up to and including this moment
    await queue_report(
        uow, policy, person, scope, "stats", since, until, now, policy.local_date(now)
    )


async def supervisors(uow: UnitOfWork) -> list[Person]:
    """Return every supervisor of a street or community who is in the chat."""
    places = await uow.places.children(None, PlaceKind.STREET)
    places += await uow.places.children(None, PlaceKind.COMMUNITY)
    people = await uow.people.with_role(Role.SUPERVISOR, [p.id for p in places])
    return [p for p in people if p.telegram_id is not None]


def last_scheduled(person: Person, policy: TimerPolicy, now: datetime) -> datetime:
    """Return the latest moment at or before `now` the person's daily digest was due."""
    at = clock_time(person.digest_time or policy.digest_time)
    today = policy.local_date(now)
    scheduled = policy.at_local(today, at)
    return scheduled if scheduled <= now else policy.at_local(today - timedelta(days=1), at)


async def digests_due(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find each supervisor's daily digest due at their time, and the weekly one on Mondays."""
    now = clock.now()
    due = []
    for person in await supervisors(uow):
        scheduled = last_scheduled(person, policy, now)
        if now - scheduled > policy.catch_up:
            continue  # the bot was off all morning; tomorrow's digest will come on time
        daily = _digest(clock, policy, person.id, scheduled, 1)
        due.append(Due(TimerKind.DIGEST, person.id, scheduled, daily))
        if policy.local_date(scheduled).weekday() == 0:
            weekly = _digest(clock, policy, person.id, scheduled, 7)
            due.append(Due(TimerKind.WEEKLY, person.id, scheduled, weekly))
    return due


def _digest(
    clock: Clock, policy: TimerPolicy, person_id: int, scheduled: datetime, days: int
) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        person = await uow.people.get(person_id)
        scope = await scope_of(uow, person) if person else None
        if person is None or scope is None:
            raise Moot("no longer a supervisor")
        today = policy.local_date(scheduled)
        until = policy.at_local(today, time(0, 0))
        since = policy.at_local(today - timedelta(days=days), time(0, 0))
        kind = "daily" if days == 1 else "weekly"
        yesterday = today - timedelta(days=1)
        await queue_report(uow, policy, person, scope, kind, since, until, clock.now(), yesterday)

    return effect
