"""Every port's fake (tests/fakes.py) and SQL implementation (storage/) keep the same promises.

Each test runs twice: on the fakes with their sample organisation, and on the SQL repositories
over a migrated copy of examples/org.yaml (SQLite, or PostgreSQL with SANDAN_TEST_POSTGRES_URL).
The tests find their places and people through the ports themselves, so they hold for either
organisation. A meta-test fails when a Protocol in workflows/ports.py has no `Test<Name>` class
here, or when one of its methods is never called by that class.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock, SystemClock
from storage.db import make_engine, make_sessions
from storage.models import OutboxRow
from storage.outbox import OutboxQueue
from storage.uow import SqlUnitOfWork
from tests.fakes import FakeClock, FakeUnitOfWork, sample_org
from workflows import ports
from workflows.model import (
    KEY_FROM_CHAT,
    Audience,
    AuditEntry,
    BulletinStatus,
    ChatState,
    GridGroup,
    GroupKind,
    Household,
    KeyHousehold,
    KeyRequestStatus,
    Notice,
    Order,
    OrderChanges,
    OrderEvent,
    OrderStatus,
    Person,
    PersonChanges,
    Place,
    PlaceKind,
    Role,
    Traces,
    Urgency,
    VisitKind,
    VisitOutcome,
)
from workflows.ports import UpdateUnitOfWork

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
_telegram_ids = itertools.count(7_100_000)


@dataclass
class Org:
    """What the tests need of an organisation, found through the ports."""

    community: Place
    other_community: Place
    grid: Place
    building: Place
    unit: Place
    households: list[Household]
    unit_head: Person
    category_id: int


class Side:
    """One implementation of the ports: units of work over one store, and a way to send."""

    name: str
    org: Org

    def unit(self) -> Any:  # an async context manager yielding an UpdateUnitOfWork
        raise NotImplementedError

    async def deliver(self) -> list[tuple[int | None, int, int]]:
        """Send each chat's next queued message: (person id, chat id, message id) of each."""
        raise NotImplementedError

    async def posts(self) -> list[tuple[int, str, dict[str, Any]]]:
        """Return the messages to channels not yet sent: (chat id, key, params), oldest first."""
        raise NotImplementedError

    async def queued(self) -> list[tuple[int, str, dict[str, Any]]]:
        """Return the messages not yet sent: (person id, key, params), oldest first."""
        raise NotImplementedError


class FakeSide(Side):
    """The fakes: one in-memory store, rolled back to its last commit when a unit ends."""

    name = "fake"

    def __init__(self) -> None:
        self.uow = FakeUnitOfWork()
        org = sample_org(self.uow)
        # The organisation file's key households, as importing it writes them.
        self.uow.store.key_households[org.room102.id] = KeyHousehold(
            org.room102.id, "elderly_alone", org.unit_head.id, 30
        )
        self.uow.settle()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[UpdateUnitOfWork]:
        async with self.uow as uow:
            yield uow

    async def posts(self) -> list[tuple[int, str, dict[str, Any]]]:
        return [(chat, key, params) for chat, _, key, params in self.uow.store.posts]

    async def deliver(self) -> list[tuple[int | None, int, int]]:
        before = len(self.uow.store.delivered)
        sent = self.uow.sent.deliver()[before:]
        self.uow.settle()  # Telegram's answer is recorded whatever the unit of work does
        return [(notice.person_id, chat, message) for notice, chat, message in sent]

    async def queued(self) -> list[tuple[int, str, dict[str, Any]]]:
        return [(n.person_id, n.key, dict(n.params)) for n in self.uow.store.notices]


class SqlSide(Side):
    """The SQL repositories over a fresh copy of the sample database."""

    name = "sql"

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.clock = ManualClock(T0)
        self.message_ids = itertools.count(5000)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[UpdateUnitOfWork]:
        async with SqlUnitOfWork(self.sessions, self.clock.now) as uow:
            yield uow

    async def posts(self) -> list[tuple[int, str, dict[str, Any]]]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(OutboxRow.chat_id, OutboxRow.key, OutboxRow.params)
                .where(OutboxRow.person_id.is_(None), OutboxRow.sent_at.is_(None))
                .order_by(OutboxRow.id)
            )
            return [(r.chat_id, r.key, dict(r.params or {})) for r in rows]

    async def deliver(self) -> list[tuple[int | None, int, int]]:
        queue = OutboxQueue(self.sessions, self.clock.now)
        sent = []
        for message in (await queue.due()).messages:
            message_id = next(self.message_ids)
            await queue.mark_sent(message, message_id)
            sent.append((message.person_id, message.chat_id, message_id))
        return sent

    async def queued(self) -> list[tuple[int, str, dict[str, Any]]]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(OutboxRow.person_id, OutboxRow.key, OutboxRow.params)
                .where(
                    OutboxRow.sent_at.is_(None),
                    OutboxRow.failed_at.is_(None),
                    OutboxRow.person_id.is_not(None),
                )
                .order_by(OutboxRow.id)
            )
            return [(r.person_id, r.key, dict(r.params or {})) for r in rows]


async def survey(uow: ports.UnitOfWork) -> Org:
    """Find the first community's first unit, its households and its head, and a category."""
    communities = await uow.places.children(None, PlaceKind.COMMUNITY)
    community = communities[0]
    grid = (await uow.places.children(community.id, PlaceKind.GRID))[0]
    building = (await uow.places.children(grid.id, PlaceKind.BUILDING))[0]
    unit = (await uow.places.children(building.id, PlaceKind.UNIT))[0]
    heads = await uow.people.with_role(Role.UNIT_HEAD, [unit.id, building.id])
    return Org(
        community=community,
        other_community=communities[1],
        grid=grid,
        building=building,
        unit=unit,
        households=await uow.places.households(unit.id),
        unit_head=heads[0],
        category_id=(await uow.categories.list())[0].id,
    )


@pytest.fixture(params=["fake", "sql"])
def side_database(request: pytest.FixtureRequest) -> str | None:
    """Return None for the fakes, or the URL of a fresh copy of the sample database."""
    if request.param == "fake":
        return None
    url: str = request.getfixturevalue("sample_db")
    return url


@pytest.fixture
async def side(side_database: str | None) -> AsyncIterator[Side]:
    """Return the fakes or the SQL repositories, with the organisation found in them."""
    if side_database is None:
        made: Side = FakeSide()
        async with made.unit() as uow:
            made.org = await survey(uow)
        yield made
        return
    engine = make_engine(side_database)
    made = SqlSide(make_sessions(engine))
    async with made.unit() as uow:
        made.org = await survey(uow)
    yield made
    await engine.dispose()


async def resident(uow: ports.UnitOfWork, org: Org, room: int = 0, name: str = "居民") -> Person:
    """Register a new resident with a fresh Telegram id in one of the unit's households."""
    household = org.households[room]
    return await uow.people.add_resident(next(_telegram_ids), name, "zh", household.id)


async def order(
    uow: ports.UnitOfWork,
    org: Org,
    resident_id: int,
    *,
    status: OrderStatus = OrderStatus.QUEUED,
    created_at: datetime = T0,
    room: int = 0,
    description: str = "厨房水管漏水",
) -> Order:
    """Write an order as placing one does."""
    return await uow.orders.add(
        resident_id=resident_id,
        household_id=org.households[room].id,
        category_id=org.category_id,
        description=description,
        urgency=Urgency.NORMAL,
        status=status,
        photos=["photo-1"],
        latitude=31.2,
        longitude=121.5,
        created_at=created_at,
    )


async def change_order(uow: ports.UnitOfWork, order_id: int, **changes: Any) -> None:
    """Set order columns for a test's setting (the one place that writes them by name)."""
    await uow.orders.update(order_id, OrderChanges(**changes))


async def change_person(uow: ports.UnitOfWork, person_id: int, **changes: Any) -> None:
    """Set a person's columns for a test's setting (the one place that writes them by name)."""
    await uow.people.update(person_id, PersonChanges(**changes))


# --- the meta-test ------------------------------------------------------------------------------


