"""Deep links into the bot and the printable QR codes that carry them."""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import segno

# Telegram's /start payload: at most 64 characters of A-Z a-z 0-9 _ -.
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
BOT_USERNAME = re.compile(r"[A-Za-z0-9_]{1,64}")
BUILDING_PREFIX = "b_"
INVITE_PREFIX = "inv_"
# 16 pixels per module at 300 dpi: a typical building code prints about 5 cm wide.
QR_SCALE = 16
QR_BORDER = 4
QR_DPI = 300


class QrOutError(Exception):
    """The QR codes cannot be written where asked; the message is one line for the operator."""


def start_link(bot_username: str, payload: str) -> str:
    """Return the t.me link that opens the bot with /start and the payload."""
    username = bot_username.removeprefix("@")
    if not BOT_USERNAME.fullmatch(username):
        raise ValueError(f"{bot_username!r} is not a bot username")
    if not START_PAYLOAD.fullmatch(payload):
        raise ValueError(
            f"{payload!r} cannot be a start payload: at most 64 characters of A-Z a-z 0-9 _ -"
        )
    return f"https://t.me/{username}?start={payload}"


def building_link(bot_username: str, building_code: str) -> str:
    """Return the link a building's QR code carries: residents scan it to register there."""
    if not building_code:
        raise ValueError("an empty building code cannot be a start payload")
    return start_link(bot_username, BUILDING_PREFIX + building_code)


def invite_link(bot_username: str, token: str) -> str:
    """Return the link that lets a staff member claim their invitation."""
    if not token:
        raise ValueError("an empty invitation token cannot be a start payload")
    return start_link(bot_username, INVITE_PREFIX + token)


def _sheet(entries: list[tuple[str, str, str, str]]) -> str:
    cards = "\n".join(
        f'<figure><img src="{html.escape(code)}.png" alt="{html.escape(code)}">'
        f"<figcaption><b>{html.escape(zh)}</b><br>{html.escape(en)}<br>"
        f"<small>{html.escape(link)}</small></figcaption></figure>"
        for code, zh, en, link in entries
    )
    return (
        '<!doctype html>\n<html lang="zh"><head><meta charset="utf-8">'
        "<title>扫码登记 Scan to register</title><style>"
        "body{font-family:sans-serif}figure{display:inline-block;width:30%;margin:1em;"
        "text-align:center;break-inside:avoid}img{width:100%}</style></head><body>\n"
        f"{cards}\n</body></html>\n"
    )


def write_building_qr_codes(
    buildings: Iterable[tuple[str, str, str]], bot_username: str, out_dir: Path
) -> list[Path]:
    """Write `{code}.png` for each (code, name_zh, name_en), plus an index.html to print them."""
    entries = [(code, zh, en, building_link(bot_username, code)) for code, zh, en in buildings]
    if out_dir.exists() and not out_dir.is_dir():
        raise QrOutError(f"{out_dir} is a file, not a folder: give --out a folder for the QR codes")
    created = not out_dir.exists()
    staged: Path | None = None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        # Everything is drawn in a hidden folder first and moved in only once all of it is
        # written: a failure midway (a full disk) leaves the folder as it was.
        staged = Path(tempfile.mkdtemp(prefix=".qr-", dir=out_dir))
        for code, _zh, _en, link in entries:
            # Always a full QR code (never Micro QR, which phone cameras do not read).
            segno.make_qr(link, error="m").save(
                str(staged / f"{code}.png"),
                kind="png",
                scale=QR_SCALE,
                border=QR_BORDER,
                dpi=QR_DPI,
            )
        (staged / "index.html").write_text(_sheet(entries), encoding="utf-8")
        paths = [out_dir / f"{code}.png" for code, *_ in entries]
        for path in [*paths, out_dir / "index.html"]:
            os.replace(staged / path.name, path)
    except OSError as error:
        if created:
            with contextlib.suppress(OSError):
                shutil.rmtree(out_dir)
        raise QrOutError(
            f"cannot write the QR codes to {out_dir}: {error.strerror or error}"
        ) from error
    finally:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
    return paths
