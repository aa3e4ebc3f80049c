"""The message catalogs: every text the code asks for exists in Chinese and English, alike."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from handlers.menus import RESIDENT_COMMANDS
from handlers.texts import Texts
from workflows.behalf import STAFF_CHANNELS
from workflows.model import Audience, BulletinStatus, OrderStatus, Role, Urgency
from workflows.vocabulary import Channel, Move

# Commands only a person's own menu shows (handlers/menus.py commands_for).
STAFF_COMMANDS = (
    "tasks", "pool", "queue", "stats", "merge", "order", "behalf", "ask",
    "round",  # rounds (issue 17)
    "notice", "notices",  # notices (issue 17)
)  # fmt: skip
ROOT = Path(__file__).resolve().parent.parent
PREFIXES = (
    "btn", "cancel", "cmd", "comment", "confirm", "digest", "error", "followup", "help", "hint",
    "info", "invalid", "lang", "my", "new", "order", "pool", "queue", "rate", "register",
    "reopen", "staff", "start", "stats", "task", "tasks", "visit",
    "lookup", "chase", "staffnote", "reassign",  # supervision (issue 15)
    "extend", "pause", "transfer", "dup",
    # issue 16 (intake): menus, free words, voice, call-backs, safety numbers
    "menu", "intake", "voice", "callback", "safety",
    "clock",
    "reopen", "staff", "start", "stats", "task", "tasks", "visit", "behalf", "channel", "proxy",
    "question",
    "askinfo",  # infoask (issue 15)
    "round",  # rounds (issue 17)
    "notice", "group",  # notices (issue 17)
)  # fmt: skip
KEY = re.compile(rf"^({'|'.join(PREFIXES)})\.[a-z_0-9]+$")


def keys_in_code() -> set[str]:
    """Return every string literal in handlers/ and workflows/ shaped like a catalog key."""
    found: set[str] = set()
    for package in ("handlers", "workflows"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and KEY.match(node.value)
                ):
                    found.add(node.value)
    # The stem of f"btn.star{n}"; and the digest's two notices, drawn by handlers.reports from
    # the digest.* lines and chart labels rather than from one text each.
    stems = {"btn.star", "digest.report", "digest.chart", "lookup.move_", "behalf.by_"}
    stems |= {"notice.audience_", "notice.status_"}  # notices (issue 17)
    return found - stems


def dynamic_keys() -> set[str]:
    """Return the keys the code builds from codes."""
    keys = {f"status.{s.value}" for s in OrderStatus}
    keys |= {f"urgency.{u.value}" for u in Urgency}
    keys |= {f"role.{r.value}" for r in Role}
    keys |= {f"btn.star{n}" for n in range(1, 6)}
    keys |= {f"lookup.move_{m.value}" for m in Move}  # a timeline's lines (handlers/lookup.py)
    keys |= {f"channel.{c.value}" for c in Channel}
    keys |= {f"notice.audience_{a.value}" for a in Audience}  # notices (issue 17)
    keys |= {f"notice.status_{s.value}" for s in BulletinStatus}
    keys |= {f"behalf.by_{c.value}" for c in STAFF_CHANNELS}
    keys |= {f"cmd.{c}" for c in (*RESIDENT_COMMANDS, *STAFF_COMMANDS)}
    keys |= {
        f"reason.{r}"
        for r in (
            "no_rule", "all_declined", "escalated", "no_volunteer", "info", "no_answer", "overdue",
            "returned", "transferred",
        )
    }  # fmt: skip
    keys |= {
        f"household_kind.{k}"
        for k in ("elderly_alone", "disabled", "chronic_illness", "six_helps", "followup")
    }
    keys |= {
        f"invalid.{r}"
        for r in (
            "too_short", "too_long", "category", "too_many_photos", "rating", "household",
            "phone", "language", "place", "expired", "too_many_orders_hour", "too_many_orders_day",
        )
    }  # fmt: skip
    return keys


@pytest.fixture(scope="module")
def texts() -> Texts:
    """Load the real catalogs."""
    return Texts.load()


def placeholders(template: str) -> set[str]:
    """Return the {names} a template fills in."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_code_keys_exist_in_every_language(texts: Texts) -> None:
    """Each key the code uses is translated in both catalogs."""
    wanted = keys_in_code() | dynamic_keys()
    assert len(wanted) > 100
    for lang in ("zh", "en"):
        assert sorted(wanted - texts.keys(lang)) == [], lang


