"""Repositories and the unit of work on a real SQLite file, with the sample organisation."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from storage.models import OrderRow, OutboxRow
from storage.outbox import OutboxQueue, Pace
from storage.uow import SqlUnitOfWork
from tests.storage.conftest import Db
from workflows.dispatch import claim_from_pool
from workflows.errors import InvalidInput, OrderAlreadyTaken
from workflows.model import (
    REPLY_KEY,
    AuditEntry,
    Notice,
    Order,
    OrderStatus,
    Person,
    VisitKind,
)
from workflows.orders import OrderDraft, place_order
from workflows.people import issue_invite, join_staff, register_resident
from workflows.vocabulary import TimerKind


async def resident(db: Db, telegram_id: int, room: str = "101") -> Person:
    """Register a resident to a room of the first unit."""
    async with db.uow() as uow:
        households = await uow.places.households(db.place.unit.id)
        household = next(h for h in households if h.room == room)
        result = await register_resident(uow, telegram_id, "居民", "zh", household.id)
        await uow.commit()
        return result


async def staff(db: Db, person: Person, telegram_id: int) -> Person:
    """Have a staff member redeem an invite."""
    async with db.uow() as uow:
        token = await issue_invite(uow, db.clock, person)
        await uow.commit()
    async with db.uow() as uow:
        result = await join_staff(uow, db.clock, telegram_id, token, "zh")
        await uow.commit()
        return result


async def category_id(db: Db, code: str) -> int:
    """Return a category's id by code."""
    async with db.uow() as uow:
        return next(c.id for c in await uow.categories.list() if c.code == code)


async def test_place_order_writes_order_timeline_and_outbox_together(db: Db) -> None:
    """Placing an order commits the order, its timeline and the worker's card at once."""
    await staff(db, db.place.unit_head, 501)
    person = await resident(db, 601)
    water = await category_id(db, "water_power_gas")
    async with db.uow() as uow:
        order = await place_order(uow, db.clock, person, OrderDraft(water, "水管漏水了"))
        await uow.commit()
    assert order.status == OrderStatus.OFFERED
    async with db.uow() as uow:
        stored = await uow.orders.get(order.id)
        events = await uow.orders.events(order.id)
    assert stored is not None and stored.assignee_id == db.place.unit_head.id
    assert [(e.action, e.to_status) for e in events] == [
        ("place", OrderStatus.QUEUED),
        ("offer", OrderStatus.OFFERED),
    ]
    due = (await OutboxQueue(db.sessions, db.clock.now).due()).messages
    assert [(m.chat_id, m.key) for m in due] == [(501, "task.offered")]


async def test_failed_workflow_leaves_nothing_behind(db: Db) -> None:
    """An order refused for its description writes no row at all."""
    person = await resident(db, 602)
    water = await category_id(db, "water_power_gas")
    async with db.uow() as uow:
        with pytest.raises(InvalidInput):
            await place_order(uow, db.clock, person, OrderDraft(water, "x" * 2000))
    async with db.uow() as uow:
        assert await uow.orders.of_resident(person.id) == []


async def test_concurrent_claims_give_exactly_one_winner(db: Db) -> None:
    """Two volunteers claiming in two transactions at once: one wins, one is told it is taken."""
    async with db.uow() as uow:
        volunteers = await uow.people.volunteers_with_skills(["micro_wish"], db.place.community.id)
    a = await staff(db, volunteers[0], 701)
    b = await staff(db, volunteers[1], 702)
    person = await resident(db, 603)
    wish = await category_id(db, "micro_wish")
    async with db.uow() as uow:
        order = await place_order(uow, db.clock, person, OrderDraft(wish, "想要一本字典"))
        await uow.commit()
    assert order.status == OrderStatus.POOL

    async def claim(volunteer: Person) -> str:
        async with db.uow() as uow:
            try:
                await claim_from_pool(uow, db.clock, volunteer, order.id)
                await uow.commit()
            except OrderAlreadyTaken:
                return "taken"
            return "won"

    results = await asyncio.gather(claim(a), claim(b))
    assert sorted(results) == ["taken", "won"]
    async with db.uow() as uow:
        stored = await uow.orders.get(order.id)
        claims = [e for e in await uow.orders.events(order.id) if e.action == "claim"]
    assert stored is not None and stored.status == OrderStatus.ACCEPTED
    assert len(claims) == 1 and claims[0].actor_id == stored.assignee_id


