"""Telegram's error answers: the exception handlers raise, and the descriptions it words."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from bot.emulator.records import JSON, ApiCall, dumps

WEBHOOK_CONFLICT: Final = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT: Final = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD: Final = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)


class BotAPIError(Exception):
    """A Telegram-style error answer; raise it from a method added with ``add_method``."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """The JSON answer Telegram would send."""
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad(description: str) -> BotAPIError:
    """A 400 Bad Request with Telegram's wording."""
    return BotAPIError(400, f"Bad Request: {description}")


def entity_error(description: str) -> BotAPIError:
    """The 400 for text whose parse_mode markup does not parse."""
    return bad(f"can't parse entities: {description}")


def error_response(error: BotAPIError) -> web.Response:
    """The HTTP answer carrying a Bot API error."""
    return web.json_response(error.body(), status=error.code, dumps=dumps)


def refuse(call: ApiCall, error: BotAPIError) -> web.Response:
    """Record a call as refused with ``error`` and answer it so."""
    call.ok, call.error_code, call.description = False, error.code, error.description
    return error_response(error)
