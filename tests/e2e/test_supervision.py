"""督办 and lookup end to end: an order's card and timeline, internal notes, 催办/改派/上报."""

from __future__ import annotations

from bot.demo import tap
from bot.emulator import FakeUser
from tests.e2e.conftest import World
from workflows.model import OrderEvent, OrderStatus, Person
from workflows.vocabulary import Move

NOT_FOUND = "没有找到这个服务单"  # error.order_not_found: unknown and out of scope alike


async def person(world: World, code: str) -> Person:
    """Return a staff member of the sample organisation by code."""
    async with world.app.unit_of_work() as uow:
        found = await uow.people.by_code(code)
    assert found is not None
    return found


async def accepted(world: World, worker: FakeUser, resident: FakeUser, text: str) -> int:
    """Have the resident order a repair and the unit head accept it; return its id."""
    order_id = await world.order(resident, "水电气维修", text)
    worker.press("接单", await worker.wait_for("新任务"))
    await worker.wait_for("您已接下")
    return order_id


async def test_staff_in_scope_see_the_timeline_others_get_the_unknown_number_reply(
    world: World,
) -> None:
    """/order shows staff the whole timeline; the resident their own; anyone else nothing."""
    worker = await world.join(world.place.unit_head)
    dispatcher = await world.join(world.place.dispatcher)
    stranger = await world.join(await person(world, "p-deng-hui"))  # another community's
    street = await world.join(await person(world, "p-zhou-jianguo"))  # the street's supervisor
    resident = await world.resident("王阿姨", "101")
    neighbour = await world.resident("李大爷", "102")
    order_id = await accepted(world, worker, resident, "厨房水龙头一直滴水")
    number = f"{order_id:05d}"

    dispatcher.send(f"/order {number}")
    card = await dispatcher.wait_for("办理经过")
    assert "厨房水龙头一直滴水" in card.text and world.place.unit_head.name in card.text
    assert "办理经过" in card.text and "下单" in card.text and "接单" in card.text
    assert "王阿姨" in card.text  # staff see who placed it
    assert card.button_texts() == ["⏰ 催办", "🔁 改派", "⬆️ 上报", "🔒 内部备注"]

    worker.send(f"/o_{number}")  # the tappable link form
    mine = await worker.wait_for("办理经过")
    assert mine.button_texts() == ["🔒 内部备注"]  # working it, not supervising it
    street.send(f"/order {order_id}")
    assert "厨房水龙头一直滴水" in (await street.wait_for("办理经过")).text

    resident.send(f"/order {order_id}")
    own = await resident.wait_for("办理经过")
    assert "您 下单" in own.text and f"{world.place.unit_head.name} 接单" in own.text
    assert own.button_texts() == []
    resident.send("/my")  # each of their orders carries its link
    item = await resident.wait_for("厨房水龙头一直滴水")
    assert f"/o_{number}" in item.text

    for outsider in (stranger, neighbour):
        outsider.send(f"/order {number}")
        assert NOT_FOUND in (await outsider.wait_for(NOT_FOUND)).text
        outsider.send("/order 99999")
        await outsider.wait_for(NOT_FOUND)
        assert not [t for t in outsider.texts() if "厨房水龙头" in t]
    # Buttons forged or kept from elsewhere are refused the same way; the resident may not chase.
    forged = stranger.press_data(f"chs:{order_id}", stranger.last)
    assert NOT_FOUND in ((await stranger.wait_answer(forged)).text or "")
    chasing = resident.press_data(f"chs:{order_id}", resident.last)
    assert "没有权限" in ((await resident.wait_answer(chasing)).text or "")
    assert not [e for e in await world.timeline(order_id) if e.action == "chase"]