def test_both_languages_have_the_same_keys_and_placeholders(texts: Texts) -> None:
    """Chinese and English define the same keys, each with the same placeholders."""
    assert texts.keys("zh") == texts.keys("en")
    for key in texts.keys("zh"):
        assert placeholders(texts.raw("zh", key)) == placeholders(texts.raw("en", key)), key


def test_texts_fill_in_codes_and_survive_missing_parameters(texts: Texts) -> None:
    """Codes become words; a missing parameter shows the template rather than crashing."""
    assert texts("zh", "new.placed", number="00007", status="offered") == (
        "✅ 已提交，服务单号 00007。\n现在：已交给工作人员，等对方确认。\n有进展会马上告诉您。"
    )
    assert "waiting for a volunteer" in texts("en", "new.placed", number="1", status="pool")
    assert texts("en", "order.accepted") == texts.raw("en", "order.accepted")
    assert texts("fr", "cmd.new") == texts.raw("zh", "cmd.new")


# --- behalf (issue 16): texts a resident of 70 can follow -------------------------------------
# Keys only staff read (their commands are their menu); every other text is a resident's.
STAFF_KEYS = re.compile(
    r"^(task|tasks|queue|pool|visit|digest|stats|staff|card|role|reason|household_kind|cmd|btn"
    r"|channel|behalf|extend|chase|reassign|staffnote|clock|round|console|web)\.|^dup\.merge_usage$"
    r"|^intake\.card_"
    r"|^help\.(worker|volunteer|dispatcher|supervisor|staff_)"
    r"|^group\.(link_refused|grid_needed)$"  # notices (issue 17)
)
COMMAND = re.compile(r"(?<![\w/])/[a-z]+")
# The longest value each placeholder can take (names 100, descriptions 1000, notes 500 …).
LONGEST = {"description": 1000, "note": 500, "reason": 500, "text": 1000, "answer": 1000}
TELEGRAM_TEXT = 4096
BUTTON_LABEL = 32


def utf16(text: str) -> int:
    """Return a text's length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def test_a_residents_text_never_leaves_a_command_as_the_only_way_on(texts: Texts) -> None:
    """A zh text for residents that names a command also says what to tap (按钮 / 点)."""
    only_commands = [
        key
        for key in texts.keys("zh")
        if not STAFF_KEYS.match(key)
        and COMMAND.search(texts.raw("zh", key))
        and "点" not in texts.raw("zh", key)
    ]
    assert only_commands == []


def test_no_text_is_too_long_for_telegram_with_the_longest_names(texts: Texts) -> None:
    """Every text fits a message with each placeholder at its longest; labels are short."""
    for lang in texts.languages():
        for key in texts.keys(lang):
            template = texts.raw(lang, key)
            longest = {name: "长" * LONGEST.get(name, 200) for name in placeholders(template)}
            assert utf16(template.format(**longest)) <= TELEGRAM_TEXT, (lang, key)
            if key.startswith("btn.") and not placeholders(template):
                assert utf16(template) <= BUTTON_LABEL, (lang, key)


def test_resident_texts_say_service_order_not_order(texts: Texts) -> None:
    """The glossary's choice: residents read 服务单, never the shop word 订单 (en: request)."""
    assert [k for k in texts.keys("zh") if "订单" in texts.raw("zh", k)] == []
    assert "服务单" in texts.raw("zh", "cmd.my") and "request" in texts.raw("en", "cmd.my")
