"""The three-list loop end to end: real aiogram or PTB, the fake Bot API, a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.demo import tap
from bot.emulator import SentMessage
from storage.models import HouseholdRow, PlaceRow
from tests.e2e.conftest import World
from tests.e2e.test_spent_buttons import sent_and_marked
from workflows.model import OrderStatus, Role


@pytest.mark.both_modes
async def test_order_dispatch_accept_resolve_rate(world: World) -> None:
    """The whole loop: the resident orders, the unit head works it, the resident rates it."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("王阿姨", "101")
    order_id = await world.order(resident, "水电气维修", "厨房水龙头一直滴水")

    card = await worker.wait_for("新任务")
    assert "厨房水龙头一直滴水" in card.text
    assert "1号楼" in card.text and "101" in card.text
    assert card.button_texts() == ["✅ 接单", "❌ 婉拒"]
    assert (await world.get(order_id)).status == OrderStatus.OFFERED

    worker.press("接单", card)
    told = await resident.wait_for("接单")
    assert world.place.unit_head.name in told.text
    await tap(worker, "办结")
    await worker.wait_for("怎么解决")
    worker.send("换了密封圈")
    resolved = await resident.wait_for("问题解决了吗")
    assert "换了密封圈" in resolved.text
    resident.press("满意", resolved)
    await tap(resident, "4⭐")
    await resident.wait_for("4 星评价")
    resident.send("师傅很细心")
    await resident.wait_for("评价已收到")

    order = await world.get(order_id)
    assert order.status == OrderStatus.CLOSED
    assert order.rating == 4 and order.comment == "师傅很细心"
    assert order.assignee_id == world.place.unit_head.id
    actions = [e.action for e in await world.timeline(order_id)]
    assert actions == ["place", "offer", "accept", "resolve", "confirm", "rate", "comment"]
    await worker.wait_for("4 星")


