"""What the workflows need from the outside world: repositories, a unit of work, a clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal, Protocol

from workflows.model import (
    Audience,
    AuditEntry,
    Bulletin,
    BulletinStatus,
    Category,
    ChatState,
    GridGroup,
    GroupKind,
    Household,
    HouseholdPlace,
    KeyHousehold,
    KeyRequest,
    KeyRequestStatus,
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
from workflows.vocabulary import Channel, TimerKind

# The order columns that hold a moment a timer answers to.
OrderMoment = Literal[
    "accept_due",
    "resolve_due",
    "resolved_at",
    "closed_at",
    "paused_until",
    "wait_due",
    "extension_requested_at",
    "info_asked_at",  # infoask (issue 15)
]


class Clock(Protocol):
    """Tells the time; tests move it by hand."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware UTC."""
        ...


class WorkCalendar(Protocol):
    """Which days are working days (national holidays and 调休 make-up days included)."""

    def is_workday(self, day: date) -> bool:
        """Return whether people work on this local date."""
        ...


class PlaceRepository(Protocol):
    """Places of the organisation and their households."""

    async def get(self, place_id: int) -> Place | None: ...
    async def children(self, parent_id: int | None, kind: PlaceKind) -> list[Place]: ...
    async def by_code(self, code: str) -> Place | None: ...
    async def households(self, unit_id: int) -> list[Household]:
        """Return the unit's rooms people live in (not its public areas), in file order."""

    async def household(self, household_id: int) -> Household | None: ...
    async def household_place(self, household_id: int) -> HouseholdPlace | None: ...
    # behalf (issue 16): a unit's public area, an order's place when staff report on patrol.
    async def public_household(self, unit_id: int, room: str) -> Household:
        """Return the unit's household named `room`, made on first use."""
        ...


class PersonRepository(Protocol):
    """People: residents and staff with their roles."""

    async def get(self, person_id: int) -> Person | None: ...
    async def by_telegram(self, telegram_id: int) -> Person | None: ...
    async def by_code(self, code: str) -> Person | None: ...
    async def forget(self, person_id: int, placeholder: str) -> None:
        """Erase the person's name, phone, Telegram account and household link."""
        ...

    async def add_resident(
        self, telegram_id: int, name: str, lang: str, household_id: int
    ) -> Person: ...
    async def update(self, person_id: int, changes: PersonChanges) -> None: ...
    async def set_reachable(self, person_id: int, reachable: bool) -> bool:
        """Set whether Telegram can reach the person; False if it already was so."""
        ...

    async def with_role(self, role: Role, place_ids: Sequence[int]) -> list[Person]: ...
    async def with_roles(self, roles: Sequence[Role], place_ids: Sequence[int]) -> list[Person]:
        """Return the people holding any of the roles at any of the places, by id (each once,
        with all their roles)."""
        ...

    async def volunteers_with_skills(
        self, skills: Sequence[str], community_id: int
    ) -> list[Person]: ...
    async def workload(self, person_ids: Sequence[int]) -> dict[int, int]: ...
    # behalf (issue 16): who lives in a household; a contact without Telegram (name + phone).
    async def of_household(self, household_id: int) -> list[Person]: ...
    async def add_contact(self, name: str, phone: str, household_id: int) -> Person: ...
    async def named(self, words: str, limit: int) -> list[Person]:
        """Return people of a household whose name contains the words, oldest first."""
        ...

    # publicity (issue 17): teams with faces.
    async def teams(self, community_ids: Sequence[int]) -> list[VolunteerTeam]:
        """Return the volunteer teams of the communities, with members and leader, by id."""

    # open311 (issue 19): a caller's phone finds their household.
    async def with_phone(self, phones: Sequence[str]) -> list[Person]:
        """Return people of a household whose phone is one of `phones`, oldest first."""
        ...


class CategoryRepository(Protocol):
    """The categories residents choose from."""

    async def list(self) -> list[Category]: ...
    async def get(self, category_id: int) -> Category | None: ...


