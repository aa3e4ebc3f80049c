"""Deep links and building QR codes: links round-trip, PNGs are valid and carry the link."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import segno

from bot.cli import main
from bot.qr import (
    QR_BORDER,
    QR_SCALE,
    building_link,
    invite_link,
    start_link,
    write_building_qr_codes,
)
from storage.orgfile import load_org_file

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "org.yaml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def start_payload(link: str) -> tuple[str, str]:
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc) == ("https", "t.me")
    return parts.path.lstrip("/"), parse_qs(parts.query, strict_parsing=True)["start"][0]


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == PNG_MAGIC
    chunks: list[tuple[bytes, bytes]] = []
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        at += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    return chunks


def png_pixels(data: bytes) -> list[list[int]]:
    """Decode a greyscale PNG of bit depth 1 (what segno writes) into rows of 0/1 pixels."""
    chunks = png_chunks(data)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, interlace) == (1, 0, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = (width + 7) // 8
    assert len(raw) == height * (stride + 1)
    previous = bytes(stride)
    rows: list[list[int]] = []
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            left = line[x - 1] if x else 0
            up = previous[x]
            up_left = previous[x - 1] if x else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                guess = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                line[x] = (line[x] + guess) & 0xFF
            else:
                assert kind == 0
        previous = bytes(line)
        rows.append([(line[x // 8] >> (7 - x % 8)) & 1 for x in range(width)])
    return rows


def test_building_link_round_trips() -> None:
    link = building_link("sandan_bot", "b-hp-1")
    assert link == "https://t.me/sandan_bot?start=b_b-hp-1"
    assert start_payload(link) == ("sandan_bot", "b_b-hp-1")
    assert start_payload(building_link("@sandan_bot", "b-hp-1"))[1].removeprefix("b_") == "b-hp-1"


def test_invite_link_round_trips() -> None:
    token = "Zx9_-abcDEF0123456789"
    link = invite_link("sandan_bot", token)
    assert link == f"https://t.me/sandan_bot?start=inv_{token}"
    assert start_payload(link)[1].removeprefix("inv_") == token


@pytest.mark.parametrize("code", ["b 1", "楼1", "b/1", "b.1", "", "x" * 63])
def test_building_code_that_cannot_be_a_payload_is_refused(code: str) -> None:
    with pytest.raises(ValueError, match="start payload"):
        building_link("sandan_bot", code)


def test_longest_payloads_fit() -> None:
    assert start_payload(building_link("sandan_bot", "x" * 62))[1] == "b_" + "x" * 62
    assert start_payload(invite_link("sandan_bot", "t" * 60))[1] == "inv_" + "t" * 60
    with pytest.raises(ValueError):
        invite_link("sandan_bot", "t" * 61)
    with pytest.raises(ValueError):
        invite_link("sandan_bot", "a+b")
    with pytest.raises(ValueError):
        invite_link("sandan_bot", "")


@pytest.mark.parametrize("username", ["", "bad name", "t.me/sandan_bot", "机器人"])
def test_bad_bot_username_is_refused(username: str) -> None:
    with pytest.raises(ValueError, match="bot username"):
        start_link(username, "b_x")


def test_sample_building_codes_all_fit() -> None:
    for code, _, _ in load_org_file(SAMPLE).buildings():
        assert start_payload(building_link("sandan_bot", code))[1] == f"b_{code}"


def test_qr_pngs_are_valid_and_carry_the_link(tmp_path: Path) -> None:
    buildings = [("b-hp-1", "1号楼", "Building 1"), ("b-yh-3", "电厂宿舍3号楼", "Power Plant <3>")]

    paths = write_building_qr_codes(buildings, "sandan_bot", tmp_path / "qr")

    assert paths == [tmp_path / "qr" / "b-hp-1.png", tmp_path / "qr" / "b-yh-3.png"]
    for (code, _, _), path in zip(buildings, paths, strict=True):
        data = path.read_bytes()
        pixels = png_pixels(data)
        # The expected symbol: a full QR code (not Micro QR) of the building's link.
        expected = segno.make_qr(building_link("sandan_bot", code), error="m")
        assert not expected.is_micro
        size = len(expected.matrix)
        assert len(pixels) == len(pixels[0]) == (size + 2 * QR_BORDER) * QR_SCALE
        for y, row in enumerate(expected.matrix):
            for x, dark in enumerate(row):
                cy = (y + QR_BORDER) * QR_SCALE + QR_SCALE // 2
                cx = (x + QR_BORDER) * QR_SCALE + QR_SCALE // 2
                assert pixels[cy][cx] == (0 if dark else 1), (code, x, y)
        assert set(pixels[0]) == {1}  # the quiet zone is white
    sheet = (tmp_path / "qr" / "index.html").read_text(encoding="utf-8")
    assert 'src="b-hp-1.png"' in sheet and "电厂宿舍3号楼" in sheet
    assert "Power Plant &lt;3&gt;" in sheet
    assert "https://t.me/sandan_bot?start=b_b-yh-3" in sheet


def test_bad_code_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "qr"
    with pytest.raises(ValueError):
        write_building_qr_codes([("ok", "甲", "A"), ("not ok", "乙", "B")], "sandan_bot", out)
    assert not out.exists()


@pytest.mark.parametrize("where", ["an existing file", "under a file"])
def test_qr_out_to_a_wrong_place_says_so_in_one_line(
    where: str,
    tmp_path: Path,
    sample_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`sandan org qr --out` to a file, or to a folder that cannot be made: one line, exit 1."""
    existing = tmp_path / "codes.png"
    existing.write_bytes(b"the operator's own file")
    out = existing if where == "an existing file" else existing / "qr"
    monkeypatch.setenv("SANDAN_DATABASE_URL", sample_db)
    monkeypatch.setenv("SANDAN_BOT_USERNAME", "sandan_bot")
    monkeypatch.delenv("SANDAN_BOT_TOKEN", raising=False)

    code = main(["org", "qr", "--out", str(out)])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert str(out) in captured.err
    assert existing.read_bytes() == b"the operator's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["codes.png"]


def test_qr_out_writes_every_code_and_leaves_nothing_else(
    tmp_path: Path, sample_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder holds the codes and the sheet, and no scratch files."""
    monkeypatch.setenv("SANDAN_DATABASE_URL", sample_db)
    monkeypatch.setenv("SANDAN_BOT_USERNAME", "sandan_bot")
    monkeypatch.delenv("SANDAN_BOT_TOKEN", raising=False)
    out = tmp_path / "qr"

    assert main(["org", "qr", "--out", str(out)]) == 0

    names = sorted(p.name for p in out.iterdir())
    assert "index.html" in names
    assert all(n == "index.html" or n.endswith(".png") for n in names)
    assert len(names) > 1
