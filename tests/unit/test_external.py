"""Orders from partner systems (Open311): whose household, which place, and the call-back."""

from __future__ import annotations

import pytest

from tests.fakes import OrgBuilder, World, sample_world
from workflows.external import (
    Caller,
    ExternalRequest,
    OutOfScope,
    Partner,
    UnknownPlace,
    UnknownService,
    file_request,
    phone_variants,
)
from workflows.model import PUBLIC_ROOM, OrderStatus, Role
from workflows.vocabulary import Channel

STRANGER = Caller("秀英", "欧阳", "139 1111 2222")


def hotline(w: World) -> Partner:
    """The street's 12345 hotline."""
    return Partner("12345热线", w.org.street.id)


def asked(**changes: object) -> ExternalRequest:
    """A dripping tap in 3号楼1单元102, phoned in by a stranger."""
    fields: dict[str, object] = {
        "service_code": "repairs",
        "description": "厨房水龙头一直滴水",
        "place_code": "b3u1/102",
        "caller": STRANGER,
    }
    fields.update(changes)
    return ExternalRequest(**fields)  # type: ignore[arg-type]


def with_call_backs(w: World) -> int:
    """Give the sample organisation the built-in call-back category; return its id."""
    category = OrgBuilder(w.uow).category("call_back", role=Role.GRID_WORKER)
    w.uow.settle()
    return category.id


def test_phones_are_matched_as_given_bare_and_with_the_country_code() -> None:
    """A phone matches as given, without +86, and with it."""
    assert phone_variants("+86 138-0000-0001") == [
        "+8613800000001",
        "13800000001",
        "8613800000001",
    ]
    assert "13800000001" in phone_variants("13800000001")
    assert phone_variants("12") == []


async def test_a_registered_callers_order_is_their_households_and_they_are_told() -> None:
    w = sample_world()
    with_call_backs(w)
    caller = Caller("阿姨", "王", "+86 138-0000-0001")  # the resident's phone, as 12345 writes it
    filed = await file_request(w.uow, w.clock, hotline(w), asked(place_code=None, caller=caller))
    order = filed.order
    assert (order.resident_id, order.household_id) == (w.org.resident.id, w.org.room101.id)
    assert order.channel == Channel.EXTERNAL and order.status == OrderStatus.OFFERED
    assert filed.call_back is None  # the resident is on Telegram: they are told, not called
    [told] = [n for n in w.uow.notices_for(w.org.resident.id) if n.key == "api.placed_for_you"]
    assert told.params == {"number": order.number, "partner": "12345热线"}
    [entry] = w.uow.store.audit
    assert (entry.action, entry.actor, entry.subject) == (
        "api_request",
        "12345热线",
        f"order {order.number}",
    )


async def test_a_strangers_order_is_the_addresss_and_the_grid_worker_calls_back() -> None:
    w = sample_world()
    call_back = with_call_backs(w)
    filed = await file_request(w.uow, w.clock, hotline(w), asked())
    order = filed.order
    assert order.household_id == w.org.room102.id and order.channel == Channel.EXTERNAL
    contact = w.uow.store.people[order.resident_id]
    assert (contact.name, contact.phone, contact.telegram_id) == ("欧阳秀英", "13911112222", None)
    assert filed.call_back is not None
    assert filed.call_back.category_id == call_back
    assert filed.call_back.assignee_id in (w.org.grid_worker.id, w.org.grid_worker2.id)
    assert filed.call_back.household_id == w.org.room102.id
    # The same caller again is the same contact, not a second one.
    again = await file_request(w.uow, w.clock, hotline(w), asked())
    assert again.order.resident_id == contact.id


async def test_places_are_found_by_code_and_by_words() -> None:
    w = sample_world()
    by_words = await file_request(
        w.uow, w.clock, hotline(w), asked(place_code=None, address="3号楼 1单元 102")
    )
    assert by_words.order.household_id == w.org.room102.id
    by_digits = await file_request(
        w.uow, w.clock, hotline(w), asked(place_code=None, address="3-1-101")
    )
    assert by_digits.order.household_id == w.org.room101.id
    public = await file_request(w.uow, w.clock, hotline(w), asked(place_code="b3u1"))
    household = w.uow.store.households[public.order.household_id or 0]
    assert (household.unit_id, household.room) == (w.org.unit.id, PUBLIC_ROOM)


async def test_refusals_name_what_is_wrong() -> None:
    w = sample_world()
    other = Partner("光明小程序", w.org.other_community.id)
    with pytest.raises(OutOfScope):
        await file_request(w.uow, w.clock, other, asked())
    with pytest.raises(UnknownService):
        await file_request(w.uow, w.clock, hotline(w), asked(service_code="nothing"))
    for place in ({"place_code": "b3u1/999"}, {"place_code": None, "address": "火星"}):
        with pytest.raises(UnknownPlace):
            await file_request(w.uow, w.clock, hotline(w), asked(**place))
    assert w.uow.store.orders == {}
