"""Reading the console's query strings and forms: every value checked, with the field named.

A value that cannot be used raises `Invalid(field)`; the page then says which field was wrong
and nothing is read or written with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from storage.board import BoardFilters
from workflows.model import OPEN_STATUSES, Urgency
from workflows.vocabulary import Channel

MAX_ID = 2**31 - 1
MAX_PAGE = 100_000


class Invalid(ValueError):
    """A field of a form or query that cannot be used."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def optional_id(values: Mapping[str, Any], name: str) -> int | None:
    """Return an id field (empty: None), or raise Invalid."""
    raw = str(values.get(name, "") or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ID or int(raw) < 1:
        raise Invalid(name)
    return int(raw)


def required_id(values: Mapping[str, Any], name: str) -> int:
    """Return an id field that must be given, or raise Invalid."""
    found = optional_id(values, name)
    if found is None:
        raise Invalid(name)
    return found


def choice(values: Mapping[str, Any], name: str, allowed: set[str]) -> str | None:
    """Return one of the allowed values (empty: None), or raise Invalid."""
    raw = str(values.get(name, "") or "").strip()
    if not raw:
        return None
    if raw not in allowed:
        raise Invalid(name)
    return raw


def short_text(values: Mapping[str, Any], name: str, limit: int) -> str:
    """Return a text field of at most `limit` characters (may be empty), or raise Invalid."""
    raw = str(values.get(name, "") or "").strip()
    if len(raw) > limit or any(ord(c) < 32 and c not in "\n\t" for c in raw):
        raise Invalid(name)
    return raw


def words(values: Mapping[str, Any], name: str, limit: int) -> str:
    """Return a text that must be given (a reason, a note), or raise Invalid."""
    found = short_text(values, name, limit)
    if not found:
        raise Invalid(name)
    return found


def day(values: Mapping[str, Any], name: str) -> date | None:
    """Return a YYYY-MM-DD date field (empty: None), or raise Invalid."""
    raw = str(values.get(name, "") or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as error:
        raise Invalid(name) from error


def moment_of(values: Mapping[str, Any], name: str, zone: tzinfo, at: time) -> datetime:
    """Return a date field that must be given as a moment that day, local, or raise Invalid."""
    found = day(values, name)
    if found is None:
        raise Invalid(name)
    return datetime.combine(found, at, tzinfo=zone)


def date_range(values: Mapping[str, Any], zone: tzinfo) -> tuple[datetime | None, datetime | None]:
    """Return the from/to days of a filter as moments (to: the end of that day)."""
    since, until = day(values, "since"), day(values, "until")
    if since and until and until < since:
        raise Invalid("until")
    return (
        datetime.combine(since, time(), tzinfo=zone) if since else None,
        datetime.combine(until + timedelta(days=1), time(), tzinfo=zone) if until else None,
    )


def board_filters(values: Mapping[str, Any]) -> BoardFilters:
    """Return the board's filters from its query string, or raise Invalid."""
    search = short_text(values, "q", 100)
    number = None
    stripped = search.lstrip("#")
    if stripped.isascii() and stripped.isdigit() and len(stripped) <= 9:
        number, search = int(stripped), ""
    raw_page = str(values.get("page", "") or "1")
    if not (raw_page.isascii() and raw_page.isdigit()) or not 1 <= int(raw_page) <= MAX_PAGE:
        raise Invalid("page")
    return BoardFilters(
        community_id=optional_id(values, "community"),
        grid_id=optional_id(values, "grid"),
        category_id=optional_id(values, "category"),
        urgency=choice(values, "urgency", {str(u) for u in Urgency}),
        channel=choice(values, "channel", {str(c) for c in Channel}),
        status=choice(values, "status", {str(s) for s in OPEN_STATUSES}),
        overdue=choice(values, "overdue", {"1"}) == "1",
        number=number,
        words=search,
        page=int(raw_page),
    )