async def offered_order(db: Db, staff_id: int, resident_id: int, words: str) -> Order:
    """Place a water order for a new resident; it is offered to the unit head on Telegram."""
    await staff(db, db.place.unit_head, staff_id)
    person = await resident(db, resident_id)
    water = await category_id(db, "water_power_gas")
    async with db.uow() as uow:
        order = await place_order(uow, db.clock, person, OrderDraft(water, words))
        await uow.commit()
    return order


async def test_conditional_move_refuses_a_stale_version(db: Db) -> None:
    """A move based on an old read does nothing and says so."""
    order = await offered_order(db, 503, 604, "电闸跳了")
    async with db.uow() as uow:
        first = await uow.orders.move(
            order.id, [OrderStatus.OFFERED], OrderStatus.ACCEPTED, expect_version=order.version
        )
        second = await uow.orders.move(
            order.id, [OrderStatus.OFFERED], OrderStatus.ACCEPTED, expect_version=order.version
        )
        await uow.commit()
    assert first is not None and first.status == OrderStatus.ACCEPTED
    assert second is None


async def test_a_move_brings_an_order_read_earlier_in_the_session_up_to_date(db: Db) -> None:
    """A move writes with Core; an ORM row of the order the same session read before (as the
    report and timer readers do) shows the new stage, not the one it was read with."""
    order = await offered_order(db, 505, 606, "水管漏水")
    async with db.uow() as uow:
        held = await uow.session.scalar(select(OrderRow).where(OrderRow.id == order.id))
        assert held is not None and held.status == OrderStatus.OFFERED.value
        moved = await uow.orders.move(order.id, [OrderStatus.OFFERED], OrderStatus.ACCEPTED)
        again = await uow.session.scalar(select(OrderRow).where(OrderRow.id == order.id))
        await uow.commit()
    assert moved is not None and moved.version == order.version + 1
    assert again is held
    assert (held.status, held.version) == (OrderStatus.ACCEPTED.value, order.version + 1)


async def test_outbox_puts_replies_before_task_cards(db: Db) -> None:
    """A flood of task cards to staff does not keep a resident's reply waiting behind it."""
    worker = await resident(db, 821, "101")
    talking = await resident(db, 822, "102")
    async with db.uow() as uow:
        for n in range(3):
            await uow.outbox.add(Notice(worker.id, f"card {n}"))
        await uow.outbox.add(Notice(talking.id, REPLY_KEY, {"text": "好的"}))
        await uow.commit()
    due = (await OutboxQueue(db.sessions, db.clock.now).due()).messages
    assert [(m.chat_id, m.key) for m in due] == [(822, REPLY_KEY), (821, "card 0")]


async def test_outbox_keeps_order_per_chat_and_puts_urgent_first(db: Db) -> None:
    """Each chat's next message only; urgent before bulk; later ones wait their turn."""
    a = await resident(db, 801, "101")
    b = await resident(db, 802, "102")
    async with db.uow() as uow:
        await uow.outbox.add(Notice(a.id, "first", urgent=False))
        await uow.outbox.add(Notice(a.id, "second"))
        await uow.outbox.add(Notice(b.id, "urgent"))
        await uow.commit()
    queue = OutboxQueue(db.sessions, db.clock.now)
    due = (await queue.due()).messages
    assert [(m.chat_id, m.key) for m in due] == [(802, "urgent"), (801, "first")]
    for message in due:
        await queue.mark_sent(message)
    due = (await queue.due()).messages
    assert [m.key for m in due] == ["second"]
    await queue.retry_at(due[0], db.clock.now().replace(year=2100), "429")
    assert (await queue.due()).messages == []
    assert await queue.pending() == 1


