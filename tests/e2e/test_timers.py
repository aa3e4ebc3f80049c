"""Timers end to end: days of scenario time on a hand-moved clock, through the real bot."""

from __future__ import annotations

from datetime import timedelta

from pydantic import SecretStr

from bot.app import running
from bot.clock import ManualClock
from bot.demo import demo_settings, survey, tap
from bot.emulator import FakeBotAPI
from storage.models import OutboxRow
from tests.e2e.conftest import World, order_number
from workflows.model import OrderStatus, Person, VisitKind

PNG = b"\x89PNG\r\n\x1a\n"


async def person(world: World, code: str) -> Person:
    """Return a staff member of the sample organisation by code."""
    async with world.app.unit_of_work() as uow:
        found = await uow.people.by_code(code)
    assert found is not None
    return found


async def test_a_reminder_then_the_lapsed_offer_goes_to_the_dispatcher(world: World) -> None:
    """30 minutes to accept: a reminder at 24, then the dispatcher gets it with the reason."""
    worker = await world.join(world.place.unit_head)
    dispatcher = await world.join(world.place.dispatcher)
    resident = await world.resident("王阿姨", "101")
    order_id = await world.order(resident, "水电气维修", "厨房水龙头一直滴水")
    await worker.wait_for("新任务")

    await world.later(minutes=20)
    await world.api.wait_idle()
    assert not [t for t in worker.texts() if "还在等您接单" in t]
    await world.later(minutes=5)
    reminder = await worker.wait_for("还在等您接单")
    assert "厨房水龙头一直滴水" in reminder.text
    assert reminder.button_texts() == ["✅ 接单", "❌ 婉拒"]

    await world.later(minutes=6)
    await worker.wait_for("超过接单时间")
    queued = await dispatcher.wait_for("待派单")
    assert "没有人按时接单" in queued.text
    order = await world.get(order_id)
    assert order.status == OrderStatus.QUEUED and order.assignee_id is None
    lapses = [e for e in await world.timeline(order_id) if e.action == "breach_accept"]
    assert [e.target_id for e in lapses] == [world.place.unit_head.id]
    assert await world.later(minutes=30) == 0  # nothing fires twice


async def test_a_missed_resolution_goes_one_level_up_and_the_dispatcher_is_told(
    world: World,
) -> None:
    """Accepted but not resolved in 24 hours: the building head gets it, the dispatcher knows."""
    worker = await world.join(world.place.unit_head)
    building_head = await world.join(world.place.building_head)
    dispatcher = await world.join(world.place.dispatcher)
    resident = await world.resident("李大爷", "102")
    order_id = await world.order(resident, "水电气维修", "暖气片漏水")
    worker.press("接单", await worker.wait_for("新任务"))
    await worker.wait_for("您已接下")

    await world.later(hours=20)
    await worker.wait_for("离办结期限还有约")
    await world.later(hours=5)
    await worker.wait_for("超过办结期限")
    card = await building_head.wait_for("新任务")
    assert "暖气片漏水" in card.text
    told = await dispatcher.wait_for("没有按期办结")
    assert world.place.unit_head.name in told.text and world.place.building_head.name in told.text
    order = await world.get(order_id)
    assert order.status == OrderStatus.OFFERED
    assert order.assignee_id == world.place.building_head.id


