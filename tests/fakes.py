"""In-memory fakes of the ports in `workflows/ports.py`, a hand-moved clock and a sample org."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from storage.calendar import CHINA
from workflows.dispatch import accept_task
from workflows.model import (
    OPEN_STATUSES,
    PUBLIC_ROOMS,
    Audience,
    AuditEntry,
    Bulletin,
    BulletinStatus,
    Category,
    CategoryKind,
    ChatState,
    GridGroup,
    GroupKind,
    Household,
    HouseholdPlace,
    KeyHousehold,
    KeyRequest,
    KeyRequestStatus,
    Names,
    Notice,
    Order,
    OrderChanges,
    OrderEvent,
    OrderStatus,
    Person,
    PersonChanges,
    Place,
    PlaceKind,
    Question,
    QuestionCounts,
    Role,
    RoleAssignment,
    SentCopy,
    Tally,
    Traces,
    Urgency,
    Visit,
    VisitKind,
    VisitOutcome,
    Voice,
    VolunteerTeam,
)
from workflows.orders import OrderDraft, place_order
from workflows.vocabulary import Channel, Target, TimerKind
from workflows.work import resolve_task

if TYPE_CHECKING:
    from workflows.ports import (
        AuditRepository,
        BulletinRepository,
        CategoryRepository,
        ChatRepository,
        Clock,
        ConsoleLoginRepository,
        InviteRepository,
        OrderMoment,
        OrderRepository,
        OutboxRepository,
        PersonRepository,
        PlaceRepository,
        QuestionRepository,
        ReportRepository,
        TimerRepository,
        UnitOfWork,
        UpdateLog,
        VisitRepository,
        WorkCalendar,
    )

# Statuses that count towards a person's workload, as in the SQL repository.
BUSY = frozenset({OrderStatus.OFFERED, OrderStatus.ACCEPTED, OrderStatus.ON_WAY})
START = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)


class FakeClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, at: datetime = START) -> None:
        if at.tzinfo is None:
            raise ValueError("the clock tells timezone-aware UTC time")
        self.at = at

    def now(self) -> datetime:
        """Return the current (fake) time."""
        return self.at

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by a timedelta given as keywords (hours=2, minutes=5)."""
        self.at += timedelta(**delta)
        return self.at


@dataclass
class Team:
    """A volunteer team of a community with its skills (the domain has no such type yet)."""

    id: int
    code: str
    names: Names
    community_id: int
    skills: tuple[str, ...]
    member_ids: list[int] = field(default_factory=list)
    leader_id: int | None = None  # publicity (issue 17)


@dataclass
class Invite:
    """A one-time staff invite token."""

    person_id: int
    issued_at: datetime
    used_at: datetime | None = None


@dataclass
class FakeStore:
    """Everything the fake database holds; snapshotted on commit, restored on rollback."""

    places: dict[int, Place] = field(default_factory=dict)
    households: dict[int, Household] = field(default_factory=dict)
    people: dict[int, Person] = field(default_factory=dict)
    teams: dict[int, Team] = field(default_factory=dict)
    categories: dict[int, Category] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    order_community: dict[int, int] = field(default_factory=dict)
    events: list[OrderEvent] = field(default_factory=list)
    pool_offers: list[tuple[int, int]] = field(default_factory=list)
    followers: list[tuple[int, int]] = field(default_factory=list)  # (order id, person id)
    notices: list[Notice] = field(default_factory=list)
    # Notices Telegram accepted, with the chat and the message id it gave (FakeOutbox.deliver).
    delivered: list[tuple[Notice, int, int]] = field(default_factory=list)
    chats: dict[int, ChatState] = field(default_factory=dict)
    invites: dict[str, Invite] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    timers: dict[tuple[str, int, datetime], tuple[datetime, str]] = field(default_factory=dict)
    key_households: dict[int, KeyHousehold] = field(default_factory=dict)
    visits: dict[int, Visit] = field(default_factory=dict)
    updates: dict[int, datetime] = field(default_factory=dict)  # update id → when first seen
    questions: dict[int, Question] = field(default_factory=dict)  # behalf (issue 16)
    key_requests: dict[int, KeyRequest] = field(default_factory=dict)  # rounds (issue 17)
    # publicity (issue 17): messages to channels: (chat id, language, key, params).
    posts: list[tuple[int, str, str, dict[str, Any]]] = field(default_factory=list)
    # notices (issue 17): notices, who turned them off, grid groups and their posts, kept words.
    bulletins: dict[int, Bulletin] = field(default_factory=dict)
    notices_off: dict[int, datetime] = field(default_factory=dict)
    grid_groups: dict[int, GridGroup] = field(default_factory=dict)
    group_posts: list[tuple[int, Notice]] = field(default_factory=list)
    group_words: dict[str, str] = field(default_factory=dict)
    # console (issue 18): login link digest → (person id, expires at, used at)
    console_logins: dict[str, tuple[int, datetime, datetime | None]] = field(default_factory=dict)
    next_id: int = 1

    def new_id(self) -> int:
        """Return a fresh id (one sequence for everything keeps ids unambiguous in tests)."""
        value = self.next_id
        self.next_id += 1
        return value


