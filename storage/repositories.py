"""The smaller repositories: categories, conversation state, invites, the update and audit logs.

The others have a module each: places, people, orders, notices (the outbox), timers, visits,
reports; storage/mappers.py turns rows into the domain's plain data for all of them.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.mappers import to_audit_entry, to_category
from storage.models import (
    AuditRow,
    CategoryRow,
    ChatStateRow,
    ConsoleLoginRow,
    InviteRow,
    ProcessedUpdateRow,
    dialect_of,
    insert_for,
)
from workflows.model import AuditEntry, Category, ChatState

# Prebuilt Core statements: see storage/people.py for why the reads every update makes are
# not built each time.
_CHATS = cast(Table, ChatStateRow.__table__)
_SEEN = cast(Table, ProcessedUpdateRow.__table__)
CHAT_STATE = select(_CHATS.c.name, _CHATS.c.data).where(
    _CHATS.c.telegram_id == bindparam("telegram_id")
)
FORGET_CHAT_STATE = delete(_CHATS).where(_CHATS.c.telegram_id == bindparam("telegram_id"))


@functools.cache
def _statements(dialect: str) -> tuple[Any, Any]:
    """Return the upsert of a chat state and the first-time record of an update, per dialect."""
    insert_of = insert_for(dialect)
    chat = insert_of(_CHATS)
    put_chat = chat.on_conflict_do_update(
        index_elements=[_CHATS.c.telegram_id],
        set_={"name": chat.excluded.name, "data": chat.excluded.data},
    )
    seen = (
        insert_of(_SEEN)
        .on_conflict_do_nothing(index_elements=[_SEEN.c.update_id])
        .returning(_SEEN.c.update_id)
    )
    return put_chat, seen


class SqlCategories:
    """Categories in the order residents see them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        # Read once per unit of work: only the organisation file's import writes categories,
        # and it does so through its own session. An order placed reads them several times.
        self._listed: list[Category] | None = None

    async def list(self) -> list[Category]:
        if self._listed is None:
            rows = await self.session.scalars(
                select(CategoryRow).order_by(CategoryRow.position, CategoryRow.id)
            )
            self._listed = [to_category(r) for r in rows]
        return list(self._listed)

    async def get(self, category_id: int) -> Category | None:
        if self._listed is not None:
            return next((c for c in self._listed if c.id == category_id), None)
        row = await self.session.get(CategoryRow, category_id)
        return to_category(row) if row else None


class SqlChats:
    """Conversation state per Telegram user."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, telegram_id: int) -> ChatState | None:
        row = (await self.session.execute(CHAT_STATE, {"telegram_id": telegram_id})).first()
        return ChatState(row.name, dict(row.data or {})) if row else None

    async def put(self, telegram_id: int, state: ChatState | None) -> None:
        if state is None:
            await self.session.execute(FORGET_CHAT_STATE, {"telegram_id": telegram_id})
            return
        put_chat, _ = _statements(dialect_of(self.session))
        await self.session.execute(
            put_chat, {"telegram_id": telegram_id, "name": state.name, "data": dict(state.data)}
        )


class SqlInvites:
    """One-time staff invite tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def issue(self, person_id: int, token: str, at: datetime) -> None:
        self.session.add(InviteRow(token=token, person_id=person_id, issued_at=at))
        await self.session.flush()

    async def redeem(self, token: str, at: datetime) -> int | None:
        row = await self.session.get(InviteRow, token)
        if row is None or row.used_at is not None:
            return None
        result = await self.session.execute(
            update(InviteRow)
            .where(InviteRow.token == token, InviteRow.used_at.is_(None))
            .values(used_at=at)
            .execution_options(synchronize_session=False)
        )
        return row.person_id if result.rowcount == 1 else None  # type: ignore[attr-defined]


class SqlConsoleLogins:
    """One-time console login links (issue 18), kept as digests; redeemed once, in time."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def issue(self, person_id: int, digest: str, at: datetime, expires_at: datetime) -> None:
        self.session.add(
            ConsoleLoginRow(digest=digest, person_id=person_id, issued_at=at, expires_at=expires_at)
        )
        await self.session.flush()

    async def redeem(self, digest: str, at: datetime) -> int | None:
        person_id = await self.session.scalar(
            update(ConsoleLoginRow)
            .where(
                ConsoleLoginRow.digest == digest,
                ConsoleLoginRow.used_at.is_(None),
                ConsoleLoginRow.expires_at > at,
            )
            .values(used_at=at)
            .returning(ConsoleLoginRow.person_id)
            .execution_options(synchronize_session=False)
        )
        return int(person_id) if person_id is not None else None


class SqlUpdateLog:
    """Telegram update ids that took effect, kept for a week."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def first_time(self, update_id: int, at: datetime) -> bool:
        # A write first: on SQLite the update's transaction then holds the write lock from its
        # start (waiting its turn for it), instead of failing with "database is locked" when it
        # came to write after another transaction committed since it read.
        _, seen = _statements(dialect_of(self.session))
        written = await self.session.scalar(seen, {"update_id": update_id, "at": at})
        return written is not None

    async def forget_before(self, at: datetime) -> int:
        """Drop records older than `at`; return how many."""
        result = await self.session.execute(
            delete(ProcessedUpdateRow).where(ProcessedUpdateRow.at < at)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


_ADD_AUDIT = insert(cast(Table, AuditRow.__table__))  # Core: no ORM object to flush


class SqlAudit:
    """The audit log of staff actions."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, entry: AuditEntry) -> None:
        await self.session.execute(
            _ADD_AUDIT,
            dict(
                at=entry.at,
                actor_id=entry.actor_id,
                actor=entry.actor[:100],
                action=entry.action,
                subject=entry.subject,
                details=dict(entry.details),
            ),
        )

    async def latest(self, limit: int) -> list[AuditEntry]:
        rows = await self.session.scalars(
            select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        )
        return [to_audit_entry(r) for r in rows]