async def test_no_answer_closes_the_order_and_the_follow_up_reopens_it(world: World) -> None:
    """Resolved, unanswered for 72 hours: closed and the resident told; a week on, 'broken
    again' reopens it to the same worker with the reason."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("赵叔", "301")
    order_id = await world.order(resident, "水电气维修", "卫生间下水道堵了")
    worker.press("接单", await worker.wait_for("新任务"))
    await tap(worker, "办结")
    await worker.wait_for("怎么解决")
    worker.send("疏通了下水道")
    await resident.wait_for("问题解决了吗")

    await world.later(hours=71)
    assert (await world.get(order_id)).status == OrderStatus.RESOLVED
    await world.later(hours=2)
    closed = await resident.wait_for("先帮您结单了")
    assert "72" in closed.text
    assert (await world.get(order_id)).status == OrderStatus.CLOSED

    await world.later(days=7)
    asked = await resident.wait_for("现在情况还好吗")
    assert asked.button_texts() == ["👍 一切都好", "👎 又坏了", "🤔 说不准"]
    resident.press("又坏了", asked)
    await resident.wait_for("请说说现在是什么情况")
    resident.send("又堵上了，水下不去")
    await resident.wait_for("重新交给原来的工作人员")
    reopened = await worker.wait_for("被居民重新打开")
    assert "又堵上了" in reopened.text
    order = await world.get(order_id)
    assert order.status == OrderStatus.ACCEPTED and order.assignee_id == world.place.unit_head.id
    actions = [e.action for e in await world.timeline(order_id)]
    assert actions[-3:] == ["autoclose", "followup", "followup_reopen"]


async def test_a_key_household_visit_not_logged_goes_to_the_dispatcher(world: World) -> None:
    """The liaison gets the monthly visit task; not logged by the due day, the dispatcher hears."""
    liaison = await world.join(await person(world, "p-zhao-min"))
    dispatcher = await world.join(world.place.dispatcher)
    await world.later(minutes=1)
    task = await liaison.wait_for("走访任务")
    assert "独居老人" in task.text and "601" in task.text
    assert task.button_texts() == ["✅ 已走访", "🚪 不在家", "🆘 需要帮助"]

    await world.later(days=30)  # the next month's task opens; this one is not late yet
    await liaison.wait_for("走访任务")
    await world.later(hours=25)
    missed = await dispatcher.wait_for(lambda m: "走访未按时完成" in m.text and "赵敏" in m.text)
    assert "601" in missed.text

    liaison.press("需要帮助", liaison.last)  # the new month's visit: the household needs help
    await tap(liaison, "水电气维修")
    await liaison.wait_for("需要什么帮助")
    liaison.send("老人家里灯坏了，需要换灯泡")
    placed = await liaison.wait_for("已代这户提交")
    number = order_number(placed)
    first = (await world.timeline(number))[0]
    assert (first.action, first.note) == ("place", "visit")
    async with world.app.unit_of_work() as uow:
        household_id = (await world.get(number)).household_id
        assert household_id is not None
        visit = await uow.visits.latest(household_id, VisitKind.KEY)
    assert visit is not None and visit.outcome is not None


async def test_the_supervisors_digest_counts_the_day_and_carries_a_chart(world: World) -> None:
    """Monday's orders in the Tuesday 08:00 digest, with the 14-day chart as a PNG photo."""
    supervisor = await world.join(await person(world, "p-chen-hong"))
    worker = await world.join(world.place.unit_head)
    grid_worker = await world.join(world.place.grid_worker)
    resident = await world.resident("钱奶奶", "401")
    # Monday 09:00 local: one order resolved in three hours and rated 5…
    done = await world.order(resident, "水电气维修", "水管接头漏水")
    await world.later(minutes=20)
    worker.press("接单", await worker.wait_for("新任务"))
    await worker.wait_for("您已接下")
    await world.later(hours=2, minutes=40)
    await tap(worker, "办结")
    await worker.wait_for("怎么解决")
    worker.send("换了接头")
    resident.press("满意", await resident.wait_for("问题解决了吗"))
    await tap(resident, "5⭐")
    await resident.wait_for("5 星")
    # …and one safety hazard accepted at once but left past its 8 hours.
    late = await world.order(resident, "安全隐患", "楼道灯坏了很黑")
    grid_worker.press("接单", await grid_worker.wait_for("新任务"))
    await grid_worker.wait_for("您已接下")
    await world.later(hours=9)
    await grid_worker.wait_for("超过办结期限")

    await world.later(hours=11, minutes=1)  # Tuesday 08:01 local
    report = await supervisor.wait_for("每日简报（11-02）")
    assert "新增 2 · 接单 2 · 办结 1 · 超时未办 1" in report.text
    assert "满意度：5.0 分（1 人评价）" in report.text
    assert "办结用时（中位数）：3.0 小时" in report.text
    assert f"{late:05d}" in report.text and world.place.grid_worker.name in report.text
    assert "接单超时 0 次，办结超时 1 次" in report.text
    chart = await supervisor.wait_for(lambda m: m.photo_file_id is not None)
    assert "近 14 天" in chart.text
    assert chart.photo_file_id is not None
    png = world.api.file_bytes(chart.photo_file_id)
    assert png.startswith(PNG) and len(png) > 10_000
    assert (await world.get(done)).status == OrderStatus.CLOSED


async def test_stats_on_demand_and_politely_refused_to_others(world: World) -> None:
    """/stats gives a supervisor today's figures; a resident is told it is not for them."""
    supervisor = await world.join(await person(world, "p-chen-hong"))
    resident = await world.resident("孙阿姨", "501")
    await world.order(resident, "水电气维修", "电表跳闸了")
    supervisor.send("/stats")
    report = await supervisor.wait_for("今日情况")
    assert "新增 1" in report.text
    await supervisor.wait_for(lambda m: m.photo_file_id is not None)
    resident.send("/stats")
    await resident.wait_for("统计简报是给街道和社区负责人看的")


