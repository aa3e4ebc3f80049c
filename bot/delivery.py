"""The delivery worker: sends the outbox in order per chat, within Telegram's limits.

Several instances may run one each over one database: what they must agree on (who sends
which message, and the pace of sends overall and per chat) is kept in the database by
`storage.outbox.OutboxQueue`; see docs/delivery.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

from bot.sending import Blocked, Outcome, Rejected, RetryAfter, Sender, SendFailed
from handlers.events import Edit
from handlers.render import render_queued
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
KEEP_SENT = timedelta(days=3)  # settings.outbox_keep_days
# On shutdown, sends in flight get this long to finish and be marked sent (fewer duplicates).
STOP_GRACE = 5.0
# How far ahead the overall pace is booked: at 25/s, three sends. Beyond it a flood of task
# cards would hold every slot for a second or more, and a reply to a resident who is talking to
# the bot now (read first, storage/outbox.py) would wait behind all of them.
BOOK_AHEAD = 0.12
MARK_ATTEMPTS = 5


class Delivery:
    """Sends due outbox messages, a few chats at once; woken after each commit, idle otherwise.

    A chat has at most one message in flight (its claim keeps every instance off the chat),
    and its next one is read only after the previous one was marked sent or failed: that keeps
    the order per chat.
    """

    def __init__(
        self,
        queue: OutboxQueue,
        sender: Sender,
        texts: Texts,
        clock: Clock,
        *,
        units_of_work: UnitsOfWork,
        concurrency: int = CONCURRENCY,
        on_outcome: Callable[[Outcome], None] | None = None,
        keep_sent: timedelta = KEEP_SENT,
        console_url: str | None = None,
    ) -> None:
        self.queue = queue
        self.console_url = console_url  # console (issue 18): Mini App buttons on staff cards
        self.sender = sender
        self.texts = texts
        self.clock = clock
        self.units_of_work = units_of_work
        self.concurrency = concurrency
        # Told each send's outcome: the metrics count them.
        self.on_outcome = on_outcome or (lambda outcome: None)
        self.keep_sent = keep_sent
        self._wake = asyncio.Event()
        self._sending: dict[int, asyncio.Task[None]] = {}
        # Sent, but the database did not take the mark: (message, Telegram's id for it).
        self._unmarked: dict[int, tuple[Outgoing, int | None]] = {}
        self._next_sweep = clock.now()
        self._turn = asyncio.Lock()  # sends start one at a time, in the order they were claimed
        self._last_start = float("-inf")
        self._interval = 1.0 / queue.pace.overall_per_second
        # Claimed sends not yet started (waiting for their slot) this many at most.
        self._ahead = max(1, round(BOOK_AHEAD * queue.pace.overall_per_second))
        self._waiting = 0
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
        """Deliver until stopped; then let the sends in flight finish, and release claims.

        Claims left by an earlier run of this instance (a crash) are released first: nothing
        of this name is sending any more.
        """
        released = await self.queue.release()
        if released:
            log.info("released %d claims left by an earlier run of %s", released, self.queue.owner)
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
        room = min(self.concurrency - len(self._sending), self._ahead - self._waiting)
        if room <= 0:
            return IDLE_POLL  # a finishing send wakes the worker
        due = await self.queue.due(limit=room + len(self._unmarked))
        # A chat with a send on the way here is skipped (its claim hides it from the other
        # instances; from this one, a read may have raced the send's finish).
        busy = set(self._sending) | {m.chat_id for m, _ in self._unmarked.values()}
        wanted = [m for m in due.messages if m.chat_id not in busy][: max(0, room)]
        claimed = await self.queue.claim(wanted)
        next_at, paced = due.next_at, due.paced
        if due.messages and not claimed:  # found some, all taken: `due` did not read what waits
            next_at, paced = await self.queue.waits()
        pause = IDLE_POLL
        if next_at is not None:
            pause = min(pause, max(0.05, (next_at - self.clock.now()).total_seconds()))
        if paced is not None:
            pause = min(pause, max(0.02, paced))
        loop = asyncio.get_running_loop()
        for claim in claimed:
            at = loop.time() + claim.delay
            self._waiting += 1
            self._sending[claim.message.chat_id] = asyncio.create_task(
                self._send(claim.message, at), name=f"send-{claim.message.id}"
            )
        return 0.0 if claimed else pause

    async def _take_turn(self, at: float) -> None:
        """Wait for the slot booked for a send, and for the pace since this worker's last send.

        The sends take turns, each counted from when it actually started: if the event loop
        stalls, the sends held up go one by one afterwards, never in a clump.
        """
        loop = asyncio.get_running_loop()
        try:
            async with self._turn:
                wait = max(at, self._last_start + self._interval) - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._last_start = loop.time()
        finally:
            self._waiting -= 1
            # A slot is free to book: claim the next now, not when a send finishes (with
            # Telegram a round trip away, that would bound the rate by the round trip).
            if self._ahead < self.concurrency:  # the pace holds back, not the sends in flight
                self._wake.set()

    async def _send(self, message: Outgoing, at: float) -> None:
        try:
            await self._take_turn(at)
            await self.deliver(message)
        except Exception:
            log.exception("delivering message %s failed", message.id)
        finally:
            self._sending.pop(message.chat_id, None)
            # Refill when half the sends are done: one read and one claim serve several sends.
            # (A commit wakes the worker anyway, so a new message never waits for this.)
            if len(self._sending) <= self.concurrency // 2:
                self._wake.set()

    async def deliver(self, message: Outgoing) -> None:
        """Send one message and record the outcome."""
        reply = render_queued(self.texts, message, self.console_url)
        try:
            message_id = await self.sender.perform(reply)
        except RetryAfter as error:
            self.on_outcome(Outcome.RATE_LIMITED)
            await self.queue.retry_at(
                message, self.clock.now() + timedelta(seconds=error.seconds), str(error)
            )
        except Blocked as error:
            self.on_outcome(Outcome.BLOCKED)
            log.warning("chat %s unreachable: %s", message.chat_id, error)
            # First the workflow, then the mark: a crash in between only repeats the 403.
            # A channel (no person) or a group (negative id: notices, issue 17) that removed the
            # bot says nothing of the person who linked it: its post is only given up.
            if message.person_id is not None and message.chat_id > 0:
                async with self.units_of_work() as uow:
                    await person_unreachable(uow, self.clock, message.person_id)
                    await uow.commit()
            await self.queue.give_up(message, str(error))
        except Rejected as error:
            self.on_outcome(Outcome.REJECTED)
            log.error("message %s rejected: %s", message.id, error)
            await self.queue.give_up(message, str(error))
        except SendFailed as error:
            self.on_outcome(Outcome.RETRY)
            now = self.clock.now()
            if now - message.created_at >= GIVE_UP_AFTER:
                log.error("message %s given up after %s: %s", message.id, GIVE_UP_AFTER, error)
                await self.queue.give_up(message, str(error))
            else:
                backoff = min(TRANSIENT_BACKOFF_CAP, 0.5 * 2 ** min(message.attempts, 16))
                await self.queue.retry_at(message, now + timedelta(seconds=backoff), str(error))
        else:
            self.sent += 1
            self.on_outcome(Outcome.OK)
            if isinstance(reply, Edit):
                # The edited message is the one this row stands for: a card edited in place
                # (workflows/cards.py show_card) is found again by its id.
                message_id = reply.message_id
            await self._mark_sent(message, message_id)

    async def _mark_sent(self, message: Outgoing, message_id: int | None) -> None:
        """Record the send at once; until the database takes it, the chat waits in memory."""
        for attempt in range(MARK_ATTEMPTS):
            try:
                await self.queue.mark_sent(message, message_id)
                return
            except Exception:
                log.exception("marking message %s sent failed (attempt %d)", message.id, attempt)
                await asyncio.sleep(0.2 * 2**attempt)
        self._unmarked[message.id] = (message, message_id)

    async def _mark_unmarked(self) -> None:
        for outbox_id, (message, message_id) in list(self._unmarked.items()):
            await self.queue.mark_sent(message, message_id)
            del self._unmarked[outbox_id]

    async def _sweep(self) -> None:
        """At most hourly: forget the update ids seen more than a week ago, and delete the
        messages sent or given up longer ago than they are kept (the outbox is no archive)."""
        if self.clock.now() < self._next_sweep:
            return
        self._next_sweep = self.clock.now() + SWEEP_EVERY
        async with self.units_of_work() as uow:
            forgotten = await forget_seen_updates(uow, self.clock)
            await uow.commit()
        if forgotten:
            log.info("forgot %d update ids seen over a week ago", forgotten)
        pruned = await self.queue.prune(self.clock.now() - self.keep_sent)
        if pruned:
            log.info("deleted %d messages sent over %s ago", pruned, self.keep_sent)

    async def _settle(self) -> None:
        """Give the sends in flight a moment to finish and be marked; cancel the rest."""
        tasks = list(self._sending.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=STOP_GRACE)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        # What was not sent goes to the other instances now, not when the claims run out.
        with contextlib.suppress(Exception):
            await self.queue.release(keep=list(self._unmarked))

    @property
    def busy(self) -> bool:
        """Return whether a send is in flight or waits to be marked."""
        return bool(self._sending or self._unmarked)
