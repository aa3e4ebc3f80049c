"""On behalf (帮办代办): staff order for a phone-only household, a public area, a resident."""

from __future__ import annotations

import re

from bot.demo import tap
from bot.emulator import FakeUser
from tests.e2e.conftest import World
from workflows.model import Role
from workflows.vocabulary import Channel


def where(world: World, room: str = "") -> str:
    """Return what staff type for the first unit (building-unit[-room]), e.g. "1-1-402"."""
    building = re.sub(r"\D", "", world.place.building.names.zh)
    unit = re.sub(r"\D", "", world.place.unit.names.zh)
    return "-".join(p for p in (building, unit, room) if p)


async def describe(staff: FakeUser, category: str, text: str) -> int:
    """Go through the draft after the place is chosen; return the order's id."""
    await tap(staff, category)
    await staff.wait_for("说说情况")
    staff.send(text)
    await staff.wait_for("照片")
    await tap(staff, "好了")
    await tap(staff, "不急")
    staff.press("确认提交", await staff.wait_for("请您看一下"))
    placed = await staff.wait_for("已代报")
    return int(placed.text.split("服务单号 ")[1][:5])


async def test_staff_order_by_phone_for_a_household_with_no_telegram(world: World) -> None:
    """A grid worker records the caller's name and phone; the worker's card shows both, by phone."""
    worker = await world.join(world.place.unit_head)
    grid = await world.join(world.place.grid_worker)
    grid.send("/behalf")
    await grid.wait_for("楼-单元-房号")
    grid.send(where(world, "402"))
    found = await grid.wait_for("请点一下")
    grid.press("402", found)
    await grid.wait_for("还没有人登记")
    grid.send("张大爷 13800001234")
    await grid.wait_for("怎么找您的")
    await tap(grid, "打电话来的")
    order_id = await describe(grid, "水电气维修", "家里水管漏水了")

    card = await worker.wait_for("新任务")
    assert "张大爷" in card.text and "电话代报" in card.text
    order = await world.get(order_id)
    assert order.channel == Channel.PHONE and order.household_id is not None


async def test_staff_report_a_public_area_found_on_patrol(world: World) -> None:
    """Building-unit without a room offers the unit's public area; the order's channel is patrol."""
    grid = await world.join(world.place.grid_worker)
    grid.send("/behalf")
    await grid.wait_for("楼-单元-房号")
    grid.send(where(world))
    found = await grid.wait_for("请点一下")
    grid.press("公共区域", found)
    order_id = await describe(grid, "安全隐患", "楼道灯坏了，晚上很黑")

    order = await world.get(order_id)
    assert order.channel == Channel.PATROL
    card = next(m for m in grid.messages if "新任务" in m.text)  # came before the confirmation
    assert "巡查上报" in card.text and "公共区域" in card.text


async def test_a_resident_on_telegram_is_told_staff_ordered_for_them(world: World) -> None:
    """A walk-in order for a registered resident is theirs: they are told and follow it."""
    resident = await world.resident("周奶奶", "201")
    grid = await world.join(world.place.grid_worker)
    grid.send("/behalf")
    await grid.wait_for("楼-单元-房号")
    grid.send(where(world, "201"))
    grid.press("201", await grid.wait_for("请点一下"))
    ask = await grid.wait_for("怎么找您的")
    assert "周奶奶" in ask.text
    await tap(grid, "来社区找的")
    order_id = await describe(grid, "水电气维修", "热水器打不着火")

    told = await resident.wait_for("帮您报了一件事")
    assert f"{order_id:05d}" in told.text
    order = await world.get(order_id)
    assert order.channel == Channel.WALK_IN
    resident.send("/my")
    await resident.wait_for("热水器打不着火")


async def test_residents_and_volunteers_cannot_order_on_behalf(world: World) -> None:
    """/behalf is for staff: a resident is refused politely."""
    resident = await world.resident("孙阿姨", "501")
    resident.send("/behalf")
    await resident.wait_for("没有权限")


async def test_a_family_proxy_orders_for_a_parent(world: World) -> None:
    """The grid worker's one-time link makes a son the proxy: his order is the household's.

    The order's channel is family, its news goes to him, and his mother on Telegram is told.
    """
    mother = await world.resident("周奶奶", "201")
    worker = await world.join(world.place.unit_head)
    grid = await world.join(world.place.grid_worker)
    grid.send("/behalf")
    await grid.wait_for("楼-单元-房号")
    grid.send(where(world, "201"))
    grid.press("201", await grid.wait_for("请点一下"))
    await tap(grid, "邀请家属代办")
    invite = await grid.wait_for("发给")
    payload = invite.text.split("start=")[-1].split("/start ")[-1].split()[0]

    world.next_user += 1
    son = world.api.user(world.next_user, "小周", language_code="zh-hans")
    son.start(payload)
    await son.wait_for("替")
    order_id = await world.order(son, "水电气维修", "妈妈家厨房水管漏水")

    order = await world.get(order_id)
    assert order.channel == Channel.FAMILY
    told = await mother.wait_for("您的家人")
    assert "小周" in told.text and f"{order_id:05d}" in told.text
    card = await worker.wait_for("新任务")
    assert "家属代办" in card.text
    worker.press("接单", card)
    await son.wait_for("接单")
    news = await mother.wait_for("接单")  # the household hears each step too, without buttons
    assert f"{order_id:05d}" in news.text and news.buttons == []

    son.start(payload)  # the link works once
    await son.wait_for("邀请链接无效")


