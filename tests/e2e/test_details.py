"""Photos, added information, the lists (/my, /tasks, /pool, /queue) and per-role menus."""

from __future__ import annotations

from bot.demo import tap
from tests.e2e.conftest import World
from workflows.model import OrderStatus
from workflows.people import issue_invite


def photo_sent_to(world: World, chat_id: int) -> list[str]:
    """Return the file ids the bot sent as photos to a chat."""
    return [
        str(call.params["photo"])
        for call in world.api.calls_to("sendPhoto")
        if int(call.params["chat_id"]) == chat_id
    ]


async def test_photos_travel_from_resident_to_worker_and_back(world: World) -> None:
    """The resident's photo reaches the worker; the resolution photo reaches the resident."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("马阿姨", "201")
    resident.send("/new")
    await tap(resident, "水电气维修")
    await resident.wait_for("说说情况")
    resident.send("墙上的插座冒火花")
    await resident.wait_for("照片")
    sent = resident.send_photo()
    await resident.wait_for("第 1 张照片")
    resident.send_location(38.04, 114.51)
    await resident.wait_for("位置收到了")
    await tap(resident, "好了")
    await tap(resident, "紧急")
    confirm = await resident.wait_for("请您看一下")
    assert "照片：1 张" in confirm.text and "紧急" in confirm.text
    resident.press("确认提交", confirm)
    await resident.wait_for("已提交")

    resident_photo = sent["photo"][-1]["file_id"]
    photo = await worker.wait_for(lambda m: m.photo_file_id is not None)
    assert "00001" in photo.text
    assert photo_sent_to(world, worker.id) == [resident_photo]
    card = await worker.wait_for("新任务")
    assert "紧急" in card.text
    worker.press("接单", card)
    await tap(worker, "办结")
    await worker.wait_for("怎么解决")
    after = worker.send_photo()
    await worker.wait_for("照片收到了")
    worker.send("换了新插座")
    await resident.wait_for(lambda m: m.photo_file_id is not None)
    assert photo_sent_to(world, resident.id) == [after["photo"][-1]["file_id"]]
    await resident.wait_for("换了新插座")

    async with world.app.unit_of_work() as uow:
        person = await uow.people.by_telegram(resident.id)
        assert person is not None
        orders = await uow.orders.of_resident(person.id)
    assert orders[0].photos == (resident_photo,)
    assert orders[0].latitude == 38.04 and orders[0].status == OrderStatus.RESOLVED


async def test_resident_adds_information_and_the_worker_gets_it(world: World) -> None:
    """Information added from /my reaches whoever holds the order."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("曹大爷", "302")
    order_id = await world.order(resident, "水电气维修", "燃气灶打不着火")
    await worker.wait_for("新任务")
    resident.send("/my")
    await tap(resident, "补充信息")
    await resident.wait_for("要补充")
    resident.send("下午三点后家里有人")
    await resident.wait_for("已补充")
    added = await worker.wait_for("补充信息")
    assert "下午三点后家里有人" in added.text
    notes = [e.note for e in await world.timeline(order_id) if e.action == "add_info"]
    assert notes == ["下午三点后家里有人"]


async def test_lists_show_each_person_their_own(world: World) -> None:
    """/my for residents, /tasks for workers, /pool for volunteers, /queue for dispatchers."""
    worker = await world.join(world.place.unit_head)
    dispatcher = await world.join(world.place.dispatcher)
    async with world.app.unit_of_work() as uow:
        volunteers = await uow.people.volunteers_with_skills(
            ["micro_wish"], world.place.community.id
        )
    volunteer = await world.join(volunteers[0])
    resident = await world.resident("唐阿姨", "401")
    await world.order(resident, "水电气维修", "阳台漏雨")
    await world.order(resident, "微心愿", "想学用智能手机")
    await world.order(resident, "其他问题", "想咨询社区活动")

    resident.send("/my")
    header = await resident.wait_for("最近的 3 个服务单")
    assert header
    items = [await resident.wait_for("服务单 0") for _ in range(3)]
    assert "想咨询社区活动" in items[0].text and "等社区安排人" in items[0].text

    worker.send("/tasks")
    await worker.wait_for("您有 1 个任务")
    task = await worker.wait_for("阳台漏雨")
    assert task.button_texts() == ["✅ 接单", "❌ 婉拒"]

    volunteer.send("/pool")
    pool = await volunteer.wait_for("想学用智能手机")
    assert pool.button_texts() == ["🙋 我来认领"]

    dispatcher.send("/queue")
    queued = await dispatcher.wait_for("想咨询社区活动")
    assert any("派给" in t for t in queued.button_texts())

    resident.send("/tasks")
    await resident.wait_for("没有权限")
    resident.send("/queue")
    await resident.wait_for("没有权限")


async def test_menus_follow_roles(world: World) -> None:
    """Staff get a menu with their work commands; residents get the resident menu."""
    await world.join(world.place.dispatcher)
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("林先生", "502")
    menus = {
        (call.params.get("scope") or {}).get("chat_id"): [
            c["command"] for c in call.params["commands"]
        ]
        for call in world.api.calls_to("setMyCommands")
    }
    assert "tasks" in menus[worker.id] and "queue" not in menus[worker.id]
    dispatcher_chat = world.staff[world.place.dispatcher.id].id
    assert "queue" in menus[dispatcher_chat]
    assert "new" in menus[resident.id] and "tasks" not in menus[resident.id]
    assert "new" in menus[None]
    # behalf (issue 16): residents ask; staff look up and order on behalf; dispatchers merge
    assert "ask" in menus[resident.id] and "behalf" not in menus[resident.id]
    assert {"order", "behalf"} <= set(menus[worker.id]) and "merge" not in menus[worker.id]
    assert "merge" in menus[dispatcher_chat]


async def test_invite_link_works_once(world: World) -> None:
    """A used invite link is refused politely for anyone else."""
    async with world.app.unit_of_work() as uow:
        token = await issue_invite(uow, world.app.clock, world.place.grid_worker)
        await uow.commit()
    first = world.api.user(8801, "李敏")
    first.start(f"inv_{token}")
    await first.wait_for("欢迎加入")
    stranger = world.api.user(8802, "陌生人")
    stranger.start(f"inv_{token}")
    await stranger.wait_for("邀请链接无效")
    async with world.app.unit_of_work() as uow:
        person = await uow.people.get(world.place.grid_worker.id)
    assert person is not None and person.telegram_id == 8801


async def test_phone_is_shared_with_the_worker_only_once_the_task_is_theirs(world: World) -> None:
    """The shared phone number is not on the offer, and is on the card after accepting."""
    worker = await world.join(world.place.unit_head)
    user = world.api.user(9901, "邓阿姨")
    user.start()
    await tap(user, world.place.community.names.zh)
    await tap(user, world.place.building.names.zh)
    await tap(user, world.place.unit.names.zh)
    await tap(user, "602")
    await user.wait_for(lambda m: m.reply_keyboard is not None)
    user.send("call me maybe")
    await user.wait_for("电话号码好像不对")
    user.send_contact("+86 139-0000-1234")
    await user.wait_for("电话已保存")
    await world.order(user, "水电气维修", "马桶水箱一直流水")
    offer = await worker.wait_for("新任务")
    assert "13900001234" not in offer.text
    worker.press("接单", offer)
    card = await worker.wait_for("您已接下任务")
    assert "+8613900001234" in card.text and "1单元 602" in card.text
