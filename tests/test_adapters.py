"""Both Telegram adapters side by side against the fake Bot API: what they read, send and raise."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.adapters import telegram_adapter
from bot.bot_api import BotApiAdapter
from bot.cli import main
from bot.emulator import FakeBotAPI, FaultPlan
from bot.sending import Blocked, Rejected, RetryAfter, Transient
from bot.settings import Settings
from handlers.events import Answer, Button, Edit, Incoming, Send, SetCommands, Unreadable

USER = 501


@dataclass
class Rig:
    """An adapter of one library on the emulator, and the events it handed to the handlers."""

    api: FakeBotAPI
    adapter: BotApiAdapter
    events: list[Incoming] = field(default_factory=list)

    async def receive(self) -> list[Incoming]:
        """Fetch what is pending and process it; return the events the handlers got."""
        self.events.clear()
        offset = None
        while batch := await self.adapter.fetch(offset, 0):
            for update_id, update in batch:
                await self.adapter.process_json(update)
                offset = update_id + 1
        return list(self.events)


@pytest.fixture(params=["aiogram", "ptb"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    """Start the emulator and the chosen library's adapter on it."""
    async with FakeBotAPI() as api:
        settings = Settings(
            bot_token=SecretStr(api.token),
            api_base=api.base_url,
            telegram_library=request.param,
            _env_file=None,  # type: ignore[call-arg]
        )
        events: list[Incoming] = []

        async def record(event: Incoming | Unreadable) -> None:
            assert isinstance(event, Incoming), event
            events.append(event)

        adapter = telegram_adapter(settings, record)
        try:
            yield Rig(api, adapter, events)
        finally:
            await adapter.close()


async def test_messages_and_presses_read_the_same(rig: Rig) -> None:
    """Text, photo, location, contact, sticker and a button press become the same events."""
    user = rig.api.user(USER, "王阿姨", language_code="zh-hans")
    user.send("/new@sandan_test_bot 厨房")
    user.send_photo("漏水的地方")
    user.send_location(31.2, 121.5)
    user.send_contact("13800000000")
    user.send_sticker()
    text, photo, location, contact, sticker = await rig.receive()
    assert (text.user_id, text.chat_id, text.chat_type) == (USER, USER, "private")
    assert (text.first_name, text.language_code) == ("王阿姨", "zh-hans")
    assert (text.command, text.args) == ("new", "厨房")
    assert photo.photo is not None and photo.text == "漏水的地方" and photo.other is None
    assert (location.latitude, location.longitude) == (31.2, 121.5)
    assert (contact.contact_phone, contact.contact_user_id) == ("13800000000", USER)
    assert sticker.other == "sticker" and sticker.text is None

    await rig.adapter.perform(Send(USER, "选一个", buttons=((Button("好", data="ok:1"),),)))
    card = await user.wait_for("选一个")
    query = user.press("好", card)
    [press] = await rig.receive()
    assert (press.callback_id, press.callback_data) == (query, "ok:1")
    assert (press.chat_id, press.message_id) == (USER, card.message_id)


async def test_replies_look_the_same(rig: Rig) -> None:
    """Buttons, a contact keyboard, its removal, edits, answers and menus reach Telegram."""
    user = rig.api.user(USER, "李大爷")
    user.start()
    await rig.adapter.perform(Send(USER, "电话？", ask_contact="分享电话", reply_keys=("跳过",)))
    asked = await user.wait_for("电话")
    assert asked.reply_keyboard == [["分享电话"], ["跳过"]]
    keyboard = rig.api.calls_to("sendMessage")[-1].params["reply_markup"]
    assert keyboard["keyboard"][0][0]["request_contact"] is True
    await rig.adapter.perform(Send(USER, "好的", remove_keyboard=True))
    await user.wait_for("好的")
    assert user.reply_keyboard is None

    await rig.adapter.perform(Send(USER, "任务", buttons=((Button("接单", data="acc:1"),),)))
    card = await user.wait_for("任务")
    await rig.adapter.perform(Edit(USER, card.message_id, "任务（已接）"))
    assert user.message(card.message_id).text == "任务（已接）"
    assert user.message(card.message_id).buttons == []
    await rig.adapter.perform(Edit(USER, card.message_id, "任务（已接）"))  # not modified: fine
    query = user.press_data("acc:1", card)
    await rig.adapter.perform(Answer(query, "收到"))
    assert (await user.wait_answer(query)).text == "收到"
    await rig.adapter.perform(Answer(query, "again"))  # too old: fine
    await rig.adapter.perform(Send(USER, "x" * 5000))
    assert len((await user.wait_for("xxx")).text) == 4096

    await rig.adapter.perform(SetCommands((("new", "下单"),), chat_id=USER, language="zh"))
    await rig.adapter.perform(SetCommands((("help", "help"),)))
    chat_menu = rig.api.my_commands({"type": "chat", "chat_id": USER}, "zh")
    assert [c["command"] for c in chat_menu] == ["new"]
    assert [c["command"] for c in rig.api.my_commands()] == ["help"]


