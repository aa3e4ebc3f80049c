"""The message catalogs: every text the code asks for exists in Chinese and English, alike."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from handlers.menus import RESIDENT_COMMANDS
from handlers.texts import Texts
from workflows.model import OrderStatus, Role, Urgency

ROOT = Path(__file__).resolve().parent.parent
PREFIXES = (
    "btn", "cancel", "cmd", "comment", "confirm", "digest", "error", "followup", "help", "hint",
    "info", "invalid", "lang", "my", "new", "order", "pool", "queue", "rate", "register",
    "reopen", "staff", "start", "stats", "task", "tasks", "visit",
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
    return found - {"btn.star", "digest.report", "digest.chart"}


def dynamic_keys() -> set[str]:
    """Return the keys the code builds from codes."""
    keys = {f"status.{s.value}" for s in OrderStatus}
    keys |= {f"urgency.{u.value}" for u in Urgency}
    keys |= {f"role.{r.value}" for r in Role}
    keys |= {f"btn.star{n}" for n in range(1, 6)}
    keys |= {f"cmd.{c}" for c in (*RESIDENT_COMMANDS, "tasks", "pool", "queue", "stats")}
    keys |= {
        f"reason.{r}"
        for r in (
            "no_rule", "all_declined", "escalated", "no_volunteer", "info", "no_answer", "overdue",
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
