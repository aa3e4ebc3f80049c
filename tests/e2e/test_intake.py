"""Every resident can ask (issue 16): the menu, free words, voice, call-backs, safety, one card."""

from __future__ import annotations

from bot.demo import tap
from tests.e2e.conftest import World, order_number
from tests.e2e.test_spent_buttons import sent_and_marked
from workflows.model import OrderStatus


async def test_the_workers_card_is_one_message_edited_through_its_life(world: World) -> None:
    """Accept, on my way, a note and the resolution all edit the one card; no copy is left."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("钱奶奶", "301")
    order_id = await world.order(resident, "水电气维修", "厨房水管漏水")
    offer = await worker.wait_for("新任务")
    await sent_and_marked(world, f"offer:{order_id}")

    worker.press("接单", offer)
    accepted = await worker.wait_for("您已接下")
    assert accepted.message_id == offer.message_id
    assert "🚶 在路上" in accepted.button_texts()
    await sent_and_marked(world, f"task:{order_id}")

    worker.press("在路上", accepted)
    on_way = await worker.wait_for("您在路上")
    assert on_way.message_id == offer.message_id and on_way.button_texts()
    assert "🚶 在路上" not in on_way.button_texts()  # done: its button goes
    await sent_and_marked(world, f"task:{order_id}")

    await tap(worker, "记进展")
    await worker.wait_for("进展")
    worker.send("阀门已关，下午换管")
    noted = await worker.wait_for("最新进展：阀门已关")
    assert noted.message_id == offer.message_id
    await sent_and_marked(world, f"task:{order_id}")

    await tap(worker, "办结")
    await worker.wait_for("怎么解决")
    worker.send("换了新水管")
    done = await worker.wait_for("最新进展：换了新水管")
    assert done.message_id == offer.message_id and done.buttons == []
    await worker.wait_for("已办结")

    cards = [m for m in worker.messages if "厨房水管漏水" in m.text]
    assert [m.message_id for m in cards] == [offer.message_id]
    assert cards[0].edits >= 4
    assert not [m for m in worker.messages if m.buttons]
    assert (await world.get(order_id)).status == OrderStatus.RESOLVED


async def category_of(world: World, order_id: int) -> str:
    """Return the Chinese name of an order's category."""
    order = await world.get(order_id)
    async with world.app.unit_of_work() as uow:
        category = await uow.categories.get(order.category_id)
    assert category is not None
    return category.names.zh


async def test_the_menu_needs_no_typing(world: World) -> None:
    """Residents and staff get a persistent keyboard; a tap on it works like the command."""
    resident = await world.resident("孙阿姨", "401")
    assert resident.reply_keyboard == [
        ["我要报事", "我的服务单"],
        ["咨询", "帮助"],
        ["请工作人员给我回电话"],
    ]
    assert resident.keyboard_persistent
    resident.mark_read()
    resident.send("我的服务单")
    await resident.wait_for("您还没有服务单")
    resident.send("帮助")
    await resident.wait_for("您可以点下方的按钮")
    resident.send("我要报事")
    await resident.wait_for("您需要哪方面的帮助")

    worker = await world.join(world.place.unit_head)
    # rounds (issue 17): a unit head's round of visits sits beside the tasks.
    assert worker.reply_keyboard is not None and ["我的任务", "🏠 走访"] in worker.reply_keyboard
    assert worker.keyboard_persistent
    worker.send("我的任务")
    await worker.wait_for("您手上没有任务")
    worker.send("/tasks")  # the commands keep working
    await worker.wait_for("您手上没有任务")


async def test_free_words_become_a_draft_with_the_category_changed(world: World) -> None:
    """Words typed freely are offered back with a guessed category, which can be changed."""
    resident = await world.resident("孙阿姨", "402")
    resident.send("我家厨房水管漏水了，怎么办")
    offer = await resident.wait_for("要把这段话作为新的求助提交吗")
    assert "我家厨房水管漏水了，怎么办" in offer.text and "水电气维修" in offer.text
    assert offer.button_texts()[0] == "👉 水电气维修"
    resident.press("安全隐患", offer)  # the guess was wrong: another category
    await tap(resident, "不急")
    await tap(resident, "确认提交")
    placed = await resident.wait_for("已提交")
    order_id = order_number(placed)
    order = await world.get(order_id)
    assert order.description == "我家厨房水管漏水了，怎么办"
    assert await category_of(world, order_id) == "安全隐患"


