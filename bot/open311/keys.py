"""`sandan api keys add|list|revoke`: the partner systems' keys (shown once, kept hashed)."""

from __future__ import annotations

import argparse
import sys

from bot.clock import SystemClock
from bot.settings import Settings
from storage.db import opened
from storage.open311 import KeyProblem, add_key, list_keys, revoke_key


def add_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `sandan api keys …` to the command line."""
    api = commands.add_parser("api", help="the Open311 API for partner systems (12345 …)")
    api_commands = api.add_subparsers(dest="api_command", required=True)
    keys = api_commands.add_parser("keys", help="partner systems' API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    add = key_commands.add_parser("add", help="make a key for a partner; it is printed once")
    add.add_argument("name", help="the partner's name, e.g. 12345热线")
    add.add_argument(
        "--scope", required=True, help="the code of the street or community it may file for"
    )
    key_commands.add_parser("list", help="list the keys: name, scope, made, revoked")
    revoke = key_commands.add_parser("revoke", help="revoke a partner's key at once")
    revoke.add_argument("name")


async def keys_command(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out `sandan api keys add|list|revoke`; each commits once."""
    now = SystemClock().now()
    async with opened(settings.database_url) as (_, sessions), sessions() as session:
        if args.keys_command == "add":
            try:
                key = await add_key(session, args.name, args.scope, now)
            except KeyProblem as problem:
                print(f"no key made: {problem}", file=sys.stderr)
                return 1
            await session.commit()
            print(f"API key for {args.name.strip()} (scope {args.scope}); it is shown only now:")
            print(key)
            return 0
        if args.keys_command == "list":
            for each in await list_keys(session):
                made = f"{each.created_at:%Y-%m-%d %H:%M}"
                state = f"revoked {each.revoked_at:%Y-%m-%d %H:%M}" if each.revoked_at else "live"
                print(f"{each.name}\t{each.scope_code}\t{made}\t{state}")
            return 0
        if not await revoke_key(session, args.name, now):
            print(f"no live key named {args.name!r}", file=sys.stderr)
            return 1
        await session.commit()
        print(f"revoked the key of {args.name}")
        return 0
