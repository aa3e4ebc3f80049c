"""The polling loop: people's updates side by side, each person's in order, confirmed after."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.polling import poll


@dataclass
class Telegram:
    """Updates waiting to be confirmed, as getUpdates hands them out; processing on a leash."""

    waiting: list[tuple[int, int]]  # (update id, sender), the ones not confirmed yet
    gates: dict[int, asyncio.Event] = field(default_factory=dict)  # updates held until set
    offsets: list[int | None] = field(default_factory=list)
    started: list[int] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    async def fetch(self, offset: int | None, timeout: int) -> list[tuple[int, Any]]:
        """Confirm the updates before `offset`; return the rest (after a pause if none)."""
        self.offsets.append(offset)
        if offset is not None:
            self.waiting = [u for u in self.waiting if u[0] >= offset]
        if not self.waiting:
            await asyncio.sleep(0.01)  # a long poll with nothing to give
        self.progress.set()
        return [(update_id, (update_id, sender)) for update_id, sender in self.waiting]

    async def process_json(self, update: tuple[int, int]) -> None:
        """Handle an update, once its gate (if any) opens."""
        update_id, _ = update
        self.started.append(update_id)
        self.progress.set()
        if update_id in self.gates:
            await self.gates[update_id].wait()
        self.finished.append(update_id)
        self.progress.set()

    def sender(self, update: tuple[int, int]) -> int:
        """Return who sent the update."""
        return update[1]

    async def until(self, what: str, check: Callable[[], bool]) -> None:
        """Wait until `check()` holds; a loop that never gets there fails the test."""
        try:
            async with asyncio.timeout(30):
                while not check():
                    self.progress.clear()
                    await self.progress.wait()
        except TimeoutError:
            raise AssertionError(f"never: {what}") from None


async def test_a_slow_update_holds_back_its_sender_only_and_is_confirmed_after_it_finished() -> (
    None
):
    """Ann's slow update keeps her next one waiting, not Bob's; nothing passes it unconfirmed."""
    ann, bob = 1, 2
    telegram = Telegram([(10, ann), (11, bob), (12, ann), (13, bob)])
    telegram.gates[10] = asyncio.Event()
    polling = asyncio.create_task(poll(telegram, timeout=1))
    try:
        await telegram.until("Bob's updates done", lambda: {11, 13} <= set(telegram.finished))
        assert 12 not in telegram.started  # Ann's next waits for her first
        assert all(o is None or o <= 10 for o in telegram.offsets)  # 10 is not confirmed
        telegram.gates[10].set()
        await telegram.until("all confirmed", lambda: 14 in telegram.offsets)
    finally:
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
    # Each once, although getUpdates handed the unconfirmed ones out again and again.
    assert Counter(telegram.started) == Counter({10: 1, 11: 1, 12: 1, 13: 1})
    assert [u for u in telegram.finished if u in (10, 12)] == [10, 12]
    assert [u for u in telegram.finished if u in (11, 13)] == [11, 13]


async def test_no_more_updates_at_once_than_the_limit() -> None:
    """Beyond the limit, updates wait at Telegram (unconfirmed) until one finishes."""
    telegram = Telegram([(n, n) for n in range(1, 6)])
    for n in range(1, 6):
        telegram.gates[n] = asyncio.Event()
    polling = asyncio.create_task(poll(telegram, timeout=1, limit=2))
    try:
        await telegram.until("two started", lambda: len(telegram.started) == 2)
        await telegram.until("looked again", lambda: len(telegram.offsets) >= 3)
        assert telegram.started == [1, 2]
        for n in range(1, 6):
            telegram.gates[n].set()
        await telegram.until("all confirmed", lambda: 6 in telegram.offsets)
    finally:
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
    assert sorted(telegram.finished) == [1, 2, 3, 4, 5]


async def test_stopping_abandons_unfinished_updates_unconfirmed() -> None:
    """Stopped while an update is being processed: it is cancelled, and was never confirmed."""
    telegram = Telegram([(7, 1), (8, 2)])
    telegram.gates[7] = asyncio.Event()
    polling = asyncio.create_task(poll(telegram, timeout=1))
    await telegram.until("8 done", lambda: 8 in telegram.finished)
    polling.cancel()
    await asyncio.gather(polling, return_exceptions=True)
    assert 7 not in telegram.finished
    assert all(o is None or o <= 7 for o in telegram.offsets)
