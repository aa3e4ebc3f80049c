"""Looking after a database: a backup taken while the bot runs, a copy to another database.

A SQLite database in WAL mode is not one file (recent commits live in the -wal file until a
checkpoint), so copying the file while the bot runs can lose or tear them; SQLite's backup API
copies a consistent snapshot instead. Moving a community to PostgreSQL copies every table row for
row and checks each table's count and checksum on both sides before it says done.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, inspect, select, text, tuple_
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import make_engine, upgrade
from storage.models import Base

BATCH = 1000  # rows read and written at once by a copy


class MaintenanceError(Exception):
    """A backup or a copy that cannot be done; the message says why, for the operator."""


def sqlite_path(url: str) -> Path | None:
    """Return the file of a SQLite URL, or None for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return None if parsed.database == ":memory:" else Path(parsed.database)


def backup_sqlite(url: str, target: Path) -> int:
    """Write a consistent copy of a SQLite database to `target` (a new file); return its pages.

    Safe while the bot writes: SQLite's backup API copies a snapshot, the WAL's commits included.
    The copy is written beside the target and renamed into place only when complete.
    """
    source_path = sqlite_path(url)
    if source_path is None:
        raise MaintenanceError(
            "this is not a SQLite database: back PostgreSQL up with pg_dump "
            "(see docs/operations.md)"
        )
    if not source_path.is_file():
        raise MaintenanceError(f"there is no database at {source_path}")
    if target.exists():
        raise MaintenanceError(f"{target} exists already: choose a new file name")
    if not target.parent.is_dir():
        raise MaintenanceError(f"the folder {target.parent} does not exist")
    partial = target.with_name(target.name + ".partial")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    try:
        destination = sqlite3.connect(partial)
        try:
            source.backup(destination, pages=256)
            pages = int(destination.execute("PRAGMA page_count").fetchone()[0])
            problem = destination.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            destination.close()
    except (sqlite3.Error, OSError) as error:
        partial.unlink(missing_ok=True)
        raise MaintenanceError(f"the backup failed: {error}") from error
    finally:
        source.close()
    if problem != "ok":
        partial.unlink(missing_ok=True)
        raise MaintenanceError(f"the backup did not pass SQLite's integrity check: {problem}")
    partial.rename(target)
    return pages


@dataclass(frozen=True)
class TableCheck:
    """One table on both sides of a copy: its rows and a checksum of their contents."""

    name: str
    source_rows: int
    target_rows: int
    source_sum: str
    target_sum: str

    @property
    def same(self) -> bool:
        """Tell whether the copy holds exactly the source's rows."""
        return (self.source_rows, self.source_sum) == (self.target_rows, self.target_sum)

    def line(self) -> str:
        """Return the check as a line for the operator."""
        mark = "ok" if self.same else "DIFFERENT"
        return (
            f"{self.name:<20} {self.source_rows:>9} → {self.target_rows:>9} rows  "
            f"{self.target_sum[:12]}  {mark}"
        )


async def copy_database(source_url: str, target_url: str) -> list[TableCheck]:
    """Copy every table to a database that holds none of Sandan's rows yet; check each table.

    The target is migrated to the newest revision first (the source is too: both then have the
    same tables). Stop the bot before copying, so nothing is written meanwhile.
    """
    if make_url(source_url) == make_url(target_url):
        raise MaintenanceError("the source and the target are the same database")
    for url in (source_url, target_url):
        try:
            await upgrade(url)
        except (SQLAlchemyError, OSError, ArgumentError) as error:
            shown = make_url(url).render_as_string(hide_password=True)
            raise MaintenanceError(f"could not open {shown}: {error}") from error
    source_engine, target_engine = make_engine(source_url), make_engine(target_url)
    tables = Base.metadata.sorted_tables  # parents before children
    try:
        async with source_engine.connect() as source, target_engine.begin() as target:
            for table in tables:
                if await _count(target, table):
                    raise MaintenanceError(
                        f"the target already holds rows in {table.name}: copy into an empty "
                        "database (a new one, migrated or not)"
                    )
            for table in tables:
                await _copy_table(source, target, table)
            if target.dialect.name == "postgresql":
                await _move_sequences_on(target, tables)
        async with source_engine.connect() as source, target_engine.connect() as target:
            return [
                TableCheck(
                    table.name,
                    await _count(source, table),
                    await _count(target, table),
                    await checksum(source, table),
                    await checksum(target, table),
                )
                for table in tables
            ]
    finally:
        await source_engine.dispose()
        await target_engine.dispose()


async def _count(connection: AsyncConnection, table: Table) -> int:
    return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


async def _copy_table(source: AsyncConnection, target: AsyncConnection, table: Table) -> None:
    """Copy a table's rows in primary-key order, a batch at a time."""
    async for batch in _pages(source, table):
        await target.execute(table.insert(), batch)


async def _pages(connection: AsyncConnection, table: Table) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield a table's rows in primary-key order, BATCH at a time (keyset paging)."""
    key = list(table.primary_key.columns)
    after: tuple[Any, ...] | None = None
    while True:
        query = select(table).order_by(*key).limit(BATCH)
        if after is not None:
            query = query.where(tuple_(*key) > tuple_(*after))
        rows = [dict(row) for row in (await connection.execute(query)).mappings()]
        if not rows:
            return
        yield rows
        after = tuple(rows[-1][column.name] for column in key)


async def checksum(connection: AsyncConnection, table: Table) -> str:
    """Return a SHA-256 of a table's rows in primary-key order, as Sandan reads them."""
    digest = hashlib.sha256()
    async for rows in _pages(connection, table):
        for row in rows:
            values = {name: _comparable(value) for name, value in row.items()}
            digest.update(json.dumps(values, sort_keys=True, ensure_ascii=False).encode())
            digest.update(b"\n")
    return digest.hexdigest()


def _comparable(value: Any) -> Any:
    """Return a value both databases give alike (floats by their repr, times as ISO text)."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list | str | int | bool) or value is None:
        return value
    return str(value)


async def _move_sequences_on(connection: AsyncConnection, tables: Sequence[Table]) -> None:
    """Move PostgreSQL's id sequences past the copied ids, so new rows get fresh ones."""

    def serial_columns(sync: Any) -> list[tuple[str, str]]:
        inspector = inspect(sync)
        found = []
        for table in tables:
            for column in inspector.get_columns(table.name):
                if "nextval(" in str(column.get("default") or ""):
                    found.append((table.name, column["name"]))
        return found

    for table_name, column in await connection.run_sync(serial_columns):
        await connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table_name}', '{column}'), "
                f'COALESCE((SELECT MAX("{column}") FROM "{table_name}"), 0) + 1, false)'
            )
        )