async def test_two_workers_never_claim_the_same_message(db: Db) -> None:
    """Two instances' workers read the same heads and claim at once: each message goes to one."""
    people = [await resident(db, 810 + n, room) for n, room in enumerate(["101", "102", "201"])]
    async with db.uow() as uow:
        for person in people:
            await uow.outbox.add(Notice(person.id, "hello"))
            await uow.outbox.add(Notice(person.id, "again"))
        await uow.commit()
    a = OutboxQueue(db.sessions, db.clock.now, owner="a")
    b = OutboxQueue(db.sessions, db.clock.now, owner="b")
    seen_a, seen_b = (await a.due()).messages, (await b.due()).messages
    assert [m.id for m in seen_a] == [m.id for m in seen_b] and len(seen_a) == 3
    won_a, won_b = await asyncio.gather(a.claim(seen_a), b.claim(seen_b))
    ids = sorted(c.message.id for c in [*won_a, *won_b])
    assert ids == sorted(m.id for m in seen_a)  # every head claimed, none twice
    # A chat with a claimed message gets nothing else meanwhile, from either worker.
    assert (await a.due()).messages == [] and (await b.due()).messages == []
    assert await b.claim(seen_a) == []
    # A stopping worker lets go of what it did not send; the other takes it over.
    assert await a.release() == len(won_a)
    taken_over = sorted(m.id for m in (await b.due()).messages)
    assert taken_over == sorted(c.message.id for c in won_a)


async def test_pace_is_shared_per_chat_and_overall(db: Db) -> None:
    """A chat's burst used up by one worker holds back the other; overall slots never overlap."""
    person = await resident(db, 820)
    async with db.uow() as uow:
        for n in range(5):
            await uow.outbox.add(Notice(person.id, f"n{n}"))
        await uow.commit()
    pace = Pace(overall_per_second=10.0, chat_per_second=0.01, chat_burst=3)
    workers = [OutboxQueue(db.sessions, db.clock.now, owner=n, pace=pace) for n in "ab"]
    sent: list[str] = []
    for turn in range(4):
        worker = workers[turn % 2]
        due = await worker.due()
        if not due.messages:
            assert due.paced is not None and due.paced > 50  # the chat waits ~100 s
            break
        (claim,) = await worker.claim(due.messages)
        await worker.mark_sent(claim.message)
        sent.append(claim.message.key)
    assert sent == ["n0", "n1", "n2"]  # the burst of 3, then the chat's pace holds
    others = [await resident(db, 830 + n, room) for n, room in enumerate(["102", "201"])]
    async with db.uow() as uow:
        for other in others:
            await uow.outbox.add(Notice(other.id, "hi"))
        await uow.commit()
    first = await workers[0].claim((await workers[0].due()).messages)
    assert len(first) == 2
    # Claimed together, the two sends are booked 0.1 s apart on the shared overall pace.
    assert first[1].delay - first[0].delay == pytest.approx(0.1, abs=0.02)


async def test_invite_works_once(db: Db) -> None:
    """A redeemed invite cannot be used by anyone else."""
    async with db.uow() as uow:
        token = await issue_invite(uow, db.clock, db.place.grid_worker)
        await uow.commit()
    async with db.uow() as uow:
        joined = await join_staff(uow, db.clock, 901, token, "zh")
        await uow.commit()
    assert joined.telegram_id == 901
    async with db.uow() as uow:
        assert await uow.invites.redeem(token, db.clock.now()) is None


async def test_due_orders_are_read_to_their_own_category_bound_and_once(db: Db) -> None:
    """The sweep's query returns an order only within its category's bound and until it fired."""
    await staff(db, db.place.unit_head, 502)
    person = await resident(db, 602)
    water = await category_id(db, "water_power_gas")
    async with db.uow() as uow:
        order = await place_order(uow, db.clock, person, OrderDraft(water, "水管漏水了"))
        await uow.commit()
    assert order.accept_due is not None
    now = db.clock.now()
    late = order.accept_due + timedelta(days=1)

    async def due(limit: datetime, category: int = water) -> list[int]:
        async with db.uow() as uow:
            found = await uow.timers.orders_due(
                TimerKind.REMIND_ACCEPT,
                {OrderStatus.OFFERED},
                "accept_due",
                late,
                after=now,
                by_category={(category, "normal"): limit, (category, "urgent"): late},
            )
        return [o.id for o in found]

    assert await due(order.accept_due) == [order.id]
    assert await due(order.accept_due - timedelta(seconds=1)) == []
    assert await due(late, category=water + 1) == []  # another category's bound says nothing
    async with db.uow() as uow:
        assert await uow.timers.fire(TimerKind.REMIND_ACCEPT, order.id, order.accept_due, now)
        await uow.commit()
    assert await due(order.accept_due) == []


