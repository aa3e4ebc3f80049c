"""Chat first: people talking to the bot go before partner systems filing orders.

One process serves both on one event loop. A partner's POST costs about as much as a chat
update, and fifty a second would make every resident's reply wait behind them. So a POST waits
its turn until no chat update is being handled (at most `patience`, so that a chat that never
pauses cannot hold the partners off for good). A partner's system waits a few milliseconds
more; a resident of seventy does not.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

PATIENCE = 0.5  # seconds a partner's order waits for the chat at most


class ChatFirst:
    """Counts the chat updates in hand; lets other work wait until there are none."""

    def __init__(self, patience: float = PATIENCE) -> None:
        self.patience = patience
        self._in_hand = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def chatting(self) -> Iterator[None]:
        """Hold the turn while one chat update is handled."""
        self._in_hand += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_hand -= 1
            if not self._in_hand:
                self._idle.set()

    async def turn(self) -> None:
        """Wait until no chat update is in hand, or `patience` has passed."""
        if self._in_hand:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self.patience)
