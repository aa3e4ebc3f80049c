"""The Open311 GeoReport v2 API over HTTP (httpx) against the running bot's listener.

A partner system (the 12345 hotline) files orders and reads them back, in JSON and in XML;
the orders it files are worked in chat like any other.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import running
from bot.clock import ManualClock
from bot.demo import demo_settings, survey, tap
from bot.emulator import FakeBotAPI, FakeUser
from storage.models import ApiRequestRow, AuditRow, HouseholdRow, OrderRow
from storage.open311 import add_key, revoke_key
from tests.e2e.conftest import World
from workflows.model import PUBLIC_ROOM, OrderStatus
from workflows.vocabulary import Channel

RATE = 60  # calls a minute per key in these tests
ROOM_ADDRESS = "b-hp-1-u1/101"  # 和平社区 1号楼 1单元 101
WORDS = "厨房水龙头一直滴水，地上全是水"
CALLER = {"first_name": "秀英", "last_name": "欧阳", "phone": "13911112222"}


@pytest.fixture
async def world(request: pytest.FixtureRequest, sample_db: str) -> AsyncIterator[World]:
    """The bot (aiogram or PTB, long polling) with the Open311 API on its listener."""
    library, _ = getattr(request, "param", ("aiogram", "polling"))
    async with FakeBotAPI() as api:
        settings = demo_settings(api, sample_db).model_copy(
            update={
                "telegram_library": library,
                "monitor_port": 0,
                "api_enabled": True,
                "api_rate": RATE,
            }
        )
        async with running(settings, ManualClock()) as app:
            async with app.unit_of_work() as uow:
                place = await survey(uow)
            yield World(api, app, place)


@pytest.fixture
async def http(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A real HTTP client pointed at the API's prefix."""
    base = f"http://127.0.0.1:{world.app.monitor_port}/open311/v2/"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        yield client


async def new_key(world: World, name: str, scope: str = "c-heping") -> str:
    """Make a partner's key as `sandan api keys add` does, and return it."""
    async with world.app.sessions() as session:
        key = await add_key(session, name, scope, world.clock.now())
        await session.commit()
    return key


def filing(**changes: str) -> dict[str, str]:
    """Return a POST's fields: a dripping tap in 1号楼1单元101, phoned in by a stranger."""
    fields = {
        "service_code": "water_power_gas",
        "attribute[urgency]": "normal",
        "address_id": ROOM_ADDRESS,
        "description": WORDS,
        **CALLER,
    }
    fields.update(changes)
    return {k: v for k, v in fields.items() if v}


async def count(world: World, table: Any) -> int:
    """Return how many rows a table has."""
    async with world.app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


def xml(response: httpx.Response) -> ElementTree.Element:
    """Parse an XML answer."""
    assert response.headers["content-type"].startswith("text/xml")
    return ElementTree.fromstring(response.content)


def error_of(response: httpx.Response) -> tuple[int, str]:
    """Return the one GeoReport error an answer holds (JSON or XML), as (code, description)."""
    if response.headers["content-type"].startswith("text/xml"):
        error = xml(response).find("error")
        assert error is not None
        return int(error.findtext("code", "0")), error.findtext("description", "")
    [error] = response.json()
    return int(error["code"]), str(error["description"])


