"""The README's first command with no token plays the demo: it must play the whole loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.demo import play


async def test_the_demo_plays_the_whole_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A demo that stops half-way (a button renamed, a text reworded) fails here first."""
    assert await play(str(tmp_path / "demo.sqlite3")) == 0
    out = capsys.readouterr()
    assert "The demo stopped" not in out.err
    transcript = out.out
    assert "[王阿姨 taps] ✅ 确认提交" in transcript
    assert "已提交，服务单号 00001" in transcript
    assert "打了 5 星" in transcript
    assert "每日简报" in transcript
    assert "The order was placed, dispatched, accepted, resolved and rated" in transcript
