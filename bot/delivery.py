"""The delivery worker: sends the outbox in order per chat, within Telegram's limits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.sending import Blocked, Rejected, RetryAfter, Sender, SendFailed
from handlers.render import action_from_json, render
from handlers.texts import Texts
from storage.outbox import OutboxQueue, Outgoing

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
IDLE_POLL = 2.0


class RateLimiter:
    """Telegram's send limits: ~30/s overall, ~1/s per chat with short bursts, 20/min per group."""

    def __init__(
        self,
        overall_per_second: float = 25.0,
        per_chat_burst: int = 3,
        per_chat_per_second: float = 1.0,
        per_group_per_minute: int = 20,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.interval = 1.0 / overall_per_second
        self.per_chat_burst = per_chat_burst
        self.per_chat_interval = 1.0 / per_chat_per_second
        self.per_group_per_minute = per_group_per_minute
        self.clock = clock or (lambda: asyncio.get_running_loop().time())
        self._next_overall = 0.0
        self._chat_tokens: dict[int, tuple[float, float]] = {}
        self._group_sends: dict[int, deque[float]] = {}

    def wait_for(self, chat_id: int) -> float:
        """Return how long to wait before this chat may get a message (0: now)."""
        now = self.clock()
        if chat_id < 0:
            sends = self._group_sends.get(chat_id, deque())
            while sends and now - sends[0] >= 60:
                sends.popleft()
            if len(sends) >= self.per_group_per_minute:
                return 60 - (now - sends[0])
            return 0.0
        tokens, at = self._chat_tokens.get(chat_id, (float(self.per_chat_burst), now))
        tokens = min(self.per_chat_burst, tokens + (now - at) / self.per_chat_interval)
        return 0.0 if tokens >= 1 else (1 - tokens) * self.per_chat_interval

    async def take(self, chat_id: int) -> None:
        """Record a send to the chat, first waiting for the overall pace."""
        now = self.clock()
        if self._next_overall > now:
            await asyncio.sleep(self._next_overall - now)
            now = self.clock()
        self._next_overall = max(now, self._next_overall) + self.interval
        if chat_id < 0:
            self._group_sends.setdefault(chat_id, deque()).append(now)
            return
        tokens, at = self._chat_tokens.get(chat_id, (float(self.per_chat_burst), now))
        tokens = min(self.per_chat_burst, tokens + (now - at) / self.per_chat_interval)
        self._chat_tokens[chat_id] = (tokens - 1, now)


class Delivery:
    """Sends due outbox messages; woken after each commit, idle otherwise."""

    def __init__(
        self,
        queue: OutboxQueue,
        sender: Sender,
        texts: Texts,
        now: Callable[[], datetime],
        limiter: RateLimiter | None = None,
    ) -> None:
        self.queue = queue
        self.sender = sender
        self.texts = texts
        self.now = now
        self.limiter = limiter or RateLimiter()
        self._wake = asyncio.Event()
        self.sent = 0

    def wake(self) -> None:
        """Look at the outbox now: something was just committed."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled."""
        while True:
            try:
                pause = await self.deliver_due()
            except Exception:
                log.exception("delivery pass failed")
                pause = IDLE_POLL
            if pause > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=pause)

    async def deliver_due(self) -> float:
        """Send what is due now; return how long to wait before the next pass (0: go on)."""
        messages, next_at = await self.queue.due()
        pause = IDLE_POLL
        if next_at is not None:
            pause = min(pause, max(0.05, (next_at - self.now()).total_seconds()))
        sent_any = False
        for message in messages:
            wait = self.limiter.wait_for(message.chat_id)
            if wait > 0:
                pause = min(pause, wait)
                continue
            await self.limiter.take(message.chat_id)
            await self.deliver(message)
            sent_any = True
        return 0.0 if sent_any else pause

    async def deliver(self, message: Outgoing) -> None:
        """Send one message and record the outcome."""
        reply = render(
            self.texts,
            chat_id=message.chat_id,
            lang=message.lang,
            key=message.key,
            params=message.params,
            actions=[action_from_json(a) for a in message.actions],
            photo=message.photo,
        )
        try:
            await self.sender.perform(reply)
        except RetryAfter as error:
            await self.queue.retry_at(
                message, self.now() + timedelta(seconds=error.seconds), str(error)
            )
        except Blocked as error:
            log.warning("chat %s unreachable: %s", message.chat_id, error)
            await self.queue.give_up(message, str(error), unreachable=True)
        except Rejected as error:
            log.error("message %s rejected: %s", message.id, error)
            await self.queue.give_up(message, str(error))
        except SendFailed as error:
            if message.attempts + 1 >= MAX_ATTEMPTS:
                await self.queue.give_up(message, str(error))
            else:
                backoff = min(300.0, 0.5 * 2**message.attempts)
                await self.queue.retry_at(
                    message, self.now() + timedelta(seconds=backoff), str(error)
                )
        else:
            await self.queue.mark_sent(message.id)
            self.sent += 1

    async def drain(self, within: float = 10.0) -> None:
        """Deliver until the outbox is empty or `within` seconds have passed."""
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while loop.time() < end and await self.queue.pending():
            pause = await self.deliver_due()
            if pause > 0:
                await asyncio.sleep(min(pause, 0.1))
