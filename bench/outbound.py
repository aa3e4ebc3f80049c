"""Outbound: queued notifications through the real delivery worker against enforced limits.

10,000 notices to 2,000 chats wait in the outbox when the bot starts; the real delivery worker
and rate limiter send them to the fake Bot API, which meters Telegram's limits (30 messages/s
overall, 1/s per chat after a burst of 3) and answers 429 to any send over them. Printed: the
achieved messages/s and its ratio to 30, the 429s, the violations per scope. At ~30/s the default
run takes about 6 minutes; `--messages 1000 --chats 200` is a quick look.

    uv run python -m bench.outbound [--messages N] [--chats N] [--rate R] [--backend B]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import insert

from bench.common import backends, machine, scratch_database, verdict
from bot.app import running
from bot.demo import demo_settings, prepare
from bot.emulator import FakeBotAPI, RateLimits
from storage.db import make_engine
from storage.models import OutboxRow, PersonRow

TELEGRAM_RATE = 30.0
FIRST_CHAT = 700_000


async def queue_notices(url: str, messages: int, chats: int) -> None:
    """Add the people and their notices to the outbox, as workflows leave them (round-robin)."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as connection:
            people = [
                {
                    "name": f"居民{i}",
                    "lang": "zh",
                    "telegram_id": FIRST_CHAT + i,
                    "reachable": True,
                }
                for i in range(chats)
            ]
            ids = list(await connection.scalars(insert(PersonRow).returning(PersonRow.id), people))
            rows = [
                {
                    "person_id": ids[i % chats],
                    "chat_id": FIRST_CHAT + i % chats,
                    "lang": "zh",
                    "key": "task.offer_lapsed",
                    "params": {"number": f"{i + 1:05d}"},
                    "actions": [],
                    "urgent": False,
                    "created_at": now,
                    "attempts": 0,
                }
                for i in range(messages)
            ]
            for start in range(0, len(rows), 1000):
                await connection.execute(insert(OutboxRow), rows[start : start + 1000])
    finally:
        await engine.dispose()


async def measure(backend: str, messages: int, chats: int, rate: float) -> dict[str, float]:
    """Deliver the queued notices once; return the figures."""
    async with scratch_database(backend) as url:
        await prepare(url)
        await queue_notices(url, messages, chats)
        async with FakeBotAPI("4242:BENCH", bot_username="sandan_bench_bot") as api:
            api.limits = RateLimits(global_per_sec=TELEGRAM_RATE, enforce=True)
            for i in range(chats):
                api.user(FIRST_CHAT + i, f"居民{i}", started=True)
            settings = demo_settings(api, url).model_copy(
                update={
                    "delivery_rate": rate,
                    "chat_burst": 3,
                    "quiet_hours": "",
                    "sweep_seconds": 3600,
                }
            )
            limit = messages / (0.5 * rate) + 60  # far more than it should take
            started = time.monotonic()
            async with running(settings) as app:
                for _ in range(int(limit / 0.5)):  # bounded: gives up after `limit` seconds
                    if app.delivery.sent >= messages:
                        break
                    await asyncio.sleep(0.5)
            wall = time.monotonic() - started
        sends = [c for c in api.calls if c.method == "sendMessage"]
        ok = sorted(c.time for c in sends if c.ok)
        refused = sum(1 for c in sends if c.error_code == 429)
        span = ok[-1] - ok[0] if len(ok) > 1 else float("nan")
        scopes = Counter(v.scope for v in api.rate_violations)
        return {
            "delivered": len(ok),
            "span": span,
            "wall": wall,
            "rate": (len(ok) - 1) / span if len(ok) > 1 else 0.0,
            "429": refused,
            "global": scopes["global"],
            "chat": scopes["chat"],
            "chats_over": len({v.chat_id for v in api.rate_violations if v.scope == "chat"}),
        }


async def main() -> None:
    """Parse the flags, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--chats", type=int, default=2_000)
    parser.add_argument(
        "--rate",
        type=float,
        default=TELEGRAM_RATE,
        help="delivery rate for the run (default 30/s, Telegram's limit)",
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    rate = args.rate
    print(f"Outbound — {machine()}")
    print(
        f"{args.messages} notices to {args.chats} chats on {args.backend}, delivery rate "
        f"{rate}/s, fake Bot API enforcing {TELEGRAM_RATE:.0f}/s overall and 1/s per chat "
        f"(burst 3); expect ~{args.messages / rate / 60:.1f} minutes"
    )
    if not await backends([args.backend]):
        return
    f = await measure(args.backend, args.messages, args.chats, rate)
    ratio = f["rate"] / TELEGRAM_RATE
    print(f"delivered          {f['delivered']:.0f} of {args.messages} in {f['span']:.1f} s")
    print(f"achieved           {f['rate']:.2f} messages/s = {ratio:.3f} × 30/s")
    print(f"429 answers        {f['429']:.0f}")
    print(f"violations         {f['global']:.0f} overall, {f['chat']:.0f} per-chat")
    print(f"chats over 1/s     {f['chats_over']:.0f}")
    print(f"wall (with start)  {f['wall']:.1f} s")
    met = ratio >= 0.95 and f["429"] == 0 and f["delivered"] == args.messages
    print(f"target ≥ 0.95 × 30/s with zero 429s: {verdict(met)}")
    if rate != shipped_rate():
        shipped = shipped_rate()
        print(f"(SANDAN_DELIVERY_RATE ships as {shipped:g}/s: at most {shipped / 30:.2f} × 30/s)")


def shipped_rate() -> float:
    """Return the delivery rate an operator gets without setting SANDAN_DELIVERY_RATE."""
    from bot.settings import Settings

    return float(Settings.model_fields["delivery_rate"].default)


if __name__ == "__main__":
    asyncio.run(main())