async def test_services_and_their_definitions_in_json_and_xml(http: httpx.AsyncClient) -> None:
    """Each category is a service; its definition asks how urgent it is."""
    services = (await http.get("services.json")).json()
    water = next(s for s in services if s["service_code"] == "water_power_gas")
    assert water["service_name"] == "水电气维修" and water["metadata"] is True
    assert water["type"] == "realtime" and "漏水" in water["keywords"].split(",")
    assert "24" in water["description"] and water["group"]
    english = (await http.get("services.json", params={"locale": "en"})).json()
    assert "Water, power & gas repair" in [s["service_name"] for s in english]
    root = xml(await http.get("services.xml"))
    assert root.tag == "services"
    assert "water_power_gas" in [s.findtext("service_code") for s in root.iter("service")]

    definition = (await http.get("services/water_power_gas.json")).json()
    [urgency] = definition["attributes"]
    assert urgency["code"] == "urgency" and urgency["required"] is True
    assert [v["key"] for v in urgency["values"]] == ["normal", "urgent"]
    root = xml(await http.get("services/water_power_gas.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("attributes/attribute/code") == "urgency"
    assert [v.findtext("key") for v in root.iter("value")] == ["normal", "urgent"]

    for fmt in ("json", "xml"):
        missing = await http.get(f"services/no_such_thing.{fmt}")
        assert missing.status_code == 404 and error_of(missing)[0] == 404


async def test_a_partner_files_an_order_and_reads_it_back(
    world: World, http: httpx.AsyncClient
) -> None:
    """POST makes an ordinary order of channel external; token, id and the list find it."""
    key = await new_key(world, "12345热线")
    posted = await http.post("requests.json", data=filing(), headers={"X-Api-Key": key})
    assert posted.status_code == 200, posted.text
    [made] = posted.json()
    number, token = made["service_request_id"], made["token"]
    assert made["service_notice"] and made["account_id"] is None

    order = await world.get(int(number))
    # Routed like any other: nobody of its role is on Telegram yet, so to the dispatcher.
    assert order.channel == Channel.EXTERNAL and order.status == OrderStatus.QUEUED
    async with world.app.unit_of_work() as uow:
        contact = await uow.people.get(order.resident_id)
        call_back = [o for o in await uow.orders.of_resident(order.resident_id) if o.id != order.id]
    assert contact is not None and contact.phone == "13911112222" and contact.telegram_id is None
    [task] = call_back  # the grid worker is asked to phone the caller
    async with world.app.unit_of_work() as uow:
        category = await uow.categories.get(task.category_id)
    assert category is not None and category.code == "call_back"
    assert task.channel == Channel.EXTERNAL

    by_token = (await http.get(f"tokens/{token}.json")).json()
    assert by_token == [{"service_request_id": number, "token": token}]
    assert xml(await http.get(f"tokens/{token}.xml")).findtext("request/service_request_id") == (
        number
    )
    [seen] = (await http.get(f"requests/{number}.json", headers={"X-Api-Key": key})).json()
    assert seen["status"] == "open" and seen["sandan_stage"] == "queued"
    assert seen["service_code"] == "water_power_gas" and seen["service_name"] == "水电气维修"
    assert seen["address"] == "和平社区 1号楼" and seen["address_id"] == "b-hp-1"
    assert seen["agency_responsible"] == "和平社区 第一网格"
    assert seen["jurisdiction_id"] == "c-heping" and seen["status_notes"]
    assert seen["expected_datetime"] is not None and seen["requested_datetime"]
    root = xml(await http.get(f"requests/{number}.xml", params={"api_key": key}))
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == number
    assert root.findtext("request/status") == "open"

    listed = (await http.get("requests.json", headers={"X-Api-Key": key})).json()
    assert {r["service_request_id"] for r in listed} == {number, task.number}
    only = await http.get(
        "requests.json",
        params={"service_code": "water_power_gas", "status": "open", "api_key": key},
    )
    assert [r["service_request_id"] for r in only.json()] == [number]
    assert (
        await http.get("requests.json", params={"status": "closed", "api_key": key})
    ).json() == []
    paged = await http.get("requests.xml", params={"page_size": "1", "api_key": key})
    assert len(xml(paged).findall("request")) == 1
    later = await http.get(
        "requests.json",
        params={"start_date": "2099-01-01T00:00:00+08:00", "api_key": key},
    )
    assert later.json() == []
    # Without a key, an open order is not shown (公示 shows resolved orders only).
    assert (await http.get(f"requests/{number}.json")).status_code == 404
    assert (await http.get("requests.json")).json() == []

    async with world.app.sessions() as session:
        audit = await session.scalars(select(AuditRow).where(AuditRow.action == "api_request"))
        rows = list(audit)
    assert [(r.actor, r.subject) for r in rows] == [("12345热线", f"order {number}")]


async def test_errors_as_the_standard_says_and_nothing_half_made(
    world: World, http: httpx.AsyncClient
) -> None:
    """Each refusal is a list of {code, description} with its status; no order is left."""
    key = await new_key(world, "12345热线")
    yuhua = await new_key(world, "裕华小程序", "c-yuhua")
    before = await count(world, OrderRow)
    cases: list[tuple[dict[str, str], dict[str, str], int]] = [
        (filing(), {}, 401),  # no key
        (filing(), {"X-Api-Key": "not-a-key"}, 401),
        (filing(), {"X-Api-Key": yuhua}, 403),  # 和平社区 is not its area
        (filing(service_code="no_such_thing"), {"X-Api-Key": key}, 404),
        (filing(**{"attribute[urgency]": ""}), {"X-Api-Key": key}, 400),
        (filing(**{"attribute[urgency]": "very"}), {"X-Api-Key": key}, 400),
        (filing(service_code=""), {"X-Api-Key": key}, 400),
        (filing(address_id="b-hp-1-u1/999"), {"X-Api-Key": key}, 400),  # no such room
        (filing(address_id="", address_string="火星1号楼"), {"X-Api-Key": key}, 400),
        (filing(address_id="", phone=""), {"X-Api-Key": key}, 400),  # nowhere at all
        (filing(description="x"), {"X-Api-Key": key}, 400),
        (filing(lat="north"), {"X-Api-Key": key}, 400),
    ]
    for fields, headers, status in cases:
        for fmt in ("json", "xml"):
            answer = await http.post(f"requests.{fmt}", data=fields, headers=headers)
            assert answer.status_code == status, (fields, headers, answer.text)
            code, description = error_of(answer)
            assert code == status and description
    assert await count(world, OrderRow) == before
    assert await count(world, ApiRequestRow) == 0

    for params, status in [
        ({"start_date": "yesterday"}, 400),
        ({"end_date": "2026-13-45"}, 400),
        ({"status": "half"}, 400),
        ({"page_size": "0"}, 400),
        ({"jurisdiction_id": "atlantis"}, 404),
    ]:
        for fmt in ("json", "xml"):
            answer = await http.get(f"requests.{fmt}", params={**params, "api_key": key})
            assert answer.status_code == status and error_of(answer)[0] == status
    for path in ("requests/99999.json", "requests/99999.xml", "tokens/nothing.json"):
        answer = await http.get(path, headers={"X-Api-Key": key})
        assert answer.status_code == 404 and error_of(answer)[0] == 404
    answer = await http.get("requests.json", headers={"X-Api-Key": "wrong"})
    assert answer.status_code == 401


async def test_a_key_sees_its_area_only_and_a_revoked_key_nothing(
    world: World, http: httpx.AsyncClient
) -> None:
    """A community's key reads its community's orders; revoked, it is refused at once."""
    heping = await new_key(world, "12345热线")
    yuhua = await new_key(world, "裕华小程序", "c-yuhua")
    street = await new_key(world, "街道平台", "xinhua")
    [made] = (await http.post("requests.json", data=filing(), headers={"X-Api-Key": heping})).json()
    number = made["service_request_id"]
    assert (await http.get(f"requests/{number}.json", params={"api_key": yuhua})).status_code == 404
    assert number not in [
        r["service_request_id"]
        for r in (await http.get("requests.json", params={"api_key": yuhua})).json()
    ]
    assert (
        await http.get(f"requests/{number}.json", params={"api_key": street})
    ).status_code == 200
    in_yuhua = await http.get(
        "requests.json", params={"api_key": street, "jurisdiction_id": "c-yuhua"}
    )
    assert in_yuhua.json() == []
    # The street's key files in any of its communities, by "building-unit-room" too.
    posted = await http.post(
        "requests.json",
        data=filing(address_id="", address_string="裕华小区1号楼 2单元 301"),
        headers={"X-Api-Key": street},
    )
    assert posted.status_code == 200, posted.text

    async with world.app.sessions() as session:
        assert await revoke_key(session, "12345热线", world.clock.now())
        await session.commit()
    refused = await http.post("requests.json", data=filing(), headers={"X-Api-Key": heping})
    assert refused.status_code == 401
    assert (await http.get(f"requests/{number}.json", params={"api_key": heping})).status_code == (
        401
    )
    assert (await http.get(f"requests/{number}.json", params={"api_key": street})).status_code == (
        200
    )


async def test_the_rate_limit_answers_429_with_retry_after(
    world: World, http: httpx.AsyncClient
) -> None:
    """A key over its calls a minute is told when to come back; other callers are not held."""
    key = await new_key(world, "12345热线")
    answers = [(await http.get("services.json", params={"api_key": key})) for _ in range(RATE + 1)]
    assert [a.status_code for a in answers[:RATE]] == [200] * RATE
    last = answers[-1]
    assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
    assert error_of(last)[0] == 429
    assert (
        await http.post("requests.json", data=filing(), headers={"X-Api-Key": key})
    ).status_code == 429
    other = await new_key(world, "裕华小程序", "c-yuhua")
    assert (await http.get("services.json", params={"api_key": other})).status_code == 200
    assert (await http.get("services.json")).status_code == 200


async def test_the_same_post_twice_with_one_idempotency_key_makes_one_order(
    world: World, http: httpx.AsyncClient
) -> None:
    """A hotline that retries after a timeout gets the same number and token back."""
    key = await new_key(world, "12345热线")
    headers = {"X-Api-Key": key, "Idempotency-Key": "12345-20261202-0001"}
    first = await http.post("requests.json", data=filing(), headers=headers)
    again = await http.post("requests.xml", data=filing(), headers=headers)
    assert first.status_code == again.status_code == 200
    [made] = first.json()
    assert xml(again).findtext("request/service_request_id") == made["service_request_id"]
    assert xml(again).findtext("request/token") == made["token"]
    assert await count(world, ApiRequestRow) == 1
    orders = await count(world, OrderRow)
    other = await http.post(
        "requests.json", data=filing(), headers={**headers, "Idempotency-Key": "another"}
    )
    assert other.json()[0]["service_request_id"] != made["service_request_id"]
    assert await count(world, OrderRow) > orders


async def test_two_retries_at_once_with_one_idempotency_key_make_one_order(
    world: World, http: httpx.AsyncClient
) -> None:
    """The same POST sent twice at the same moment files once; both get its number."""
    key = await new_key(world, "12345热线")
    headers = {"X-Api-Key": key, "Idempotency-Key": "12345-20261202-0002"}
    before = await count(world, OrderRow)
    answers = await asyncio.gather(
        *(http.post("requests.json", data=filing(), headers=headers) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    assert len({a.json()[0]["service_request_id"] for a in answers}) == 1
    assert await count(world, ApiRequestRow) == 1
    assert await count(world, OrderRow) == before + 2  # the order and its call-back task


async def test_calls_about_one_stairwell_filed_at_once_are_all_filed(
    world: World, http: httpx.AsyncClient
) -> None:
    """Six hotline calls about a unit's common area at the same moment (on PostgreSQL several
    are filed at once): each is filed, and the area is made once."""
    key = await new_key(world, "12345热线")
    unit = world.place.unit
    before = await count(world, OrderRow)
    answers = await asyncio.gather(
        *(
            http.post(
                "requests.json",
                data=filing(address_id=unit.code, phone=f"1390000{n:04d}"),
                headers={"X-Api-Key": key},
            )
            for n in range(6)
        )
    )
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    assert len({a.json()[0]["service_request_id"] for a in answers}) == 6
    assert await count(world, OrderRow) == before + 12  # each order and its call-back task
    async with world.app.sessions() as session:
        areas = await session.scalar(
            select(func.count())
            .select_from(HouseholdRow)
            .where(HouseholdRow.unit_id == unit.id, HouseholdRow.room == PUBLIC_ROOM)
        )
    assert areas == 1


async def resident_with_phone(world: World, name: str, room: str, phone: str) -> FakeUser:
    """Register a resident in the first unit who leaves their phone number."""
    world.next_user += 1
    user = world.api.user(world.next_user, name, language_code="zh-hans")
    user.start()
    for label in (world.place.community.names.zh, world.place.building.names.zh):
        await tap(user, label)
    await tap(user, world.place.unit.names.zh)
    await tap(user, room)
    await user.wait_for(lambda m: m.reply_keyboard is not None)
    user.send(phone)
    await user.wait_for("电话已保存")
    return user


async def test_a_filed_order_is_worked_in_chat_and_seen_closed(
    world: World, http: httpx.AsyncClient
) -> None:
    """A registered caller's order is their household's: told in chat, worked, confirmed, and
    the hotline sees it closed with its deadline and last change moving; nothing private shows."""
    key = await new_key(world, "12345热线")
    resident = await resident_with_phone(world, "欧阳秀英", "101", "13800138000")
    worker = await world.join(world.place.unit_head)
    fields = filing(phone="+86 138 0013 8000", address_id="")
    [made] = (await http.post("requests.json", data=fields, headers={"X-Api-Key": key})).json()
    number = made["service_request_id"]
    told = await resident.wait_for("12345热线")
    assert number in told.text and "服务单" in told.text

    async def seen() -> dict[str, Any]:
        [one] = (await http.get(f"requests/{number}.json", headers={"X-Api-Key": key})).json()
        return dict(one)

    offered = await seen()
    card = await worker.wait_for("新任务")
    assert WORDS in card.text
    world.clock.advance(minutes=5)
    worker.press("接单", card)
    await resident.wait_for("接单")
    accepted = await seen()
    assert accepted["sandan_stage"] == "accepted" and accepted["status"] == "open"
    assert accepted["updated_datetime"] > offered["updated_datetime"]
    assert accepted["expected_datetime"] != offered["expected_datetime"]
    # Open, it is not public: 公示 shows what is resolved.
    assert (await http.get(f"requests/{number}.json")).status_code == 404

    world.clock.advance(hours=2)
    await tap(worker, "办结")
    await worker.wait_for("怎么解决")
    worker.send("换了密封圈")
    resolved = await resident.wait_for("问题解决了吗")
    world.clock.advance(minutes=30)
    resident.press("满意", resolved)
    await tap(resident, "5⭐")
    await resident.wait_for("5 星评价")

    closed = await seen()
    assert closed["status"] == "closed" and closed["sandan_stage"] == "closed"
    assert closed["updated_datetime"] > accepted["updated_datetime"]
    assert closed["expected_datetime"] is None
    order = await world.get(int(number))
    assert order.status == OrderStatus.CLOSED and order.channel == Channel.EXTERNAL
    async with world.app.unit_of_work() as uow:
        owner = await uow.people.get(order.resident_id)
    assert owner is not None and owner.name == "欧阳秀英" and owner.telegram_id is not None
    public = await http.get(f"requests/{number}.json")
    assert public.status_code == 200 and public.json()[0]["status"] == "closed"

    # No answer of the API says who the resident is, their phone, room or words.
    answers = [
        await http.get("requests.json", params={"api_key": key}),
        await http.get("requests.xml", params={"api_key": key}),
        await http.get("requests.json"),
        await http.get("requests.xml"),
        await http.get(f"requests/{number}.xml", params={"api_key": key}),
        await http.get(f"tokens/{made['token']}.json"),
        await http.post("requests.json", data=filing(), headers={"X-Api-Key": key}),
        await http.get("requests.json", params={"api_key": key, "locale": "en"}),
    ]
    private = ["欧阳", "秀英", "13800138000", "138 0013", "13911112222", "101", "滴水", "密封圈"]
    for answer in answers:
        assert answer.status_code == 200
        # A token is 32 random hex digits: "101" turns up in one now and then, saying nothing.
        said = re.sub(r"\b[0-9a-f]{32}\b", "«token»", answer.text)
        assert not [word for word in private if word in said], answer.text


async def test_the_api_is_off_unless_enabled(sample_db: str) -> None:
    """Without SANDAN_API_ENABLED the listener answers /healthz but has no Open311 routes."""
    async with FakeBotAPI() as api:
        settings = demo_settings(api, sample_db).model_copy(update={"monitor_port": 0})
        async with running(settings, ManualClock()) as app, httpx.AsyncClient() as client:
            base = f"http://127.0.0.1:{app.monitor_port}"
            assert (await client.get(f"{base}/healthz")).status_code == 200
            assert (await client.get(f"{base}/open311/v2/services.json")).status_code == 404
