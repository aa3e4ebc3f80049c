"""Alembic stairway: every revision upgrades, downgrades and upgrades again on a real file."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from storage.db import alembic_config, downgrade_sync, upgrade_sync
from storage.models import Base


def revisions(url: str) -> list[str]:
    """Return every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def tables(path: Path) -> set[str]:
    """Return the tables in the SQLite file."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_stairway(tmp_path: Path) -> None:
    """Each revision goes up, down and up again without error."""
    path = tmp_path / "stairway.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    steps = revisions(url)
    assert steps, "there is at least one migration"
    previous = "base"
    for revision in steps:
        upgrade_sync(url, revision)
        downgrade_sync(url, previous)
        upgrade_sync(url, revision)
        previous = revision
    assert tables(path) == set(Base.metadata.tables)


def test_migrations_match_the_models(tmp_path: Path) -> None:
    """The migrated schema has every column the models declare."""
    path = tmp_path / "schema.sqlite3"
    upgrade_sync(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    try:
        inspector = inspect(engine)
        for name, table in Base.metadata.tables.items():
            columns = {c["name"] for c in inspector.get_columns(name)}
            assert columns == {c.name for c in table.columns}, name
    finally:
        engine.dispose()
