"""`sandan api keys add|list|revoke`: a partner's key is printed once and kept only hashed."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.cli import main
from storage.db import opened
from storage.models import ApiKeyRow, AuditRow
from storage.open311 import key_for, key_hash


def rows(url: str) -> tuple[list[ApiKeyRow], list[AuditRow]]:
    """Return the keys and the audit log as the database holds them."""

    async def read() -> tuple[list[ApiKeyRow], list[AuditRow]]:
        async with opened(url) as (_, sessions), sessions() as session:
            keys = list(await session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id)))
            audit = list(await session.scalars(select(AuditRow).order_by(AuditRow.id)))
            return keys, audit

    return asyncio.run(read())


def live(url: str, key: str) -> bool:
    """Return whether the API would take the key."""

    async def check() -> bool:
        async with opened(url) as (_, sessions), sessions() as session:
            return await key_for(session, key) is not None

    return asyncio.run(check())


def test_keys_are_added_listed_and_revoked(
    sample_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The key is printed once; the database keeps its sha256; revoked, it is refused."""
    monkeypatch.setenv("SANDAN_DATABASE_URL", sample_db)
    assert main(["api", "keys", "add", "12345热线", "--scope", "c-heping"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert len(key) >= 43  # 32 random bytes
    [row], audit = rows(sample_db)
    assert row.name == "12345热线" and row.key_hash == key_hash(key) and key not in row.key_hash
    assert [(a.action, a.subject) for a in audit][-1] == ("api_key_add", "12345热线")
    assert live(sample_db, key)

    assert main(["api", "keys", "add", "12345热线", "--scope", "xinhua"]) == 1
    assert "already a key" in capsys.readouterr().err
    assert main(["api", "keys", "add", "小程序", "--scope", "g-heping-1"]) == 1
    assert "not the code of a street or community" in capsys.readouterr().err
    assert main(["api", "keys", "add", "街道平台", "--scope", "xinhua"]) == 0
    capsys.readouterr()

    assert main(["api", "keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert "12345热线\tc-heping" in listed and "街道平台\txinhua" in listed
    assert key not in listed

    assert main(["api", "keys", "revoke", "12345热线"]) == 0
    assert not live(sample_db, key)
    assert main(["api", "keys", "revoke", "12345热线"]) == 1
    assert main(["api", "keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out.splitlines()[0]
    assert [a.action for a in rows(sample_db)[1]][-1] == "api_key_revoke"