# PTB 22 itself warns, building its RetryAfter, that retry_after will become a timedelta.
@pytest.mark.filterwarnings("ignore:.*retry_after. will be of type:DeprecationWarning")
async def test_failures_sort_into_our_kinds(rig: Rig) -> None:
    """429, 5xx, a blocked person and a bad request each raise our kind of failure."""
    user = rig.api.user(USER, "张阿姨")
    user.start()
    rig.api.faults = FaultPlan(sequence=["429", "500"], retry_after=3)
    with pytest.raises(RetryAfter) as waited:
        await rig.adapter.perform(Send(USER, "one"))
    assert waited.value.seconds == 3
    with pytest.raises(Transient):
        await rig.adapter.perform(Send(USER, "two"))
    await rig.adapter.perform(Send(USER, "three"))
    await user.wait_for("three")
    with pytest.raises(Rejected):
        await rig.adapter.perform(Edit(USER, 999_999, "no such message"))
    user.block()
    with pytest.raises(Blocked):
        await rig.adapter.perform(Send(USER, "four"))


async def test_webhook_set_info_delete(rig: Rig) -> None:
    """setWebhook with our secret and update kinds; getWebhookInfo; deleteWebhook."""
    await rig.adapter.set_webhook("http://127.0.0.1:9/telegram", "s3cret")
    state = await rig.adapter.webhook()
    assert state.url == "http://127.0.0.1:9/telegram"
    assert state.allowed_updates == ("message", "callback_query")
    assert rig.api.webhook_secret == "s3cret"
    await rig.adapter.drop_webhook()
    assert (await rig.adapter.webhook()).url == ""


@pytest.mark.parametrize("library", ["aiogram", "ptb"])
def test_webhook_commands(
    library: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sandan webhook set`, `info` and `delete` reach Telegram through the chosen library."""
    loop = asyncio.new_event_loop()
    server = threading.Thread(target=loop.run_forever, daemon=True)
    server.start()
    api = FakeBotAPI()
    asyncio.run_coroutine_threadsafe(api.start(), loop).result(5)
    try:
        monkeypatch.chdir(Path(__file__).parent)  # no .env here
        for name, value in {
            "BOT_TOKEN": api.token,
            "API_BASE": api.base_url,
            "TELEGRAM_LIBRARY": library,
            "WEBHOOK_BASE": "https://bot.example.org/",
            "WEBHOOK_SECRET": "s3cret-token",
        }.items():
            monkeypatch.setenv(f"SANDAN_{name}", value)
        assert main(["webhook", "set"]) == 0
        assert "url: https://bot.example.org/telegram" in capsys.readouterr().out
        assert (api.webhook_url, api.webhook_secret) == (
            "https://bot.example.org/telegram",
            "s3cret-token",
        )
        assert main(["webhook", "info"]) == 0
        assert "allowed updates: message, callback_query" in capsys.readouterr().out
        assert main(["webhook", "delete"]) == 0
        assert "url: (none: the bot polls)" in capsys.readouterr().out
        assert api.webhook_url == ""
    finally:
        asyncio.run_coroutine_threadsafe(api.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        server.join(5)
        loop.close()
