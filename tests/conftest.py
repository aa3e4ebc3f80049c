"""Shared fixtures: a migrated SQLite file holding the sample organisation, made once per run."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate a SQLite file and import examples/org.yaml into it, once."""
    from bot.demo import prepare  # imported here: unit tests need no bot

    path = tmp_path_factory.mktemp("template") / "sample.sqlite3"
    asyncio.run(prepare(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
def sample_db(sample_template: Path, tmp_path: Path) -> str:
    """Return the URL of a fresh copy of the sample database for this test."""
    path = tmp_path / "sandan.sqlite3"
    shutil.copyfile(sample_template, path)
    return f"sqlite+aiosqlite:///{path}"