async def test_an_internal_note_is_on_the_staff_timeline_and_never_with_the_resident(
    world: World,
) -> None:
    """备注 is kept on the timeline for staff; the resident's card and notices never show it."""
    worker = await world.join(world.place.unit_head)
    dispatcher = await world.join(world.place.dispatcher)
    resident = await world.resident("赵叔", "301")
    order_id = await accepted(world, worker, resident, "卫生间下水道堵了")
    number = f"{order_id:05d}"

    dispatcher.send(f"/order {number}")
    dispatcher.press("内部备注", await dispatcher.wait_for("办理经过"))
    await dispatcher.wait_for("只有工作人员能看到")
    dispatcher.send("家里有狗，上门前先打电话")
    await dispatcher.wait_for("已给服务单")
    notes = [e for e in await world.timeline(order_id) if e.action == "staff_note"]
    assert [(n.actor_id, n.note) for n in notes] == [
        (world.place.dispatcher.id, "家里有狗，上门前先打电话")
    ]

    worker.send(f"/order {number}")
    seen = await worker.wait_for("办理经过")
    assert "内部备注：家里有狗" in seen.text and world.place.dispatcher.name in seen.text

    # The work goes on to the end; the resident hears of every step, never of the note.
    await tap(worker, "在路上")
    await tap(worker, "办结")
    await worker.wait_for("怎么解决")
    worker.send("疏通了下水道")
    await resident.wait_for("问题解决了吗")
    resident.send(f"/order {number}")
    own = await resident.wait_for("办理经过")
    assert "疏通了下水道" in own.text
    assert not [t for t in resident.texts() if "狗" in t or "内部备注" in t or "王芳" in t]


async def test_chase_reassign_and_escalate_from_the_supervisors_digest(world: World) -> None:
    """Tuesday's digest lists Monday's missed safety hazard with 催办/改派/上报 buttons."""
    supervisor = await world.join(await person(world, "p-chen-hong"))
    grid_worker = await world.join(world.place.grid_worker)
    dispatcher = await world.join(world.place.dispatcher)
    unit_head = await world.join(world.place.unit_head)
    building_head = await world.join(world.place.building_head)
    resident = await world.resident("钱奶奶", "401")
    order_id = await world.order(resident, "安全隐患", "楼道灯坏了很黑")
    number = f"{order_id:05d}"
    grid_worker.press("接单", await grid_worker.wait_for("新任务"))
    await grid_worker.wait_for("您已接下")
    await world.later(hours=9)  # past its 8 hours: up the chain, to the dispatcher's queue
    await dispatcher.wait_for("待派单")

    await world.later(hours=14, minutes=1)  # Tuesday 08:01 local
    report = await supervisor.wait_for("每日简报")
    assert "超时未办 1" in report.text and number in report.text
    assert report.button_texts() == [f"📋 {number}", "⏰ 催办", "🔁 改派", "⬆️ 上报"]
    await supervisor.wait_for(lambda m: m.photo_file_id is not None)  # the chart comes next

    # 催办 a queued order: its dispatchers are chased; a second tap within the hour is refused.
    supervisor.press("催办", report)
    await supervisor.wait_for("已催办")
    chased = await dispatcher.wait_for("催办服务单")
    assert "陈红" in chased.text and "楼道灯坏了很黑" in chased.text
    assert f"/o_{number}" in chased.text  # tap to see the order and its timeline
    again = supervisor.press("催办", report)
    assert "刚催办过" in ((await supervisor.wait_answer(again)).text or "")

    # 改派 to the unit head, with a reason.
    supervisor.press("改派", report)
    picker = await supervisor.wait_for("改派给谁")
    supervisor.press(f"rat:{order_id}:{world.place.unit_head.id}", picker)
    await supervisor.wait_for("原因")
    supervisor.send("单元长就住这栋楼")
    await supervisor.wait_for("已改派给")
    offered = await unit_head.wait_for("新任务")
    assert "楼道灯坏了很黑" in offered.text
    order = await world.get(order_id)
    assert order.status == OrderStatus.OFFERED and order.assignee_id == world.place.unit_head.id

    # 上报: one level up from the unit head; the unit head is told it is no longer theirs.
    supervisor.press("上报", report)
    await supervisor.wait_for("上报的原因")
    supervisor.send("一直没人管，请楼栋长处理")
    await supervisor.wait_for("已上报")
    await building_head.wait_for("楼道灯坏了很黑")
    await unit_head.wait_for("已交给别人办理")
    order = await world.get(order_id)
    assert order.assignee_id == world.place.building_head.id

    timeline = await world.timeline(order_id)
    chase = [e for e in timeline if e.action == "chase"]
    assert [e.actor_id for e in chase] == [(await person(world, "p-chen-hong")).id]
    reassigned = [e for e in timeline if e.action == "reassign"]
    assert [(e.target_id, e.note) for e in reassigned] == [
        (world.place.unit_head.id, "单元长就住这栋楼")
    ]
    assert any(e.action == "supervise_escalate" for e in timeline)
    supervisor.send(f"/order {number}")
    card = await supervisor.wait_for("办理经过")
    assert "陈红 催办" in card.text and "陈红 改派" in card.text and "陈红 督办上报" in card.text


