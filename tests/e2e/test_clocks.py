"""A clock on every stage (issue 15), end to end on a hand-moved clock through the real bot.

The sample organisation's 其他问题 has no routing rule (its orders wait in the dispatcher's
queue: 60 minutes, 15 urgent); 微心愿 goes to the volunteers' pool (24 hours unclaimed).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from bot.app import running
from bot.clock import ManualClock
from bot.demo import demo_settings, survey
from bot.emulator import FakeBotAPI
from storage.models import CategoryRow
from tests.e2e.conftest import World
from workflows.model import OrderStatus, Person, PersonChanges

# Supervisors' chats carry their digests (each with a drawn chart) before a breach notice.
SLOW = 30.0


async def person(world: World, code: str) -> Person:
    """Return a staff member or volunteer of the sample organisation by code."""
    async with world.app.unit_of_work() as uow:
        found = await uow.people.by_code(code)
    assert found is not None
    return found


async def test_a_queued_order_reminds_the_dispatcher_then_the_supervisor_is_told(
    world: World,
) -> None:
    """Nobody dispatches it: a reminder at 48 minutes, the supervisor hears at 60."""
    dispatcher = await world.join(world.place.dispatcher)
    supervisor = await world.join(await person(world, "p-chen-hong"))
    street_supervisor = await world.join(await person(world, "p-zhou-jianguo"))
    resident = await world.resident("郑大爷", "101")
    order_id = await world.order(resident, "其他问题", "小区门口的路灯不亮")
    await dispatcher.wait_for("待派单")

    await world.later(minutes=47)
    await world.api.wait_idle()
    assert not [t for t in dispatcher.texts() if "还在待派单" in t]
    await world.later(minutes=2)
    reminder = await dispatcher.wait_for("还在待派单")
    assert f"{order_id:05d}" in reminder.text and "路灯不亮" in reminder.text
    assert not [t for t in supervisor.texts() if "还没有派出去" in t]

    await world.later(minutes=12)
    # The supervisors' daily and weekly digests (two charts each) go first in their chats.
    told = await supervisor.wait_for("还没有派出去", timeout=SLOW)
    assert f"{order_id:05d}" in told.text and "路灯不亮" in told.text
    await street_supervisor.wait_for("还没有派出去", timeout=SLOW)
    order = await world.get(order_id)
    assert order.status == OrderStatus.QUEUED
    actions = [e.action for e in await world.timeline(order_id)]
    assert actions.count("breach_queue") == 1
    assert await world.later(minutes=30) == 0  # nothing fires twice


async def test_an_unclaimed_wish_reminds_the_volunteers_then_goes_to_the_grid_worker(
    world: World,
) -> None:
    """Nobody claims it in 24 hours: the volunteers are reminded, then the grid worker gets it."""
    volunteer = await world.join(await person(world, "p-zhao-min"))
    grid_worker = await world.join(world.place.grid_worker)
    resident = await world.resident("冯奶奶", "101")
    order_id = await world.order(resident, "微心愿", "想要一副老花镜")
    await volunteer.wait_for("新的志愿服务")

    await world.later(hours=19)
    await world.api.wait_idle()
    assert not [t for t in volunteer.texts() if "还没有人认领" in t]
    await world.later(minutes=20)
    reminder = await volunteer.wait_for("还没有人认领")
    assert "老花镜" in reminder.text and reminder.button_texts() == ["🙋 我来认领"]
    assert "101" not in reminder.text  # the room is for whoever claims it

    await world.later(hours=5)
    card = await grid_worker.wait_for("新任务")
    assert "老花镜" in card.text
    order = await world.get(order_id)
    assert order.status == OrderStatus.OFFERED
    assert order.assignee_id == world.place.grid_worker.id
    assert [e.action for e in await world.timeline(order_id)][-1] == "breach_pool"
    grid_worker.press("接单", card)
    await grid_worker.wait_for("您已接下")


async def test_people_with_their_own_hours_get_only_urgent_orders_outside_them(
    world: World,
) -> None:
    """The unit head works 08:00–20:00: at 22:00 a normal repair goes to the dispatcher's queue,
    an urgent one still reaches them (nobody else at that level is on duty); a volunteer with
    hours is not offered a wish at 22:00 while one without hours is."""
    unit_head = await world.join(world.place.unit_head)
    dispatcher = await world.join(world.place.dispatcher)
    day_volunteer = await world.join(await person(world, "p-zhao-min"))
    any_time_volunteer = await world.join(await person(world, "p-qian-jun"))
    async with world.app.unit_of_work() as uow:
        for who in (world.place.unit_head, await person(world, "p-zhao-min")):
            await uow.people.update(who.id, PersonChanges(on_duty="08:00-20:00"))
        await uow.commit()
    resident = await world.resident("韩阿姨", "101")
    await world.later(hours=13)  # Monday 22:00 in Shanghai

    normal = await world.order(resident, "水电气维修", "水龙头关不紧")
    queued = await dispatcher.wait_for(lambda m: "水龙头关不紧" in m.text)
    assert "待派单" in queued.text
    assert (await world.get(normal)).status == OrderStatus.QUEUED
    urgent = await world.order(resident, "水电气维修", "水管爆了满地是水", urgent=True)
    await unit_head.wait_for(lambda m: "水管爆了" in m.text)
    assert (await world.get(urgent)).assignee_id == world.place.unit_head.id
    assert not [t for t in unit_head.texts() if "水龙头关不紧" in t]

    await world.order(resident, "微心愿", "想学用智能手机")
    await any_time_volunteer.wait_for(lambda m: "智能手机" in m.text)
    await world.api.wait_idle()
    assert not [t for t in day_volunteer.texts() if "智能手机" in t]


async def test_the_queue_counts_working_time_over_a_tiaoxiu_saturday_and_a_weekend(
    sample_db: str,
) -> None:
    """A working-time queue: 60 working minutes from Friday 9 October 2026 17:00 end on
    Saturday the 10th at 09:00 (a 调休 working day); from that Saturday 17:00, on Monday 09:00
    (Sunday does not count)."""
    friday = datetime(2026, 10, 9, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
    clock = ManualClock(friday)
    async with FakeBotAPI() as api:
        settings = demo_settings(api, sample_db).model_copy(update={"sweep_seconds": 3600})
        async with running(settings, clock) as app:
            async with app.unit_of_work() as uow:
                place = await survey(uow)
                await uow.session.execute(
                    update(CategoryRow).where(CategoryRow.code == "other").values(working_time=True)
                )
                await uow.commit()
            world = World(api, app, place)
            supervisor = await world.join(await person(world, "p-chen-hong"))
            resident = await world.resident("彭爷爷", "101")
            first = await world.order(resident, "其他问题", "楼下有人乱停车")

            def told(order_id: int) -> list[str]:
                return [t for t in supervisor.texts() if f"{order_id:05d}" in t and "派出去" in t]

            await world.later(hours=15, minutes=59)  # Saturday 08:59: 30 minutes are left
            await world.api.wait_idle()
            assert not told(first)
            await world.later(minutes=2)  # Saturday 09:01
            await supervisor.wait_for(lambda m: bool(told(first)), timeout=SLOW)

            await world.later(hours=7, minutes=59)  # Saturday 17:00
            second = await world.order(resident, "其他问题", "垃圾桶满了没人收")
            await world.later(hours=17)  # Sunday 10:00: a day off
            await world.api.wait_idle()
            assert not told(second)
            await world.later(hours=22, minutes=59)  # Monday 08:59
            await world.api.wait_idle()
            assert not told(second)
            await world.later(minutes=2)  # Monday 09:01
            await supervisor.wait_for(lambda m: bool(told(second)), timeout=SLOW)
