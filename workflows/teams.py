"""Teams with faces: the resolver's time spent, service hours per volunteer and team, the honour
list (笑脸墙) naming only who agreed, and a team leader's view of the team's work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workflows.errors import InvalidInput, NotAllowed, StaleAction
from workflows.model import (
    Order,
    OrderChanges,
    OrderStatus,
    Person,
    PlaceKind,
    VolunteerTeam,
)
from workflows.ports import UnitOfWork
from workflows.vocabulary import Move

MAX_MINUTES = 7 * 24 * 60  # a week: more is a typing slip
TIME_CHOICES = (30, 60, 120, 240)  # 半小时, 1小时, 2小时, 半天
HONOUR_SHOWN = 10
OPEN_WORK = (OrderStatus.ACCEPTED, OrderStatus.ON_WAY, OrderStatus.PAUSED)
DONE_WORK = (OrderStatus.RESOLVED, OrderStatus.CLOSED)


async def record_time_spent(uow: UnitOfWork, person: Person, order_id: int, minutes: int) -> Order:
    """Keep how long the resolver spent on the order (they may correct it)."""
    order = await uow.orders.get(order_id)
    if order is None or order.status not in DONE_WORK:
        raise StaleAction(number=f"{order_id:05d}")
    if order.assignee_id != person.id:
        raise NotAllowed()
    if not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInput(reason="expired")  # the buttons offer no such time: forged
    await uow.orders.update(order.id, OrderChanges(minutes_spent=minutes))
    return order


@dataclass
class Service:
    """One volunteer's month: services done, minutes spent, ratings received."""

    person: Person
    services: int = 0
    minutes: int = 0
    ratings: list[int] = field(default_factory=list)

    @property
    def hours(self) -> float:
        """Return the service hours, to half an hour."""
        return round(self.minutes / 30) / 2

    @property
    def rating(self) -> float | None:
        """Return the average rating, or None without one."""
        return sum(self.ratings) / len(self.ratings) if self.ratings else None


async def services_between(
    uow: UnitOfWork, community_ids: Sequence[int], since: datetime, until: datetime
) -> dict[int, Service]:
    """Return each team member's services resolved in [since, until), by person id."""
    teams = await uow.people.teams(community_ids)
    members = {m for team in teams for m in team.member_ids}
    resolved = await uow.reports.events_between(community_ids, [Move.RESOLVE], since, until)
    found: dict[int, Service] = {}
    seen: set[int] = set()
    for event in resolved:
        if event.actor_id not in members or event.order_id in seen:
            continue
        seen.add(event.order_id)
        order = await uow.orders.get(event.order_id)
        person = await uow.people.get(event.actor_id)
        if order is None or person is None:
            continue
        service = found.setdefault(person.id, Service(person))
        service.services += 1
        service.minutes += order.minutes_spent or 0
        if order.rating is not None:
            service.ratings.append(order.rating)
    return found


def hours_by_team(
    teams: Sequence[VolunteerTeam], services: dict[int, Service], lang: str
) -> list[dict[str, Any]]:
    """Return each team's service hours and services, most hours first."""
    lines = []
    for team in teams:
        mine = [services[m] for m in team.member_ids if m in services]
        lines.append(
            {
                "team": team.names.pick(lang),
                "hours": round(sum(s.minutes for s in mine) / 30) / 2,
                "services": sum(s.services for s in mine),
            }
        )
    return sorted(lines, key=lambda line: (-line["hours"], line["team"]))


def honour_list(services: dict[int, Service]) -> tuple[list[dict[str, Any]], int]:
    """Return the honour list (笑脸墙) by hours, then rating, naming only who agreed to be
    named in public, and how many others served unnamed."""
    ranked = sorted(
        services.values(),
        key=lambda s: (-s.minutes, -(s.rating or 0.0), -s.services, s.person.id),
    )
    named = [
        {
            "name": s.person.name,
            "hours": s.hours,
            "services": s.services,
            "rating": round(s.rating, 1) if s.rating is not None else None,
        }
        for s in ranked
        if s.person.public
    ]
    unnamed = sum(1 for s in ranked if not s.person.public)
    return named[:HONOUR_SHOWN], unnamed + max(0, len(named) - HONOUR_SHOWN)


async def led_teams(uow: UnitOfWork, person: Person) -> list[VolunteerTeam]:
    """Return the teams the person leads."""
    communities = await uow.places.children(None, PlaceKind.COMMUNITY)
    teams = await uow.people.teams([c.id for c in communities])
    return [t for t in teams if t.leader_id == person.id]


async def team_work(
    uow: UnitOfWork, team: VolunteerTeam
) -> tuple[list[tuple[Person, Order]], list[tuple[Person, Order]]]:
    """Return the team's open work and its done work (resolved or closed), by member."""
    open_work: list[tuple[Person, Order]] = []
    done: list[tuple[Person, Order]] = []
    for member_id in team.member_ids:
        member = await uow.people.get(member_id)
        if member is None:
            continue
        for order in await uow.orders.of_assignee(member_id, OPEN_WORK):
            open_work.append((member, order))
        for order in await uow.orders.of_assignee(member_id, DONE_WORK):
            done.append((member, order))
    open_work.sort(key=lambda pair: pair[1].id)
    done.sort(key=lambda pair: -pair[1].id)
    return open_work, done
