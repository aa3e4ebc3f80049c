"""Information asked end to end (issue 15): the holder asks the resident; the answer, or none."""

from __future__ import annotations

from bot.demo import tap
from tests.e2e.conftest import World
from tests.e2e.test_moves import accepted


async def test_the_residents_answer_reaches_the_worker_and_both_are_on_the_timeline(
    world: World,
) -> None:
    """The holder taps ❓ 问居民 and types a question; the resident taps 回复 and answers in
    words, then the holder asks again and the resident answers with a photo."""
    worker = await world.join(world.place.unit_head)
    order_id, resident = await accepted(world, "王阿姨", "101", "厨房水管漏水")

    await tap(worker, "❓ 问居民")
    await worker.wait_for("想问居民的问题")
    worker.send("漏水的是冷水管还是热水管？")
    await worker.wait_for("问题已发给居民")
    assert (await world.get(order_id)).info_asked_at is not None

    asked = await resident.wait_for("想问您")
    assert "冷水管还是热水管" in asked.text and world.place.unit_head.name in asked.text
    resident.press("回复", asked)
    await resident.wait_for("请您直接写下回答")
    resident.send("是热水管")
    await resident.wait_for("已经转给工作人员")

    told = await worker.wait_for("回复了服务单")
    assert "是热水管" in told.text
    assert (await world.get(order_id)).info_asked_at is None
    assert resident.message(asked.message_id).button_texts() in ([], ["回复"])

    await tap(worker, "❓ 问居民")
    await worker.wait_for("想问居民的问题")
    worker.send("能拍一张水管的照片吗？")
    asked = await resident.wait_for("能拍一张")
    resident.press("回复", asked)
    await resident.wait_for("请您直接写下回答")
    resident.send_photo()
    await resident.wait_for("已经转给工作人员")
    await worker.wait_for("回复了服务单")

    actions = [e.action for e in await world.timeline(order_id)]
    assert actions[-4:] == [
        "ask_resident",
        "resident_answered",
        "ask_resident",
        "resident_answered",
    ]
    answered = (await world.timeline(order_id))[-1]
    assert answered.photo is not None


async def test_an_unanswered_question_reminds_the_resident_then_tells_the_worker(
    world: World,
) -> None:
    """No answer: after 12 hours the resident is reminded once; after 48 hours the holder is
    told 居民还没回复 and the question is dropped, so the work goes on. The resolve clock is
    not stopped by the question: the holder asks for a week more (延期) to wait that long."""
    worker = await world.join(world.place.unit_head)
    dispatcher = await world.join(world.place.dispatcher)
    order_id, resident = await accepted(world, "李大爷", "102", "暖气片漏水")
    await tap(worker, "延期")
    await tap(worker, "延1周")
    await worker.wait_for("说明原因")
    worker.send("要等居民回话")
    dispatcher.press("同意延期", await dispatcher.wait_for("延期申请"))
    await worker.wait_for("批准")
    await tap(worker, "❓ 问居民")
    await worker.wait_for("想问居民的问题")
    worker.send("您家哪天有人在家？")
    await resident.wait_for("想问您")

    await world.later(hours=12, minutes=1)
    reminder = await resident.wait_for("还在等您回答")
    assert reminder.button_texts() == ["回复"]
    await world.later(hours=12)
    assert len([t for t in resident.texts() if "还在等您回答" in t]) == 1

    await world.later(hours=24)
    told = await worker.wait_for("居民还没回复")
    assert "继续处理" in told.text
    assert (await world.get(order_id)).info_asked_at is None
    actions = [e.action for e in await world.timeline(order_id)]
    assert "resident_silent" in actions
    # The reply button of a dropped question is refused politely.
    late = resident.press("回复", reminder)
    assert (await resident.wait_answer(late)).text
    assert (await world.get(order_id)).info_asked_at is None


async def test_someone_else_cannot_answer_the_residents_question(world: World) -> None:
    """A neighbour forging the reply button is refused politely; nothing reaches the worker."""
    worker = await world.join(world.place.unit_head)
    order_id, resident = await accepted(world, "张奶奶", "201", "下水道堵了")
    neighbour = await world.resident("赵大爷", "202")
    await tap(worker, "❓ 问居民")
    await worker.wait_for("想问居民的问题")
    worker.send("堵了多久了？")
    await resident.wait_for("想问您")

    forged = neighbour.press_data(f"arr:{order_id}", neighbour.messages[-1])
    refusal = (await neighbour.wait_answer(forged)).text or ""
    assert "不是您的服务单" in refusal
    assert (await world.get(order_id)).info_asked_at is not None
    assert "resident_answered" not in [e.action for e in await world.timeline(order_id)]