async def test_latest_visit_of_each_household(db: Db) -> None:
    """Each household's latest visit of a kind comes back, and only that kind's."""
    async with db.uow() as uow:
        first, second = (await uow.places.households(db.place.unit.id))[:2]
        start = db.clock.now()
        visits = {}
        for household, days, kind in (
            (first, 0, VisitKind.KEY),
            (first, 30, VisitKind.KEY),
            (first, 40, VisitKind.FOLLOWUP),
            (second, 10, VisitKind.KEY),
        ):
            opened = start + timedelta(days=days)
            visits[household.id, days] = await uow.visits.add(
                household_id=household.id,
                person_id=db.place.grid_worker.id,
                kind=kind,
                opened_at=opened,
                due_at=opened + timedelta(days=30),
            )
        await uow.commit()
    async with db.uow() as uow:
        latest = await uow.visits.latest_of_each(VisitKind.KEY)
    assert latest == {first.id: visits[first.id, 30], second.id: visits[second.id, 10]}


async def test_a_timer_raced_by_two_instances_fires_once(db: Db) -> None:
    """Two sweeps record the same timer at once: one fires, the other is told it already did."""
    due_at = db.clock.now()

    async def fire() -> bool:
        async with db.uow() as uow:
            fired = await uow.timers.fire(TimerKind.DIGEST, 1, due_at, db.clock.now())
            await asyncio.sleep(0.05)  # the other sweep reaches its insert meanwhile
            await uow.commit()
            return fired

    assert sorted(await asyncio.gather(fire(), fire())) == [False, True]


async def test_a_card_taken_back_drops_unsent_copies_and_returns_sent_ones_once(db: Db) -> None:
    """Sent copies come back with their message ids (once); unsent ones go; in-flight ones stay."""
    a = await resident(db, 830, "101")
    b = await resident(db, 831, "102")
    c = await resident(db, 832, "201")
    async with db.uow() as uow:
        for person in (a, b, c):
            await uow.outbox.add(Notice(person.id, "pool.new", ref="offer:7"))
        await uow.outbox.add(Notice(a.id, "other", ref="offer:8"))
        await uow.commit()
    queue = OutboxQueue(db.sessions, db.clock.now)
    heads = {m.chat_id: m for m in (await queue.due()).messages}
    await queue.mark_sent(heads[830], 41)
    claimed = await queue.claim([heads[831]])  # being sent right now: left as it is
    assert [c.message.chat_id for c in claimed] == [831]

    async with db.uow() as uow:
        copies = await uow.outbox.take_back(["offer:7"], except_person=None)
        await uow.commit()
    assert [(x.person_id, x.chat_id, x.message_id) for x in copies] == [(a.id, 830, 41)]
    async with db.uow() as uow:
        assert await uow.outbox.take_back(["offer:7"]) == []
        await uow.commit()
    async with db.sessions() as session:
        left = (
            await session.execute(select(OutboxRow.chat_id, OutboxRow.key).order_by(OutboxRow.id))
        ).all()
    # c's unsent copy is gone; b's in-flight one stays; a's sent one stays (without its ref).
    assert [tuple(r) for r in left] == [(830, "pool.new"), (831, "pool.new"), (830, "other")]


async def test_a_commit_wakes_delivery_only_when_it_queued_a_message(db: Db) -> None:
    """A commit that queued nothing (a partner's order with no one on Telegram to tell) does
    not send the delivery worker to read the outbox; one that queued a message does."""
    person = await resident(db, 830)
    woken: list[str] = []
    uow = SqlUnitOfWork(db.sessions, db.clock.now, lambda: woken.append("wake"))
    async with uow:
        await uow.audit.record(AuditEntry(db.clock.now(), "test", None, "partner", "order 1", {}))
        await uow.commit()
        await uow.outbox.add(Notice(person.id, "hello"))
        await uow.commit()
        await uow.commit()  # the message was already counted by the commit before
    assert woken == ["wake"]