async def test_card_buttons_are_gone_after_use(world: World) -> None:
    """A used task card cannot be pressed twice: accepted, it becomes the working card."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("李大爷", "102")
    order_id = await world.order(resident, "水电气维修", "暖气不热")
    card = await worker.wait_for("新任务")
    await sent_and_marked(world, f"offer:{order_id}")
    worker.press("接单", card)
    await worker.wait_for("您已接下")
    assert "✅ 接单" not in worker.message(card.message_id).button_texts()


async def test_decline_goes_to_next_candidate_then_to_dispatcher(world: World) -> None:
    """Declined by the grid worker, the order goes to the dispatcher with the reason."""
    grid_worker = await world.join(world.place.grid_worker)
    dispatcher = await world.join(world.place.dispatcher)
    resident = await world.resident("张阿姨", "201")
    order_id = await world.order(resident, "安全隐患", "楼道里堆了很多纸箱")
    grid_worker.press("婉拒", await grid_worker.wait_for("新任务"))
    await grid_worker.wait_for("原因")
    grid_worker.send("我今天在外培训")
    await grid_worker.wait_for("已婉拒")
    queued = await dispatcher.wait_for("待派单")
    assert "候选人都婉拒了" in queued.text and "我今天在外培训" in queued.text
    order = await world.get(order_id)
    assert order.status == OrderStatus.QUEUED and order.assignee_id is None


async def test_decline_reoffers_to_an_unasked_colleague(world: World) -> None:
    """With two unit heads in scope, a decline offers the task to the other one."""
    unit_head = await world.join(world.place.unit_head)
    building_heads = await world.people(Role.BUILDING_HEAD, world.place.building.id)
    assert building_heads
    resident = await world.resident("赵叔", "301")
    order_id = await world.order(resident, "水电气维修", "卫生间下水道堵了")
    unit_head.press("婉拒", await unit_head.wait_for("新任务"))
    unit_head.send("家里有事")
    await unit_head.wait_for("已婉拒")
    timeline = await world.timeline(order_id)
    assert [e.action for e in timeline][-2:] == ["decline", "queue"]
    declined = next(e for e in timeline if e.action == "decline")
    assert declined.actor_id == world.place.unit_head.id and declined.note == "家里有事"


async def test_escalation_climbs_one_level_at_a_time(world: World) -> None:
    """Unit head → building head → grid worker → community queue, the resident told each time."""
    unit_head = await world.join(world.place.unit_head)
    building_head = await world.join(world.place.building_head)
    grid_worker = await world.join(world.place.grid_worker)
    dispatcher = await world.join(world.place.dispatcher)
    resident = await world.resident("钱奶奶", "401")
    order_id = await world.order(resident, "水电气维修", "整栋楼停水了")

    card = await unit_head.wait_for("新任务")
    for worker, nxt in ((unit_head, building_head), (building_head, grid_worker)):
        worker.press("接单", card)
        await tap(worker, "上报")
        await worker.wait_for("原因")
        worker.send("需要上一级协调")
        await worker.wait_for("已上报")
        await resident.wait_for("上一级")
        card = await nxt.wait_for("新任务")
    grid_worker.press("接单", card)
    await tap(grid_worker, "上报")
    grid_worker.send("要物业公司处理")
    queued = await dispatcher.wait_for("待派单")
    assert "上报" in queued.text and "要物业公司处理" in queued.text
    order = await world.get(order_id)
    assert order.status == OrderStatus.QUEUED
    levels = [e.target_id for e in await world.timeline(order_id) if e.action == "offer"]
    assert levels == [
        world.place.unit_head.id,
        world.place.building_head.id,
        world.place.grid_worker.id,
    ]


async def test_dispatcher_hands_queued_order_to_a_suggested_person(world: World) -> None:
    """An order no rule fits reaches the dispatcher, who dispatches it in one tap."""
    dispatcher = await world.join(world.place.dispatcher)
    grid_worker = await world.join(world.place.grid_worker)
    resident = await world.resident("孙先生", "402")
    order_id = await world.order(resident, "其他问题", "小区门口路灯坏了")
    queued = await dispatcher.wait_for("待派单")
    assert "没有匹配的派单规则" in queued.text
    dispatcher.press(f"派给 {world.place.grid_worker.name}", queued)
    await dispatcher.wait_for("已派给")
    await grid_worker.wait_for("小区门口路灯坏了")
    order = await world.get(order_id)
    assert order.status == OrderStatus.OFFERED
    assert order.assignee_id == world.place.grid_worker.id


async def test_not_satisfied_reopens_to_the_same_worker(world: World) -> None:
    """'Not fixed' with a reason goes back to the same worker, who sees the reason."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("周阿姨", "501")
    order_id = await world.order(resident, "水电气维修", "灯不亮")
    await tap(worker, "接单")
    await tap(worker, "办结")
    worker.send("换了灯泡")
    await tap(resident, "还没解决")
    await resident.wait_for("哪里还没解决")
    resident.send("换了还是不亮，可能是开关坏了")
    await resident.wait_for("重新打开")
    reopened = await worker.wait_for("重新打开")
    assert "可能是开关坏了" in reopened.text
    assert "✔️ 办结" in reopened.button_texts()
    order = await world.get(order_id)
    assert order.status == OrderStatus.ACCEPTED
    assert order.assignee_id == world.place.unit_head.id


async def test_resident_cancels_and_the_worker_is_told(world: World) -> None:
    """Cancelling an accepted order tells the worker; the stale card loses its buttons."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("吴先生", "502")
    order_id = await world.order(resident, "水电气维修", "水管有点渗水")
    await tap(worker, "接单")
    working = await worker.wait_for("您已接下")
    resident.send("/my")
    await tap(resident, "取消服务单")
    await tap(resident, "确定取消")
    await resident.wait_for("已取消")
    await worker.wait_for("取消了服务单")
    assert (await world.get(order_id)).status == OrderStatus.CANCELLED

    # The card's buttons are gone; an old tap on it (a client showing it stale) is refused.
    assert worker.message(working.message_id).buttons == []
    query = worker.press_data(f"way:{order_id}", working)
    answer = await worker.wait_answer(query)
    assert answer.text is not None and "不在您手上" in answer.text
    assert (await world.get(order_id)).status == OrderStatus.CANCELLED


async def test_stale_and_forged_buttons_change_nothing(world: World) -> None:
    """An old confirm button, someone else's button and garbage data each get a clear answer."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("郑大姐", "601")
    other = await world.resident("冯大哥", "602")
    order_id = await world.order(resident, "水电气维修", "门锁坏了")
    card = await worker.wait_for("新任务")

    forged = other.press_data(f"acc:{order_id}", other.last)
    assert "不在您手上" in ((await other.wait_answer(forged)).text or "")
    garbage = other.press_data("acc:xyz:1:2", other.last)
    assert "过期" in ((await other.wait_answer(garbage)).text or "")
    for too_big in ("acc:171043951062284", f"hd:{order_id}:171043951062284"):  # no such ids
        press = other.press_data(too_big, other.last)
        assert "过期" in ((await other.wait_answer(press)).text or "")
    cancel_other = other.press_data(f"cnlok:{order_id}", other.last)
    assert "不是您的服务单" in ((await other.wait_answer(cancel_other)).text or "")

    worker.press("接单", card)
    await worker.wait_for("您已接下")
    again = worker.press_data(f"acc:{order_id}", card)
    assert "不在您手上" in ((await worker.wait_answer(again)).text or "")
    order = await world.get(order_id)
    assert order.status == OrderStatus.ACCEPTED and order.assignee_id == world.place.unit_head.id
    assert [e.action for e in await world.timeline(order_id)] == ["place", "offer", "accept"]


