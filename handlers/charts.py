"""The digest's chart: new against resolved orders per day, as a PNG readable on a phone.

Chinese labels need a CJK font, and a fresh machine may have none: the chart uses WenQuanYi Micro
Hei (文泉驿微米黑, a simplified-Chinese sans serif), which ships inside the PyPI package
`paperang-p2-fonts-cjk` (2.3 MB), so nothing is downloaded at run time and no system font is
assumed.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path

FONT_PACKAGE = "paperang_p2_fonts_cjk"
FONT_FILE = "fonts/wqy-microhei.ttc"
NEW_COLOUR = "#e4572e"  # warm: what came in
RESOLVED_COLOUR = "#2e86ab"  # cool: what was done
# matplotlib's pyplot-free API is thread-safe per figure, but its font cache is not.
_lock = threading.Lock()


@cache
def font_path() -> Path:
    """Return the CJK font file shipped in its package."""
    path = Path(str(resources.files(FONT_PACKAGE) / FONT_FILE))
    if not path.is_file():
        raise FileNotFoundError(f"the chart font is missing: {path}")
    return path


def draw_chart(
    days: Sequence[str],
    new: Sequence[int],
    resolved: Sequence[int],
    *,
    title: str,
    new_label: str,
    resolved_label: str,
    axis_label: str,
) -> bytes:
    """Return a PNG bar chart of new and resolved orders per day, labelled in any language."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator

    with _lock:
        font = FontProperties(fname=str(font_path()), size=15)
        small = FontProperties(fname=str(font_path()), size=12)
        figure = Figure(figsize=(8, 5), dpi=110)
        axes = figure.subplots()
        positions = range(len(days))
        width = 0.4
        axes.bar(
            [p - width / 2 for p in positions],
            new,
            width,
            label=new_label,
            color=NEW_COLOUR,
        )
        axes.bar(
            [p + width / 2 for p in positions],
            resolved,
            width,
            label=resolved_label,
            color=RESOLVED_COLOUR,
        )
        axes.set_title(title, fontproperties=FontProperties(fname=str(font_path()), size=17))
        axes.set_ylabel(axis_label, fontproperties=small)
        # Every other day is labelled, so the dates stay legible on a phone screen.
        axes.set_xticks(list(positions)[::2], [days[i] for i in positions][::2])
        for label in axes.get_xticklabels() + axes.get_yticklabels():
            label.set_fontproperties(small)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(bottom=0, top=max([*new, *resolved, 1]) * 1.15)
        axes.grid(axis="y", alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(prop=font, frameon=False, loc="upper left")
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
    return out.getvalue()