def _protocols() -> list[type]:
    return [
        value
        for value in vars(ports).values()
        if isinstance(value, type)
        and value.__module__ == ports.__name__
        and getattr(value, "_is_protocol", False)
    ]


def _own_methods(port: type) -> list[str]:
    return [n for n, v in vars(port).items() if callable(v) and not n.startswith("_")]


def test_every_port_has_a_contract_test_calling_each_of_its_methods() -> None:
    protocols = _protocols()
    assert len(protocols) >= 15, [p.__name__ for p in protocols]
    for port in protocols:
        suite = globals().get(f"Test{port.__name__}")
        assert isinstance(suite, type), f"no contract tests (class Test{port.__name__}) for {port}"
        assert any(n.startswith("test_") for n in vars(suite)), f"Test{port.__name__} is empty"
        source = inspect.getsource(suite)
        for method in _own_methods(port):
            assert f".{method}(" in source, f"Test{port.__name__} never calls {method}()"
        for attribute in vars(port).get("__annotations__", {}):
            assert f".{attribute}" in source, f"Test{port.__name__} never uses .{attribute}"


# --- the contracts --------------------------------------------------------------------------------


class TestClock:
    """The fake clock and the real ones tell timezone-aware UTC time that never runs back."""

    @pytest.mark.parametrize("make", [FakeClock, ManualClock, SystemClock])
    def test_now_is_aware_utc_and_does_not_run_back(self, make: type) -> None:
        clock: ports.Clock = make()
        first = clock.now()
        second = clock.now()
        assert first.utcoffset() == timedelta(0)
        assert second >= first


class TestWorkCalendar:
    """Both units of work use the library-backed calendar: holidays off, 调休 Saturdays on."""

    async def test_holidays_and_make_up_days(self, side: Side) -> None:
        from datetime import date

        async with side.unit() as uow:
            calendar: ports.WorkCalendar = uow.calendar
            assert calendar.is_workday(date(2026, 10, 1)) is False  # National Day
            assert calendar.is_workday(date(2026, 10, 10)) is True  # a 调休 Saturday
            assert calendar.is_workday(date(2026, 10, 17)) is False  # an ordinary Saturday
            assert calendar.is_workday(date(2026, 10, 16)) is True  # an ordinary Friday
            assert calendar.is_workday(date(2031, 1, 4)) is False  # beyond the data: a Saturday
            assert calendar.is_workday(date(2031, 1, 6)) is True  # beyond the data: a Monday


