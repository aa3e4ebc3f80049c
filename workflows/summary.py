"""The monthly summary in each community's 公示 channel (and its preview, /summary).

On the 1st of each month, in the morning, the channel gets last month's figures: orders placed
and resolved, resolved on time, satisfaction, the time to first response and to resolve, the
volunteers' service hours by team and the honour list (笑脸墙, naming only who agreed), then a
chart of orders per day. Staff in charge of a community may preview the month so far.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from workflows.errors import NotAllowed
from workflows.model import Notice, Person, Place, PlaceKind, Role
from workflows.ports import Clock, UnitOfWork
from workflows.teams import honour_list, hours_by_team, services_between
from workflows.timers import Due, Effect, Moot, TimerPolicy
from workflows.vocabulary import Move, TimerKind

SUMMARY_KEY = "pub.summary"
CHART_KEY = "pub.summary_chart"
CHANNEL_LANG = "zh"
SUMMARY_TIME = time(9, 0)  # local, on the 1st
SATISFIED = 4  # stars that count as satisfied
# Who may preview a community's summary: those in charge of it.
PREVIEWERS = (Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN, Role.COMMUNITY_CADRE)


def month_start(day: date) -> date:
    """Return the first day of the day's month."""
    return day.replace(day=1)


def previous_month(day: date) -> date:
    """Return the first day of the month before the day's month."""
    return month_start(month_start(day) - timedelta(days=1))


def _median_hours(spans: list[timedelta]) -> float | None:
    if not spans:
        return None
    return round(statistics.median(s.total_seconds() for s in spans) / 3600, 1)


async def summary_params(
    uow: UnitOfWork,
    policy: TimerPolicy,
    community: Place,
    since: datetime,
    until: datetime,
    lang: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the summary's figures and its chart's, for the community in [since, until)."""
    ids = [community.id]
    created = await uow.reports.created_between(ids, since, until)
    actions = [Move.ACCEPT, Move.CLAIM, Move.RESOLVE, Move.RATE]
    events = await uow.reports.events_between(ids, actions, since, until)
    placed = {o.id: o for o in created}
    first_response: dict[int, datetime] = {}
    resolved_at: dict[int, datetime] = {}
    for e in events:
        if e.action in (Move.ACCEPT, Move.CLAIM):
            first_response.setdefault(e.order_id, e.at)
        elif e.action == Move.RESOLVE:
            resolved_at.setdefault(e.order_id, e.at)
    on_time = 0
    to_resolve: list[timedelta] = []
    for order_id, at in resolved_at.items():
        order = placed.get(order_id) or await uow.orders.get(order_id)
        if order is None:
            continue
        to_resolve.append(at - order.created_at)
        if order.resolve_due is None or at <= order.resolve_due:
            on_time += 1
    to_respond = [at - placed[i].created_at for i, at in first_response.items() if i in placed]
    ratings = [int(e.note) for e in events if e.action == Move.RATE and e.note and e.note.isdigit()]
    services = await services_between(uow, ids, since, until)
    teams = await uow.people.teams(ids)
    named, unnamed = honour_list(services)
    first_day = policy.local_date(since)
    last_day = policy.local_date(until - timedelta(seconds=1))
    params: dict[str, Any] = {
        "community": community.names.pick(lang),
        "month": f"{first_day:%Y-%m}",
        "period": f"{first_day:%m-%d} – {last_day:%m-%d}",
        "placed": len(created),
        "resolved": len(resolved_at),
        "on_time": on_time,
        "ratings": len(ratings),
        "rating_avg": round(sum(ratings) / len(ratings), 1) if ratings else None,
        "satisfied": sum(1 for r in ratings if r >= SATISFIED),
        "respond_hours": _median_hours(to_respond),
        "resolve_hours": _median_hours(to_resolve),
        "teams": hours_by_team(teams, services, lang),
        "honour": named,
        "unnamed": unnamed,
    }
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    new = Counter(policy.local_date(o.created_at) for o in created)
    done = Counter(policy.local_date(at) for at in resolved_at.values())
    chart = {
        "community": params["community"],
        "month": params["month"],
        "days": [d.strftime("%d") for d in days],
        "new": [new[d] for d in days],
        "resolved": [done[d] for d in days],
    }
    return params, chart


async def channel_communities(uow: UnitOfWork) -> list[Place]:
    """Return the communities that have a 公示 channel."""
    return [
        c for c in await uow.places.children(None, PlaceKind.COMMUNITY) if c.channel is not None
    ]


async def summaries_due(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find the monthly summary due in each community's channel (the 1st, in the morning)."""
    now = clock.now()
    scheduled = policy.at_local(month_start(policy.local_date(now)), SUMMARY_TIME)
    if now < scheduled or now - scheduled > policy.catch_up:
        return []
    return [
        Due(TimerKind.MONTHLY, community.id, scheduled, _post_summary(policy, community.id, now))
        for community in await channel_communities(uow)
    ]


def _post_summary(policy: TimerPolicy, community_id: int, now: datetime) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        community = await uow.places.get(community_id)
        if community is None or community.channel is None:
            raise Moot("no channel any more")
        this_month = month_start(policy.local_date(now))
        since = policy.at_local(previous_month(this_month), time(0, 0))
        until = policy.at_local(this_month, time(0, 0))
        params, chart = await summary_params(uow, policy, community, since, until, CHANNEL_LANG)
        await uow.outbox.post(community.channel, CHANNEL_LANG, SUMMARY_KEY, params)
        await uow.outbox.post(community.channel, CHANNEL_LANG, CHART_KEY, chart)

    return effect


async def preview_summary(
    uow: UnitOfWork, clock: Clock, policy: TimerPolicy, person: Person
) -> list[Place]:
    """Send staff in charge of communities the summary of this month so far, one per community."""
    communities: list[Place] = []
    for role in person.roles:
        if role.role not in PREVIEWERS:
            continue
        place = await uow.places.get(role.place_id)
        if place is None:
            continue
        if place.kind == PlaceKind.COMMUNITY:
            communities.append(place)
        elif place.kind == PlaceKind.STREET:
            communities += await uow.places.children(place.id, PlaceKind.COMMUNITY)
    communities = list({c.id: c for c in communities}.values())
    if not communities:
        raise NotAllowed()
    now = clock.now()
    since = policy.at_local(month_start(policy.local_date(now)), time(0, 0))
    until = now + timedelta(seconds=1)
    for community in communities:
        params, chart = await summary_params(uow, policy, community, since, until, person.lang)
        params["preview"] = True
        await uow.outbox.add(Notice(person.id, SUMMARY_KEY, params))
        await uow.outbox.add(Notice(person.id, CHART_KEY, chart))
    return communities
