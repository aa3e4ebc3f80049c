"""The monthly summary's two messages drawn for delivery: the figures, and the chart as a photo."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.charts import ChartLabels, draw_chart
from handlers.events import Send
from handlers.texts import Texts

SUMMARY = "pub.summary"
SUMMARY_CHART = "pub.summary_chart"


def _or_dash(value: object) -> str:
    return "—" if value is None else str(value)


def summary_text(texts: Texts, lang: str, p: Mapping[str, Any]) -> str:
    """Return the summary's text: figures, service hours by team, the honour list."""

    def t(key: str, **params: Any) -> str:
        return texts(lang, key, **params)

    title = "pub.summary_preview_title" if p.get("preview") else "pub.summary_title"
    lines = [
        t(
            title,
            community=p.get("community", ""),
            month=p.get("month", ""),
            period=p.get("period"),
        ),
        t(
            "pub.summary_figures",
            placed=p.get("placed", 0),
            resolved=p.get("resolved", 0),
            on_time=p.get("on_time", 0),
        ),
    ]
    if p.get("ratings"):
        lines.append(
            t(
                "pub.summary_rating",
                satisfied=p.get("satisfied", 0),
                ratings=p["ratings"],
                avg=p.get("rating_avg"),
            )
        )
    else:
        lines.append(t("pub.summary_no_rating"))
    lines.append(
        t(
            "pub.summary_times",
            respond=_or_dash(p.get("respond_hours")),
            resolve=_or_dash(p.get("resolve_hours")),
        )
    )
    teams = [line for line in p.get("teams", []) if line.get("services")]
    if teams:
        lines.append(t("pub.summary_teams_header"))
        lines += [t("pub.summary_team_line", **line) for line in teams]
    lines.append(t("pub.summary_honour_header"))
    honour = p.get("honour", [])
    lines += [t("pub.summary_honour_line", **line) for line in honour]
    if p.get("unnamed"):
        lines.append(t("pub.summary_unnamed", count=p["unnamed"]))
    if not honour and not p.get("unnamed"):
        lines.append(t("pub.summary_honour_none"))
    return "\n".join(lines)


def draw(texts: Texts, chat_id: int, lang: str, key: str, params: Mapping[str, Any]) -> Send:
    """Return the summary's text, or its chart of orders placed and resolved per day."""
    if key == SUMMARY_CHART:
        labels = ChartLabels(
            title=texts(
                lang,
                "pub.summary_chart_title",
                community=params.get("community", ""),
                month=params.get("month", ""),
            ),
            new=texts(lang, "digest.chart_new"),
            resolved=texts(lang, "digest.chart_resolved"),
            axis=texts(lang, "digest.chart_axis"),
            reported="",
        )
        png = draw_chart(
            params.get("days", []),
            params.get("new", []),
            params.get("resolved", []),
            labels,
            mark_last=False,
        )
        caption = texts(
            lang,
            "pub.summary_chart_caption",
            community=params.get("community", ""),
            month=params.get("month", ""),
        )
        return Send(chat_id, caption, upload=png)
    return Send(chat_id, summary_text(texts, lang, params))
