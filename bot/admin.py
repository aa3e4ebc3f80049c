"""Admin commands: import the organisation, issue invites, print building QR codes."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.adapters import bot_api
from bot.clock import SystemClock
from bot.posters import PosterOutError, write_posters
from bot.qr import QrOutError, invite_link, write_building_qr_codes
from bot.settings import Settings
from handlers.texts import Texts
from storage.db import opened
from storage.orgfile import OrgFileError, import_org, load_org_file
from storage.posters import poster_facts
from storage.roster import staff_roster
from storage.uow import SqlUnitOfWork
from workflows.model import PlaceKind
from workflows.people import issue_invite


async def bot_username(settings: Settings) -> str | None:
    """Return the bot's username from the settings, or ask Telegram when a token is set."""
    if settings.bot_username:
        return settings.bot_username
    if settings.bot_token is None:
        return None
    async with bot_api(settings) as adapter:
        return await adapter.username()


async def org_command(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out `sandan org import|invite|qr|posters`."""
    async with opened(settings.database_url) as (_, sessions):
        return await _org(settings, args, sessions)


async def _org(
    settings: Settings, args: argparse.Namespace, sessions: async_sessionmaker[AsyncSession]
) -> int:
    clock = SystemClock()
    if args.org_command == "import":
        try:
            org = load_org_file(args.file)
            report = await import_org(
                sessions, org, clock=clock, dry_run=getattr(args, "dry_run", False)
            )
        except OrgFileError as error:
            print(f"{args.file}: nothing was imported.", file=sys.stderr)
            for message in error.messages:
                print(f"  {message}", file=sys.stderr)
            return 1
        for line in report.lines():
            print(line)
        return 0
    if args.org_command == "people":
        async with sessions() as session:
            roster = await staff_roster(session)
        for member in roster:
            print(member.line())
        joined = sum(m.joined for m in roster)
        print(f"{len(roster)} staff, {joined} joined, {len(roster) - joined} not yet")
        return 0
    username = await bot_username(settings)
    if username is None:
        print(
            "Links need the bot's @username: set SANDAN_BOT_USERNAME (or SANDAN_BOT_TOKEN).",
            file=sys.stderr,
        )
        return 2
    if args.org_command == "invite":
        async with SqlUnitOfWork(sessions, clock.now) as uow:
            person = await uow.people.by_code(args.person)
            if person is None:
                print(f"no person with code {args.person!r}", file=sys.stderr)
                return 1
            token = await issue_invite(uow, clock, person)
            await uow.commit()
        print(f"{person.name}: {invite_link(username, token)}")
        print("The link works once; send it to this person only.")
        return 0
    if args.org_command == "posters":
        async with sessions() as session:
            facts = await poster_facts(session)
        try:
            written = write_posters(facts, username, args.out, Texts.load())
        except PosterOutError as error:
            print(f"nothing was written: {error}", file=sys.stderr)
            return 1
        print(f"wrote {len(facts)} posters (PDF and PNG) to {args.out}/")
        return 0 if written or not facts else 1
    async with SqlUnitOfWork(sessions, clock.now) as uow:
        buildings = []
        for community in await uow.places.children(None, PlaceKind.COMMUNITY):
            for grid in await uow.places.children(community.id, PlaceKind.GRID):
                for b in await uow.places.children(grid.id, PlaceKind.BUILDING):
                    buildings.append((b.code, b.names.zh, b.names.en))
    try:
        paths = write_building_qr_codes(buildings, username, args.out)
    except QrOutError as error:
        print(f"nothing was written: {error}", file=sys.stderr)
        return 1
    print(f"wrote {len(paths)} QR codes to {args.out}/")
    return 0


async def show_audit(settings: Settings, limit: int) -> int:
    """Print the latest audit entries, newest first."""
    async with (
        opened(settings.database_url) as (_, sessions),
        SqlUnitOfWork(sessions, SystemClock().now) as uow,
    ):
        entries = await uow.audit.latest(limit)
    if not entries:
        print("the audit log is empty")
    for e in entries:
        details = " ".join(f"{k}={v}" for k, v in e.details.items())
        who = e.actor or (f"person {e.actor_id}" if e.actor_id else "?")
        print(f"{e.at:%Y-%m-%d %H:%M:%S} {e.action:<18} {who:<12} {e.subject or ''} {details}")
    return 0