class TestPlaceRepository:
    async def test_places_are_found_by_id_code_and_parent(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            assert await uow.places.get(org.unit.id) == org.unit
            assert await uow.places.get(-1) is None
            assert await uow.places.by_code(org.unit.code) == org.unit
            assert await uow.places.by_code("no-such-place") is None
            units = await uow.places.children(org.building.id, PlaceKind.UNIT)
            assert org.unit in units
            assert all(u.kind == PlaceKind.UNIT and u.parent_id == org.building.id for u in units)
            assert [u.id for u in units] == sorted(u.id for u in units)
            assert await uow.places.children(org.unit.id, PlaceKind.UNIT) == []
            communities = await uow.places.children(None, PlaceKind.COMMUNITY)
            assert {org.community, org.other_community} <= set(communities)

    async def test_households_and_where_they_are(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            households = await uow.places.households(org.unit.id)
            assert len(households) >= 2
            assert [h.id for h in households] == sorted(h.id for h in households)
            assert all(h.unit_id == org.unit.id for h in households)
            first = households[0]
            assert await uow.places.household(first.id) == first
            assert await uow.places.household(-1) is None
            assert await uow.places.households(-1) == []
            where = await uow.places.household_place(first.id)
            assert where is not None
            assert (where.household, where.unit, where.building, where.grid, where.community) == (
                first,
                org.unit,
                org.building,
                org.grid,
                org.community,
            )
            assert await uow.places.household_place(-1) is None

    async def test_a_units_public_area_is_made_once(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            public = await uow.places.public_household(org.unit.id, "公共区域")
            assert (public.unit_id, public.room) == (org.unit.id, "公共区域")
            assert await uow.places.public_household(org.unit.id, "公共区域") == public
            # Nobody registers to a public area: it is not among the unit's rooms.
            rooms = await uow.places.households(org.unit.id)
            assert public not in rooms and rooms
            assert await uow.places.household(public.id) == public


class TestPersonRepository:
    async def test_a_households_contact_and_its_people(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            household = org.households[1].id
            before = await uow.people.of_household(household)
            contact = await uow.people.add_contact("张大爷", "13800001234", household)
            assert (contact.name, contact.phone, contact.telegram_id) == (
                "张大爷",
                "13800001234",
                None,
            )
            assert contact.household_id == household and not contact.proxy
            after = await uow.people.of_household(household)
            assert after == [*before, contact]
            assert await uow.people.of_household(-1) == []

    async def test_people_of_households_are_found_by_part_of_their_name(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            household = org.households[1].id
            first = await uow.people.add_contact("欧阳_大爷", "13800001234", household)
            second = await uow.people.add_contact("欧阳奶奶", "13800001235", household)
            assert await uow.people.named("欧阳", 10) == [first, second]
            assert await uow.people.named("欧阳", 1) == [first]
            assert await uow.people.named("阳_", 10) == [first]  # no wildcards
            assert await uow.people.named("阳%", 10) == []

    async def test_people_of_households_are_found_by_phone(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            household = org.households[1].id
            first = await uow.people.add_contact("李阿姨", "13900001111", household)
            second = await uow.people.add_contact("李叔叔", "+8613900002222", household)
            assert await uow.people.with_phone(["13900001111"]) == [first]
            assert await uow.people.with_phone(["+8613900002222", "13900001111"]) == [
                first,
                second,
            ]
            assert await uow.people.with_phone(["1390000"]) == []
            assert await uow.people.with_phone([]) == []

    async def test_a_resident_is_found_by_id_telegram_and_code(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            telegram_id = next(_telegram_ids)
            person = await uow.people.add_resident(
                telegram_id, "王阿姨", "zh", org.households[0].id
            )
            assert (
                person.telegram_id,
                person.name,
                person.lang,
                person.household_id,
                person.roles,
            ) == (
                telegram_id,
                "王阿姨",
                "zh",
                org.households[0].id,
                (),
            )
            assert person.reachable
            assert await uow.people.get(person.id) == person
            assert person.telegram_id is not None
            assert await uow.people.by_telegram(person.telegram_id) == person
            assert await uow.people.get(-1) is None
            assert await uow.people.by_telegram(-1) is None
            assert await uow.people.by_code("no-such-code") is None
            if org.unit_head.code:
                assert await uow.people.by_code(org.unit_head.code) == org.unit_head

    async def test_update_and_forget_are_read_back(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            await uow.people.update(person.id, PersonChanges(lang="en", phone="13800000009"))
            updated = await uow.people.get(person.id)
            assert updated is not None and (updated.lang, updated.phone) == ("en", "13800000009")
            await uow.people.update(-1, PersonChanges(lang="en"))  # nobody: no error
            await uow.people.forget(person.id, "已注销")
            gone = await uow.people.get(person.id)
            assert gone is not None
            assert (gone.name, gone.phone, gone.telegram_id, gone.household_id) == (
                "已注销",
                None,
                None,
                None,
            )
            assert person.telegram_id is not None
            assert await uow.people.by_telegram(person.telegram_id) is None

    async def test_a_telegram_account_belongs_to_one_person(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            first = await resident(uow, org)
            second = await resident(uow, org)
            with pytest.raises(Exception):  # noqa: B017 -- ValueError or IntegrityError
                await change_person(uow, second.id, telegram_id=first.telegram_id)

    async def test_set_reachable_says_whether_it_changed(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            assert await uow.people.set_reachable(person.id, True) is False
            assert await uow.people.set_reachable(person.id, False) is True
            assert await uow.people.set_reachable(person.id, False) is False
            after = await uow.people.get(person.id)
            assert after is not None and after.reachable is False
            assert await uow.people.set_reachable(person.id, True) is True
            assert await uow.people.set_reachable(-1, True) is False

    async def test_roles_teams_and_workload(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            heads = await uow.people.with_role(Role.UNIT_HEAD, [org.unit.id, org.building.id])
            assert org.unit_head in heads
            assert [p.id for p in heads] == sorted(p.id for p in heads)
            assert all(any(r.role == Role.UNIT_HEAD for r in p.roles) for p in heads), (
                "with_role returns people holding the role"
            )
            assert await uow.people.with_role(Role.UNIT_HEAD, []) == []
            both = await uow.people.with_roles(
                [Role.UNIT_HEAD, Role.BUILDING_HEAD], [org.unit.id, org.building.id]
            )
            assert {p.id for p in heads} < {p.id for p in both}, "a building head is added"
            assert [p.id for p in both] == sorted({p.id for p in both}), "each once, by id"
            assert all(
                any(r.role in (Role.UNIT_HEAD, Role.BUILDING_HEAD) for r in p.roles) for p in both
            )

            here = await uow.people.volunteers_with_skills([], org.community.id)
            there = await uow.people.volunteers_with_skills([], org.other_community.id)
            assert [p.id for p in here] == sorted(p.id for p in here)
            assert len({p.id for p in here}) == len(here)
            assert not {p.id for p in here} & {p.id for p in there}
            assert (
                await uow.people.volunteers_with_skills(["no-such-skill"], org.community.id) == []
            )
            assert await uow.people.volunteers_with_skills([], -1) == []
            # publicity (issue 17): the teams of a community, their members and leader.
            teams = await uow.people.teams([org.community.id])
            assert teams and all(t.community_id == org.community.id for t in teams)
            assert [t.id for t in teams] == sorted(t.id for t in teams)
            assert {m for t in teams for m in t.member_ids} == {p.id for p in here}
            assert all(list(t.member_ids) == sorted(t.member_ids) for t in teams)
            assert await uow.people.teams([]) == []
            assert await uow.people.teams([-1]) == []

            person = await resident(uow, org)
            worker = org.unit_head
            before = (await uow.people.workload([worker.id])).get(worker.id, 0)
            for status in (OrderStatus.OFFERED, OrderStatus.ACCEPTED, OrderStatus.RESOLVED):
                placed = await order(uow, org, person.id, status=status)
                await change_order(uow, placed.id, assignee_id=worker.id)
            load = await uow.people.workload([worker.id, person.id])
            assert load.get(worker.id, 0) == before + 2  # offered and accepted; not resolved
            assert load.get(person.id, 0) == 0
            assert await uow.people.workload([]) == {}


class TestCategoryRepository:
    async def test_categories_are_listed_and_found(self, side: Side) -> None:
        async with side.unit() as uow:
            categories = await uow.categories.list()
            assert categories
            assert len({c.id for c in categories}) == len(categories)
            for category in categories:
                assert await uow.categories.get(category.id) == category
            assert await uow.categories.get(-1) is None


class TestOrderRepository:
    async def test_open_orders_alike_and_their_followers(self, side: Side) -> None:
        """moves (issue 15): a new order's open neighbours, and who follows an order."""
        org = side.org
        async with side.unit() as uow:
            first = await resident(uow, org, 0, "甲")
            second = await resident(uow, org, 1, "乙")
            old = await order(uow, org, first.id, created_at=T0 - timedelta(days=5))
            open_one = await order(uow, org, first.id, created_at=T0, room=0)
            closed = await order(uow, org, first.id, status=OrderStatus.CLOSED, created_at=T0)
            own = await order(uow, org, second.id, created_at=T0, room=1)
            since = T0 - timedelta(days=3)
            found = await uow.orders.open_alike(org.building.id, org.category_id, since, second.id)
            assert [o.id for o in found] == [open_one.id]
            assert old.id not in [o.id for o in found] and closed.id not in [o.id for o in found]
            mine = await uow.orders.open_alike(org.building.id, org.category_id, since, first.id)
            assert [o.id for o in mine] == [own.id]
            assert await uow.orders.open_alike(-1, org.category_id, since, second.id) == []

            assert await uow.orders.followers(open_one.id) == []
            assert await uow.orders.add_follower(open_one.id, second.id, T0) is True
            assert await uow.orders.add_follower(open_one.id, second.id, T0) is False
            assert await uow.orders.followers(open_one.id) == [second.id]
            assert await uow.orders.followers(own.id) == []

    async def test_an_order_reads_back_as_written(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            placed = await uow.orders.add(
                resident_id=person.id,
                household_id=org.households[0].id,
                category_id=org.category_id,
                description="厨房水管漏水",
                urgency=Urgency.URGENT,
                status=OrderStatus.QUEUED,
                photos=["photo-1"],
                latitude=31.2,
                longitude=121.5,
                created_at=T0,
            )
            assert (placed.resident_id, placed.household_id, placed.category_id) == (
                person.id,
                org.households[0].id,
                org.category_id,
            )
            assert (placed.urgency, placed.latitude, placed.longitude) == (
                Urgency.URGENT,
                31.2,
                121.5,
            )
            assert (placed.status, placed.version, placed.assignee_id) == (
                OrderStatus.QUEUED,
                0,
                None,
            )
            assert (placed.photos, placed.building_id, placed.created_at) == (
                ("photo-1",),
                org.building.id,
                T0,
            )
            assert await uow.orders.get(placed.id) == placed
            assert await uow.orders.get(-1) is None

    async def test_move_is_a_conditional_write_on_status_and_version(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            placed = await order(uow, org, person.id)
            orders = uow.orders
            assert await orders.move(placed.id, [OrderStatus.POOL], OrderStatus.OFFERED) is None
            stale = await orders.move(
                placed.id, [OrderStatus.QUEUED], OrderStatus.OFFERED, expect_version=7
            )
            assert stale is None
            moved = await orders.move(
                placed.id,
                [OrderStatus.QUEUED],
                OrderStatus.OFFERED,
                expect_version=0,
                changes=OrderChanges(
                    assignee_id=org.unit_head.id,
                    level=Role.UNIT_HEAD,
                    accept_due=T0 + timedelta(hours=2),
                ),
            )
            assert moved is not None
            assert (moved.status, moved.version, moved.assignee_id, moved.level) == (
                OrderStatus.OFFERED,
                1,
                org.unit_head.id,
                Role.UNIT_HEAD,
            )
            assert moved.accept_due == T0 + timedelta(hours=2)
            assert moved.description == placed.description
            again = await orders.move(
                placed.id, [OrderStatus.OFFERED], OrderStatus.ACCEPTED, expect_version=0
            )
            assert again is None
            assert await orders.get(placed.id) == moved
            assert await orders.move(-1, [OrderStatus.QUEUED], OrderStatus.OFFERED) is None
            # Without a version, only the status is the condition.
            accepted = await orders.move(placed.id, [OrderStatus.OFFERED], OrderStatus.ACCEPTED)
            assert accepted is not None and accepted.version == 2

    async def test_an_order_is_marked_published_once(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            placed = await order(uow, org, person.id, status=OrderStatus.CLOSED)
            assert await uow.orders.mark_published(placed.id, T0) is True
            assert await uow.orders.mark_published(placed.id, T0 + timedelta(hours=1)) is False
            assert await uow.orders.mark_published(-1, T0) is False
            found = await uow.orders.get(placed.id)
            assert found is not None and found.published_at == T0
            await change_order(uow, placed.id, publish_consent=True, minutes_spent=90)
            found = await uow.orders.get(placed.id)
            assert found is not None
            assert (found.publish_consent, found.minutes_spent) == (True, 90)

    async def test_update_changes_only_what_it_names(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            placed = await order(uow, org, person.id)
            await uow.orders.update(placed.id, OrderChanges(comment="谢谢", rating=5))
            updated = await uow.orders.get(placed.id)
            assert updated is not None
            assert (updated.comment, updated.rating) == ("谢谢", 5)
            assert (updated.status, updated.version, updated.description) == (
                placed.status,
                placed.version,
                placed.description,
            )
            await uow.orders.update(-1, OrderChanges(comment="x"))  # no such order: no error

    async def test_the_timeline_keeps_its_order(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            placed = await order(uow, org, person.id)
            other = await order(uow, org, person.id)
            lines = [
                OrderEvent(placed.id, T0, person.id, "place", None, OrderStatus.QUEUED),
                OrderEvent(
                    placed.id,
                    T0 + timedelta(minutes=1),
                    org.unit_head.id,
                    "offer",
                    OrderStatus.QUEUED,
                    OrderStatus.OFFERED,
                    note="请尽快",
                    target_id=org.unit_head.id,
                    photo="p",
                ),
                OrderEvent(other.id, T0, person.id, "place", None, OrderStatus.QUEUED),
            ]
            for line in lines:
                await uow.orders.add_event(line)
            assert await uow.orders.events(placed.id) == lines[:2]
            assert await uow.orders.events(other.id) == lines[2:]
            assert await uow.orders.events(-1) == []

    async def test_a_residents_orders_newest_first_and_counted(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            placed = [
                await order(uow, org, person.id, created_at=T0 + timedelta(hours=h))
                for h in range(3)
            ]
            assert await uow.orders.of_resident(person.id) == placed[::-1]
            assert await uow.orders.of_resident(person.id, limit=2) == placed[:0:-1]
            assert await uow.orders.of_resident(-1) == []
            assert await uow.orders.placed_since(person.id, T0 + timedelta(hours=1)) == 2
            assert await uow.orders.placed_since(person.id, T0 + timedelta(hours=3)) == 0

            newcomer = await resident(uow, org)
            await uow.orders.transfer_resident(person.id, newcomer.id)
            assert await uow.orders.of_resident(person.id) == []
            assert [o.id for o in await uow.orders.of_resident(newcomer.id)] == [
                o.id for o in placed[::-1]
            ]

    async def test_orders_by_assignee_community_and_pool_offer(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            worker = org.unit_head
            offered = await order(uow, org, person.id, status=OrderStatus.OFFERED)
            accepted = await order(uow, org, person.id, status=OrderStatus.ACCEPTED)
            pool = await order(uow, org, person.id, status=OrderStatus.POOL)
            for placed in (offered, accepted):
                await change_order(uow, placed.id, assignee_id=worker.id)
            mine = await uow.orders.of_assignee(worker.id, [OrderStatus.ACCEPTED])
            assert [o.id for o in mine] == [accepted.id]
            both = await uow.orders.of_assignee(
                worker.id, [OrderStatus.ACCEPTED, OrderStatus.OFFERED]
            )
            assert [o.id for o in both if o.id in {offered.id, accepted.id}] == sorted(
                [offered.id, accepted.id]
            )
            assert [o.id for o in both] == sorted(o.id for o in both)

            here = await uow.orders.in_community(org.community.id, [OrderStatus.POOL])
            assert pool.id in [o.id for o in here]
            assert all(o.status == OrderStatus.POOL for o in here)
            there = await uow.orders.in_community(org.other_community.id, [OrderStatus.POOL])
            assert pool.id not in [o.id for o in there]

            await uow.orders.add_pool_offer(pool.id, worker.id)
            await uow.orders.add_pool_offer(pool.id, worker.id)  # twice is once
            await uow.orders.add_pool_offer(pool.id, person.id)
            assert sorted(await uow.orders.pool_offers(pool.id)) == sorted([worker.id, person.id])
            assert [o.id for o in await uow.orders.pool_for(worker.id)] == [pool.id]
            await uow.orders.drop_pool_offer(pool.id, worker.id)
            await uow.orders.drop_pool_offer(pool.id, worker.id)  # not there: nothing
            assert await uow.orders.pool_offers(pool.id) == [person.id]
            assert await uow.orders.pool_for(worker.id) == []
            # A pool order someone took is no longer offered in the pool.
            await uow.orders.move(pool.id, [OrderStatus.POOL], OrderStatus.ACCEPTED)
            assert await uow.orders.pool_for(person.id) == []

    async def test_scrubbing_a_resident_keeps_the_orders_facts(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            other = await resident(uow, org, room=1)
            placed = await order(uow, org, person.id, status=OrderStatus.CLOSED)
            await change_order(uow, placed.id, comment="很好", rating=5)
            kept = await order(uow, org, other.id, description="别人的")
            said = OrderEvent(
                placed.id, T0, person.id, "comment", None, None, "我家电话", None, "p"
            )
            rated = OrderEvent(placed.id, T0, person.id, "rate", None, None, "5", None, None)
            staff = OrderEvent(placed.id, T0, org.unit_head.id, "resolve", None, None, "换了阀门")
            for line in (said, rated, staff):
                await uow.orders.add_event(line)

            assert await uow.orders.scrub_resident(person.id, "（已删除）") == 1
            scrubbed = await uow.orders.get(placed.id)
            assert scrubbed is not None
            assert (scrubbed.description, scrubbed.photos, scrubbed.comment) == (
                "（已删除）",
                (),
                None,
            )
            assert (scrubbed.latitude, scrubbed.longitude, scrubbed.household_id) == (
                None,
                None,
                None,
            )
            assert (scrubbed.status, scrubbed.rating, scrubbed.building_id) == (
                OrderStatus.CLOSED,
                5,
                org.building.id,
            )
            assert [(e.action, e.note, e.photo) for e in await uow.orders.events(placed.id)] == [
                ("comment", None, None),
                ("rate", "5", None),
                ("resolve", "换了阀门", None),
            ]
            assert await uow.orders.get(kept.id) == kept
            assert await uow.orders.scrub_resident(-1, "x") == 0


class TestOutboxRepository:
    async def test_sent_copies_are_taken_back_once_and_unsent_ones_dropped(
        self, side: Side
    ) -> None:
        org = side.org
        async with side.unit() as uow:
            a, b, c = [await resident(uow, org) for _ in range(3)]
            await uow.outbox.add(Notice(a.id, "pool.new", ref="offer:1"))
            await uow.outbox.add(Notice(b.id, "pool.new", ref="offer:1"))
            await uow.commit()
        sent = await side.deliver()
        ids = {person: message for person, _, message in sent}
        assert sorted((p, chat) for p, chat, _ in sent) == sorted(
            [(a.id, a.telegram_id), (b.id, b.telegram_id)]
        )
        async with side.unit() as uow:
            await uow.outbox.add(Notice(c.id, "pool.new", ref="offer:1"))
            await uow.outbox.add(Notice(a.id, "other", ref="offer:2"))
            copies = await uow.outbox.take_back(["offer:1"], except_person=b.id)
            assert [(x.person_id, x.chat_id, x.message_id) for x in copies] == [
                (a.id, a.telegram_id, ids[a.id])
            ]
            await uow.commit()
        assert [(p, key) for p, key, _ in await side.queued()] == [(a.id, "other")]
        async with side.unit() as uow:
            copies = await uow.outbox.take_back(["offer:1", "offer:9"])
            assert [(x.person_id, x.chat_id, x.message_id) for x in copies] == [
                (b.id, b.telegram_id, ids[b.id])
            ]
            assert await uow.outbox.take_back(["offer:1"]) == []
            await uow.commit()

    async def test_a_copy_in_a_chat_the_person_left_is_not_returned(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            a = await resident(uow, org)
            await uow.outbox.add(Notice(a.id, "pool.new", ref="offer:3"))
            await uow.commit()
        assert len(await side.deliver()) == 1
        async with side.unit() as uow:
            await change_person(uow, a.id, telegram_id=next(_telegram_ids))
            assert await uow.outbox.take_back(["offer:3"]) == []

    async def test_a_post_to_a_channel_is_queued_for_no_person(self, side: Side) -> None:
        async with side.unit() as uow:
            await uow.outbox.post(-100777, "zh", "pub.post", {"category": "维修"})
            await uow.commit()
        assert await side.posts() == [(-100777, "pub.post", {"category": "维修"})]
        assert await side.queued() == []  # nobody's private chat

    async def test_a_notice_to_someone_without_a_chat_is_not_queued(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            await change_person(uow, person.id, telegram_id=None)
            await uow.outbox.add(Notice(person.id, "order.placed"))
            await uow.outbox.add(Notice(-1, "order.placed"))
            await uow.commit()
        assert await side.queued() == []

    async def test_forgetting_a_person_drops_and_scrubs_what_waits(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            gone = await resident(uow, org, name="王阿姨")
            other = await resident(uow, org, room=1)
            placed = await order(uow, org, gone.id)
            await uow.outbox.add(Notice(gone.id, "order.placed", {"number": f"{placed.id:05d}"}))
            await uow.outbox.add(Notice(other.id, "task.offered", {"number": f"{placed.id:05d}"}))
            await uow.outbox.add(Notice(other.id, "note", {"text": "王阿姨说：电话 138"}))
            await uow.outbox.add(Notice(other.id, "plain", {"n": 3}))
            traces = Traces(
                person_id=gone.id,
                chat_id=gone.telegram_id,
                order_ids=frozenset({placed.id}),
                words=frozenset({"王阿姨", "138"}),
            )
            assert await uow.outbox.forget(traces, "某居民") == 2
            await uow.commit()
        assert await side.queued() == [
            (other.id, "note", {"text": "某居民说：电话 某居民"}),
            (other.id, "plain", {"n": 3}),
        ]


class TestChatRepository:
    async def test_the_state_is_put_replaced_and_cleared(self, side: Side) -> None:
        async with side.unit() as uow:
            assert await uow.chats.get(42) is None
            state = ChatState("order.describe", {"category_id": 3, "photos": ["a"], "x": {"y": 1}})
            await uow.chats.put(42, state)
            assert await uow.chats.get(42) == state
            await uow.chats.put(42, ChatState("order.urgency"))
            assert await uow.chats.get(42) == ChatState("order.urgency", {})
            await uow.chats.put(43, ChatState("other"))
            await uow.chats.put(42, None)
            assert await uow.chats.get(42) is None
            await uow.chats.put(42, None)  # clearing twice is fine
            assert await uow.chats.get(43) == ChatState("other")
            await uow.commit()
        async with side.unit() as uow:
            assert await uow.chats.get(43) == ChatState("other")


class TestInviteRepository:
    async def test_an_invite_is_redeemed_once(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            await uow.invites.issue(org.unit_head.id, "tok-1", T0)
            assert await uow.invites.redeem("tok-1", T0 + timedelta(minutes=1)) == org.unit_head.id
            assert await uow.invites.redeem("tok-1", T0 + timedelta(minutes=2)) is None
            assert await uow.invites.redeem("no-such-token", T0) is None
            await uow.invites.issue(org.unit_head.id, "tok-2", T0)
            await uow.commit()
        async with side.unit() as uow:
            assert await uow.invites.redeem("tok-1", T0) is None
            assert await uow.invites.redeem("tok-2", T0) == org.unit_head.id
            # Not committed: the token may be redeemed again in the next unit.
        async with side.unit() as uow:
            assert await uow.invites.redeem("tok-2", T0) == org.unit_head.id

    async def test_a_token_is_issued_once(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            await uow.invites.issue(org.unit_head.id, "tok-3", T0)
            with pytest.raises(Exception):  # noqa: B017 -- ValueError or IntegrityError
                await uow.invites.issue(org.unit_head.id, "tok-3", T0)


class TestConsoleLoginRepository:
    async def test_a_login_link_works_once_and_only_in_time(self, side: Side) -> None:
        org = side.org
        until = T0 + timedelta(minutes=10)
        async with side.unit() as uow:
            await uow.console_logins.issue(org.unit_head.id, "d-1", T0, until)
            await uow.console_logins.issue(org.unit_head.id, "d-2", T0, until)
            await uow.commit()
        async with side.unit() as uow:
            assert await uow.console_logins.redeem("d-1", T0 + timedelta(minutes=1)) == (
                org.unit_head.id
            )
            assert await uow.console_logins.redeem("d-1", T0 + timedelta(minutes=2)) is None
            assert await uow.console_logins.redeem("no-such", T0) is None
            assert await uow.console_logins.redeem("d-2", until) is None  # expired
            assert await uow.console_logins.redeem("d-2", until - timedelta(seconds=1)) == (
                org.unit_head.id
            )
            await uow.commit()
        async with side.unit() as uow:
            assert await uow.console_logins.redeem("d-1", T0) is None


class TestTimerRepository:
    async def test_each_timer_fires_once(self, side: Side) -> None:
        async with side.unit() as uow:
            assert await uow.timers.fire("digest", 1, T0, T0) is True
            assert await uow.timers.fire("digest", 1, T0, T0 + timedelta(seconds=5)) is False
            assert await uow.timers.fire("digest", 1, T0 + timedelta(days=1), T0) is True
            assert await uow.timers.fire("digest", 2, T0, T0) is True
            assert await uow.timers.fire("breach", 1, T0, T0, outcome="skipped") is True
            await uow.commit()
        async with side.unit() as uow:
            assert await uow.timers.fire("digest", 1, T0, T0) is False

    async def test_due_orders_oldest_first_within_bounds_until_fired(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            due = {}
            for hours in (3, 1, 2, 5):
                placed = await order(uow, org, person.id, status=OrderStatus.OFFERED)
                await change_order(uow, placed.id, accept_due=T0 + timedelta(hours=hours))
                due[hours] = placed.id
            closed = await order(uow, org, person.id, status=OrderStatus.CLOSED)
            await change_order(uow, closed.id, accept_due=T0)

            async def found(**bounds: Any) -> list[int]:
                orders = await uow.timers.orders_due(
                    "offer_lapse", [OrderStatus.OFFERED], "accept_due", **bounds
                )
                return [o.id for o in orders if o.id in due.values()]

            assert await found(before=T0 + timedelta(hours=3)) == [due[1], due[2], due[3]]
            assert await found(before=T0 + timedelta(hours=3), after=T0 + timedelta(hours=1)) == [
                due[2],
                due[3],
            ]
            bound = {(org.category_id, Urgency.NORMAL.value): T0 + timedelta(hours=2)}
            assert await found(before=T0 + timedelta(hours=9), by_category=bound) == [
                due[1],
                due[2],
            ]
            assert await found(before=T0 + timedelta(hours=9), by_category={}) == []
            lapsed = await uow.timers.orders_due(
                "offer_lapse", [OrderStatus.OFFERED], "accept_due", T0 + timedelta(hours=9)
            )
            assert closed.id not in [o.id for o in lapsed]
            assert all(o.status == OrderStatus.OFFERED for o in lapsed)

            await uow.timers.fire("offer_lapse", due[2], T0 + timedelta(hours=2), T0)
            await uow.timers.fire("offer_lapse", due[3], T0, T0)  # another moment: still due
            await uow.timers.fire("other_kind", due[1], T0 + timedelta(hours=1), T0)
            assert await found(before=T0 + timedelta(hours=3)) == [due[1], due[3]]

    async def test_queued_and_pooled_orders_are_due_by_their_wait_deadline(
        self, side: Side
    ) -> None:
        """clocks (issue 15): the queue's and the pool's deadline is a column the sweep reads."""
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            queued = await order(uow, org, person.id, status=OrderStatus.QUEUED)
            await change_order(uow, queued.id, wait_due=T0 + timedelta(hours=1))
            pooled = await order(uow, org, person.id, status=OrderStatus.POOL)
            await change_order(uow, pooled.id, wait_due=T0 + timedelta(hours=2))
            later = await order(uow, org, person.id, status=OrderStatus.QUEUED)
            await change_order(uow, later.id, wait_due=T0 + timedelta(hours=5))
            mine = {queued.id, pooled.id, later.id}
            found = await uow.timers.orders_due(
                "breach_queue",
                [OrderStatus.QUEUED, OrderStatus.POOL],
                "wait_due",
                T0 + timedelta(hours=3),
            )
            assert [o.id for o in found if o.id in mine] == [queued.id, pooled.id]
            assert found[0].wait_due == T0 + timedelta(hours=1)


class TestVisitRepository:
    async def test_key_households_are_listed_and_found(self, side: Side) -> None:
        async with side.unit() as uow:
            keys = await uow.visits.key_households()
            assert keys, "the sample organisation has key households"
            assert [k.household_id for k in keys] == sorted(k.household_id for k in keys)
            for key in keys:
                assert await uow.visits.key_household(key.household_id) == key
            assert await uow.visits.key_household(-1) is None

    async def test_visits_are_opened_logged_once_and_missed_once(self, side: Side) -> None:
        org = side.org
        first, second = org.households[0].id, org.households[1].id
        visitor = org.unit_head.id
        async with side.unit() as uow:

            async def visit(household: int, opened_h: int, due_h: int, kind: VisitKind) -> Any:
                return await uow.visits.add(
                    household_id=household,
                    person_id=visitor,
                    kind=kind,
                    opened_at=T0 + timedelta(hours=opened_h),
                    due_at=T0 + timedelta(hours=due_h),
                )

            old = await visit(first, 0, 30, VisitKind.KEY)
            new = await visit(first, 5, 10, VisitKind.KEY)
            theirs = await visit(second, 1, 20, VisitKind.KEY)
            follow = await visit(first, 9, 40, VisitKind.FOLLOWUP)
            assert (new.household_id, new.person_id, new.kind, new.order_id) == (
                first,
                visitor,
                VisitKind.KEY,
                None,
            )
            assert (new.outcome, new.logged_at, new.missed_at, new.note) == (None,) * 4
            assert await uow.visits.get(new.id) == new
            assert await uow.visits.get(-1) is None
            assert await uow.visits.latest(first, VisitKind.KEY) == new
            assert await uow.visits.latest(first, VisitKind.FOLLOWUP) == follow
            assert await uow.visits.latest(-1, VisitKind.KEY) is None
            each = await uow.visits.latest_of_each(VisitKind.KEY)
            assert (each.get(first), each.get(second)) == (new, theirs)

            mine = [v.id for v in await uow.visits.open_for(visitor)]
            assert [i for i in mine if i in {old.id, new.id, theirs.id, follow.id}] == [
                new.id,
                theirs.id,
                old.id,
                follow.id,
            ]
            due = [v.id for v in await uow.visits.unlogged_due(T0 + timedelta(hours=20))]
            assert [i for i in due if i in {old.id, new.id, theirs.id}] == [new.id, theirs.id]
            due = [v.id for v in await uow.visits.unlogged_due(T0 + timedelta(hours=19))]
            assert [i for i in due if i in {old.id, new.id, theirs.id}] == [new.id]
            # Opened at the same moment: the later one is the latest.
            tie = await visit(second, 1, 25, VisitKind.KEY)
            assert await uow.visits.latest(second, VisitKind.KEY) == tie
            assert (await uow.visits.latest_of_each(VisitKind.KEY)).get(second) == tie
            await uow.visits.log(tie.id, VisitOutcome.VISITED, T0)

            logged = await uow.visits.log(new.id, VisitOutcome.VISITED, T0, "一切都好")
            assert logged is not None
            assert (logged.outcome, logged.logged_at, logged.note) == (
                VisitOutcome.VISITED,
                T0,
                "一切都好",
            )
            assert await uow.visits.log(new.id, VisitOutcome.NOT_HOME, T0) is None
            assert await uow.visits.get(new.id) == logged
            assert new.id not in [v.id for v in await uow.visits.open_for(visitor)]

            await uow.visits.mark_missed(theirs.id, T0 + timedelta(hours=21))
            await uow.visits.mark_missed(theirs.id, T0 + timedelta(hours=30))  # first one stays
            missed = await uow.visits.get(theirs.id)
            assert missed is not None and missed.missed_at == T0 + timedelta(hours=21)
            due = [v.id for v in await uow.visits.unlogged_due(T0 + timedelta(hours=40))]
            assert theirs.id not in due and new.id not in due
            window = (T0 + timedelta(hours=21), T0 + timedelta(hours=22))
            assert [v.id for v in await uow.visits.missed_between(*window)] == [theirs.id]
            assert await uow.visits.missed_between(T0, window[0]) == []

    async def test_a_follow_up_visit_is_unlinked_from_its_order(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            placed = await order(uow, org, person.id, status=OrderStatus.CLOSED)
            other = await order(uow, org, person.id, status=OrderStatus.CLOSED)
            linked, kept = [
                await uow.visits.add(
                    household_id=org.households[0].id,
                    person_id=org.unit_head.id,
                    kind=VisitKind.FOLLOWUP,
                    opened_at=T0,
                    due_at=T0 + timedelta(days=1),
                    order_id=o.id,
                )
                for o in (placed, other)
            ]
            assert linked.order_id == placed.id
            await uow.visits.log(linked.id, VisitOutcome.NEEDS_HELP, T0, "家里没人照顾")
            await uow.visits.unlink_orders([placed.id])
            unlinked = await uow.visits.get(linked.id)
            assert unlinked is not None
            assert (unlinked.order_id, unlinked.note, unlinked.outcome) == (
                None,
                None,
                VisitOutcome.NEEDS_HELP,
            )
            assert await uow.visits.get(kept.id) == kept
            await uow.visits.unlink_orders([])

    # rounds (issue 17)
    async def test_notes_the_months_round_and_a_households_history(self, side: Side) -> None:
        org = side.org
        first, second = (h.id for h in org.households[:2])
        visitor = org.unit_head.id
        async with side.unit() as uow:

            async def logged(household: int, hours: int, outcome: VisitOutcome) -> Any:
                visit = await uow.visits.add(
                    household_id=household,
                    person_id=visitor,
                    kind=VisitKind.ROUND,
                    opened_at=T0,
                    due_at=T0,
                )
                assert await uow.visits.write_note(visit.id, "未记录", None) is None  # not logged
                return await uow.visits.log(visit.id, outcome, T0 + timedelta(hours=hours))

            early = await logged(first, 1, VisitOutcome.VISITED)
            late = await logged(first, 5, VisitOutcome.NEEDS_HELP)
            await logged(second, 2, VisitOutcome.NOT_HOME)
            await logged(second, 30, VisitOutcome.VISITED)
            noted = await uow.visits.write_note(early.id, "老人身体不错", "photo-1")
            assert noted is not None and (noted.note, noted.photo) == ("老人身体不错", "photo-1")
            assert await uow.visits.get(early.id) == noted
            assert await uow.visits.write_note(-1, "x", None) is None

            window = (T0, T0 + timedelta(hours=24))
            assert await uow.visits.visited_between([first, second], *window) == {first}
            assert await uow.visits.visited_between([second], *window) == set()
            longer = (T0, T0 + timedelta(hours=48))
            assert await uow.visits.visited_between([first, second], *longer) == {first, second}
            assert await uow.visits.visited_between([], *window) == set()
            history = await uow.visits.history(first, 5)
            assert [v.id for v in history] == [late.id, early.id]
            assert [v.id for v in await uow.visits.history(first, 1)] == [late.id]
            assert await uow.visits.history(-1, 5) == []

    async def test_a_key_request_is_decided_once_and_marks_the_household(self, side: Side) -> None:
        org = side.org
        household = org.households[0].id
        async with side.unit() as uow:
            assert await uow.visits.key_household(household) is None
            request = await uow.visits.add_key_request(
                household_id=household,
                requested_by=org.unit_head.id,
                kind="独居老人",
                visit_every_days=14,
                at=T0,
            )
            assert (request.household_id, request.kind, request.visit_every_days) == (
                household,
                "独居老人",
                14,
            )
            assert (request.status, request.decided_by, request.created_at) == (
                KeyRequestStatus.PENDING,
                None,
                T0,
            )
            assert await uow.visits.key_request(request.id) == request
            assert await uow.visits.key_request(-1) is None
            decided = await uow.visits.decide_key_request(
                request.id, KeyRequestStatus.APPROVED, org.unit_head.id, T0
            )
            assert decided is not None and decided.status == KeyRequestStatus.APPROVED
            assert (decided.decided_by, decided.decided_at) == (org.unit_head.id, T0)
            again = await uow.visits.decide_key_request(
                request.id, KeyRequestStatus.REFUSED, org.unit_head.id, T0
            )
            assert again is None
            assert await uow.visits.key_request(request.id) == decided

            key = KeyHousehold(household, "独居老人", org.unit_head.id, 14, KEY_FROM_CHAT)
            await uow.visits.mark_key(key)
            assert await uow.visits.key_household(household) == key
            assert key in await uow.visits.key_households()
            marked = await uow.places.household(household)
            assert marked is not None and marked.is_key
            changed = KeyHousehold(household, "残疾人", org.unit_head.id, 7, KEY_FROM_CHAT)
            await uow.visits.mark_key(changed)
            assert await uow.visits.key_household(household) == changed


class TestReportRepository:
    async def test_orders_and_events_in_a_window_and_scope(self, side: Side) -> None:
        org = side.org
        here = [org.community.id]
        async with side.unit() as uow:
            person = await resident(uow, org)
            early = await order(uow, org, person.id, created_at=T0 - timedelta(days=1))
            inside = [
                await order(uow, org, person.id, created_at=T0 + timedelta(hours=h)) for h in (5, 1)
            ]
            late = await order(uow, org, person.id, created_at=T0 + timedelta(days=1))
            window = (T0, T0 + timedelta(days=1))
            created = await uow.reports.created_between(here, *window)
            mine = {early.id, late.id, *(o.id for o in inside)}
            assert [o.id for o in created if o.id in mine] == sorted(o.id for o in inside)
            assert await uow.reports.created_between([org.other_community.id], *window) == []
            moments = await uow.reports.placed_moments(here, *window)
            assert sorted(moments) == sorted([T0 + timedelta(hours=1), T0 + timedelta(hours=5)])

            target = inside[0].id
            lines = [
                OrderEvent(target, T0 + timedelta(hours=3), None, "escalate", None, None),
                OrderEvent(target, T0 + timedelta(hours=1), None, "escalate", None, None, "n"),
                OrderEvent(target, T0 + timedelta(hours=2), None, "offer", None, None),
                OrderEvent(target, T0 + timedelta(days=2), None, "escalate", None, None),
            ]
            for line in lines:
                await uow.orders.add_event(line)
            found = await uow.reports.events_between(here, ["escalate"], *window)
            assert [e for e in found if e.order_id == target] == [lines[1], lines[0]]
            assert await uow.reports.events_between(here, [], *window) == []
            assert (
                await uow.reports.events_between([org.other_community.id], ["escalate"], *window)
                == []
            )

    async def test_overdue_open_orders(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            person = await resident(uow, org)
            now = T0 + timedelta(days=3)
            late_offer = await order(uow, org, person.id, status=OrderStatus.OFFERED)
            await change_order(uow, late_offer.id, accept_due=now - timedelta(hours=1))
            late_fix = await order(uow, org, person.id, status=OrderStatus.ACCEPTED)
            await change_order(uow, late_fix.id, resolve_due=now)
            in_time = await order(uow, org, person.id, status=OrderStatus.ACCEPTED)
            await change_order(uow, in_time.id, resolve_due=now + timedelta(hours=1))
            stale_accept = await order(uow, org, person.id, status=OrderStatus.ACCEPTED)
            await change_order(uow, stale_accept.id, accept_due=now - timedelta(days=1))
            closed = await order(uow, org, person.id, status=OrderStatus.CLOSED)
            await change_order(uow, closed.id, resolve_due=now - timedelta(days=1))
            mine = {o.id for o in (late_offer, late_fix, in_time, stale_accept, closed)}
            overdue = await uow.reports.overdue([org.community.id], now)
            assert [o.id for o in overdue if o.id in mine] == [late_offer.id, late_fix.id]
            assert [o.id for o in overdue] == sorted(o.id for o in overdue)
            # clocks (issue 15): the queue and the pool are late past their own deadline.
            late_queue = await order(uow, org, person.id, status=OrderStatus.QUEUED)
            await change_order(uow, late_queue.id, wait_due=now - timedelta(minutes=1))
            late_pool = await order(uow, org, person.id, status=OrderStatus.POOL)
            await change_order(uow, late_pool.id, wait_due=now)
            queue_in_time = await order(uow, org, person.id, status=OrderStatus.QUEUED)
            await change_order(uow, queue_in_time.id, wait_due=now + timedelta(minutes=1))
            more = {late_queue.id, late_pool.id, queue_in_time.id}
            overdue = await uow.reports.overdue([org.community.id], now)
            assert [o.id for o in overdue if o.id in more] == [late_queue.id, late_pool.id]
            elsewhere = await uow.reports.overdue([org.other_community.id], now)
            assert not mine & {o.id for o in elsewhere}
            assert await uow.reports.overdue([], now) == []

    async def test_places_of_households_and_grids_of_buildings_at_once(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            ids = [h.id for h in org.households[:2]]
            places = await uow.reports.household_places([*ids, ids[0], -1])
            assert set(places) == set(ids)
            for household_id in ids:
                assert places[household_id] == await uow.places.household_place(household_id)
            assert await uow.reports.building_grids([org.building.id, -1]) == {
                org.building.id: org.grid
            }
            assert await uow.reports.household_places([]) == {}
            assert await uow.reports.building_grids([]) == {}

    async def test_the_backlog_counts_each_status_and_its_oldest(self, side: Side) -> None:
        """clocks (issue 15): how many orders wait in each status, and since when the oldest."""
        org = side.org
        here = [org.community.id]
        async with side.unit() as uow:
            statuses = [OrderStatus.QUEUED, OrderStatus.POOL, OrderStatus.ACCEPTED]
            before = await uow.reports.backlog(here, statuses)
            person = await resident(uow, org)
            for hours, status in ((3, OrderStatus.QUEUED), (1, OrderStatus.QUEUED)):
                await order(
                    uow, org, person.id, status=status, created_at=T0 + timedelta(hours=hours)
                )
            await order(uow, org, person.id, status=OrderStatus.POOL, created_at=T0)
            await order(uow, org, person.id, status=OrderStatus.CLOSED, created_at=T0)
            after = await uow.reports.backlog(here, statuses)
            queued_before = before.get(OrderStatus.QUEUED, (0, T0 + timedelta(hours=1)))
            assert after[OrderStatus.QUEUED] == (
                queued_before[0] + 2,
                min(queued_before[1], T0 + timedelta(hours=1)),
            )
            assert after[OrderStatus.POOL][0] == before.get(OrderStatus.POOL, (0, T0))[0] + 1
            assert OrderStatus.CLOSED not in after
            assert await uow.reports.backlog([org.other_community.id], [OrderStatus.POOL]) == {}
            assert await uow.reports.backlog(here, []) == {}


class TestAuditRepository:
    async def test_the_latest_entries_come_newest_first(self, side: Side) -> None:
        org = side.org
        entries = [
            AuditEntry(
                T0 + timedelta(minutes=i), f"action{i}", org.unit_head.id, "老王", "s", {"i": i}
            )
            for i in range(3)
        ]
        async with side.unit() as uow:
            before = await uow.audit.latest(100)
            for entry in entries:
                await uow.audit.record(entry)
            assert await uow.audit.latest(2) == [entries[2], entries[1]]
            assert await uow.audit.latest(100) == [*entries[::-1], *before]
            assert await uow.audit.latest(0) == []
            await uow.audit.record(AuditEntry(T0, "cli_only", actor="cli"))
            assert (await uow.audit.latest(1))[0] == AuditEntry(T0, "cli_only", actor="cli")
            await uow.audit.record(AuditEntry(T0, "long", actor="名" * 150))
            assert (await uow.audit.latest(1))[0].actor == "名" * 100  # the column's width


class TestUpdateLog:
    async def test_an_update_takes_effect_once_and_old_records_go(self, side: Side) -> None:
        async with side.unit() as uow:
            assert await uow.updates.first_time(1, T0) is True
            assert await uow.updates.first_time(1, T0 + timedelta(seconds=1)) is False
            assert await uow.updates.first_time(2, T0 + timedelta(days=2)) is True
            await uow.commit()
        async with side.unit() as uow:
            assert await uow.updates.first_time(1, T0) is False
            assert await uow.updates.forget_before(T0 + timedelta(days=1)) == 1
            assert await uow.updates.forget_before(T0 + timedelta(days=1)) == 0
            assert await uow.updates.first_time(1, T0 + timedelta(days=3)) is True
            assert await uow.updates.first_time(2, T0) is False


class TestUnitOfWork:
    async def test_committed_changes_last_and_the_rest_is_thrown_away(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            kept = await resident(uow, org)
            await uow.chats.put(1, ChatState("kept"))
            await uow.commit()
            await uow.chats.put(1, ChatState("dropped"))
            await change_person(uow, kept.id, lang="en")
            await uow.rollback()
            assert await uow.chats.get(1) == ChatState("kept")
            assert await uow.people.get(kept.id) == kept
            await uow.chats.put(2, ChatState("left without commit"))
        async with side.unit() as uow:
            assert await uow.people.get(kept.id) == kept
            assert await uow.chats.get(1) == ChatState("kept")
            assert await uow.chats.get(2) is None
            # Every repository is there, and reads in the same transaction.
            assert uow.places and uow.people and uow.categories and uow.orders
            assert uow.outbox and uow.chats and uow.invites and uow.audit
            assert uow.timers and uow.visits and uow.reports and uow.calendar and uow.questions
            assert uow.bulletins  # notices (issue 17)
            assert uow.console_logins


class TestUpdateUnitOfWork:
    async def test_the_updates_record_goes_with_the_rest(self, side: Side) -> None:
        async with side.unit() as uow:
            assert await uow.updates.first_time(77, T0) is True
            await uow.chats.put(77, ChatState("started"))
        async with side.unit() as uow:  # not committed: the update has not taken effect
            assert await uow.updates.first_time(77, T0) is True
            await uow.chats.put(77, ChatState("started"))
            await uow.commit()
        async with side.unit() as uow:
            assert await uow.updates.first_time(77, T0) is False
            assert await uow.chats.get(77) == ChatState("started")


class TestQuestionRepository:
    """Questions (咨询): added, answered once, listed while unanswered, counted per period."""

    async def test_a_question_is_answered_once_and_counted(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            asker = await resident(uow, org)
            now = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
            question = await uow.questions.add(
                asker_id=asker.id,
                household_id=org.households[0].id,
                community_id=org.community.id,
                assignee_id=org.unit_head.id,
                text="个体户怎么交社保？",
                asked_at=now,
                answer_due=now + timedelta(hours=4),
            )
            assert await uow.questions.get(question.id) == question
            assert await uow.questions.get(-1) is None
            assert await uow.questions.forget_asker(org.unit_head.id) == []  # asked nothing
            assert question in await uow.questions.unanswered()
            later = now + timedelta(hours=5)
            counts = await uow.questions.counts([org.community.id], now, later)
            assert (counts.asked, counts.answered, counts.late) == (1, 0, 1)
            assert await uow.questions.answer(question.id, org.unit_head.id, "去社区窗口", later)
            assert not await uow.questions.answer(question.id, org.unit_head.id, "再答", later)
            answered = await uow.questions.get(question.id)
            assert answered is not None
            assert (answered.answer, answered.answered_at, answered.answered_by) == (
                "去社区窗口",
                later,
                org.unit_head.id,
            )
            assert question.id not in [q.id for q in await uow.questions.unanswered()]
            counts = await uow.questions.counts([org.community.id], now, later + timedelta(1))
            assert (counts.asked, counts.answered, counts.late) == (1, 1, 0)
            assert (await uow.questions.counts([-1], now, later)).asked == 0
            gone = await uow.questions.forget_asker(asker.id)
            assert [(q.id, q.text, q.answer) for q in gone] == [
                (question.id, "个体户怎么交社保？", "去社区窗口")
            ]
            assert await uow.questions.get(question.id) is None
            assert await uow.questions.forget_asker(asker.id) == []


class TestBulletinRepository:
    """Notices (通知): written, decided once, counted from the outbox, reported once; opting out,
    residents of units, grid groups and their posts, words kept for a deep link (issue 17)."""

    async def test_a_notice_is_decided_once_counted_and_reported_once(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            neighbour = await resident(uow, org, 1)
            other = await resident(uow, org, 0, "邻居")
            pending = await uow.bulletins.add(
                sender_id=org.unit_head.id,
                place_id=org.building.id,
                audience=Audience.RESIDENTS,
                urgent=False,
                text="周六大扫除",
                photo=None,
                at=T0,
                status=BulletinStatus.PENDING,
            )
            assert await uow.bulletins.get(pending.id) == pending
            assert await uow.bulletins.get(-1) is None
            assert pending.sent_at is None and pending not in await uow.bulletins.unreported()
            later = T0 + timedelta(minutes=5)
            sent = await uow.bulletins.decide(
                pending.id, BulletinStatus.SENT, org.unit_head.id, later
            )
            assert sent is not None and (sent.status, sent.sent_at) == (BulletinStatus.SENT, later)
            assert await uow.bulletins.decide(pending.id, BulletinStatus.REFUSED, 1, later) is None
            await uow.bulletins.set_recipients(pending.id, 2)
            await uow.outbox.add(Notice(neighbour.id, "notice.message", ref=sent.ref))
            await uow.commit()
        await side.deliver()
        async with side.unit() as uow:
            await uow.outbox.add(Notice(other.id, "notice.message", ref=sent.ref))
            tally = await uow.bulletins.tally(sent)
            assert (tally.delivered, tally.blocked, tally.waiting) == (1, 0, 1)
            assert [b.id for b in await uow.bulletins.unreported()] == [sent.id]
            assert await uow.bulletins.reported(sent.id, tally, later)
            assert not await uow.bulletins.reported(sent.id, tally, later)
            assert await uow.bulletins.unreported() == []
            kept = await uow.bulletins.get(sent.id)
            assert kept is not None and (kept.recipients, kept.delivered) == (2, 1)
            assert [b.id for b in await uow.bulletins.of_sender(org.unit_head.id, 5)] == [sent.id]
            assert await uow.bulletins.of_sender(neighbour.id, 5) == []

    async def test_opting_out_residents_groups_and_kept_words(self, side: Side) -> None:
        org = side.org
        async with side.unit() as uow:
            first = await resident(uow, org, 0)
            second = await resident(uow, org, 1)
            living = {p.id for p in await uow.bulletins.residents_of([org.unit.id])}
            assert {first.id, second.id} <= living
            assert await uow.bulletins.residents_of([]) == []
            await uow.bulletins.turn_off(first.id, True, T0)
            assert await uow.bulletins.turned_off([first.id, second.id]) == {first.id}
            await uow.bulletins.turn_off(first.id, False, T0)
            assert await uow.bulletins.turned_off([first.id, second.id]) == set()

            group = GridGroup(-100777, org.grid.id, GroupKind.STAFF, org.unit_head.id, T0)
            await uow.bulletins.link(group)
            assert await uow.bulletins.group(-100777) == group
            assert await uow.bulletins.groups([org.grid.id], GroupKind.STAFF) == [group]
            assert await uow.bulletins.groups([org.grid.id], GroupKind.RESIDENTS) == []
            await uow.bulletins.post(group, Notice(org.unit_head.id, "group.new_order"))
            assert await uow.bulletins.unlink(-100777) == group
            assert await uow.bulletins.unlink(-100777) is None
            assert await uow.bulletins.group(-100777) is None

            await uow.bulletins.keep_words("tok12", "楼道灯坏了", T0)
            assert await uow.bulletins.take_words("tok12") == "楼道灯坏了"
            assert await uow.bulletins.take_words("tok12") is None
