"""Memory: peak RSS of a bot process with 100k open orders (and with none, for comparison).

A scratch SQLite database gets the sample organisation and 100,000 open orders (bulk INSERTs, as
in bench.scale). Then `sandan run` starts as a child process against the fake Bot API served
here on loopback, with the timer sweep every 5 s; one resident registers and places an order,
two sweeps pass over the open orders, and the child's peak RSS (VmHWM) is read from /proc before
it is stopped.

    uv run python -m bench.memory [--orders 100000] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.common import backends, machine, scratch_database
from bench.inbound import converse
from bench.scale import Ids, Writer, organisation, pending, settle, write_all
from bot.demo import prepare, survey
from bot.emulator import FakeBotAPI
from storage.db import make_engine, make_sessions
from storage.uow import SqlUnitOfWork

TOKEN = "4242:BENCH-TOKEN"
SWEEP_SECONDS = 5
ROOT = Path(__file__).resolve().parent.parent


def peak_rss(pid: int) -> int:
    """Return a live process's peak resident set size (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise LookupError("no VmHWM in /proc status")


async def measure(backend: str, orders: int) -> int:
    """Return the peak RSS in KiB of a bot over a database with this many open orders."""
    async with scratch_database(backend) as url:
        await prepare(url)
        writer = Writer(url)
        engine = make_engine(url)
        try:
            if orders:
                org = await organisation(engine, writer)
                # Deadlines ahead of the bot's own clock (not bench.scale's fixed moment): the
                # orders are open and waiting, not 100k timers overdue at once.
                batch = pending(org, Ids(1, 1, 1), orders, seed=1, now=datetime.now(UTC))
                await write_all(writer, iter([batch]))
                await settle(engine, writer.sqlite)
            async with SqlUnitOfWork(make_sessions(engine), lambda: datetime.now(UTC)) as uow:
                place = await survey(uow)
        finally:
            await engine.dispose()
        async with FakeBotAPI(TOKEN, bot_username="sandan_bench_bot") as api:
            env = dict(os.environ)
            env.update(
                SANDAN_BOT_TOKEN=api.token,
                SANDAN_API_BASE=api.base_url,
                SANDAN_BOT_USERNAME=api.bot_username,
                SANDAN_DATABASE_URL=url,
                SANDAN_SWEEP_SECONDS=str(SWEEP_SECONDS),
                SANDAN_POLLING_TIMEOUT="5",
                SANDAN_QUIET_HOURS="",
            )
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                async with asyncio.timeout(900):
                    user = api.user(20_000, "王阿姨", language_code="zh-hans")
                    await converse(user, place, "101", step=300)  # the first sweep may hold it up
                    await asyncio.sleep(2 * SWEEP_SECONDS + 1)  # two sweeps over the orders
                    return peak_rss(child.pid)
            finally:
                if child.returncode is None:
                    child.send_signal(signal.SIGINT)
                    try:
                        await asyncio.wait_for(child.wait(), 15)
                    except TimeoutError:
                        child.kill()
                        await child.wait()


async def main() -> None:
    """Parse the flags, measure with and without the orders, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    print(f"Memory — {machine()}")
    if not await backends([args.backend]):
        return
    empty = await measure(args.backend, 0)
    full = await measure(args.backend, args.orders)
    print(f"peak RSS, sample organisation only:      {empty / 1024:6.1f} MiB")
    print(f"peak RSS, with {args.orders:,} open orders: {full / 1024:6.1f} MiB")
    print(f"difference:                              {(full - empty) / 1024:6.1f} MiB")


if __name__ == "__main__":
    asyncio.run(main())
