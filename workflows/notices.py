"""Notices (通知): staff in scope tell a place's residents, staff or both; reports; opting out.

A notice goes to a unit, building, grid, community or the whole street. Each recipient gets a
copy through the outbox with a low delivery priority (`urgent=False`: task cards go first), and
a normal notice waits out the quiet hours (`deferrable`); an urgent one (停水 停电 燃气) does not.
The grid groups of the place (workflows/groups.py) get it too when it is for residents. A
street-wide notice waits for a supervisor of the street to approve it. When every copy was
tried, the sender gets the counts (`reports_due`, a timer); /notices shows them meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflows.errors import DomainError, NotAllowed
from workflows.model import (
    Action,
    Audience,
    Bulletin,
    BulletinStatus,
    GroupKind,
    Notice,
    Person,
    Place,
    PlaceKind,
    Role,
    Tally,
)
from workflows.orders import clean_text
from workflows.ports import Clock, UnitOfWork
from workflows.timers import Due, Effect, TimerPolicy
from workflows.vocabulary import TimerKind, Verb

# Who may send notices, over the places their role covers.
SENDER_ROLES = (
    Role.GRID_WORKER,
    Role.BUILDING_HEAD,
    Role.COMMUNITY_CADRE,
    Role.SUPERVISOR,
    Role.ADMIN,
)
# The staff a notice for staff reaches: those whose role lies within the place.
STAFF_ROLES = (
    Role.UNIT_HEAD,
    Role.BUILDING_HEAD,
    Role.GRID_WORKER,
    Role.COMMUNITY_CADRE,
    Role.DISPATCHER,
    Role.SUPERVISOR,
    Role.VOLUNTEER,
)
BELOW = {
    PlaceKind.STREET: PlaceKind.COMMUNITY,
    PlaceKind.COMMUNITY: PlaceKind.GRID,
    PlaceKind.GRID: PlaceKind.BUILDING,
    PlaceKind.BUILDING: PlaceKind.UNIT,
}
MAX_TEXT = 1000  # a notice's words (a photo's caption holds 1024 characters)
MESSAGE_KEY = "notice.message"
URGENT_KEY = "notice.urgent_message"
GROUP_KEY = "group.notice"
LISTED = 5  # notices /notices shows


class NoticeGone(DomainError):
    """The notice being written is gone (sent, dropped, or a button of an older draft)."""

    key = "notice.gone"


class NoSupervisor(DomainError):
    """A street-wide notice needs a supervisor of the street, and there is none but the sender."""

    key = "notice.no_supervisor"


class NoticeDecided(DomainError):
    """Another supervisor approved or refused the notice first."""

    key = "notice.already_decided"


@dataclass(frozen=True)
class BulletinDraft:
    """What staff chose and wrote for a notice."""

    place_id: int
    audience: Audience
    urgent: bool
    text: str
    photo: str | None = None


def may_send(person: Person | None) -> bool:
    """Return whether the person holds a role that sends notices."""
    return person is not None and person.has_role(*SENDER_ROLES)


async def scopes(uow: UnitOfWork, person: Person) -> list[Place]:
    """Return the places the person may send notices to (with everything inside them)."""
    found: dict[int, Place] = {}
    for assignment in person.roles:
        if assignment.role not in SENDER_ROLES or assignment.place_id in found:
            continue
        place = await uow.places.get(assignment.place_id)
        if place is not None and place.kind != PlaceKind.DEPARTMENT:
            found[place.id] = place
    return list(found.values())


async def line_up(uow: UnitOfWork, place: Place) -> list[int]:
    """Return the ids of the place and every place above it, narrowest first."""
    ids = [place.id]
    parent = place.parent_id
    while parent is not None and parent not in ids:
        ids.append(parent)
        above = await uow.places.get(parent)
        parent = above.parent_id if above is not None else None
    return ids


async def place_for(uow: UnitOfWork, person: Person, place_id: int) -> Place:
    """Return the place if the person may send it a notice; else raise NotAllowed."""
    place = await uow.places.get(place_id)
    if place is None or place.kind == PlaceKind.DEPARTMENT:
        raise NotAllowed()
    covered = {p.id for p in await scopes(uow, person)}
    if not covered.intersection(await line_up(uow, place)):
        raise NotAllowed()
    return place


async def parts(uow: UnitOfWork, place: Place) -> list[Place]:
    """Return the places one level inside this one (none inside a unit)."""
    below = BELOW.get(place.kind)
    return [] if below is None else await uow.places.children(place.id, below)


async def inside(uow: UnitOfWork, place: Place) -> list[Place]:
    """Return the place and every place inside it, widest first."""
    found, level = [place], [place]
    while level:
        level = [child for p in level for child in await parts(uow, p)]
        found.extend(level)
    return found


def needs_approval(person: Person, place: Place) -> bool:
    """A street-wide notice needs a supervisor's approval, unless a street supervisor sends it."""
    if place.kind != PlaceKind.STREET:
        return False
    return not any(r.role == Role.SUPERVISOR and r.place_id == place.id for r in person.roles)


