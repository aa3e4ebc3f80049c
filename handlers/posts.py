"""What the bot posts in a community's 公示 channel, drawn at delivery from the catalog.

A closed order's post (workflows/publicity.py gives only what may be public) and the monthly
summary with its chart (workflows/summary.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers import summary
from handlers.events import Send
from handlers.texts import Texts

POST = "pub.post"
SUMMARY = "pub.summary"
SUMMARY_CHART = "pub.summary_chart"
DRAWN = frozenset({POST, SUMMARY, SUMMARY_CHART})
STARS = 5


def stars(rating: int) -> str:
    """Return a rating as five stars, filled up to it."""
    return "★" * rating + "☆" * (STARS - rating)


def took(texts: Texts, lang: str, hours: int) -> str:
    """Return how long a fix took: in hours within a day, else in days."""
    if hours < 24:
        return texts(lang, "pub.took_hours", hours=hours)
    return texts(lang, "pub.took_days", days=round(hours / 24))


def post_text(texts: Texts, lang: str, params: Mapping[str, Any]) -> str:
    """Return a closed order's post: category, building, time taken, rating; words if agreed."""
    rating = int(params.get("rating") or 0)
    lines = [
        texts(
            lang,
            POST,
            category=params.get("category", ""),
            building=params.get("building", ""),
            took=took(texts, lang, int(params.get("hours") or 1)),
            rating=stars(rating) if rating else texts(lang, "pub.not_rated"),
        )
    ]
    if params.get("description"):
        lines.append(texts(lang, "pub.post_words", description=params["description"]))
    return "\n".join(lines)


def draw(texts: Texts, chat_id: int, lang: str, key: str, params: Mapping[str, Any]) -> Send:
    """Return the message a channel post stands for."""
    if key == POST:
        return Send(chat_id, post_text(texts, lang, params))
    return summary.draw(texts, chat_id, lang, key, params)
