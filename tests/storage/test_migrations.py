"""Alembic stairway: every revision upgrades, downgrades and upgrades again on a real database."""

from __future__ import annotations

import asyncio

from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage.db import alembic_config, downgrade_sync, make_engine, upgrade_sync
from storage.models import Base


def revisions(url: str) -> list[str]:
    """Return every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def schema(url: str) -> dict[str, set[str]]:
    """Return each table of the database with its columns."""

    def read(connection: Connection) -> dict[str, set[str]]:
        inspector = inspect(connection)
        return {
            name: {c["name"] for c in inspector.get_columns(name)}
            for name in inspector.get_table_names()
            if name != "alembic_version"
        }

    async def run() -> dict[str, set[str]]:
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_stairway(empty_db: str) -> None:
    """Each revision goes up, down and up again without error."""
    steps = revisions(empty_db)
    assert steps, "there is at least one migration"
    previous = "base"
    for revision in steps:
        upgrade_sync(empty_db, revision)
        downgrade_sync(empty_db, previous)
        upgrade_sync(empty_db, revision)
        previous = revision
    assert set(schema(empty_db)) == set(Base.metadata.tables)


def test_migrations_match_the_models(empty_db: str) -> None:
    """The migrated schema has exactly the tables and columns the models declare."""
    upgrade_sync(empty_db)
    assert schema(empty_db) == {
        name: {c.name for c in table.columns} for name, table in Base.metadata.tables.items()
    }
