"""Orders, their timelines and pool offers."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from storage.mappers import to_event, to_order
from storage.models import OrderEventRow, OrderFollowerRow, OrderRow, PoolOfferRow
from storage.places import SqlPlaces
from workflows.model import (
    OPEN_STATUSES,
    Order,
    OrderChanges,
    OrderEvent,
    OrderStatus,
    Urgency,
    Voice,
)
from workflows.vocabulary import Channel

# New orders and timeline entries are written with Core statements built once: through the
# ORM's unit of work (add, flush), each cost about four times the INSERT itself. Nothing holds
# these rows as ORM objects, so the identity map has nothing to keep in step.
_ORDERS = cast(Table, OrderRow.__table__)
_ADD_ORDER = insert(_ORDERS).returning(*_ORDERS.c)
_ADD_EVENT = insert(cast(Table, OrderEventRow.__table__))
_ORDER_ATTRIBUTES = [(a.key, a.columns[0]) for a in inspect(OrderRow).column_attrs]


@functools.cache
def _move_statement(keys: tuple[str, ...], versioned: bool) -> Any:
    """Return the UPDATE … RETURNING of a move that sets these columns, built once for each
    set of columns (building it cost more than running it)."""
    query = (
        update(_ORDERS)
        .where(
            _ORDERS.c.id == bindparam("move_id"),
            _ORDERS.c.status.in_(bindparam("move_from", expanding=True)),
        )
        .values(
            status=bindparam("move_to"),
            version=_ORDERS.c.version + 1,
            **{k: bindparam(f"set_{k}", type_=_ORDERS.c[k].type) for k in keys},
        )
    )
    if versioned:
        query = query.where(_ORDERS.c.version == bindparam("move_version"))
    # The moved row comes back from the UPDATE itself (RETURNING: SQLite ≥ 3.35, PostgreSQL).
    return query.returning(*_ORDERS.c)


def _db_value(value: Any) -> Any:
    """Return enum values as their plain strings for the database."""
    return value.value if hasattr(value, "value") else value


class SqlOrders:
    """Orders, timelines and pool offers."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
    ) -> Order:
        place = await SqlPlaces(self.session).household_place(household_id)
        assert place is not None
        row = await self.session.execute(
            _ADD_ORDER,
            dict(
                resident_id=resident_id,
                household_id=household_id,
                building_id=place.building.id,
                category_id=category_id,
                community_id=place.community.id,
                description=description,
                urgency=urgency.value,
                status=status.value,
                photos=list(photos),
                voices=[v.to_dict() for v in voices] or None,
                latitude=latitude,
                longitude=longitude,
                created_at=created_at,
                version=0,
                channel=Channel(channel).value,
            ),
        )
        return to_order(row.one())

    async def get(self, order_id: int) -> Order | None:
        row = await self.session.get(OrderRow, order_id, populate_existing=True)
        return to_order(row) if row else None

    async def move(
        self,
        order_id: int,
        from_statuses: Iterable[OrderStatus],
        to_status: OrderStatus,
        *,
        expect_version: int | None = None,
        changes: OrderChanges | None = None,
    ) -> Order | None:
        values = {k: _db_value(v) for k, v in (changes or OrderChanges()).set().items()}
        query = _move_statement(tuple(sorted(values)), expect_version is not None)
        asked = {f"set_{k}": v for k, v in values.items()}
        asked.update(move_id=order_id, move_from=[s.value for s in from_statuses])
        asked["move_to"] = to_status.value
        if expect_version is not None:
            asked["move_version"] = expect_version
        row = (await self.session.execute(query, asked)).one_or_none()
        if row is None:
            return None
        # Core, not the ORM (a third of a partner's POST went to the ORM's UPDATE): an order
        # this session read as an ORM object is brought up to date by hand, as the ORM would.
        held = self.session.identity_map.get(identity_key(OrderRow, order_id))
        if held is not None:
            for attribute, column in _ORDER_ATTRIBUTES:
                set_committed_value(held, attribute, row._mapping[column])
        return to_order(row)

    async def update(self, order_id: int, changes: OrderChanges) -> None:
        await self.session.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id)
            .values(**{k: _db_value(v) for k, v in changes.set().items()})
            .execution_options(synchronize_session=False)
        )

    async def add_event(self, event: OrderEvent) -> None:
        await self.session.execute(
            _ADD_EVENT,
            dict(
                order_id=event.order_id,
                at=event.at,
                actor_id=event.actor_id,
                action=event.action,
                from_status=event.from_status.value if event.from_status else None,
                to_status=event.to_status.value if event.to_status else None,
                note=event.note,
                target_id=event.target_id,
                photo=event.photo,
            ),
        )

    async def events(self, order_id: int) -> list[OrderEvent]:
        rows = await self.session.scalars(
            select(OrderEventRow)
            .where(OrderEventRow.order_id == order_id)
            .order_by(OrderEventRow.id)
        )
        return [to_event(r) for r in rows]

    async def of_resident(self, resident_id: int, limit: int = 20) -> list[Order]:
        rows = await self.session.scalars(
            select(OrderRow)
            .where(OrderRow.resident_id == resident_id)
            .order_by(OrderRow.id.desc())
            .limit(limit)
        )
        return [to_order(r) for r in rows]

    async def scrub_resident(self, resident_id: int, placeholder: str) -> int:
        result = await self.session.execute(
            update(OrderRow)
            .where(OrderRow.resident_id == resident_id)
            .values(
                description=placeholder,
                photos=[],
                voices=None,
                latitude=None,
                longitude=None,
                comment=None,
                household_id=None,  # the room; the order keeps its building (0007)
            )
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(OrderEventRow)
            .where(OrderEventRow.actor_id == resident_id, OrderEventRow.action != "rate")
            .values(note=None, photo=None)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(OrderEventRow)
            .where(OrderEventRow.actor_id == resident_id)
            .values(photo=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def placed_since(self, resident_id: int, since: datetime) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(OrderRow)
            .where(OrderRow.resident_id == resident_id, OrderRow.created_at >= since)
        )
        return int(count or 0)

    async def of_assignee(self, person_id: int, statuses: Iterable[OrderStatus]) -> list[Order]:
        rows = await self.session.scalars(
            select(OrderRow)
            .where(
                OrderRow.assignee_id == person_id,
                OrderRow.status.in_([s.value for s in statuses]),
            )
            .order_by(OrderRow.id)
        )
        return [to_order(r) for r in rows]

    async def pool_for(self, person_id: int) -> list[Order]:
        rows = await self.session.scalars(
            select(OrderRow)
            .join(PoolOfferRow, PoolOfferRow.order_id == OrderRow.id)
            .where(PoolOfferRow.person_id == person_id, OrderRow.status == OrderStatus.POOL.value)
            .order_by(OrderRow.id)
        )
        return [to_order(r) for r in rows]

    async def in_community(self, community_id: int, statuses: Iterable[OrderStatus]) -> list[Order]:
        rows = await self.session.scalars(
            select(OrderRow)
            .where(
                OrderRow.community_id == community_id,
                OrderRow.status.in_([s.value for s in statuses]),
            )
            .order_by(OrderRow.id)
        )
        return [to_order(r) for r in rows]

    async def transfer_resident(self, from_person: int, to_person: int) -> None:
        await self.session.execute(
            update(OrderRow)
            .where(OrderRow.resident_id == from_person)
            .values(resident_id=to_person)
            .execution_options(synchronize_session=False)
        )

    async def pool_offers(self, order_id: int) -> list[int]:
        rows = await self.session.scalars(
            select(PoolOfferRow.person_id).where(PoolOfferRow.order_id == order_id)
        )
        return list(rows)

    async def add_pool_offer(self, order_id: int, person_id: int) -> None:
        if await self.session.get(PoolOfferRow, (order_id, person_id)) is None:
            self.session.add(PoolOfferRow(order_id=order_id, person_id=person_id))
            await self.session.flush()

    async def drop_pool_offer(self, order_id: int, person_id: int) -> None:
        await self.session.execute(
            delete(PoolOfferRow).where(
                PoolOfferRow.order_id == order_id, PoolOfferRow.person_id == person_id
            )
        )

    # moves (issue 15): duplicates and their followers.
    async def open_alike(
        self, building_id: int, category_id: int, since: datetime, exclude_resident: int
    ) -> list[Order]:
        rows = await self.session.scalars(
            select(OrderRow)
            .where(
                OrderRow.building_id == building_id,
                OrderRow.category_id == category_id,
                OrderRow.created_at >= since,
                OrderRow.status.in_([s.value for s in OPEN_STATUSES]),
                OrderRow.resident_id != exclude_resident,
            )
            .order_by(OrderRow.id)
        )
        return [to_order(r) for r in rows]

    async def add_follower(self, order_id: int, person_id: int, at: datetime) -> bool:
        if await self.session.get(OrderFollowerRow, (order_id, person_id)) is not None:
            return False
        self.session.add(OrderFollowerRow(order_id=order_id, person_id=person_id, joined_at=at))
        await self.session.flush()
        return True

    async def followers(self, order_id: int) -> list[int]:
        rows = await self.session.scalars(
            select(OrderFollowerRow.person_id)
            .where(OrderFollowerRow.order_id == order_id)
            .order_by(OrderFollowerRow.joined_at, OrderFollowerRow.person_id)
        )
        return list(rows)

    async def mark_published(self, order_id: int, at: datetime) -> bool:
        """Record the post to the channel in this transaction, unless it was recorded before."""
        result = await self.session.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id, OrderRow.published_at.is_(None))
            .values(published_at=at)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
