"""Rounds of visits (走访): a building head's roster, visit notes (民情日志), key households.

A building head (or grid worker, unit head, community cadre) looks after every household in the
places their roles cover, not only the key ones, and visits each at least monthly ("每月走访至少
一次"). The month's round counts the households with a visit logged this month (not "not at
home"). A visit is logged with a note and a photo, kept on the visit and shown in the household's
history to staff in scope; "发现问题" turns the note into an order for the household. Staff may
ask for a household to become key (reason, cadence); a supervisor of its community or street
approves, and its visits are then planned like those of the organisation file's key households.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from workflows.errors import DomainError, NotAllowed, StaleAction
from workflows.model import (
    KEY_FROM_CHAT,
    PUBLIC_ROOMS,
    Action,
    Household,
    HouseholdPlace,
    KeyHousehold,
    KeyRequest,
    KeyRequestStatus,
    Notice,
    Order,
    Person,
    Place,
    PlaceKind,
    Role,
    Visit,
    VisitKind,
    VisitOutcome,
)
from workflows.orders import OrderDraft, clean_text, place_for_household
from workflows.ports import Clock, UnitOfWork
from workflows.timers import TimerPolicy
from workflows.visits import open_key_visit
from workflows.vocabulary import Verb

# The roles whose scope is a roster of households to visit.
ROUND_ROLES = (Role.UNIT_HEAD, Role.BUILDING_HEAD, Role.GRID_WORKER, Role.COMMUNITY_CADRE)
LEVELS = (PlaceKind.COMMUNITY, PlaceKind.GRID, PlaceKind.BUILDING, PlaceKind.UNIT)
MAX_NOTE = 1000
MAX_REASON = 60
CADENCES = (7, 14, 30)  # the visit cadences (days) offered when marking a household as key
HISTORY_SHOWN = 5


class NotOnRoster(DomainError):
    """The household is not one the person looks after."""

    key = "round.not_yours"


class AlreadyKey(DomainError):
    """The household is already a key household."""

    key = "round.already_key"


class NoSupervisor(DomainError):
    """Nobody can approve marking the household as key."""

    key = "round.no_supervisor"


@dataclass(frozen=True)
class RosterEntry:
    """One household on a roster, with its building and unit (for its label)."""

    household: Household
    building: Place
    unit: Place


@dataclass(frozen=True)
class Round:
    """The households a person looks after and which of them were visited this month."""

    entries: list[RosterEntry]
    visited: set[int]
    month: date

    @property
    def left(self) -> list[RosterEntry]:
        """Return the households not visited yet this month, in roster order."""
        return [e for e in self.entries if e.household.id not in self.visited]


def round_scope(person: Person) -> list[int]:
    """Return the places whose households the person looks after."""
    return [r.place_id for r in person.roles if r.role in ROUND_ROLES]


def has_roster(person: Person) -> bool:
    """Tell whether the person has a roster of households to visit."""
    return bool(round_scope(person))


async def roster(uow: UnitOfWork, person: Person) -> list[RosterEntry]:
    """Return every household in the person's scope (public areas left out), by place."""
    units: dict[int, tuple[Place, Place]] = {}
    for place_id in round_scope(person):
        top = await uow.places.get(place_id)
        if top is None or top.kind not in LEVELS:
            continue
        if top.kind == PlaceKind.UNIT:
            building = await uow.places.get(top.parent_id) if top.parent_id else None
            if building is not None:
                units.setdefault(top.id, (building, top))
            continue
        buildings = [top]
        for kind in LEVELS[LEVELS.index(top.kind) + 1 : LEVELS.index(PlaceKind.BUILDING) + 1]:
            buildings = [c for p in buildings for c in await uow.places.children(p.id, kind)]
        for building in buildings:
            for unit in await uow.places.children(building.id, PlaceKind.UNIT):
                units.setdefault(unit.id, (building, unit))
    entries = []
    for building, unit in units.values():
        for household in await uow.places.households(unit.id):
            if household.room not in PUBLIC_ROOMS:
                entries.append(RosterEntry(household, building, unit))
    return entries


