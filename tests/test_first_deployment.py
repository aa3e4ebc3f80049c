"""The README's first steps on a fresh clone: no var/ folder yet, default settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

SAMPLE = Path(__file__).parent.parent / "examples" / "org.yaml"


@pytest.fixture
def fresh_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in an empty folder with Sandan's default database URL (var/sandan.sqlite3)."""
    for name in ("SANDAN_DATABASE_URL", "SANDAN_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [["org", "import", str(SAMPLE)], ["audit"], ["db", "upgrade"]],
    ids=["org-import", "audit", "db-upgrade"],
)
def test_a_command_makes_the_database_folder_first(
    fresh_clone: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Each command the README names after the demo works where var/ does not exist yet."""
    assert not (fresh_clone / "var").exists()
    assert main(argv) == 0
    assert (fresh_clone / "var" / "sandan.sqlite3").is_file()
    assert "Traceback" not in capsys.readouterr().err


def test_the_import_then_the_audit_log(
    fresh_clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Import on a fresh clone, then the audit log shows that import."""
    assert main(["org", "import", str(SAMPLE)]) == 0
    capsys.readouterr()
    assert main(["audit"]) == 0
    assert "import" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("SANDAN_TIMEZONE", "Beijing", "SANDAN_TIMEZONE=Asia/Shanghai"),
        ("SANDAN_BOT_TOKEN", "not a token", "SANDAN_BOT_TOKEN=123456789:"),
        ("SANDAN_DELIVERY_RATE", "fast", "SANDAN_DELIVERY_RATE=25.0"),
        ("SANDAN_DIGEST_TIME", "25:00", "SANDAN_DIGEST_TIME=08:00"),
        ("SANDAN_WEBHOOK_SECRET", "has spaces in it", "SANDAN_WEBHOOK_SECRET="),
    ],
)
def test_a_wrong_setting_is_one_clear_message(
    fresh_clone: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    named: str,
) -> None:
    """A wrong setting names the variable and a valid example; exit 2; secrets never echoed."""
    monkeypatch.setenv(variable, value)
    assert main(["audit"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert named in err
    if variable in ("SANDAN_BOT_TOKEN", "SANDAN_WEBHOOK_SECRET"):
        assert value not in err
    else:
        assert repr(value) in err
    assert not (fresh_clone / "var").exists()  # nothing was opened


@pytest.mark.parametrize("library", ["aiogram", "ptb"])
def test_webhook_commands_without_network_say_so(
    fresh_clone: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    library: str,
) -> None:
    """Nothing listens at the Bot API base: 'could not reach', not 'Telegram refused'."""
    monkeypatch.setenv("SANDAN_BOT_TOKEN", "123456:TEST-TOKEN")
    monkeypatch.setenv("SANDAN_API_BASE", "http://127.0.0.1:9")  # the discard port: closed
    monkeypatch.setenv("SANDAN_TELEGRAM_LIBRARY", library)
    assert main(["webhook", "info"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("could not reach http://127.0.0.1:9: ")
    assert "Telegram refused" not in err
    assert "Traceback" not in err


def test_org_people_lists_who_has_joined(
    fresh_clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After the import, every staff member is listed as not joined yet, with their roles."""
    assert main(["org", "import", str(SAMPLE)]) == 0
    capsys.readouterr()
    assert main(["org", "people"]) == 0
    out = capsys.readouterr().out.splitlines()
    worker = next(line for line in out if line.startswith("p-cai-ning "))
    assert "not joined" in worker and "grid_worker@g-yuhua-1" in worker
    listed = [line for line in out[:-1] if line.startswith("p-")]
    assert out[-1] == f"{len(listed)} staff, 0 joined, {len(listed)} not yet"


def test_json_log_lines(
    fresh_clone: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """SANDAN_LOG_FORMAT=json: every log line on standard error is one JSON object."""
    import json
    import logging

    monkeypatch.setenv("SANDAN_LOG_FORMAT", "json")
    root = logging.getLogger()
    kept = list(root.handlers)
    try:
        root.handlers.clear()
        assert main(["-v", "db", "upgrade"]) == 0
        logging.getLogger("sandan.test").warning("第 %d 次", 1)
    finally:
        root.handlers[:] = kept
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines
    records = [json.loads(line) for line in lines]
    assert records[-1]["message"] == "第 1 次" and records[-1]["level"] == "WARNING"
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)


def test_invite_links_without_network_say_what_to_do(
    fresh_clone: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Links need the bot's @username; Telegram out of reach: say so, and how to do without."""
    assert main(["org", "import", str(SAMPLE)]) == 0
    monkeypatch.setenv("SANDAN_BOT_TOKEN", "123456:TEST-TOKEN")
    monkeypatch.setenv("SANDAN_API_BASE", "http://127.0.0.1:9")
    capsys.readouterr()
    assert main(["org", "invite", "p-qian-meiling"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("could not reach http://127.0.0.1:9")
    assert "SANDAN_BOT_USERNAME" in err and "Traceback" not in err
    monkeypatch.setenv("SANDAN_BOT_USERNAME", "heping_bot")
    assert main(["org", "invite", "p-qian-meiling"]) == 0
    assert "https://t.me/heping_bot?start=inv_" in capsys.readouterr().out
