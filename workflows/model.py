"""The domain's plain data: places, people, categories, orders and their timeline."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from workflows.vocabulary import Channel, Verb


class Role(enum.StrEnum):
    """A staff role; the five-level grid crew plus dispatch and supervision."""

    COMMUNITY_CADRE = "community_cadre"
    DEPT_LIAISON = "dept_liaison"
    BUILDING_HEAD = "building_head"
    UNIT_HEAD = "unit_head"
    GRID_WORKER = "grid_worker"
    VOLUNTEER = "volunteer"
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class PlaceKind(enum.StrEnum):
    """Levels of the organisation, widest first."""

    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    BUILDING = "building"
    UNIT = "unit"
    DEPARTMENT = "department"


class OrderStatus(enum.StrEnum):
    """Where an order stands in the loop."""

    QUEUED = "queued"  # waiting in the community dispatcher's queue
    OFFERED = "offered"  # dispatched to one person, awaiting accept/decline
    POOL = "pool"  # open for matching volunteers to claim
    ACCEPTED = "accepted"
    ON_WAY = "on_way"
    RESOLVED = "resolved"  # awaiting the resident's confirmation
    CLOSED = "closed"
    CANCELLED = "cancelled"
    # moves (issue 15): waiting on a third party (parts, the property company) until a date;
    # its time to resolve stands still meanwhile.
    PAUSED = "paused"


OPEN_STATUSES = frozenset(
    {
        OrderStatus.QUEUED,
        OrderStatus.OFFERED,
        OrderStatus.POOL,
        OrderStatus.ACCEPTED,
        OrderStatus.ON_WAY,
        OrderStatus.PAUSED,  # open, but nobody is late with it: its resolve clock stands still
    }
)
WORKING_STATUSES = frozenset({OrderStatus.ACCEPTED, OrderStatus.ON_WAY})
ACTIVE_STATUSES = OPEN_STATUSES | {OrderStatus.RESOLVED}


class Urgency(enum.StrEnum):
    """How soon the resident needs help."""

    NORMAL = "normal"
    URGENT = "urgent"


class CategoryKind(enum.StrEnum):
    """How a category's orders are routed: to a role in scope, or to the volunteers' pool."""

    ROUTED = "routed"
    POOL = "pool"


@dataclass(frozen=True)
class Names:
    """A name in Chinese and English."""

    zh: str
    en: str

    def pick(self, lang: str) -> str:
        """Return the name in the given language, Chinese first."""
        return self.en if lang.startswith("en") and self.en else self.zh


@dataclass(frozen=True)
class Place:
    """A street, community, grid, building, unit or department."""

    id: int
    kind: PlaceKind
    code: str
    names: Names
    parent_id: int | None
    # A street's or community's working hours ("08:30-12:00, 13:30-17:30"; empty: the default)
    # and closed days; a community's include what it inherits from its street.
    working_hours: str = ""
    closed_days: tuple[date, ...] = ()
    duty_phone: str = ""  # a community's duty phone (值班电话), shown with emergency numbers
    channel: int | None = None  # publicity (issue 17): a community's 公示 channel's id


# The rooms of public areas (巡查上报): a unit's, a building's, a grid's and a community's. Each is
# a household of its own, kept with a unit of that place, made on first use.
PUBLIC_ROOM = "公共区域"
BUILDING_ROOM = "楼栋公共区域"
GRID_ROOM = "网格公共区域"
COMMUNITY_ROOM = "社区公共区域"
PUBLIC_ROOMS = (PUBLIC_ROOM, BUILDING_ROOM, GRID_ROOM, COMMUNITY_ROOM)


@dataclass(frozen=True)
class Household:
    """One room of a unit; residents register to it."""

    id: int
    unit_id: int
    room: str
    is_key: bool = False


@dataclass(frozen=True)
class HouseholdPlace:
    """A household with the ids of every level above it."""

    household: Household
    unit: Place
    building: Place
    grid: Place
    community: Place

    def scope_ids(self) -> list[int]:
        """Return the place ids that contain the household, narrowest first."""
        return [self.unit.id, self.building.id, self.grid.id, self.community.id]

    def address(self, lang: str) -> str:
        """Return a human address like 'Building 3, Unit 1, Room 502'.

        A public area wider than a unit is kept with a unit of it (see workflows/behalf.py) but
        named without the levels below it: "和平社区 第一网格 网格公共区域".
        """
        room = self.household.room
        levels = {
            COMMUNITY_ROOM: (self.community,),
            GRID_ROOM: (self.community, self.grid),
            BUILDING_ROOM: (self.community, self.building),
        }.get(room, (self.community, self.building, self.unit))
        return " ".join([*(p.names.pick(lang) for p in levels), room])


@dataclass(frozen=True)
class RoleAssignment:
    """A person holds a role over a place (scope)."""

    role: Role
    place_id: int


@dataclass(frozen=True)
class Person:
    """Anyone the bot knows: a resident, a staff member, or both."""

    id: int
    name: str
    lang: str
    telegram_id: int | None = None
    code: str | None = None
    phone: str | None = None
    household_id: int | None = None
    roles: tuple[RoleAssignment, ...] = ()
    digest_time: str | None = None  # a supervisor's local "HH:MM"; None: the default
    reachable: bool = True  # False once Telegram said they blocked the bot, until they write
    # clocks (issue 15): the local hours they take normal tasks ("08:00-20:00"); empty: any time.
    on_duty: str = ""
    # A family member who orders for the household (子女代办), joined by a grid worker's link.
    proxy: bool = False
    # publicity (issue 17): agreed to be named in public (posters, the honour list 笑脸墙).
    public: bool = False

    def has_role(self, *roles: Role) -> bool:
        """Return whether the person holds any of the roles anywhere."""
        return any(r.role in roles for r in self.roles)

    @property
    def is_staff(self) -> bool:
        """Return whether the person holds any staff role."""
        return bool(self.roles)


@dataclass(frozen=True)
class VolunteerTeam:
    """A named volunteer team of a community (红管家, 青动力…): skills, members, leader."""

    id: int
    code: str
    names: Names
    community_id: int
    skills: tuple[str, ...]
    member_ids: tuple[int, ...]
    leader_id: int | None = None

    def serves(self, skills: Sequence[str]) -> bool:
        """Return whether the team takes work needing any of the skills (none: any work)."""
        return not skills or bool(set(skills) & set(self.skills))


@dataclass(frozen=True)
class Category:
    """A kind of request and how it is routed and timed."""

    id: int
    code: str
    names: Names
    kind: CategoryKind
    role: Role | None
    skills: tuple[str, ...]
    department_id: int | None
    accept_minutes: int
    resolve_hours: int
    urgent_accept_minutes: int
    urgent_resolve_hours: int
    followup_days: int
    followup_visit: bool = False
    # Normal orders' deadlines count working time (hours of working days), not calendar time.
    working_time: bool = False
    # moves (issue 15): open orders of the last days like a new one are offered first; 0: never.
    duplicate_days: int = 3
    # Words that suggest this category for what a resident wrote freely.
    keywords: tuple[str, ...] = ()
    # clocks (issue 15): the time allowed in the dispatcher's queue and in the volunteers' pool
    # before the breach (the supervisor is told; the pool is offered to the grid's workers).
    queue_minutes: int = 60
    urgent_queue_minutes: int = 15
    pool_hours: int = 24
    urgent_pool_hours: int = 2


class VoiceKind(enum.StrEnum):
    """What kind of sound a resident sent as (part of) a description."""

    VOICE = "voice"
    VIDEO_NOTE = "video_note"
    AUDIO = "audio"


@dataclass(frozen=True)
class Voice:
    """A voice message, video note or audio file kept on an order: Telegram's file id."""

    file_id: str
    seconds: int
    kind: VoiceKind = VoiceKind.VOICE

    def to_dict(self) -> dict[str, Any]:
        """Return the clip as stored (JSON)."""
        return {"file_id": self.file_id, "seconds": self.seconds, "kind": self.kind.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Voice:
        """Rebuild a clip stored by to_dict."""
        return cls(str(data["file_id"]), int(data.get("seconds", 0)), VoiceKind(data["kind"]))

    @property
    def length(self) -> str:
        """Return its length as a clock shows it: 0:42."""
        return f"{self.seconds // 60}:{self.seconds % 60:02d}"


@dataclass(frozen=True)
class Order:
    """A resident's request and where it stands."""

    id: int
    resident_id: int
    # None once the resident erased themselves: the order then keeps only its building.
    household_id: int | None
    category_id: int
    description: str
    urgency: Urgency
    status: OrderStatus
    assignee_id: int | None
    created_at: datetime
    photos: tuple[str, ...] = ()
    latitude: float | None = None
    longitude: float | None = None
    rating: int | None = None
    comment: str | None = None
    accept_due: datetime | None = None
    resolve_due: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    level: Role | None = None
    version: int = 0
    building_id: int | None = None  # where the order is, down to the building, for statistics
    # moves (issue 15). A pending 延期 request: when it was asked and the deadline asked for
    # (both None when none is pending).
    extension_requested_at: datetime | None = None
    extension_until: datetime | None = None
    # A paused order: when it resumes, and how much of its time to resolve was left (seconds,
    # working seconds for a working-time order) when it was paused.
    paused_until: datetime | None = None
    resolve_left: int | None = None
    # infoask (issue 15): when the holder asked the resident a question not yet answered.
    info_asked_at: datetime | None = None
    department_id: int | None = None  # the department it was transferred to (转办), if any
    merged_into_id: int | None = None  # closed as merged: the earlier order it follows
    voices: tuple[Voice, ...] = ()  # voice messages, video notes, audio files it was told in
    # clocks (issue 15): the deadline of the queued or pool stage (see workflows/clocks.py).
    wait_due: datetime | None = None
    channel: Channel = Channel.CHAT  # how it came in
    # publicity (issue 17): the resident's answer to "may we publish it?" (None: not given),
    # when it was posted to the community's channel, and the resolver's minutes spent on it.
    publish_consent: bool | None = None
    published_at: datetime | None = None
    minutes_spent: int | None = None

    @property
    def number(self) -> str:
        """Return the order number residents and workers quote."""
        return f"{self.id:05d}"


@dataclass(frozen=True)
class OrderEvent:
    """One line of an order's timeline: who moved it, when, from where to where, why."""

    order_id: int
    at: datetime
    actor_id: int | None
    action: str
    from_status: OrderStatus | None
    to_status: OrderStatus | None
    note: str | None = None
    target_id: int | None = None
    photo: str | None = None


@dataclass(frozen=True)
class Action:
    """A button on a notification: a label key, a verb and what it acts on.

    The verb says what `target_id` names (`verb.target`): an order, or a visit.
    """

    label: str
    verb: Verb
    target_id: int
    arg: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        verb: Verb,
        target_id: int,
        *,
        arg: str | None = None,
        params: dict[str, Any] | None = None,
        label: str | None = None,
    ) -> Action:
        """Return the button for a verb, labelled with the verb's own label unless told."""
        return cls(label or verb.label, verb, target_id, arg, dict(params or {}))


