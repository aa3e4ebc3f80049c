"""The rate meter: Telegram's broadcast limits over the sends a bot makes."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Final

from bot.emulator.errors import BotAPIError
from bot.emulator.records import RateViolation

SEND_METHODS: Final = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendLocation",
        "sendVoice",
        "sendVideoNote",
        "sendAudio",
    }
)


@dataclass
class RateLimits:
    """Telegram's broadcast limits, metered over delivered sends (optionally enforced with 429)."""

    global_per_sec: float = 30.0
    per_chat_per_sec: float = 1.0
    per_chat_burst: int = 3
    per_group_per_min: int = 20
    enforce: bool = False
    methods: Collection[str] = SEND_METHODS
    clock: Callable[[], float] = time.monotonic


class RateMeter:
    """Counts delivered sends against the limits, globally, per chat and per group."""

    def __init__(self, limits: RateLimits, violations: list[RateViolation]) -> None:
        self.limits = limits
        self.violations = violations
        self.methods = frozenset(m.lower() for m in limits.methods)
        self.global_times: deque[float] = deque()
        self.group_times: dict[int, deque[float]] = {}
        self.buckets: dict[int, tuple[float, float]] = {}

    def check(self, chat_id: int, now: float) -> tuple[str, int] | None:
        """The scope exceeded by one more send now, and its retry_after; or None."""
        lim = self.limits
        window = self.global_times
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= lim.global_per_sec:
            return "global", max(1, math.ceil(window[0] + 1.0 - now))
        if chat_id < 0:
            times = self.group_times.setdefault(chat_id, deque())
            while times and times[0] <= now - 60.0:
                times.popleft()
            if len(times) >= lim.per_group_per_min:
                return "group", max(1, math.ceil(times[0] + 60.0 - now))
            return None
        tokens = self._tokens(chat_id, now)
        if tokens < 1.0:
            return "chat", max(1, math.ceil((1.0 - tokens) / lim.per_chat_per_sec))
        return None

    def _tokens(self, chat_id: int, now: float) -> float:
        tokens, last = self.buckets.get(chat_id, (float(self.limits.per_chat_burst), now))
        refill = (now - last) * self.limits.per_chat_per_sec
        return min(float(self.limits.per_chat_burst), tokens + refill)

    def record(self, chat_id: int, now: float) -> None:
        """Count one send now."""
        self.global_times.append(now)
        if chat_id < 0:
            self.group_times.setdefault(chat_id, deque()).append(now)
        else:
            self.buckets[chat_id] = (self._tokens(chat_id, now) - 1.0, now)

    def guard(self, method: str, chat_id: int) -> None:
        """Meter a send; record a violation, and refuse it with 429 when enforcing."""
        if method.lower() not in self.methods:
            return
        now = self.limits.clock()
        over = self.check(chat_id, now)
        if over is not None:
            scope, retry = over
            enforced = self.limits.enforce
            self.violations.append(
                RateViolation(method, chat_id, scope, time.time(), retry, enforced)
            )
            if enforced:
                raise BotAPIError(
                    429, f"Too Many Requests: retry after {retry}", {"retry_after": retry}
                )
        self.record(chat_id, now)
