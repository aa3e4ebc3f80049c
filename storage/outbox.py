"""The delivery side of the outbox: what is due, claiming it, and recording how it went.

Everything a delivery worker must agree on with the other instances lives in the database:
a message is *claimed* (a lease) before it is sent, so no two workers send it; a chat with a
claimed message gets nothing else meanwhile, so its order holds; and Telegram's limits are
paced from `send_slots` — one row for the overall pace, one per chat that was sent to — so they
hold for all instances together. Times here are seconds by the database's clock (`db_epoch`),
so instances on several machines agree without trusting each other's clocks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Float,
    Row,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import OutboxRow, SendSlotRow, UTCDateTime, db_epoch, dialect_of, insert_for
from workflows.model import EDIT_KEY, REPLY_KEY

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
    person_id: int | None  # None for a post to a channel (publicity, issue 17)
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
    """The statements of a look at the outbox (`OutboxQueue._look`), each taking `now`."""

    free: Select[Any]  # the free chats' heads that are due, urgent first
    first_paced: Select[Any]  # seconds until the first chat held back by its pace is free
    first_held: Select[Any]  # when the first head held back (a retry, quiet hours) comes due


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
        look, now = self._look, {"now": self.now()}
        async with self.sessions() as session:
            rows = await session.execute(look.free.limit(max(1, min(limit, SCAN))), now)
            messages = [_outgoing(row) for row in rows]
            if messages:
                return Due(messages, None, None)
            next_at, paced = await self._waits(session, now)
        return Due(messages, next_at, paced)

    async def waits(self) -> tuple[datetime | None, float | None]:
        """Return when the first message held back comes due, and when the first paced chat is free.

        The first: a retry, or a notice held for the quiet hours; the second, in seconds.
        """
        async with self.sessions() as session:
            return await self._waits(session, {"now": self.now()})

    async def _waits(
        self, session: AsyncSession, now: dict[str, datetime]
    ) -> tuple[datetime | None, float | None]:
        paced = await session.scalar(self._look.first_paced, now)
        next_at = await session.scalar(self._look.first_held, now)
        return next_at, paced

    @functools.cached_property
    def _look(self) -> _Look:
        """Build the statements of a look at the outbox (see `due`), once: `now` is a parameter."""
        now = bindparam("now", type_=UTCDateTime())
        clock = db_epoch()
        # A notice held for the quiet hours (never tried, not before morning) does not hold up
        # the chat: the person's own replies go on; held notices keep their order among them.
        held = and_(
            _OUTBOX.c.attempts == 0, _OUTBOX.c.not_before.is_not(None), _OUTBOX.c.not_before > now
        )
        unsent = (_OUTBOX.c.sent_at.is_(None), _OUTBOX.c.failed_at.is_(None))
        pending = (*unsent, ~held)
        edits = (*pending, _OUTBOX.c.key == EDIT_KEY)
        heads = or_(
            _OUTBOX.c.id.in_(
                select(func.min(_OUTBOX.c.id)).where(*edits).group_by(_OUTBOX.c.chat_id)
            ),
            _OUTBOX.c.id.in_(
                select(func.min(_OUTBOX.c.id))
                .where(
                    *pending,
                    _OUTBOX.c.key != EDIT_KEY,
                    _OUTBOX.c.chat_id.not_in(select(_OUTBOX.c.chat_id).where(*edits)),
                )
                .group_by(_OUTBOX.c.chat_id)
            ),
        )
        claimed = select(_OUTBOX.c.chat_id).where(*unsent, _OUTBOX.c.lease_until > clock)
        is_due = or_(_OUTBOX.c.not_before.is_(None), _OUTBOX.c.not_before <= now)
        # The chat's pace: how far its next free moment lies beyond now, less its burst.
        slack = case((_OUTBOX.c.chat_id < 0, 0.0), else_=self.pace.slack(PRIVATE))
        ahead = _SLOTS.c.next_at - slack - clock
        paced = and_(_OUTBOX.c.key != EDIT_KEY, _SLOTS.c.next_at.is_not(None), ahead > 0)
        with_pace = (
            select(_OUTBOX)
            .outerjoin(_SLOTS, _SLOTS.c.key == sql_cast(_OUTBOX.c.chat_id, String))
            .where(heads, is_due, _OUTBOX.c.chat_id.not_in(claimed))
        )
        return _Look(
            # Urgent first; among them, replies to people talking to the bot now: a flood of
            # task cards (a partner filing fifty orders a second) does not keep them waiting.
            free=with_pace.where(~paced).order_by(
                _OUTBOX.c.urgent.desc(),
                case((_OUTBOX.c.key.in_([REPLY_KEY, EDIT_KEY]), 0), else_=1),
                _OUTBOX.c.id,
            ),
            first_paced=with_pace.with_only_columns(func.min(ahead)).where(paced),
            first_held=select(func.min(_OUTBOX.c.not_before)).where(
                or_(heads, held), *unsent, _OUTBOX.c.not_before > now
            ),
        )

    async def claim(self, messages: Sequence[Outgoing]) -> list[Claimed]:
        """Claim what no other worker claimed meanwhile, and book each an overall send slot.

        One transaction: the claims are conditional writes (a message sent or claimed by
        another worker since it was read is left alone), and the slots are booked on the
        shared overall row, which also makes concurrent claims take turns.
        """
        if not messages:
            return []
        asked = {"ids": [m.id for m in messages], "lease": self.lease, "owner": self.owner}
        async with self.sessions() as session, session.begin():
            won = set(await session.scalars(CLAIM, asked))
            mine = [m for m in messages if m.id in won]
            if not mine:
                return []
            step = 1.0 / self.pace.overall_per_second
            booked = len(mine) * step
            book = _pace_statements(dialect_of(session))[1]
            row = (await session.execute(book, {"key": OVERALL, "seconds": booked})).one()
        first = row[0] - booked - row[1]  # seconds from now until the first booked slot
        return [Claimed(m, max(0.0, first + i * step)) for i, m in enumerate(mine)]

    async def mark_sent(self, message: Outgoing, message_id: int | None = None) -> None:
        """Record that the message reached Telegram, with the id Telegram gave it if known.

        What it said is emptied (see `SPENT`): the row keeps only what finds the message again.
        """
        await self._finish(message, sent_at=self.now(), error=None, message_id=message_id, **SPENT)

    async def retry_at(self, message: Outgoing, when: datetime, error: str) -> None:
        """Try the message again no earlier than `when`."""
        await self._finish(message, not_before=when, attempts=message.attempts + 1, error=error)

    async def give_up(self, message: Outgoing, error: str) -> None:
        """Stop trying a message; the chat's next one goes on."""
        await self._finish(
            message, failed_at=self.now(), error=error, attempts=message.attempts + 1, **SPENT
        )

    async def prune(self, before: datetime) -> int:
        """Delete the messages sent or given up before `before`; return how many.

        Per-chat paces long past are dropped too: a pace behind the clock holds nothing back
        (`_pace_statements`), and its key is a person's Telegram id.
        """
        async with self.sessions() as session, session.begin():
            done = await session.execute(
                delete(_OUTBOX).where(or_(_OUTBOX.c.sent_at < before, _OUTBOX.c.failed_at < before))
            )
            await session.execute(
                delete(_SLOTS).where(
                    _SLOTS.c.key != OVERALL, _SLOTS.c.next_at < _CLOCK - SLOT_KEPT_SECONDS
                )
            )
        return int(done.rowcount or 0)  # type: ignore[attr-defined]

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
            unsent = (_OUTBOX.c.sent_at.is_(None), _OUTBOX.c.failed_at.is_(None))
            return int(await session.scalar(select(func.count()).where(*unsent)) or 0)

    async def _finish(self, message: Outgoing, **values: Any) -> None:
        """Record an attempt's outcome, let go of the claim, and move the chat's pace on.

        The pace counts from when the attempt *finished*: Telegram counts arrivals, and a
        request that was slow to arrive must not bring the chat's next one too close to it.
        Any attempt may have arrived (a 429 or a timeout too), so each one counts.
        """
        async with self.sessions() as session, session.begin():
            await session.execute(FINISH, {"outbox_id": message.id, **values})
            if not message.is_edit:
                step = self.pace.interval(message.chat_id)
                move_on = _pace_statements(dialect_of(session))[0]
                await session.execute(move_on, {"key": str(message.chat_id), "seconds": step})