async def test_words_before_registration_are_kept_and_offered_after(world: World) -> None:
    """A stranger's first words are kept while they register, then offered as a request."""
    world.next_user += 1
    user = world.api.user(world.next_user, "周爷爷", language_code="zh-hans")
    user.send("楼道的灯坏了好几天了")
    await tap(user, world.place.community.names.zh)
    await tap(user, world.place.building.names.zh)
    await tap(user, world.place.unit.names.zh)
    await tap(user, "102")
    await user.wait_for(lambda m: m.reply_keyboard is not None)
    user.send("跳过")
    offer = await user.wait_for("要把这段话作为新的求助提交吗")
    assert "楼道的灯坏了好几天了" in offer.text
    await tap(user, "环境卫生")
    await tap(user, "不急")
    await tap(user, "确认提交")
    placed = await user.wait_for("已提交")
    order_id = order_number(placed)
    assert (await world.get(order_id)).description == "楼道的灯坏了好几天了"


async def test_urgent_shows_the_emergency_numbers_first(world: World) -> None:
    """Choosing urgent shows 119, 110, 120 and the community's duty phone before the summary."""
    resident = await world.resident("吴奶奶", "501")
    resident.send("/new")
    await tap(resident, "水电气维修")
    await resident.wait_for("情况")
    resident.send("闻到很大的煤气味")
    await tap(resident, "好了")
    await tap(resident, "紧急")
    safety = await resident.wait_for("119")
    assert "110" in safety.text and "120" in safety.text and "0311-86001234" in safety.text
    summary = await resident.wait_for("请您看一下")
    assert summary.message_id > safety.message_id


async def test_asking_for_a_call_makes_a_task_for_the_grid_worker(world: World) -> None:
    """Asking "请工作人员给我回电话" makes a call-back task; its card gives the phone."""
    grid_worker = await world.join(world.place.grid_worker)
    world.next_user += 1
    user = world.api.user(world.next_user, "郑大爷", language_code="zh-hans")
    user.start()
    await tap(user, world.place.community.names.zh)
    await tap(user, world.place.building.names.zh)
    await tap(user, world.place.unit.names.zh)
    await tap(user, "201")
    await user.wait_for(lambda m: m.reply_keyboard is not None)
    user.send_contact("+8613800001111")
    await user.wait_for("电话已保存")
    user.send("请工作人员给我回电话")
    told = await user.wait_for("回电话")
    assert "13800001111" in told.text
    offer = await grid_worker.wait_for("请回电话")
    grid_worker.press("接单", offer)
    card = await grid_worker.wait_for("13800001111")
    assert card.button_texts()
    order_id = int(told.text.split("服务单 ")[1].split("）")[0])
    assert await category_of(world, order_id) == "请回电话"


