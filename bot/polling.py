"""Long polling, ours: an update is confirmed (by the next offset) only after it took effect.

Updates from different people are processed at the same time, each person's one after another
in the order Telegram numbered them. The offset sent with the next getUpdates confirms only the
updates before the oldest one still being processed: the later ones that finished meanwhile are
delivered again, recognised here (and, after a restart, by the update log) and not processed
twice. See docs/delivery.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any, Protocol

from bot.sending import RetryAfter, SendFailed

log = logging.getLogger(__name__)
MAX_BACKOFF = 30.0
ATTEMPTS_PER_UPDATE = 6
IN_FLIGHT = 64  # updates processed at once, at most
# While updates are being processed Telegram answers getUpdates at once (they are not confirmed
# yet): look for new ones when one of them finishes, or after this many seconds.
LOOK_AGAIN = 0.25


class UpdateSource(Protocol):
    """What a Telegram adapter offers the polling loop."""

    async def fetch(self, offset: int | None, timeout: int) -> list[tuple[int, Any]]:
        """Long-poll for the updates after `offset`, each as cheaply as it can be returned."""
        ...

    async def process_json(self, update: Any) -> None:
        """Parse and handle one update from `fetch`; return once its transaction has committed."""
        ...

    def sender(self, update: Any) -> int | None:
        """Return who sent the update; one sender's updates are processed in order."""
        ...


class Lanes:
    """The updates being processed: one lane per sender, each in order, lanes side by side."""

    def __init__(self, source: UpdateSource, limit: int = IN_FLIGHT) -> None:
        self.source = source
        self.limit = limit
        self.running: dict[int, asyncio.Task[None]] = {}  # by update id, until finished
        self.last: dict[int | None, asyncio.Task[None]] = {}  # each sender's latest update
        self.newest: int | None = None  # the highest update id taken
        self.finished = asyncio.Event()

    @property
    def offset(self) -> int | None:
        """Return the offset that confirms exactly the updates that took effect."""
        if self.running:
            return min(self.running)
        return None if self.newest is None else self.newest + 1

    @property
    def busy(self) -> bool:
        """Tell whether any update is being processed."""
        return bool(self.running)

    def take(self, batch: list[tuple[int, Any]]) -> int:
        """Start processing the updates not seen before, while there is room; return how many."""
        taken = 0
        for update_id, update in batch:
            if self.newest is not None and update_id <= self.newest:
                continue  # being processed, or finished but not confirmed yet
            if len(self.running) >= self.limit:
                break  # it comes again with the next getUpdates
            self.newest = update_id
            sender = self.source.sender(update)
            task = asyncio.create_task(
                self._after(self.last.get(sender), update_id, update), name=f"update {update_id}"
            )
            self.running[update_id] = task
            self.last[sender] = task
            task.add_done_callback(functools.partial(self._done, update_id, sender))
            taken += 1
        return taken

    async def _after(self, before: asyncio.Task[None] | None, update_id: int, update: Any) -> None:
        if before is not None:
            await asyncio.wait({before})  # the sender's previous update first, however it ended
        await process_once(self.source, update_id, update)

    def _done(self, update_id: int, sender: int | None, task: asyncio.Task[None]) -> None:
        self.running.pop(update_id, None)
        if self.last.get(sender) is task:
            del self.last[sender]
        self.finished.set()

    async def wait(self, within: float) -> None:
        """Wait until an update finishes (since the last fetch), or `within` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.finished.wait(), within)

    async def stop(self) -> None:
        """Cancel the updates being processed: unconfirmed, they come again after a restart."""
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def poll(source: UpdateSource, *, timeout: int = 25, limit: int = IN_FLIGHT) -> None:
    """Fetch updates and process them, each sender's in order, until cancelled."""
    lanes = Lanes(source, limit)
    backoff = 1.0
    try:
        while True:
            lanes.finished.clear()
            try:
                batch = await source.fetch(lanes.offset, 0 if lanes.busy else timeout)
            except RetryAfter as error:
                await asyncio.sleep(error.seconds)
                continue
            except SendFailed as error:
                log.warning("getUpdates failed (%s); retrying in %.0fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
                continue
            backoff = 1.0
            taken = lanes.take(batch)
            if lanes.busy and (not taken or len(lanes.running) >= lanes.limit):
                await lanes.wait(LOOK_AGAIN)
    finally:
        await lanes.stop()


async def process_once(source: UpdateSource, update_id: int, update: Any) -> None:
    """Process an update, retrying while the database is unavailable; never twice in effect."""
    for attempt in range(ATTEMPTS_PER_UPDATE):
        try:
            await source.process_json(update)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("update %s failed (attempt %d)", update_id, attempt + 1)
            await asyncio.sleep(min(MAX_BACKOFF, 0.5 * 2**attempt))
    log.error("update %s skipped after %d attempts", update_id, ATTEMPTS_PER_UPDATE)