async def test_first_volunteer_to_claim_wins(world: World) -> None:
    """A micro-wish reaches every matching volunteer; two claim at once, exactly one wins."""
    async with world.app.unit_of_work() as uow:
        volunteers = await uow.people.volunteers_with_skills(
            ["micro_wish"], world.place.community.id
        )
    assert len(volunteers) >= 2
    first, second = [await world.join(v) for v in volunteers[:2]]
    resident = await world.resident("冯奶奶", "202")
    order_id = await world.order(resident, "微心愿", "想要一副老花镜")
    card_a = await first.wait_for("想要一副老花镜")
    card_b = await second.wait_for("想要一副老花镜")
    qa = first.press("认领", card_a)
    qb = second.press("认领", card_b)
    answers = [await first.wait_answer(qa), await second.wait_answer(qb)]
    winners = [a for a in answers if a.text == "认领成功"]
    losers = [a for a in answers if a.text and "已被别人认领" in a.text]
    assert len(winners) == 1 and len(losers) == 1
    order = await world.get(order_id)
    assert order.status == OrderStatus.ACCEPTED
    assert order.assignee_id in {volunteers[0].id, volunteers[1].id}
    await resident.wait_for("接单")
    assert [e.action for e in await world.timeline(order_id)] == ["place", "pool", "claim"]


async def test_two_residents_and_two_workers_at_once(world: World) -> None:
    """Two residents order at the same time in two units; each worker gets only their own."""
    unit_a = world.place.unit_head
    async with world.app.unit_of_work() as uow:
        units = await uow.places.children(world.place.building.id, world.place.unit.kind)
        unit_b_heads = await uow.people.with_role(Role.UNIT_HEAD, [units[1].id])
    worker_a = await world.join(unit_a)
    worker_b = await world.join(unit_b_heads[0])
    ra, rb = await asyncio.gather(
        world.resident("甲", "101"), world.resident("乙", "101", unit=units[1].names.zh)
    )
    id_a, id_b = await asyncio.gather(
        world.order(ra, "水电气维修", "甲家水管漏"), world.order(rb, "水电气维修", "乙家没电")
    )
    assert id_a != id_b
    card_a = await worker_a.wait_for("新任务")
    card_b = await worker_b.wait_for("新任务")
    assert "甲家水管漏" in card_a.text and "乙家没电" in card_b.text
    worker_a.press("接单", card_a)
    worker_b.press("接单", card_b)
    await ra.wait_for(unit_a.name)
    await rb.wait_for(unit_b_heads[0].name)
    await world.api.wait_idle()
    assert not any("乙家" in m.text for m in worker_a.messages)
    assert not any("甲家" in m.text for m in worker_b.messages)


async def test_odd_input_gets_polite_hints(world: World) -> None:
    """Stickers, unknown commands and huge texts get a clear answer; nothing changes.

    A voice message is taken (it is offered back as a request, see test_intake.py).
    """
    resident = await world.resident("韩阿姨", "102")
    resident.send_sticker()
    assert "只看得懂文字" in (await resident.wait_for("只看得懂")).text
    resident.send_voice()
    await resident.wait_for("要把它作为新的求助提交吗")
    resident.send("/cancel")
    await resident.wait_for("已退出")
    resident.send("/frobnicate")
    await resident.wait_for("没有 /frobnicate 这个命令")
    resident.send("/new")
    await tap(resident, "水电气维修")
    resident.send("x" * 5000)
    await resident.wait_for("太长了")
    resident.send_sticker()
    await resident.wait_for("看不懂")
    resident.send("/cancel")
    await resident.wait_for("已退出")
    resident.send("/my")
    await resident.wait_for("还没有服务单")


