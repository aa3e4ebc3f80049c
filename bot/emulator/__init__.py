"""A local fake Telegram Bot API server ("emulator") for end-to-end tests and offline demos.

Run a real bot framework (aiogram, python-telegram-bot) against it over loopback HTTP::

    async with FakeBotAPI() as api:
        bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
        user = api.user(42, "王阿姨")
        user.start()
        reply = await user.wait_for("欢迎")
        user.press("水电气维修")
        print(api.render_transcript())

The server keeps every chat in memory, validates requests the way Telegram does (same error
codes and descriptions), records every call in ``api.calls`` and every visible event in
``api.transcript``. Phase 2 adds fault injection (``api.faults``) and a rate meter
(``api.limits``).

The rooms: ``server`` (the aiohttp app and the method table), ``parameters`` (reading requests),
``chats``/``users``/``directory`` (the fake people and their chats), ``messaging`` (bot messages),
``callbacks`` (button presses), ``formatting`` and ``keyboards`` (parse modes, markup, limits),
``files``, ``updates`` and ``webhook`` (the two ways updates reach the bot), ``bot_profile``,
``faults`` and ``rates``, ``transcript``, ``activity``, ``errors`` and ``records``.
"""

from bot.emulator.chats import FakeChat, FakeGroup
from bot.emulator.errors import BotAPIError
from bot.emulator.faults import FaultPlan
from bot.emulator.formatting import parse_html
from bot.emulator.rates import RateLimits
from bot.emulator.records import (
    ApiCall,
    CallbackAnswer,
    InjectedFault,
    InlineButton,
    RateViolation,
    SentMessage,
    StoredFile,
    TranscriptLine,
    UploadedFile,
    WebhookDelivery,
)
from bot.emulator.server import FakeBotAPI
from bot.emulator.users import FakeUser

__all__ = [
    "ApiCall",
    "BotAPIError",
    "CallbackAnswer",
    "FakeBotAPI",
    "FakeChat",
    "FakeGroup",
    "FakeUser",
    "FaultPlan",
    "InjectedFault",
    "InlineButton",
    "RateLimits",
    "RateViolation",
    "SentMessage",
    "StoredFile",
    "TranscriptLine",
    "UploadedFile",
    "WebhookDelivery",
    "parse_html",
]
