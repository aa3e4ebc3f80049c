"""The delivery side of the outbox: what is due, claiming it, and recording how it went.

Everything a delivery worker must agree on with the other instances lives in the database:
a message is *claimed* (a lease) before it is sent, so no two workers send it; a chat with a
claimed message gets nothing else meanwhile, so its order holds; and Telegram's limits are
paced from `send_slots` — one row for the overall pace, one per chat that was sent to — so they
hold for all instances together. Times here are seconds by the database's clock (`db_epoch`),
so instances on several machines agree without trusting each other's clocks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, case, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from storage.models import OutboxRow, SendSlotRow, db_epoch, dialect_insert
from workflows.model import EDIT_KEY

SCAN = 500  # the most chats one pass looks at; the rest wait for the next pass
# How long a claim holds. Longer than any send may take (the HTTP clients time out within a
# minute); a worker that died holding a claim delays that chat this long, then another sends.
LEASE_SECONDS = 120.0
OVERALL = "*"  # the send_slots key of the overall pace; a chat's key is its id
PRIVATE = 1  # any private chat's id (positive), where a group's or channel's is negative


@dataclass(frozen=True)
class Pace:
    """Telegram's send limits, as the delivery workers of all instances hold them together."""

    overall_per_second: float = 25.0  # under Telegram's ~30/s
    chat_per_second: float = 1.0
    chat_burst: int = 3
    group_per_minute: int = 20

    def interval(self, chat_id: int) -> float:
        """Return the steady spacing of new messages to the chat."""
        return 60.0 / self.group_per_minute if chat_id < 0 else 1.0 / self.chat_per_second

    def slack(self, chat_id: int) -> float:
        """Return how far ahead of now a chat's pace may run (its burst): none for groups."""
        return 0.0 if chat_id < 0 else (self.chat_burst - 1) * self.interval(chat_id)


@dataclass(frozen=True)
class Outgoing:
    """One message waiting to be sent."""

    id: int
    person_id: int
    chat_id: int
    lang: str
    key: str
    params: dict[str, Any]
    actions: list[dict[str, Any]]
    photo: str | None
    urgent: bool
    attempts: int
    created_at: datetime

    @property
    def is_edit(self) -> bool:
        """Edits count only towards the overall pace: Telegram's per-chat limit is on messages."""
        return self.key == EDIT_KEY


@dataclass(frozen=True)
class Due:
    """What one look at the outbox found."""

    messages: list[Outgoing]  # chats' heads, free to send now, urgent first
    next_at: datetime | None  # when a waiting head (a retry, a quiet-hours notice) comes due
    paced: float | None  # seconds until the first chat held back by its pace is free


@dataclass(frozen=True)
class Claimed:
    """A message this worker holds, and how long to wait for its overall slot."""

    message: Outgoing
    delay: float


@dataclass(frozen=True)
class _Look:
    """The pieces of one look at the outbox (`OutboxQueue._look`)."""

    now: datetime
    held: ColumnElement[bool]
    pending: tuple[ColumnElement[bool], ...]
    heads: ColumnElement[bool]
    ahead: ColumnElement[float]
    paced: ColumnElement[bool]
    with_pace: Select[OutboxRow]
    free: Select[OutboxRow]


