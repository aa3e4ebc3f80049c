"""Clocks: the real one, and one tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """Return the current time."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; for tests and the demo's simulated days."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 2, 1, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """Return the clock's current time."""
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by a timedelta's worth of keyword arguments."""
        self._now += timedelta(**delta)
        return self._now
