"""亮身份 posters: one A4 PDF (real text) and PNG per building; staff shown only with consent."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest
from PIL import Image

from bot.cli import main
from bot.posters import A4_INCHES, PNG_DPI

CAPTION = "扫码登记 · 报事"


def text_of(pdf: Path) -> str:
    """Return the text a PDF reader extracts from the poster (its only page)."""
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def test_posters_name_only_the_staff_who_agreed(
    tmp_path: Path, sample_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sandan org posters`: a PDF and a PNG per building; names and phones only with consent.

    One run (drawing ten A4 pages takes a while) checks the folder, the texts and the image.
    """
    monkeypatch.setenv("SANDAN_DATABASE_URL", sample_db)
    monkeypatch.setenv("SANDAN_BOT_USERNAME", "sandan_bot")
    monkeypatch.delenv("SANDAN_BOT_TOKEN", raising=False)
    out = tmp_path / "posters"
    assert main(["org", "posters", "--out", str(out)]) == 0

    # Each building of the sample has both files, and nothing else is left in the folder.
    names = sorted(p.name for p in out.iterdir())
    codes = sorted({name.rsplit(".", 1)[0] for name in names})
    assert len(codes) == 10 and "b-hp-1" in codes and "b-yh-1" in codes
    assert names == sorted([f"{c}.pdf" for c in codes] + [f"{c}.png" for c in codes])

    # Building 1's head and grid worker agreed (public: true): names and phones, as text.
    text = text_of(out / "b-hp-1.pdf")
    for shown in ("和平社区", "1号楼", CAPTION, "楼栋长", "赵国强", "13800000017"):
        assert shown in text, shown
    assert "网格员" in text and "李敏" in text and "13800000014" in text
    assert "社区值班电话" in text and "0311-86001234" in text

    # Building 3's head (郑海) never agreed: neither name nor phone; the caption is there.
    text = text_of(out / "b-hp-3.pdf")
    assert "3号楼" in text and CAPTION in text and "0311-86001234" in text
    assert "郑海" not in text and "13800000019" not in text
    other = text_of(out / "b-yh-1.pdf")  # 杜文杰 and 蔡宁 of 裕华 never agreed
    assert "杜文杰" not in other and "13800000055" not in other
    assert "蔡宁" not in other and "13800000053" not in other
    assert "0311-86005678" in other

    # The PNG has A4's proportions at print resolution.
    with Image.open(out / "b-hp-1.png") as image:
        width, height = image.size
        assert image.format == "PNG"
    assert width == round(A4_INCHES[0] * PNG_DPI)
    assert abs(height / width - A4_INCHES[1] / A4_INCHES[0]) < 0.01


def test_a_file_in_the_way_is_one_clear_line(
    tmp_path: Path,
    sample_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--out naming a file: nothing is written, one line says why, exit 1."""
    monkeypatch.setenv("SANDAN_DATABASE_URL", sample_db)
    monkeypatch.setenv("SANDAN_BOT_USERNAME", "sandan_bot")
    monkeypatch.delenv("SANDAN_BOT_TOKEN", raising=False)
    existing = tmp_path / "poster.pdf"
    existing.write_bytes(b"mine")
    assert main(["org", "posters", "--out", str(existing)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(existing) in err and "Traceback" not in err
    assert existing.read_bytes() == b"mine"
