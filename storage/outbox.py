"""The delivery side of the outbox: what is due, and marking each message sent or failed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import OutboxRow, PersonRow

SCAN = 500


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


class OutboxQueue:
    """Reads due messages in order per chat and records how each delivery went."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], now: Callable[[], datetime]
    ) -> None:
        self.sessions = sessions
        self.now = now

    async def due(self) -> tuple[list[Outgoing], datetime | None]:
        """Return each chat's next message if it is due (urgent first), and the next wake time."""
        now = self.now()
        async with self.sessions() as session:
            rows = await session.scalars(
                select(OutboxRow)
                .where(OutboxRow.sent_at.is_(None), OutboxRow.failed_at.is_(None))
                .order_by(OutboxRow.id)
                .limit(SCAN)
            )
            heads: dict[int, OutboxRow] = {}
            for row in rows:
                heads.setdefault(row.chat_id, row)  # later ones wait: order per chat is kept
        ready = [r for r in heads.values() if r.not_before is None or r.not_before <= now]
        waiting = [r.not_before for r in heads.values() if r.not_before and r.not_before > now]
        ready.sort(key=lambda r: (not r.urgent, r.id))
        return [_outgoing(r) for r in ready], min(waiting, default=None)

    async def mark_sent(self, message_id: int) -> None:
        """Record that the message reached Telegram."""
        await self._set(message_id, sent_at=self.now(), error=None)

    async def retry_at(self, message: Outgoing, when: datetime, error: str) -> None:
        """Try the message again no earlier than `when`."""
        await self._set(message.id, not_before=when, attempts=message.attempts + 1, error=error)

    async def give_up(self, message: Outgoing, error: str, *, unreachable: bool = False) -> None:
        """Stop trying a message; when the person blocked the bot, mark them unreachable."""
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == message.id)
                .values(failed_at=self.now(), error=error, attempts=message.attempts + 1)
            )
            if unreachable:
                await session.execute(
                    update(PersonRow)
                    .where(PersonRow.id == message.person_id)
                    .values(reachable=False)
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
    )