async def test_quiet_hours_hold_news_until_eight_in_the_morning(world: World) -> None:
    """Accepted at 23:00 local: the resident hears of it after 08:00, not in the night."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("周奶奶", "201")
    await world.later(hours=14)  # Monday 23:00 local
    order_id = await world.order(resident, "水电气维修", "热水器不出热水")
    worker.press("接单", await worker.wait_for("新任务"))
    await worker.wait_for("您已接下")
    await world.api.wait_idle()
    assert not [t for t in resident.texts() if "已由" in t]
    async with world.app.unit_of_work() as uow:
        held = await uow.session.scalar(
            OutboxRow.__table__.select()
            .with_only_columns(OutboxRow.not_before)
            .where(OutboxRow.key == "order.accepted")
        )
    assert held is not None and held == world.clock.now() + timedelta(hours=9)

    await world.later(hours=8, minutes=59)
    await world.api.wait_idle()
    assert not [t for t in resident.texts() if "已由" in t]
    await world.later(minutes=2)  # 08:01
    told = await resident.wait_for("已由")
    assert str(order_id).zfill(5) in told.text


async def test_a_timer_pending_over_a_restart_fires_once(sample_db: str) -> None:
    """Stop the bot with an offer pending, start it again on the same file: it lapses once."""
    clock = ManualClock()
    async with FakeBotAPI() as api:
        settings = demo_settings(api, sample_db).model_copy(update={"sweep_seconds": 3600})
        async with running(settings, clock) as app:
            async with app.unit_of_work() as uow:
                place = await survey(uow)
            world = World(api, app, place)
            worker = await world.join(place.unit_head)
            resident = await world.resident("吴大妈", "102")
            order_id = await world.order(resident, "水电气维修", "马桶水箱一直流水")
            await worker.wait_for("新任务")
        clock.advance(minutes=45)  # the deadline passes while the bot is down
        settings = settings.model_copy(update={"bot_token": SecretStr(api.token)})
        async with running(settings, clock) as app:
            assert await app.tick() > 0  # the lapse (and the key households' first visits)
            assert await app.tick() == 0
            await worker.wait_for("超过接单时间")
            async with app.unit_of_work() as uow:
                events = await uow.orders.events(order_id)
                order = await uow.orders.get(order_id)
    assert [e.action for e in events].count("breach_accept") == 1
    assert order is not None and order.status == OrderStatus.QUEUED


async def test_working_time_skips_the_weekend_and_urgent_orders_do_not(world: World) -> None:
    """邻里纠纷 counts working time (16 hours, 08:30–12:00 and 13:30–17:30 on working days).

    Accepted Friday 17:00, its time runs out on Wednesday 09:00, not on Saturday morning as 16
    calendar hours would; an urgent one accepted at the same moment keeps its 8 calendar hours.
    """
    worker = await world.join(world.place.grid_worker)
    resident = await world.resident("孙奶奶", "101")
    neighbour = await world.resident("钱大爷", "102")
    await world.later(days=4, hours=8)  # from Monday 09:00 to Friday 17:00, Shanghai time
    normal = await world.order(resident, "邻里纠纷", "楼上每天半夜拖椅子")
    worker.press("接单", await worker.wait_for(lambda m: "拖椅子" in m.text))
    await worker.wait_for(f"您已接下任务 {normal:05d}")
    urgent = await world.order(neighbour, "邻里纠纷", "两家在楼道里吵起来了", urgent=True)
    worker.press("接单", await worker.wait_for(lambda m: "吵起来" in m.text))
    await worker.wait_for(f"您已接下任务 {urgent:05d}")

    def late(number: int) -> list[str]:
        return [t for t in worker.texts() if "超过办结期限" in t and f"{number:05d}" in t]

    await world.later(hours=9)  # Saturday 02:00: the urgent order is late, the normal one not
    await worker.wait_for(lambda m: "超过办结期限" in m.text and f"{urgent:05d}" in m.text)
    await world.api.wait_idle()
    assert not late(normal)
    assert (await world.get(urgent)).assignee_id != world.place.grid_worker.id

    await world.later(days=3, hours=6)  # Tuesday 08:00: a working day and a half still left
    await world.api.wait_idle()
    assert not late(normal)
    assert not [t for t in worker.texts() if "离办结期限" in t and "拖椅子" in t]
    # The reminder goes with a fifth of the time left in working time too: Tuesday 14:48.
    await world.later(hours=6, minutes=47)
    await world.api.wait_idle()
    assert not [t for t in worker.texts() if "离办结期限" in t and "拖椅子" in t]
    await world.later(minutes=2)
    await worker.wait_for(lambda m: "离办结期限" in m.text and "拖椅子" in m.text)
    await world.later(hours=18, minutes=12)  # Wednesday 09:01
    await worker.wait_for(lambda m: bool(late(normal)))
    order = await world.get(normal)
    assert order.assignee_id != world.place.grid_worker.id
