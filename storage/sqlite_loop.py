"""SQLite for asyncio without a thread per connection: the statements run on the event loop.

SQLAlchemy's aiosqlite driver hands every call (cursor, execute, fetch, close, commit) to a
thread of its own and waits for the answer: measured here, a session with one ORM query cost
~1.2 ms of CPU that way against ~0.2 ms run directly, and the handoffs were most of what an
update cost (bench/README.md). A local SQLite statement takes microseconds, so this driver runs
it where SQLAlchemy's async layer already is, on the event loop, through the standard sqlite3
module.

The one thing that could block the loop is a lock held by another connection (another of our
transactions, or another process such as `sandan admin`). SQLite's own busy handler would sleep
in the loop, and the holder, if it is one of ours, could never finish. So connections are
opened with no busy timeout, and a statement refused with SQLITE_BUSY is tried again after an
asyncio sleep (the rest of the program goes on meanwhile), until `BUSY_PATIENCE` seconds have
passed. A refused statement took no effect, and the transaction around it stays open, so trying
it again is safe; SQLITE_BUSY_SNAPSHOT (a read transaction that cannot become a write one any
more) is raised at once: the whole unit of work has to start again, which the callers do.

`storage.db.make_engine` opens every SQLite URL with this driver; Alembic's migrations still
use aiosqlite (they run in a thread of their own, before the bot starts).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.util import await_
from sqlalchemy.util.concurrency import in_greenlet

BUSY_PATIENCE = 30.0  # seconds a statement keeps trying while another connection holds a lock
FIRST_PAUSE = 0.001
LONGEST_PAUSE = 0.05
DRIVER = "sandanloop"


def _busy(error: sqlite3.OperationalError) -> bool:
    """Tell whether SQLite refused only because another connection holds a lock for now."""
    return error.sqlite_errorname in ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_RECOVERY")


async def _at_once() -> None:
    """An awaitable that finishes without giving the event loop a turn."""


def _patiently(call: Any, *args: Any) -> Any:
    """Run a sqlite3 call; while it is refused as busy, wait on the event loop and try again.

    SQLAlchemy's AsyncConnection.execute checks that the driver awaited something, so each call
    inside its greenlets awaits `_at_once()`: two greenlet switches, no turn of the loop.
    """
    if in_greenlet():
        await_(_at_once())
    deadline = time.monotonic() + BUSY_PATIENCE
    pause = FIRST_PAUSE
    while True:
        try:
            return call(*args)
        except sqlite3.OperationalError as error:
            if not _busy(error) or time.monotonic() + pause > deadline:
                raise
        if in_greenlet():
            await_(asyncio.sleep(pause))
        else:  # called outside SQLAlchemy's async layer: nothing else can run meanwhile anyway
            time.sleep(pause)
        pause = min(LONGEST_PAUSE, pause * 2)


class LoopCursor(sqlite3.Cursor):
    """A sqlite3 cursor whose statements wait for locks without blocking the event loop."""

    def execute(self, sql: str, parameters: Any = (), /) -> LoopCursor:
        """Run one statement (see `_patiently`)."""
        _patiently(super().execute, sql, parameters)
        return self

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> LoopCursor:
        """Run one statement for each set of parameters (see `_patiently`)."""
        rows = list(seq_of_parameters)  # an iterator would be used up by a refused first try
        _patiently(super().executemany, sql, rows)
        return self

    async def _async_soft_close(self) -> None:
        """Nothing to do: SQLAlchemy's async results ask this of async drivers' cursors only."""


class LoopConnection(sqlite3.Connection):
    """A sqlite3 connection that hands out `LoopCursor`s and commits patiently."""

    def cursor(self, factory: Any = LoopCursor) -> Any:
        """Return a cursor (a `LoopCursor` unless another factory is asked for)."""
        return super().cursor(factory)

    def commit(self) -> None:
        """Commit (see `_patiently`).

        The commit waits for the disk (fsync of the write-ahead log) on the loop too: ~0.15 ms
        here. Handing it to a worker thread cost more CPU than the wait (an update's CPU went
        from 9 to 15 ms in bench.inbound), and SQLite writes one transaction at a time anyway.
        """
        _patiently(super().commit)


class SQLiteDialect_loop(SQLiteDialect_pysqlite):
    """pysqlite, declared async: SQLAlchemy's async engine runs it in its greenlets."""

    driver = DRIVER
    is_async = True
    supports_statement_cache = True

    def create_connect_args(self, url: URL) -> Any:
        """Return pysqlite's arguments, with our connection class and no blocking busy wait."""
        args, kwargs = super().create_connect_args(url)
        kwargs["factory"] = LoopConnection
        kwargs["timeout"] = 0.0
        return args, kwargs

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        """Return the asyncio-aware queue pool for a file, one shared connection in memory."""
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool


registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteDialect_loop")


def loop_url(url: str | URL) -> URL:
    """Return the same SQLite database, opened with this driver."""
    return make_url(url).set(drivername=f"sqlite+{DRIVER}")
