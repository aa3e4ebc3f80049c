"""The update queue: updates from fake users, confirmed by offset, handed out by getUpdates."""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from collections.abc import Callable
from typing import Final

from bot.emulator.activity import Activity
from bot.emulator.errors import POLL_CONFLICT, BotAPIError
from bot.emulator.parameters import Params
from bot.emulator.records import JSON

# Update types a bot receives when it has not asked for a specific list.
NOT_DEFAULT_UPDATES: Final = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)


def update_type(update: JSON) -> str:
    """The kind of an update: "message", "callback_query", …"""
    return next((k for k in update if k != "update_id"), "unknown")


def update_chat(update: JSON) -> int | None:
    """Return the chat (or the user) an update comes from, if it says."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        for holder in (value, value.get("message")):
            if isinstance(holder, dict) and isinstance(holder.get("chat"), dict):
                chat = holder["chat"].get("id")
                return chat if isinstance(chat, int) else None
        sender = value.get("from")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])
    return None


class UpdateQueue:
    """Every update made, those not yet confirmed, and those dropped by allowed_updates."""

    def __init__(self, activity: Activity) -> None:
        self.activity = activity
        self.updates: list[JSON] = []
        self.pending: list[JSON] = []
        self.dropped: list[JSON] = []
        self.allowed_updates: list[str] | None = None
        self.garbles: deque[Callable[[JSON], JSON]] = deque()
        self._next_update_id = 1
        self._poll_generation = 0

    def enqueue(self, body: JSON) -> JSON:
        """Number an update, garble it if asked, and queue it."""
        update = {"update_id": self._next_update_id, **body}
        if self.garbles:
            update = self.garbles.popleft()(copy.deepcopy(update))
        self._next_update_id += 1
        self.updates.append(update)
        self.pending.append(update)
        self.activity.touch()
        return update

    def redeliver(self, update: JSON) -> JSON:
        """Queue an update again with its own update_id, as Telegram does when unconfirmed."""
        again = copy.deepcopy(update)
        self.pending.append(again)
        self.activity.touch()
        return again

    def allow(self, allowed: object) -> None:
        """Take the bot's allowed_updates, when the request gives a list."""
        if isinstance(allowed, list):
            self.allowed_updates = [str(a) for a in allowed]

    def busy_reason(self) -> str | None:
        """Why the bot is not done with the queue, or None."""
        if not self.pending:
            return None
        ids = [u["update_id"] for u in self.pending[:5]]
        return f"{len(self.pending)} update(s) not yet confirmed by the bot (ids {ids}...)"

    async def poll(self, p: Params) -> list[JSON]:
        """Answer getUpdates: confirm up to the offset, then wait for a batch or the timeout."""
        offset = p.integer("offset")
        limit = min(100, max(1, p.integer("limit") or 100))
        timeout = max(0.0, p.number("timeout") or 0.0)
        self.allow(p.obj("allowed_updates"))
        self._poll_generation += 1
        generation = self._poll_generation
        self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self.take(limit)
            if batch or self.activity.stopping.is_set():
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self.activity.changed.wait(remaining)
            if self._poll_generation != generation:
                raise BotAPIError(409, POLL_CONFLICT)

    def _confirm(self, offset: int | None) -> None:
        if not offset:
            return
        before = len(self.pending)
        if offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        else:
            self.pending = self.pending[offset:]
        if len(self.pending) != before:
            self.activity.touch()

    def _allowed(self, update: JSON) -> bool:
        kind = update_type(update)
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in NOT_DEFAULT_UPDATES

    def drop_disallowed(self) -> None:
        """Set aside the pending updates of types the bot did not ask for."""
        keep = []
        for update in self.pending:
            if self._allowed(update):
                keep.append(update)
            else:
                self.dropped.append(update)
        if len(keep) != len(self.pending):
            self.pending = keep
            self.activity.touch()

    def take(self, limit: int) -> list[JSON]:
        """The first ``limit`` pending updates the bot may receive."""
        self.drop_disallowed()
        # A queued update is built from copies and never changed in place, so it is handed out as
        # it is: copying every unconfirmed update on every call cost more than the bot under test.
        batch = self.pending[:limit]
        if batch:
            self.activity.touch()
        return batch

    def drop_all(self) -> None:
        """Forget every pending update (drop_pending_updates)."""
        self.pending = []
        self.activity.touch()

    def confirm_one(self, update: JSON) -> None:
        """Take one update off the queue (the webhook took it)."""
        self.pending = [u for u in self.pending if u is not update]
