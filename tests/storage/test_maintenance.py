"""`sandan db backup` while the bot writes, and `sandan db copy` checked table by table."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from bot.cli import main
from bot.demo import prepare
from storage.db import make_engine
from storage.maintenance import MaintenanceError, backup_sqlite, copy_database
from storage.models import AuditRow, OrderRow, PersonRow
from tests.conftest import POSTGRES, Databases


def test_backup_holds_commits_still_in_the_wal(tmp_path: Path) -> None:
    """A backup taken while a writer holds the database has every committed row."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'live.sqlite3'}"
    asyncio.run(prepare(url))
    live = sqlite3.connect(tmp_path / "live.sqlite3", check_same_thread=False)
    live.execute("PRAGMA journal_mode=WAL")
    live.execute("PRAGMA wal_autocheckpoint=0")  # the rows stay in the -wal file
    committed = 0
    stop = threading.Event()

    def write() -> None:
        nonlocal committed
        while not stop.is_set():
            live.execute(
                "INSERT INTO audit_log (at, action, actor, subject, details) "
                "VALUES ('2026-12-01 00:00:00.000000', 'probe', 'test', ?, '{}')",
                (str(committed),),
            )
            live.commit()
            committed += 1

    for _ in range(50):  # some before the backup starts, for certain
        live.execute(
            "INSERT INTO audit_log (at, action, actor, subject, details) "
            "VALUES ('2026-12-01 00:00:00.000000', 'probe', 'test', 'before', '{}')"
        )
    live.commit()
    writer = threading.Thread(target=write)
    writer.start()
    try:
        pages = backup_sqlite(url, tmp_path / "backup.sqlite3")
    finally:
        stop.set()
        writer.join()
        live.close()
    assert pages > 0
    copy = sqlite3.connect(tmp_path / "backup.sqlite3")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        before = copy.execute("SELECT count(*) FROM audit_log WHERE subject = 'before'")
        assert before.fetchone()[0] == 50
        during = copy.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'probe' AND subject != 'before'"
        )
        assert during.fetchone()[0] <= committed  # a snapshot: never a row not yet committed
        assert copy.execute("SELECT count(*) FROM households").fetchone()[0] > 0
    finally:
        copy.close()
    assert not (tmp_path / "backup.sqlite3.partial").exists()


def test_backup_refuses_to_overwrite_or_to_back_up_postgresql(tmp_path: Path) -> None:
    """An existing file, a missing folder or a PostgreSQL URL: a clear refusal, nothing written."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'live.sqlite3'}"
    asyncio.run(prepare(url))
    (tmp_path / "taken.sqlite3").write_text("mine")
    with pytest.raises(MaintenanceError, match="exists already"):
        backup_sqlite(url, tmp_path / "taken.sqlite3")
    assert (tmp_path / "taken.sqlite3").read_text() == "mine"
    with pytest.raises(MaintenanceError, match="does not exist"):
        backup_sqlite(url, tmp_path / "no" / "such" / "folder.sqlite3")
    with pytest.raises(MaintenanceError, match="pg_dump"):
        backup_sqlite("postgresql+asyncpg://x@127.0.0.1/sandan", tmp_path / "pg.sqlite3")


def test_backup_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sandan db backup FILE` says where it wrote; a second time, politely refuses."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'live.sqlite3'}"
    asyncio.run(prepare(url))
    monkeypatch.setenv("SANDAN_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    assert main(["db", "backup", "copy.sqlite3"]) == 0
    assert "backed up to copy.sqlite3" in capsys.readouterr().out
    assert main(["db", "backup", "copy.sqlite3"]) == 1
    err = capsys.readouterr().err
    assert "exists already" in err and "Traceback" not in err


async def _rows(url: str) -> tuple[int, int, int]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            people = len((await connection.execute(select(PersonRow.id))).all())
            orders = len((await connection.execute(select(OrderRow.id))).all())
            audit = len((await connection.execute(select(AuditRow.id))).all())
            return people, orders, audit
    finally:
        await engine.dispose()


def test_copy_checks_every_table(sample_db: str, databases: Databases) -> None:
    """Every table arrives identical (counts and checksums); new rows get fresh ids there."""
    target = databases.empty()
    checks = asyncio.run(copy_database(sample_db, target))
    assert checks and all(check.same for check in checks)
    assert {c.name for c in checks} >= {"people", "places", "households", "orders", "outbox"}
    assert asyncio.run(_rows(target)) == asyncio.run(_rows(sample_db))

    async def add_audit() -> None:
        engine = make_engine(target)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    insert(AuditRow).values(
                        at=datetime.now(UTC),
                        action="probe",
                        actor="test",
                        details={},
                    )
                )
        finally:
            await engine.dispose()

    asyncio.run(add_audit())  # an id sequence left behind would collide here
    with pytest.raises(MaintenanceError, match="already holds rows"):
        asyncio.run(copy_database(sample_db, target))


@pytest.mark.skipif(not POSTGRES, reason="needs SANDAN_TEST_POSTGRES_URL")
def test_copy_from_sqlite_to_postgresql(tmp_path: Path, databases: Databases) -> None:
    """The move the operations guide describes: a SQLite community onto PostgreSQL."""
    source = f"sqlite+aiosqlite:///{tmp_path / 'community.sqlite3'}"
    asyncio.run(prepare(source))
    target = databases.empty()
    checks = asyncio.run(copy_database(source, target))
    assert all(check.same for check in checks), [c.line() for c in checks if not c.same]
    assert asyncio.run(_rows(target)) == asyncio.run(_rows(source))