# The key of a notice that edits a message already sent (built in handlers/render.py). It may
# go before the chat's earlier unsent messages: the message it edits is already there.
EDIT_KEY = "_edit"
# The key of a reply already written in the person's language (handlers/render.py). Replies
# and edits answer someone who is talking to the bot now: delivery sends them before notices.
REPLY_KEY = "_reply"
VOICE_KEY = "voice.caption"  # a notice that sends a clip (params: number, file_id, kind)


@dataclass(frozen=True)
class Notice:
    """A message the workflow wants a person to get; rendered in their language at delivery."""

    person_id: int
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    actions: tuple[Action, ...] = ()
    photo: str | None = None
    urgent: bool = True
    # A resident's notice that may wait out the quiet hours (normal-urgency order news,
    # follow-ups, auto-close); `urgent` is only the delivery priority.
    deferrable: bool = False
    # What the message is about (e.g. an order's task card), so that every copy of it can be
    # found again to withdraw or edit it; None for a message nobody needs to find again.
    ref: str | None = None


@dataclass(frozen=True)
class Traces:
    """What of one erased person messages may hold: their chat, their orders and their words."""

    person_id: int
    chat_id: int | None
    order_ids: frozenset[int]
    words: frozenset[str]  # name, phone, what they wrote, their photos' file ids

    @property
    def numbers(self) -> frozenset[str]:
        """Return their orders' numbers, as notices quote them."""
        return frozenset(f"{order_id:05d}" for order_id in self.order_ids)


