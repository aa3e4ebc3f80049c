"""Notices (通知), who turned them off, grid groups and words kept for a deep link (issue 17).

A notice's copies are ordinary outbox rows with its ref (`notice:<id>`): how they went is read
from there (sent, given up, still to send) until the final report keeps the counts on the
notice. A group's posts are outbox rows addressed to the group's chat (a negative id, paced
as a group: 20 a minute), in the name of the person who linked it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    BulletinRow,
    GridGroupRow,
    GroupWordsRow,
    HouseholdRow,
    NoticeOptOutRow,
    OutboxRow,
    PersonRow,
)
from storage.notices import outbox_written
from storage.people import SqlPeople
from workflows.model import (
    Audience,
    Bulletin,
    BulletinStatus,
    GridGroup,
    GroupKind,
    Notice,
    Person,
    Tally,
)

GROUP_LANG = "zh"  # a group's posts are in Chinese: it is the neighbourhood's language
WORDS_KEPT = timedelta(days=1)  # how long words said in a group wait for their deep link


def _bulletin(row: BulletinRow) -> Bulletin:
    return Bulletin(
        id=row.id,
        sender_id=row.sender_id,
        place_id=row.place_id,
        audience=Audience(row.audience),
        urgent=bool(row.urgent),
        text=row.text,
        created_at=row.created_at,
        status=BulletinStatus(row.status),
        photo=row.photo,
        sent_at=row.sent_at,
        decided_by=row.decided_by,
        recipients=row.recipients,
        reported_at=row.reported_at,
        delivered=row.delivered,
        blocked=row.blocked,
    )


# Read for every order routed (its staff groups are told): a Core statement built once.
_GRID_GROUPS = cast(Table, GridGroupRow.__table__)
_GROUPS_OF = (
    select(_GRID_GROUPS)
    .where(
        _GRID_GROUPS.c.place_id.in_(bindparam("places", expanding=True)),
        _GRID_GROUPS.c.kind == bindparam("kind"),
    )
    .order_by(_GRID_GROUPS.c.linked_at)
)


def _group(row: GridGroupRow | Row[Any]) -> GridGroup:
    return GridGroup(row.chat_id, row.place_id, GroupKind(row.kind), row.linked_by, row.linked_at)


class SqlBulletins:
    """Notices and grid groups over one session."""

    def __init__(
        self,
        session: AsyncSession,
        now: Callable[[], datetime],
        quiet: Callable[[datetime], datetime | None] | None = None,
    ) -> None:
        self.session = session
        self.now = now
        self.quiet = quiet

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
        row = BulletinRow(
            sender_id=sender_id,
            place_id=place_id,
            audience=audience.value,
            urgent=urgent,
            text=text,
            photo=photo,
            status=status.value,
            created_at=at,
            sent_at=at if status == BulletinStatus.SENT else None,
            recipients=0,
            delivered=0,
            blocked=0,
        )
        self.session.add(row)
        await self.session.flush()
        return _bulletin(row)

    async def get(self, bulletin_id: int) -> Bulletin | None:
        row = await self.session.get(BulletinRow, bulletin_id)
        return _bulletin(row) if row else None

    async def decide(
        self, bulletin_id: int, status: BulletinStatus, by: int, at: datetime
    ) -> Bulletin | None:
        values: dict[str, Any] = {"status": status.value, "decided_by": by}
        if status == BulletinStatus.SENT:
            values["sent_at"] = at
        result = await self.session.execute(
            update(BulletinRow)
            .where(BulletinRow.id == bulletin_id, BulletinRow.status == BulletinStatus.PENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        row = await self.session.get(BulletinRow, bulletin_id, populate_existing=True)
        return _bulletin(row) if row else None

    async def set_recipients(self, bulletin_id: int, recipients: int) -> None:
        await self.session.execute(
            update(BulletinRow)
            .where(BulletinRow.id == bulletin_id)
            .values(recipients=recipients)
            .execution_options(synchronize_session=False)
        )

    async def of_sender(self, sender_id: int, limit: int) -> list[Bulletin]:
        rows = await self.session.scalars(
            select(BulletinRow)
            .where(BulletinRow.sender_id == sender_id)
            .order_by(BulletinRow.id.desc())
            .limit(limit)
        )
        return [_bulletin(r) for r in rows]

    async def tally(self, bulletin: Bulletin) -> Tally:
        rows = await self.session.execute(
            select(
                func.count(OutboxRow.sent_at),
                func.count(OutboxRow.failed_at),
                func.count(),
            ).where(OutboxRow.ref == bulletin.ref)
        )
        sent, failed, total = rows.one()
        return Tally(int(sent), int(failed), int(total) - int(sent) - int(failed))

    async def unreported(self) -> list[Bulletin]:
        rows = await self.session.scalars(
            select(BulletinRow)
            .where(
                BulletinRow.reported_at.is_(None),
                BulletinRow.status == BulletinStatus.SENT,
            )
            .order_by(BulletinRow.id)
        )
        return [_bulletin(r) for r in rows]

    async def reported(self, bulletin_id: int, tally: Tally, at: datetime) -> bool:
        result = await self.session.execute(
            update(BulletinRow)
            .where(BulletinRow.id == bulletin_id, BulletinRow.reported_at.is_(None))
            .values(reported_at=at, delivered=tally.delivered, blocked=tally.blocked)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def turn_off(self, person_id: int, off: bool, at: datetime) -> None:
        await self.session.execute(
            delete(NoticeOptOutRow).where(NoticeOptOutRow.person_id == person_id)
        )
        if off:
            self.session.add(NoticeOptOutRow(person_id=person_id, at=at))
            await self.session.flush()

    async def turned_off(self, person_ids: Sequence[int]) -> set[int]:
        if not person_ids:
            return set()
        rows = await self.session.scalars(
            select(NoticeOptOutRow.person_id).where(NoticeOptOutRow.person_id.in_(person_ids))
        )
        return set(rows)

    async def residents_of(self, unit_ids: Sequence[int]) -> list[Person]:
        if not unit_ids:
            return []
        rows = await self.session.scalars(
            select(PersonRow)
            .join(HouseholdRow, HouseholdRow.id == PersonRow.household_id)
            .where(HouseholdRow.unit_id.in_(unit_ids))
            .order_by(PersonRow.id)
        )
        return await SqlPeople(self.session)._people(list(rows))

    async def link(self, group: GridGroup) -> None:
        await self.session.execute(
            delete(GridGroupRow).where(GridGroupRow.chat_id == group.chat_id)
        )
        self.session.add(
            GridGroupRow(
                chat_id=group.chat_id,
                place_id=group.place_id,
                kind=group.kind.value,
                linked_by=group.linked_by,
                linked_at=group.linked_at,
            )
        )
        await self.session.flush()

    async def unlink(self, chat_id: int) -> GridGroup | None:
        found = await self.group(chat_id)
        if found is not None:
            await self.session.execute(delete(GridGroupRow).where(GridGroupRow.chat_id == chat_id))
        return found

    async def group(self, chat_id: int) -> GridGroup | None:
        row = await self.session.scalar(select(GridGroupRow).where(GridGroupRow.chat_id == chat_id))
        return _group(row) if row else None

    async def groups(self, place_ids: Sequence[int], kind: GroupKind) -> list[GridGroup]:
        if not place_ids:
            return []
        asked = {"places": list(place_ids), "kind": kind.value}
        return [_group(r) for r in await self.session.execute(_GROUPS_OF, asked)]

    async def post(self, group: GridGroup, notice: Notice) -> None:
        now = self.now()
        outbox_written(self.session)
        self.session.add(
            OutboxRow(
                person_id=group.linked_by,
                chat_id=group.chat_id,
                lang=GROUP_LANG,
                key=notice.key,
                params=dict(notice.params),
                actions=[
                    {
                        "label": a.label,
                        "verb": a.verb,
                        "target_id": a.target_id,
                        "arg": a.arg,
                        "params": dict(a.params),
                    }
                    for a in notice.actions
                ],
                photo=notice.photo,
                urgent=notice.urgent,
                created_at=now,
                attempts=0,
                not_before=self.quiet(now) if notice.deferrable and self.quiet else None,
                ref=notice.ref,
            )
        )
        await self.session.flush()

    async def keep_words(self, token: str, text: str, at: datetime) -> None:
        # Words nobody took within a day are dropped (they name nobody, but are nobody's
        # business either).
        await self.session.execute(delete(GroupWordsRow).where(GroupWordsRow.at < at - WORDS_KEPT))
        self.session.add(GroupWordsRow(token=token, text=text, at=at))
        await self.session.flush()

    async def take_words(self, token: str) -> str | None:
        row = await self.session.get(GroupWordsRow, token)
        if row is None:
            return None
        text = row.text
        await self.session.delete(row)
        await self.session.flush()
        return text
