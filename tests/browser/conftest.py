"""Browser tests of the web console: real headless Chromium (Debian's) driven by Playwright.

Without /usr/bin/chromium they skip with the reason, unless SANDAN_REQUIRE_BROWSER=1 (as .ci/run
sets it after installing chromium): then they fail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr

from bot.app import running
from bot.clock import ManualClock
from bot.demo import demo_settings, survey
from bot.emulator import FakeBotAPI
from tests.e2e.conftest import World

CHROMIUM = Path(os.environ.get("SANDAN_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("SANDAN_REQUIRE_BROWSER") == "1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def free_port() -> int:
    """Return a port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chromium_or_skip() -> Path:
    """Return Chromium's path; skip (or fail, when the browser is required) without it."""
    if CHROMIUM.exists() or shutil.which(str(CHROMIUM)):
        return CHROMIUM
    reason = f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` to run the browser tests"
    if REQUIRED:
        pytest.fail(reason + " (SANDAN_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture
async def console_world(sample_db: str) -> AsyncIterator[World]:
    """The real bot (aiogram, polling) on the emulator with the console on a known port."""
    port = free_port()
    async with FakeBotAPI() as api:
        settings = demo_settings(api, sample_db).model_copy(
            update={
                "webhook_secret": SecretStr("browser-secret"),
                "monitor_port": port,
                "console_base_url": f"http://127.0.0.1:{port}",
            }
        )
        async with running(settings, ManualClock()) as app:
            async with app.unit_of_work() as uow:
                place = await survey(uow)
            yield World(api, app, place)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium through Playwright, with Debian's browser (no download)."""
    path = chromium_or_skip()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(path), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


def base_of(world: World) -> str:
    """Return the console's base URL."""
    assert world.app.settings.console_base_url is not None
    return world.app.settings.console_base_url


def init_data(token: str, user: dict[str, Any], auth_date: int, **extra: str) -> str:
    """Return Mini App initData signed as Telegram signs it (HMAC-SHA256 with "WebAppData")."""
    fields = {"auth_date": str(auth_date), "query_id": "AAE-test", "user": json.dumps(user)}
    fields.update(extra)
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


async def screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    """Save a full-page screenshot in the test's tmp dir and copy it to docs/screenshots/."""
    shot = tmp_path / f"{name}.png"
    await page.screenshot(path=str(shot), full_page=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOTS / shot.name)
    return shot


def now_epoch(world: World) -> int:
    """Return the bot's clock as seconds since the epoch."""
    return int(world.clock.now().timestamp())