class OrderRepository(Protocol):
    """Orders and their timelines; transitions are conditional writes."""

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
    ) -> Order: ...
    async def get(self, order_id: int) -> Order | None: ...
    async def move(
        self,
        order_id: int,
        from_statuses: Iterable[OrderStatus],
        to_status: OrderStatus,
        *,
        expect_version: int | None = None,
        changes: OrderChanges | None = None,
    ) -> Order | None:
        """Move the order only if it is unchanged since read; None if someone moved it first."""
        ...

    async def update(self, order_id: int, changes: OrderChanges) -> None: ...
    async def add_event(self, event: OrderEvent) -> None: ...
    async def events(self, order_id: int) -> list[OrderEvent]: ...
    async def of_resident(self, resident_id: int, limit: int = 20) -> list[Order]: ...
    async def scrub_resident(self, resident_id: int, placeholder: str) -> int:
        """Blank what the resident wrote or sent on their orders and unlink their household,
        keeping the building, category, times, status and rating; return how many orders."""
        ...

    async def placed_since(self, resident_id: int, since: datetime) -> int:
        """Return how many orders the resident placed at or after `since`."""
        ...

    async def of_assignee(self, person_id: int, statuses: Iterable[OrderStatus]) -> list[Order]: ...
    async def pool_for(self, person_id: int) -> list[Order]:
        """Return the open pool orders this volunteer was offered."""
        ...

    async def in_community(
        self, community_id: int, statuses: Iterable[OrderStatus]
    ) -> list[Order]: ...
    async def transfer_resident(self, from_person: int, to_person: int) -> None:
        """Make another person the resident of every order the first one placed."""
        ...

    async def pool_offers(self, order_id: int) -> list[int]: ...
    async def add_pool_offer(self, order_id: int, person_id: int) -> None: ...
    async def drop_pool_offer(self, order_id: int, person_id: int) -> None:
        """Stop offering the pool order to the person (they left its teams or roles)."""
        ...

    # moves (issue 15): duplicates and their followers.
    async def open_alike(
        self, building_id: int, category_id: int, since: datetime, exclude_resident: int
    ) -> list[Order]:
        """Return the open orders of the category in the building placed at or after `since`
        by other residents, oldest first."""
        ...

    async def add_follower(self, order_id: int, person_id: int, at: datetime) -> bool:
        """Make the person a follower of the order; False if they already were."""
        ...

    async def followers(self, order_id: int) -> list[int]:
        """Return the ids of the people following the order, in the order they joined."""
        ...

    # publicity (issue 17): 公示 in the community's channel, once.
    async def mark_published(self, order_id: int, at: datetime) -> bool:
        """Record that the order was posted to its channel; False if it already was."""
        ...


class OutboxRepository(Protocol):
    """Messages to send, written in the same transaction as the change that causes them."""

    async def add(self, notice: Notice) -> None: ...
    async def forget(self, traces: Traces, placeholder: str) -> int:
        """Drop every message to the person and those still unsent about their orders; put
        `placeholder` for their words in other unsent ones; empty what was sent or given up.

        Return how many messages were dropped.
        """
        ...

    async def take_back(
        self, refs: Sequence[str], *, except_person: int | None = None
    ) -> list[SentCopy]:
        """Drop the unsent messages about any of `refs`; return the sent copies, forgetting refs.

        Messages to `except_person` are left alone. A copy is returned once (its ref is
        cleared) and only while it is in the chat its person has now; a message being sent
        at this moment is left as it is.
        """
        ...

    # publicity (issue 17)
    async def post(
        self, chat_id: int, lang: str, key: str, params: Mapping[str, Any], *, urgent: bool = False
    ) -> None:
        """Queue a message to a channel or group, nobody's private chat (paced as a group)."""
        ...


class ChatRepository(Protocol):
    """Multi-step conversation state, per Telegram user."""

    async def get(self, telegram_id: int) -> ChatState | None: ...
    async def put(self, telegram_id: int, state: ChatState | None) -> None: ...


class InviteRepository(Protocol):
    """One-time staff invite tokens."""

    async def issue(self, person_id: int, token: str, at: datetime) -> None: ...
    async def redeem(self, token: str, at: datetime) -> int | None: ...


class ConsoleLoginRepository(Protocol):
    """One-time login links to the web console (issue 18), kept only as digests."""

    async def issue(self, person_id: int, digest: str, at: datetime, expires_at: datetime) -> None:
        """Keep a new link's digest, valid until `expires_at`."""
        ...

    async def redeem(self, digest: str, at: datetime) -> int | None:
        """Use the link once, before it expires; return whose it was, else None."""
        ...


class TimerRepository(Protocol):
    """The ledger of timers that fired: each (kind, subject, due_at) fires once."""

    async def fire(
        self,
        kind: TimerKind,
        subject_id: int,
        due_at: datetime,
        at: datetime,
        outcome: str = "fired",
    ) -> bool:
        """Record the fire in this transaction; False if that timer fired before."""
        ...

    async def orders_due(
        self,
        kind: TimerKind,
        statuses: Iterable[OrderStatus],
        column: OrderMoment,
        before: datetime,
        after: datetime | None = None,
        by_category: Mapping[tuple[int, str], datetime] | None = None,
    ) -> list[Order]:
        """Return orders in the statuses whose `column` lies in (after, before] and whose
        `kind` timer for that moment has not fired, oldest moment first.

        With `by_category`, an order's `column` must also lie at or before the moment given
        for its (category id, urgency); orders of categories not given are not returned."""
        ...