# --- behalf2 (issue 16): by the resident's name, and a building's public area -----------------
async def test_staff_find_a_household_by_the_residents_name(world: World) -> None:
    """Typing a name lists the households within scope with building, unit and room shown."""
    await world.resident("周奶奶", "201")
    grid = await world.join(world.place.grid_worker)
    grid.send("/behalf")
    await grid.wait_for("姓名")
    grid.send("周奶奶")
    found = await grid.wait_for("请点一下")
    (label,) = [b for b in found.button_texts() if "周奶奶" in b]
    assert world.place.building.names.zh in label and "201" in label
    grid.press("周奶奶", found)
    ask = await grid.wait_for("怎么找您的")
    assert "201" in ask.text and "周奶奶" in ask.text


async def test_a_name_nobody_has_gets_a_polite_answer(world: World) -> None:
    """A name nobody within scope has: said plainly, with what to send instead."""
    grid = await world.join(world.place.grid_worker)
    grid.send("/behalf")
    await grid.wait_for("楼-单元-房号")
    grid.send("没这个人")
    answer = await grid.wait_for("没有找到")
    assert "没这个人" in answer.text and "姓名" in answer.text


async def test_staff_report_a_whole_buildings_public_area(world: World) -> None:
    """The building's number alone offers its public area; the order is a patrol report."""
    grid = await world.join(world.place.grid_worker)
    grid.send("/behalf")
    await grid.wait_for("楼-单元-房号")
    grid.send(where(world).split("-")[0])
    found = await grid.wait_for("请点一下")
    grid.press("整栋楼公共区域", found)
    order_id = await describe(grid, "安全隐患", "楼顶的避雷针歪了")

    order = await world.get(order_id)
    assert order.channel == Channel.PATROL and order.household_id is not None
    card = next(m for m in grid.messages if "新任务" in m.text)
    assert "巡查上报" in card.text and "楼栋公共区域" in card.text


async def test_staff_report_a_grids_and_a_communitys_public_area(world: World) -> None:
    """A square or a street lamp belongs to no building: staff tap their grid's or community's
    public area; the worker's card names the area, not a unit, and no resident can pick it."""
    grid_name, community_name = world.place.grid.names.zh, world.place.community.names.zh
    grid = await world.join(world.place.grid_worker)
    grid.send("/behalf")
    asked = await grid.wait_for("楼-单元-房号")
    labels = str(asked.buttons)
    assert f"{grid_name} 公共区域" in labels and community_name not in labels  # own scope only
    grid.press(f"{grid_name} 公共区域", asked)
    order_id = await describe(grid, "安全隐患", "小广场的路灯不亮了")

    order = await world.get(order_id)
    assert order.channel == Channel.PATROL
    card = next(m for m in grid.messages if "新任务" in m.text)
    assert f"{community_name} {grid_name} 网格公共区域" in card.text
    assert world.place.unit.names.zh not in card.text.split("小广场")[0].split("网格公共区域")[0]

    (head,) = await world.people(Role.SUPERVISOR, world.place.community.id)
    cadre = await world.join(head)  # a community's own staff see it and its grids
    cadre.send("/behalf")
    offered = await cadre.wait_for("楼-单元-房号")
    assert f"{community_name} 公共区域" in str(offered.buttons)
    assert f"{grid_name} 公共区域" in str(offered.buttons)
    cadre.press(f"{community_name} 公共区域", offered)
    other = await describe(cadre, "环境卫生", "社区门口的垃圾桶满了")
    assert (await world.get(other)).channel == Channel.PATROL

    # Nobody lives in a public area: a resident of the unit is not offered it as a room.
    world.next_user += 1
    resident = world.api.user(world.next_user, "新居民", language_code="zh-hans")
    resident.start()
    await tap(resident, community_name)
    await tap(resident, world.place.building.names.zh)
    await tap(resident, world.place.unit.names.zh)
    async with world.app.unit_of_work() as uow:
        rooms = await uow.places.households(world.place.unit.id)
    shown = await resident.wait_for(lambda m: rooms[0].room in str(m.buttons))
    assert "公共区域" not in str(shown.buttons)
    assert all(h.room != "公共区域" and "公共区域" not in h.room for h in rooms)
