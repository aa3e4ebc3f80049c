"""Orders from partner systems (多途径下单: the 12345 hotline, a mini program) through Open311.

A partner's order is an ordinary order of channel `external`: placed by the same code as a
staff member's on someone's behalf (`place_as`), then routed, timed, escalated and closed like
any other. When the caller's phone is a registered resident's, the order is that household's
and the resident is told in chat; otherwise it belongs to the address given, with the caller as
the household's contact, and the grid worker gets a call-back task to phone them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workflows.behalf import find
from workflows.errors import DomainError, InvalidInput
from workflows.model import (
    BUILDING_ROOM,
    PUBLIC_ROOM,
    AuditEntry,
    Category,
    HouseholdPlace,
    Notice,
    Order,
    Person,
    PlaceKind,
    Role,
    RoleAssignment,
    Urgency,
)
from workflows.orders import CALL_BACK_CODE, OrderDraft, place_as
from workflows.ports import Clock, UnitOfWork
from workflows.vocabulary import Channel

AUDIT_ACTION = "api_request"  # the audit log's action of an order a partner filed
MAX_NAME = 100


class UnknownService(DomainError):
    """No category has the service code the partner gave."""

    key = "api.unknown_service"


class UnknownPlace(DomainError):
    """The address names no household, unit or building Sandan knows (or more than one)."""

    key = "api.unknown_place"


class OutOfScope(DomainError):
    """The place lies outside the street or community the partner's key is for."""

    key = "api.out_of_scope"


@dataclass(frozen=True)
class Partner:
    """A partner system: its name (the key's) and the street or community it files for."""

    name: str
    scope_id: int


@dataclass(frozen=True)
class Caller:
    """Who phoned the partner: their name and phone, as the partner gives them."""

    first_name: str = ""
    last_name: str = ""
    phone: str = ""

    @property
    def name(self) -> str:
        """Return the name as Chinese writes it: family name first, no space."""
        return f"{self.last_name.strip()}{self.first_name.strip()}"[:MAX_NAME]


@dataclass(frozen=True)
class ExternalRequest:
    """What a partner's POST requests asks for."""

    service_code: str
    description: str
    urgency: Urgency = Urgency.NORMAL
    place_code: str | None = None  # address_id: "unit-code/room", a unit's or building's code
    address: str | None = None  # address_string: a code, or "1-2-301" (building-unit-room)
    latitude: float | None = None
    longitude: float | None = None
    media_url: str | None = None
    caller: Caller = Caller()


@dataclass(frozen=True)
class Filed:
    """What a partner's request became: the order (and its category), and the call-back task
    if one was made."""

    order: Order
    category: Category
    call_back: Order | None = None


def phone_variants(phone: str) -> list[str]:
    """Return the forms a phone may be stored in: as given (digits and +), bare, with +86."""
    digits = re.sub(r"[^0-9+]", "", phone)
    if len(re.sub(r"\D", "", digits)) < 5:
        return []
    bare = digits.removeprefix("+").removeprefix("86") if len(digits) > 11 else digits
    return list(dict.fromkeys([digits, bare, f"+86{bare}", f"86{bare}"]))


async def service(uow: UnitOfWork, code: str) -> Category:
    """Return the category a service code names, or raise UnknownService."""
    for category in await uow.categories.list():
        if category.code == code:
            return category
    raise UnknownService(code=code)


async def community_ids(uow: UnitOfWork, scope_id: int) -> list[int]:
    """Return the communities a street or community scope holds."""
    scope = await uow.places.get(scope_id)
    if scope is None:
        return []
    if scope.kind == PlaceKind.COMMUNITY:
        return [scope.id]
    if scope.kind == PlaceKind.STREET:
        return [c.id for c in await uow.places.children(scope.id, PlaceKind.COMMUNITY)]
    return []


def within(place: HouseholdPlace, scope_id: int) -> bool:
    """Return whether a household lies in the street or community a key is for."""
    return scope_id in (*place.scope_ids(), place.community.parent_id)


async def _by_code(uow: UnitOfWork, code: str) -> int | None:
    """Return the household an address_id names: unit/room, a unit's or a building's area."""
    unit_code, _, room = code.strip().partition("/")
    place = await uow.places.by_code(unit_code)
    if place is None:
        return None
    if place.kind == PlaceKind.UNIT:
        if not room:
            return (await uow.places.public_household(place.id, PUBLIC_ROOM)).id
        found = [h for h in await uow.places.households(place.id) if h.room == room.strip()]
        return found[0].id if found else None
    if place.kind == PlaceKind.BUILDING and not room:
        units = await uow.places.children(place.id, PlaceKind.UNIT)
        if units:
            return (await uow.places.public_household(units[0].id, BUILDING_ROOM)).id
    return None