class FakePlaces:
    """Places and households."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def get(self, place_id: int) -> Place | None:
        return self.store.places.get(place_id)

    async def children(self, parent_id: int | None, kind: PlaceKind) -> list[Place]:
        return [
            p
            for p in sorted(self.store.places.values(), key=lambda p: p.id)
            if p.kind == kind and (parent_id is None or p.parent_id == parent_id)
        ]

    async def by_code(self, code: str) -> Place | None:
        return next((p for p in self.store.places.values() if p.code == code), None)

    async def households(self, unit_id: int) -> list[Household]:
        return sorted(
            (
                h
                for h in self.store.households.values()
                if h.unit_id == unit_id and h.room not in PUBLIC_ROOMS
            ),
            key=lambda h: h.id,
        )

    async def household(self, household_id: int) -> Household | None:
        return self.store.households.get(household_id)

    async def public_household(self, unit_id: int, room: str) -> Household:
        for household in self.store.households.values():
            if household.unit_id == unit_id and household.room == room:
                return household
        household = Household(self.store.new_id(), unit_id, room)
        self.store.households[household.id] = household
        return household

    async def household_place(self, household_id: int) -> HouseholdPlace | None:
        household = self.store.households.get(household_id)
        if household is None:
            return None
        chain: list[Place] = []
        place_id: int | None = household.unit_id
        while place_id is not None and len(chain) < 4:
            place = self.store.places.get(place_id)
            if place is None:
                return None
            chain.append(place)
            place_id = place.parent_id
        if len(chain) < 4:
            return None
        unit, building, grid, community = chain
        return HouseholdPlace(household, unit, building, grid, community)


PERSON_FIELDS = frozenset(f.name for f in dataclasses.fields(Person)) - {"id", "roles"}


class FakePeople:
    """People, their roles and volunteer teams."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def _check_telegram(self, telegram_id: int | None, person_id: int | None) -> None:
        """Refuse a duplicate telegram_id, as the database's unique constraint would."""
        if telegram_id is None:
            return
        for p in self.store.people.values():
            if p.telegram_id == telegram_id and p.id != person_id:
                raise ValueError(f"telegram_id {telegram_id} already belongs to person {p.id}")

    async def get(self, person_id: int) -> Person | None:
        return self.store.people.get(person_id)

    async def by_telegram(self, telegram_id: int) -> Person | None:
        return next((p for p in self.store.people.values() if p.telegram_id == telegram_id), None)

    async def by_code(self, code: str) -> Person | None:
        return next((p for p in self.store.people.values() if p.code == code), None)

    async def forget(self, person_id: int, placeholder: str) -> None:
        person = self.store.people.get(person_id)
        if person is not None:
            self.store.people[person_id] = dataclasses.replace(
                person, name=placeholder, phone=None, telegram_id=None, household_id=None
            )

    async def add_resident(
        self, telegram_id: int, name: str, lang: str, household_id: int
    ) -> Person:
        self._check_telegram(telegram_id, None)
        if household_id not in self.store.households:
            raise ValueError(f"no household {household_id}")
        person = Person(
            id=self.store.new_id(),
            name=name,
            lang=lang,
            telegram_id=telegram_id,
            household_id=household_id,
        )
        self.store.people[person.id] = person
        return person

    async def of_household(self, household_id: int) -> list[Person]:
        return sorted(
            (p for p in self.store.people.values() if p.household_id == household_id),
            key=lambda p: p.id,
        )

    async def add_contact(self, name: str, phone: str, household_id: int) -> Person:
        if household_id not in self.store.households:
            raise ValueError(f"no household {household_id}")
        person = Person(
            id=self.store.new_id(), name=name, lang="zh", phone=phone, household_id=household_id
        )
        self.store.people[person.id] = person
        return person

    async def named(self, words: str, limit: int) -> list[Person]:
        found = sorted(
            (
                p
                for p in self.store.people.values()
                if p.household_id is not None and words in p.name
            ),
            key=lambda p: p.id,
        )
        return found[:limit]

    async def with_phone(self, phones: Sequence[str]) -> list[Person]:
        wanted = set(phones)
        return sorted(
            (
                p
                for p in self.store.people.values()
                if p.household_id is not None and p.phone is not None and p.phone in wanted
            ),
            key=lambda p: p.id,
        )

    async def update(self, person_id: int, changes: PersonChanges) -> None:
        fields = changes.set()
        unknown = set(fields) - PERSON_FIELDS
        if unknown:
            raise TypeError(f"people have no column(s) {sorted(unknown)}")
        person = self.store.people.get(person_id)
        if person is None:
            return  # an UPDATE that matches no row changes nothing
        if "telegram_id" in fields:
            self._check_telegram(fields["telegram_id"], person_id)
        self.store.people[person_id] = dataclasses.replace(person, **fields)

    async def set_reachable(self, person_id: int, reachable: bool) -> bool:
        person = self.store.people.get(person_id)
        if person is None or person.reachable == reachable:
            return False
        self.store.people[person_id] = dataclasses.replace(person, reachable=reachable)
        return True

    async def with_role(self, role: Role, place_ids: Sequence[int]) -> list[Person]:
        return await self.with_roles((role,), place_ids)

    async def with_roles(self, roles: Sequence[Role], place_ids: Sequence[int]) -> list[Person]:
        wanted = set(place_ids)
        return [
            p
            for p in sorted(self.store.people.values(), key=lambda p: p.id)
            if any(r.role in roles and r.place_id in wanted for r in p.roles)
        ]

    async def volunteers_with_skills(
        self, skills: Sequence[str], community_id: int
    ) -> list[Person]:
        member_ids: set[int] = set()
        for team in self.store.teams.values():
            if team.community_id == community_id and (not skills or set(skills) & set(team.skills)):
                member_ids.update(team.member_ids)
        return [self.store.people[pid] for pid in sorted(member_ids)]

    async def teams(self, community_ids: Sequence[int]) -> list[VolunteerTeam]:
        wanted = set(community_ids)
        return [
            VolunteerTeam(
                t.id,
                t.code,
                t.names,
                t.community_id,
                t.skills,
                tuple(sorted(t.member_ids)),
                t.leader_id,
            )
            for t in sorted(self.store.teams.values(), key=lambda t: t.id)
            if t.community_id in wanted
        ]

    async def workload(self, person_ids: Sequence[int]) -> dict[int, int]:
        wanted = set(person_ids)
        counts: dict[int, int] = {}
        for order in self.store.orders.values():
            if order.assignee_id in wanted and order.status in BUSY:
                counts[order.assignee_id] = counts.get(order.assignee_id, 0) + 1
        return counts


