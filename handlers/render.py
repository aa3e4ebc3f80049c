"""Turn a workflow's Notice into the message its recipient sees, in their language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from handlers.events import Button, Send, rows
from handlers.texts import Texts
from workflows.model import Action

BUTTONS_PER_ROW = 2


def callback_data(action: Action) -> str:
    """Return the button data for an action: 'verb:order[:arg]' (well under 64 bytes)."""
    data = f"{action.verb}:{action.order_id}"
    return f"{data}:{action.arg}" if action.arg is not None else data


def action_button(texts: Texts, lang: str, action: Action) -> Button:
    """Return the button for an action, labelled in the person's language."""
    return Button(texts(lang, action.label, **action.params), callback_data(action))


def action_from_json(raw: Mapping[str, Any]) -> Action:
    """Rebuild an Action stored in the outbox."""
    return Action(
        label=str(raw["label"]),
        verb=str(raw["verb"]),
        order_id=int(raw["order_id"]),
        arg=None if raw.get("arg") is None else str(raw["arg"]),
        params=dict(raw.get("params") or {}),
    )


def render(
    texts: Texts,
    *,
    chat_id: int,
    lang: str,
    key: str,
    params: Mapping[str, Any],
    actions: Sequence[Action] = (),
    photo: str | None = None,
) -> Send:
    """Return the message for a notice: text from the catalog, buttons from its actions."""
    buttons = [action_button(texts, lang, a) for a in actions]
    width = 1 if any(a.verb == "hd" for a in actions) else BUTTONS_PER_ROW
    if any(a.verb == "rate" for a in actions):
        width = 5
    return Send(
        chat_id=chat_id,
        text=texts(lang, key, **params),
        buttons=rows(buttons, width),
        photo=photo,
    )