class OutboxQueue:
    """Reads due messages in order per chat, claims them and records how each delivery went."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        now: Callable[[], datetime],
        *,
        owner: str = "sandan",
        pace: Pace | None = None,
        lease: float = LEASE_SECONDS,
    ) -> None:
        self.sessions = sessions
        self.now = now
        self.owner = owner
        self.pace = pace or Pace()
        self.lease = lease

    async def due(self, limit: int = SCAN) -> Due:
        """Return up to `limit` free chats' next messages if due (urgent first), and what waits.

        A chat's next message is its oldest unsent edit, else its oldest unsent message: so
        messages keep their order, an edit of a message already there does not wait behind
        new ones, and a long queue for one chat does not hold up the others. A chat is free
        when no worker holds a claim on any of its messages and its pace allows one more.

        What waits (`next_at`, `paced`) is read only when nothing is due: a worker that found
        messages looks again as soon as it claimed them (or asks `waits`, when it claimed none).
        """
        look = self._look()
        async with self.sessions() as session:
            rows = await session.scalars(
                look.free.order_by(OutboxRow.urgent.desc(), OutboxRow.id).limit(min(limit, SCAN))
            )
            messages = [_outgoing(row) for row in rows]
            if messages:
                return Due(messages, None, None)
            next_at, paced = await self._waits(session, look)
        return Due(messages, next_at, paced)

    async def waits(self) -> tuple[datetime | None, float | None]:
        """Return when the first message held back comes due, and when the first paced chat is free.

        The first: a retry, or a notice held for the quiet hours; the second, in seconds.
        """
        async with self.sessions() as session:
            return await self._waits(session, self._look())

    async def _waits(
        self, session: AsyncSession, look: _Look
    ) -> tuple[datetime | None, float | None]:
        paced = await session.scalar(
            look.with_pace.with_only_columns(func.min(look.ahead)).where(look.paced)
        )
        next_at = await session.scalar(
            select(func.min(OutboxRow.not_before)).where(
                or_(look.heads, look.held), *look.pending[:2], OutboxRow.not_before > look.now
            )
        )
        return next_at, paced

    def _look(self) -> _Look:
        """Build the statements of one look at the outbox (see `due`)."""
        now = self.now()
        clock = db_epoch()
        # A notice held for the quiet hours (never tried, not before morning) does not hold up
        # the chat: the person's own replies go on; held notices keep their order among them.
        held = and_(
            OutboxRow.attempts == 0, OutboxRow.not_before.is_not(None), OutboxRow.not_before > now
        )
        pending = (OutboxRow.sent_at.is_(None), OutboxRow.failed_at.is_(None), ~held)
        edits = (*pending, OutboxRow.key == EDIT_KEY)
        heads = or_(
            OutboxRow.id.in_(
                select(func.min(OutboxRow.id)).where(*edits).group_by(OutboxRow.chat_id)
            ),
            OutboxRow.id.in_(
                select(func.min(OutboxRow.id))
                .where(
                    *pending,
                    OutboxRow.key != EDIT_KEY,
                    OutboxRow.chat_id.not_in(select(OutboxRow.chat_id).where(*edits)),
                )
                .group_by(OutboxRow.chat_id)
            ),
        )
        claimed = select(OutboxRow.chat_id).where(*pending[:2], OutboxRow.lease_until > clock)
        is_due = or_(OutboxRow.not_before.is_(None), OutboxRow.not_before <= now)
        # The chat's pace: how far its next free moment lies beyond now, less its burst.
        slack = case((OutboxRow.chat_id < 0, 0.0), else_=self.pace.slack(PRIVATE))
        ahead = SendSlotRow.next_at - slack - clock
        paced = and_(OutboxRow.key != EDIT_KEY, SendSlotRow.next_at.is_not(None), ahead > 0)
        with_pace = (
            select(OutboxRow)
            .outerjoin(SendSlotRow, SendSlotRow.key == cast(OutboxRow.chat_id, String))
            .where(heads, is_due, OutboxRow.chat_id.not_in(claimed))
        )
        return _Look(now, held, pending, heads, ahead, paced, with_pace, with_pace.where(~paced))

    async def claim(self, messages: Sequence[Outgoing]) -> list[Claimed]:
        """Claim what no other worker claimed meanwhile, and book each an overall send slot.

        One transaction: the claims are conditional writes (a message sent or claimed by
        another worker since it was read is left alone), and the slots are booked on the
        shared overall row, which also makes concurrent claims take turns.
        """
        if not messages:
            return []
        clock = db_epoch()
        free = or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until < clock)
        async with self.sessions() as session, session.begin():
            won = set(
                await session.scalars(
                    update(OutboxRow)
                    .where(
                        OutboxRow.id.in_([m.id for m in messages]),
                        OutboxRow.sent_at.is_(None),
                        OutboxRow.failed_at.is_(None),
                        free,
                    )
                    .values(lease_until=clock + self.lease, lease_owner=self.owner)
                    .returning(OutboxRow.id)
                )
            )
            mine = [m for m in messages if m.id in won]
            if not mine:
                return []
            step = 1.0 / self.pace.overall_per_second
            booked = len(mine) * step
            row = (
                await session.execute(
                    _move_on(session, OVERALL, clock, booked).returning(SendSlotRow.next_at, clock)
                )
            ).one()
        first = row[0] - booked - row[1]  # seconds from now until the first booked slot
        return [Claimed(m, max(0.0, first + i * step)) for i, m in enumerate(mine)]

    async def mark_sent(self, message: Outgoing) -> None:
        """Record that the message reached Telegram."""
        await self._finish(message, sent_at=self.now(), error=None)

    async def retry_at(self, message: Outgoing, when: datetime, error: str) -> None:
        """Try the message again no earlier than `when`."""
        await self._finish(message, not_before=when, attempts=message.attempts + 1, error=error)

    async def give_up(self, message: Outgoing, error: str) -> None:
        """Stop trying a message; the chat's next one goes on."""
        await self._finish(
            message, failed_at=self.now(), error=error, attempts=message.attempts + 1
        )

    async def release(self, keep: Sequence[int] = ()) -> int:
        """Let go of the claims this worker holds but those in `keep`; return how many.

        At start, claims left by a crash are let go: nothing of this name sends any more. At a
        stop, claims on messages not sent are let go; those sent but not yet marked are kept,
        so that no other instance sends them again before their claims run out.
        """
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.lease_owner == self.owner,
                    OutboxRow.lease_until.is_not(None),
                    OutboxRow.id.not_in(keep),
                )
                .values(lease_until=None, lease_owner=None)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def pending(self) -> int:
        """Return how many messages are still to be sent."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(OutboxRow.id).where(
                    OutboxRow.sent_at.is_(None), OutboxRow.failed_at.is_(None)
                )
            )
            return len(list(rows))

    async def _finish(self, message: Outgoing, **values: Any) -> None:
        """Record an attempt's outcome, let go of the claim, and move the chat's pace on.

        The pace counts from when the attempt *finished*: Telegram counts arrivals, and a
        request that was slow to arrive must not bring the chat's next one too close to it.
        Any attempt may have arrived (a 429 or a timeout too), so each one counts.
        """
        clock = db_epoch()
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message.id)
                .values(lease_until=None, lease_owner=None, **values)
            )
            if not message.is_edit:
                step = self.pace.interval(message.chat_id)
                key = str(message.chat_id)
                await session.execute(_move_on(session, key, clock, step))


def _move_on(session: AsyncSession, key: str, clock: ColumnElement[float], seconds: float) -> Any:
    """Return an upsert moving a pace on by `seconds` from now, or from where it already is.

    The pace's `next_at` is the moment by which everything booked on it has been used up
    (a "theoretical arrival time"): it never falls behind now, and each send pushes it on.
    """
    insert = dialect_insert(session)
    later = case((SendSlotRow.next_at > clock, SendSlotRow.next_at), else_=clock)
    return (
        insert(SendSlotRow)
        .values(key=key, next_at=clock + seconds, tokens=0.0)
        .on_conflict_do_update(index_elements=[SendSlotRow.key], set_={"next_at": later + seconds})
    )


def _outgoing(row: OutboxRow) -> Outgoing:
    return Outgoing(
        id=row.id,
        person_id=row.person_id,
        chat_id=row.chat_id,
        lang=row.lang,
        key=row.key,
        params=dict(row.params or {}),
        actions=list(row.actions or []),
        photo=row.photo,
        urgent=row.urgent,
        attempts=row.attempts,
        created_at=row.created_at,
    )
