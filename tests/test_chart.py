"""The digest's chart, as a supervisor reads it on a phone."""

from __future__ import annotations

import warnings

from handlers.charts import chart_figure, draw_chart, font_path
from handlers.reports import chart_labels
from handlers.texts import Texts

DAYS = [f"11-{d:02d}" for d in range(18, 31)] + ["12-01"]
NEW = [3, 1, 0, 4, 2, 5, 1, 0, 0, 2, 3, 4, 1, 6]
RESOLVED = [2, 1, 1, 3, 2, 4, 1, 0, 1, 1, 2, 3, 2, 4]


def test_every_day_is_labelled_and_the_reported_day_is_named() -> None:
    """Fourteen distinct day labels; the last one, the day reported on, says so."""
    figure = chart_figure(DAYS, NEW, RESOLVED, chart_labels(Texts.load(), "zh"))
    axes = figure.axes[0]
    shown = [t.get_text() for t in axes.get_xticklabels()]
    assert len(shown) == len(set(shown)) == 14
    assert shown[:13] == DAYS[:13]
    assert shown[-1] == "12-01\n报告日"


def test_chinese_renders_without_missing_glyphs() -> None:
    """The shipped CJK font (Noto Sans CJK SC) has every character of both catalogs' labels."""
    assert font_path().name == "NotoSansCJKsc-Regular.otf"
    for lang in ("zh", "en"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # matplotlib warns of each missing glyph
            png = draw_chart(DAYS, NEW, RESOLVED, chart_labels(Texts.load(), lang))
        assert png.startswith(b"\x89PNG")
