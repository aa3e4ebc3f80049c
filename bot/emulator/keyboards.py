"""Keyboards and their limits: reply markup, inline buttons (100 a message, 64-byte data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from bot.emulator.errors import bad
from bot.emulator.parameters import Params
from bot.emulator.records import JSON, InlineButton, Stored

CALLBACK_DATA_LIMIT: Final = 64
INLINE_BUTTON_LIMIT: Final = 100


@dataclass
class Markup:
    """What a request asks to show under a message or instead of the keyboard."""

    inline: JSON | None = None
    keyboard: list[list[str]] | None = None
    remove: bool = False
    force_reply: bool = False
    persistent: bool = False  # a reply keyboard shown even when the person hides it


def read_markup(p: Params) -> Markup:
    """The reply_markup of a request, checked like Telegram (100 buttons, 64-byte data)."""
    value = p.obj("reply_markup")
    if value is None:
        return Markup()
    if not isinstance(value, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in value:
        return Markup(inline=validate_inline(value["inline_keyboard"]))
    if "keyboard" in value:
        rows = value["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad("can't parse reply keyboard markup JSON object")
        texts = [[b if isinstance(b, str) else str(b.get("text", "")) for b in row] for row in rows]
        return Markup(keyboard=texts, persistent=bool(value.get("is_persistent")))
    if value.get("remove_keyboard"):
        return Markup(remove=True)
    if value.get("force_reply"):
        return Markup(force_reply=True)
    raise bad("can't parse reply keyboard markup JSON object")


def validate_inline(rows: Any) -> JSON:
    """The inline keyboard cleaned of nulls, or the 400 Telegram answers for it."""
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad('can\'t parse inline keyboard button: field "inline_keyboard" must be an Array')
    if sum(len(row) for row in rows) > INLINE_BUTTON_LIMIT:
        raise bad("reply markup is too long")
    clean_rows: list[list[JSON]] = []
    for row in rows:
        clean_row: list[JSON] = []
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            clean = {k: v for k, v in button.items() if v is not None}
            actions = set(clean) - {"text"}
            if not actions:
                raise bad(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in clean:
                data = clean["callback_data"]
                size = len(str(data).encode("utf-8"))
                if not isinstance(data, str) or not 1 <= size <= CALLBACK_DATA_LIMIT:
                    raise bad("BUTTON_DATA_INVALID")
            if "url" in clean and not str(clean["url"]).strip():
                raise bad("BUTTON_URL_INVALID")
            if "web_app" in clean:  # Telegram opens Mini Apps over HTTPS only
                app = clean["web_app"]
                url = str(app.get("url", "")) if isinstance(app, dict) else ""
                if not url.startswith("https://"):
                    raise bad(
                        f"inline keyboard button Web App URL '{url}' is invalid: "
                        "Only HTTPS links are allowed"
                    )
            clean_row.append(clean)
        clean_rows.append(clean_row)
    return {"inline_keyboard": clean_rows}


def buttons_of(markup: JSON | None) -> list[list[InlineButton]]:
    """The inline buttons of a reply_markup, as the user sees them."""
    if not markup:
        return []
    return [
        [
            InlineButton(
                b["text"], b.get("callback_data"), b.get("url"), (b.get("web_app") or {}).get("url")
            )
            for b in row
        ]
        for row in markup.get("inline_keyboard", [])
    ]


def find_button(stored: Stored, wanted: str) -> InlineButton | None:
    """The button with this text, else the one text fragment, else this callback_data."""
    sent = stored.sent
    if sent is None:
        return None
    buttons = [b for row in sent.buttons for b in row]
    for b in buttons:
        if b.text == wanted:
            return b
    partial = [b for b in buttons if wanted in b.text]
    if len(partial) > 1:
        raise AssertionError(
            f"{wanted!r} matches several buttons in message {sent.message_id}: "
            + " ".join(f"[{b.text}]" for b in partial)
        )
    if partial:
        return partial[0]
    for b in buttons:
        if b.callback_data == wanted:
            return b
    return None
