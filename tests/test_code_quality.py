"""The codebase's own rules, checked with the real tools: ruff, mypy, and the dependency rule."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "workflows": ("aiogram", "telegram", "sqlalchemy", "handlers", "storage", "bot"),
    "handlers": ("aiogram", "telegram", "sqlalchemy", "storage", "bot"),
    "storage": ("aiogram", "telegram", "handlers", "bot"),
}


def imported_roots(path: Path) -> set[str]:
    """Return the top-level packages a module imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_point_inward(package: str) -> None:
    """workflows/ knows no framework or database; handlers/ no Telegram library or SQL."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & set(FORBIDDEN[package]))
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def run(*command: str) -> subprocess.CompletedProcess[str]:
    """Run a tool from this environment in the project root."""
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_lint() -> None:
    """ruff finds nothing."""
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    """The code is formatted."""
    result = run("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    """mypy --strict is clean on every package."""
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
