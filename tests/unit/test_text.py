"""Normalising what people type, shortening names, reading phone numbers (workflows.text)."""

from __future__ import annotations

import pytest

from tests.fakes import sample_world
from workflows.errors import InvalidInput
from workflows.people import set_phone
from workflows.text import display_name, has_visible, normalise, shorten


def test_normalise_drops_controls_zero_width_and_bidi_and_keeps_lines() -> None:
    """NUL, zero-width and bidi characters go; newlines stay; tabs are spaces; NFC after."""
    typed = "水管\x00漏\u200b水\u202e了\tA\r\nB\u2066\ufeffe\u200b\u0301"
    assert normalise(typed) == "水管漏水了 A\nBé"
    assert normalise("e\u0301") == "é"


def test_text_with_nothing_visible_is_empty() -> None:
    """Spaces, zero-width characters, fillers and lone accents show nothing."""
    assert not has_visible(normalise("\u200b\u200c\u200d\u2060\ufeff \n\u3000\u3164\u2800"))
    assert not has_visible("\u0301")
    assert has_visible("🌸") and has_visible("。")


def test_shorten_never_cuts_a_letter_from_its_accent_tone_or_flag_half() -> None:
    """The cut moves back to where a cluster starts; an ellipsis says something was cut."""
    assert shorten("short", 40) == "short"
    assert shorten("a" * 38 + "e\u0301xyz", 40) == "a" * 38 + "…"
    assert shorten("a" * 38 + "👍🏽xyz", 40) == "a" * 38 + "…"
    assert shorten("a" * 38 + "🇨🇳🇯🇵", 40) == "a" * 38 + "…"
    assert shorten("a" * 37 + "🇨🇳🇯🇵", 40) == "a" * 37 + "🇨🇳…"
    assert len(shorten("长" * 100, 40)) == 40


def test_a_display_name_is_first_and_last_on_one_line() -> None:
    """First and last name join with one space; a blank name is None (the chat says 居民)."""
    assert display_name(" 王 \n 阿姨 ", "李", 40) == "王 阿姨 李"
    assert display_name("A" * 64, "B" * 64, 40) == "A" * 39 + "…"
    assert display_name(" ", "\u3164", 40) is None


async def test_full_width_digits_are_a_phone_and_other_digits_are_not() -> None:
    """A Chinese keyboard's full-width number is stored in ASCII; ①, ², ٣ are refused."""
    w = sample_world()
    resident = w.org.resident

    await set_phone(w.uow, resident, "＋８６　１３８－００００－０００２")
    assert w.person(resident.id).phone == "+8613800000002"
    for bad in ("①③⑧⓪⓪⓪⓪①①①①", "¹³⁸⁰⁰⁰⁰¹¹¹¹", "١٣٨٠٠٠٠١١١١", "𝟏𝟑𝟖𝟎𝟎𝟎𝟎𝟏𝟏𝟏𝟏"):
        with pytest.raises(InvalidInput):
            await set_phone(w.uow, resident, bad)
    assert w.person(resident.id).phone == "+8613800000002"
