"""SQLAlchemy tables; storage/mappers.py turns their rows into the domain's plain data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class db_epoch(FunctionElement[float]):
    """The database server's clock, in seconds since the epoch (a float).

    What several instances must agree on — claims and send pacing — is timed by the database
    they share, not by each machine's own clock.
    """

    type = Float()
    inherit_cache = True


@compiles(db_epoch, "postgresql")
def _db_epoch_postgresql(element: db_epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"


@compiles(db_epoch)
def _db_epoch_sqlite(element: db_epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


def dialect_of(session: AsyncSession) -> str:
    """Return the name of the session's database: "postgresql" or "sqlite"."""
    return session.get_bind().dialect.name


def insert_for(dialect: str) -> Callable[[Any], Any]:
    """Return `insert` of that database, which has ON CONFLICT (upsert) clauses."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def dialect_insert(session: AsyncSession) -> Callable[[Any], Any]:
    """Return `insert` of the session's database."""
    return insert_for(dialect_of(session))


# The most ids one IN (…) list carries; longer lists are read in chunks of this many.
IN_CHUNK = 500


class UTCDateTime(TypeDecorator[datetime]):
    """Store timezone-aware UTC datetimes on every backend, SQLite included."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention Alembic can rely on."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


Base.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class PlaceRow(Base):
    __tablename__ = "places"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("places.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # A street's or community's working hours and closed days (ISO dates), from the org file.
    working_hours: Mapped[str | None] = mapped_column(String(100))
    closed_days: Mapped[list[Any] | None] = mapped_column(JSON)
    # A community's duty phone (值班电话), shown with the emergency numbers (0012).
    duty_phone: Mapped[str | None] = mapped_column(String(32))
    # publicity (issue 17, 0017): a community's 公示 channel (Telegram's numeric id, -100…).
    channel: Mapped[int | None] = mapped_column(BigInteger)


class HouseholdRow(Base):
    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("unit_id", "room"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    room: Mapped[str] = mapped_column(String(32))
    is_key: Mapped[bool] = mapped_column(Boolean, default=False)


class PersonRow(Base):
    __tablename__ = "people"
    # 0022: a household's people are read by household (a partner's caller by phone: 0020).
    __table_args__ = (Index("ix_people_household_id", "household_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    digest_time: Mapped[str | None] = mapped_column(String(5))  # "08:00" local; None: default
    on_duty: Mapped[str | None] = mapped_column(String(100))  # hours they take normal tasks
    # A family member ordering for the household (子女代办), joined by a grid worker's link.
    proxy: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # publicity (issue 17, 0017): agreed to be named in public (posters, the honour list).
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class RoleRow(Base):
    __tablename__ = "roles"
    __table_args__ = (
        UniqueConstraint("person_id", "role", "place_id"),
        Index("ix_roles_role_place", "role", "place_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"))


class TeamRow(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    skills: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # publicity (issue 17, 0017): the team's leader sees its work with /team.
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))


class TeamMemberRow(Base):
    __tablename__ = "team_members"
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )


class CategoryRow(Base):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(32))
    skills: Mapped[list[Any]] = mapped_column(JSON, default=list)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("places.id"))
    accept_minutes: Mapped[int] = mapped_column(Integer)
    resolve_hours: Mapped[int] = mapped_column(Integer)
    urgent_accept_minutes: Mapped[int] = mapped_column(Integer)
    urgent_resolve_hours: Mapped[int] = mapped_column(Integer)
    followup_days: Mapped[int] = mapped_column(Integer, default=7)
    followup_visit: Mapped[bool] = mapped_column(Boolean, default=False)
    working_time: Mapped[bool] = mapped_column(Boolean, default=False)
    duplicate_days: Mapped[int] = mapped_column(Integer, default=3)  # moves (issue 15, 0011)
    queue_minutes: Mapped[int] = mapped_column(Integer, default=60)
    urgent_queue_minutes: Mapped[int] = mapped_column(Integer, default=15)
    pool_hours: Mapped[int] = mapped_column(Integer, default=24)
    urgent_pool_hours: Mapped[int] = mapped_column(Integer, default=2)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Words that suggest this category for what a resident wrote freely (0012).
    keywords: Mapped[list[Any] | None] = mapped_column(JSON)


# The open stages written out (workflows/model.py OPEN_STATUSES). The partial indexes over open
# orders and the board's reads name this very condition: SQLite and PostgreSQL use a partial
# index only when the query's own text proves its condition, which a bound parameter does not.
OPEN_ORDER_STATUSES = ("queued", "pool", "offered", "accepted", "on_way", "paused")
OPEN_ORDERS_SQL = "status IN (" + ", ".join(f"'{s}'" for s in OPEN_ORDER_STATUSES) + ")"
# The board's filters and clocks, held by both partial indexes so that counting reads no row.
BOARD_COLUMNS = (
    "category_id",
    "building_id",
    "household_id",
    "urgency",
    "channel",
    "assignee_id",
    "wait_due",
    "accept_due",
    "resolve_due",
)


def _open_index(name: str, *columns: str) -> Index:
    """Return a partial index of open orders: the columns, then the board's (BOARD_COLUMNS)."""
    where = text(OPEN_ORDERS_SQL)
    return Index(name, *columns, *BOARD_COLUMNS, sqlite_where=where, postgresql_where=where)


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_assignee_status", "assignee_id", "status"),
        Index("ix_orders_resident", "resident_id", "id"),
        Index("ix_orders_community_created", "community_id", "created_at"),
        # The timer sweeps and the digest's overdue list read due orders by these, the sweeps
        # from the index alone (0006; they replace 0004's and the status-only index).
        Index("ix_orders_due_accept", "status", "accept_due", "category_id", "urgency", "id"),
        Index("ix_orders_due_resolve", "status", "resolve_due", "category_id", "urgency", "id"),
        Index("ix_orders_due_autoclose", "status", "resolved_at", "id"),
        Index("ix_orders_due_followup", "status", "closed_at", "category_id", "urgency", "id"),
        # moves (issue 15, 0011): the auto-resume sweep; a new order's open neighbours.
        Index("ix_orders_due_resume", "status", "paused_until", "id"),
        Index("ix_orders_building_category", "building_id", "category_id", "created_at"),
        # clocks (issue 15, 0009): the queue's and the pool's deadline; the backlog per stage.
        Index("ix_orders_due_wait", "status", "wait_due", "category_id", "urgency", "id"),
        Index("ix_orders_backlog", "status", "community_id", "created_at"),
        # console (issue 18, 0021): the board reads only open orders, from two partial indexes
        # holding every column its filters and counts need: one counts by community and stage,
        # the other lists the newest first (0019's spanned the closed ones too).
        _open_index("ix_orders_open_counts", "community_id", "status"),
        _open_index("ix_orders_open_newest", "id", "community_id", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # None once the resident erased themselves: the order then keeps only its building.
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("places.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("places.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    level: Mapped[str | None] = mapped_column(String(32))
    photos: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Voice messages, video notes and audio files: [{file_id, seconds, kind}] (0012).
    voices: Mapped[list[Any] | None] = mapped_column(JSON)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accept_due: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolve_due: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    wait_due: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=0)
    # moves (issue 15, 0011): 延期 pending, 挂起 until, 转办 department, merged into.
    extension_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extension_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    info_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # infoask
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolve_left: Mapped[int | None] = mapped_column(Integer)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("places.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    channel: Mapped[str] = mapped_column(String(16), default="chat", server_default="chat")
    # publicity (issue 17, 0017): the resident's answer to "may we publish it?" (None: not
    # asked or not answered: not published), when it was posted to the channel (once), and the
    # resolver's time spent on it.
    publish_consent: Mapped[bool | None] = mapped_column(Boolean)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    minutes_spent: Mapped[int | None] = mapped_column(Integer)


class OrderEventRow(Base):
    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_action_at", "action", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    photo: Mapped[str | None] = mapped_column(String(256))


class PoolOfferRow(Base):
    __tablename__ = "pool_offers"
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )


class OrderFollowerRow(Base):
    """moves (issue 15, 0011): a neighbour who reported the same thing follows the order."""

    __tablename__ = "order_followers"
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "failed_at", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None for a post to a channel (publicity, issue 17, 0017): it is nobody's private chat.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    lang: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    photo: Mapped[str | None] = mapped_column(String(256))
    urgent: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    # A delivery worker's claim (seconds since the epoch, by the database's clock): while it
    # holds, no other worker sends this message or anything else to the chat.
    lease_until: Mapped[float | None] = mapped_column(Float)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    # What the message is about (e.g. "offer:12" for a task card of order 12), so that every
    # copy of it can be withdrawn or edited later; and the id Telegram gave it once sent.
    ref: Mapped[str | None] = mapped_column(String(64), index=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger)


class ChatStateRow(Base):
    __tablename__ = "chat_states"
    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class InviteRow(Base):
    __tablename__ = "invites"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProcessedUpdateRow(Base):
    __tablename__ = "processed_updates"
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class KeyHouseholdRow(Base):
    __tablename__ = "key_households"
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    liaison_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    visit_every_days: Mapped[int] = mapped_column(Integer)
    # rounds (issue 17): "file" (an import keeps it in step) or "chat" (marked in chat, approved
    # by a supervisor; an import leaves it alone unless the file lists the household).
    source: Mapped[str] = mapped_column(String(8), default="file", server_default="file")


class VisitRow(Base):
    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_household", "household_id", "kind", "opened_at"),
        Index("ix_visits_pending", "logged_at", "missed_at", "due_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    logged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    photo: Mapped[str | None] = mapped_column(String(256))  # rounds (issue 17)


class TimerRow(Base):
    """A timer that fired: (kind, subject, due_at) is unique, so each fires once."""

    __tablename__ = "timers"
    __table_args__ = (UniqueConstraint("kind", "subject_id", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    outcome: Mapped[str] = mapped_column(String(32))


class AuditRow(Base):
    """One staff or admin action worth answering for later: who, when, what, on what."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SendSlotRow(Base):
    """The next free moment to send, shared by every bot instance (overall, and per chat)."""

    __tablename__ = "send_slots"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)
    tokens: Mapped[float] = mapped_column(Float, default=0.0)


class QuestionRow(Base):
    """A resident's question (咨询) for the household's grid worker, and its answer."""

    __tablename__ = "questions"
    __table_args__ = (
        Index("ix_questions_unanswered", "answered_at", "answer_due"),
        Index("ix_questions_community_asked", "community_id", "asked_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asker_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    text: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answer_due: Mapped[datetime] = mapped_column(UTCDateTime())
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class KeyRequestRow(Base):
    """Rounds (issue 17): staff asked to make a household key; a supervisor decides."""

    __tablename__ = "key_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    requested_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(64))
    visit_every_days: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --- notices (issue 17): notices (通知), opting out, grid groups, words kept for a deep link ---
class BulletinRow(Base):
    """A notice (通知) staff sent (or asked a supervisor to approve) to a place."""

    __tablename__ = "bulletins"
    __table_args__ = (Index("ix_bulletins_sender", "sender_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    audience: Mapped[str] = mapped_column(String(16))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[int] = mapped_column(Integer, default=0)


class NoticeOptOutRow(Base):
    """A resident who turned non-urgent notices off (urgent ones still reach them)."""

    __tablename__ = "notice_optouts"
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class GridGroupRow(Base):
    """A Telegram group linked to a grid: the residents' group or the crew's staff group."""

    __tablename__ = "grid_groups"
    __table_args__ = (Index("ix_grid_groups_place", "place_id", "kind"),)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"))
    kind: Mapped[str] = mapped_column(String(16))
    linked_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GroupWordsRow(Base):
    """What a resident asked the bot in a group, kept for the deep link to a private chat."""

    __tablename__ = "group_words"
    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


# --- Open311 (issue 19): partner systems' keys and the requests they filed --------------------
class ApiKeyRow(Base):
    """A partner system's API key (12345, a mini program): only its sha256 is kept."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope_id: Mapped[int] = mapped_column(ForeignKey("places.id"))  # a street or a community
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiRequestRow(Base):
    """An order a partner filed: its token, and the idempotency key it was filed under."""

    __tablename__ = "api_requests"
    __table_args__ = (UniqueConstraint("key_id", "idempotency_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


# A caller's phone finds their household (Open311, 0020).
Index("ix_people_phone", PersonRow.phone)


class ConsoleLoginRow(Base):
    """console (issue 18, 0019): a one-time login link to the web console, kept as a digest."""

    __tablename__ = "console_logins"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
