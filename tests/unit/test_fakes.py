"""The fakes keep the ports' promises, so tests on them say something about production."""

from __future__ import annotations

import inspect
from datetime import UTC, timedelta

import pytest

from storage.calendar import ChinaCalendar
from tests.fakes import (
    FakeAudit,
    FakeBulletins,
    FakeCategories,
    FakeChats,
    FakeClock,
    FakeConsoleLogins,
    FakeInvites,
    FakeOrders,
    FakeOutbox,
    FakePeople,
    FakePlaces,
    FakeQuestions,
    FakeReports,
    FakeTimers,
    FakeUnitOfWork,
    FakeUpdateLog,
    FakeVisits,
    sample_world,
)
from workflows import ports
from workflows.model import (
    ChatState,
    Notice,
    OrderChanges,
    OrderStatus,
    PersonChanges,
    Role,
    Urgency,
)

PAIRS = [
    (ports.PlaceRepository, FakePlaces),
    (ports.PersonRepository, FakePeople),
    (ports.CategoryRepository, FakeCategories),
    (ports.OrderRepository, FakeOrders),
    (ports.OutboxRepository, FakeOutbox),
    (ports.ChatRepository, FakeChats),
    (ports.InviteRepository, FakeInvites),
    (ports.TimerRepository, FakeTimers),
    (ports.VisitRepository, FakeVisits),
    (ports.ReportRepository, FakeReports),
    (ports.AuditRepository, FakeAudit),
    (ports.UpdateLog, FakeUpdateLog),
    (ports.UnitOfWork, FakeUnitOfWork),
    (ports.UpdateUnitOfWork, FakeUnitOfWork),
    (ports.Clock, FakeClock),
    (ports.WorkCalendar, ChinaCalendar),
    (ports.QuestionRepository, FakeQuestions),  # behalf (issue 16)
    (ports.BulletinRepository, FakeBulletins),  # notices (issue 17)
    (ports.ConsoleLoginRepository, FakeConsoleLogins),  # console (issue 18)
]
# What each fake does, against the SQL repositories: tests/storage/test_port_contracts.py.


def _port_methods(port: type) -> list[str]:
    return [n for n, v in vars(port).items() if callable(v) and not n.startswith("_")]


@pytest.mark.parametrize(("port", "fake"), PAIRS, ids=lambda p: p.__name__)
def test_each_fake_has_the_ports_methods_with_the_same_signature(port: type, fake: type) -> None:
    for name in _port_methods(port):
        wanted = inspect.signature(getattr(port, name))
        got = inspect.signature(getattr(fake, name))
        assert list(got.parameters) == list(wanted.parameters), f"{fake.__name__}.{name}"
        for p_name, p in wanted.parameters.items():
            q = got.parameters[p_name]
            assert (q.kind, q.default, q.annotation) == (p.kind, p.default, p.annotation), (
                f"{fake.__name__}.{name}({p_name})"
            )
        assert got.return_annotation == wanted.return_annotation, f"{fake.__name__}.{name}"
        assert inspect.iscoroutinefunction(getattr(fake, name)) == (
            inspect.iscoroutinefunction(getattr(port, name))
        ), f"{fake.__name__}.{name} async-ness"


def test_every_port_has_a_fake_compared_here() -> None:
    protocols = {
        v
        for v in vars(ports).values()
        if isinstance(v, type)
        and v.__module__ == ports.__name__
        and getattr(v, "_is_protocol", False)
    }
    assert protocols == {port for port, _ in PAIRS}


def test_the_fake_unit_of_work_has_every_repository() -> None:
    uow = FakeUnitOfWork()
    for name in [*ports.UnitOfWork.__annotations__, *ports.UpdateUnitOfWork.__annotations__]:
        assert hasattr(uow, name), name


async def test_move_is_a_conditional_write_on_status_and_version() -> None:
    w = sample_world()
    orders = w.uow.orders
    order = await orders.add(
        resident_id=w.org.resident.id,
        household_id=w.org.room101.id,
        category_id=w.org.other.id,
        description="x",
        urgency=Urgency.NORMAL,
        status=OrderStatus.QUEUED,
        photos=["p1"],
        latitude=None,
        longitude=None,
        created_at=w.clock.now(),
    )
    assert order.version == 0

    assert await orders.move(order.id, [OrderStatus.POOL], OrderStatus.OFFERED) is None
    assert (
        await orders.move(order.id, [OrderStatus.QUEUED], OrderStatus.OFFERED, expect_version=7)
        is None
    )
    moved = await orders.move(
        order.id,
        [OrderStatus.QUEUED],
        OrderStatus.OFFERED,
        expect_version=0,
        changes=OrderChanges(assignee_id=w.org.unit_head.id, level=Role.UNIT_HEAD),
    )
    assert moved is not None
    assert (moved.status, moved.version, moved.assignee_id, moved.level) == (
        OrderStatus.OFFERED,
        1,
        w.org.unit_head.id,
        Role.UNIT_HEAD,
    )
    # The same stale write a second time loses: the version moved on.
    assert (
        await orders.move(order.id, [OrderStatus.OFFERED], OrderStatus.ACCEPTED, expect_version=0)
        is None
    )
    assert await orders.get(order.id) == moved


async def test_rollback_discards_everything_since_the_last_commit() -> None:
    w = sample_world()
    uow = w.uow
    await uow.outbox.add(Notice(w.org.resident.id, "kept"))
    await uow.chats.put(1, ChatState("kept"))
    await uow.commit()
    await uow.outbox.add(Notice(w.org.resident.id, "dropped"))
    await uow.chats.put(1, ChatState("dropped"))
    await uow.people.update(w.org.resident.id, PersonChanges(lang="en"))
    await uow.invites.issue(w.org.cadre.id, "tok", w.clock.now())
    await uow.rollback()
    assert uow.keys_for(w.org.resident.id) == ["kept"]
    assert await uow.chats.get(1) == ChatState("kept")
    assert (await uow.people.get(w.org.resident.id)) == w.org.resident
    assert await uow.invites.redeem("tok", w.clock.now()) is None
    assert (uow.committed, uow.rolled_back) == (1, 1)


async def test_the_sample_org_is_settled_without_counting_a_commit() -> None:
    w = sample_world()
    await w.uow.rollback()
    assert w.uow.committed == 0
    assert w.person(w.org.unit_head.id) == w.org.unit_head


async def test_telegram_ids_stay_unique_like_the_database_constraint() -> None:
    w = sample_world()
    with pytest.raises(ValueError):
        await w.uow.people.update(
            w.org.neighbour.id, PersonChanges(telegram_id=w.org.resident.telegram_id)
        )


async def test_people_and_volunteers_are_found_by_role_scope_and_skill() -> None:
    w = sample_world()
    org = w.org
    heads = await w.uow.people.with_role(Role.UNIT_HEAD, [org.unit.id, org.building.id])
    assert heads == [org.unit_head]
    assert await w.uow.people.volunteers_with_skills(["micro_wish"], org.community.id) == [
        org.volunteer1,
        org.volunteer2,
    ]
    assert await w.uow.people.volunteers_with_skills(["legal"], org.community.id) == []
    assert await w.uow.people.volunteers_with_skills(["micro_wish"], org.other_community.id) == []


def test_the_clock_is_timezone_aware_and_moves_only_when_told() -> None:
    clock = FakeClock()
    start = clock.now()
    assert start.tzinfo == UTC
    assert clock.now() == start
    clock.advance(hours=2, minutes=5)
    assert clock.now() - start == timedelta(hours=2, minutes=5)
