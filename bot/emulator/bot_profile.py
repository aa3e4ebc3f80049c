"""The bot's profile: its commands per scope and language, descriptions, and menu buttons."""

from __future__ import annotations

import json
import re
from typing import Any, Final

from bot.emulator.errors import bad
from bot.emulator.parameters import Params
from bot.emulator.records import JSON

BOT_COMMAND_RE: Final = re.compile(r"^[a-z0-9_]{1,32}$")


def scope_key(scope: Any) -> str:
    """A BotCommandScope as a dictionary key (the default scope when none)."""
    if not isinstance(scope, dict) or not scope:
        scope = {"type": "default"}
    return json.dumps(scope, sort_keys=True)


class BotProfile:
    """What the bot set about itself with the set* methods."""

    def __init__(self) -> None:
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.menu_buttons: dict[int | None, JSON] = {}

    def my_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The commands set for a scope (default scope when None) and language."""
        return list(self.commands.get((scope_key(scope), language_code), []))

    async def set_my_commands(self, p: Params) -> bool:
        """setMyCommands: check and keep the commands of a scope and language."""
        commands = p.obj("commands")
        if not isinstance(commands, list):
            raise bad('parameter "commands" is required')
        if len(commands) > 100:
            raise bad("too many commands")
        cleaned: list[JSON] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad("can't parse BotCommand")
            name = str(command.get("command", "")).removeprefix("/")
            description = str(command.get("description", ""))
            if not BOT_COMMAND_RE.match(name):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = (scope_key(p.obj("scope")), p.text("language_code") or "")
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    async def get_my_commands(self, p: Params) -> list[JSON]:
        """getMyCommands: the commands of a scope and language."""
        return self.my_commands(p.obj("scope"), p.text("language_code") or "")

    async def delete_my_commands(self, p: Params) -> bool:
        """deleteMyCommands: forget the commands of a scope and language."""
        self.commands.pop((scope_key(p.obj("scope")), p.text("language_code") or ""), None)
        return True

    async def set_my_description(self, p: Params) -> bool:
        """setMyDescription: keep the description for a language."""
        self.descriptions[("description", p.text("language_code") or "")] = (
            p.text("description") or ""
        )
        return True

    async def get_my_description(self, p: Params) -> JSON:
        """getMyDescription: the description for a language."""
        key = ("description", p.text("language_code") or "")
        return {"description": self.descriptions.get(key, "")}

    async def set_my_short_description(self, p: Params) -> bool:
        """setMyShortDescription: keep the short description."""
        key = ("short_description", p.text("language_code") or "")
        self.descriptions[key] = p.text("short_description") or ""
        return True

    async def get_my_short_description(self, p: Params) -> JSON:
        """getMyShortDescription: the short description for a language."""
        key = ("short_description", p.text("language_code") or "")
        return {"short_description": self.descriptions.get(key, "")}

    async def set_chat_menu_button(self, p: Params) -> bool:
        """setChatMenuButton: keep a chat's (or the default) menu button."""
        button = p.obj("menu_button")
        self.menu_buttons[p.integer("chat_id")] = (
            button if isinstance(button, dict) else {"type": "default"}
        )
        return True

    async def get_chat_menu_button(self, p: Params) -> JSON:
        """getChatMenuButton: a chat's menu button, else the default."""
        chat_id = p.integer("chat_id")
        found = self.menu_buttons.get(chat_id) or self.menu_buttons.get(None)
        return found or {"type": "commands"}
