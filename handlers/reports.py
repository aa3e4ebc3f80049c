"""The digest's two notices drawn for delivery: the report's text, and the chart as a photo."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from handlers.charts import ChartLabels, draw_chart
from handlers.events import Keyboard, Send
from handlers.texts import Texts

REPORT = "digest.report"
CHART = "digest.chart"
DRAWN = frozenset({REPORT, CHART})
TITLES = {"daily": "digest.title_daily", "weekly": "digest.title_weekly"}
SUPERVISE_WIDTH = 4  # an overdue order's buttons: its number, 催办, 改派, 上报
# clocks (issue 15): each stage's name, and each kind of group the rates are given for.
STAGES = {
    "queued": "digest.stage_queued",
    "pool": "digest.stage_pool",
    "offered": "digest.stage_offered",
    "accepted": "digest.stage_accepted",
    "on_way": "digest.stage_on_way",
    "resolved": "digest.stage_resolved",
}
GROUP_KINDS = {
    "community": "digest.rate_kind_community",
    "grid": "digest.rate_kind_grid",
    "category": "digest.rate_kind_category",
}


def draw(
    texts: Texts,
    chat_id: int,
    lang: str,
    key: str,
    params: Mapping[str, Any],
    buttons: Keyboard = (),
) -> Send:
    """Return the message for a digest notice: the report's text, or the chart as a photo."""
    if key == CHART:
        png = draw_chart(
            params.get("days", []),
            params.get("new", []),
            params.get("resolved", []),
            chart_labels(texts, lang),
            backlog=params.get("backlog"),
        )
        caption = texts(lang, "digest.chart_caption", scope=params.get("scope", ""))
        return Send(chat_id, caption, upload=png)
    return Send(chat_id, report_text(texts, lang, params), buttons)


def chart_labels(texts: Texts, lang: str) -> ChartLabels:
    """Return the chart's words from the catalog."""
    return ChartLabels(
        title=texts(lang, "digest.chart_title"),
        new=texts(lang, "digest.chart_new"),
        resolved=texts(lang, "digest.chart_resolved"),
        axis=texts(lang, "digest.chart_axis"),
        reported=texts(lang, "digest.chart_reported"),
        backlog=texts(lang, "digest.chart_backlog"),
    )


def duration(texts: Texts, lang: str, minutes: float | None) -> str:
    """Return a span of minutes as minutes, hours or days, whichever reads best."""
    if minutes is None:
        return texts(lang, "digest.none")
    if minutes < 90:
        return texts(lang, "digest.minutes", value=round(minutes))
    if minutes < 48 * 60:
        return texts(lang, "digest.hours", value=round(minutes / 60, 1))
    return texts(lang, "digest.days", value=round(minutes / 1440, 1))


def report_text(texts: Texts, lang: str, p: Mapping[str, Any]) -> str:
    """Return the digest's text: a title, the counts, then each list that has something in it."""

    def t(key: str, **params: Any) -> str:
        return texts(lang, key, **params)

    kind = p.get("kind", "daily")
    lines = [
        t(TITLES.get(kind, TITLES["daily"]), scope=p.get("scope", ""), period=p.get("period", ""))
        if kind != "stats"
        else t("digest.title_stats", scope=p.get("scope", ""), until=p.get("until", "")),
        t(
            "digest.counts",
            new=p.get("new", 0),
            accepted=p.get("accepted", 0),
            resolved=p.get("resolved", 0),
            overdue=p.get("overdue", 0),
        ),
        t(
            "digest.medians",
            accept=duration(texts, lang, p.get("accept_minutes")),
            resolve=duration(texts, lang, p.get("resolve_minutes")),
        ),
        t("digest.satisfaction", average=p["rating_avg"], count=p.get("rating_count", 0))
        if p.get("rating_avg") is not None
        else t("digest.no_ratings"),
    ]
    questions = {k: p.get(f"questions_{k}", 0) for k in ("asked", "answered", "late")}
    if any(questions.values()):  # behalf (issue 16): questions (咨询), counted apart
        lines.insert(2, t("question.digest_line", **questions))

    def section(header: str, key: str, items: list[dict[str, Any]], **extra: Any) -> None:
        if items:
            lines.append("")
            lines.append(t(header, **extra))
            lines.extend(t(key, **item) for item in items)

    # clocks (issue 15): the backlog per stage, the oldest waiting, the three rates.
    stages = [
        dict(item, stage=_named(t, STAGES, item.get("stage"))) for item in p.get("stages", [])
    ]
    section("digest.stage_header", "digest.stage_line", stages)
    oldest = p.get("oldest")
    if oldest:
        lines.append(
            t(
                "digest.oldest",
                stage=_named(t, STAGES, oldest.get("stage")),
                age=duration(texts, lang, oldest.get("minutes")),
            )
        )
    if "rates" in p:
        lines.append("")
        lines.append(t("digest.rates", **_percents(texts, lang, p["rates"])))
        lines.append(
            t(
                "digest.first_response",
                value=duration(texts, lang, p.get("first_response_minutes")),
            )
        )
    groups = [
        dict(
            _percents(texts, lang, item),
            kind=_named(t, GROUP_KINDS, item.get("kind")),
            name=item.get("name", ""),
        )
        for item in p.get("rate_groups", [])
    ]
    section("digest.rate_header", "digest.rate_line", groups)
    section("digest.by_category", "digest.category_line", p.get("categories", []))
    section("digest.by_grid", "digest.grid_line", p.get("grids", []))
    overdue = [
        dict(item, late=duration(texts, lang, item.get("late_minutes")))
        for item in p.get("overdue_list", [])
    ]
    section("digest.overdue_header", "digest.overdue_line", overdue)
    if p.get("overdue_more"):
        lines.append(t("digest.overdue_more", count=p["overdue_more"]))
    section(
        "digest.missed_header",
        "digest.missed_line",
        p.get("missed_visits", []),
        count=p.get("missed_count", 0),
    )
    section("round.digest_header", "round.digest_line", p.get("rounds", []))  # issue 17
    section("digest.breach_header", "digest.breach_line", p.get("breaches", []))
    section("digest.breach_grid_header", "digest.breach_grid_line", p.get("breach_grids", []))
    # publicity (issue 17): the month's honour list (笑脸墙), naming only who agreed.
    section("team.digest_honour_header", "pub.summary_honour_line", p.get("honour", []))
    if p.get("honour_unnamed"):
        if not p.get("honour"):
            lines += ["", t("team.digest_honour_header")]
        lines.append(t("pub.summary_unnamed", count=p["honour_unnamed"]))
    return "\n".join(lines)


def _percents(texts: Texts, lang: str, rates: Mapping[str, Any]) -> dict[str, str]:
    """Return the three rates as percentages, or a dash where nothing was due."""
    return {
        name: (
            texts(lang, "digest.percent", value=rates[name])
            if rates.get(name) is not None
            else texts(lang, "digest.none")
        )
        for name in ("response", "resolution", "satisfaction")
    }


def _named(t: Callable[..., str], keys: Mapping[str, str], code: Any) -> str:
    """Return a code's name from the catalog, or the code itself if it has none (a new stage)."""
    key = keys.get(str(code))
    return t(key) if key is not None else str(code)
