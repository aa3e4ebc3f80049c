"""The delivery worker: sends the outbox in order per chat, within Telegram's limits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

from bot.sending import Blocked, Rejected, RetryAfter, Sender, SendFailed
from handlers.render import EDIT, action_from_json, render
from handlers.texts import Texts
from storage.outbox import OutboxQueue, Outgoing
from workflows.people import person_unreachable
from workflows.ports import Clock, UpdateUnitOfWork
from workflows.updates import forget_seen_updates

log = logging.getLogger(__name__)
UnitsOfWork = Callable[[], AbstractAsyncContextManager[UpdateUnitOfWork]]
IDLE_POLL = 2.0
# Sends in flight at once, to different chats: a slow round trip must not hold up everyone.
CONCURRENCY = 8
# Server errors and network failures are retried with backoff up to this long, then given up.
TRANSIENT_BACKOFF_CAP = 120.0
GIVE_UP_AFTER = timedelta(hours=24)
SWEEP_EVERY = timedelta(hours=1)
# On shutdown, sends in flight get this long to finish and be marked sent (fewer duplicates).
STOP_GRACE = 5.0
MARK_ATTEMPTS = 5


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

    def done(self, chat_id: int) -> None:
        """Count the chat's last send from when it finished: its arrival time is not known.

        Telegram measures when requests arrive; a request that took long to arrive must not
        bring the next one in the same chat too close to it.
        """
        now = self.clock()
        if chat_id < 0:
            sends = self._group_sends.get(chat_id)
            if sends:
                sends[-1] = max(sends[-1], now)
            return
        tokens, at = self._chat_tokens.get(chat_id, (float(self.per_chat_burst), now))
        self._chat_tokens[chat_id] = (tokens, max(at, now))

    async def take(self, chat_id: int, *, message: bool = True) -> None:
        """Record a send to the chat, first waiting for the overall pace.

        Edits (`message=False`) count only towards the overall pace: Telegram's per-chat
        limit is on new messages.
        """
        now = self.clock()
        if self._next_overall > now:
            await asyncio.sleep(self._next_overall - now)
            now = self.clock()
        self._next_overall = max(now, self._next_overall) + self.interval
        if not message:
            return
        if chat_id < 0:
            self._group_sends.setdefault(chat_id, deque()).append(now)
            return
        tokens, at = self._chat_tokens.get(chat_id, (float(self.per_chat_burst), now))
        tokens = min(self.per_chat_burst, tokens + (now - at) / self.per_chat_interval)
        self._chat_tokens[chat_id] = (tokens - 1, now)


class Delivery:
    """Sends due outbox messages, a few chats at once; woken after each commit, idle otherwise.

    A chat has at most one message in flight, and its next one is read from the outbox only
    after the previous one was marked sent (or failed): that keeps the order per chat.
    """

    def __init__(
        self,
        queue: OutboxQueue,
        sender: Sender,
        texts: Texts,
        clock: Clock,
        limiter: RateLimiter | None = None,
        *,
        units_of_work: UnitsOfWork,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.queue = queue
        self.sender = sender
        self.texts = texts
        self.clock = clock
        self.limiter = limiter or RateLimiter()
        self.units_of_work = units_of_work
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._sending: dict[int, asyncio.Task[None]] = {}
        self._unmarked: dict[int, Outgoing] = {}  # sent, but the database did not take the mark
        self._finished: set[int] = set()  # chats whose send finished during this pass's read
        self._next_sweep = clock.now()
        self.sent = 0
        self._stopping = False

    def wake(self) -> None:
        """Look at the outbox now: something was just committed."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the current pass and stop (a cancellation alone may be swallowed)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled; then let the sends in flight finish."""
        try:
            while not self._stopping:
                self._wake.clear()  # before reading the outbox: a commit from now on wakes us
                try:
                    pause = await self.deliver_due()
                    await self._sweep()
                except Exception:
                    log.exception("delivery pass failed")
                    pause = IDLE_POLL
                if pause > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=pause)
        finally:
            await self._settle()

    async def deliver_due(self) -> float:
        """Start sending what is due; return how long to wait before the next pass (0: go on)."""
        await self._mark_unmarked()
        self._finished.clear()
        messages, next_at = await self.queue.due()
        pause = IDLE_POLL
        if next_at is not None:
            pause = min(pause, max(0.05, (next_at - self.clock.now()).total_seconds()))
        started = False
        # A chat whose send finished while the outbox was read may have been read stale.
        blocked = set(self._sending) | self._finished
        blocked |= {m.chat_id for m in self._unmarked.values()}
        for message in messages:
            if message.chat_id in blocked:
                continue  # its previous message is still on the way
            if len(self._sending) >= self.concurrency:
                break  # a finishing send wakes the worker
            edit = message.key == EDIT
            wait = 0.0 if edit else self.limiter.wait_for(message.chat_id)
            if wait > 0:
                pause = min(pause, wait)
                continue
            await self.limiter.take(message.chat_id, message=not edit)
            self._sending[message.chat_id] = asyncio.create_task(
                self._send(message), name=f"send-{message.id}"
            )
            started = True
        return 0.0 if started else pause

    async def _send(self, message: Outgoing) -> None:
        try:
            await self.deliver(message)
        except Exception:
            log.exception("delivering message %s failed", message.id)
        finally:
            if message.key != EDIT:
                self.limiter.done(message.chat_id)
            self._sending.pop(message.chat_id, None)
            self._finished.add(message.chat_id)
            self._wake.set()

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
                message, self.clock.now() + timedelta(seconds=error.seconds), str(error)
            )
        except Blocked as error:
            log.warning("chat %s unreachable: %s", message.chat_id, error)
            # First the workflow, then the mark: a crash in between only repeats the 403.
            async with self.units_of_work() as uow:
                await person_unreachable(uow, self.clock, message.person_id)
            await self.queue.give_up(message, str(error))
        except Rejected as error:
            log.error("message %s rejected: %s", message.id, error)
            await self.queue.give_up(message, str(error))
        except SendFailed as error:
            now = self.clock.now()
            if now - message.created_at >= GIVE_UP_AFTER:
                log.error("message %s given up after %s: %s", message.id, GIVE_UP_AFTER, error)
                await self.queue.give_up(message, str(error))
            else:
                backoff = min(TRANSIENT_BACKOFF_CAP, 0.5 * 2 ** min(message.attempts, 16))
                await self.queue.retry_at(message, now + timedelta(seconds=backoff), str(error))
        else:
            self.sent += 1
            await self._mark_sent(message)

    async def _mark_sent(self, message: Outgoing) -> None:
        """Record the send at once; until the database takes it, the chat waits in memory."""
        for attempt in range(MARK_ATTEMPTS):
            try:
                await self.queue.mark_sent(message.id)
                return
            except Exception:
                log.exception("marking message %s sent failed (attempt %d)", message.id, attempt)
                await asyncio.sleep(0.2 * 2**attempt)
        self._unmarked[message.id] = message

    async def _mark_unmarked(self) -> None:
        for message_id in list(self._unmarked):
            await self.queue.mark_sent(message_id)
            del self._unmarked[message_id]

    async def _sweep(self) -> None:
        """At most hourly: forget the update ids seen more than a week ago."""
        if self.clock.now() < self._next_sweep:
            return
        self._next_sweep = self.clock.now() + SWEEP_EVERY
        async with self.units_of_work() as uow:
            forgotten = await forget_seen_updates(uow, self.clock)
        if forgotten:
            log.info("forgot %d update ids seen over a week ago", forgotten)

    async def _settle(self) -> None:
        """Give the sends in flight a moment to finish and be marked; cancel the rest."""
        tasks = list(self._sending.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=STOP_GRACE)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    @property
    def busy(self) -> bool:
        """Return whether a send is in flight or waits to be marked."""
        return bool(self._sending or self._unmarked)

    async def drain(self, within: float = 10.0) -> None:
        """Deliver until the outbox is empty or `within` seconds have passed."""
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while loop.time() < end:
            self._wake.clear()
            pause = await self.deliver_due()
            if not self.busy and not await self.queue.pending():
                return
            if pause > 0 or self._sending:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=min(max(pause, 0.01), 0.1))
        await self._settle()