class VisitRepository(Protocol):
    """Key households and visit tasks (走访)."""

    async def key_households(self) -> list[KeyHousehold]: ...
    async def key_household(self, household_id: int) -> KeyHousehold | None: ...
    async def latest(self, household_id: int, kind: VisitKind) -> Visit | None: ...
    async def latest_of_each(self, kind: VisitKind) -> dict[int, Visit]:
        """Return each household's latest visit of the kind, by household id."""
        ...

    async def unlink_orders(self, order_ids: Iterable[int]) -> None:
        """Detach the follow-up visits of these orders from them and blank their notes."""
        ...

    async def add(
        self,
        *,
        household_id: int,
        person_id: int,
        kind: VisitKind,
        opened_at: datetime,
        due_at: datetime,
        order_id: int | None = None,
    ) -> Visit: ...
    async def get(self, visit_id: int) -> Visit | None: ...
    async def log(
        self, visit_id: int, outcome: VisitOutcome, at: datetime, note: str | None = None
    ) -> Visit | None:
        """Log how the visit went, only if it is not logged yet; None if it was."""
        ...

    async def unlogged_due(self, before: datetime) -> list[Visit]:
        """Return visits neither logged nor reported missed, due at or before `before`."""
        ...

    async def mark_missed(self, visit_id: int, at: datetime) -> None: ...
    async def missed_between(self, since: datetime, until: datetime) -> list[Visit]: ...
    async def open_for(self, person_id: int) -> list[Visit]:
        """Return the person's visit tasks not yet logged, soonest due first."""
        ...

    # rounds (issue 17): notes, the month's round, households marked as key in chat.
    async def write_note(self, visit_id: int, note: str, photo: str | None) -> Visit | None:
        """Keep the note (民情日志) and photo of a logged visit; None if it is not logged."""
        ...

    async def visited_between(
        self, household_ids: Sequence[int], since: datetime, until: datetime
    ) -> set[int]:
        """Return which of the households had a visit logged in the window (not "not at home")."""
        ...

    async def history(self, household_id: int, limit: int) -> list[Visit]:
        """Return the household's logged visits, newest first."""
        ...

    async def mark_key(self, key: KeyHousehold) -> None:
        """Make the household key with this kind, liaison and cadence (kept as its source)."""
        ...

    async def add_key_request(
        self,
        *,
        household_id: int,
        requested_by: int,
        kind: str,
        visit_every_days: int,
        at: datetime,
    ) -> KeyRequest: ...
    async def key_request(self, request_id: int) -> KeyRequest | None: ...
    async def decide_key_request(
        self, request_id: int, status: KeyRequestStatus, by: int, at: datetime
    ) -> KeyRequest | None:
        """Decide a pending request; None if it was decided already."""
        ...


class ReportRepository(Protocol):
    """What digests and /stats count, over a set of communities."""

    async def created_between(
        self, community_ids: Sequence[int], since: datetime, until: datetime
    ) -> list[Order]: ...
    async def events_between(
        self,
        community_ids: Sequence[int],
        actions: Sequence[str],
        since: datetime,
        until: datetime,
    ) -> list[OrderEvent]: ...
    async def placed_moments(
        self, community_ids: Sequence[int], since: datetime, until: datetime
    ) -> list[datetime]:
        """Return when each order in the window was placed (for counting, not the orders)."""
        ...

    async def overdue(self, community_ids: Sequence[int], now: datetime) -> list[Order]:
        """Return the open orders past a deadline at `now`: to resolve, to accept an offer, or
        (clocks, issue 15) to be dispatched from the queue or claimed from the pool."""
        ...

    async def household_places(self, household_ids: Iterable[int]) -> dict[int, HouseholdPlace]:
        """Return where each of the households is, read at once."""
        ...

    async def building_grids(self, building_ids: Iterable[int]) -> dict[int, Place]:
        """Return the grid each of the buildings is in, read at once."""
        ...

    async def backlog(
        self, community_ids: Sequence[int], statuses: Iterable[OrderStatus]
    ) -> dict[OrderStatus, tuple[int, datetime]]:
        """Return, per status, how many orders wait in it and when the oldest was placed."""
        ...


class AuditRepository(Protocol):
    """The audit log of staff actions."""

    async def record(self, entry: AuditEntry) -> None: ...
    async def latest(self, limit: int) -> list[AuditEntry]: ...


