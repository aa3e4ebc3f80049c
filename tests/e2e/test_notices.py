"""Notices (通知) end to end: a building of 150, quiet hours, opting out, street-wide approval."""

from __future__ import annotations

import asyncio

from bot.demo import tap
from bot.emulator import FakeUser, RateLimits
from tests.e2e.conftest import World
from workflows.model import Person, Place, PlaceKind
from workflows.orders import OrderDraft, place_order

CLEANING = "本周六上午9点楼道大扫除，请把杂物搬回家。"


async def person(world: World, code: str) -> Person:
    """Return a staff member of the sample organisation by code."""
    async with world.app.unit_of_work() as uow:
        found = await uow.people.by_code(code)
    assert found is not None
    return found


async def crowd(world: World, count: int, *, unit: Place | None = None) -> list[FakeUser]:
    """Register `count` residents in new rooms of the unit (the first one's), straight in the db.

    Registering 150 people through the chat would test registration, not notices.
    """
    unit = unit or world.place.unit
    users: list[FakeUser] = []
    async with world.app.unit_of_work() as uow:
        for n in range(count):
            world.next_user += 1
            home = await uow.places.public_household(unit.id, f"9{n:03d}")
            name = f"居民{n:03d}"
            await uow.people.add_resident(world.next_user, name, "zh", home.id)
            users.append(world.api.user(world.next_user, name, started=True))
        await uow.commit()
    return users


async def send_notice(
    sender: FakeUser,
    place: str,
    text: str,
    *,
    audience: str = "居民",
    urgent: bool = False,
    start: str = "/notice",
) -> None:
    """Write and send a notice through /notice (or the menu's 发通知), choosing the place."""
    sender.send(start)
    await tap(sender, place)
    await tap(sender, audience)
    await tap(sender, "紧急" if urgent else "普通")
    await sender.wait_for("请写下通知内容")
    sender.send(text)
    preview = await sender.wait_for("请确认通知")
    assert text in preview.text
    sender.press("发送", preview)


def notice_sends(world: World, words: str, to: list[FakeUser]) -> list[int]:
    """Return which of the people a notice with these words was sent to, in the sends' order."""
    chats = {user.id for user in to}
    return [
        chat
        for call in world.api.calls_to("sendMessage")
        if call.ok
        and words in str(call.params.get("text", ""))
        and (chat := int(call.params["chat_id"])) in chats
    ]


async def test_a_building_notice_reaches_150_behind_a_task_card_and_its_sender_gets_the_counts(
    world: World,
) -> None:
    """150 residents get the notice within Telegram's limits; a new task card is not held up."""
    world.api.limits = RateLimits()
    head = await world.join(world.place.building_head)
    worker = await world.join(world.place.unit_head)
    residents = await crowd(world, 150)
    for blocked in residents[:5]:
        blocked.block()
    await send_notice(head, "整个" + world.place.building.names.zh, CLEANING)
    sent = await head.wait_for("通知已发出")
    assert "150 人" in sent.text

    # A resident's order comes in while the notice is going out: its task card goes first.
    for _ in range(600):  # until the notice is under way (up to 30 s)
        if len(notice_sends(world, CLEANING, residents)) >= 10:
            break
        await asyncio.sleep(0.05)
    before = len(notice_sends(world, CLEANING, residents))
    async with world.app.unit_of_work() as uow:
        placer = await uow.people.by_telegram(residents[10].id)
        category = next(c for c in await uow.categories.list() if c.names.zh == "水电气维修")
        assert placer is not None
        await place_order(uow, world.clock, placer, OrderDraft(category.id, "厨房水管漏水了"))
        await uow.commit()
    world.app.delivery.wake()
    await worker.wait_for("新任务", timeout=30)
    at_card = len(notice_sends(world, CLEANING, residents))
    assert at_card - before <= 16  # the sends already claimed when the card came, no more
    assert at_card < 145  # it did not wait for the building's notice

    for resident in residents[5:]:
        await resident.wait_for(CLEANING, timeout=60)
    await world.api.wait_idle(timeout=30)
    delivered = notice_sends(world, CLEANING, residents)
    assert sorted(delivered) == sorted(r.id for r in residents[5:])  # once each
    # Telegram's overall limit and each resident's chat kept (the sender's own quick taps are
    # the conversation's business, not the notice's).
    chats = {r.id for r in residents}
    assert [v for v in world.api.rate_violations if v.scope == "global" or v.chat_id in chats] == []

    head.send("/notices")
    listed = await head.wait_for("您最近发的通知")
    assert "已送达 145" in listed.text and "拉黑未送达 5" in listed.text
    await world.later(minutes=1)
    report = await head.wait_for("已发送完毕")
    assert "共 150 人" in report.text and "已送达 145" in report.text
    assert "拉黑了机器人 5" in report.text