class FakeCategories:
    """Categories in the order residents see them."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def list(self) -> list[Category]:
        return sorted(self.store.categories.values(), key=lambda c: c.id)

    async def get(self, category_id: int) -> Category | None:
        return self.store.categories.get(category_id)


ORDER_COLUMNS = frozenset(f.name for f in dataclasses.fields(Order)) - {"id", "status", "version"}


def _column_value(name: str, value: Any) -> Any:
    """Return a value as it would read back from the database (enums from plain strings)."""
    if value is None:
        return None
    if name == "level":
        return Role(value)
    if name == "urgency":
        return Urgency(value)
    if name == "photos":
        return tuple(value)
    return value


def _apply(order: Order, changes: dict[str, Any]) -> Order:
    """Return the order with column changes applied, refusing columns that do not exist."""
    unknown = set(changes) - ORDER_COLUMNS
    if unknown:
        raise TypeError(f"orders have no column(s) {sorted(unknown)}")
    return dataclasses.replace(order, **{k: _column_value(k, v) for k, v in changes.items()})


class FakeOrders:
    """Orders, timelines and pool offers; `move` is a conditional write like the SQL one."""

    def __init__(self, store: FakeStore, places: FakePlaces) -> None:
        self.store = store
        self.places = places

    async def add(
        self,
        *,
        resident_id: int,
        household_id: int,
        category_id: int,
        description: str,
        urgency: Urgency,
        status: OrderStatus,
        photos: Sequence[str],
        latitude: float | None,
        longitude: float | None,
        created_at: datetime,
        voices: Sequence[Voice] = (),
        channel: Channel = Channel.CHAT,
    ) -> Order:
        place = await self.places.household_place(household_id)
        if place is None:
            raise ValueError(f"household {household_id} is not inside a community")
        order = Order(
            id=self.store.new_id(),
            resident_id=resident_id,
            household_id=household_id,
            category_id=category_id,
            description=description,
            urgency=Urgency(urgency),
            status=OrderStatus(status),
            assignee_id=None,
            created_at=created_at,
            photos=tuple(photos),
            voices=tuple(voices),
            latitude=latitude,
            longitude=longitude,
            version=0,
            building_id=place.building.id,
            channel=Channel(channel),
        )
        self.store.orders[order.id] = order
        self.store.order_community[order.id] = place.community.id
        return order

    async def get(self, order_id: int) -> Order | None:
        return self.store.orders.get(order_id)

    async def move(
        self,
        order_id: int,
        from_statuses: Iterable[OrderStatus],
        to_status: OrderStatus,
        *,
        expect_version: int | None = None,
        changes: OrderChanges | None = None,
    ) -> Order | None:
        order = self.store.orders.get(order_id)
        allowed = {OrderStatus(s) for s in from_statuses}
        if order is None or order.status not in allowed:
            return None
        if expect_version is not None and order.version != expect_version:
            return None
        moved = _apply(order, (changes or OrderChanges()).set())
        moved = dataclasses.replace(moved, status=OrderStatus(to_status), version=order.version + 1)
        self.store.orders[order_id] = moved
        return moved

    async def mark_published(self, order_id: int, at: datetime) -> bool:
        order = self.store.orders.get(order_id)
        if order is None or order.published_at is not None:
            return False
        self.store.orders[order_id] = dataclasses.replace(order, published_at=at)
        return True

    async def update(self, order_id: int, changes: OrderChanges) -> None:
        order = self.store.orders.get(order_id)
        if order is not None:
            self.store.orders[order_id] = _apply(order, changes.set())

    async def add_event(self, event: OrderEvent) -> None:
        if event.order_id not in self.store.orders:
            raise ValueError(f"no order {event.order_id} for the timeline entry")
        self.store.events.append(event)

    async def events(self, order_id: int) -> list[OrderEvent]:
        return [e for e in self.store.events if e.order_id == order_id]

    async def of_resident(self, resident_id: int, limit: int = 20) -> list[Order]:
        mine = [o for o in self.store.orders.values() if o.resident_id == resident_id]
        return sorted(mine, key=lambda o: o.id, reverse=True)[:limit]

    async def scrub_resident(self, resident_id: int, placeholder: str) -> int:
        mine = [o for o in self.store.orders.values() if o.resident_id == resident_id]
        for o in mine:
            self.store.orders[o.id] = dataclasses.replace(
                o,
                description=placeholder,
                photos=(),
                voices=(),
                latitude=None,
                longitude=None,
                comment=None,
                household_id=None,
            )
        self.store.events = [
            dataclasses.replace(e, note=e.note if e.action == "rate" else None, photo=None)
            if e.actor_id == resident_id
            else e
            for e in self.store.events
        ]
        return len(mine)

    async def placed_since(self, resident_id: int, since: datetime) -> int:
        return sum(
            1
            for o in self.store.orders.values()
            if o.resident_id == resident_id and o.created_at >= since
        )

    async def of_assignee(self, person_id: int, statuses: Iterable[OrderStatus]) -> list[Order]:
        wanted = {OrderStatus(s) for s in statuses}
        return sorted(
            (
                o
                for o in self.store.orders.values()
                if o.assignee_id == person_id and o.status in wanted
            ),
            key=lambda o: o.id,
        )

    async def pool_for(self, person_id: int) -> list[Order]:
        offered = {oid for oid, pid in self.store.pool_offers if pid == person_id}
        return sorted(
            (
                o
                for o in self.store.orders.values()
                if o.id in offered and o.status == OrderStatus.POOL
            ),
            key=lambda o: o.id,
        )

    async def in_community(self, community_id: int, statuses: Iterable[OrderStatus]) -> list[Order]:
        wanted = {OrderStatus(s) for s in statuses}
        return sorted(
            (
                o
                for o in self.store.orders.values()
                if self.store.order_community[o.id] == community_id and o.status in wanted
            ),
            key=lambda o: o.id,
        )

    async def transfer_resident(self, from_person: int, to_person: int) -> None:
        for order in list(self.store.orders.values()):
            if order.resident_id == from_person:
                self.store.orders[order.id] = dataclasses.replace(order, resident_id=to_person)

    async def pool_offers(self, order_id: int) -> list[int]:
        return [pid for oid, pid in self.store.pool_offers if oid == order_id]

    async def add_pool_offer(self, order_id: int, person_id: int) -> None:
        if (order_id, person_id) not in self.store.pool_offers:
            self.store.pool_offers.append((order_id, person_id))

    async def drop_pool_offer(self, order_id: int, person_id: int) -> None:
        if (order_id, person_id) in self.store.pool_offers:
            self.store.pool_offers.remove((order_id, person_id))

    async def open_alike(
        self, building_id: int, category_id: int, since: datetime, exclude_resident: int
    ) -> list[Order]:
        return sorted(
            (
                o
                for o in self.store.orders.values()
                if o.building_id == building_id
                and o.category_id == category_id
                and o.created_at >= since
                and o.status in OPEN_STATUSES
                and o.resident_id != exclude_resident
            ),
            key=lambda o: o.id,
        )

    async def add_follower(self, order_id: int, person_id: int, at: datetime) -> bool:
        if (order_id, person_id) in self.store.followers:
            return False
        self.store.followers.append((order_id, person_id))
        return True

    async def followers(self, order_id: int) -> list[int]:
        return [pid for oid, pid in self.store.followers if oid == order_id]


class FakeOutbox:
    """Notices the workflows queued, in order."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def add(self, notice: Notice) -> None:
        person = self.store.people.get(notice.person_id)
        if person is None or person.telegram_id is None:
            return  # nobody to tell yet, as in SqlOutbox: the timeline keeps the record
        self.store.notices.append(notice)

    async def forget(self, traces: Traces, placeholder: str) -> int:
        kept: list[Notice] = []
        for notice in self.store.notices:
            about = str(notice.params.get("number")) in traces.numbers or any(
                a.verb.target == Target.ORDER and a.target_id in traces.order_ids
                for a in notice.actions
            )
            if notice.person_id == traces.person_id or about:
                continue
            params = {k: _without(v, traces.words, placeholder) for k, v in notice.params.items()}
            photo = None if notice.photo in traces.words else notice.photo
            kept.append(dataclasses.replace(notice, params=params, photo=photo))
        dropped = len(self.store.notices) - len(kept)
        self.store.notices = kept
        return dropped

    async def take_back(
        self, refs: Sequence[str], *, except_person: int | None = None
    ) -> list[SentCopy]:
        def about(notice: Notice) -> bool:
            return notice.ref in refs and notice.person_id != except_person

        self.store.notices = [n for n in self.store.notices if not about(n)]
        copies: list[SentCopy] = []
        for index, (notice, chat_id, message_id) in enumerate(self.store.delivered):
            person = self.store.people.get(notice.person_id)
            if about(notice) and person is not None and person.telegram_id == chat_id:
                copies.append(SentCopy(notice.person_id, chat_id, message_id))
                self.store.delivered[index] = (
                    dataclasses.replace(notice, ref=None),
                    chat_id,
                    message_id,
                )
        return copies

    async def post(
        self, chat_id: int, lang: str, key: str, params: Mapping[str, Any], *, urgent: bool = False
    ) -> None:
        self.store.posts.append((chat_id, lang, key, dict(params)))

    def deliver(self) -> list[tuple[Notice, int, int]]:
        """Send what is queued to people with a chat: each gets a message id, leaving the queue."""
        for notice in self.store.notices:
            person = self.store.people.get(notice.person_id)
            if person is not None and person.telegram_id is not None:
                sent = (notice, person.telegram_id, 1000 + len(self.store.delivered))
                self.store.delivered.append(sent)
        self.store.notices = []
        return list(self.store.delivered)

    @property
    def notices(self) -> list[Notice]:
        """Return every notice queued (and not rolled back) so far."""
        return list(self.store.notices)

    def notices_for(self, person_id: int) -> list[Notice]:
        """Return the notices queued for one person, oldest first."""
        return [n for n in self.store.notices if n.person_id == person_id]

    def keys_for(self, person_id: int) -> list[str]:
        """Return the catalog keys of the notices queued for one person, oldest first."""
        return [n.key for n in self.notices_for(person_id)]


