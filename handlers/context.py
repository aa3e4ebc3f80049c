"""The per-update context a conversation step works with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from handlers.events import Answer, Button, Edit, Incoming, Keyboard, Reply, Send, rows
from handlers.menus import menu_rows
from handlers.render import action_button
from handlers.texts import Texts
from workflows.errors import NotRegistered
from workflows.model import Action, ChatState, Person
from workflows.orders import DEFAULT_LIMITS, Limits
from workflows.ports import Clock, UnitOfWork
from workflows.timers import TimerPolicy
from workflows.vocabulary import Verb

# Ids in buttons are database keys (INTEGER): a forged one beyond that range is refused like any
# other bad button (PostgreSQL would refuse the query, and the person get an internal error).
MAX_ID = 2**31 - 1


def is_id(text: str) -> bool:
    """Tell whether a button's argument can be a database id."""
    return text.isascii() and text.isdigit() and int(text) <= MAX_ID


@dataclass(frozen=True)
class Links:
    """What handlers need to build links: the bot's @username, the web console's address."""

    bot_username: str | None = None
    console_url: str | None = None  # console (issue 18): its public base URL, when served


@dataclass
class Context:
    """One incoming event, its unit of work, who sent it, and the replies being built."""

    event: Incoming
    uow: UnitOfWork
    clock: Clock
    texts: Texts
    lang: str
    person: Person | None
    state: ChatState | None
    links: Links = field(default_factory=Links)
    limits: Limits = DEFAULT_LIMITS
    policy: TimerPolicy = field(default_factory=TimerPolicy)
    replies: list[Reply] = field(default_factory=list)
    answered: bool = False

    def t(self, key: str, **params: Any) -> str:
        """Return a text in this person's language."""
        return self.texts(self.lang, key, **params)

    def say(
        self,
        key: str,
        buttons: Keyboard = (),
        *,
        photo: str | None = None,
        remove_keyboard: bool = False,
        ref: str | None = None,
        menu: bool = False,
        **params: Any,
    ) -> None:
        """Reply in this chat with a text from the catalog (`ref`: what its buttons act on).

        With `menu`, the person's menu keyboard (handlers/menus.py) comes with it.
        """
        self.replies.append(
            Send(
                self.event.chat_id,
                self.t(key, **params),
                buttons,
                photo,
                remove_keyboard=remove_keyboard,
                ref=ref,
                menu=menu_rows(self.texts, self.lang, self.person) if menu else (),
            )
        )

    def send(self, message: Send) -> None:
        """Reply with a ready-made message."""
        self.replies.append(message)

    def answer(self, key: str | None = None, *, alert: bool = False, **params: Any) -> None:
        """Answer the button press being handled (once)."""
        if self.event.callback_id is None or self.answered:
            return
        text = self.t(key, **params) if key else None
        self.replies.append(Answer(self.event.callback_id, text, alert))
        self.answered = True

    def clear_buttons(self, text: str | None = None) -> None:
        """Take the buttons off the message whose button was pressed, so it is not pressed twice."""
        self.edit_pressed(text, ())

    def show_choice(self, choice: str) -> None:
        """Turn the answered question into what was chosen ("✔️ 1号楼"), without its buttons."""
        self.clear_buttons(self.t("answer.chosen", choice=choice))

    def edit_pressed(self, text: str | None, buttons: Keyboard) -> None:
        """Change the message whose button was pressed: its text (None: as it is) and buttons."""
        if self.event.message_id is not None and self.event.callback_id is not None:
            self.replies.append(Edit(self.event.chat_id, self.event.message_id, text, buttons))

    def button(self, key: str, data: str, **params: Any) -> Button:
        """Return an inline button labelled from the catalog."""
        return Button(self.t(key, **params), data)

    def verb_button(self, verb: Verb, *parts: object) -> Button:
        """Return an inline button with the verb's own label and data 'verb[:part…]'."""
        return Button(self.t(verb.label), verb.data(*parts))

    def action_buttons(self, actions: Sequence[Action], width: int = 2) -> Keyboard:
        """Return buttons for workflow actions in this person's language."""
        return rows([action_button(self.texts, self.lang, a) for a in actions], width)

    def require(self) -> Person:
        """Return the registered person, or raise NotRegistered."""
        if self.person is None:
            raise NotRegistered()
        return self.person

    async def set_state(self, state: ChatState | None) -> None:
        """Set where the person is in a conversation (None ends it).

        The state is staged in the update's unit of work, so it is saved by the update's one
        commit with everything else, or thrown away with it.
        """
        await self.uow.chats.put(self.event.user_id, state)
        self.state = state

    async def answered_text(self, need_key: str) -> tuple[int, str] | None:
        """Return (order id, text) of a step that asked for words, ending it; or ask again."""
        state = self.state
        assert state is not None
        if not self.event.text or self.event.command:
            self.say(need_key)
            return None
        await self.set_state(None)
        return int(state.data["order_id"]), self.event.text