@dataclass(frozen=True)
class SentCopy:
    """A copy of a message Telegram accepted: whose it is, in which chat, under which id."""

    person_id: int
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class KeyHousehold:
    """A key household (六帮六助, elderly living alone…): its liaison visits it on a cadence."""

    household_id: int
    kind: str
    liaison_id: int
    visit_every_days: int
    # Rounds (issue 17): KEY_FROM_FILE (the organisation file) or KEY_FROM_CHAT (marked in chat).
    source: str = "file"


KEY_FROM_FILE = "file"  # a key household the organisation file lists (an import keeps it in step)
KEY_FROM_CHAT = "chat"  # marked in chat with a supervisor's approval (an import leaves it alone)


class VisitKind(enum.StrEnum):
    """Why a visit is made: a key household's cadence, or an order's in-person follow-up."""

    KEY = "key"
    FOLLOWUP = "followup"
    ROUND = "round"  # rounds (issue 17): a visit logged from the roster, not planned by a timer


class VisitOutcome(enum.StrEnum):
    """What the visitor logged."""

    VISITED = "visited"
    NOT_HOME = "not_home"
    NEEDS_HELP = "needs_help"


@dataclass(frozen=True)
class Visit:
    """A visit task (走访): who visits which household, by when, and how it went."""

    id: int
    household_id: int
    person_id: int
    kind: VisitKind
    opened_at: datetime
    due_at: datetime
    order_id: int | None = None
    outcome: VisitOutcome | None = None
    note: str | None = None
    logged_at: datetime | None = None
    missed_at: datetime | None = None
    photo: str | None = None  # rounds (issue 17): a photo with the visit's note (民情日志)


