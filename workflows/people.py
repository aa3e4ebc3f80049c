"""Who is who: residents register a household, staff join by invite, everyone picks a language."""

from __future__ import annotations

import secrets

from workflows.dispatch import (
    BUSY,
    OrderContext,
    card_params,
    dispatchers,
    load,
    redispatch,
    suggest,
)
from workflows.errors import InvalidInput, InvalidInvite, NotRegistered
from workflows.model import Action, AuditEntry, Notice, Order, OrderStatus, Person, PersonChanges
from workflows.ports import Clock, UnitOfWork
from workflows.text import display_name, phone_characters
from workflows.vocabulary import Verb

LANGUAGES = ("zh", "en")
MAX_NAME = 40  # a name on a worker's card or a button; a longer one is shortened, never refused
PHONE_SIGNS = frozenset("0123456789+-() ")


def language_of(telegram_code: str | None, default: str) -> str:
    """Map Telegram's language_code to one of ours: Chinese first, English for 'en*'."""
    if telegram_code and telegram_code.lower().startswith("en"):
        return "en"
    if telegram_code and telegram_code.lower().startswith("zh"):
        return "zh"
    return default


async def register_resident(
    uow: UnitOfWork, telegram_id: int, name: str, lang: str, household_id: int
) -> Person:
    """Register (or move) the person to a household; staff keep their roles.

    A long name is shortened to fit where it is shown, never refused. One with nothing visible
    in it is refused: the caller gives a neutral one instead (the chat says 居民).
    """
    household = await uow.places.household(household_id)
    if household is None:
        raise InvalidInput(reason="household")
    shown = display_name(name, None, MAX_NAME)
    if shown is None:
        raise InvalidInput(reason="too_short", limit=1)
    person = await uow.people.by_telegram(telegram_id)
    if person is None:
        person = await uow.people.add_resident(telegram_id, shown, lang, household_id)
    else:
        await uow.people.update(person.id, PersonChanges(household_id=household_id))
    await uow.chats.put(telegram_id, None)
    refreshed = await uow.people.get(person.id)
    assert refreshed is not None
    return refreshed


async def set_phone(uow: UnitOfWork, person: Person, phone: str) -> None:
    """Save the resident's phone number (digits with +, -, spaces or brackets; nothing else).

    Full-width digits (a Chinese keyboard's) are taken as the digits they are; any other kind of
    digit (①, ², ٣ …) is refused: str.isdigit() would let those through.
    """
    text = phone_characters(phone).strip()
    if not text or any(ch not in PHONE_SIGNS for ch in text):
        raise InvalidInput(reason="phone")
    cleaned = "".join(ch for ch in text if ch in "0123456789+")
    if not 5 <= sum(ch != "+" for ch in cleaned) <= 20:
        raise InvalidInput(reason="phone")
    await uow.people.update(person.id, PersonChanges(phone=cleaned))


async def join_staff(
    uow: UnitOfWork, clock: Clock, telegram_id: int, token: str, lang: str
) -> Person:
    """Bind a Telegram account to the staff member an invite was issued for."""
    person_id = await uow.invites.redeem(token, clock.now())
    if person_id is None:
        raise InvalidInvite()
    existing = await uow.people.by_telegram(telegram_id)
    if existing is not None and existing.id != person_id:
        # A resident who is also staff: one person from now on, with the household and orders.
        await uow.people.update(existing.id, PersonChanges(telegram_id=None))
        if existing.household_id is not None:
            await uow.people.update(person_id, PersonChanges(household_id=existing.household_id))
        await uow.orders.transfer_resident(existing.id, person_id)
    await uow.people.update(person_id, PersonChanges(telegram_id=telegram_id, lang=lang))
    await uow.audit.record(
        AuditEntry(clock.now(), "join", person_id, "", f"person {person_id}", {"invite": "used"})
    )
    person = await uow.people.get(person_id)
    if person is None:
        raise InvalidInvite()
    return person


async def issue_invite(
    uow: UnitOfWork, clock: Clock, person: Person, *, issued_by: str = "cli"
) -> str:
    """Create a one-time invite token for a staff member (the issuer is audited)."""
    token = secrets.token_urlsafe(16)
    await uow.invites.issue(person.id, token, clock.now())
    await uow.audit.record(
        AuditEntry(clock.now(), "invite", None, issued_by, f"person {person.code or person.id}")
    )
    return token


async def set_language(uow: UnitOfWork, person: Person, lang: str) -> None:
    """Switch the person's language."""
    if lang not in LANGUAGES:
        raise InvalidInput(reason="language")
    await uow.people.update(person.id, PersonChanges(lang=lang))


async def require_person(uow: UnitOfWork, telegram_id: int) -> Person:
    """Return the registered person behind a Telegram account, or raise NotRegistered."""
    person = await uow.people.by_telegram(telegram_id)
    if person is None:
        raise NotRegistered()
    return person


async def back_in_touch(uow: UnitOfWork, person: Person) -> None:
    """Mark a person who just wrote to the bot as reachable again (they unblocked it)."""
    if not person.reachable:
        await uow.people.set_reachable(person.id, True)


async def person_unreachable(uow: UnitOfWork, clock: Clock, person_id: int) -> list[Order]:
    """Mark someone who blocked the bot unreachable; pass on their offers, tell the dispatchers.

    Returns the tasks they held. Only the first call acts: their later messages fail alike.
    """
    if not await uow.people.set_reachable(person_id, False):
        return []
    person = await uow.people.get(person_id)
    held = await uow.orders.of_assignee(person_id, BUSY)
    for order in held:
        ctx = await load(uow, order.id)
        if person is None:
            continue
        if order.status == OrderStatus.OFFERED:
            # An offer waiting on someone who cannot see it goes to the next candidate now.
            await redispatch(uow, clock, ctx, actor_id=None, note=None)
            await _tell_dispatchers(uow, ctx, person, "queue.unreachable_offered", handover=False)
        else:
            await _tell_dispatchers(uow, ctx, person, "queue.unreachable_working", handover=True)
    return held


async def _tell_dispatchers(
    uow: UnitOfWork, ctx: OrderContext, person: Person, key: str, *, handover: bool
) -> None:
    """Tell each dispatcher of the order's community that its holder cannot be reached."""
    suggestions = await suggest(uow, ctx) if handover else []
    actions = tuple(
        Action.of(Verb.HAND_OVER, ctx.order.id, arg=str(p.id), params={"name": p.name})
        for p in suggestions
    )
    for dispatcher in await dispatchers(uow, ctx.place):
        params = card_params(ctx, dispatcher.lang) | {"name": person.name}
        await uow.outbox.add(Notice(dispatcher.id, key, params, actions))
