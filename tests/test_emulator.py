"""Tests of the fake Telegram Bot API server in bot/emulator.py."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiohttp import web

from bot.emulator import (
    BotAPIError,
    FakeBotAPI,
    FakeUser,
    FaultPlan,
    RateLimits,
    SentMessage,
    TranscriptLine,
    parse_html,
)

KEYBOARD = {
    "inline_keyboard": [
        [
            {"text": "水电气维修", "callback_data": "cat:water"},
            {"text": "环境卫生", "callback_data": "cat:clean"},
        ],
        [{"text": "帮助", "url": "https://example.org/help"}],
    ]
}


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def call(
    session: aiohttp.ClientSession, api: FakeBotAPI, method: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    """POST a JSON request like python-telegram-bot does."""
    async with session.post(f"{api.api_url}/{method}", json=params) as resp:
        return resp.status, await resp.json()


async def form_call(
    session: aiohttp.ClientSession, api: FakeBotAPI, method: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    """POST multipart form data with JSON-encoded objects, like aiogram does."""
    form = aiohttp.FormData(quote_fields=False)
    for key, value in params.items():
        if isinstance(value, tuple):
            filename, data = value
            form.add_field(key, data, filename=filename)
        elif isinstance(value, (dict, list, bool, int)):
            form.add_field(key, json.dumps(value))
        else:
            form.add_field(key, value)
    async with session.post(f"{api.api_url}/{method}", data=form) as resp:
        return resp.status, await resp.json()


async def ok(session: aiohttp.ClientSession, api: FakeBotAPI, method: str, **params: Any) -> Any:
    status, body = await call(session, api, method, **params)
    assert status == 200 and body["ok"], body
    return body["result"]


def greeted(api: FakeBotAPI, user_id: int = 42, name: str = "王阿姨") -> FakeUser:
    """A user who has already written to the bot (so the bot may message them)."""
    return api.user(user_id, name, started=True)


# ---------------------------------------------------------------------------------------------
# Basics


async def test_get_me_errors_and_method_case(
    api: FakeBotAPI, session: aiohttp.ClientSession
) -> None:
    me = await ok(session, api, "getMe")
    assert me["is_bot"] is True and me["username"] == "sandan_test_bot" and me["id"] == 123456
    async with session.get(f"{api.api_url}/GETME") as resp:
        assert resp.status == 200 and (await resp.json())["result"]["id"] == 123456

    status, body = await call(session, api, "noSuchMethod")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})

    async with session.post(f"{api.base_url}/bot999:WRONG/getMe") as resp:
        assert resp.status == 401
        assert await resp.json() == {
            "ok": False,
            "error_code": 401,
            "description": "Unauthorized",
        }
    assert [c.method for c in api.calls] == ["getMe", "getMe", "noSuchMethod", "getMe"]
    assert [c.error_code for c in api.calls] == [None, None, 404, 401]


async def test_params_from_query_json_urlencoded_and_multipart(
    api: FakeBotAPI, session: aiohttp.ClientSession
) -> None:
    greeted(api)
    async with session.get(f"{api.api_url}/sendMessage?chat_id=42&text=q") as resp:
        assert (await resp.json())["result"]["text"] == "q"
    markup = json.dumps(KEYBOARD)
    data = {"chat_id": "42", "text": "[not json]", "reply_markup": markup}
    async with session.post(f"{api.api_url}/sendMessage", data=data) as resp:
        result = (await resp.json())["result"]
    assert result["text"] == "[not json]" and result["reply_markup"] == KEYBOARD
    status, body = await form_call(
        session, api, "sendMessage", chat_id=42, text="{x}", reply_markup=KEYBOARD
    )
    assert status == 200 and body["result"]["reply_markup"] == KEYBOARD
    assert api.calls[-1].params["chat_id"] == 42
    assert api.calls[-1].params["reply_markup"] == KEYBOARD
    assert [m.text for m in api.user(42, "x").messages] == ["q", "[not json]", "{x}"]


# ---------------------------------------------------------------------------------------------
# getUpdates


async def test_get_updates_offset_semantics(
    api: FakeBotAPI, session: aiohttp.ClientSession
) -> None:
    user = api.user(7, "Li")
    for text in ("a", "b", "c"):
        user.send(text)
    first = await ok(session, api, "getUpdates")
    ids = [u["update_id"] for u in first]
    assert [u["message"]["text"] for u in first] == ["a", "b", "c"]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [u["message"]["message_id"] for u in first] == [1, 2, 3]
    # Not confirmed: the same updates again.
    assert await ok(session, api, "getUpdates") == first
    # offset confirms everything below it.
    second = await ok(session, api, "getUpdates", offset=ids[1])
    assert [u["update_id"] for u in second] == ids[1:]
    assert [u["update_id"] for u in await ok(session, api, "getUpdates", limit=1)] == [ids[1]]
    # Negative offset keeps only the last -offset updates.
    assert [u["update_id"] for u in await ok(session, api, "getUpdates", offset=-1)] == [ids[2]]
    assert await ok(session, api, "getUpdates", offset=ids[2] + 1) == []
    assert api.pending_updates == []


async def test_long_poll_waits_for_update(api: FakeBotAPI, session: aiohttp.ClientSession) -> None:
    user = api.user(7, "Li")
    started = time.monotonic()
    poll = asyncio.create_task(ok(session, api, "getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()
    user.send("/help")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1.5
    message = updates[0]["message"]
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 5}]

    started = time.monotonic()
    assert (
        await ok(session, api, "getUpdates", offset=updates[0]["update_id"] + 1, timeout=0.2) == []
    )
    assert 0.15 < time.monotonic() - started < 1.0


async def test_second_poller_conflicts_first(
    api: FakeBotAPI, session: aiohttp.ClientSession
) -> None:
    first = asyncio.create_task(call(session, api, "getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(call(session, api, "getUpdates", timeout=0.1))
    status, body = await asyncio.wait_for(first, 2)
    assert status == 409 and "terminated by other getUpdates request" in body["description"]
    assert (await second)[0] == 200


async def test_allowed_updates_filter(api: FakeBotAPI, session: aiohttp.ClientSession) -> None:
    user = greeted(api)
    await ok(session, api, "sendMessage", chat_id=42, text="pick", reply_markup=KEYBOARD)
    user.press("环境卫生")
    user.send("hi")
    updates = await ok(session, api, "getUpdates", allowed_updates=["message"])
    assert [next(k for k in u if k != "update_id") for u in updates] == ["message"]
    assert len(api.dropped_updates) == 1 and "callback_query" in api.dropped_updates[0]


# ---------------------------------------------------------------------------------------------
# Sending and validation


async def test_send_message_objects_and_validation(
    api: FakeBotAPI, session: aiohttp.ClientSession
) -> None:
    user = greeted(api)
    msg = await ok(session, api, "sendMessage", chat_id=42, text="你好", reply_markup=KEYBOARD)
    assert msg["from"] == {
        "id": 123456,
        "is_bot": True,
        "first_name": "Sandan",
        "username": "sandan_test_bot",
    }
    assert msg["chat"] == {"id": 42, "type": "private", "first_name": "王阿姨"}
    assert msg["reply_markup"] == KEYBOARD and isinstance(msg["date"], int)
    assert user.last.button_texts() == ["水电气维修", "环境卫生", "帮助"]
    assert user.last.buttons[1][0].url == "https://example.org/help"

    async def error(**params: Any) -> tuple[int, str]:
        status, body = await call(session, api, "sendMessage", **params)
        assert body["ok"] is False and body["error_code"] == status
        return status, body["description"]

    assert await error(chat_id=42, text="") == (400, "Bad Request: message text is empty")
    assert await error(chat_id=42, text="  \n ") == (400, "Bad Request: message text is empty")
    assert await error(chat_id=42, text="x" * 4097) == (400, "Bad Request: message is too long")
    assert await error(chat_id=999, text="hi") == (400, "Bad Request: chat not found")
    assert await error(text="hi") == (400, "Bad Request: chat_id is empty")
    await ok(session, api, "sendMessage", chat_id=42, text="y" * 4096)
    long_html = "<b>" + "z" * 4096 + "</b>"
    await ok(session, api, "sendMessage", chat_id=42, text=long_html, parse_mode="HTML")

    stranger = api.user(43, "新人")
    assert await error(chat_id=43, text="hi") == (
        403,
        "Forbidden: bot can't initiate conversation with a user",
    )
    stranger.start()
    await ok(session, api, "sendMessage", chat_id=43, text="hi")
    stranger.block()
    assert await error(chat_id=43, text="hi") == (403, "Forbidden: bot was blocked by the user")
    status, _ = await call(session, api, "sendChatAction", chat_id=43, action="typing")
    assert status == 403
    stranger.unblock()
    assert await ok(session, api, "sendChatAction", chat_id=43, action="typing") is True
    kinds = [u["my_chat_member"]["new_chat_member"]["status"] for u in api.updates[-2:]]
    assert kinds == ["kicked", "member"]


async def test_html_parse_mode(api: FakeBotAPI, session: aiohttp.ClientSession) -> None:
    user = greeted(api)
    raw = '<b>报修</b> #12 &lt;急&gt; <a href="https://x.org">详情</a>'
    msg = await ok(session, api, "sendMessage", chat_id=42, text=raw, parse_mode="HTML")
    assert msg["text"] == "报修 #12 <急> 详情"
    assert msg["entities"] == [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "text_link", "offset": 11, "length": 2, "url": "https://x.org"},
    ]
    assert user.last.text == "报修 #12 <急> 详情" and user.last.raw_text == raw

    status, body = await call(
        session, api, "sendMessage", chat_id=42, text="a < b", parse_mode="HTML"
    )
    assert status == 400
    assert body["description"] == (
        'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2'
    )
    status, body = await call(
        session, api, "sendMessage", chat_id=42, text="<b>x", parse_mode="HTML"
    )
    assert "Can't find end tag corresponding to start tag" in body["description"]
    status, body = await call(
        session, api, "sendMessage", chat_id=42, text="1.5!", parse_mode="MarkdownV2"
    )
    assert status == 400 and "Character '.' is reserved" in body["description"]
    assert parse_html("😀<i>x</i>")[1] == [{"type": "italic", "offset": 2, "length": 1}]


async def test_callback_data_limit(api: FakeBotAPI, session: aiohttp.ClientSession) -> None:
    greeted(api)

    def keyboard(data: str) -> dict[str, Any]:
        return {"inline_keyboard": [[{"text": "ok", "callback_data": data}]]}

    await ok(session, api, "sendMessage", chat_id=42, text="t", reply_markup=keyboard("x" * 64))
    for bad in ("x" * 65, "修" * 22, ""):  # 22 CJK characters are 66 bytes
        status, body = await form_call(
            session, api, "sendMessage", chat_id=42, text="t", reply_markup=keyboard(bad)
        )
        assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID"), bad
    text_only = {"inline_keyboard": [[{"text": "no action"}]]}
    status, body = await call(
        session, api, "sendMessage", chat_id=42, text="t", reply_markup=text_only
    )
    assert status == 400 and "Text buttons are unallowed" in body["description"]


async def test_reply_keyboard_and_reply_to(api: FakeBotAPI, session: aiohttp.ClientSession) -> None:
    user = greeted(api)
    sent = user.send("my address")
    keyboard = {"keyboard": [["是", "否"], [{"text": "分享手机号", "request_contact": True}]]}
    msg = await ok(
        session,
        api,
        "sendMessage",
        chat_id=42,
        text="确认？",
        reply_markup=keyboard,
        reply_parameters={"message_id": sent["message_id"]},
    )
    assert "reply_markup" not in msg
    assert msg["reply_to_message"]["text"] == "my address"
    assert user.reply_keyboard == [["是", "否"], ["分享手机号"]]
    assert user.last.reply_keyboard == [["是", "否"], ["分享手机号"]]
    await ok(
        session, api, "sendMessage", chat_id=42, text="ok", reply_markup={"remove_keyboard": True}
    )
    assert user.reply_keyboard is None
    _, body = await call(session, api, "sendMessage", chat_id=42, text="x", reply_to_message_id=999)
    assert body["description"] == "Bad Request: message to be replied not found"


# ---------------------------------------------------------------------------------------------
# Editing, deleting, callbacks


async def test_edits_and_deletes(api: FakeBotAPI, session: aiohttp.ClientSession) -> None:
    user = greeted(api)
    msg = await ok(session, api, "sendMessage", chat_id=42, text="请选择", reply_markup=KEYBOARD)
    mid = msg["message_id"]

    status, body = await call(
        session,
        api,
        "editMessageText",
        chat_id=42,
        message_id=mid,
        text="请选择",
        reply_markup=KEYBOARD,
    )
    assert status == 400 and body["description"] == (
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message"
    )
    # Same text without reply_markup removes the keyboard: that is a modification.
    edited = await ok(session, api, "editMessageText", chat_id=42, message_id=mid, text="请选择")
    assert "reply_markup" not in edited and isinstance(edited["edit_date"], int)
    assert user.last.buttons == [] and user.last.edits == 1

    edited = await ok(
        session, api, "editMessageReplyMarkup", chat_id=42, message_id=mid, reply_markup=KEYBOARD
    )
    assert edited["reply_markup"] == KEYBOARD and user.last.edits == 2

    status, body = await call(session, api, "editMessageText", chat_id=42, message_id=999, text="x")
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")
    status, body = await call(
        session,
        api,
        "editMessageText",
        chat_id=42,
        message_id=user.send("mine")["message_id"],
        text="x",
    )
    assert body["description"] == "Bad Request: message can't be edited"
    status, body = await call(
        session, api, "editMessageCaption", chat_id=42, message_id=mid, caption="x"
    )
    assert body["description"] == "Bad Request: there is no caption in the message to edit"

    assert await ok(session, api, "deleteMessage", chat_id=42, message_id=mid) is True
    assert user.message(mid).deleted
    status, body = await call(session, api, "deleteMessage", chat_id=42, message_id=mid)
    assert body["description"] == "Bad Request: message to delete not found"
    status, body = await call(session, api, "editMessageText", chat_id=42, message_id=mid, text="z")
    assert body["description"] == "Bad Request: message to edit not found"


async def test_press_and_answer_callback(api: FakeBotAPI, session: aiohttp.ClientSession) -> None:
    user = greeted(api)
    await ok(session, api, "sendMessage", chat_id=42, text="请选择类别：", reply_markup=KEYBOARD)
    query_id = user.press("水电")  # a fragment of the button text
    update = (await ok(session, api, "getUpdates"))[-1]["callback_query"]
    assert update["id"] == query_id and update["data"] == "cat:water"
    assert update["from"]["id"] == 42 and update["message"]["reply_markup"] == KEYBOARD
    assert update["chat_instance"]

    assert await ok(session, api, "answerCallbackQuery", callback_query_id=query_id, text="已选择")
    answer = await user.wait_answer(query_id, timeout=1)
    assert (answer.text, answer.show_alert) == ("已选择", False)
    for bad_id in (query_id, "nope"):
        status, body = await call(session, api, "answerCallbackQuery", callback_query_id=bad_id)
        assert (status, body["description"]) == (
            400,
            "Bad Request: query is too old and response timeout expired or query ID is invalid",
        )

    with pytest.raises(AssertionError, match=r"\[水电气维修\] \[环境卫生\] \[帮助\]"):
        user.press("物业费")
    with pytest.raises(AssertionError, match="URL button"):
        user.press("帮助")
    forged = user.press_data("cat:admin", user.last)
    assert api.updates[-1]["callback_query"]["data"] == "cat:admin"
    assert api.updates[-1]["callback_query"]["id"] == forged
    assert user.press("cat:clean", user.last) != query_id  # by callback_data


async def test_wait_for_cursor_and_timeout_report(
    api: FakeBotAPI, session: aiohttp.ClientSession
) -> None:
    user = greeted(api)
    first = await ok(session, api, "sendMessage", chat_id=42, text="第一条")
    await ok(session, api, "sendMessage", chat_id=42, text="第二条")
    assert (await user.wait_for("第二")).text == "第二条"
    with pytest.raises(AssertionError) as info:
        await user.wait_for("第一", timeout=0.1)  # the cursor is past it
    report = str(info.value)
    assert "timed out after 0.1s" in report and "'第一'" in report
    assert "[bot → 王阿姨] 第一条" in report and "[bot → 王阿姨] 第二条" in report

    async def later() -> None:
        await asyncio.sleep(0.05)
        await ok(
            session, api, "editMessageText", chat_id=42, message_id=first["message_id"], text="改了"
        )

    task = asyncio.create_task(later())
    edited = await user.wait_for(lambda m: m.edits == 1, timeout=2)
    await task
    assert isinstance(edited, SentMessage) and edited.text == "改了"
    assert edited.message_id == first["message_id"]


async def test_wait_idle(api: FakeBotAPI, session: aiohttp.ClientSession) -> None:
    user = greeted(api)
    user.send("hello")
    with pytest.raises(AssertionError, match="not yet confirmed"):
        await api.wait_idle(timeout=0.1, quiet=0.05)
    updates = await ok(session, api, "getUpdates")
    await ok(session, api, "getUpdates", offset=updates[-1]["update_id"] + 1)
    await api.wait_idle(timeout=1, quiet=0.05)


# ---------------------------------------------------------------------------------------------
# Files


async def test_photo_upload_get_file_and_download(
    api: FakeBotAPI, session: aiohttp.ClientSession
) -> None:
    user = greeted(api)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (640).to_bytes(4, "big")
    png += (480).to_bytes(4, "big") + b"\x08\x02\x00\x00\x00rest-of-png"
    status, body = await form_call(
        session,
        api,
        "sendPhoto",
        chat_id=42,
        photo="attach://qr",
        qr=("qr.png", png),
        caption="<b>二维码</b>",
        parse_mode="HTML",
    )
    assert status == 200, body
    photo = body["result"]["photo"]
    assert [(p["width"], p["height"]) for p in photo] == [(320, 240), (640, 480)]
    assert body["result"]["caption"] == "二维码"
    assert body["result"]["caption_entities"] == [{"type": "bold", "offset": 0, "length": 3}]
    assert user.last.photo_file_id == photo[-1]["file_id"] and user.last.text == "二维码"

    # python-telegram-bot style: the file part itself is named "photo".
    status, body = await form_call(session, api, "sendPhoto", chat_id=42, photo=("p.png", png))
    assert status == 200 and body["result"]["photo"][-1]["width"] == 640

    info = await ok(session, api, "getFile", file_id=photo[-1]["file_id"])
    assert info["file_size"] == len(png) and info["file_path"].startswith("photos/")
    async with session.get(f"{api.base_url}/file/bot{api.token}/{info['file_path']}") as resp:
        assert resp.status == 200 and await resp.read() == png
    async with session.get(f"{api.base_url}/file/bot{api.token}/photos/none.jpg") as resp:
        assert resp.status == 404

    again = await ok(session, api, "sendPhoto", chat_id=42, photo=photo[-1]["file_id"])
    assert [p["file_id"] for p in again["photo"]] == [p["file_id"] for p in photo]
    status, body = await call(session, api, "sendPhoto", chat_id=42, photo="garbage")
    assert body["description"] == "Bad Request: wrong file identifier/HTTP URL specified"
    status, body = await call(
        session, api, "sendPhoto", chat_id=42, photo=photo[0]["file_id"], caption="c" * 1025
    )
    assert body["description"] == "Bad Request: message caption is too long"
    status, body = await call(session, api, "getFile", file_id="nope")
    assert status == 400

    status, body = await form_call(
        session, api, "sendDocument", chat_id=42, document=("报告.pdf", b"%PDF-1.4 x")
    )
    assert body["result"]["document"]["file_name"] == "报告.pdf"
    assert user.last.document is not None and user.last.kind == "document"

    # A user's photo can be fetched by the bot too.
    user_photo = user.send_photo("漏水")["photo"]
    info = await ok(session, api, "getFile", file_id=user_photo[-1]["file_id"])
    async with session.get(f"{api.base_url}/file/bot{api.token}/{info['file_path']}") as resp:
        assert await resp.read() == api.file_bytes(user_photo[-1]["file_id"])


async def test_user_updates_validate_as_aiogram_objects(api: FakeBotAPI) -> None:
    user = api.user(42, "王", last_name="阿姨", username="wang")
    group = api.group(-1001, "邻里群")
    user.start("ref_7")
    user.send_photo("漏水了")
    user.send_location(31.23, 121.47)
    user.send_contact("+8613800000000")
    user.send_sticker()
    user.send_voice()
    user.send_document("a.txt", data=b"hello")
    user.send("群里说一句", chat=group)
    user.block()
    for update in api.updates:
        parsed = Update.model_validate(update)
        assert parsed.update_id == update["update_id"]
    start = api.updates[0]["message"]
    assert start["text"] == "/start ref_7" and start["entities"][0]["length"] == 6
    assert api.updates[3]["message"]["contact"]["user_id"] == 42


# ---------------------------------------------------------------------------------------------
# Webhook and commands


async def test_webhook_delivery_retry_and_conflict(
    api: FakeBotAPI, session: aiohttp.ClientSession
) -> None:
    received: list[tuple[dict[str, Any], str | None]] = []
    statuses = [500, 200, 200]
    got_two = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append(
            (await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        if len(received) >= 3:
            got_two.set()
        return web.json_response({}, status=statuses[len(received) - 1])

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        api.webhook_retry_delay = 0.02
        assert await ok(session, api, "setWebhook", url=url, secret_token="s3cret") is True
        status, body = await call(session, api, "getUpdates")
        assert status == 409 and body["description"] == (
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first"
        )
        user = api.user(5, "Zhao")
        user.send("one")
        user.send("two")
        await asyncio.wait_for(got_two.wait(), 2)
        texts = [r[0]["message"]["text"] for r in received]
        assert texts == ["one", "one", "two"]  # retried after the 500
        assert {r[1] for r in received} == {"s3cret"}
        await api.wait_idle(timeout=2, quiet=0.01)
        info = await ok(session, api, "getWebhookInfo")
        assert info["url"] == url and info["pending_update_count"] == 0
        assert "500" in info["last_error_message"]
        assert [d.status for d in api.webhook_deliveries] == [500, 200, 200]
        assert await ok(session, api, "deleteWebhook", drop_pending_updates=True) is True
        assert (await ok(session, api, "getWebhookInfo"))["url"] == ""
        assert await ok(session, api, "getUpdates") == []
    finally:
        await runner.cleanup()


async def test_webhook_posts_chats_at_once_but_one_chats_updates_in_turn(
    api: FakeBotAPI, session: aiohttp.ClientSession
) -> None:
    in_flight: list[int] = []  # chat ids of the POSTs being answered
    most_at_once = 0
    overlaps_in_a_chat = 0
    received: list[tuple[int, str]] = []

    async def hook(request: web.Request) -> web.Response:
        nonlocal most_at_once, overlaps_in_a_chat
        message = (await request.json())["message"]
        chat = message["chat"]["id"]
        overlaps_in_a_chat += chat in in_flight
        in_flight.append(chat)
        most_at_once = max(most_at_once, len(in_flight))
        await asyncio.sleep(0.05)
        in_flight.remove(chat)
        received.append((chat, message["text"]))
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        api.webhook_parallel = 3
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        assert await ok(session, api, "setWebhook", url=url) is True
        users = [api.user(10 + n, f"U{n}") for n in range(4)]
        for turn in range(3):
            for user in users:
                user.send(f"{user.name}-{turn}")
        await api.wait_idle(timeout=5, quiet=0.1)
        assert len(received) == 12
        assert most_at_once == 3 and overlaps_in_a_chat == 0
        for user in users:
            mine = [text for chat, text in received if chat == user.id]
            assert mine == [f"{user.name}-{turn}" for turn in range(3)]
    finally:
        await runner.cleanup()


async def test_commands_per_scope_and_language(
    api: FakeBotAPI, session: aiohttp.ClientSession
) -> None:
    commands = [
        {"command": "new", "description": "报修"},
        {"command": "help", "description": "帮助"},
    ]
    scope = {"type": "chat", "chat_id": 42}
    assert await ok(session, api, "setMyCommands", commands=commands)
    status, _ = await form_call(
        session, api, "setMyCommands", commands=commands[:1], scope=scope, language_code="zh"
    )
    assert status == 200
    assert await ok(session, api, "getMyCommands") == commands
    assert await ok(session, api, "getMyCommands", scope=scope, language_code="zh") == commands[:1]
    assert await ok(session, api, "getMyCommands", scope=scope) == []
    assert api.my_commands(scope, "zh") == commands[:1]
    assert await ok(session, api, "deleteMyCommands")
    assert await ok(session, api, "getMyCommands") == []
    status, body = await call(
        session, api, "setMyCommands", commands=[{"command": "Bad Cmd", "description": "x"}]
    )
    assert body["description"] == "Bad Request: BOT_COMMAND_INVALID"
    chat = await ok(session, api, "getChat", chat_id=api.user(42, "王阿姨").id)
    assert chat["type"] == "private" and chat["first_name"] == "王阿姨"
    assert await ok(session, api, "close") is True and await ok(session, api, "logOut") is True


# ---------------------------------------------------------------------------------------------
# Transcript


async def test_transcript(session: aiohttp.ClientSession) -> None:
    printed: list[TranscriptLine] = []
    async with FakeBotAPI(on_line=printed.append) as api:
        user = api.user(42, "王阿姨")
        user.send("/new")
        msg = await ok(
            session, api, "sendMessage", chat_id=42, text="请选择类别：", reply_markup=KEYBOARD
        )
        query = user.press("水电气维修")
        await ok(session, api, "answerCallbackQuery", callback_query_id=query, text="好的")
        await ok(
            session,
            api,
            "editMessageText",
            chat_id=42,
            message_id=msg["message_id"],
            text="已选：水电气维修",
        )
        assert api.render_transcript() == "\n".join(
            [
                "[王阿姨 → bot] /new",
                "[bot → 王阿姨] 请选择类别：  [水电气维修] [环境卫生]  [帮助]",
                "[王阿姨 taps] 水电气维修",
                "[bot → 王阿姨 (toast)] 好的",
                "[bot → 王阿姨 (edited)] 已选：水电气维修",
            ]
        )
        assert printed == api.transcript and printed[2].kind == "press"
        assert user.render() == api.render_transcript()


# ---------------------------------------------------------------------------------------------
# Phase 2: faults and rate limits


async def fault_run(seed: int) -> tuple[list[str | None], int]:
    async with FakeBotAPI() as api, aiohttp.ClientSession() as session:
        user = greeted(api)
        api.faults = FaultPlan(rate=0.5, seed=seed, kinds=("429", "500"), retry_after=3)
        outcomes: list[str | None] = []
        for i in range(20):
            status, body = await call(session, api, "sendMessage", chat_id=42, text=f"m{i}")
            outcomes.append(None if status == 200 else str(status))
            if status == 429:
                assert body["parameters"] == {"retry_after": 3}
                assert body["description"] == "Too Many Requests: retry after 3"
        await ok(session, api, "getMe")  # not a faulted method
        assert [f.kind for f in api.injected_faults] == [o for o in outcomes if o]
        return outcomes, len(user.messages)


async def test_fault_injection_is_deterministic_and_never_delivers() -> None:
    first, delivered = await fault_run(seed=1)
    second, _ = await fault_run(seed=1)
    assert first == second
    assert delivered == first.count(None)
    assert 0 < delivered < 20 and {"429", "500"} <= set(first)


async def test_fault_timeout_and_drop(api: FakeBotAPI) -> None:
    user = greeted(api)
    api.faults = FaultPlan(sequence=["drop", "timeout", None], hold=30)
    timeout = aiohttp.ClientTimeout(total=0.3)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await call(session, api, "sendMessage", chat_id=42, text="dropped")
        with pytest.raises(TimeoutError):
            await call(session, api, "sendMessage", chat_id=42, text="held")
        await ok(session, api, "sendMessage", chat_id=42, text="delivered")
    assert user.texts() == ["delivered"]
    assert [c.fault for c in api.calls_to("sendMessage")] == ["drop", "timeout", None]
    await api.wait_idle(timeout=1, quiet=0.01)  # the held request was cancelled


async def test_rate_meter_counts_and_enforces(
    api: FakeBotAPI, session: aiohttp.ClientSession
) -> None:
    clock = [1000.0]
    greeted(api)
    api.limits = RateLimits(per_chat_per_sec=1, per_chat_burst=3, clock=lambda: clock[0])
    for i in range(5):
        await ok(session, api, "sendMessage", chat_id=42, text=f"burst {i}")
    assert [(v.scope, v.enforced) for v in api.rate_violations] == [("chat", False)] * 2
    clock[0] += 10
    await ok(session, api, "sendMessage", chat_id=42, text="later")
    assert len(api.rate_violations) == 2

    api.limits = RateLimits(
        per_chat_burst=1, per_chat_per_sec=0.5, enforce=True, clock=lambda: clock[0]
    )
    await ok(session, api, "sendMessage", chat_id=42, text="first")
    status, body = await call(session, api, "sendMessage", chat_id=42, text="too fast")
    assert status == 429 and body["parameters"]["retry_after"] == 2
    assert api.rate_violations[-1].enforced
    assert "too fast" not in api.user(42, "x").texts()
    clock[0] += 2
    await ok(session, api, "sendMessage", chat_id=42, text="after waiting")


async def test_rate_meter_group_and_global(api: FakeBotAPI, session: aiohttp.ClientSession) -> None:
    clock = [0.0]
    api.group(-100, "邻里群")
    api.limits = RateLimits(per_group_per_min=2, global_per_sec=3, clock=lambda: clock[0])
    for _ in range(3):
        await ok(session, api, "sendMessage", chat_id=-100, text="g")
    assert [v.scope for v in api.rate_violations] == ["group"]
    clock[0] = 61.0
    for uid in range(1, 5):
        greeted(api, uid, f"u{uid}")
        await ok(session, api, "sendMessage", chat_id=uid, text="hi")
    assert [v.scope for v in api.rate_violations] == ["group", "global"]


# ---------------------------------------------------------------------------------------------
# The real aiogram bot, end to end


async def test_aiogram_end_to_end(api: FakeBotAPI) -> None:
    bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    dp = Dispatcher()
    errors: list[str] = []

    @dp.message(F.text == "/photo")
    async def photo(message: Message) -> None:
        png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (50).to_bytes(4, "big") * 2 + b"..."
        await message.answer_photo(BufferedInputFile(png, "qr.png"), caption="扫码")

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        try:
            await message.answer("x" * 5000)
        except TelegramBadRequest as exc:
            errors.append(exc.message)
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="👍 赞", callback_data="like")]]
        )
        await message.answer(f"echo: {message.text}", reply_markup=keyboard)

    @dp.callback_query(F.data == "like")
    async def like(callback: CallbackQuery) -> None:
        await callback.answer("已赞", show_alert=True)
        assert isinstance(callback.message, Message)
        await callback.message.edit_text(f"{callback.message.text} ✓")

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
    try:
        user = api.user(42, "王阿姨")
        user.send("你好")
        reply = await user.wait_for("echo: 你好")
        assert reply.button_texts() == ["👍 赞"]
        query_id = user.press("赞")
        answer = await user.wait_answer(query_id)
        assert (answer.text, answer.show_alert) == ("已赞", True)
        edited = await user.wait_for(lambda m: m.edits == 1)
        assert edited.text == "echo: 你好 ✓" and edited.buttons == []
        assert errors == ["Bad Request: message is too long"]

        user.send("/photo")
        photo_message = await user.wait_for("扫码")
        assert photo_message.photo_file_id is not None
        file = await bot.get_file(photo_message.photo_file_id)
        assert file.file_path is not None
        downloaded = await bot.download_file(file.file_path)
        assert downloaded is not None and downloaded.read().startswith(b"\x89PNG")

        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await bot.send_message(777, "hi")
        await api.wait_idle(timeout=3, quiet=0.05)
        assert api.pending_updates == []
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 5)
    assert "[王阿姨 taps] 👍 赞" in api.render_transcript()


# ---------------------------------------------------------------------------------------------
# Groups, extension hook, rendering details


async def test_group_chat_and_press_in_group(
    api: FakeBotAPI, session: aiohttp.ClientSession
) -> None:
    group = api.group(-1001, "邻里群")
    user = api.user(42, "王阿姨")
    sent = user.send("/report@sandan_test_bot 漏水", chat=group)
    assert sent["chat"] == {"id": -1001, "type": "supergroup", "title": "邻里群"}
    assert sent["entities"][0]["length"] == len("/report@sandan_test_bot")
    msg = await ok(session, api, "sendMessage", chat_id=-1001, text="收到", reply_markup=KEYBOARD)
    seen = await group.wait_for("收到")
    with pytest.raises(AssertionError, match="sees no inline button"):
        user.press("环境卫生")  # the default search is the user's private chat
    with pytest.raises(AssertionError, match=r"available: \[水电气维修\]"):
        user.press("不存在", seen)
    query = user.press("环境卫生", seen)
    callback = api.updates[-1]["callback_query"]
    assert callback["id"] == query and callback["message"]["message_id"] == msg["message_id"]
    assert callback["message"]["chat"]["id"] == -1001
    assert "[王阿姨 → 邻里群] /report@sandan_test_bot 漏水" in group.render()
    assert "[bot → 邻里群] 收到" in group.render()


async def test_add_method_and_short_polling_is_not_activity(
    api: FakeBotAPI, session: aiohttp.ClientSession
) -> None:
    def pin(params: dict[str, Any]) -> bool:
        if params.get("message_id") == 0:
            raise BotAPIError(400, "Bad Request: message to pin not found")
        return True

    api.add_method("pinChatMessage", pin)
    assert await ok(session, api, "pinchatmessage", chat_id=1, message_id=5) is True
    status, body = await call(session, api, "pinChatMessage", chat_id=1, message_id=0)
    assert (status, body["description"]) == (400, "Bad Request: message to pin not found")

    async def short_poll() -> None:
        while True:
            await ok(session, api, "getUpdates", timeout=0)
            await asyncio.sleep(0.005)

    poller = asyncio.create_task(short_poll())
    try:
        await api.wait_idle(timeout=1, quiet=0.05)
    finally:
        poller.cancel()


def test_transcript_line_rendering() -> None:
    line = TranscriptLine(
        time=0,
        chat_id=1,
        who="bot → 王阿姨",
        kind="text",
        text="工单 #12\n状态：待处理",
        buttons=(("接单", "转派"), ("关闭",)),
    )
    assert line.render() == "[bot → 王阿姨] 工单 #12\n    状态：待处理\n    [接单] [转派]  [关闭]"
    keyboard = TranscriptLine(0, 1, "bot → 王阿姨", "text", "确认？", keyboard=(("是", "否"),))
    assert keyboard.render() == "[bot → 王阿姨] 确认？  ⌨ [是] [否]"
    assert TranscriptLine(0, 1, "王阿姨", "block").render() == "[王阿姨 blocks the bot]"


async def test_tap_waits_for_the_button_regardless_of_cursor(
    api: FakeBotAPI, session: aiohttp.ClientSession
) -> None:
    user = greeted(api)
    await ok(session, api, "sendMessage", chat_id=42, text="问题解决了吗？", reply_markup=KEYBOARD)
    await user.wait_for("解决了吗")  # consumes the message; tap still finds its buttons
    assert await user.tap("环境卫生") == api.updates[-1]["callback_query"]["id"]

    async def later() -> None:
        await asyncio.sleep(0.05)
        markup = {"inline_keyboard": [[{"text": "满意", "callback_data": "rate:5"}]]}
        await ok(session, api, "sendMessage", chat_id=42, text="评价", reply_markup=markup)

    task = asyncio.create_task(later())
    await user.tap("满意", timeout=2)
    await task
    assert api.updates[-1]["callback_query"]["data"] == "rate:5"
    with pytest.raises(AssertionError, match=r"timed out after 0\.05s: .*sees no inline button"):
        await user.tap("不满意", timeout=0.05)