def _without(value: Any, words: frozenset[str], placeholder: str) -> Any:
    """Return a notice's parameter with each of the words replaced by the placeholder."""
    if isinstance(value, str):
        for word in sorted(words, key=len, reverse=True):
            value = value.replace(word, placeholder)
        return value
    if isinstance(value, dict):
        return {k: _without(v, words, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [_without(v, words, placeholder) for v in value]
    return value


class FakeChats:
    """Conversation state per Telegram user."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def get(self, telegram_id: int) -> ChatState | None:
        return self.store.chats.get(telegram_id)

    async def put(self, telegram_id: int, state: ChatState | None) -> None:
        if state is None:
            self.store.chats.pop(telegram_id, None)
        else:
            self.store.chats[telegram_id] = state


class FakeInvites:
    """One-time staff invite tokens."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def issue(self, person_id: int, token: str, at: datetime) -> None:
        if token in self.store.invites:
            raise ValueError("invite tokens are unique")
        self.store.invites[token] = Invite(person_id, at)

    async def redeem(self, token: str, at: datetime) -> int | None:
        invite = self.store.invites.get(token)
        if invite is None or invite.used_at is not None:
            return None
        invite.used_at = at
        return invite.person_id


class FakeConsoleLogins:
    """One-time console login links, by digest; each used once before it expires."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def issue(self, person_id: int, digest: str, at: datetime, expires_at: datetime) -> None:
        if digest in self.store.console_logins:
            raise ValueError("login digests are unique")
        self.store.console_logins[digest] = (person_id, expires_at, None)

    async def redeem(self, digest: str, at: datetime) -> int | None:
        found = self.store.console_logins.get(digest)
        if found is None or found[2] is not None or found[1] <= at:
            return None
        self.store.console_logins[digest] = (found[0], found[1], at)
        return found[0]


class FakeTimers:
    """The fired-timer ledger; `fire` refuses a (kind, subject, due_at) seen before."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def fire(
        self,
        kind: TimerKind,
        subject_id: int,
        due_at: datetime,
        at: datetime,
        outcome: str = "fired",
    ) -> bool:
        key = (kind, subject_id, due_at)
        if key in self.store.timers:
            return False
        self.store.timers[key] = (at, outcome)
        return True

    async def orders_due(
        self,
        kind: TimerKind,
        statuses: Iterable[OrderStatus],
        column: OrderMoment,
        before: datetime,
        after: datetime | None = None,
        by_category: Mapping[tuple[int, str], datetime] | None = None,
    ) -> list[Order]:
        wanted = {OrderStatus(s) for s in statuses}
        found = []
        for order in self.store.orders.values():
            moment: datetime | None = getattr(order, column)
            if order.status not in wanted or moment is None or moment > before:
                continue
            if after is not None and moment <= after:
                continue
            if by_category is not None:
                limit = by_category.get((order.category_id, order.urgency.value))
                if limit is None or moment > limit:
                    continue
            if (kind, order.id, moment) not in self.store.timers:
                found.append((moment, order.id, order))
        return [order for _, _, order in sorted(found, key=lambda t: (t[0], t[1]))]

    def fired(self, kind: str | None = None) -> list[tuple[str, int, datetime, str]]:
        """Return the ledger: (kind, subject, due_at, outcome), optionally of one kind."""
        return [
            (k, subject, due, outcome)
            for (k, subject, due), (_, outcome) in self.store.timers.items()
            if kind is None or k == kind
        ]


VISIT_COLUMNS = frozenset(f.name for f in dataclasses.fields(Visit)) - {"id"}


class FakeVisits:
    """Key households and visit tasks."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def unlink_orders(self, order_ids: Iterable[int]) -> None:
        wanted = set(order_ids)
        for visit in list(self.store.visits.values()):
            if visit.order_id in wanted:
                self.store.visits[visit.id] = dataclasses.replace(
                    visit, order_id=None, note=None, photo=None
                )

    async def key_households(self) -> list[KeyHousehold]:
        return [self.store.key_households[k] for k in sorted(self.store.key_households)]

    async def key_household(self, household_id: int) -> KeyHousehold | None:
        return self.store.key_households.get(household_id)

    async def latest(self, household_id: int, kind: VisitKind) -> Visit | None:
        mine = [
            v
            for v in self.store.visits.values()
            if v.household_id == household_id and v.kind == kind
        ]
        return max(mine, key=lambda v: (v.opened_at, v.id), default=None)

    async def latest_of_each(self, kind: VisitKind) -> dict[int, Visit]:
        found: dict[int, Visit] = {}
        for visit in sorted(self.store.visits.values(), key=lambda v: (v.opened_at, v.id)):
            if visit.kind == kind:
                found[visit.household_id] = visit
        return found

    async def add(
        self,
        *,
        household_id: int,
        person_id: int,
        kind: VisitKind,
        opened_at: datetime,
        due_at: datetime,
        order_id: int | None = None,
    ) -> Visit:
        if household_id not in self.store.households:
            raise ValueError(f"no household {household_id}")
        visit = Visit(
            self.store.new_id(), household_id, person_id, kind, opened_at, due_at, order_id
        )
        self.store.visits[visit.id] = visit
        return visit

    async def get(self, visit_id: int) -> Visit | None:
        return self.store.visits.get(visit_id)

    async def log(
        self, visit_id: int, outcome: VisitOutcome, at: datetime, note: str | None = None
    ) -> Visit | None:
        visit = self.store.visits.get(visit_id)
        if visit is None or visit.logged_at is not None:
            return None
        logged = dataclasses.replace(visit, outcome=outcome, logged_at=at, note=note)
        self.store.visits[visit_id] = logged
        return logged

    async def unlogged_due(self, before: datetime) -> list[Visit]:
        return sorted(
            (
                v
                for v in self.store.visits.values()
                if v.logged_at is None and v.missed_at is None and v.due_at <= before
            ),
            key=lambda v: (v.due_at, v.id),
        )

    async def mark_missed(self, visit_id: int, at: datetime) -> None:
        visit = self.store.visits.get(visit_id)
        if visit is not None and visit.missed_at is None:
            self.store.visits[visit_id] = dataclasses.replace(visit, missed_at=at)

    async def missed_between(self, since: datetime, until: datetime) -> list[Visit]:
        return sorted(
            (
                v
                for v in self.store.visits.values()
                if v.missed_at is not None and since <= v.missed_at < until
            ),
            key=lambda v: (v.missed_at or since, v.id),
        )

    async def open_for(self, person_id: int) -> list[Visit]:
        return sorted(
            (
                v
                for v in self.store.visits.values()
                if v.person_id == person_id and v.logged_at is None
            ),
            key=lambda v: (v.due_at, v.id),
        )

    # rounds (issue 17)
    async def write_note(self, visit_id: int, note: str, photo: str | None) -> Visit | None:
        visit = self.store.visits.get(visit_id)
        if visit is None or visit.logged_at is None:
            return None
        noted = dataclasses.replace(visit, note=note, photo=photo)
        self.store.visits[visit_id] = noted
        return noted

    async def visited_between(
        self, household_ids: Sequence[int], since: datetime, until: datetime
    ) -> set[int]:
        wanted = set(household_ids)
        return {
            v.household_id
            for v in self.store.visits.values()
            if v.household_id in wanted
            and v.logged_at is not None
            and since <= v.logged_at < until
            and v.outcome != VisitOutcome.NOT_HOME
        }

    async def history(self, household_id: int, limit: int) -> list[Visit]:
        logged = [
            v
            for v in self.store.visits.values()
            if v.household_id == household_id and v.logged_at is not None
        ]
        logged.sort(key=lambda v: (v.logged_at or datetime.min.replace(tzinfo=UTC), v.id))
        return list(reversed(logged))[:limit]

    async def mark_key(self, key: KeyHousehold) -> None:
        self.store.key_households[key.household_id] = key
        household = self.store.households.get(key.household_id)
        if household is not None:
            self.store.households[household.id] = dataclasses.replace(household, is_key=True)

    async def add_key_request(
        self,
        *,
        household_id: int,
        requested_by: int,
        kind: str,
        visit_every_days: int,
        at: datetime,
    ) -> KeyRequest:
        request = KeyRequest(
            self.store.new_id(), household_id, requested_by, kind, visit_every_days, at
        )
        self.store.key_requests[request.id] = request
        return request

    async def key_request(self, request_id: int) -> KeyRequest | None:
        return self.store.key_requests.get(request_id)

    async def decide_key_request(
        self, request_id: int, status: KeyRequestStatus, by: int, at: datetime
    ) -> KeyRequest | None:
        request = self.store.key_requests.get(request_id)
        if request is None or request.status != KeyRequestStatus.PENDING:
            return None
        decided = dataclasses.replace(request, status=status, decided_by=by, decided_at=at)
        self.store.key_requests[request_id] = decided
        return decided


class FakeReports:
    """Orders placed and timeline entries in a window, by community."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def created_between(
        self, community_ids: Sequence[int], since: datetime, until: datetime
    ) -> list[Order]:
        wanted = set(community_ids)
        return sorted(
            (
                o
                for o in self.store.orders.values()
                if self.store.order_community[o.id] in wanted and since <= o.created_at < until
            ),
            key=lambda o: o.id,
        )

    async def events_between(
        self,
        community_ids: Sequence[int],
        actions: Sequence[str],
        since: datetime,
        until: datetime,
    ) -> list[OrderEvent]:
        wanted = set(community_ids)
        found = [
            e
            for e in self.store.events
            if e.action in actions
            and since <= e.at < until
            and self.store.order_community[e.order_id] in wanted
        ]
        return sorted(found, key=lambda e: e.at)  # by time, then as written (like SQL)

    async def placed_moments(
        self, community_ids: Sequence[int], since: datetime, until: datetime
    ) -> list[datetime]:
        return [o.created_at for o in await self.created_between(community_ids, since, until)]

    async def overdue(self, community_ids: Sequence[int], now: datetime) -> list[Order]:
        wanted = set(community_ids)
        return sorted(
            (
                o
                for o in self.store.orders.values()
                if self.store.order_community[o.id] in wanted
                and o.status in OPEN_STATUSES
                and (
                    (o.resolve_due is not None and o.resolve_due <= now)
                    or (
                        o.status == OrderStatus.OFFERED
                        and o.accept_due is not None
                        and o.accept_due <= now
                    )
                    or (
                        o.status in (OrderStatus.QUEUED, OrderStatus.POOL)
                        and o.wait_due is not None
                        and o.wait_due <= now
                    )
                )
            ),
            key=lambda o: o.id,
        )

    async def household_places(self, household_ids: Iterable[int]) -> dict[int, HouseholdPlace]:
        places = FakePlaces(self.store)
        found = {h: await places.household_place(h) for h in set(household_ids)}
        return {h: place for h, place in found.items() if place is not None}

    async def backlog(
        self, community_ids: Sequence[int], statuses: Iterable[OrderStatus]
    ) -> dict[OrderStatus, tuple[int, datetime]]:
        wanted = set(community_ids)
        found: dict[OrderStatus, tuple[int, datetime]] = {}
        for status in statuses:
            waiting = [
                o.created_at
                for o in self.store.orders.values()
                if o.status == status and self.store.order_community[o.id] in wanted
            ]
            if waiting:
                found[status] = (len(waiting), min(waiting))
        return found

    async def building_grids(self, building_ids: Iterable[int]) -> dict[int, Place]:
        places = FakePlaces(self.store)
        found: dict[int, Place] = {}
        for building_id in set(building_ids):
            building = await places.get(building_id)
            grid = await places.get(building.parent_id) if building and building.parent_id else None
            if grid is not None:
                found[building_id] = grid
        return found


