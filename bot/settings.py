"""Sandan's settings: one object from environment variables and `.env`, built once in main."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TELEGRAM_API = "https://api.telegram.org"


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
        default=25.0, description="Messages per second the delivery worker sends at most, overall."
    )

    chat_rate: float = Field(
        default=1.0, gt=0, description="Messages per second to one chat, after a short burst."
    )
    chat_burst: int = Field(
        default=3, ge=1, description="Messages one chat may get at once before chat_rate applies."
    )
    polling_timeout: int = Field(
        default=25, ge=0, le=50, description="Seconds one getUpdates long poll may wait."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("zh", "en"):
            raise ValueError("default_language must be 'zh' or 'en'")
        return value

    @property
    def zone(self) -> ZoneInfo:
        """Return the community's time zone."""
        return ZoneInfo(self.timezone)
