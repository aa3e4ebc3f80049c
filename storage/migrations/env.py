"""Alembic environment: runs migrations over an async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from storage.models import Base

config = context.config
target_metadata = Base.metadata


MIGRATION_LOCK = 7_272_740  # any fixed number: PostgreSQL advisory lock for migrations


def run_with(connection: Connection) -> None:
    """Run the migrations on one connection; on PostgreSQL, one instance at a time."""
    if connection.dialect.name == "postgresql":
        # Several instances starting together: the first migrates, the others then find head.
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    """Connect with the async driver and run the migrations."""
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(run_with)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async())
