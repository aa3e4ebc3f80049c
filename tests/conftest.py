"""Shared fixtures: databases for tests, on SQLite files or, when asked, on PostgreSQL.

Set SANDAN_TEST_POSTGRES_URL (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/postgres, an
account that may create databases) to run every database test on PostgreSQL: each test gets its
own database, copied from a template made once per run. Unset, everything runs on SQLite files.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.emulator.records import Waits

POSTGRES = os.environ.get("SANDAN_TEST_POSTGRES_URL")
_names = itertools.count()


def backend() -> str:
    """Return which database the suite runs on."""
    return "postgresql" if POSTGRES else "sqlite"


async def _admin(*statements: str) -> None:
    """Run statements on the PostgreSQL server outside any transaction."""
    import asyncpg

    assert POSTGRES is not None
    dsn = make_url(POSTGRES).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _pg_url(database: str) -> str:
    assert POSTGRES is not None
    return make_url(POSTGRES).set(database=database).render_as_string(hide_password=False)


class Databases:
    """Makes throw-away databases of the chosen backend."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.created: list[str] = []
        self.prefix = f"sandan_test_{os.getpid()}"

    def empty(self) -> str:
        """Return the URL of a new, empty database."""
        name = f"{self.prefix}_{next(_names)}"
        if POSTGRES:
            asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
            self.created.append(name)
            return _pg_url(name)
        return f"sqlite+aiosqlite:///{self.root / (name + '.sqlite3')}"

    def copy(self, template_url: str) -> str:
        """Return the URL of a new database holding a copy of the template."""
        name = f"{self.prefix}_{next(_names)}"
        if POSTGRES:
            template = make_url(template_url).database
            asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            self.created.append(name)
            return _pg_url(name)
        source = make_url(template_url).database
        assert source is not None
        target = self.root / (name + ".sqlite3")
        shutil.copyfile(source, target)
        return f"sqlite+aiosqlite:///{target}"

    def drop(self, url: str) -> None:
        """Drop a database made here (SQLite files go with the temporary folder)."""
        name = make_url(url).database
        if POSTGRES and name in self.created:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.created.remove(name)

    def drop_all(self) -> None:
        """Drop every database still left."""
        for name in list(self.created):
            self.drop(_pg_url(name))


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    """Return the maker of test databases; drops what is left at the end of the run."""
    made = Databases(tmp_path_factory.mktemp("databases"))
    yield made
    made.drop_all()


@pytest.fixture(scope="session")
def migrated_template(databases: Databases) -> str:
    """Return a database migrated to the newest revision, made once."""
    from storage.db import upgrade_sync

    url = databases.empty()
    upgrade_sync(url)
    return url


@pytest.fixture(scope="session")
def sample_template(databases: Databases, migrated_template: str) -> str:
    """Return a migrated database holding examples/org.yaml, made once."""
    from bot.demo import prepare  # imported here: unit tests need no bot

    url = databases.copy(migrated_template)
    asyncio.run(prepare(url))
    return url


@pytest.fixture
def empty_db(databases: Databases) -> Iterator[str]:
    """Return the URL of an empty database for this test."""
    url = databases.empty()
    yield url
    databases.drop(url)


@pytest.fixture
def migrated_db(databases: Databases, migrated_template: str) -> Iterator[str]:
    """Return the URL of a migrated, empty database for this test."""
    url = databases.copy(migrated_template)
    yield url
    databases.drop(url)


@pytest.fixture
def sample_db(databases: Databases, sample_template: str) -> Iterator[str]:
    """Return the URL of a fresh copy of the sample database for this test."""
    url = databases.copy(sample_template)
    yield url
    databases.drop(url)


def pytest_report_header() -> str:
    """Say which database the run uses."""
    return f"sandan test database: {backend()}"


# How long a simulated person waits for the bot before a test fails: a bound for a bot that never
# answers, not a timing assertion. CI's machine has two cores shared with other work, where a
# step the bot takes in 50 ms now and then takes seconds; 5 s made such tests fail for no fault.
Waits.seconds = 20.0
