"""Spent buttons are gone, for everyone holding a copy; staff see their own help and ways on."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.demo import tap
from bot.emulator import FakeUser, SentMessage
from storage.models import OutboxRow
from tests.e2e.conftest import World
from workflows.model import OrderStatus, Role

STALE = "过期"  # error.stale: "这个按钮已过期，服务单有了新进展……"


async def sent_and_marked(world: World, ref: str) -> None:
    """Wait until every copy of a card is recorded as sent with its message id.

    The delivery worker records the id just after Telegram's answer; a card taken back in that
    instant is still on its way and cannot be edited yet, so the tests start from a settled
    outbox, as a person tapping seconds later does.
    """
    waiting = (
        select(func.count())
        .select_from(OutboxRow)
        .where(OutboxRow.ref == ref, OutboxRow.message_id.is_(None))
    )
    for _ in range(500):
        async with world.app.sessions() as session:
            if not await session.scalar(waiting):
                return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the copies of {ref} were never marked sent")


async def volunteers(world: World, count: int) -> list[FakeUser]:
    """Bring `count` volunteers who match a micro-wish into the chat."""
    async with world.app.unit_of_work() as uow:
        people = await uow.people.volunteers_with_skills(["micro_wish"], world.place.community.id)
    assert len(people) >= count
    return [await world.join(p) for p in people[:count]]


async def test_the_volunteer_who_loses_a_wish_sees_it_taken(world: World) -> None:
    """Two volunteers are offered one wish; once one claims it, the other's card says so."""
    first, second = await volunteers(world, 2)
    resident = await world.resident("冯奶奶", "202")
    order_id = await world.order(resident, "微心愿", "想要一副老花镜")
    card_a = await first.wait_for("想要一副老花镜")
    card_b = await second.wait_for("想要一副老花镜")
    assert card_b.button_texts() == ["🙋 我来认领"]
    await sent_and_marked(world, f"offer:{order_id}")

    won = first.press("认领", card_a)
    assert (await first.wait_answer(won)).text == "认领成功"

    taken = await second.wait_for("已由他人认领")
    assert taken.message_id == card_b.message_id
    assert second.message(card_b.message_id).buttons == []
    # The winner's card becomes their working card, edited in place (no second copy).
    working = await first.wait_for(
        lambda m: m.message_id == card_a.message_id and "您已接下" in m.text
    )
    assert "🙋 我来认领" not in working.button_texts() and "🚶 在路上" in working.button_texts()
    # An old tap on the taken card changes nothing and says why.
    again = second.press_data(f"clm:{order_id}", card_b)
    assert "已被别人认领" in ((await second.wait_answer(again)).text or "")
    order = await world.get(order_id)
    assert order.status == OrderStatus.ACCEPTED
    assert [e.action for e in await world.timeline(order_id)] == ["place", "pool", "claim"]


async def test_registration_pickers_lose_their_buttons_once_answered(world: World) -> None:
    """Community, building, unit and room pickers are spent once answered: no live buttons."""
    user = await world.resident("周大妈", "102")
    assert "登记好了" in " ".join(user.texts())
    live = [m.text for m in user.messages if m.buttons]
    assert live == []


async def resolve_and_confirm(world: World, worker: FakeUser, resident: FakeUser) -> None:
    """Have the worker accept and resolve the offered task, and the resident confirm it."""
    worker.press("接单", await worker.wait_for("新任务"))
    await tap(worker, "办结")
    await worker.wait_for("怎么解决")
    worker.send("修好了")
    resolved = await resident.wait_for("问题解决了吗")
    resident.press("满意", resolved)


