"""The 亮身份 posters: one printable A4 page per building, as a PDF and a PNG.

Each shows the community and the building, the building's QR code with "扫码登记 · 报事" under
it, the building head and grid worker who agreed to be shown (name and phone), and the
community's duty phone. Drawn with matplotlib in the bundled Chinese font (handlers/charts.py);
the PDF embeds it as TrueType (fonttype 42), so its text stays text: searchable and copyable.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import segno

from bot.qr import building_link
from handlers.charts import font_path
from handlers.texts import Texts
from storage.posters import PosterFacts

A4_INCHES = (8.27, 11.69)
PNG_DPI = 150  # 1240 × 1754 pixels: sharp on paper, small enough to send around
ACCENT = "#c0392b"  # the red of community notice boards
INK = "#222222"
LANG = "zh"  # posters hang in Chinese stairwells


class PosterOutError(Exception):
    """The posters cannot be written where asked; the message is one line for the operator."""


def poster_figure(facts: PosterFacts, link: str, texts: Texts) -> Any:
    """Return one building's poster as a matplotlib Figure of an A4 page."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Rectangle

    def font(size: float) -> FontProperties:
        return FontProperties(fname=str(font_path()), size=size)

    t = texts
    figure = Figure(figsize=A4_INCHES)
    figure.patches.append(
        Rectangle(
            (0.03, 0.02),
            0.94,
            0.96,
            transform=figure.transFigure,
            fill=False,
            edgecolor=ACCENT,
            linewidth=4,
        )
    )
    say = figure.text
    say(0.5, 0.935, facts.community, fontproperties=font(26), ha="center", color=INK)
    say(0.5, 0.865, facts.building, fontproperties=font(44), ha="center", color=INK)
    say(0.5, 0.815, t(LANG, "pub.poster_title"), fontproperties=font(20), ha="center", color=ACCENT)
    side = 0.46  # of the page's width; the QR code stays square on the page
    height = side * A4_INCHES[0] / A4_INCHES[1]
    axes = figure.add_axes((0.5 - side / 2, 0.455, side, height))
    matrix = [list(row) for row in segno.make_qr(link, error="m").matrix]
    axes.imshow(matrix, cmap="gray_r", interpolation="nearest")
    axes.set_axis_off()
    say(0.5, 0.405, t(LANG, "pub.poster_scan"), fontproperties=font(30), ha="center", color=ACCENT)
    say(0.5, 0.37, t(LANG, "pub.poster_how"), fontproperties=font(13), ha="center", color=INK)
    y = 0.30
    for carer in facts.carers:
        line = t(
            LANG,
            "pub.poster_carer",
            role=t(LANG, f"role.{carer.role.value}"),
            name=carer.name,
            phone=carer.phone or "—",
        )
        say(0.5, y, line, fontproperties=font(22), ha="center", color=INK)
        y -= 0.055
    if facts.duty_phone:
        duty = t(LANG, "pub.poster_duty", phone=facts.duty_phone)
        say(0.5, 0.075, duty, fontproperties=font(22), ha="center", color=ACCENT)
    return figure


def write_posters(
    buildings: Sequence[PosterFacts], bot_username: str, out_dir: Path, texts: Texts
) -> list[Path]:
    """Write `{code}.pdf` and `{code}.png` for each building; return the paths written.

    Everything is drawn in a hidden folder first and moved in once all of it is written, so a
    failure midway leaves the folder as it was.
    """
    import matplotlib

    if out_dir.exists() and not out_dir.is_dir():
        raise PosterOutError(f"{out_dir} is a file, not a folder: give --out a folder")
    created = not out_dir.exists()
    staged: Path | None = None
    written: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=".posters-", dir=out_dir))
        for facts in buildings:
            figure = poster_figure(facts, building_link(bot_username, facts.code), texts)
            with matplotlib.rc_context({"pdf.fonttype": 42}):
                figure.savefig(str(staged / f"{facts.code}.pdf"), format="pdf")
            figure.savefig(str(staged / f"{facts.code}.png"), format="png", dpi=PNG_DPI)
            written += [out_dir / f"{facts.code}.pdf", out_dir / f"{facts.code}.png"]
        for path in written:
            os.replace(staged / path.name, path)
    except OSError as error:
        if created:
            with contextlib.suppress(OSError):
                shutil.rmtree(out_dir)
        raise PosterOutError(
            f"cannot write the posters to {out_dir}: {error.strerror or error}"
        ) from error
    finally:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
    return written