async def test_an_urgent_notice_comes_at_night_a_normal_one_in_the_morning(world: World) -> None:
    """Quiet hours (22:00–08:00 local): 停水 now, the cleaning after eight."""
    worker = await world.join(world.place.grid_worker)
    (resident,) = await crowd(world, 1)
    await world.later(hours=14)  # Monday 23:00 local
    assert worker.reply_keyboard is not None
    assert "发通知" in [key for row in worker.reply_keyboard for key in row]
    await send_notice(worker, "整个" + world.place.grid.names.zh, CLEANING, start="发通知")
    await worker.wait_for("通知已发出")
    water = "今晚23:30起停水两小时，请提前储水。"
    await send_notice(worker, "整个" + world.place.grid.names.zh, water, urgent=True)
    await worker.wait_for("通知已发出")
    urgent = await resident.wait_for("停水两小时")
    assert "紧急通知" in urgent.text and not urgent.buttons  # urgent ones cannot be turned off
    await world.api.wait_idle()
    assert not [t for t in resident.texts() if CLEANING in t]

    await world.later(hours=9, minutes=1)  # 08:01
    normal = await resident.wait_for(CLEANING)
    assert normal.button_texts() == ["不再接收通知"]


async def test_a_resident_who_turns_notices_off_still_gets_urgent_ones(world: World) -> None:
    """不再接收通知: normal notices stop, 停电 still comes; the button turns them on again."""
    head = await world.join(world.place.building_head)
    resident, neighbour = await crowd(world, 2)
    building = "整个" + world.place.building.names.zh
    await send_notice(head, building, CLEANING)
    first = await resident.wait_for(CLEANING)
    await neighbour.wait_for(CLEANING)
    resident.press("不再接收通知", first)
    done = await resident.wait_for("普通通知不再发给您")

    await send_notice(head, building, "下周一起垃圾分类定时投放，请大家配合。")
    await neighbour.wait_for("垃圾分类")
    await send_notice(head, building, "明天9点到12点停电检修，请注意。", urgent=True)
    await resident.wait_for("停电检修")
    await world.api.wait_idle()
    assert not [t for t in resident.texts() if "垃圾分类" in t]

    resident.press("重新接收通知", done)
    await resident.wait_for("以后的通知都会发给您")
    await send_notice(head, building, "周末社区有义诊，欢迎参加。")
    await resident.wait_for("义诊")


async def test_a_street_wide_notice_waits_for_a_supervisor(world: World) -> None:
    """The admin's notice to the whole street goes out only once the street supervisor approves."""
    admin = await world.join(await person(world, "p-lin-siyuan"))  # English, the street's admin
    supervisor = await world.join(await person(world, "p-zhou-jianguo"))
    (resident,) = await crowd(world, 1)
    async with world.app.unit_of_work() as uow:
        (street,) = await uow.places.children(None, PlaceKind.STREET)
    admin.send("/notice")
    await tap(admin, "All of " + street.names.en)
    await tap(admin, "Residents")
    await tap(admin, "Normal")
    await admin.wait_for("Please write the notice")
    admin.send("街道将于本月底开展消防安全检查。")
    admin.press("Send", await admin.wait_for("Please check the notice"))
    await admin.wait_for("needs a street supervisor's approval")
    card = await supervisor.wait_for("请审批")
    assert "街道将于本月底开展消防安全检查" in card.text
    await world.api.wait_idle()
    assert not [t for t in resident.texts() if "消防安全检查" in t]

    supervisor.press("✅ 批准", card)
    await supervisor.wait_for("已批准")
    await resident.wait_for("消防安全检查")
    await admin.wait_for("approved your notice")
    again = supervisor.press_data(card.buttons[0][1].callback_data or "", card)
    assert "已经有人审批" in ((await supervisor.wait_answer(again)).text or "")
