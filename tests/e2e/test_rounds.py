"""Rounds of visits (走访) end to end: the roster, notes with photos, problems, key households."""

from __future__ import annotations

from bot.demo import SAMPLE_ORG, tap
from storage.orgfile import import_org, load_org_file
from tests.e2e.conftest import World, order_number
from workflows.model import KEY_FROM_CHAT, OrderStatus, Person, PlaceKind, VisitKind
from workflows.vocabulary import Channel, Verb

HOUSEHOLDS_OF_BUILDING_1 = 24  # two units of twelve rooms in the sample file


async def person(world: World, code: str) -> Person:
    """Return a staff member of the sample organisation by code."""
    async with world.app.unit_of_work() as uow:
        found = await uow.people.by_code(code)
    assert found is not None
    return found


async def household_of(world: World, building: int, unit: int, room: str) -> int:
    """Return the id of a room in the first grid's n-th building and unit."""
    async with world.app.unit_of_work() as uow:
        buildings = await uow.places.children(world.place.grid.id, PlaceKind.BUILDING)
        units = await uow.places.children(buildings[building - 1].id, PlaceKind.UNIT)
        households = await uow.places.households(units[unit - 1].id)
    return next(h.id for h in households if h.room == room)


async def test_a_visit_note_with_a_photo_a_problem_for_the_grid_worker_and_the_round(
    world: World,
) -> None:
    """The building head logs a visit from his roster with a photo and a note; 发现问题 opens an
    order from the note that the grid worker gets; the round goes 1/24, then 2/24; the household's
    card shows the note and the photo later."""
    head = await world.join(world.place.building_head)
    grid_worker = await world.join(world.place.grid_worker)
    head.send("/round")
    roster = await head.wait_for("本月已走访")
    assert f"本月已走访 0/{HOUSEHOLDS_OF_BUILDING_1}" in roster.text
    assert len(roster.button_texts()) == HOUSEHOLDS_OF_BUILDING_1

    head.press("1号楼1单元 101", roster)
    card = await head.wait_for("最近走访")
    assert "还没有走访记录" in card.text
    head.press("记录走访", card)
    await head.wait_for("民情日志")
    head.send_photo()
    await head.wait_for("照片收到了")
    head.send("王大爷腿脚不便，楼道里的灯坏了，晚上出门看不清")
    noted = await head.wait_for("民情日志已记下")
    assert f"本月已走访 1/{HOUSEHOLDS_OF_BUILDING_1}" in noted.text

    head.press("发现问题", noted)
    await tap(head, "安全隐患")
    placed = await head.wait_for("已代这户提交")
    number = order_number(placed)
    task = await grid_worker.wait_for("新任务")
    assert "楼道里的灯坏了" in task.text
    order = await world.get(number)
    assert order.channel == Channel.VISIT and order.status == OrderStatus.OFFERED
    assert order.assignee_id == world.place.grid_worker.id and order.photos

    head.send("/round")
    roster = await head.wait_for("本月已走访")
    assert f"本月已走访 1/{HOUSEHOLDS_OF_BUILDING_1}" in roster.text
    assert "1号楼1单元 101" not in roster.button_texts()
    head.press("1号楼2单元 302", roster)
    head.press("记录走访", await head.wait_for("最近走访"))
    await head.wait_for("民情日志")
    head.send("李阿姨身体不错，家里都好")
    noted = await head.wait_for("民情日志已记下")
    assert f"本月已走访 2/{HOUSEHOLDS_OF_BUILDING_1}" in noted.text

    # The note and the photo are there later, for the grid worker (in scope) too.
    grid_worker.send("/round")
    grid_roster = await grid_worker.wait_for("本月已走访")
    assert "本月已走访 2/48" in grid_roster.text and "第 1/2 页" in grid_roster.text
    assert len(grid_roster.button_texts()) == 40 + 2  # a page, 下一页, 看已走访的户
    grid_worker.press("下一页", grid_roster)
    second = await grid_worker.wait_for("第 2/2 页")
    assert len(second.button_texts()) == 46 - 40 + 2  # the rest, 上一页, 看已走访的户
    grid_worker.press("看已走访的户", second)
    visited = await grid_worker.wait_for("查看民情日志")
    assert sorted(visited.button_texts()) == [
        "1号楼1单元 101",
        "1号楼2单元 302",
        "🏠 看还没走访的户",
    ]
    grid_worker.press("1号楼1单元 101", visited)
    shown = await grid_worker.wait_for("最近走访")
    assert "楼道里的灯坏了" in shown.text and world.place.building_head.name in shown.text
    photo = await grid_worker.wait_for("走访时拍的照片")
    assert photo.photo_file_id is not None

    # The supervisor's figures show each building head's round, the furthest behind first.
    supervisor = await world.join(await person(world, "p-chen-hong"))
    supervisor.send("/stats")
    stats = await supervisor.wait_for("本月走访进度")
    head_line = f"{world.place.building_head.name}：本月已走访 2/{HOUSEHOLDS_OF_BUILDING_1}"
    assert head_line in stats.text


