"""Faults on purpose: a plan of failing calls, the faults injected, and odd but valid answers."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import random
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from bot.emulator.errors import BotAPIError, refuse
from bot.emulator.records import JSON, ApiCall, InjectedFault

FAULT_KINDS: Final = frozenset({"429", "500", "502", "timeout", "drop"})


@dataclass
class FaultPlan:
    """Which calls fail and how: a seeded random share, or a scripted sequence first."""

    rate: float = 0.0
    seed: int | None = None
    kinds: Sequence[str] = ("429", "500", "timeout", "drop")
    retry_after: int = 1
    methods: Collection[str] = frozenset({"sendMessage", "sendPhoto", "editMessageText"})
    sequence: Sequence[str | None] = ()
    hold: float = 30.0
    _rng: random.Random = field(init=False, repr=False)
    _position: int = field(default=0, init=False, repr=False)
    _methods: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = {k for k in [*self.kinds, *self.sequence] if k is not None} - FAULT_KINDS
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; use {sorted(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        self._rng = random.Random(self.seed)
        self._methods = frozenset(m.lower() for m in self.methods)

    def pick(self, method: str) -> str | None:
        """The fault for this call of ``method``, or None to answer it normally."""
        if method.lower() not in self._methods:
            return None
        if self._position < len(self.sequence):
            self._position += 1
            return self.sequence[self._position - 1]
        if self.rate <= 0 or not self.kinds:
            return None
        if self._rng.random() < self.rate:
            return self._rng.choice(list(self.kinds))
        return None


async def inject(
    request: web.Request,
    call: ApiCall,
    kind: str,
    plan: FaultPlan,
    injected: list[InjectedFault],
    stopping: asyncio.Event,
) -> web.StreamResponse:
    """Answer a call with the fault ``kind`` instead of carrying it out."""
    call.fault = kind
    call.ok = False
    injected.append(InjectedFault(call.method, kind, time.time()))
    if kind == "429":
        retry = plan.retry_after
        error = BotAPIError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        return refuse(call, error)
    if kind == "500":
        return refuse(call, BotAPIError(500, "Internal Server Error"))
    if kind == "502":
        return refuse(call, BotAPIError(502, "Bad Gateway"))
    call.description = f"injected fault: {kind} (no response)"
    if kind == "timeout":
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), plan.hold)
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response(status=502)


class OddAnswers:
    """Rewrites queued for the answers to calls that took effect (``answer_oddly``)."""

    def __init__(self) -> None:
        self._queued: dict[tuple[str, int], deque[Callable[[JSON], Any]]] = {}

    def __bool__(self) -> bool:
        return bool(self._queued)

    def add(self, method: str, chat_id: int, rewrites: Sequence[Callable[[JSON], Any]]) -> None:
        """Queue rewrites for the next calls of ``method`` to the chat."""
        self._queued.setdefault((method.lower(), chat_id), deque()).extend(rewrites)

    def rewrite(self, call: ApiCall, body: JSON) -> Any:
        """Return the answer to a call that took effect, rewritten if `answer_oddly` asked so."""
        chat_id = 0
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(call.params.get("chat_id") or 0)  # form-encoded calls carry text
        odd = self._queued.get((call.method.lower(), chat_id))
        if not odd:
            return body
        call.fault = "odd answer"
        return odd.popleft()(copy.deepcopy(body))
