"""Turn a workflow's Notice into the message its recipient sees, in their language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any, Protocol

from handlers import posts, reports
from handlers.events import Button, Edit, Keyboard, Send, rows
from handlers.texts import Texts
from workflows.model import EDIT_KEY, REPLY_KEY, VOICE_KEY, Action, Notice
from workflows.vocabulary import Verb

BUTTONS_PER_ROW = 2
# console (issue 18): a staff member's card of an order carries a button that opens the order's
# page in the console as a Telegram Mini App; a digest one that opens the board. Telegram opens
# Mini Apps over HTTPS only, and web_app buttons only in private chats, where these cards go.
STAFF_CARD_VERBS = frozenset(
    {
        Verb.ACCEPT,
        Verb.DECLINE,
        Verb.ON_WAY,
        Verb.NOTE,
        Verb.RESOLVE,
        Verb.ESCALATE,
        Verb.CLAIM,
        Verb.HAND_OVER,
        Verb.EXTEND,
        Verb.PAUSE,
        Verb.RESUME,
        Verb.ASK_RESIDENT,
        Verb.TRANSFER,
        Verb.RETURN,
    }
)
MINI_APP = "/console/app"


def console_row(
    texts: Texts, lang: str, console_url: str | None, actions: Sequence[Action], *, board: bool
) -> Keyboard:
    """Return the row with the console's Mini App button for a staff card or a digest, if any."""
    if not console_url or not console_url.startswith("https://"):
        return ()
    app = console_url.rstrip("/") + MINI_APP
    if board:
        return ((Button(texts(lang, "console.btn_board"), web_app=app),),)
    orders = {a.target_id for a in actions if a.verb in STAFF_CARD_VERBS}
    if len(orders) != 1:
        return ()
    page = f"{app}?next=/console/orders/{orders.pop()}"
    return ((Button(texts(lang, "console.btn_order"), web_app=page),),)


EDIT = EDIT_KEY  # an outbox row holding an edit of a message already sent


def callback_data(action: Action) -> str:
    """Return the button data for an action: 'verb:id[:arg]' (well under 64 bytes)."""
    if action.arg is not None:
        return action.verb.data(action.target_id, action.arg)
    return action.verb.data(action.target_id)


def action_button(texts: Texts, lang: str, action: Action) -> Button:
    """Return the button for an action, labelled in the person's language."""
    return Button(texts(lang, action.label, **action.params), callback_data(action))


def action_from_json(raw: Mapping[str, Any]) -> Action:
    """Rebuild an Action stored in the outbox (rows written before 'target_id' say 'order_id')."""
    return Action(
        label=str(raw["label"]),
        verb=Verb(str(raw["verb"])),
        target_id=int(raw["target_id"] if "target_id" in raw else raw["order_id"]),
        arg=None if raw.get("arg") is None else str(raw["arg"]),
        params=dict(raw.get("params") or {}),
    )


def reply_notice(person_id: int, message: Send) -> Notice:
    """Wrap a reply already written in the person's language for the outbox."""
    return Notice(
        person_id,
        REPLY_KEY,
        {
            "text": message.text,
            "buttons": [[asdict(b) for b in row] for row in message.buttons],
            "photo": message.photo,
            "ask_contact": message.ask_contact,
            "reply_keys": list(message.reply_keys),
            "remove_keyboard": message.remove_keyboard,
            "menu": [list(row) for row in message.menu],
        },
        photo=message.photo,
        ref=message.ref,
    )


def reply_message(chat_id: int, params: Mapping[str, Any]) -> Send:
    """Rebuild a reply stored by reply_notice."""
    return Send(
        chat_id=chat_id,
        text=str(params["text"]),
        buttons=_keyboard(params.get("buttons", [])),
        photo=params.get("photo"),
        ask_contact=params.get("ask_contact"),
        reply_keys=tuple(params.get("reply_keys", [])),
        remove_keyboard=bool(params.get("remove_keyboard")),
        menu=tuple(tuple(str(k) for k in row) for row in params.get("menu", [])),
    )


