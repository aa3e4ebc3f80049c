"""What a person typed, made safe to keep and to compare: one set of rules for every channel.

Telegram passes on whatever a phone's keyboard produced: decomposed accents, zero-width joiners,
bidi overrides that turn a worker's card around, NUL (which PostgreSQL refuses and SQLite keeps).
`normalise` is applied once, where an event enters the handlers; the workflows then only trim,
measure and shorten.
"""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"
# Characters that draw nothing although Unicode files them as letters or symbols.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Where a line ends, whatever the sender's platform wrote.
_LINE_BREAKS = str.maketrans({"\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n"})
# Categories of characters that are dropped: controls, formats (zero-width, bidi), lone surrogates.
_DROPPED = frozenset({"Cc", "Cf", "Cs"})
# Categories that show something on their own: letters, digits, punctuation, symbols, private use.
_SHOWN = frozenset("LNPS")
# Characters that belong to the one before them: cutting in front of one would leave it alone.
_JOINED = frozenset({"Mn", "Mc", "Me"})
_MODIFIERS = range(0x1F3FB, 0x1F400)  # skin tones
_REGIONAL = range(0x1F1E6, 0x1F200)  # two of these make a flag
# Digits a Chinese keyboard in full-width mode types, and the signs that go with a phone number.
_FULL_WIDTH = str.maketrans(
    {chr(0xFF10 + d): str(d) for d in range(10)}
    | {"＋": "+", "－": "-", "（": "(", "）": ")", "\u3000": " "}
)


def normalise(text: str) -> str:
    """Return the text in NFC without control, zero-width or bidi characters; newlines kept."""
    text = text.replace("\r\n", "\n").translate(_LINE_BREAKS).replace("\t", " ")
    kept = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) not in _DROPPED)
    # NFC last: dropping a zero-width character can bring a letter and its accent together.
    return unicodedata.normalize("NFC", kept)


def is_visible(ch: str) -> bool:
    """Return whether a character shows something on its own (not a space, mark or filler)."""
    category = unicodedata.category(ch)
    return (category[0] in _SHOWN or category == "Co") and ch not in _BLANK


def has_visible(text: str) -> bool:
    """Return whether the text has at least one character a reader would see."""
    return any(is_visible(ch) for ch in text)


def shorten(text: str, limit: int) -> str:
    """Return the text cut to at most `limit` characters, with an ellipsis, never mid-character.

    A combining accent, a skin tone or the second half of a flag stays with what it belongs to:
    the cut moves back to the start of that cluster.
    """
    if len(text) <= limit:
        return text
    end = max(limit - len(ELLIPSIS), 0)
    while end > 0 and _joins_previous(text, end):
        end -= 1
    if end > 0 and ord(text[end - 1]) in _REGIONAL:
        run = 0
        while end - run > 0 and ord(text[end - run - 1]) in _REGIONAL:
            run += 1
        end -= run % 2  # half a flag would show as a lone letter in a box
    return text[:end].rstrip() + ELLIPSIS


def _joins_previous(text: str, index: int) -> bool:
    """Return whether the character at `index` belongs to the one before it."""
    ch = text[index]
    return (
        unicodedata.category(ch) in _JOINED
        or ord(ch) in _MODIFIERS
        or "\ufe00" <= ch <= "\ufe0f"  # variation selectors (text or emoji style)
    )


def display_name(first: str, last: str | None, limit: int) -> str | None:
    """Return a person's name (normalised already) on one line and shortened; None if blank."""
    name = " ".join(" ".join(part.split()) for part in (first, last or "") if part.strip())
    if not has_visible(name):
        return None
    return shorten(name, limit)


def phone_characters(text: str) -> str:
    """Return the text with full-width digits and phone signs turned into their ASCII forms."""
    return text.translate(_FULL_WIDTH)
