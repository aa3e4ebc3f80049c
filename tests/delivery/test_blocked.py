"""A worker who blocked the bot: unreachable, the dispatcher hears, dispatch passes them by."""

from __future__ import annotations

from bot.demo import tap
from tests.e2e.conftest import World
from workflows.model import OrderStatus


async def test_blocked_worker_holding_a_task_makes_the_dispatcher_hear(live: World) -> None:
    """The worker blocks the bot mid-task; the next message to them fails; the dispatcher acts."""
    worker = await live.join(live.place.unit_head)
    dispatcher = await live.join(live.place.dispatcher)
    colleague = await live.join(live.place.building_head)
    resident = await live.resident("周阿姨", "101")
    order_id = await live.order(resident, "水电气维修", "马桶水箱一直流水")
    worker.press("接单", await worker.wait_for("新任务"))
    await resident.wait_for("已由")
    worker.block()

    resident.send("/my")
    await tap(resident, "补充信息")
    await resident.wait_for("要补充")
    resident.send("水箱盖裂了")  # the worker is told: Telegram answers 403
    told = await dispatcher.wait_for("已屏蔽机器人", timeout=10)
    assert live.place.unit_head.name in told.text and f"{order_id:05d}" in told.text
    assert told.button_texts(), "the dispatcher can hand the task over in one tap"
    async with live.app.unit_of_work() as uow:
        person = await uow.people.get(live.place.unit_head.id)
    assert person is not None and not person.reachable

    other = await live.resident("吴大爷", "102")
    second = await live.order(other, "水电气维修", "水龙头坏了")
    assert (await live.get(second)).assignee_id != live.place.unit_head.id

    dispatcher.press(told.button_texts()[0], told)
    await dispatcher.wait_for("派给")
    await colleague.wait_for("新任务")
    assert (await live.get(order_id)).status == OrderStatus.OFFERED
    assert (await live.get(order_id)).assignee_id != live.place.unit_head.id

    worker.unblock()
    worker.mark_read()
    worker.send("/tasks")
    await worker.next_message()  # writing to the bot again makes them reachable
    async with live.app.unit_of_work() as uow:
        person = await uow.people.get(live.place.unit_head.id)
    assert person is not None and person.reachable
