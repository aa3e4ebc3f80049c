"""The digest's chart: new against resolved orders per day, as a PNG readable on a phone.

Chinese labels need a CJK font, and a fresh machine may have none: the chart uses Noto Sans CJK
SC (思源黑体, SIL Open Font License), which ships inside the PyPI package `mplfonts` (made for
matplotlib users), so nothing is downloaded at run time and no system font is assumed.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

FONT_PACKAGE = "mplfonts"
FONT_FILE = "fonts/NotoSansCJKsc-Regular.otf"
NEW_COLOUR = "#e4572e"  # warm: what came in
RESOLVED_COLOUR = "#2e86ab"  # cool: what was done
BACKLOG_COLOUR = "#6a4c93"  # the backlog line (clocks, issue 15)
REPORTED_SHADE = "#fff3c4"  # behind the day the digest reports on
# matplotlib's pyplot-free API is thread-safe per figure, but its font cache is not.
_lock = threading.Lock()


@cache
def font_path() -> Path:
    """Return the CJK font file shipped in its package."""
    path = Path(str(resources.files(FONT_PACKAGE) / FONT_FILE))
    if not path.is_file():
        raise FileNotFoundError(f"the chart font is missing: {path}")
    return path


@dataclass(frozen=True)
class ChartLabels:
    """The chart's words, in the reader's language."""

    title: str
    new: str
    resolved: str
    axis: str
    reported: str  # under the day the digest reports on
    backlog: str = ""  # clocks (issue 15): the line of open orders at each day's end


def draw_chart(
    days: Sequence[str],
    new: Sequence[int],
    resolved: Sequence[int],
    labels: ChartLabels,
    *,
    backlog: Sequence[int] | None = None,
    mark_last: bool = True,
) -> bytes:
    """Return a PNG bar chart of new and resolved orders per day, labelled in any language.

    `mark_last=False` leaves the last day unmarked (a month's chart reports every day alike)."""
    with _lock:
        figure = chart_figure(days, new, resolved, labels, backlog=backlog, mark_last=mark_last)
        out = io.BytesIO()
        figure.savefig(out, format="png")
    return out.getvalue()


def chart_figure(
    days: Sequence[str],
    new: Sequence[int],
    resolved: Sequence[int],
    labels: ChartLabels,
    *,
    backlog: Sequence[int] | None = None,
    mark_last: bool = True,
) -> Any:
    """Return the chart as a matplotlib Figure: every day labelled, the last (reported) marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator

    font = FontProperties(fname=str(font_path()), size=15)
    small = FontProperties(fname=str(font_path()), size=10)
    figure = Figure(figsize=(9, 5.5), dpi=110)
    axes = figure.subplots()
    positions = list(range(len(days)))
    width = 0.4
    if positions and mark_last:  # the day the digest reports on is the last: shaded and named
        axes.axvspan(positions[-1] - 0.5, positions[-1] + 0.5, color=REPORTED_SHADE, zorder=0)
    axes.bar([p - width / 2 for p in positions], new, width, label=labels.new, color=NEW_COLOUR)
    axes.bar(
        [p + width / 2 for p in positions],
        resolved,
        width,
        label=labels.resolved,
        color=RESOLVED_COLOUR,
    )
    if backlog:  # clocks (issue 15): the open orders at each day's end
        axes.plot(
            positions,
            list(backlog),
            color=BACKLOG_COLOUR,
            marker="o",
            linewidth=2,
            label=labels.backlog,
        )
    axes.set_title(labels.title, fontproperties=FontProperties(fname=str(font_path()), size=17))
    axes.set_ylabel(labels.axis, fontproperties=small)
    # Every day has its own label ("MM-DD" fits under its bars); the reported day is named.
    ticks = list(days)
    if ticks and mark_last:
        ticks[-1] = f"{ticks[-1]}\n{labels.reported}"
    axes.set_xticks(positions, ticks)
    for label in axes.get_xticklabels():
        label.set_fontproperties(small)
    if ticks and mark_last:
        last = axes.get_xticklabels()[-1]
        last.set_fontweight("bold")
        last.set_color("#b8860b")
    for label in axes.get_yticklabels():
        label.set_fontproperties(small)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(bottom=0, top=max([*new, *resolved, *(backlog or ()), 1]) * 1.15)
    axes.set_xlim(-0.6, max(len(days) - 0.4, 0.6))
    axes.grid(axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(prop=font, frameon=False, loc="upper left")
    figure.tight_layout()
    return figure
