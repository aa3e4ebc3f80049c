"""`sandan run` asked to stop (SIGTERM, as systemd and docker do) finishes and lets go in order."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from sqlalchemy import func, select

from bot.emulator import FakeBotAPI
from storage.db import make_engine, make_sessions
from storage.models import OutboxRow
from tests.delivery.test_crash import bot_process


async def test_sigterm_stops_the_bot_gracefully(sample_db: str, tmp_path: Path) -> None:
    """A person is answered, then SIGTERM: the bot says it stopped, exits 0, holds no claim."""
    async with FakeBotAPI() as api, bot_process(api, sample_db, tmp_path) as process:
        user = api.user(7001, "王阿姨")
        user.send("/start")
        await user.wait_for("请选择您所在的社区")
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=20)
        assert process.returncode == 0
        assert output.decode().strip().endswith("stopped")
    engine = make_engine(sample_db)
    try:
        async with make_sessions(engine)() as session:
            claimed = await session.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(OutboxRow.lease_owner.is_not(None))
            )
        assert claimed == 0  # claims are let go on the way out, for the other instances
    finally:
        await engine.dispose()
