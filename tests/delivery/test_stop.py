"""`sandan run` asked to stop (SIGTERM, as systemd and docker do) finishes and lets go in order."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.emulator import FakeBotAPI
from storage.db import make_engine, make_sessions
from storage.models import OutboxRow
from tests.delivery.test_crash import ROOT, bot_process


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


async def test_a_bot_started_while_telegram_is_out_of_reach_waits_and_can_be_stopped(
    sample_db: str, tmp_path: Path
) -> None:
    """Nothing answers at the Bot API base: the bot says so and waits; SIGTERM ends it cleanly."""
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "SANDAN_BOT_TOKEN": "123456:TEST-TOKEN",
        "SANDAN_API_BASE": "http://127.0.0.1:9",  # the discard port: nothing listens
        "SANDAN_DATABASE_URL": sample_db,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        first = await asyncio.wait_for(process.stderr.readline(), timeout=60)
        assert b"could not reach http://127.0.0.1:9" in first
        assert b"trying again" in first
        assert process.returncode is None  # waiting, not exited
        process.send_signal(signal.SIGTERM)
        output, errors = await asyncio.wait_for(process.communicate(), timeout=20)
        assert process.returncode == 0
        assert output.decode().strip().endswith("stopped")
        assert b"Traceback" not in errors and b"Unclosed" not in errors
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_a_wrong_token_is_one_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Telegram (here the emulator) refuses the token: one message, exit 1, no traceback."""
    from bot.cli import main

    async def serve() -> None:
        async with FakeBotAPI() as api:
            monkeypatch.setenv("SANDAN_API_BASE", api.base_url)
            done.set()
            await stop.wait()

    loop = asyncio.new_event_loop()
    done, stop = threading.Event(), asyncio.Event()
    server = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    server.start()
    try:
        assert done.wait(10)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("SANDAN_BOT_TOKEN", "654321:NOT-THIS-BOT")
        monkeypatch.setenv("SANDAN_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
        assert main(["run"]) == 1
        err = capsys.readouterr().err
        assert "Telegram refused the bot's token" in err and "Traceback" not in err
    finally:
        loop.call_soon_threadsafe(stop.set)
        server.join(10)
