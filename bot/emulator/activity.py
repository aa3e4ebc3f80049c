"""When the emulator is busy: change notices for waiters, the stop signal, the last activity."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, Literal


class Notifier:
    """Wakes every waiter on any state change (an Event swapped on each notify)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake everyone waiting."""
        self._event.set()
        self._event = asyncio.Event()

    def next(self) -> Coroutine[Any, Any, Literal[True]]:
        """Return a wait for the next change after now (bound now, not when first awaited)."""
        return self._event.wait()

    async def wait(self, timeout: float | None) -> bool:
        """Wait for the next change; say whether one came before the timeout."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True


class Activity:
    """What waiters watch: every state change, the stop signal, and calls in progress."""

    def __init__(self) -> None:
        self.changed = Notifier()
        self.stopping = asyncio.Event()
        self.last = 0.0
        self.inflight: dict[int, str] = {}  # id(call) → method

    def touch(self) -> None:
        """Note activity now and wake the waiters."""
        self.last = time.monotonic()
        self.changed.notify()