class FakeAudit:
    """The audit log, in memory."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def record(self, entry: AuditEntry) -> None:
        # The actor column holds 100 characters, as in SqlAudit.
        self.store.audit.append(dataclasses.replace(entry, actor=entry.actor[:100]))

    async def latest(self, limit: int) -> list[AuditEntry]:
        return list(reversed(self.store.audit))[:limit]


class FakeUpdateLog:
    """The Telegram update ids that took effect, like SqlUpdateLog (rolled back with the rest)."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def first_time(self, update_id: int, at: datetime) -> bool:
        """Record the update in this transaction; False if it was recorded before."""
        if update_id in self.store.updates:
            return False
        self.store.updates[update_id] = at
        return True

    async def forget_before(self, at: datetime) -> int:
        """Drop the records of updates seen before `at`; return how many."""
        old = [u for u, seen in self.store.updates.items() if seen < at]
        for update_id in old:
            del self.store.updates[update_id]
        return len(old)


class FakeQuestions:
    """Questions (咨询); answering is conditional like the SQL one."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def add(
        self,
        *,
        asker_id: int,
        household_id: int,
        community_id: int,
        assignee_id: int | None,
        text: str,
        asked_at: datetime,
        answer_due: datetime,
    ) -> Question:
        question = Question(
            self.store.new_id(),
            asker_id,
            household_id,
            community_id,
            assignee_id,
            text,
            asked_at,
            answer_due,
        )
        self.store.questions[question.id] = question
        return question

    async def get(self, question_id: int) -> Question | None:
        return self.store.questions.get(question_id)

    async def forget_asker(self, person_id: int) -> list[Question]:
        gone = [q for q in self.store.questions.values() if q.asker_id == person_id]
        for question in gone:
            del self.store.questions[question.id]
        return gone

    async def answer(self, question_id: int, person_id: int, text: str, at: datetime) -> bool:
        question = self.store.questions.get(question_id)
        if question is None or question.answered_at is not None:
            return False
        self.store.questions[question_id] = dataclasses.replace(
            question, answer=text, answered_at=at, answered_by=person_id
        )
        return True

    async def unanswered(self) -> list[Question]:
        return sorted(
            (q for q in self.store.questions.values() if q.answered_at is None),
            key=lambda q: (q.answer_due, q.id),
        )

    async def counts(
        self, community_ids: Sequence[int], since: datetime, until: datetime
    ) -> QuestionCounts:
        mine = [q for q in self.store.questions.values() if q.community_id in community_ids]
        return QuestionCounts(
            sum(since <= q.asked_at < until for q in mine),
            sum(q.answered_at is not None and since <= q.answered_at < until for q in mine),
            sum(q.answered_at is None and q.answer_due < until for q in mine),
        )


class FakeBulletins:
    """Notices (通知), opting out, grid groups and kept words (notices, issue 17)."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def add(
        self,
        *,
        sender_id: int,
        place_id: int,
        audience: Audience,
        urgent: bool,
        text: str,
        photo: str | None,
        at: datetime,
        status: BulletinStatus,
    ) -> Bulletin:
        bulletin = Bulletin(
            self.store.new_id(),
            sender_id,
            place_id,
            audience,
            urgent,
            text,
            at,
            status,
            photo=photo,
            sent_at=at if status == BulletinStatus.SENT else None,
        )
        self.store.bulletins[bulletin.id] = bulletin
        return bulletin

    async def get(self, bulletin_id: int) -> Bulletin | None:
        return self.store.bulletins.get(bulletin_id)

    async def decide(
        self, bulletin_id: int, status: BulletinStatus, by: int, at: datetime
    ) -> Bulletin | None:
        found = self.store.bulletins.get(bulletin_id)
        if found is None or found.status != BulletinStatus.PENDING:
            return None
        sent_at = at if status == BulletinStatus.SENT else None
        decided = dataclasses.replace(found, status=status, decided_by=by, sent_at=sent_at)
        self.store.bulletins[bulletin_id] = decided
        return decided

    async def set_recipients(self, bulletin_id: int, recipients: int) -> None:
        found = self.store.bulletins[bulletin_id]
        self.store.bulletins[bulletin_id] = dataclasses.replace(found, recipients=recipients)

    async def of_sender(self, sender_id: int, limit: int) -> list[Bulletin]:
        mine = [b for b in self.store.bulletins.values() if b.sender_id == sender_id]
        return sorted(mine, key=lambda b: -b.id)[:limit]

    async def tally(self, bulletin: Bulletin) -> Tally:
        waiting = sum(1 for n in self.store.notices if n.ref == bulletin.ref)
        delivered = sum(1 for n, _, _ in self.store.delivered if n.ref == bulletin.ref)
        return Tally(delivered, 0, waiting)

    async def unreported(self) -> list[Bulletin]:
        return [
            b
            for b in sorted(self.store.bulletins.values(), key=lambda b: b.id)
            if b.reported_at is None and b.status == BulletinStatus.SENT
        ]

    async def reported(self, bulletin_id: int, tally: Tally, at: datetime) -> bool:
        found = self.store.bulletins[bulletin_id]
        if found.reported_at is not None:
            return False
        self.store.bulletins[bulletin_id] = dataclasses.replace(
            found, reported_at=at, delivered=tally.delivered, blocked=tally.blocked
        )
        return True

    async def turn_off(self, person_id: int, off: bool, at: datetime) -> None:
        self.store.notices_off.pop(person_id, None)
        if off:
            self.store.notices_off[person_id] = at

    async def turned_off(self, person_ids: Sequence[int]) -> set[int]:
        return {p for p in person_ids if p in self.store.notices_off}

    async def residents_of(self, unit_ids: Sequence[int]) -> list[Person]:
        homes = {h.id for h in self.store.households.values() if h.unit_id in unit_ids}
        return [
            p
            for p in sorted(self.store.people.values(), key=lambda p: p.id)
            if p.household_id in homes
        ]

    async def link(self, group: GridGroup) -> None:
        self.store.grid_groups[group.chat_id] = group

    async def unlink(self, chat_id: int) -> GridGroup | None:
        return self.store.grid_groups.pop(chat_id, None)

    async def group(self, chat_id: int) -> GridGroup | None:
        return self.store.grid_groups.get(chat_id)

    async def groups(self, place_ids: Sequence[int], kind: GroupKind) -> list[GridGroup]:
        return [
            g
            for g in sorted(self.store.grid_groups.values(), key=lambda g: g.linked_at)
            if g.place_id in place_ids and g.kind == kind
        ]

    async def post(self, group: GridGroup, notice: Notice) -> None:
        self.store.group_posts.append((group.chat_id, notice))

    async def keep_words(self, token: str, text: str, at: datetime) -> None:
        self.store.group_words[token] = text

    async def take_words(self, token: str) -> str | None:
        return self.store.group_words.pop(token, None)


