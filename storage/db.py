"""Engines, sessions and migrations: built by the caller, never at import time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from storage.sqlite_loop import loop_url

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> AsyncEngine:
    """Create an async engine; SQLite runs on the event loop, with WAL, foreign keys, 16 MiB cache.

    Any SQLite URL (`sqlite+aiosqlite://…` included) is opened with storage.sqlite_loop, which
    also waits for another connection's locks without blocking the loop.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        make_folder(url)
        engine = create_async_engine(loop_url(parsed))

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: object, record: ConnectionPoolEntry) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # 16 MiB of pages per connection instead of SQLite's 2 MiB: the board's word search
            # reads every open order's row, and a street's open orders then stay in memory.
            cursor.execute("PRAGMA cache_size=-16384")
            cursor.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True)


def make_folder(url: str) -> None:
    """Create the folder of a SQLite file before anything opens it (a fresh clone has no var/)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


@contextlib.asynccontextmanager
async def opened(url: str) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession]]]:
    """Migrate the database, then yield its engine and session factory; dispose of it after.

    The one way the bot, the command line and the demo open a database.
    """
    await upgrade(url)
    engine = make_engine(url)
    try:
        yield engine, make_sessions(engine)
    finally:
        await engine.dispose()


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory every unit of work uses."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """Return an Alembic configuration for our migrations and this database."""
    make_folder(url)  # every command migrates first: the SQLite file's folder must exist
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Apply migrations up to a revision (blocking)."""
    command.upgrade(alembic_config(url), revision)


def downgrade_sync(url: str, revision: str) -> None:
    """Revert migrations down to a revision (blocking)."""
    command.downgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations without blocking the event loop."""
    await asyncio.to_thread(upgrade_sync, url, revision)