async def test_my_list_of_a_closed_order_has_no_live_buttons(world: World) -> None:
    """/my's add-information and cancel buttons go once the order closes; old taps are refused."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("吴伯伯", "201")
    order_id = await world.order(resident, "水电气维修", "阳台灯不亮")
    resident.send("/my")
    item = await resident.wait_for("阳台灯不亮")
    assert item.button_texts() == ["补充信息", "取消服务单"]
    await sent_and_marked(world, f"order:{order_id}")

    await resolve_and_confirm(world, worker, resident)
    await resident.wait_for(lambda m: m.message_id == item.message_id and not m.buttons)
    assert (await world.get(order_id)).status == OrderStatus.CLOSED

    resident.mark_read()
    cancel = resident.press_data(f"cnl:{order_id}", item)
    assert STALE in ((await resident.wait_answer(cancel)).text or "")
    info = resident.press_data(f"info:{order_id}", item)
    assert STALE in ((await resident.wait_answer(info)).text or "")
    resident.send("/my")
    again = await resident.wait_for("阳台灯不亮")
    assert again.buttons == []
    assert not any("确定要取消" in m.text or "要补充" in m.text for m in resident.messages)
    assert (await world.get(order_id)).status == OrderStatus.CLOSED


async def test_a_cancelled_task_leaves_the_workers_card(world: World) -> None:
    """The worker's card loses its buttons when the resident cancels; old taps are refused."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("郑阿姨", "301")
    order_id = await world.order(resident, "水电气维修", "热水器不点火")
    worker.press("接单", await worker.wait_for("新任务"))
    card = await worker.wait_for("您已接下")
    assert "🚶 在路上" in card.button_texts()
    await sent_and_marked(world, f"task:{order_id}")

    resident.send("/my")
    item = await resident.wait_for("热水器不点火")
    resident.press("取消服务单", item)
    await tap(resident, "确定取消")
    await resident.wait_for("已取消")
    await worker.wait_for(lambda m: m.message_id == card.message_id and not m.buttons)
    await worker.wait_for("不用再处理")

    worker.mark_read()
    for data in (f"way:{order_id}", f"note:{order_id}", f"res:{order_id}", f"esc:{order_id}"):
        tapped = worker.press_data(data, card)
        assert "不在您手上" in ((await worker.wait_answer(tapped)).text or "")
    assert not any(t.startswith("请发任务") or "怎么解决" in t for t in worker.texts())
    assert (await world.get(order_id)).status == OrderStatus.CANCELLED


async def help_of(user: FakeUser) -> list[SentMessage]:
    """Send /help and return the sections the person gets, in order."""
    user.mark_read()
    user.send("/help")
    sections = [await user.wait_for("/")]
    while not sections[-1].text.startswith("/lang"):
        sections.append(await user.wait_for("/"))
    return sections


async def test_staff_help_shows_their_work_first_and_never_forget(world: World) -> None:
    """A grid worker's /help opens with their tasks; a dispatcher's with the queue; no /forget."""
    grid = await world.join(world.place.grid_worker)
    sections = await help_of(grid)
    assert sections[0].text.startswith("工作人员")
    assert "/tasks" in sections[0].text
    joined = "\n".join(s.text for s in sections)
    assert "/forget" not in joined and "您可以点下方的按钮" not in joined
    assert "/queue" not in joined and "/stats" not in joined
    assert "先登记自己家的住址" in joined

    dispatcher = await world.join(world.place.dispatcher)
    joined = "\n".join(s.text for s in await help_of(dispatcher))
    assert "/queue" in joined and "/forget" not in joined

    async with world.app.unit_of_work() as uow:
        people = await uow.people.volunteers_with_skills(["micro_wish"], world.place.community.id)
    volunteer = await world.join(people[0])
    joined = "\n".join(s.text for s in await help_of(volunteer))
    assert "/pool" in joined and "/forget" not in joined

    resident = await world.resident("陈奶奶", "302")
    resident.send("/help")
    assert "/forget" in (await resident.wait_for("您可以点下方的按钮")).text


async def test_staff_without_a_home_can_register_one_from_new(world: World) -> None:
    """/new for a grid worker with no household explains and registers their home address."""
    grid = await world.join(world.place.grid_worker)
    grid.send("/new")
    explained = await grid.wait_for("还没有登记自己家的住址")
    assert explained.buttons == []
    await tap(grid, world.place.community.names.zh)
    await tap(grid, world.place.building.names.zh)
    await tap(grid, world.place.unit.names.zh)
    await tap(grid, "401")
    await grid.wait_for("登记好了")
    async with world.app.unit_of_work() as uow:
        person = await uow.people.get(world.place.grid_worker.id)
    assert person is not None and person.household_id is not None
    assert person.has_role(Role.GRID_WORKER)  # still staff

    grid.send("/new")
    await grid.wait_for("您需要哪方面的帮助")


async def test_staff_start_without_a_home_offers_to_register_it(world: World) -> None:
    """/start for staff with no household does not loop: it offers the address picker."""
    dispatcher = await world.join(world.place.dispatcher)
    dispatcher.mark_read()
    dispatcher.send("/start")
    await dispatcher.wait_for("登记您家的住址")
    picker = await dispatcher.wait_for("请选择您所在的社区")
    assert world.place.community.names.zh in picker.button_texts()
