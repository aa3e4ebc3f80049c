"""Who is who: registering a household, staff invites, language and phone."""

from __future__ import annotations

import pytest

from tests.fakes import OrgBuilder, sample_world
from workflows.dispatch import accept_task
from workflows.errors import InvalidInput, InvalidInvite, NotRegistered
from workflows.model import ChatState, OrderStatus, Role
from workflows.orders import cancel_order
from workflows.people import (
    issue_invite,
    join_staff,
    language_of,
    register_resident,
    require_person,
    set_language,
    set_phone,
)

NEW_TELEGRAM = 777_001


async def test_an_invite_is_redeemed_once() -> None:
    w = sample_world()
    org = w.org
    newcomer = OrgBuilder(w.uow).person("新网格员", (Role.GRID_WORKER, org.grid), telegram=False)
    w.uow.settle()

    token = await issue_invite(w.uow, w.clock, w.org.cadre)
    assert w.uow.store.invites[token].person_id == w.org.cadre.id
    token = await issue_invite(w.uow, w.clock, newcomer)
    joined = await join_staff(w.uow, w.clock, NEW_TELEGRAM, token, "en")

    assert (joined.id, joined.telegram_id, joined.lang) == (newcomer.id, NEW_TELEGRAM, "en")
    assert joined.roles == newcomer.roles
    assert await require_person(w.uow, NEW_TELEGRAM) == joined
    with pytest.raises(InvalidInvite):
        await join_staff(w.uow, w.clock, NEW_TELEGRAM + 1, token, "zh")
    with pytest.raises(InvalidInvite):
        await join_staff(w.uow, w.clock, NEW_TELEGRAM + 1, "made-up-token", "zh")
    assert await w.uow.people.by_telegram(NEW_TELEGRAM + 1) is None


async def test_tokens_are_unguessable_and_distinct() -> None:
    w = sample_world()

    tokens = {await issue_invite(w.uow, w.clock, w.org.cadre) for _ in range(20)}

    assert len(tokens) == 20
    assert all(len(t) >= 16 for t in tokens)


async def test_a_resident_who_joins_staff_keeps_one_account_with_the_household() -> None:
    w = sample_world()
    org = w.org
    newcomer = OrgBuilder(w.uow).person(
        "楼栋长二", (Role.BUILDING_HEAD, org.building), telegram=False
    )
    w.uow.settle()
    token = await issue_invite(w.uow, w.clock, newcomer)
    telegram_id = org.neighbour.telegram_id
    assert telegram_id is not None

    joined = await join_staff(w.uow, w.clock, telegram_id, token, "zh")

    assert (joined.id, joined.household_id) == (newcomer.id, org.room102.id)
    assert await require_person(w.uow, telegram_id) == joined
    assert w.person(org.neighbour.id).telegram_id is None


async def test_a_resident_who_joins_staff_still_follows_their_orders() -> None:
    # Regression: the orders used to stay on the old person, who no longer had Telegram.
    w = sample_world()
    org = w.org
    newcomer = OrgBuilder(w.uow).person(
        "楼栋长二", (Role.BUILDING_HEAD, org.building), telegram=False
    )
    w.uow.settle()
    order = await w.place(org.repairs, org.neighbour)
    token = await issue_invite(w.uow, w.clock, newcomer)
    assert org.neighbour.telegram_id is not None
    joined = await join_staff(w.uow, w.clock, org.neighbour.telegram_id, token, "en")

    assert w.order(order.id).resident_id == joined.id
    await accept_task(w.uow, w.clock, org.unit_head, order.id)

    assert w.uow.keys_for(joined.id) == ["order.accepted"]
    cancelled = await cancel_order(w.uow, w.clock, joined, order.id)
    assert cancelled.status == OrderStatus.CANCELLED


async def test_registering_binds_a_new_person_to_the_household() -> None:
    w = sample_world()
    org = w.org
    await w.uow.chats.put(NEW_TELEGRAM, ChatState("register", {"step": 2}))
    w.uow.settle()

    person = await register_resident(w.uow, NEW_TELEGRAM, "  张 三 ", "zh", org.room102.id)

    assert (person.name, person.household_id, person.telegram_id) == (
        "张 三",
        org.room102.id,
        NEW_TELEGRAM,
    )
    assert await w.uow.chats.get(NEW_TELEGRAM) is None  # the conversation is over
    order = await w.place(org.other, person)
    assert order.household_id == org.room102.id


async def test_registering_again_moves_the_person_and_staff_keep_their_roles() -> None:
    w = sample_world()
    org = w.org
    telegram_id = org.unit_head.telegram_id
    assert telegram_id is not None

    person = await register_resident(w.uow, telegram_id, "老王", "zh", org.room101.id)

    assert (person.id, person.household_id, person.roles) == (
        org.unit_head.id,
        org.room101.id,
        org.unit_head.roles,
    )


async def test_registering_to_an_unknown_household_or_with_no_name_fails() -> None:
    w = sample_world()

    with pytest.raises(InvalidInput):
        await register_resident(w.uow, NEW_TELEGRAM, "张三", "zh", 999_999)
    with pytest.raises(InvalidInput):
        await register_resident(w.uow, NEW_TELEGRAM, "   ", "zh", w.org.room101.id)

    assert await w.uow.people.by_telegram(NEW_TELEGRAM) is None


async def test_unknown_people_are_not_registered() -> None:
    w = sample_world()

    with pytest.raises(NotRegistered):
        await require_person(w.uow, NEW_TELEGRAM)


async def test_phone_and_language() -> None:
    w = sample_world()
    resident = w.org.resident

    await set_phone(w.uow, resident, "+86 138-0000-0002")
    await set_language(w.uow, resident, "en")

    assert (w.person(resident.id).phone, w.person(resident.id).lang) == ("+8613800000002", "en")
    for bad in ("12", "1" * 21, "没有号码"):
        with pytest.raises(InvalidInput):
            await set_phone(w.uow, resident, bad)
    with pytest.raises(InvalidInput):
        await set_language(w.uow, resident, "fr")
    assert (w.person(resident.id).phone, w.person(resident.id).lang) == ("+8613800000002", "en")


@pytest.mark.parametrize(
    ("code", "expected"),
    [("en-GB", "en"), ("EN", "en"), ("zh-hans", "zh"), ("ru", "zh"), (None, "zh")],
)
def test_telegram_language_codes_map_to_ours(code: str | None, expected: str) -> None:
    assert language_of(code, "zh") == expected


async def test_joining_staff_does_not_touch_orders() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.repairs)
    newcomer = OrgBuilder(w.uow).person("新人", (Role.GRID_WORKER, org.grid), telegram=False)
    w.uow.settle()
    token = await issue_invite(w.uow, w.clock, newcomer)

    await join_staff(w.uow, w.clock, NEW_TELEGRAM, token, "zh")

    assert w.order(order.id).status == OrderStatus.OFFERED
