"""Grid groups (秒回速办) end to end: linking, notices in the group, a mention turned into a
private draft, the staff group's 认领 race, and nothing private ever posted in a group."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlparse

from bot.demo import tap
from bot.emulator import FakeUser
from bot.emulator.chats import FakeGroup
from tests.e2e.conftest import World, order_number
from tests.e2e.test_notices import send_notice
from workflows.model import OrderStatus, PersonChanges

RESIDENTS_GROUP = -1001001
STAFF_GROUP = -1001002
BOT = "sandan_test_bot"


async def linked(world: World, chat_id: int, title: str, *, staff: bool = False) -> FakeGroup:
    """Make a group the bot is in and have the grid worker link it to their grid."""
    group = world.api.group(chat_id, title)
    worker = await world.join(world.place.grid_worker)
    worker.send("/link staff" if staff else "/link", chat=group)
    await group.wait_for("已设为" if staff else "本群已关联")
    return group


def assert_nothing_private(group: FakeGroup, *words: str) -> None:
    """Nothing the bot posted in the group holds any of these (names, phones, rooms, words)."""
    for message in group.messages:
        for word in words:
            assert word not in message.text, (word, message.text)


async def test_a_mention_in_the_group_becomes_a_draft_in_private(world: World) -> None:
    """A mention ("@bot 楼道灯坏了") gets a button to a private chat; the words become a draft."""
    group = await linked(world, RESIDENTS_GROUP, "第一网格居民群")
    resident = await world.resident("赵阿姨", "301")
    outsider = await world.join(world.place.unit_head)  # a stranger's /link is refused
    outsider.send("/link", chat=group)
    await group.wait_for("只有本网格的网格员")

    resident.send("今天天气不错，大家出去走走", chat=group)  # chatter: the bot keeps quiet
    resident.send(f"@{BOT} 3单元楼道灯坏了，晚上看不见", chat=group)
    reply = await group.wait_for("私聊")
    assert len([m for m in group.messages if "天气" in m.text]) == 0
    (button,) = [b for row in reply.buttons for b in row]
    assert button.url is not None and button.url.startswith(f"https://t.me/{BOT}?start=")
    payload = parse_qs(urlparse(button.url).query)["start"][0]
    assert len(payload) <= 64 and "楼道" not in payload

    resident.start(payload)  # what the button does: /start <payload> in the private chat
    offer = await resident.wait_for("要把这段话作为新的求助提交吗")
    assert "3单元楼道灯坏了，晚上看不见" in offer.text
    await tap(resident, offer.button_texts()[0])
    await tap(resident, "不急")
    await tap(resident, "确认提交")
    order_id = order_number(await resident.wait_for("已提交"))
    assert (await world.get(order_id)).description == "3单元楼道灯坏了，晚上看不见"
    resident.start(payload)  # the words were taken once: the same link now offers nothing
    await resident.wait_for("已经用过")

    resident.send("/help", chat=group)
    await group.wait_for("@" + BOT)
    await world.api.wait_idle()
    assert_nothing_private(group, "赵阿姨", "301", "楼道灯坏了", "看不见")


async def test_the_grids_notices_are_posted_in_its_group(world: World) -> None:
    """A notice to the grid's residents is posted in its group too; one to staff is not."""
    group = await linked(world, RESIDENTS_GROUP, "第一网格居民群")
    worker = await world.join(world.place.grid_worker)
    grid = "整个" + world.place.grid.names.zh
    await send_notice(worker, grid, "本周六上午9点网格内统一消杀，请关好门窗。")
    posted = await group.wait_for("统一消杀")
    assert world.place.grid.names.zh in posted.text
    await send_notice(worker, grid, "工作人员周五下午开会。", audience="工作人员")
    await worker.wait_for("通知已发出")
    await world.api.wait_idle()
    assert not [m for m in group.messages if "开会" in m.text]
    worker.send("/unlink", chat=group)
    await group.wait_for("不再关联")


async def test_two_staff_race_to_claim_from_the_staff_group_and_one_wins(world: World) -> None:
    """The staff group sees category, building, urgency and number; the first 认领 wins."""
    group = await linked(world, STAFF_GROUP, "第一网格工作群", staff=True)
    unit_head = await world.join(world.place.unit_head)
    building_head = await world.join(world.place.building_head)
    resident = await world.resident("钱大爷", "202")
    async with world.app.unit_of_work() as uow:  # a phone on file, as after sharing it
        placer = await uow.people.by_telegram(resident.id)
        assert placer is not None
        await uow.people.update(placer.id, PersonChanges(phone="13912345678"))
        await uow.commit()
    order_id = await world.order(resident, "水电气维修", "卫生间水管爆了，水漫出来")
    await unit_head.wait_for("新任务")  # routed as usual: offered to the unit head
    post = await group.wait_for("新服务单")
    assert f"{order_id:05d}" in post.text and world.place.building.names.zh in post.text
    assert post.button_texts() == ["🙋 认领"]

    racers = (unit_head, building_head)
    taps = [who.press("认领", post) for who in racers]
    pairs = list(zip(racers, taps, strict=True))
    answers = await asyncio.gather(*(who.wait_answer(query) for who, query in pairs))
    won = [who for who, a in zip(racers, answers, strict=True) if "您已认领" in (a.text or "")]
    lost = [who for who, a in zip(racers, answers, strict=True) if "已经有人认领" in (a.text or "")]
    assert len(won) == 1 and len(lost) == 1
    winner = won[0]
    await group.wait_for(lambda m: "已由" in m.text and not m.buttons)
    await winner.wait_for("您已接下任务")
    order = await world.get(order_id)
    assert order.status == OrderStatus.ACCEPTED
    winner_person = world.place.unit_head if winner is unit_head else world.place.building_head
    assert order.assignee_id == winner_person.id
    await resident.wait_for("已由")  # the resident hears who is coming, as always
    claims = [e for e in await world.timeline(order_id) if e.action == "group_claim"]
    assert len(claims) == 1

    await world.api.wait_idle()
    assert_nothing_private(group, "钱大爷", "13912345678", "202", "水管爆了", "水漫出来")
    assert [t for t in winner.texts() if "13912345678" in t]  # the worker may call them


async def test_ordinary_group_chatter_gets_no_answer(world: World) -> None:
    """Without a mention, a reply to the bot or a command, the bot says nothing in a group."""
    group = world.api.group(RESIDENTS_GROUP, "楼栋群")
    user: FakeUser = world.api.user(9001, "路人", started=True)
    user.send("有人知道快递点几点关门吗", chat=group)
    user.send("/new@another_bot", chat=group)
    await world.api.wait_idle()
    assert group.messages == []