def edit_notice(person_id: int, edit: Edit) -> Notice:
    """Wrap an edit of one of the person's messages for the outbox, so it is retried in order."""
    return Notice(
        person_id,
        EDIT,
        {
            "message_id": edit.message_id,
            "text": edit.text,
            "buttons": [[asdict(b) for b in row] for row in edit.buttons],
        },
    )


def edit_message(chat_id: int, params: Mapping[str, Any]) -> Edit:
    """Rebuild an edit stored by edit_notice."""
    text = params.get("text")
    return Edit(
        chat_id=chat_id,
        message_id=int(params["message_id"]),
        text=None if text is None else str(text),
        buttons=_keyboard(params.get("buttons", [])),
    )


def _keyboard(raw: Sequence[Sequence[Mapping[str, Any]]]) -> Keyboard:
    return tuple(
        tuple(Button(str(b["text"]), b.get("data"), b.get("url"), b.get("web_app")) for b in row)
        for row in raw
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
    console_url: str | None = None,
) -> Send | Edit:
    """Return the message for a notice: text from the catalog, buttons from its actions (and
    the console's Mini App button on staff cards and digests when the console is served)."""
    if key == EDIT:
        edit = edit_message(chat_id, params)
        if params.get("text_key"):  # written by a workflow: the text is said at delivery
            text = texts(lang, str(params["text_key"]), **dict(params.get("text_params") or {}))
            edit = replace(edit, text=text)
        if actions:  # a card edited in place keeps buttons of the reader's language
            buttons = [action_button(texts, lang, a) for a in actions]
            console = console_row(texts, lang, console_url, actions, board=False)
            edit = replace(edit, buttons=rows(buttons, BUTTONS_PER_ROW) + console)
        return edit
    if key == REPLY_KEY:
        return reply_message(chat_id, params)
    if key in reports.DRAWN:  # a digest's overdue lines carry 督办 buttons, four to an order
        supervise = [action_button(texts, lang, a) for a in actions]
        keyboard = rows(supervise, reports.SUPERVISE_WIDTH)
        if key == reports.REPORT:
            keyboard += console_row(texts, lang, console_url, actions, board=True)
        return reports.draw(texts, chat_id, lang, key, params, keyboard)
    if key in posts.DRAWN:  # publicity (issue 17): a channel's 公示 post or monthly summary
        return posts.draw(texts, chat_id, lang, key, params)
    if key == VOICE_KEY:  # a resident's voice, video note or audio, sent to the worker
        clip = (str(params["kind"]), str(params["file_id"]))
        return Send(chat_id=chat_id, text=texts(lang, key, **params), clip=clip)
    buttons = [action_button(texts, lang, a) for a in actions]
    width = 1 if any(a.verb == Verb.HAND_OVER for a in actions) else BUTTONS_PER_ROW
    if any(a.verb == Verb.RATE for a in actions):
        width = 5
    return Send(
        chat_id=chat_id,
        text=texts(lang, key, **params),
        buttons=rows(buttons, width) + console_row(texts, lang, console_url, actions, board=False),
        photo=photo,
    )


class Queued(Protocol):
    """A message as the outbox keeps it (its row, or the delivery worker's copy of it)."""

    @property
    def chat_id(self) -> int: ...
    @property
    def lang(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def params(self) -> Mapping[str, Any]: ...
    @property
    def actions(self) -> Sequence[Mapping[str, Any]]: ...
    @property
    def photo(self) -> str | None: ...


def render_queued(texts: Texts, message: Queued, console_url: str | None = None) -> Send | Edit:
    """Return the message an outbox entry stands for (its actions are kept as JSON)."""
    return render(
        texts,
        chat_id=message.chat_id,
        lang=message.lang,
        key=message.key,
        params=message.params,
        actions=[action_from_json(a) for a in message.actions],
        photo=message.photo,
        console_url=console_url,
    )