class FakeUnitOfWork:
    """All fake repositories over one store; rollback restores the state of the last commit."""

    def __init__(self) -> None:
        self.store = FakeStore()
        # Typed as the ports: the protocol's attributes are settable, so mypy wants them exact.
        places = FakePlaces(self.store)
        self.places: PlaceRepository = places
        self.people: PersonRepository = FakePeople(self.store)
        self.categories: CategoryRepository = FakeCategories(self.store)
        self.orders: OrderRepository = FakeOrders(self.store, places)
        self.sent = FakeOutbox(self.store)
        self.outbox: OutboxRepository = self.sent
        self.chats: ChatRepository = FakeChats(self.store)
        self.invites: InviteRepository = FakeInvites(self.store)
        self.audit: AuditRepository = FakeAudit(self.store)
        self.ledger = FakeTimers(self.store)
        self.timers: TimerRepository = self.ledger
        self.visits: VisitRepository = FakeVisits(self.store)
        self.reports: ReportRepository = FakeReports(self.store)
        self.updates: UpdateLog = FakeUpdateLog(self.store)
        self.calendar: WorkCalendar = CHINA
        self.questions: QuestionRepository = FakeQuestions(self.store)
        self.bulletins: BulletinRepository = FakeBulletins(self.store)
        self.console_logins: ConsoleLoginRepository = FakeConsoleLogins(self.store)
        self.committed = 0  # how many times an entry point committed
        self.rolled_back = 0
        self._snapshot = copy.deepcopy(self.store)

    @property
    def notices(self) -> list[Notice]:
        """Return every notice queued (and not rolled back) so far."""
        return self.sent.notices

    def notices_for(self, person_id: int) -> list[Notice]:
        """Return the notices queued for one person, oldest first."""
        return self.sent.notices_for(person_id)

    def keys_for(self, person_id: int) -> list[str]:
        """Return the catalog keys of the notices queued for one person, oldest first."""
        return self.sent.keys_for(person_id)

    def settle(self) -> None:
        """Make the current state the committed baseline without counting a commit (for setup)."""
        self._snapshot = copy.deepcopy(self.store)

    async def commit(self) -> None:
        """Make the current state the committed one, and count the commit."""
        self.committed += 1
        self._snapshot = copy.deepcopy(self.store)

    async def rollback(self) -> None:
        self.rolled_back += 1
        restored = copy.deepcopy(self._snapshot)
        # Restore in place: the repositories keep their reference to the one store.
        for f in dataclasses.fields(FakeStore):
            setattr(self.store, f.name, getattr(restored, f.name))

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Like the SQL unit of work: leaving without commit throws the changes away.
        await self.rollback()


