"""Long polling, ours: an update is confirmed (by the next offset) only after it took effect."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from bot.sending import RetryAfter, SendFailed

log = logging.getLogger(__name__)
MAX_BACKOFF = 30.0
ATTEMPTS_PER_UPDATE = 6


class UpdateSource(Protocol):
    """What a Telegram adapter offers the polling loop."""

    async def fetch(self, offset: int | None, timeout: int) -> list[tuple[int, Any]]:
        """Long-poll for the updates after `offset`."""
        ...

    async def process(self, update: Any) -> None:
        """Handle one update; return once its transaction has committed."""
        ...


async def poll(source: UpdateSource, *, timeout: int = 25) -> None:
    """Fetch and process updates one by one, until cancelled."""
    offset: int | None = None
    backoff = 1.0
    while True:
        try:
            batch = await source.fetch(offset, timeout)
        except RetryAfter as error:
            await asyncio.sleep(error.seconds)
            continue
        except SendFailed as error:
            log.warning("getUpdates failed (%s); retrying in %.0fs", error, backoff)
            await asyncio.sleep(backoff)
            backoff = min(MAX_BACKOFF, backoff * 2)
            continue
        backoff = 1.0
        for update_id, update in batch:
            await process_once(source, update_id, update)
            offset = update_id + 1


async def process_once(source: UpdateSource, update_id: int, update: Any) -> None:
    """Process an update, retrying while the database is unavailable; never twice in effect."""
    for attempt in range(ATTEMPTS_PER_UPDATE):
        try:
            await source.process(update)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("update %s failed (attempt %d)", update_id, attempt + 1)
            await asyncio.sleep(min(MAX_BACKOFF, 0.5 * 2**attempt))
    log.error("update %s skipped after %d attempts", update_id, ATTEMPTS_PER_UPDATE)
