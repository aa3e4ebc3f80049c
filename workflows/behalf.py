"""On someone's behalf (帮办代办): staff order for a household or a public place (巡查上报).

Staff find the household within their own scope, by building, unit and room; a household with
nobody on Telegram gets a contact (name and phone) the worker can call; a unit's public area is
a household of its own, made on first use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workflows.errors import DomainError, InvalidInvite, NotAllowed
from workflows.model import (
    COMMUNITY_ROOM,
    GRID_ROOM,
    Household,
    HouseholdPlace,
    Notice,
    Order,
    Person,
    PersonChanges,
    Place,
    PlaceKind,
)
from workflows.orders import OrderDraft, place_as
from workflows.people import issue_invite
from workflows.ports import Clock, UnitOfWork
from workflows.vocabulary import Channel

AREA_ROOMS = {PlaceKind.GRID: GRID_ROOM, PlaceKind.COMMUNITY: COMMUNITY_ROOM}
STAFF_CHANNELS = (Channel.PHONE, Channel.WALK_IN)
MAX_FOUND = 8
MAX_NAMED = 10  # households found by a resident's name
NAME_SCAN = 500  # people read to find those within the staff member's scope
LEVELS = (PlaceKind.COMMUNITY, PlaceKind.GRID, PlaceKind.BUILDING, PlaceKind.UNIT)


class UnclearPlace(DomainError):
    """Staff wrote where in a shape that is not building-unit(-room)."""

    key = "behalf.ask_where"


class NoContact(DomainError):
    """The household has nobody to tell: staff give a contact first."""

    key = "behalf.ask_contact"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


async def in_scope(uow: UnitOfWork, staff: Person, household_id: int) -> HouseholdPlace:
    """Return the household's place if it lies within one of the staff member's roles."""
    place = await uow.places.household_place(household_id)
    if place is None or not staff.is_staff:
        raise NotAllowed()
    if not {r.place_id for r in staff.roles} & set(place.scope_ids()):
        raise NotAllowed()
    return place


async def _units_in_scope(uow: UnitOfWork, staff: Person) -> list[tuple[str, int, str]]:
    """Return (building name, unit id, unit name) of every unit within the staff's scope."""
    found: dict[int, tuple[str, int, str]] = {}
    for role in staff.roles:
        top = await uow.places.get(role.place_id)
        if top is None or top.kind not in LEVELS:
            continue
        level = [top]
        for kind in LEVELS[LEVELS.index(top.kind) + 1 :]:
            level = [c for p in level for c in await uow.places.children(p.id, kind)]
        units = level if top.kind != PlaceKind.UNIT else [top]
        for unit in units:
            building = await uow.places.get(unit.parent_id) if unit.parent_id else None
            found[unit.id] = (building.names.zh if building else "", unit.id, unit.names.zh)
    return list(found.values())


async def areas_in_scope(uow: UnitOfWork, staff: Person) -> list[Place]:
    """Return the communities and grids within the staff member's scope (their public areas).

    A community's staff see the community and its grids; a grid's staff their grid (a street's
    staff order on behalf within a community's role, as for households). Only those
    with at least one unit are offered: a public area is kept with one of its units.
    """
    found: dict[int, Place] = {}
    for role in staff.roles:
        top = await uow.places.get(role.place_id)
        if top is None or top.kind not in AREA_ROOMS:
            continue
        found.setdefault(top.id, top)
        if top.kind == PlaceKind.COMMUNITY:
            for grid in await uow.places.children(top.id, PlaceKind.GRID):
                found.setdefault(grid.id, grid)
    areas = [p for p in found.values() if await first_unit(uow, p) is not None]
    return areas[:MAX_FOUND]


async def first_unit(uow: UnitOfWork, place: Place) -> int | None:
    """Return the first unit of a community or grid (the one its public area is kept with)."""
    level = [place]
    for kind in LEVELS[LEVELS.index(place.kind) + 1 :]:
        level = [c for p in level for c in await uow.places.children(p.id, kind)]
    return level[0].id if level else None


async def area_household(uow: UnitOfWork, staff: Person, place_id: int) -> Household:
    """Return the public area of a grid or community within scope, made on first use."""
    place = next((p for p in await areas_in_scope(uow, staff) if p.id == place_id), None)
    unit_id = None if place is None else await first_unit(uow, place)
    if place is None or unit_id is None:
        raise NotAllowed()
    return await uow.places.public_household(unit_id, AREA_ROOMS[place.kind])


async def find(uow: UnitOfWork, staff: Person, words: str) -> tuple[list[Household], list[int]]:
    """Return households and units (for their public area) matching "1-2-301" or "1-2".

    The words are building, unit and room numbers, split by anything not a digit or letter;
    only places within the staff member's scope are searched.
    """
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", words) if p]
    if len(parts) not in (2, 3):
        raise UnclearPlace()
    building, unit = _digits(parts[0]), _digits(parts[1])
    units = [
        unit_id
        for building_name, unit_id, unit_name in await _units_in_scope(uow, staff)
        if _digits(building_name) == building and _digits(unit_name) == unit
    ]
    if len(parts) == 2:
        return [], units[:MAX_FOUND]
    room = parts[2].upper()
    households = [
        h
        for unit_id in units
        for h in await uow.places.households(unit_id)
        if h.room.upper() == room
    ]
    return households[:MAX_FOUND], []


@dataclass(frozen=True)
class Found:
    """What staff's words matched: households (by room or by name), units and buildings.

    `named` pairs a household with the person whose name matched; `buildings` are the first unit
    within scope of each building, whose public area a building's report belongs to.
    """

    households: list[Household] = field(default_factory=list)
    units: list[int] = field(default_factory=list)
    buildings: list[int] = field(default_factory=list)
    named: list[tuple[Household, Person]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.households or self.units or self.buildings or self.named)


