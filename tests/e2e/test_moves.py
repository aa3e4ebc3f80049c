"""Moves end to end (issue 15): 延期, 挂起, 转办 and 退单, a duplicate joined, a merge."""

from __future__ import annotations

from datetime import timedelta

from bot.demo import tap
from bot.emulator import FakeUser
from tests.e2e.conftest import World
from workflows.model import OrderStatus, Person

SUPERVISOR = "p-chen-hong"  # 陈红, the first community's supervisor
PROPERTY_LIAISON = "p-sun-li"  # 孙立, 和美物业
HEALTH_LIAISON = "p-he-jing"  # 何静, 新华街道社区卫生服务中心


async def person(world: World, code: str) -> Person:
    """Return a staff member of the sample organisation by code."""
    async with world.app.unit_of_work() as uow:
        found = await uow.people.by_code(code)
    assert found is not None
    return found


async def accepted(world: World, resident_name: str, room: str, text: str) -> tuple[int, FakeUser]:
    """A resident orders a repair; the unit head accepts it. Return the order id and worker."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident(resident_name, room)
    order_id = await world.order(resident, "水电气维修", text)
    worker.press("接单", await worker.wait_for("新任务"))
    await worker.wait_for("您已接下")
    return order_id, resident


async def test_an_extension_approved_moves_the_deadline_and_one_refused_does_not(
    world: World,
) -> None:
    """The holder asks for 3 more days with a reason; the dispatcher approves in one tap, and
    refuses the next request: the deadline moves only on approval; the holder is told both."""
    worker = await world.join(world.place.unit_head)
    dispatcher = await world.join(world.place.dispatcher)
    order_id, _ = await accepted(world, "王阿姨", "101", "厨房水管漏水")
    due = (await world.get(order_id)).resolve_due
    assert due is not None

    await tap(worker, "延期")
    await tap(worker, "延3天")
    await worker.wait_for("说明原因")
    worker.send("要等配件到货")
    await worker.wait_for("已提交任务")
    order = await world.get(order_id)
    assert order.resolve_due == due  # not before approval
    assert order.extension_requested_at is not None
    assert order.extension_until == due + timedelta(days=3)

    card = await dispatcher.wait_for("延期申请")
    assert "要等配件到货" in card.text and world.place.unit_head.name in card.text
    # The holder cannot approve their own request (a forged button is refused politely).
    forged = worker.press_data(f"exy:{order_id}", worker.messages[-1])
    assert "没有权限" in ((await worker.wait_answer(forged)).text or "")
    assert (await world.get(order_id)).resolve_due == due
    dispatcher.press("同意延期", card)
    await dispatcher.wait_for("已同意")
    told = await worker.wait_for("批准")
    assert world.place.dispatcher.name in told.text
    order = await world.get(order_id)
    assert order.resolve_due == due + timedelta(days=3)
    assert order.extension_requested_at is None and order.extension_until is None
    assert dispatcher.message(card.message_id).button_texts() == []  # no second tap

    await tap(worker, "延期")
    await tap(worker, "自己输入日期")
    await worker.wait_for("请输入日期")
    worker.send("明天吧")
    await worker.wait_for("没看懂这个日期")
    later = (due + timedelta(days=10)).strftime("%Y-%m-%d")
    worker.send(later)
    await worker.wait_for("说明原因")
    worker.send("居民不在家")
    await worker.wait_for("已提交任务")
    card = await dispatcher.wait_for("延期申请")
    dispatcher.press("不同意", card)
    await dispatcher.wait_for("已拒绝延期")
    await worker.wait_for("没有批准")
    order = await world.get(order_id)
    assert order.resolve_due == due + timedelta(days=3)
    assert order.extension_requested_at is None
    actions = [e.action for e in await world.timeline(order_id)]
    assert actions[-4:] == ["extend_ask", "extend_ok", "extend_ask", "extend_no"]


async def test_a_paused_order_stops_its_clock_and_resumes_by_itself_and_by_hand(
    world: World,
) -> None:
    """Paused for three days: no breach while paused; it resumes by itself with the time it had
    left, the resident told each time; paused again, the holder resumes it by hand."""
    worker = await world.join(world.place.unit_head)
    order_id, resident = await accepted(world, "李大爷", "102", "暖气片漏水")
    await world.later(hours=4)
    before = await world.get(order_id)
    assert before.resolve_due is not None
    left = before.resolve_due - world.clock.now()

    await tap(worker, "挂起")
    await tap(worker, "延3天")
    await worker.wait_for("在等什么")
    worker.send("等物业送阀门")
    done = await worker.wait_for("已挂起")
    assert done.button_texts() == ["▶️ 恢复办理"]
    told = await resident.wait_for("需要等一等")
    assert "等物业送阀门" in told.text
    paused = await world.get(order_id)
    assert paused.status == OrderStatus.PAUSED and paused.resolve_due is None
    assert paused.paused_until is not None

    # Past its old deadline while paused: no reminder, no breach.
    await world.later(hours=21)
    assert (await world.get(order_id)).status == OrderStatus.PAUSED
    assert not [t for t in worker.texts() if "超过办结期限" in t]

    await world.later(hours=24)
    assert (await world.get(order_id)).status == OrderStatus.PAUSED
    await world.later(hours=24)  # the resume date (in three days, 09:00) has come
    await resident.wait_for("已经接着办了")
    await worker.wait_for("恢复办理，新的办结期限")
    resumed = await world.get(order_id)
    assert resumed.status == OrderStatus.ACCEPTED and resumed.paused_until is None
    assert resumed.resolve_due is not None
    assert abs((resumed.resolve_due - world.clock.now()) - left) < timedelta(seconds=2)

    await tap(worker, "挂起")
    await tap(worker, "延1周")
    await worker.wait_for("在等什么")
    worker.send("等厂家上门")
    await worker.wait_for("已挂起")
    await world.later(hours=2)
    await tap(worker, "恢复办理")
    await worker.wait_for("已恢复办理任务")
    await resident.wait_for("已经接着办了")
    order = await world.get(order_id)
    assert order.status == OrderStatus.ACCEPTED
    assert order.resolve_due is not None
    assert abs((order.resolve_due - world.clock.now()) - left) < timedelta(seconds=2)
    actions = [e.action for e in await world.timeline(order_id)]
    assert actions[-4:] == ["pause", "auto_resume", "pause", "resume"]


async def test_a_transfer_and_two_returns_the_second_to_the_supervisor(world: World) -> None:
    """The dispatcher transfers a queued order to the property company; its liaison returns
    it; transferred to the health centre, returned again: the supervisor gets it."""
    dispatcher = await world.join(world.place.dispatcher)
    supervisor = await world.join(await person(world, SUPERVISOR))
    property_liaison = await world.join(await person(world, PROPERTY_LIAISON))
    health_liaison = await world.join(await person(world, HEALTH_LIAISON))
    resident = await world.resident("赵叔", "301")
    order_id = await world.order(resident, "其他问题", "小区门口的路灯一直不亮")

    queued = await dispatcher.wait_for("待派单")
    dispatcher.press("转办", queued)
    await tap(dispatcher, "和美物业")
    await dispatcher.wait_for("转办")
    dispatcher.send("路灯归物业管")
    await dispatcher.wait_for("已转办")
    offer = await property_liaison.wait_for("新任务")
    assert "路灯" in offer.text and "↩️ 退单" in offer.button_texts()
    await resident.wait_for("更合适的部门")
    order = await world.get(order_id)
    assert order.status == OrderStatus.OFFERED and order.assignee_id is not None

    property_liaison.press("退单", offer)
    await property_liaison.wait_for("不归本部门")
    property_liaison.send("路灯是市政的，不归物业")
    await property_liaison.wait_for("已退回调度员")
    back = await dispatcher.wait_for("部门退单")
    assert "不归物业" in back.text
    assert (await world.get(order_id)).status == OrderStatus.QUEUED

    dispatcher.press("转办", back)
    await tap(dispatcher, "卫生服务中心")
    await dispatcher.wait_for("转办")
    dispatcher.send("试试卫生服务中心")
    await dispatcher.wait_for("已转办")
    offer = await health_liaison.wait_for("新任务")
    health_liaison.press("接单", offer)
    await health_liaison.wait_for("您已接下")
    await tap(health_liaison, "退单")
    await health_liaison.wait_for("不归本部门")
    health_liaison.send("我们只管健康服务")
    await health_liaison.wait_for("已退回调度员")
    escalated = await supervisor.wait_for("第二次被部门退单")
    assert "不归物业" in escalated.text and "只管健康服务" in escalated.text
    assert escalated.button_texts() == ["🔀 转办"]
    order = await world.get(order_id)
    assert order.status == OrderStatus.QUEUED and order.assignee_id is None
    actions = [e.action for e in await world.timeline(order_id)]
    assert actions == ["place", "queue", "transfer", "return", "transfer", "accept", "return"]


async def test_a_duplicate_joined_follows_the_order_and_a_merge_tells_both(
    world: World,
) -> None:
    """A neighbour reports the same thing and joins the open order: they get its resolve
    notice and confirm it. A third report placed anyway is merged by the dispatcher."""
    worker = await world.join(world.place.unit_head)
    dispatcher = await world.join(world.place.dispatcher)
    first = await world.resident("王阿姨", "101")
    order_id = await world.order(first, "水电气维修", "楼道灯不亮")
    worker.press("接单", await worker.wait_for("新任务"))

    neighbour = await world.resident("李大爷", "202")
    neighbour.send("/new")
    await tap(neighbour, "水电气维修")
    await neighbour.wait_for(lambda m: "情况" in m.text and not m.buttons)
    neighbour.send("楼道里的灯坏了")
    await tap(neighbour, "好了")
    await tap(neighbour, "不急")
    await tap(neighbour, "确认提交")
    asked = await neighbour.wait_for("邻居已经报告了类似问题")
    number = f"{order_id:05d}"
    assert f"{number} 楼道灯不亮" in asked.text and "是同一件事吗" in asked.text
    assert "王阿姨" not in asked.text and "101" not in asked.text.replace(number, "")
    neighbour.press("是同一件事", asked)
    await neighbour.wait_for("不用重复报了")
    async with world.app.unit_of_work() as uow:
        joined = await uow.people.by_telegram(neighbour.id)
        assert joined is not None
        assert await uow.orders.of_resident(joined.id) == []  # no second order
        assert await uow.orders.followers(order_id) == [joined.id]

    await tap(worker, "办结")
    await worker.wait_for("怎么解决")
    worker.send("换了灯泡")
    notice = await neighbour.wait_for("您关注的服务单")
    assert "换了灯泡" in notice.text and "王阿姨" not in notice.text
    neighbour.press("解决了", notice)
    await neighbour.wait_for("谢谢您告诉我们")
    first_notice = await first.wait_for("问题解决了吗")
    first.press("满意", first_notice)
    await neighbour.wait_for("已办结")
    actions = [e.action for e in await world.timeline(order_id)]
    assert "join" in actions and "follower_ok" in actions

    # Another order, and a neighbour who reports it anyway: the dispatcher merges them.
    second = await world.order(first, "水电气维修", "水表箱门坏了")
    third_resident = await world.resident("赵叔", "301")
    third = await world.order(third_resident, "水电气维修", "水表箱的门关不上")
    dispatcher.send(f"/merge {third:05d} {second:05d}")
    await dispatcher.wait_for("已并入")
    await third_resident.wait_for("合并了")
    await first.wait_for("已合并到一起办理")
    merged = await world.get(third)
    assert merged.status == OrderStatus.CLOSED and merged.merged_into_id == second
    async with world.app.unit_of_work() as uow:
        followers = await uow.orders.followers(second)
    assert followers == [merged.resident_id]
