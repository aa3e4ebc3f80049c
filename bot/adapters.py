"""Choose the Telegram adapter the settings name: aiogram (the default) or python-telegram-bot."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bot.bot_api import BotApiAdapter, Respond
from bot.settings import Settings
from handlers.events import Incoming, Unreadable


def telegram_adapter(settings: Settings, respond: Respond) -> BotApiAdapter:
    """Return the adapter of the chosen library, handing every update to `respond`."""
    if settings.bot_token is None:
        raise ValueError("no bot token: set SANDAN_BOT_TOKEN")
    token = settings.bot_token.get_secret_value()
    if settings.telegram_library == "ptb":
        from bot.ptb_adapter import PtbBot  # only the chosen library is imported

        return PtbBot(token, settings.api_base, respond, proxy=settings.proxy_url)
    from bot.aiogram_adapter import AiogramBot

    return AiogramBot(token, settings.api_base, respond, proxy=settings.proxy_url)


async def no_conversations(event: Incoming | Unreadable) -> None:
    """Refuse an update: a command-line tool talks to the Bot API but holds no conversations."""
    raise RuntimeError(f"update {event.update_id} reached a command-line tool")


@contextlib.asynccontextmanager
async def bot_api(settings: Settings) -> AsyncIterator[BotApiAdapter]:
    """Open the chosen adapter for Bot API calls alone (getMe, webhooks); close it after."""
    adapter = telegram_adapter(settings, no_conversations)
    try:
        yield adapter
    finally:
        await adapter.close()
