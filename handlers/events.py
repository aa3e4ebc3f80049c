"""What the handlers see of Telegram, and what they ask the adapter to do: plain data only."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Incoming:
    """One incoming chat event, whatever Telegram library delivered it."""

    update_id: int
    user_id: int
    chat_id: int
    first_name: str
    language_code: str | None = None
    chat_type: str = "private"
    text: str | None = None
    callback_id: str | None = None
    callback_data: str | None = None
    message_id: int | None = None
    photo: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    contact_phone: str | None = None
    contact_user_id: int | None = None
    other: str | None = None  # sticker, video, document, …: kinds we do not take
    last_name: str | None = None
    clip: tuple[str, int, str] | None = None  # voice, video note or audio: file id, seconds, kind
    media_group_id: str | None = None  # photos sent as one album share it
    # notices (issue 17): the @username of the bot a group message replies to, if it does.
    reply_to_bot: str | None = None

    @property
    def command(self) -> str | None:
        """Return the command name ('new' for '/new@bot args'), or None."""
        if not self.text or not self.text.startswith("/"):
            return None
        head = self.text.split(maxsplit=1)[0][1:]
        return head.split("@", 1)[0].lower() or None

    @property
    def args(self) -> str:
        """Return the text after the command."""
        if not self.text:
            return ""
        parts = self.text.split(maxsplit=1)
        return parts[1].strip() if len(parts) > 1 else ""


@dataclass(frozen=True)
class Unreadable:
    """An update the Telegram library could not read: what its raw JSON still tells."""

    update_id: int
    chat_id: int | None = None  # the private chat to answer in, when the JSON names one
    user_id: int | None = None
    language_code: str | None = None
    callback_id: str | None = None  # a button press whose query can still be answered


@dataclass(frozen=True)
class Button:
    """An inline button: callback data, a URL, or a Mini App's URL (private chats only)."""

    text: str
    data: str | None = None
    url: str | None = None
    web_app: str | None = None  # console (issue 18): opens this HTTPS page as a Mini App


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Send:
    """Send a message (or a photo with a caption) to a chat."""

    chat_id: int
    text: str
    buttons: Keyboard = ()
    photo: str | None = None
    ask_contact: str | None = None  # a reply-keyboard button that shares the phone number
    reply_keys: tuple[str, ...] = ()  # plain reply-keyboard buttons under it
    remove_keyboard: bool = False
    upload: bytes | None = None  # a PNG drawn here (a digest's chart), sent as the photo
    # What the message is about (workflows/cards.py), so that its buttons can be taken back.
    ref: str | None = None
    # A persistent reply keyboard under the chat (the menu: rows of texts a tap sends).
    menu: tuple[tuple[str, ...], ...] = ()
    clip: tuple[str, str] | None = None  # a voice, video_note or audio to send: (kind, file id)


@dataclass(frozen=True)
class Edit:
    """Replace a message's text (when given) and its inline buttons."""

    chat_id: int
    message_id: int
    text: str | None = None
    buttons: Keyboard = ()


@dataclass(frozen=True)
class Answer:
    """Answer a button press; every press gets one."""

    callback_id: str
    text: str | None = None
    alert: bool = False


@dataclass(frozen=True)
class SetCommands:
    """Set the command menu of one chat (or the default menu when chat_id is None)."""

    commands: tuple[tuple[str, str], ...]
    chat_id: int | None = None
    language: str | None = None


@dataclass(frozen=True)
class SetMenuButton:
    """console (issue 18): make a private chat's menu button open a Mini App (setChatMenuButton)."""

    chat_id: int
    text: str
    url: str


Reply = Send | Edit | Answer | SetCommands | SetMenuButton


def rows(buttons: list[Button], width: int) -> Keyboard:
    """Arrange buttons in rows of at most `width`."""
    return tuple(tuple(buttons[i : i + width]) for i in range(0, len(buttons), width))
