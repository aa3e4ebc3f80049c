"""Message catalogs (gettext .po files read with Babel) and the function that fills them in."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LOCALES = Path(__file__).parent / "locales"
CATALOG_DIRS = {"zh": "zh_CN", "en": "en"}
# Parameters whose values are codes, shown through the catalog ("status.accepted" → "已接单").
CODED_PARAMS = ("status", "urgency", "reason", "role", "household_kind", "channel")


class Texts:
    """Every user-facing text, by language and key."""

    def __init__(self, catalogs: Mapping[str, Mapping[str, str]], fallback: str = "zh") -> None:
        self._catalogs = catalogs
        self.fallback = fallback

    @classmethod
    def load(cls, directory: Path = LOCALES, fallback: str = "zh") -> Texts:
        """Read the .po catalogs of every language."""
        catalogs: dict[str, dict[str, str]] = {}
        for lang, folder in CATALOG_DIRS.items():
            with (directory / folder / "LC_MESSAGES" / "sandan.po").open("rb") as handle:
                catalog = read_po(handle)
            catalogs[lang] = {
                str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.string, str)
            }
        return cls(catalogs, fallback)

    def languages(self) -> list[str]:
        """Return the languages there are catalogs for."""
        return list(self._catalogs)

    def keys(self, lang: str) -> set[str]:
        """Return the keys a language's catalog defines."""
        return set(self._catalogs.get(lang, {}))

    def raw(self, lang: str, key: str) -> str:
        """Return the untranslated template, falling back to the default language, then the key."""
        for candidate in (lang, self.fallback):
            text = self._catalogs.get(candidate, {}).get(key)
            if text:
                return text
        return key

    def __call__(self, lang: str, key: str, **params: Any) -> str:
        """Return the text for a key in a language, with its parameters filled in."""
        shown = dict(params)
        for name in CODED_PARAMS:
            if name in shown and isinstance(shown[name], str):
                coded = f"{name}.{shown[name]}"
                # A code the catalogs do not know (a new household kind) is shown as it is.
                known = self.raw(lang, coded)
                shown[name] = known if known != coded else shown[name]
        template = self.raw(lang, key)
        try:
            return template.format(**shown)
        except (KeyError, IndexError, ValueError):
            return template