# --- a sample organisation ------------------------------------------------------------------


def _names(zh: str, en: str) -> Names:
    return Names(zh, en)


class OrgBuilder:
    """Adds places, households, people, teams and categories straight into a fake store."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.store = uow.store
        self._telegram = 10_000

    def place(self, kind: PlaceKind, code: str, zh: str, en: str, parent: Place | None) -> Place:
        """Add a place under a parent."""
        place = Place(
            self.store.new_id(), kind, code, _names(zh, en), parent.id if parent else None
        )
        self.store.places[place.id] = place
        return place

    def household(self, unit: Place, room: str, *, is_key: bool = False) -> Household:
        """Add a household (room) to a unit."""
        household = Household(self.store.new_id(), unit.id, room, is_key)
        self.store.households[household.id] = household
        return household

    def person(
        self,
        name: str,
        *roles: tuple[Role, Place],
        lang: str = "zh",
        household: Household | None = None,
        phone: str | None = None,
        telegram: bool = True,
    ) -> Person:
        """Add a person with roles over places; gives them a Telegram account unless told not."""
        telegram_id = None
        if telegram:
            self._telegram += 1
            telegram_id = self._telegram
        person = Person(
            id=self.store.new_id(),
            name=name,
            lang=lang,
            telegram_id=telegram_id,
            code=f"p{self.store.next_id}",
            phone=phone,
            household_id=household.id if household else None,
            roles=tuple(RoleAssignment(role, place.id) for role, place in roles),
        )
        self.store.people[person.id] = person
        return person

    def team(
        self,
        code: str,
        community: Place,
        skills: Sequence[str],
        members: Sequence[Person],
        leader: Person | None = None,
    ) -> Team:
        """Add a volunteer team with skills and members (and a leader)."""
        team = Team(
            self.store.new_id(),
            code,
            _names(code, code),
            community.id,
            tuple(skills),
            [m.id for m in members],
            leader.id if leader else None,
        )
        self.store.teams[team.id] = team
        return team

    def category(
        self,
        code: str,
        *,
        role: Role | None,
        kind: CategoryKind = CategoryKind.ROUTED,
        skills: Sequence[str] = (),
        department: Place | None = None,
    ) -> Category:
        """Add a category with ordinary deadlines."""
        category = Category(
            id=self.store.new_id(),
            code=code,
            names=_names(f"类别{code}", f"Category {code}"),
            kind=kind,
            role=role,
            skills=tuple(skills),
            department_id=department.id if department else None,
            accept_minutes=30,
            resolve_hours=24,
            urgent_accept_minutes=10,
            urgent_resolve_hours=4,
            followup_days=7,
        )
        self.store.categories[category.id] = category
        return category


@dataclass(frozen=True)
class SampleOrg:
    """Who and what `sample_org` created, by name."""

    street: Place
    community: Place
    grid: Place
    building: Place
    unit: Place
    department: Place
    room101: Household
    room102: Household
    unit_head: Person
    building_head: Person
    grid_worker: Person
    grid_worker2: Person
    cadre: Person
    dispatcher: Person
    liaison: Person
    volunteer1: Person
    volunteer2: Person
    team: Team
    resident: Person
    neighbour: Person
    repairs: Category  # routed to the unit head, with a department behind it
    grid_matters: Category  # routed to the grid worker
    wishes: Category  # pool: micro-wishes for volunteers
    other: Category  # no rule: straight to the dispatcher's queue
    # A second community under the same street, to check that scopes do not leak.
    other_community: Place
    other_household: Household
    other_grid_worker: Person
    other_dispatcher: Person
    other_resident: Person

    @property
    def staff(self) -> tuple[Person, ...]:
        """Return the staff of the main community (and its street's department)."""
        return (
            self.unit_head,
            self.building_head,
            self.grid_worker,
            self.grid_worker2,
            self.cadre,
            self.dispatcher,
            self.liaison,
            self.volunteer1,
            self.volunteer2,
        )


def sample_org(uow: FakeUnitOfWork) -> SampleOrg:
    """Create a street, two communities and the five-level crew, then settle it as committed."""
    b = OrgBuilder(uow)
    street = b.place(PlaceKind.STREET, "st", "幸福街道", "Xingfu Street", None)
    community = b.place(PlaceKind.COMMUNITY, "c1", "和平社区", "Heping Community", street)
    grid = b.place(PlaceKind.GRID, "g1", "第一网格", "Grid 1", community)
    building = b.place(PlaceKind.BUILDING, "b3", "3号楼", "Building 3", grid)
    unit = b.place(PlaceKind.UNIT, "b3u1", "1单元", "Unit 1", building)
    department = b.place(PlaceKind.DEPARTMENT, "water", "自来水公司", "Water Company", street)
    room101 = b.household(unit, "101")
    room102 = b.household(unit, "102", is_key=True)

    unit_head = b.person("单元长老王", (Role.UNIT_HEAD, unit))
    building_head = b.person("楼栋长李姐", (Role.BUILDING_HEAD, building))
    grid_worker = b.person("网格员小张", (Role.GRID_WORKER, grid))
    grid_worker2 = b.person("网格员小赵", (Role.GRID_WORKER, grid), lang="en")
    cadre = b.person("社区干部陈书记", (Role.COMMUNITY_CADRE, community))
    dispatcher = b.person("派单员刘", (Role.DISPATCHER, community))
    liaison = b.person("联络员周", (Role.DEPT_LIAISON, department))
    volunteer1 = b.person("志愿者小红", (Role.VOLUNTEER, community))
    volunteer2 = b.person("志愿者小明", (Role.VOLUNTEER, community), lang="en")
    team = b.team("红管家", community, ["micro_wish"], [volunteer1, volunteer2])
    resident = b.person("居民王阿姨", household=room101, phone="13800000001")
    neighbour = b.person("Neighbour Li", household=room102, lang="en")

    repairs = b.category(
        "repairs", role=Role.UNIT_HEAD, kind=CategoryKind.ROUTED, department=department
    )
    grid_matters = b.category("grid", role=Role.GRID_WORKER)
    wishes = b.category("wish", role=None, kind=CategoryKind.POOL, skills=["micro_wish"])
    other = b.category("other", role=None)

    other_community = b.place(PlaceKind.COMMUNITY, "c2", "光明社区", "Guangming Community", street)
    other_grid = b.place(PlaceKind.GRID, "g9", "第九网格", "Grid 9", other_community)
    other_building = b.place(PlaceKind.BUILDING, "b9", "9号楼", "Building 9", other_grid)
    other_unit = b.place(PlaceKind.UNIT, "b9u1", "1单元", "Unit 1", other_building)
    other_household = b.household(other_unit, "901")
    other_grid_worker = b.person("光明网格员", (Role.GRID_WORKER, other_grid))
    other_dispatcher = b.person("光明派单员", (Role.DISPATCHER, other_community))
    other_resident = b.person("光明居民", household=other_household)

    uow.settle()
    return SampleOrg(
        street=street,
        community=community,
        grid=grid,
        building=building,
        unit=unit,
        department=department,
        room101=room101,
        room102=room102,
        unit_head=unit_head,
        building_head=building_head,
        grid_worker=grid_worker,
        grid_worker2=grid_worker2,
        cadre=cadre,
        dispatcher=dispatcher,
        liaison=liaison,
        volunteer1=volunteer1,
        volunteer2=volunteer2,
        team=team,
        resident=resident,
        neighbour=neighbour,
        repairs=repairs,
        grid_matters=grid_matters,
        wishes=wishes,
        other=other,
        other_community=other_community,
        other_household=other_household,
        other_grid_worker=other_grid_worker,
        other_dispatcher=other_dispatcher,
        other_resident=other_resident,
    )


@dataclass
class World:
    """A fake unit of work, a fake clock and the sample org, ready for a test."""

    uow: FakeUnitOfWork
    clock: FakeClock
    org: SampleOrg

    def person(self, person_id: int) -> Person:
        """Return a person as stored now (roles, telegram id and household may have changed)."""
        return self.uow.store.people[person_id]

    def order(self, order_id: int) -> Order:
        """Return an order as stored now."""
        return self.uow.store.orders[order_id]

    async def place(
        self,
        category: Category,
        resident: Person | None = None,
        description: str = "厨房水管漏水，请尽快来看看",
        **draft: Any,
    ) -> Order:
        """Place an order as a resident (the sample resident of room 101 unless told)."""
        who = resident or self.org.resident
        return await place_order(
            self.uow, self.clock, who, OrderDraft(category.id, description, **draft)
        )

    async def accepted(self, category: Category, resident: Person | None = None) -> Order:
        """Place an order and have whoever it is offered to accept it."""
        order = await self.place(category, resident)
        assert order.assignee_id is not None, f"{category.code} was not offered to anyone"
        return await accept_task(self.uow, self.clock, self.person(order.assignee_id), order.id)

    async def resolved(self, category: Category, resident: Person | None = None) -> Order:
        """Place, accept and resolve an order."""
        order = await self.accepted(category, resident)
        assert order.assignee_id is not None
        worker = self.person(order.assignee_id)
        return await resolve_task(self.uow, self.clock, worker, order.id, "已更换阀门")


def sample_world() -> World:
    """Return a fresh world with the sample org settled as committed and nothing counted."""
    uow = FakeUnitOfWork()
    return World(uow, FakeClock(), sample_org(uow))


if TYPE_CHECKING:
    # mypy proves the fakes satisfy the ports structurally.
    def _satisfies_ports(uow: FakeUnitOfWork, clock: FakeClock) -> tuple[UnitOfWork, Clock]:
        return uow, clock