@dataclass(frozen=True)
class ChatState:
    """Where a person is in a multi-step conversation, and what they entered so far."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditEntry:
    """A staff or admin action, kept to answer for it later."""

    at: datetime
    action: str  # dispatch_override, import, invite, join, forget, …
    actor_id: int | None = None
    actor: str = ""  # a name, or "cli" for the command line
    subject: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Keep(enum.Enum):
    """A change's field left alone: the column keeps its value (None would clear it)."""

    KEEP = "keep"


KEEP = Keep.KEEP


def _set(changes: object) -> dict[str, Any]:
    """Return the fields a change sets (those not left at KEEP), by column name."""
    return {
        f.name: value
        for f in fields(changes)  # type: ignore[arg-type]
        if (value := getattr(changes, f.name)) is not KEEP
    }


@dataclass(frozen=True)
class OrderChanges:
    """The columns a move or an update of an order sets besides its status; KEEP leaves one."""

    assignee_id: int | Keep | None = KEEP
    level: Role | Keep | None = KEEP
    accept_due: datetime | Keep | None = KEEP
    resolve_due: datetime | Keep | None = KEEP
    resolved_at: datetime | Keep | None = KEEP
    closed_at: datetime | Keep | None = KEEP
    rating: int | Keep | None = KEEP
    comment: str | Keep | None = KEEP
    # moves (issue 15)
    extension_requested_at: datetime | Keep | None = KEEP
    extension_until: datetime | Keep | None = KEEP
    paused_until: datetime | Keep | None = KEEP
    resolve_left: int | Keep | None = KEEP
    department_id: int | Keep | None = KEEP
    merged_into_id: int | Keep | None = KEEP
    wait_due: datetime | Keep | None = KEEP  # clocks (issue 15)
    info_asked_at: datetime | Keep | None = KEEP  # infoask (issue 15)
    publish_consent: bool | Keep | None = KEEP  # publicity (issue 17)
    minutes_spent: int | Keep | None = KEEP  # publicity (issue 17)

    def set(self) -> dict[str, Any]:
        """Return the columns this change sets, by name."""
        return _set(self)