class QuestionRepository(Protocol):
    """Questions (咨询) and their answers; answering is a conditional write (once)."""

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
    ) -> Question: ...
    async def get(self, question_id: int) -> Question | None: ...
    async def answer(self, question_id: int, person_id: int, text: str, at: datetime) -> bool:
        """Record the answer unless there is one; False if there was."""
        ...

    async def unanswered(self) -> list[Question]:
        """Return the questions without an answer, soonest due first."""
        ...

    async def forget_asker(self, person_id: int) -> list[Question]:
        """Delete the questions a person asked (erasure: their words and room); return them."""
        ...

    async def counts(
        self, community_ids: Sequence[int], since: datetime, until: datetime
    ) -> QuestionCounts:
        """Return how many were asked and answered in [since, until), and how many are late."""
        ...


class BulletinRepository(Protocol):
    """Notices (通知), who turned them off, grid groups, and words kept for a deep link."""

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
    ) -> Bulletin: ...
    async def get(self, bulletin_id: int) -> Bulletin | None: ...
    async def decide(
        self, bulletin_id: int, status: BulletinStatus, by: int, at: datetime
    ) -> Bulletin | None:
        """Move a pending notice to `status` (sent: at `at`) once; None if it was decided."""
        ...

    async def set_recipients(self, bulletin_id: int, recipients: int) -> None: ...
    async def of_sender(self, sender_id: int, limit: int) -> list[Bulletin]:
        """Return the sender's latest notices, newest first."""
        ...

    async def tally(self, bulletin: Bulletin) -> Tally:
        """Count the notice's copies in the outbox: delivered, given up, still to send."""
        ...

    async def unreported(self) -> list[Bulletin]:
        """Return the sent notices whose sender has not had the final report yet."""
        ...

    async def reported(self, bulletin_id: int, tally: Tally, at: datetime) -> bool:
        """Keep the final counts and mark the report sent, once; False if it was."""
        ...

    async def turn_off(self, person_id: int, off: bool, at: datetime) -> None:
        """Record that the person does (off) or does not want non-urgent notices."""
        ...

    async def turned_off(self, person_ids: Sequence[int]) -> set[int]:
        """Return which of the people turned non-urgent notices off."""
        ...

    async def residents_of(self, unit_ids: Sequence[int]) -> list[Person]:
        """Return the people living in households of the units (residents and family)."""
        ...

    async def link(self, group: GridGroup) -> None:
        """Link a Telegram group to a grid (a group is linked to one grid, as one kind)."""
        ...

    async def unlink(self, chat_id: int) -> GridGroup | None:
        """Unlink a group; return what it was linked as, if it was."""
        ...

    async def group(self, chat_id: int) -> GridGroup | None: ...
    async def groups(self, place_ids: Sequence[int], kind: GroupKind) -> list[GridGroup]:
        """Return the groups of the kind linked to any of the grids."""
        ...

    async def post(self, group: GridGroup, notice: Notice) -> None:
        """Queue a message for a group (paced as a group: 20 a minute)."""
        ...

    async def keep_words(self, token: str, text: str, at: datetime) -> None:
        """Keep words said in a group under a short token, for the deep link to a private chat."""
        ...

    async def take_words(self, token: str) -> str | None:
        """Return the words kept under the token, forgetting them; None if there are none."""
        ...


class UnitOfWork(Protocol):
    """One transaction over all repositories; a fresh one per update and per timer run.

    Workflows stage their changes here and never commit: the entry point that opened the unit
    of work (an update, a timer run, a delivery pass, a CLI command) commits once, at its end.
    """

    places: PlaceRepository
    people: PersonRepository
    categories: CategoryRepository
    orders: OrderRepository
    outbox: OutboxRepository
    chats: ChatRepository
    invites: InviteRepository
    audit: AuditRepository
    timers: TimerRepository
    visits: VisitRepository
    reports: ReportRepository
    calendar: WorkCalendar
    questions: QuestionRepository  # behalf (issue 16)
    bulletins: BulletinRepository  # notices (issue 17)
    console_logins: ConsoleLoginRepository  # console (issue 18)

    async def commit(self) -> None:
        """Commit everything staged (called by entry points only, never by workflows)."""
        ...

    async def rollback(self) -> None:
        """Throw away everything staged since the last commit."""
        ...


class UpdateLog(Protocol):
    """Which Telegram updates already took effect (each takes effect at most once)."""

    async def first_time(self, update_id: int, at: datetime) -> bool:
        """Record the update in this transaction; False if it was recorded before."""
        ...

    async def forget_before(self, at: datetime) -> int:
        """Drop the records of updates seen before `at`; return how many."""
        ...


class UpdateUnitOfWork(UnitOfWork, Protocol):
    """The unit of work of one incoming update, with the log of updates already seen.

    The update's record, its effects and the replies to send are committed together, once.
    """

    updates: UpdateLog
