"""Questions (咨询): a resident asks, the grid worker answers, the answer reaches the resident."""

from __future__ import annotations

from bot.demo import tap
from tests.e2e.conftest import World
from tests.e2e.test_timers import person


async def test_a_question_answered_reaches_the_resident(world: World) -> None:
    """/ask → the grid worker's card with Reply → the typed answer in the resident's chat."""
    grid = await world.join(world.place.grid_worker)
    resident = await world.resident("吴大叔", "301")
    resident.send("/ask")
    await resident.wait_for("想咨询什么")
    resident.send("个体户怎么在社区交社保？")
    sent = await resident.wait_for("已交给网格员")
    assert "Q0" in sent.text

    card = await grid.wait_for("居民咨询")
    assert "个体户怎么在社区交社保" in card.text
    await tap(grid, "回复")
    await grid.wait_for("请写下对咨询")
    grid.send("带上营业执照和身份证，到社区服务中心一楼窗口办理。")
    await grid.wait_for("答复已发给居民")

    answer = await resident.wait_for("有回复了")
    assert "营业执照" in answer.text and world.place.grid_worker.name in answer.text

    # Counted apart from orders: a line of its own; the orders' figures stay at nought.
    supervisor = await world.join(await person(world, "p-chen-hong"))
    supervisor.send("/stats")
    report = await supervisor.wait_for("今日情况")
    assert "咨询：新增 1 · 已答复 1 · 超时未答 0" in report.text
    assert "新增 0 · 接单 0" in report.text


async def test_an_unanswered_question_reminds_then_tells_the_dispatcher(world: World) -> None:
    """Past most of its clock the worker is reminded; past all of it the dispatcher is told."""
    grid = await world.join(world.place.grid_worker)
    dispatcher = await world.join(world.place.dispatcher)
    resident = await world.resident("郑阿姨", "302")
    resident.send("/ask")
    await resident.wait_for("想咨询什么")
    resident.send("老年卡在哪里办？")
    await grid.wait_for("居民咨询")
    await world.later(hours=3, minutes=30)
    await grid.wait_for("还在等您回复")
    await world.later(hours=1)
    late = await dispatcher.wait_for("超时没有回复")
    assert "老年卡" in late.text
