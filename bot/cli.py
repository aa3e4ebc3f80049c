"""The `sandan` command: run the bot, play the offline demo, migrate, import the organisation."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot.logs import set_up_logging
from bot.open311 import keys as open311_keys
from bot.settings import Settings, settings_problems

NO_TOKEN = """\
Sandan needs a Telegram bot token to talk to Telegram.

  1. In Telegram, open a chat with @BotFather and send /newbot.
  2. Choose a name and a username ending in "bot"; BotFather replies with a token
     like 123456789:AAE-…
  3. Put it in a file named .env beside where you run Sandan:
         SANDAN_BOT_TOKEN=123456789:AAE-…
     (or export SANDAN_BOT_TOKEN in your shell), then import your organisation:
         uv run sandan org import examples/org.yaml
     and start the bot again.

Without a token you can try everything offline: `uv run sandan demo`.
"""

NO_WEBHOOK_SECRET = """\
Webhook mode needs where Telegram reaches the bot and a secret it sends with each update:
    SANDAN_WEBHOOK_BASE=https://bot.example.org     (public HTTPS base; path SANDAN_WEBHOOK_PATH)
    SANDAN_WEBHOOK_SECRET=a-long-random-string       (A-Z, a-z, 0-9, _ and -; up to 256)
`sandan run --webhook` needs the secret; `sandan webhook set` needs both.
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="sandan",
        description="Sandan: a neighbourhood's service requests as the three-list loop, in chat.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", help="run the bot (needs SANDAN_BOT_TOKEN)")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="receive updates on the webhook server instead of long polling",
    )
    webhook = commands.add_parser("webhook", help="where Telegram delivers updates")
    webhook_commands = webhook.add_subparsers(dest="webhook_command", required=True)
    webhook_commands.add_parser(
        "set", help="have Telegram POST updates to SANDAN_WEBHOOK_BASE + SANDAN_WEBHOOK_PATH"
    )
    webhook_commands.add_parser("delete", help="remove the webhook (pending updates stay)")
    webhook_commands.add_parser("info", help="print where and how Telegram delivers updates")
    emulator = commands.add_parser(
        "emulator", help="serve the local Bot API emulator, to run the bot offline against it"
    )
    emulator.add_argument("--port", type=int, default=8081, help="port (default: 8081)")
    demo = commands.add_parser("demo", help="play a whole loop offline and print the chats")
    demo.add_argument("--database", help="SQLite file for the demo (default: a temporary one)")
    db = commands.add_parser("db", help="database migrations")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="apply migrations")
    upgrade.add_argument("revision", nargs="?", default="head")
    downgrade = db_commands.add_parser("downgrade", help="revert migrations")
    downgrade.add_argument("revision")
    backup = db_commands.add_parser(
        "backup", help="write a consistent copy of the SQLite database, safe while the bot runs"
    )
    backup.add_argument("file", type=Path, help="the new backup file (must not exist)")
    copy = db_commands.add_parser(
        "copy", help="copy every table to another, empty database (e.g. PostgreSQL) and check it"
    )
    copy.add_argument("--to", required=True, dest="target", help="the target database URL")
    org = commands.add_parser("org", help="the organisation: import, invites, QR codes")
    org_commands = org.add_subparsers(dest="org_command", required=True)
    org_import = org_commands.add_parser("import", help="import the organisation from YAML")
    org_import.add_argument("file", type=Path)
    org_import.add_argument(
        "--dry-run",
        action="store_true",
        help="print what the import would change, staff roles included, and change nothing",
    )
    invite = org_commands.add_parser("invite", help="print a staff member's invite link")
    invite.add_argument("person", help="the person's code in the organisation file")
    org_commands.add_parser(
        "people", help="list the staff: code, name, joined or not, reachable, roles"
    )
    qr = org_commands.add_parser("qr", help="write one PNG QR code per building")
    qr.add_argument("--out", type=Path, default=Path("qr"), help="output folder (default: qr/)")
    posters = org_commands.add_parser(
        "posters", help="write one printable 亮身份 poster per building (A4 PDF and PNG)"
    )
    posters.add_argument(
        "--out", type=Path, default=Path("posters"), help="output folder (default: posters/)"
    )
    audit = commands.add_parser("audit", help="show the latest staff actions (audit log)")
    audit.add_argument("--limit", type=int, default=50, help="how many (default: 50)")
    open311_keys.add_arguments(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        set_up_logging(verbose=args.verbose)
        print("Sandan's settings are not valid (environment variables or .env):", file=sys.stderr)
        for line in settings_problems(error):
            print(f"  {line}", file=sys.stderr)
        return 2
    set_up_logging(verbose=args.verbose, form=settings.log_format)
    command = args.command
    if command is None:
        if settings.bot_token is None:
            print(NO_TOKEN)
            print("No token set, so here is the offline demo.\n")
            return _demo(None)
        command = "run"
    if command == "run":
        return _run(settings, webhook=getattr(args, "webhook", False))
    if command == "webhook":
        return _webhook(settings, args.webhook_command)
    if command == "demo":
        return _demo(args.database)
    if command == "emulator":
        return _emulator(args.port)
    if command == "db":
        from storage.db import downgrade_sync, upgrade_sync

        if args.db_command in ("backup", "copy"):
            return _maintain(settings, args)
        if args.db_command == "upgrade":
            upgrade_sync(settings.database_url, args.revision)
        else:
            downgrade_sync(settings.database_url, args.revision)
        print(f"database at revision {args.revision}")
        return 0
    if command == "org":
        from bot import admin
        from bot.sending import SendFailed

        try:
            return asyncio.run(admin.org_command(settings, args))
        except SendFailed as error:  # asking Telegram for the bot's @username (links)
            hint = "Set SANDAN_BOT_USERNAME to make links without asking Telegram."
            return _telegram_failed(settings, error, hint)
    if command == "audit":
        from bot import admin

        return asyncio.run(admin.show_audit(settings, args.limit))
    if command == "api":
        return asyncio.run(open311_keys.keys_command(settings, args))
    return 2


def _run(settings: Settings, *, webhook: bool) -> int:
    if settings.bot_token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    if webhook and settings.webhook_secret is None:
        print(NO_WEBHOOK_SECRET, file=sys.stderr)
        return 2
    from bot.app import run_forever
    from bot.sending import SendFailed

    try:
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl+C while stopping
            asyncio.run(run_forever(settings, "webhook" if webhook else "polling"))
    except SendFailed as error:  # Telegram refused getMe: the token is wrong or revoked
        print(f"Telegram refused the bot's token at {settings.api_base}: {error}", file=sys.stderr)
        print("Check SANDAN_BOT_TOKEN (BotFather's /mybots shows it).", file=sys.stderr)
        return 1
    print("stopped")
    return 0


def _webhook(settings: Settings, action: str) -> int:
    if settings.bot_token is None:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    if action == "set" and (settings.webhook_url is None or settings.webhook_secret is None):
        print(NO_WEBHOOK_SECRET, file=sys.stderr)
        return 2
    from bot.adapters import bot_api
    from bot.sending import SendFailed

    async def carry_out() -> None:
        async with bot_api(settings) as adapter:
            if action == "set":
                assert settings.webhook_url is not None and settings.webhook_secret is not None
                await adapter.set_webhook(
                    settings.webhook_url, settings.webhook_secret.get_secret_value()
                )
                print(f"Telegram now delivers updates to {settings.webhook_url}")
            elif action == "delete":
                await adapter.drop_webhook()
                print("webhook removed: run the bot by long polling (`sandan run`)")
            for line in (await adapter.webhook()).lines():
                print(line)

    try:
        asyncio.run(carry_out())
    except SendFailed as error:
        return _telegram_failed(settings, error)
    return 0


def _telegram_failed(settings: Settings, error: Exception, hint: str | None = None) -> int:
    """Say why a call to the Bot API failed: not reached (network, server) or refused; exit 1."""
    from bot.sending import Transient

    if isinstance(error, Transient):  # nothing was refused: Telegram was never reached
        print(f"could not reach {settings.api_base}: {error}", file=sys.stderr)
        if hint:
            print(hint, file=sys.stderr)
    else:
        print(f"Telegram refused: {error}", file=sys.stderr)
    return 1


def _maintain(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out `sandan db backup FILE` or `sandan db copy --to URL`."""
    from storage.maintenance import MaintenanceError, backup_sqlite, copy_database

    try:
        if args.db_command == "backup":
            pages = backup_sqlite(settings.database_url, args.file)
            print(f"backed up to {args.file} ({pages} pages, integrity checked)")
            return 0
        checks = asyncio.run(copy_database(settings.database_url, args.target))
    except MaintenanceError as error:
        print(f"sandan db {args.db_command}: {error}", file=sys.stderr)
        return 1
    for check in checks:
        print(check.line())
    if not all(check.same for check in checks):
        print("the copy differs from the source: do not switch to it", file=sys.stderr)
        return 1
    print("every table copied and checked: set SANDAN_DATABASE_URL to the target and restart")
    return 0


def _emulator(port: int) -> int:
    """Serve the Bot API emulator on localhost until interrupted."""
    from bot.emulator import FakeBotAPI

    async def serve() -> None:
        async with FakeBotAPI(port=port) as api:
            print(f"Bot API emulator at {api.base_url} (token {api.token}); run the bot with")
            print(
                f"  SANDAN_API_BASE={api.base_url} SANDAN_BOT_TOKEN={api.token} uv run sandan run"
            )
            sys.stdout.flush()
            await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        print("stopped")
    except OSError as error:
        print(f"sandan emulator: cannot listen on port {port}: {error}", file=sys.stderr)
        return 1
    return 0


def _demo(database: str | None) -> int:
    from bot.demo import play

    return asyncio.run(play(database))


if __name__ == "__main__":
    sys.exit(main())