def month_window(now: datetime, policy: TimerPolicy) -> tuple[date, datetime, datetime]:
    """Return the local month's first day and its start and end as UTC moments."""
    first = policy.local_date(now).replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, policy.at_local(first, time(0, 0)), policy.at_local(following, time(0, 0))


async def month_round(uow: UnitOfWork, clock: Clock, policy: TimerPolicy, person: Person) -> Round:
    """Return the person's roster with this month's visited households."""
    if not has_roster(person):
        raise NotAllowed()
    return await _round_at(uow, clock.now(), policy, person)


async def _round_at(uow: UnitOfWork, now: datetime, policy: TimerPolicy, person: Person) -> Round:
    entries = await roster(uow, person)
    first, start, end = month_window(now, policy)
    visited = await uow.visits.visited_between([e.household.id for e in entries], start, end)
    return Round(entries, visited, first)


async def round_progress(
    uow: UnitOfWork, policy: TimerPolicy, community_ids: Sequence[int], now: datetime
) -> list[dict[str, Any]]:
    """Return each building head's round this month in the communities, the furthest behind
    first (a supervisor's digest shows it): name, visited, households."""
    buildings: list[int] = []
    for community_id in community_ids:
        for grid in await uow.places.children(community_id, PlaceKind.GRID):
            buildings.extend(b.id for b in await uow.places.children(grid.id, PlaceKind.BUILDING))
    heads = {p.id: p for p in await uow.people.with_role(Role.BUILDING_HEAD, buildings)}
    progress: list[tuple[float, str, int, int]] = []
    for head in heads.values():
        found = await _round_at(uow, now, policy, head)
        if found.entries:
            done, total = len(found.visited), len(found.entries)
            progress.append((done / total, head.name, done, total))
    progress.sort()
    return [{"name": name, "done": done, "total": total} for _, name, done, total in progress]


async def on_roster(uow: UnitOfWork, person: Person, household_id: int) -> HouseholdPlace:
    """Return the household's place if the person looks after it (or is its key liaison)."""
    place = await uow.places.household_place(household_id)
    if place is None or place.household.room in PUBLIC_ROOMS:
        raise NotOnRoster()
    if set(round_scope(person)) & set(place.scope_ids()):
        return place
    key = await uow.visits.key_household(household_id)
    if key is not None and key.liaison_id == person.id and person.is_staff:
        return place
    raise NotOnRoster()


async def history(uow: UnitOfWork, person: Person, household_id: int) -> list[Visit]:
    """Return the household's latest logged visits, for staff who look after it."""
    await on_roster(uow, person, household_id)
    return await uow.visits.history(household_id, HISTORY_SHOWN)


async def log_round_visit(
    uow: UnitOfWork,
    clock: Clock,
    person: Person,
    household_id: int,
    note: str,
    photo: str | None = None,
) -> Visit:
    """Log a visit made now, with its note: the person's open visit task there, else a new one."""
    await on_roster(uow, person, household_id)
    text = clean_text(note, limit=MAX_NOTE)
    now = clock.now()
    task = next(
        (v for v in await uow.visits.open_for(person.id) if v.household_id == household_id), None
    )
    if task is None:
        task = await uow.visits.add(
            household_id=household_id,
            person_id=person.id,
            kind=VisitKind.ROUND,
            opened_at=now,
            due_at=now,
        )
    logged = await uow.visits.log(task.id, VisitOutcome.VISITED, now, text)
    if logged is None:
        raise StaleAction(number="")
    noted = await uow.visits.write_note(logged.id, text, photo)
    return noted or logged


async def note_visit(
    uow: UnitOfWork, person: Person, visit_id: int, note: str, photo: str | None = None
) -> Visit:
    """Keep the note (and photo) of the person's logged visit."""
    visit = await uow.visits.get(visit_id)
    if visit is None or visit.person_id != person.id:
        raise NotAllowed()
    noted = await uow.visits.write_note(visit_id, clean_text(note, limit=MAX_NOTE), photo)
    if noted is None:
        raise StaleAction(number="")
    return noted


def noted_actions(visit_id: int) -> tuple[Action, ...]:
    """Return the button under a logged visit's note: turn what was found into an order."""
    return (Action.of(Verb.VISIT_PROBLEM, visit_id),)


