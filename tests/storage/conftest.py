"""The storage tests' shared scene: a migrated database with the sample organisation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.demo import Neighbourhood, survey
from storage.db import make_engine, make_sessions
from storage.uow import SqlUnitOfWork


@dataclass
class Db:
    """A migrated database with the sample organisation (its engine kept to watch the SQL)."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: ManualClock
    place: Neighbourhood

    def uow(self) -> SqlUnitOfWork:
        """Return a fresh unit of work."""
        return SqlUnitOfWork(self.sessions, self.clock.now)


@pytest.fixture
async def db(sample_db: str) -> AsyncIterator[Db]:
    """Open a fresh copy of the migrated sample database."""
    engine = make_engine(sample_db)
    sessions = make_sessions(engine)
    async with SqlUnitOfWork(sessions, ManualClock().now) as uow:
        place = await survey(uow)
    yield Db(engine, sessions, ManualClock(), place)
    await engine.dispose()
