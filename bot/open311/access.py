"""Who may call: partners' keys, and how often (a token bucket per key or per address)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

IDLE_SECONDS = 600.0  # a caller quiet this long is forgotten (its bucket is full again anyway)


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateLimit:
    """At most `per_minute` calls a minute per caller, in bursts of up to that many.

    Each instance counts its own calls: behind a load balancer of n instances a caller may make
    up to n times as many (the limit guards each instance, not a contract).
    """

    per_minute: int
    now: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def wait(self, caller: str) -> int:
        """Take one call from the caller's bucket: 0 if allowed, else seconds to wait."""
        now = self.now()
        if len(self._buckets) > 10_000:
            self._forget(now)
        rate = self.per_minute / 60.0
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = self._buckets[caller] = _Bucket(float(self.per_minute), now)
        bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - bucket.tokens) / rate))

    def _forget(self, now: float) -> None:
        for caller in [c for c, b in self._buckets.items() if now - b.at > IDLE_SECONDS]:
            del self._buckets[caller]
