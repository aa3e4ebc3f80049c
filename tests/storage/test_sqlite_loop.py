"""SQLite on the event loop: a lock held elsewhere is waited for without stopping the program."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import storage.sqlite_loop
from storage.db import make_engine, make_sessions, upgrade_sync


@pytest.fixture
def url(tmp_path: Path) -> str:
    """Return a migrated SQLite file of its own."""
    address = f"sqlite+aiosqlite:///{tmp_path / 'loop.sqlite3'}"
    upgrade_sync(address)
    return address


@pytest.fixture
def locker(url: str) -> Iterator[Locker]:
    """Return another process's stand-in: a connection in a thread that can hold the lock."""
    holder = Locker(str(make_url(url).database))
    yield holder
    holder.release()


class Locker:
    """Holds SQLite's write lock from another thread (as `sandan admin` would from a process)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.held = threading.Event()
        self.done = threading.Event()
        self.thread: threading.Thread | None = None

    def hold(self) -> None:
        """Take the write lock and keep it until `release`."""

        def run() -> None:
            connection = sqlite3.connect(self.path, isolation_level=None)
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO processed_updates (update_id, at) VALUES (1, 0)")
            self.held.set()
            self.done.wait(60)
            connection.execute("COMMIT")
            connection.close()

        self.thread = threading.Thread(target=run)
        self.thread.start()
        assert self.held.wait(10)

    def release(self) -> None:
        """Commit and let go of the lock."""
        self.done.set()
        if self.thread is not None:
            self.thread.join(10)


async def write(sessions: async_sessionmaker[AsyncSession], update_id: int) -> None:
    """Record an update, as every update's unit of work does first."""
    async with sessions() as session, session.begin():
        await session.execute(
            text("INSERT INTO processed_updates (update_id, at) VALUES (:u, 0)"), {"u": update_id}
        )


async def test_a_write_waits_for_another_connections_lock_while_the_program_goes_on(
    url: str, locker: Locker
) -> None:
    engine = make_engine(url)
    sessions = make_sessions(engine)
    try:
        locker.hold()
        waiting = asyncio.create_task(write(sessions, 2))
        await asyncio.sleep(0.2)  # the loop runs on: a wait inside SQLite would hold it here
        # Blocked in SQLite instead, the write would have given up (or gone through) by now.
        assert not waiting.done(), "the write did not wait for the lock on the event loop"
        locker.release()
        await asyncio.wait_for(waiting, 10)
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT update_id FROM processed_updates ORDER BY update_id")
            )
            assert [r[0] for r in rows] == [1, 2]
    finally:
        await engine.dispose()


async def test_a_lock_held_past_the_patience_is_a_clear_error_and_nothing_is_half_written(
    url: str, locker: Locker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage.sqlite_loop, "BUSY_PATIENCE", 0.2)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    try:
        locker.hold()
        with pytest.raises(OperationalError, match="database is locked"):
            await write(sessions, 2)
        locker.release()
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT update_id FROM processed_updates"))
            assert [r[0] for r in rows] == [1]
        await write(sessions, 3)  # the connection is fine afterwards
    finally:
        await engine.dispose()


async def test_a_read_overtaken_by_another_write_fails_at_once_instead_of_waiting(
    url: str,
) -> None:
    """SQLITE_BUSY_SNAPSHOT: no wait helps, the unit of work must start again (callers retry)."""
    engine = make_engine(url)
    sessions = make_sessions(engine)
    try:
        async with sessions() as session:
            await session.execute(text("BEGIN"))  # pysqlite begins only before a write
            await session.execute(text("SELECT count(*) FROM processed_updates"))  # a snapshot
            other = sqlite3.connect(str(make_url(url).database), isolation_level=None)
            other.execute("INSERT INTO processed_updates (update_id, at) VALUES (5, 0)")
            other.close()
            async with asyncio.timeout(10):  # 30 s of patience would be spent in vain here
                with pytest.raises(OperationalError, match="database is locked"):
                    await session.execute(
                        text("INSERT INTO processed_updates (update_id, at) VALUES (6, 0)")
                    )
        await write(sessions, 6)  # started again, it goes through
    finally:
        await engine.dispose()


async def test_our_own_transactions_side_by_side_all_land(url: str) -> None:
    engine = make_engine(url)
    sessions = make_sessions(engine)

    async def slow_writer(update_id: int) -> None:
        async with sessions() as session, session.begin():
            await session.execute(
                text("INSERT INTO processed_updates (update_id, at) VALUES (:u, 0)"),
                {"u": update_id},
            )
            await asyncio.sleep(0.02)  # holds the write lock across a pause, as an await might

    try:
        await asyncio.gather(*(slow_writer(n) for n in range(10, 30)))
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT count(*) FROM processed_updates"))
            assert rows.scalar_one() == 20
    finally:
        await engine.dispose()


def test_every_sqlite_url_is_opened_on_the_loop_and_other_databases_are_left_alone(
    tmp_path: Path,
) -> None:
    for given in ("sqlite+aiosqlite", "sqlite"):
        engine = make_engine(f"{given}:///{tmp_path / 'any.sqlite3'}")
        assert engine.dialect.driver == storage.sqlite_loop.DRIVER
    engine = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert engine.dialect.driver == "asyncpg"