async def test_a_dispatcher_reassigns_an_accepted_order_and_the_old_holder_is_told(
    world: World,
) -> None:
    """改派 of an accepted task: the old holder's card loses its buttons and they are told."""
    worker = await world.join(world.place.unit_head)
    dispatcher = await world.join(world.place.dispatcher)
    grid_worker = await world.join(world.place.grid_worker)
    resident = await world.resident("孙阿姨", "501")
    order_id = await accepted(world, worker, resident, "电表跳闸了")
    task = next(m for m in worker.messages if "您已接下" in m.text)  # the working card

    dispatcher.send(f"/order {order_id}")
    dispatcher.press("改派", await dispatcher.wait_for("电表跳闸了"))
    picker = await dispatcher.wait_for("改派给谁")
    dispatcher.press(f"rat:{order_id}:{world.place.grid_worker.id}", picker)
    await dispatcher.wait_for("原因")
    dispatcher.send("单元长出差了")
    await dispatcher.wait_for("已改派给")

    await grid_worker.wait_for("新任务")
    told = await worker.wait_for("已交给别人办理")
    assert "单元长出差了" in told.text
    assert worker.message(task.message_id).buttons == []  # taken back before they were told
    late = worker.press_data(f"res:{order_id}", task)
    assert "不在您手上" in ((await worker.wait_answer(late)).text or "")
    order = await world.get(order_id)
    assert order.status == OrderStatus.OFFERED
    assert order.assignee_id == world.place.grid_worker.id


async def test_a_long_timeline_fits_one_message_and_pages_back_to_earlier_entries(
    world: World,
) -> None:
    """Thirty long notes: the newest fit in 4096 UTF-16 units, the rest one tap away."""
    worker = await world.join(world.place.unit_head)
    dispatcher = await world.join(world.place.dispatcher)
    resident = await world.resident("周奶奶", "201")
    order_id = await accepted(world, worker, resident, "楼上漏水到我家")
    async with world.app.unit_of_work() as uow:
        for n in range(30):
            await uow.orders.add_event(
                OrderEvent(
                    order_id=order_id,
                    at=world.clock.now(),
                    actor_id=world.place.dispatcher.id,
                    action=Move.STAFF_NOTE,
                    from_status=OrderStatus.ACCEPTED,
                    to_status=OrderStatus.ACCEPTED,
                    note=f"第{n:02d}条𠀀" + "情况说明" * 100,  # 𠀀 counts two UTF-16 units
                )
            )
        await uow.commit()

    dispatcher.send(f"/order {order_id}")
    first = await dispatcher.wait_for("办理经过")
    assert len(first.text.encode("utf-16-le")) // 2 <= 4096
    assert "第29条" in first.text and "第00条" not in first.text
    assert "更早的记录" in first.text and "⏪ 更早的记录" in first.button_texts()
    pages = [first]
    while "⏪ 更早的记录" in pages[-1].button_texts():
        dispatcher.press("⏪ 更早的记录", pages[-1])
        pages.append(await dispatcher.wait_for("办理经过"))
        assert len(pages[-1].text.encode("utf-16-le")) // 2 <= 4096
    assert 3 <= len(pages) <= 5
    assert "第00条" in pages[-1].text and "下单" in pages[-1].text
    shown = "".join(p.text for p in pages)
    assert all(f"第{n:02d}条" in shown for n in range(30))
