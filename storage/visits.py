"""Key households and their visit tasks."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Select, and_, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.mappers import to_key_household, to_key_request, to_visit
from storage.models import IN_CHUNK, HouseholdRow, KeyHouseholdRow, KeyRequestRow, VisitRow
from storage.places import forget_places
from workflows.model import (
    KeyHousehold,
    KeyRequest,
    KeyRequestStatus,
    Visit,
    VisitKind,
    VisitOutcome,
)


class SqlVisits:
    """Key households and their visit tasks."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def unlink_orders(self, order_ids: Iterable[int]) -> None:
        wanted = sorted(set(order_ids))
        for start in range(0, len(wanted), IN_CHUNK):
            await self.session.execute(
                update(VisitRow)
                .where(VisitRow.order_id.in_(wanted[start : start + IN_CHUNK]))
                .values(order_id=None, note=None, photo=None)
                .execution_options(synchronize_session=False)
            )

    async def key_households(self) -> list[KeyHousehold]:
        rows = await self.session.scalars(
            select(KeyHouseholdRow).order_by(KeyHouseholdRow.household_id)
        )
        return [to_key_household(r) for r in rows]

    async def key_household(self, household_id: int) -> KeyHousehold | None:
        row = await self.session.get(KeyHouseholdRow, household_id, populate_existing=True)
        return to_key_household(row) if row else None

    async def latest(self, household_id: int, kind: VisitKind) -> Visit | None:
        row = await self.session.scalar(
            select(VisitRow)
            .where(VisitRow.household_id == household_id, VisitRow.kind == kind.value)
            .order_by(VisitRow.opened_at.desc(), VisitRow.id.desc())
            .limit(1)
        )
        return to_visit(row) if row else None

    async def latest_of_each(self, kind: VisitKind) -> dict[int, Visit]:
        # One read for every household (a sweep asks for all of them), not one per household.
        rows = await self.session.scalars(_latest_visits(), {"kind": kind.value})
        return {row.household_id: to_visit(row) for row in rows}

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
        row = VisitRow(
            household_id=household_id,
            person_id=person_id,
            kind=kind.value,
            opened_at=opened_at,
            due_at=due_at,
            order_id=order_id,
        )
        self.session.add(row)
        await self.session.flush()
        return to_visit(row)

    async def get(self, visit_id: int) -> Visit | None:
        row = await self.session.get(VisitRow, visit_id, populate_existing=True)
        return to_visit(row) if row else None

    async def log(
        self, visit_id: int, outcome: VisitOutcome, at: datetime, note: str | None = None
    ) -> Visit | None:
        result = await self.session.execute(
            update(VisitRow)
            .where(VisitRow.id == visit_id, VisitRow.logged_at.is_(None))
            .values(outcome=outcome.value, logged_at=at, note=note)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return await self.get(visit_id)

    async def unlogged_due(self, before: datetime) -> list[Visit]:
        rows = await self.session.scalars(
            select(VisitRow)
            .where(
                VisitRow.logged_at.is_(None),
                VisitRow.missed_at.is_(None),
                VisitRow.due_at <= before,
            )
            .order_by(VisitRow.due_at, VisitRow.id)
        )
        return [to_visit(r) for r in rows]

    async def mark_missed(self, visit_id: int, at: datetime) -> None:
        await self.session.execute(
            update(VisitRow)
            .where(VisitRow.id == visit_id, VisitRow.missed_at.is_(None))
            .values(missed_at=at)
            .execution_options(synchronize_session=False)
        )

    async def missed_between(self, since: datetime, until: datetime) -> list[Visit]:
        rows = await self.session.scalars(
            select(VisitRow)
            .where(VisitRow.missed_at >= since, VisitRow.missed_at < until)
            .order_by(VisitRow.missed_at, VisitRow.id)
        )
        return [to_visit(r) for r in rows]

    async def open_for(self, person_id: int) -> list[Visit]:
        rows = await self.session.scalars(
            select(VisitRow)
            .where(VisitRow.person_id == person_id, VisitRow.logged_at.is_(None))
            .order_by(VisitRow.due_at, VisitRow.id)
        )
        return [to_visit(r) for r in rows]

    # rounds (issue 17)
    async def write_note(self, visit_id: int, note: str, photo: str | None) -> Visit | None:
        result = await self.session.execute(
            update(VisitRow)
            .where(VisitRow.id == visit_id, VisitRow.logged_at.is_not(None))
            .values(note=note, photo=photo)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return await self.get(visit_id)

    async def visited_between(
        self, household_ids: Sequence[int], since: datetime, until: datetime
    ) -> set[int]:
        wanted = sorted(set(household_ids))
        found: set[int] = set()
        for start in range(0, len(wanted), IN_CHUNK):
            found.update(
                await self.session.scalars(
                    select(VisitRow.household_id).where(
                        VisitRow.household_id.in_(wanted[start : start + IN_CHUNK]),
                        VisitRow.logged_at >= since,
                        VisitRow.logged_at < until,
                        VisitRow.outcome != VisitOutcome.NOT_HOME.value,
                    )
                )
            )
        return found

    async def history(self, household_id: int, limit: int) -> list[Visit]:
        rows = await self.session.scalars(
            select(VisitRow)
            .where(VisitRow.household_id == household_id, VisitRow.logged_at.is_not(None))
            .order_by(VisitRow.logged_at.desc(), VisitRow.id.desc())
            .limit(limit)
        )
        return [to_visit(r) for r in rows]

    async def mark_key(self, key: KeyHousehold) -> None:
        values = {
            "kind": key.kind,
            "liaison_id": key.liaison_id,
            "visit_every_days": key.visit_every_days,
            "source": key.source,
        }
        row = await self.session.get(KeyHouseholdRow, key.household_id)
        if row is None:
            self.session.add(KeyHouseholdRow(household_id=key.household_id, **values))
        else:
            for name, value in values.items():
                setattr(row, name, value)
        await self.session.execute(
            update(HouseholdRow)
            .where(HouseholdRow.id == key.household_id)
            .values(is_key=True)
            .execution_options(synchronize_session=False)
        )
        forget_places(self.session)  # the household's place says whether it is key
        await self.session.flush()

    async def add_key_request(
        self,
        *,
        household_id: int,
        requested_by: int,
        kind: str,
        visit_every_days: int,
        at: datetime,
    ) -> KeyRequest:
        row = KeyRequestRow(
            household_id=household_id,
            requested_by=requested_by,
            kind=kind,
            visit_every_days=visit_every_days,
            created_at=at,
            status=KeyRequestStatus.PENDING.value,
        )
        self.session.add(row)
        await self.session.flush()
        return to_key_request(row)

    async def key_request(self, request_id: int) -> KeyRequest | None:
        row = await self.session.get(KeyRequestRow, request_id, populate_existing=True)
        return to_key_request(row) if row else None

    async def decide_key_request(
        self, request_id: int, status: KeyRequestStatus, by: int, at: datetime
    ) -> KeyRequest | None:
        result = await self.session.execute(
            update(KeyRequestRow)
            .where(
                KeyRequestRow.id == request_id,
                KeyRequestRow.status == KeyRequestStatus.PENDING.value,
            )
            .values(status=status.value, decided_by=by, decided_at=at)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return await self.key_request(request_id)


@functools.cache
def _latest_visits() -> Select[VisitRow]:
    """Return the query of each household's latest visit of a kind, built once."""
    newer = aliased(VisitRow)
    return select(VisitRow).where(
        VisitRow.kind == bindparam("kind"),
        ~exists().where(
            newer.household_id == VisitRow.household_id,
            newer.kind == VisitRow.kind,
            or_(
                newer.opened_at > VisitRow.opened_at,
                and_(newer.opened_at == VisitRow.opened_at, newer.id > VisitRow.id),
            ),
        ),
    )