_OUTBOX = cast(Table, OutboxRow.__table__)
_SLOTS = cast(Table, SendSlotRow.__table__)
_CLOCK = db_epoch()
# Claim what is still unsent and unclaimed (or whose claim ran out), for `lease` seconds.
CLAIM = (
    update(_OUTBOX)
    .where(
        _OUTBOX.c.id.in_(bindparam("ids", expanding=True)),
        _OUTBOX.c.sent_at.is_(None),
        _OUTBOX.c.failed_at.is_(None),
        or_(_OUTBOX.c.lease_until.is_(None), _OUTBOX.c.lease_until < _CLOCK),
    )
    .values(lease_until=_CLOCK + bindparam("lease"), lease_owner=bindparam("owner"))
    .returning(_OUTBOX.c.id)
)
# A finished message's content: emptied once sent or given up, since nothing reads it again;
# its key, ref, chat, Telegram's message id and times stay, to find and edit the message later.
SPENT: dict[str, Any] = {"params": {}, "actions": [], "photo": None}
# A chat's pace this far behind the clock is gone (an hour: well past any burst or retry).
SLOT_KEPT_SECONDS = 3600.0
# An attempt's outcome: the columns given with the parameters, and the claim let go.
FINISH = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("outbox_id"))
    .values(lease_until=None, lease_owner=None)
)


@functools.cache
def _pace_statements(dialect: str) -> tuple[Any, Any]:
    """Return the upsert moving a pace on by `seconds` from now, and the same returning it.

    The pace's `next_at` is the moment by which everything booked on it has been used up
    (a "theoretical arrival time"): it never falls behind now, and each send pushes it on.
    """
    insert_of = insert_for(dialect)
    seconds = bindparam("seconds", type_=Float())
    later = case((_SLOTS.c.next_at > _CLOCK, _SLOTS.c.next_at), else_=_CLOCK)
    move_on = (
        insert_of(_SLOTS)
        .values(key=bindparam("key"), next_at=_CLOCK + seconds, tokens=0.0)
        .on_conflict_do_update(index_elements=[_SLOTS.c.key], set_={"next_at": later + seconds})
    )
    return move_on, move_on.returning(_SLOTS.c.next_at, _CLOCK)


def _outgoing(row: Row[Any]) -> Outgoing:
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