async def test_language_switch_and_english_resident(world: World) -> None:
    """An English-speaking resident is answered in English; /lang switches to Chinese."""
    resident = await world.resident("Tom", "202", lang="en")
    resident.send("/help")
    await resident.wait_for("Report a problem")
    resident.send("/lang")
    await tap(resident, "中文")
    await resident.wait_for("中文")
    resident.send("/help")
    await resident.wait_for("您可以点下方的按钮")
    menus = world.api.calls_to("setMyCommands")
    assert menus, "command menus were set"


async def test_building_qr_link_registers_in_one_tap(world: World) -> None:
    """The building's QR deep link skips community and building."""
    user = world.api.user(7777, "扫码居民")
    user.start(f"b_{world.place.building.code}")
    await user.wait_for("二维码")
    await tap(user, world.place.unit.names.zh)
    await tap(user, "302")
    await user.wait_for("登记好了")
    async with world.app.unit_of_work() as uow:
        person = await uow.people.by_telegram(7777)
    assert person is not None and person.household_id is not None


async def test_a_unit_with_more_rooms_than_one_message_holds_is_shown_a_page_at_a_time(
    world: World,
) -> None:
    """Telegram takes at most 100 buttons a message: a high-rise unit's rooms come in pages."""
    async with world.app.sessions() as session, session.begin():
        session.add_all(
            HouseholdRow(unit_id=world.place.unit.id, room=f"{floor}{door:02d}", is_key=False)
            for floor in range(10, 40)
            for door in range(1, 5)
        )
    user = world.api.user(7778, "高层居民")
    user.start(f"b_{world.place.building.code}")
    await user.wait_for("二维码")
    await tap(user, world.place.unit.names.zh)
    rooms = await user.wait_for("房号")
    assert 0 < len(rooms.button_texts()) <= 100
    assert "3904" not in rooms.button_texts()
    for last_on_page in ("3004", "3904"):  # 132 rooms: pages of 48
        await tap(user, "更多房号")
        await user.wait_for(showing(last_on_page))
    await tap(user, "3904")
    await user.wait_for("登记好了")
    assert await registered_room(world, 7778) == "3904"


async def test_a_community_with_more_buildings_than_one_message_holds_is_shown_a_page_at_a_time(
    world: World,
) -> None:
    """A big community's buildings come in pages; back and forth, then the last one registers."""
    async with world.app.sessions() as session, session.begin():
        tower = PlaceRow(
            kind="building",
            code="far-tower",
            name_zh="远景楼",
            name_en="Far Tower",
            parent_id=world.place.grid.id,
            position=999,
        )
        session.add_all(
            PlaceRow(
                kind="building",
                code=f"filler-{n}",
                name_zh=f"新{n}栋",
                name_en=f"New {n}",
                parent_id=world.place.grid.id,
                position=100 + n,
            )
            for n in range(110)
        )
        session.add(tower)
        await session.flush()
        unit = PlaceRow(
            kind="unit", code="far-tower-1", name_zh="一单元", name_en="Unit 1", parent_id=tower.id
        )
        session.add(unit)
        await session.flush()
        session.add(HouseholdRow(unit_id=unit.id, room="808", is_key=False))
    user = world.api.user(7779, "新楼居民")
    user.start()
    await tap(user, world.place.community.names.zh)
    buildings = await user.wait_for("楼栋")
    assert 0 < len(buildings.button_texts()) <= 100
    assert "远景楼" not in buildings.button_texts()
    await tap(user, "更多楼栋")
    await user.wait_for(showing("◀ 上一页"))
    await tap(user, "◀ 上一页")
    await user.wait_for(
        lambda m: "1号楼" in m.button_texts() and "◀ 上一页" not in m.button_texts()
    )
    await tap(user, "更多楼栋")
    await user.wait_for(showing("◀ 上一页"))
    await tap(user, "更多楼栋")
    await user.wait_for(showing("远景楼"))
    await tap(user, "远景楼")
    await tap(user, "一单元")
    await tap(user, "808")
    await user.wait_for("登记好了")
    assert await registered_room(world, 7779) == "808"


async def registered_room(world: World, telegram_id: int) -> str | None:
    """Return the room the person is registered to, if any."""
    async with world.app.unit_of_work() as uow:
        person = await uow.people.by_telegram(telegram_id)
        if person is None or person.household_id is None:
            return None
        household = await uow.places.household(person.household_id)
    return household.room if household else None


def showing(room: str) -> Callable[[SentMessage], bool]:
    """Return a check that a message offers this room."""
    return lambda message: room in message.button_texts()