async def submit(uow: UnitOfWork, clock: Clock, person: Person, draft: BulletinDraft) -> Bulletin:
    """Send a notice now, or ask the street's supervisors to approve a street-wide one."""
    place = await place_for(uow, person, draft.place_id)
    text = clean_text(draft.text, limit=MAX_TEXT, minimum=2)
    pending = needs_approval(person, place)
    bulletin = await uow.bulletins.add(
        sender_id=person.id,
        place_id=place.id,
        audience=draft.audience,
        urgent=draft.urgent,
        text=text,
        photo=draft.photo,
        at=clock.now(),
        status=BulletinStatus.PENDING if pending else BulletinStatus.SENT,
    )
    if not pending:
        await fan_out(uow, bulletin, place, person)
        return bulletin
    supervisors = [
        s for s in await uow.people.with_role(Role.SUPERVISOR, [place.id]) if s.id != person.id
    ]
    if not supervisors:
        raise NoSupervisor()
    for supervisor in supervisors:
        await uow.outbox.add(
            Notice(
                supervisor.id,
                "notice.approve_card",
                {
                    **_about(bulletin, place, supervisor.lang),
                    "sender": person.name,
                },
                (
                    Action.of(Verb.NOTICE_APPROVE, bulletin.id),
                    Action.of(Verb.NOTICE_REFUSE, bulletin.id),
                ),
                photo=bulletin.photo,
                ref=f"notice-approve:{bulletin.id}",
            )
        )
    return bulletin


async def decide(
    uow: UnitOfWork, clock: Clock, person: Person, bulletin_id: int, approve: bool
) -> Bulletin:
    """A supervisor of the street approves (it goes out now) or refuses a street-wide notice."""
    bulletin = await uow.bulletins.get(bulletin_id)
    if bulletin is None:
        raise NotAllowed()
    if not any(r.role == Role.SUPERVISOR and r.place_id == bulletin.place_id for r in person.roles):
        raise NotAllowed()
    status = BulletinStatus.SENT if approve else BulletinStatus.REFUSED
    decided = await uow.bulletins.decide(bulletin_id, status, person.id, clock.now())
    if decided is None:
        raise NoticeDecided()
    place = await uow.places.get(decided.place_id)
    sender = await uow.people.get(decided.sender_id)
    if place is None or sender is None:
        raise NotAllowed()
    if approve:
        await fan_out(uow, decided, place, sender)
    key = "notice.approved" if approve else "notice.refused"
    await uow.outbox.add(
        Notice(sender.id, key, {**_about(decided, place, sender.lang), "by": person.name})
    )
    return decided


