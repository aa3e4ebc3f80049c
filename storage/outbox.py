"""The delivery side of the outbox: what is due, and marking each message sent or failed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import OutboxRow
from workflows.model import EDIT_KEY

SCAN = 500  # the most chats one pass looks at; the rest wait for the next pass


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


class OutboxQueue:
    """Reads due messages in order per chat and records how each delivery went."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.now = now

    async def due(self) -> tuple[list[Outgoing], datetime | None]:
        """Return each chat's next message if it is due (urgent first), and the next wake time.

        A chat's next message is its oldest unsent edit, else its oldest unsent message: so
        messages keep their order, an edit of a message already there does not wait behind
        new ones, and a long queue for one chat does not hold up the others.
        """
        now = self.now()
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
        is_due = or_(OutboxRow.not_before.is_(None), OutboxRow.not_before <= now)
        async with self.sessions() as session:
            ready = await session.scalars(
                select(OutboxRow)
                .where(heads, is_due)
                .order_by(OutboxRow.urgent.desc(), OutboxRow.id)
                .limit(SCAN)
            )
            messages = [_outgoing(r) for r in ready]
            next_at = await session.scalar(
                select(func.min(OutboxRow.not_before)).where(
                    or_(heads, held), *pending[:2], OutboxRow.not_before > now
                )
            )
        return messages, next_at

    async def mark_sent(self, message_id: int) -> None:
        """Record that the message reached Telegram."""
        await self._set(message_id, sent_at=self.now(), error=None)

    async def retry_at(self, message: Outgoing, when: datetime, error: str) -> None:
        """Try the message again no earlier than `when`."""
        await self._set(message.id, not_before=when, attempts=message.attempts + 1, error=error)

    async def give_up(self, message: Outgoing, error: str) -> None:
        """Stop trying a message; the chat's next one goes on."""
        await self._set(
            message.id, failed_at=self.now(), error=error, attempts=message.attempts + 1
        )

    async def pending(self) -> int:
        """Return how many messages are still to be sent."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(OutboxRow.id).where(
                    OutboxRow.sent_at.is_(None), OutboxRow.failed_at.is_(None)
                )
            )
            return len(list(rows))

    async def _set(self, message_id: int, **values: Any) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(OutboxRow).where(OutboxRow.id == message_id).values(**values)
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