async def test_a_voice_only_order_reaches_the_worker_as_a_voice(world: World) -> None:
    """A voice message alone becomes an order; the worker hears it and sees 🎤 0:42 on the card."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("冯爷爷", "601")
    said = resident.send_voice(42)
    offer = await resident.wait_for("要把它作为新的求助提交吗")
    assert "🎤 0:42" in offer.text
    await tap(resident, "水电气维修")
    await tap(resident, "不急")
    summary = await resident.wait_for("请您看一下")
    assert "🎤 0:42" in summary.text
    await tap(resident, "确认提交")
    placed = await resident.wait_for("已提交")
    order_id = order_number(placed)

    heard = await worker.wait_for(lambda m: m.kind == "voice")
    assert heard.raw["voice"]["file_id"] == said["voice"]["file_id"]
    card = await worker.wait_for("新任务")
    assert "🎤 0:42" in card.text
    order = await world.get(order_id)
    assert order.description == ""
    assert [(v.file_id, v.seconds, v.kind) for v in order.voices] == [
        (said["voice"]["file_id"], 42, "voice")
    ]


async def test_a_video_note_tells_the_matter_in_new(world: World) -> None:
    """In /new a round video and an audio file tell the matter; the worker gets both."""
    worker = await world.join(world.place.unit_head)
    resident = await world.resident("冯奶奶", "602")
    resident.send("/new")
    await tap(resident, "水电气维修")
    await resident.wait_for("情况")
    resident.send_video_note(9)
    await resident.wait_for("🎤 0:09")
    resident.send_audio(75)  # an audio file (a recording made elsewhere) too
    await resident.wait_for("🎤 1:15")
    await tap(resident, "好了")
    await tap(resident, "不急")
    await tap(resident, "确认提交")
    await resident.wait_for("已提交")
    note = await worker.wait_for(lambda m: m.kind == "video_note")
    assert note.raw["video_note"]["duration"] == 9
    audio = await worker.wait_for(lambda m: m.kind == "audio")
    assert audio.raw["audio"]["duration"] == 75
    card = await worker.wait_for("新任务")
    assert "🎤 0:09 🎤 1:15" in card.text


async def test_an_album_of_three_photos_is_one_set(world: World) -> None:
    """Three photos sent as one album are thanked for once, and all three are on the order."""
    resident = await world.resident("蒋阿姨", "502")
    resident.send("/new")
    await tap(resident, "环境卫生")
    await resident.wait_for("情况")
    resident.send("楼下垃圾堆了三天没人收")
    await resident.wait_for("照片")
    resident.mark_read()
    resident.send_album(3)
    await resident.wait_for("这组照片收到了")
    await tap(resident, "好了")
    await tap(resident, "不急")
    summary = await resident.wait_for("请您看一下")
    assert "照片：3 张" in summary.text
    await tap(resident, "确认提交")
    placed = await resident.wait_for("已提交")
    order_id = order_number(placed)
    assert len((await world.get(order_id)).photos) == 3
    thanks = [t for t in resident.texts() if "照片收到了" in t or "收到第" in t]
    assert thanks == ["这组照片收到了。还有就继续发，没有就点“好了”。"]


# --- behalf2 (issue 16): photos told freely, a voice before registration ----------------------
async def test_an_album_sent_freely_is_offered_as_one_request(world: World) -> None:
    """Three photos sent outside any conversation are offered once, then asked about; one set."""
    resident = await world.resident("韩阿姨", "301")
    resident.send_album(3)
    offer = await resident.wait_for("收到您的照片")
    resident.press("环境卫生", offer)
    await resident.wait_for("情况")
    resident.send("楼下垃圾堆了三天没人收")
    await resident.wait_for("照片")
    await tap(resident, "好了")
    await tap(resident, "不急")
    summary = await resident.wait_for("请您看一下")
    assert "照片：3 张" in summary.text
    await tap(resident, "确认提交")
    placed = await resident.wait_for("已提交")
    order_id = order_number(placed)
    order = await world.get(order_id)
    assert len(order.photos) == 3 and order.description == "楼下垃圾堆了三天没人收"
    assert not any("请点上面的按钮" in t for t in resident.texts())  # the album is one offer


async def test_a_photo_with_words_is_offered_with_the_guessed_category(world: World) -> None:
    """A photo's caption is read like typed words: the category is guessed from it."""
    resident = await world.resident("韩阿姨", "301")
    resident.send_photo("我家厨房水管漏水了")
    offer = await resident.wait_for("要把这段话作为新的求助提交吗")
    assert offer.button_texts()[0] == "👉 水电气维修"
    resident.press("水电气维修", offer)
    await tap(resident, "不急")
    await tap(resident, "确认提交")
    placed = await resident.wait_for("已提交")
    order_id = order_number(placed)
    order = await world.get(order_id)
    assert len(order.photos) == 1 and order.description == "我家厨房水管漏水了"


async def test_a_voice_before_registration_is_kept_and_offered_after(world: World) -> None:
    """A stranger's voice message is kept while they register, then offered as a request."""
    world.next_user += 1
    user = world.api.user(world.next_user, "吴奶奶", language_code="zh-hans")
    said = user.send_voice(15)
    await tap(user, world.place.community.names.zh)
    await tap(user, world.place.building.names.zh)
    await tap(user, world.place.unit.names.zh)
    await tap(user, "102")
    await user.wait_for(lambda m: m.reply_keyboard is not None)
    user.send("跳过")
    offer = await user.wait_for("要把它作为新的求助提交吗")
    assert "🎤 0:15" in offer.text
    await tap(user, "水电气维修")
    await tap(user, "不急")
    await tap(user, "确认提交")
    placed = await user.wait_for("已提交")
    order_id = order_number(placed)
    order = await world.get(order_id)
    assert [(v.file_id, v.seconds) for v in order.voices] == [(said["voice"]["file_id"], 15)]