async def fan_out(uow: UnitOfWork, bulletin: Bulletin, place: Place, sender: Person) -> int:
    """Queue a copy for every recipient and a post for each linked residents' group."""
    places = await inside(uow, place)
    people: dict[int, Person] = {}
    residents: set[int] = set()
    if bulletin.audience in (Audience.RESIDENTS, Audience.BOTH):
        units = [p.id for p in places if p.kind == PlaceKind.UNIT]
        for resident in await uow.bulletins.residents_of(units):
            people.setdefault(resident.id, resident)
            residents.add(resident.id)
    if bulletin.audience in (Audience.STAFF, Audience.BOTH):
        ids = [p.id for p in places]
        for role in STAFF_ROLES:
            for member in await uow.people.with_role(role, ids):
                people.setdefault(member.id, member)
    people.pop(sender.id, None)
    off = set() if bulletin.urgent else await uow.bulletins.turned_off(sorted(residents))
    addressed = [p for p in people.values() if p.id not in off]
    for person in addressed:
        # Only a resident (not staff at work) may turn notices off, and never urgent ones.
        can_turn_off = not bulletin.urgent and person.id in residents and not person.is_staff
        await uow.outbox.add(
            Notice(
                person.id,
                URGENT_KEY if bulletin.urgent else MESSAGE_KEY,
                _about(bulletin, place, person.lang),
                (Action.of(Verb.NOTICE_OFF, 0),) if can_turn_off else (),
                photo=bulletin.photo,
                urgent=False,  # behind task cards and replies, whatever the notice says
                deferrable=not bulletin.urgent,
                ref=bulletin.ref,
            )
        )
    await uow.bulletins.set_recipients(bulletin.id, len(addressed))
    if bulletin.audience != Audience.STAFF:
        grids = [p.id for p in places if p.kind == PlaceKind.GRID]
        for group in await uow.bulletins.groups(grids, GroupKind.RESIDENTS):
            await uow.bulletins.post(
                group,
                Notice(
                    group.linked_by,
                    GROUP_KEY,
                    _about(bulletin, place, "zh"),
                    photo=bulletin.photo,
                    urgent=False,
                    deferrable=not bulletin.urgent,
                ),
            )
    return len(addressed)


def _about(bulletin: Bulletin, place: Place, lang: str) -> dict[str, Any]:
    """Return what a notice's message says: the place, the words, urgent or not."""
    return {
        "place": place.names.pick(lang),
        "text": bulletin.text,
        "audience": bulletin.audience.value,
        "urgent": "🚨" if bulletin.urgent else "📢",
    }


async def turn_off(uow: UnitOfWork, clock: Clock, person: Person, off: bool) -> None:
    """A resident turns non-urgent notices off, or on again."""
    await uow.bulletins.turn_off(person.id, off, clock.now())


async def recent(uow: UnitOfWork, person: Person) -> list[tuple[Bulletin, Place | None, Tally]]:
    """Return the person's latest notices with where each went and how its copies went."""
    found: list[tuple[Bulletin, Place | None, Tally]] = []
    for bulletin in await uow.bulletins.of_sender(person.id, LISTED):
        tally = (
            Tally(bulletin.delivered, bulletin.blocked, 0)
            if bulletin.reported_at is not None
            else await uow.bulletins.tally(bulletin)
        )
        found.append((bulletin, await uow.places.get(bulletin.place_id), tally))
    return found


async def reports_due(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find sent notices whose every copy was tried: the sender gets the final counts."""
    due: list[Due] = []
    for bulletin in await uow.bulletins.unreported():
        if (await uow.bulletins.tally(bulletin)).waiting or bulletin.sent_at is None:
            continue
        due.append(
            Due(TimerKind.NOTICE_REPORT, bulletin.id, bulletin.sent_at, _reporter(bulletin, clock))
        )
    return due


def _reporter(bulletin: Bulletin, clock: Clock) -> Effect:
    async def report(uow: UnitOfWork) -> None:
        tally = await uow.bulletins.tally(bulletin)
        if not await uow.bulletins.reported(bulletin.id, tally, clock.now()):
            return
        place = await uow.places.get(bulletin.place_id)
        sender = await uow.people.get(bulletin.sender_id)
        if place is None or sender is None:
            return
        await uow.outbox.add(
            Notice(
                sender.id,
                "notice.report",
                {
                    **_about(bulletin, place, sender.lang),
                    "recipients": bulletin.recipients,
                    "delivered": tally.delivered,
                    "blocked": tally.blocked,
                    "unreached": max(0, bulletin.recipients - tally.delivered - tally.blocked),
                },
                urgent=False,
            )
        )

    return report


def shown_at(bulletin: Bulletin) -> datetime:
    """Return when the notice went out (or was written, while it waits)."""
    return bulletin.sent_at or bulletin.created_at