async def problem_visit(uow: UnitOfWork, person: Person, visit_id: int) -> Visit:
    """Return the person's logged visit with a note, from which an order can be opened."""
    visit = await uow.visits.get(visit_id)
    if visit is None or visit.person_id != person.id:
        raise NotAllowed()
    if visit.logged_at is None or not visit.note:
        raise StaleAction(number="")
    return visit


async def order_from_visit(
    uow: UnitOfWork, clock: Clock, person: Person, visit_id: int, category_id: int
) -> Order:
    """Open an order for the visited household with the visit's note (and photo); it routes."""
    visit = await problem_visit(uow, person, visit_id)
    draft = OrderDraft(category_id, visit.note or "", photos=(visit.photo,) if visit.photo else ())
    return await place_for_household(uow, clock, person, visit.id, draft)


async def _approvers(uow: UnitOfWork, place: HouseholdPlace) -> list[Person]:
    scopes = [place.community.id]
    if place.community.parent_id is not None:
        scopes.append(place.community.parent_id)
    people = await uow.people.with_role(Role.SUPERVISOR, scopes)
    return [p for p in people if p.telegram_id is not None]


def reason_of(text: str) -> str:
    """Return the reason a household should be key, checked for length."""
    return clean_text(text, limit=MAX_REASON)


async def ask_key(
    uow: UnitOfWork,
    clock: Clock,
    person: Person,
    household_id: int,
    reason: str,
    every_days: int,
) -> KeyRequest:
    """Ask the supervisors in scope to make the household key; each gets a card to decide."""
    place = await on_roster(uow, person, household_id)
    if every_days not in CADENCES:
        raise StaleAction(number="")
    if await uow.visits.key_household(household_id) is not None:
        raise AlreadyKey()
    approvers = await _approvers(uow, place)
    if not approvers:
        raise NoSupervisor()
    request = await uow.visits.add_key_request(
        household_id=household_id,
        requested_by=person.id,
        kind=reason_of(reason),
        visit_every_days=every_days,
        at=clock.now(),
    )
    actions = (Action.of(Verb.KEY_APPROVE, request.id), Action.of(Verb.KEY_REFUSE, request.id))
    for approver in approvers:
        params = {
            "name": person.name,
            "address": place.address(approver.lang),
            "household_kind": request.kind,
            "days": every_days,
        }
        await uow.outbox.add(Notice(approver.id, "round.key_request", params, actions))
    return request


async def decide_key(
    uow: UnitOfWork,
    clock: Clock,
    policy: TimerPolicy,
    supervisor: Person,
    request_id: int,
    *,
    approve: bool,
) -> KeyRequest:
    """Approve or refuse a request; on approval the household is key and its first visit opens."""
    request = await uow.visits.key_request(request_id)
    if request is None:
        raise StaleAction(number="")
    place = await uow.places.household_place(request.household_id)
    if place is None or supervisor.id not in {p.id for p in await _approvers(uow, place)}:
        raise NotAllowed()
    status = KeyRequestStatus.APPROVED if approve else KeyRequestStatus.REFUSED
    decided = await uow.visits.decide_key_request(request_id, status, supervisor.id, clock.now())
    if decided is None:
        raise StaleAction(number="")
    asker = await uow.people.get(request.requested_by)
    params = {
        "address": place.address(asker.lang if asker else "zh"),
        "household_kind": request.kind,
        "days": request.visit_every_days,
        "name": supervisor.name,
    }
    if not approve:
        await uow.outbox.add(Notice(request.requested_by, "round.key_refused", params))
        return decided
    await uow.outbox.add(Notice(request.requested_by, "round.key_approved", params))
    if await uow.visits.key_household(request.household_id) is not None:
        return decided  # made key meanwhile (by the file): its visits are planned already
    key = KeyHousehold(
        request.household_id,
        request.kind,
        request.requested_by,
        request.visit_every_days,
        KEY_FROM_CHAT,
    )
    await uow.visits.mark_key(key)
    await open_key_visit(uow, policy, key, policy.local_day_start(clock.now()))
    return decided
