"""Sandan's settings: one object from environment variables and `.env`, built once in main."""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.outbox import Pace
from workflows.orders import Limits
from workflows.timers import QuietHours, TimerPolicy, clock_time

TELEGRAM_API = "https://api.telegram.org"
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram allows as a webhook secret
BOT_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,200}")  # the bot's id, a colon, its secret
PROXY_SCHEMES = ("http", "https", "socks5", "socks4")
API_PORT = 8090  # the listener's port when the Open311 API is on and SANDAN_MONITOR_PORT unset
# never printed, not even when wrong
SECRETS = ("bot_token", "webhook_secret", "proxy", "console_secret")
# A valid value of each setting, shown when one is wrong.
EXAMPLES = {
    "bot_token": "123456789:AAE-your-token-from-BotFather",
    "api_base": "https://api.telegram.org",
    "database_url": "postgresql+asyncpg://sandan:password@127.0.0.1/sandan",
    "timezone": "Asia/Shanghai",
    "default_language": "zh",
    "digest_time": "08:00",
    "quiet_hours": "22:00-08:00",
    "telegram_library": "aiogram",
    "webhook_base": "https://bot.example.org",
    "webhook_path": "/telegram",
    "webhook_port": "8080",
    "webhook_secret": "a-long-random-string",
    "proxy": "socks5://127.0.0.1:1080",
    "console_base_url": "https://console.example.org",
}