async def test_tasks_list_a_due_visit_logged_there_with_a_note(world: World) -> None:
    """The liaison's due visit is in /tasks with its buttons; 已走访 asks for the note."""
    liaison = await world.join(await person(world, "p-zhao-min"))
    await world.later(minutes=1)
    await liaison.wait_for("走访任务")
    liaison.send("/tasks")
    item = await liaison.wait_for("🏠 走访")
    assert "独居老人" in item.text and "601" in item.text
    assert item.button_texts() == ["✅ 已走访", "🚪 不在家", "🆘 需要帮助"]
    liaison.press("已走访", item)
    await liaison.wait_for("请写几句民情日志")
    liaison.send("老人独自在家，精神不错，药还够")
    await liaison.wait_for("民情日志已记下")
    household_id = await household_of(world, 1, 2, "601")
    async with world.app.unit_of_work() as uow:
        visit = await uow.visits.latest(household_id, VisitKind.KEY)
    assert visit is not None and visit.note == "老人独自在家，精神不错，药还够"
    liaison.send("/tasks")
    assert "没有任务" in (await liaison.wait_for("任务")).text


async def test_not_at_home_may_still_get_a_note(world: World) -> None:
    """不在家 is logged (it does not count for the round) and a note can say why."""
    liaison = await world.join(await person(world, "p-zhao-min"))
    await world.later(minutes=1)
    liaison.press("不在家", await liaison.wait_for("走访任务"))
    logged = await liaison.wait_for("不在家")
    liaison.press("写民情日志", logged)
    await liaison.wait_for("请写几句民情日志")
    liaison.send("敲门没人应，邻居说老人住院了")
    await liaison.wait_for("民情日志已记下")
    household_id = await household_of(world, 1, 2, "601")
    async with world.app.unit_of_work() as uow:
        visit = await uow.visits.latest(household_id, VisitKind.KEY)
    assert visit is not None and visit.note == "敲门没人应，邻居说老人住院了"


async def test_marking_a_household_key_needs_the_supervisors_approval(world: World) -> None:
    """Asked in chat, the household is not key until the supervisor approves; then the first
    visit task arrives, and importing the organisation file again keeps it."""
    head = await world.join(world.place.building_head)
    supervisor = await world.join(await person(world, "p-chen-hong"))
    household_id = await household_of(world, 1, 1, "202")
    head.send("/round")
    head.press("1号楼1单元 202", await head.wait_for("本月已走访"))
    head.press("标为重点户", await head.wait_for("最近走访"))
    await head.wait_for("为什么要列为重点户")
    head.send("独居老人，子女在外地")
    await tap(head, "每 14 天")
    await head.wait_for("已提交给主管审批")

    card = await supervisor.wait_for("申请列为重点户")
    assert "独居老人，子女在外地" in card.text and "202" in card.text
    assert world.place.building_head.name in card.text
    async with world.app.unit_of_work() as uow:
        assert await uow.visits.key_household(household_id) is None

    supervisor.press("✅ 批准", card)
    await supervisor.wait_for("已批准")
    await head.wait_for("批准了")
    task = await head.wait_for("走访任务")
    assert "独居老人，子女在外地" in task.text and "202" in task.text
    async with world.app.unit_of_work() as uow:
        key = await uow.visits.key_household(household_id)
    assert key is not None and key.source == KEY_FROM_CHAT and key.visit_every_days == 14
    assert key.liaison_id == world.place.building_head.id

    await import_org(world.app.sessions, load_org_file(SAMPLE_ORG))
    async with world.app.unit_of_work() as uow:
        kept = await uow.visits.key_household(household_id)
        household = await uow.places.household(household_id)
    assert kept == key and household is not None and household.is_key
    await world.later(days=1)  # the sweep plans the file's key households; this one is open
    await world.api.wait_idle()
    assert len([t for t in head.texts() if "走访任务" in t and "202" in t]) == 1


async def test_a_building_head_cannot_log_a_visit_to_another_buildings_household(
    world: World,
) -> None:
    """Building 2's household is not on building 1's head's roster: refused, nothing logged."""
    head = await world.join(world.place.building_head)
    other = await household_of(world, 2, 1, "101")
    head.send("/round")
    roster = await head.wait_for("本月已走访")
    query = head.press_data(Verb.ROUND_LOG.data(other), roster)
    answer = await head.wait_answer(query)
    assert answer.text is not None and "不在您负责的范围" in answer.text
    query = head.press_data(Verb.ROUND_HOUSEHOLD.data(other), roster)
    assert "不在您负责的范围" in ((await head.wait_answer(query)).text or "")
    async with world.app.unit_of_work() as uow:
        assert await uow.visits.history(other, 5) == []
