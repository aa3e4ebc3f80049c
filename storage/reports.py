"""What digests count: orders placed and timeline entries in a window, by community."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.mappers import to_event, to_household, to_order, to_place
from storage.models import IN_CHUNK, HouseholdRow, OrderEventRow, OrderRow, PlaceRow
from workflows.model import OPEN_STATUSES, HouseholdPlace, Order, OrderEvent, OrderStatus, Place


class SqlReports:
    """What digests count: orders placed and timeline entries in a window, by community."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def created_between(
        self, community_ids: Sequence[int], since: datetime, until: datetime
    ) -> list[Order]:
        rows = await self.session.scalars(
            select(OrderRow)
            .where(
                OrderRow.community_id.in_(list(community_ids)),
                OrderRow.created_at >= since,
                OrderRow.created_at < until,
            )
            .order_by(OrderRow.id)
        )
        return [to_order(r) for r in rows]

    async def events_between(
        self,
        community_ids: Sequence[int],
        actions: Sequence[str],
        since: datetime,
        until: datetime,
    ) -> list[OrderEvent]:
        rows = await self.session.scalars(
            select(OrderEventRow)
            .join(OrderRow, OrderRow.id == OrderEventRow.order_id)
            .where(
                OrderRow.community_id.in_(list(community_ids)),
                OrderEventRow.action.in_(list(actions)),
                OrderEventRow.at >= since,
                OrderEventRow.at < until,
            )
            .order_by(OrderEventRow.at, OrderEventRow.id)
        )
        return [to_event(r) for r in rows]

    async def placed_moments(
        self, community_ids: Sequence[int], since: datetime, until: datetime
    ) -> list[datetime]:
        moments = await self.session.scalars(
            select(OrderRow.created_at).where(
                OrderRow.community_id.in_(list(community_ids)),
                OrderRow.created_at >= since,
                OrderRow.created_at < until,
            )
        )
        return list(moments)

    async def overdue(self, community_ids: Sequence[int], now: datetime) -> list[Order]:
        # Two reads of ids, each a range of one (status, deadline) index and nothing else, then
        # the orders found. Joined by OR in one query the planners scanned every order; with
        # the community in the same query, PostgreSQL (which takes most orders of a status for
        # late, the history's deadlines being past) read every open order to filter it.
        late_to_resolve = and_(
            OrderRow.status.in_([s.value for s in OPEN_STATUSES]), OrderRow.resolve_due <= now
        )
        late_to_accept = and_(
            OrderRow.status == OrderStatus.OFFERED.value, OrderRow.accept_due <= now
        )
        late_to_take = and_(
            OrderRow.status.in_([OrderStatus.QUEUED.value, OrderStatus.POOL.value]),
            OrderRow.wait_due <= now,
        )
        ids: set[int] = set()
        for late in (late_to_resolve, late_to_accept, late_to_take):
            ids.update(await self.session.scalars(select(OrderRow.id).where(late)))
        wanted = sorted(ids)
        found: list[Order] = []
        for start in range(0, len(wanted), IN_CHUNK):
            rows = await self.session.scalars(
                select(OrderRow)
                .where(
                    OrderRow.id.in_(wanted[start : start + IN_CHUNK]),
                    OrderRow.community_id.in_(list(community_ids)),
                )
                .order_by(OrderRow.id)
            )
            found += (to_order(r) for r in rows)
        return found

    async def backlog(
        self, community_ids: Sequence[int], statuses: Iterable[OrderStatus]
    ) -> dict[OrderStatus, tuple[int, datetime]]:
        # One range of the (status, community, created) index per status (0009), nothing else.
        found: dict[OrderStatus, tuple[int, datetime]] = {}
        for status in statuses:
            count, oldest = (
                await self.session.execute(
                    select(func.count(), func.min(OrderRow.created_at)).where(
                        OrderRow.status == status.value,
                        OrderRow.community_id.in_(list(community_ids)),
                    )
                )
            ).one()
            if count:
                found[status] = (count, oldest)
        return found

    async def building_grids(self, building_ids: Iterable[int]) -> dict[int, Place]:
        wanted = sorted(set(building_ids))
        building, grid = aliased(PlaceRow), aliased(PlaceRow)
        found: dict[int, Place] = {}
        for start in range(0, len(wanted), IN_CHUNK):
            rows = await self.session.execute(
                select(building.id, grid)
                .join(grid, grid.id == building.parent_id)
                .where(building.id.in_(wanted[start : start + IN_CHUNK]))
            )
            found.update((building_id, to_place(row)) for building_id, row in rows)
        return found

    async def household_places(self, household_ids: Iterable[int]) -> dict[int, HouseholdPlace]:
        wanted = sorted(set(household_ids))
        households = []
        for start in range(0, len(wanted), IN_CHUNK):
            households += list(
                await self.session.scalars(
                    select(HouseholdRow).where(
                        HouseholdRow.id.in_(wanted[start : start + IN_CHUNK])
                    )
                )
            )
        # Unit, building, grid, community: one read per level for all the households.
        places: dict[int, Place] = {}
        level = {h.unit_id for h in households}
        for _ in range(4):
            level -= places.keys()
            found = []
            ids = sorted(level)
            for start in range(0, len(ids), IN_CHUNK):
                found += list(
                    await self.session.scalars(
                        select(PlaceRow).where(PlaceRow.id.in_(ids[start : start + IN_CHUNK]))
                    )
                )
            places.update((p.id, to_place(p)) for p in found)
            level = {p.parent_id for p in found if p.parent_id is not None}
        result: dict[int, HouseholdPlace] = {}
        for row in households:
            chain: list[Place] = []
            place_id: int | None = row.unit_id
            while place_id is not None and place_id in places and len(chain) < 4:
                chain.append(places[place_id])
                place_id = chain[-1].parent_id
            if len(chain) == 4:
                unit, building, grid, community = chain
                result[row.id] = HouseholdPlace(to_household(row), unit, building, grid, community)
        return result