class Settings(BaseSettings):
    """Everything an operator may set; environment variables are prefixed SANDAN_."""

    model_config = SettingsConfigDict(
        env_prefix="SANDAN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_token: SecretStr | None = Field(
        default=None, description="The bot's token from @BotFather; none runs nothing but the demo."
    )
    api_base: str = Field(
        default=TELEGRAM_API,
        description="Bot API server base URL; tests and the demo point it at the local emulator.",
    )
    bot_username: str | None = Field(
        default=None,
        description="The bot's @username for invite and QR links; asked from getMe when unset.",
    )
    database_url: str = Field(
        default="sqlite+aiosqlite:///var/sandan.sqlite3",
        description="SQLAlchemy async URL; a SQLite file by default.",
    )
    timezone: str = Field(default="Asia/Shanghai", description="Local time zone of the community.")
    default_language: str = Field(
        default="zh",
        description="Language for people whose Telegram language is not zh or en.",
    )
    delivery_rate: float = Field(
        default=25.0,
        gt=0,
        description="Messages per second sent at most, overall, by all instances together.",
    )
    instance: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        max_length=64,
        description=(
            "This instance's name, unique among the instances sharing a database (default: the "
            "host name; set it when several run on one host). Claims on outgoing messages are "
            "taken in this name, and released when an instance of that name starts again."
        ),
    )

    chat_rate: float = Field(
        default=1.0, gt=0, description="Messages per second to one chat, after a short burst."
    )
    chat_burst: int = Field(
        default=3, ge=1, description="Messages one chat may get at once before chat_rate applies."
    )
    max_description: int = Field(
        default=1000, ge=20, le=3000, description="Longest order description, in characters."
    )
    max_photos: int = Field(default=5, ge=0, le=10, description="Most photos on one order.")
    orders_per_hour: int = Field(
        default=5, ge=1, description="Orders one resident may place in an hour."
    )
    orders_per_day: int = Field(
        default=20, ge=1, description="Orders one resident may place a day."
    )
    messages_per_minute: int = Field(
        default=30, ge=5, description="Messages and taps one person may send a minute."
    )
    polling_timeout: int = Field(
        default=25, ge=0, le=50, description="Seconds one getUpdates long poll may wait."
    )
    sweep_seconds: float = Field(
        default=30.0, gt=0, description="How often the scheduler looks for due timers, in seconds."
    )
    outbox_keep_days: float = Field(
        default=3,
        gt=0,
        description="Days a sent (or given-up) message is kept before it is deleted; "
        "what it said is emptied as soon as it is sent.",
    )
    remind_at: float = Field(
        default=0.8,
        gt=0,
        lt=1,
        description="Share of the time to accept or resolve after which the holder is reminded.",
    )
    question_minutes: int = Field(
        default=240,
        gt=0,
        description="Minutes a grid worker has to answer a resident's question (咨询); "
        "the worker is reminded at remind_at of it, the dispatcher told when it is up.",
    )
    autoclose_hours: int = Field(
        default=72, ge=1, description="Hours a resolved order waits for the resident's answer."
    )
    visit_grace_hours: int = Field(
        default=24, ge=0, description="Hours after its due time before a visit counts as missed."
    )
    digest_time: str = Field(
        default="08:00",
        description="Local time of supervisors' daily digest, unless set per person.",
    )
    quiet_hours: str = Field(
        default="22:00-08:00",
        description="Local hours in which normal resident notices wait; empty for none.",
    )
    telegram_library: Literal["aiogram", "ptb"] = Field(
        default="aiogram",
        description="The Telegram library the bot runs on: aiogram or python-telegram-bot (ptb).",
    )
    webhook_base: str | None = Field(
        default=None,
        description="Public HTTPS base URL Telegram reaches this bot at (webhook mode).",
    )
    webhook_path: str = Field(
        default="/telegram", pattern=r"^/", description="Path Telegram POSTs updates to."
    )
    webhook_host: str = Field(
        default="127.0.0.1", description="Address the webhook server listens on."
    )
    webhook_port: int = Field(
        default=8080, ge=0, le=65535, description="Port the webhook server listens on."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Secret Telegram sends with each update (webhook mode needs one).",
    )
    proxy: SecretStr | None = Field(
        default=None,
        description=(
            "A proxy for every call to the Bot API, where Telegram is blocked: "
            "http://host:port, socks5://host:port (user:password@ allowed)."
        ),
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="How log lines look on standard error: text, or one JSON object a line.",
    )
    monitor_host: str = Field(
        default="127.0.0.1", description="Address the /healthz and /metrics listener binds."
    )
    monitor_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port of the /healthz and /metrics listener; none (the default) runs none.",
    )
    # open311 (issue 19): the Open311 GeoReport v2 API, on the same listener.
    api_enabled: bool = Field(
        default=False,
        description="Serve the Open311 GeoReport v2 API for partner systems on the monitoring "
        "listener; it then listens on SANDAN_MONITOR_PORT, or 8090 when that is unset.",
    )
    api_path: str = Field(
        default="/open311/v2",
        pattern=r"^/[A-Za-z0-9/_.-]*[A-Za-z0-9_.-]$",
        description="Path prefix of the Open311 API (its endpoints are PREFIX/services.json …).",
    )
    api_rate: int = Field(
        default=120,
        ge=1,
        description="Open311 calls one key (or one address without a key) may make a minute; "
        "more get 429 with Retry-After.",
    )

    @property
    def listener_port(self) -> int | None:
        """Return the port of the /healthz, /metrics (and Open311) listener; None runs none."""
        if self.monitor_port is not None:
            return self.monitor_port
        return API_PORT if self.api_enabled else None

    # console (issue 18): the web console, served on the monitoring listener (monitor_port).
    console_base_url: str | None = Field(
        default=None,
        description=(
            "Public base URL the web console is reached at (its login links and Mini App start "
            "there), e.g. https://console.example.org behind the reverse proxy that forwards to "
            "monitor_port; none: /console tells staff it is not set up."
        ),
    )
    console_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Key that signs console session cookies; the same on every instance. "
            "Default: derived from the bot token."
        ),
    )
    console_session_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="Hours a console session lasts."
    )
    console_initdata_max_age: int = Field(
        default=3600,
        ge=10,
        description="Seconds a Mini App's signed initData stays good for logging in.",
    )

    @field_validator("console_base_url")
    @classmethod
    def _console_base(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = value.strip().rstrip("/")
        if not url.startswith(("https://", "http://")):
            raise ValueError("console_base_url must be an http(s) URL")
        return url

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not BOT_TOKEN.fullmatch(value.get_secret_value().strip()):
            raise ValueError("not a bot token: BotFather's tokens look like 123456789:AAE…")
        return SecretStr(value.get_secret_value().strip()) if value is not None else None

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        url = value.get_secret_value().strip()
        scheme, _, rest = url.partition("://")
        if scheme.lower() not in PROXY_SCHEMES or not rest:
            raise ValueError("not a proxy URL: http://host:port or socks5://host:port")
        return SecretStr(url)

    @property
    def proxy_url(self) -> str | None:
        """Return the proxy's URL (it may hold a password: never log it)."""
        return self.proxy.get_secret_value() if self.proxy is not None else None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            # ZoneInfo's error is a KeyError, which pydantic would not report as a bad value.
            raise ValueError("not a known time zone (an IANA name: Area/City)") from error
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("zh", "en"):
            raise ValueError("default_language must be 'zh' or 'en'")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _allowed_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not SECRET_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("webhook_secret must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @property
    def webhook_url(self) -> str | None:
        """Return the URL Telegram should POST updates to, or None when no base is set."""
        if not self.webhook_base:
            return None
        return self.webhook_base.rstrip("/") + self.webhook_path

    @property
    def zone(self) -> ZoneInfo:
        """Return the community's time zone."""
        return ZoneInfo(self.timezone)

    def timer_policy(self) -> TimerPolicy:
        """Return how the timers behave."""
        return TimerPolicy(
            zone=self.zone,
            remind_at=self.remind_at,
            autoclose_after=timedelta(hours=self.autoclose_hours),
            visit_grace=timedelta(hours=self.visit_grace_hours),
            digest_time=self.digest_time,
            quiet=QuietHours.parse(self.quiet_hours, self.zone),
            question_minutes=self.question_minutes,
        )

    @field_validator("digest_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        clock_time(value)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        QuietHours.parse(value, ZoneInfo("UTC"))
        return value

    def pace(self) -> Pace:
        """Return Telegram's send limits as the delivery workers hold them together."""
        return Pace(
            overall_per_second=self.delivery_rate,
            chat_per_second=self.chat_rate,
            chat_burst=self.chat_burst,
        )

    def limits(self) -> Limits:
        """Return what one resident may send."""
        return Limits(
            description=self.max_description,
            photos=self.max_photos,
            orders_per_hour=self.orders_per_hour,
            orders_per_day=self.orders_per_day,
            messages_per_minute=self.messages_per_minute,
        )


def settings_problems(error: ValidationError) -> list[str]:
    """Return one line per invalid setting: the variable, what is wrong, and a valid example.

    The values of secrets are never repeated.
    """
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        message = str(problem["msg"]).removeprefix("Value error, ")
        line = f"SANDAN_{field.upper()}: {message}"
        if field not in SECRETS and "input" in problem and isinstance(problem["input"], str):
            line += f" (given: {problem['input'][:80]!r})"
        example = EXAMPLES.get(field) or _default_of(field)
        if example:
            line += f"; for example SANDAN_{field.upper()}={example}"
        lines.append(line)
    return lines


def _default_of(field: str) -> str | None:
    """Return a setting's default as text, when it has a plain one."""
    info = Settings.model_fields.get(field)
    default = info.default if info is not None else None
    return str(default) if isinstance(default, int | float | str) and default != "" else None