@dataclass(frozen=True)
class PersonChanges:
    """The columns an update of a person sets; KEEP leaves one."""

    telegram_id: int | Keep | None = KEEP
    household_id: int | Keep | None = KEEP
    phone: str | Keep | None = KEEP
    lang: str | Keep = KEEP
    on_duty: str | Keep = KEEP  # clocks (issue 15)
    # behalf (issue 16): a family proxy's name from Telegram, and the mark itself.
    name: str | Keep = KEEP
    proxy: bool | Keep = KEEP

    def set(self) -> dict[str, Any]:
        """Return the columns this change sets, by name."""
        return _set(self)


# --- behalf (issue 16): questions (咨询) ---------------------------------------------------------
@dataclass(frozen=True)
class Question:
    """A resident's question (咨询): a light task for the household's grid worker, on a clock."""

    id: int
    asker_id: int
    household_id: int
    community_id: int
    assignee_id: int | None
    text: str
    asked_at: datetime
    answer_due: datetime
    answer: str | None = None
    answered_at: datetime | None = None
    answered_by: int | None = None

    @property
    def number(self) -> str:
        """Return the number residents and workers quote (咨询 Q00012)."""
        return f"Q{self.id:05d}"


@dataclass(frozen=True)
class QuestionCounts:
    """A report period's questions: asked, answered, and still unanswered past their time."""

    asked: int
    answered: int
    late: int


# --- rounds (issue 17): a household marked as key in chat waits for a supervisor ---------------
class KeyRequestStatus(enum.StrEnum):
    """Where a request to mark a household as key stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


@dataclass(frozen=True)
class KeyRequest:
    """Staff asked to make a household key (reason, cadence); a supervisor decides."""

    id: int
    household_id: int
    requested_by: int
    kind: str
    visit_every_days: int
    created_at: datetime
    status: KeyRequestStatus = KeyRequestStatus.PENDING
    decided_by: int | None = None
    decided_at: datetime | None = None


# --- notices (issue 17): notices (通知) and grid groups -------------------------------------------
class Audience(enum.StrEnum):
    """Who a notice (通知) is for."""

    RESIDENTS = "residents"
    STAFF = "staff"
    BOTH = "both"


class BulletinStatus(enum.StrEnum):
    """Where a notice (通知) stands: waiting for a supervisor's approval, sent, or refused."""

    PENDING = "pending"
    SENT = "sent"
    REFUSED = "refused"


@dataclass(frozen=True)
class Bulletin:
    """A notice (通知) staff send to a place's residents, staff or both.

    Called a bulletin in code: `Notice` is a message in the outbox, and a bulletin becomes one
    outbox notice per recipient (their ref is `ref`), and one post per linked group.
    """

    id: int
    sender_id: int
    place_id: int
    audience: Audience
    urgent: bool
    text: str
    created_at: datetime
    status: BulletinStatus
    photo: str | None = None
    sent_at: datetime | None = None
    decided_by: int | None = None
    recipients: int = 0  # people it was addressed to (with Telegram or not)
    reported_at: datetime | None = None
    delivered: int = 0  # as the final report counted them
    blocked: int = 0

    @property
    def ref(self) -> str:
        """Return the ref of its copies in the outbox."""
        return f"notice:{self.id}"


@dataclass(frozen=True)
class Tally:
    """How a notice's copies went: delivered, given up (blocked the bot), still waiting."""

    delivered: int = 0
    blocked: int = 0
    waiting: int = 0


class GroupKind(enum.StrEnum):
    """A grid's Telegram group: the residents' group, or the grid crew's own staff group."""

    RESIDENTS = "residents"
    STAFF = "staff"


@dataclass(frozen=True)
class GridGroup:
    """A Telegram group linked to a grid by one of its crew."""

    chat_id: int
    place_id: int
    kind: GroupKind
    linked_by: int
    linked_at: datetime
