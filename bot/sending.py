"""What an adapter must do to send, and the failures delivery tells apart."""

from __future__ import annotations

import enum
from typing import Protocol

from handlers.events import Reply


class Outcome(enum.StrEnum):
    """How one send went, as delivery counts it (and the metrics show it)."""

    OK = "ok"
    RETRY = "retry"  # a server error or a network failure: tried again later
    RATE_LIMITED = "429"  # Telegram asked us to wait
    BLOCKED = "blocked"
    REJECTED = "rejected"


class SendFailed(Exception):
    """Telegram did not take the message."""


class RetryAfter(SendFailed):
    """Telegram asked us to wait (429) before sending again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Blocked(SendFailed):
    """The person blocked the bot or the chat is gone (403): no retry helps."""


class Rejected(SendFailed):
    """Telegram refused the request itself (400): no retry helps."""


class Transient(SendFailed):
    """A server error or a network failure: retry with backoff."""


class Sender(Protocol):
    """Performs replies against the Bot API; raises SendFailed subclasses."""

    async def perform(self, reply: Reply) -> int | None:
        """Carry out one reply: send, edit, answer a button, or set a command menu.

        Returns the id Telegram gave a message sent, when its answer says so; else None.
        """
        ...