async def _by_words(uow: UnitOfWork, partner: Partner, words: str) -> int | None:
    """Return the one household "1-2-301" or "1号楼2单元301" names within the partner's scope."""
    reader = Person(  # the partner reads places as a dispatcher of its communities would
        id=0,
        name=partner.name,
        lang="zh",
        roles=tuple(
            RoleAssignment(Role.DISPATCHER, c) for c in await community_ids(uow, partner.scope_id)
        ),
    )
    try:
        households, units = await find(uow, reader, words)
    except DomainError:
        return None
    if len(households) > 1:  # "1号楼" in two estates: the one whose building is named in full
        scores = [await _named_in(uow, h.unit_id, words) for h in households]
        households = [
            h for h, score in zip(households, scores, strict=True) if score == max(scores)
        ]
    if len(units) > 1:
        scores = [await _named_in(uow, u, words) for u in units]
        units = [u for u, score in zip(units, scores, strict=True) if score == max(scores)]
    if len(households) == 1 and not units:
        return households[0].id
    if len(units) == 1 and not households:
        return (await uow.places.public_household(units[0], PUBLIC_ROOM)).id
    return None


async def _named_in(uow: UnitOfWork, unit_id: int, words: str) -> int:
    """Return how much of the words names the unit's building (裕华小区1号楼 beats 1号楼)."""
    unit = await uow.places.get(unit_id)
    parent = None if unit is None else unit.parent_id
    building = None if parent is None else await uow.places.get(parent)
    if building is None:
        return 0
    return max(len(n) for n in (building.names.zh, building.names.en, "") if n in words)


async def _household(uow: UnitOfWork, partner: Partner, request: ExternalRequest) -> int | None:
    """Return the household the request's address names, or None when it names none."""
    if request.place_code:
        return await _by_code(uow, request.place_code)
    if request.address:
        return await _by_code(uow, request.address) or await _by_words(
            uow, partner, request.address
        )
    return None


async def _resident(uow: UnitOfWork, partner: Partner, known: list[Person]) -> Person | None:
    """Return the registered resident (on Telegram, in scope) among those with the caller's
    phone."""
    for person in known:
        if person.telegram_id is None or person.proxy or person.household_id is None:
            continue
        place = await uow.places.household_place(person.household_id)
        if place is not None and within(place, partner.scope_id):
            return person
    return None


async def _contact(
    uow: UnitOfWork, household_id: int, caller: Caller, partner: Partner, known: list[Person]
) -> Person:
    """Return the household's contact for the caller: one already known by phone (`known`:
    the people with the caller's phone), or a new one."""
    for person in known:
        if person.household_id == household_id and person.telegram_id is None:
            return person
    phone = next(iter(phone_variants(caller.phone)), "")  # kept as chat keeps phones: digits, +
    return await uow.people.add_contact(caller.name or partner.name, phone, household_id)


async def file_request(
    uow: UnitOfWork, clock: Clock, partner: Partner, request: ExternalRequest
) -> Filed:
    """Place a partner's order as an ordinary order of channel `external`; audit it.

    Raises UnknownService, UnknownPlace, OutOfScope or InvalidInput; nothing is kept then (the
    entry point rolls its unit of work back).
    """
    category = await service(uow, request.service_code)
    known = await uow.people.with_phone(phone_variants(request.caller.phone))
    resident = await _resident(uow, partner, known)
    if resident is not None and resident.household_id is not None:
        household_id = resident.household_id
    else:
        found = await _household(uow, partner, request)
        if found is None:
            raise UnknownPlace()
        household_id = found
    place = await uow.places.household_place(household_id)
    if place is None:
        raise UnknownPlace()
    if not within(place, partner.scope_id):
        raise OutOfScope()
    description = request.description.strip()
    if request.media_url:
        description = f"{description}\n{request.media_url.strip()}".strip()
    draft = OrderDraft(
        category_id=category.id,
        description=description,
        urgency=request.urgency,
        latitude=request.latitude,
        longitude=request.longitude,
    )
    owner = resident or await _contact(uow, household_id, request.caller, partner, known)
    order = await place_as(uow, clock, owner, household_id, draft, Channel.EXTERNAL, actor=owner)
    call_back: Order | None = None
    if resident is not None:
        await uow.outbox.add(
            Notice(
                resident.id,
                "api.placed_for_you",
                {"number": order.number, "partner": partner.name},
            )
        )
    elif request.caller.phone and category.code != CALL_BACK_CODE:
        call_back = await _call_back(uow, clock, owner, household_id, draft)
    await uow.audit.record(
        AuditEntry(
            clock.now(),
            AUDIT_ACTION,
            None,
            partner.name,
            f"order {order.number}",
            {
                "service_code": category.code,
                "channel": Channel.EXTERNAL.value,
                "call_back": call_back.number if call_back else None,
            },
        )
    )
    return Filed(order, category, call_back)


async def _call_back(
    uow: UnitOfWork, clock: Clock, caller: Person, household_id: int, draft: OrderDraft
) -> Order | None:
    """Give the household's grid worker a call-back task to phone the caller (their number on
    the task card once accepted); None when the organisation has no call-back category."""
    category = next((c for c in await uow.categories.list() if c.code == CALL_BACK_CODE), None)
    if category is None:
        return None
    try:
        return await place_as(
            uow,
            clock,
            caller,
            household_id,
            OrderDraft(category_id=category.id, description=draft.description),
            Channel.EXTERNAL,
            actor=caller,
        )
    except InvalidInput:
        return None