async def search(uow: UnitOfWork, staff: Person, words: str) -> Found:
    """Return what staff's words name within their scope.

    A name (no digits) finds the households of people so named; a building number alone finds
    the building's public area; "1-2" a unit's public area and "1-2-301" a room (`find`).
    """
    text = words.strip()
    if not text:
        raise UnclearPlace()
    if not re.search(r"[0-9]", text):
        return Found(named=await _named(uow, staff, text))
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", text) if p]
    if len(parts) == 1:
        building = _digits(parts[0])
        firsts: dict[str, int] = {}
        for building_name, unit_id, _ in sorted(
            await _units_in_scope(uow, staff), key=lambda u: (u[0], int(_digits(u[2]) or 0), u[1])
        ):
            if _digits(building_name) == building:
                firsts.setdefault(building_name, unit_id)
        return Found(buildings=list(firsts.values())[:MAX_FOUND])
    households, units = await find(uow, staff, text)
    return Found(households=households, units=units)


async def _named(uow: UnitOfWork, staff: Person, name: str) -> list[tuple[Household, Person]]:
    """Return households within scope with someone whose name contains `name`, at most 10."""
    found: list[tuple[Household, Person]] = []
    seen: set[int] = set()
    for person in await uow.people.named(name[:50], NAME_SCAN):
        if person.household_id is None or person.household_id in seen:
            continue
        try:
            place = await in_scope(uow, staff, person.household_id)
        except NotAllowed:
            continue
        if person.proxy and person.telegram_id is None:  # a family link nobody opened yet
            continue
        seen.add(person.household_id)
        found.append((place.household, person))
        if len(found) == MAX_NAMED:
            break
    return found


async def contacts(uow: UnitOfWork, household_id: int) -> list[Person]:
    """Return the household's people, those on Telegram first."""
    people = [
        p
        for p in await uow.people.of_household(household_id)
        if p.telegram_id is not None or not p.proxy  # not a family link nobody opened yet
    ]
    return sorted(people, key=lambda p: (p.telegram_id is None, p.proxy, p.id))


async def add_contact(
    uow: UnitOfWork, staff: Person, household_id: int, name: str, phone: str
) -> Person:
    """Record a household's contact who has no Telegram (name and phone), within scope."""
    await in_scope(uow, staff, household_id)
    return await uow.people.add_contact(name, phone, household_id)


async def place_on_behalf(
    uow: UnitOfWork,
    clock: Clock,
    staff: Person,
    household_id: int,
    draft: OrderDraft,
    channel: Channel,
) -> Order:
    """Place an order for a household (phone, walk-in) or a public area (patrol), as staff.

    A household's order belongs to its first resident (on Telegram if any: they follow it and are
    told it was placed); a public area's belongs to the staff member, who follows it.
    """
    await in_scope(uow, staff, household_id)
    people = [] if channel == Channel.PATROL else await contacts(uow, household_id)
    owner = people[0] if people else staff
    if channel != Channel.PATROL and not people:
        raise NoContact()
    order = await place_as(uow, clock, owner, household_id, draft, channel, actor=staff)
    for person in people:
        if person.telegram_id is not None and person.id != staff.id:
            await uow.outbox.add(
                Notice(
                    person.id,
                    "behalf.placed_for_you",
                    {"number": order.number, "name": staff.name},
                )
            )
    return order


# --- family proxies (子女代办) ----------------------------------------------------------------
FAMILY_PREFIX = "fam_"  # a /start payload: a one-time link a grid worker gave a family member


class AlreadyRegistered(DomainError):
    """The family member's Telegram account is already someone here: one account, one person."""

    key = "proxy.already_registered"


async def invite_family(uow: UnitOfWork, clock: Clock, staff: Person, household_id: int) -> str:
    """Return a one-time token that makes whoever opens it the household's family proxy.

    Only staff whose scope holds the household can make one, so nobody attaches themselves to a
    stranger's household: the grid worker hands the link to the family they know.
    """
    await in_scope(uow, staff, household_id)
    person = await uow.people.add_contact("", "", household_id)
    await uow.people.update(person.id, PersonChanges(proxy=True, phone=None))
    return await issue_invite(uow, clock, person, issued_by=staff.name)


async def join_family(
    uow: UnitOfWork, clock: Clock, telegram_id: int, token: str, name: str, lang: str
) -> Person:
    """Bind a family member's Telegram to the proxy a grid worker's link was made for."""
    person_id = await uow.invites.redeem(token, clock.now())
    person = None if person_id is None else await uow.people.get(person_id)
    if person is None or not person.proxy:
        raise InvalidInvite()
    if await uow.people.by_telegram(telegram_id) is not None:
        raise AlreadyRegistered()
    await uow.people.update(person.id, PersonChanges(telegram_id=telegram_id, lang=lang, name=name))
    joined = await uow.people.get(person.id)
    assert joined is not None
    return joined


async def tell_household(uow: UnitOfWork, proxy: Person, order: Order) -> None:
    """Tell the household's own people on Telegram that their family placed an order for them."""
    if order.household_id is None:
        return
    for person in await uow.people.of_household(order.household_id):
        if person.telegram_id is not None and not person.proxy and person.id != proxy.id:
            await uow.outbox.add(
                Notice(
                    person.id,
                    "proxy.placed_for_you",
                    {"number": order.number, "name": proxy.name},
                )
            )
