"""The console's board on a real database: what it counts and lists, and how it reads them.

The board of a street with 100k open orders and 1M closed ones must answer in ≤ 300 ms
(bench/console.py); it does so by reading open orders only, from two partial indexes
(storage/models.py, migration 0021). Here: the counts, the overdue, the page and the reach are
right, and on SQLite the page and the counts come from those indexes, not from every order
(which index of the two the planner takes for the page depends on the data; either is small).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import event

from storage.board import BoardFilters, Reach, board
from storage.models import OPEN_ORDER_STATUSES
from tests.storage.conftest import Db
from workflows.model import OPEN_STATUSES, Order
from workflows.orders import OrderDraft, cancel_order, place_order
from workflows.people import register_resident


async def order_in(db: Db, telegram_id: int, room: str, words: str) -> Order:
    """Register a resident in a room of the first unit and place a repair order."""
    async with db.uow() as uow:
        households = await uow.places.households(db.place.unit.id)
        household = next(h for h in households if h.room == room)
        person = await register_resident(uow, telegram_id, "居民", "zh", household.id)
        repair = next(c.id for c in await uow.categories.list() if c.code == "water_power_gas")
        order = await place_order(uow, db.clock, person, OrderDraft(repair, words))
        await uow.commit()
        return order


async def read(db: Db, reach: Reach, filters: BoardFilters) -> Any:
    """Return the board page the reach and filters give, now."""
    async with db.uow() as uow:
        return await board(uow.session, reach, filters, db.clock.now())


def test_the_indexed_stages_are_the_open_stages() -> None:
    assert set(OPEN_ORDER_STATUSES) == {str(s) for s in OPEN_STATUSES}


async def test_the_board_counts_lists_and_keeps_to_the_reach(db: Db) -> None:
    first = await order_in(db, 7001, "101", "水管漏水了")
    second = await order_in(db, 7002, "102", "楼道灯不亮")
    gone = await order_in(db, 7003, "201", "电梯异响")
    async with db.uow() as uow:
        owner = await uow.people.by_telegram(7003)
        assert owner is not None
        await cancel_order(uow, db.clock, owner, gone.id)
        await uow.commit()

    community = Reach(person_id=db.place.dispatcher.id, community_ids=(db.place.community.id,))
    page = await read(db, community, BoardFilters())
    assert [r.id for r in page.rows] == [second.id, first.id]  # newest first, cancelled gone
    assert page.total == 2 and page.overdue == 0

    found = await read(db, community, BoardFilters(words="灯"))
    assert [r.id for r in found.rows] == [second.id] and found.total == 1

    # Past every stage's deadline, both are overdue, counted and flagged.
    db.clock.advance(days=30)
    late = await read(db, community, BoardFilters(overdue=True))
    assert late.overdue == 2 and all(r.overdue for r in late.rows)

    # A grid worker's reach is their grid's buildings; another grid's building shows nothing.
    grid = Reach(person_id=db.place.grid_worker.id, building_ids=(db.place.building.id,))
    assert {r.id for r in (await read(db, grid, BoardFilters())).rows} == {first.id, second.id}
    elsewhere = Reach(person_id=db.place.grid_worker.id, building_ids=(db.place.grid.id,))
    assert (await read(db, elsewhere, BoardFilters())).total == 0


async def test_the_board_reads_open_orders_from_their_own_indexes(db: Db) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the query plan checked here is SQLite's; PostgreSQL's is in bench/console.py")
    await order_in(db, 7101, "101", "水管漏水了")
    statements: list[tuple[str, Any]] = []

    def seen(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM orders" in statement:
            statements.append((statement, params))

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        community = Reach(person_id=db.place.dispatcher.id, community_ids=(db.place.community.id,))
        await read(db, community, BoardFilters())
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
    flat = [(" ".join(s.split()), s, p) for s, p in statements]
    counted = next((s, p) for f, s, p in flat if "count(*)" in f and "NOT IN" not in f)
    listed = next((s, p) for f, s, p in flat if "ORDER BY orders.id DESC LIMIT" in f)
    async with db.engine.connect() as connection:
        for statement, params in (counted, listed):
            plan = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            steps = " ".join(str(row[-1]) for row in plan.all())
            # Read from one of the open orders' indexes, never by walking every order.
            assert re.search(r"orders USING COVERING INDEX ix_orders_open_(counts|newest)", steps)
