"""The audit log: staff actions are recorded and `sandan audit` shows them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.security.scene import Scene, queued

ROOT = Path(__file__).resolve().parents[2]


async def test_staff_actions_are_audited(scene: Scene) -> None:
    """Invites, joining and a dispatcher's override are in the log, newest first."""
    order = await queued(scene)
    worker = scene.people["same_grid_worker"]
    await scene.press("dispatcher", f"hd:{order.id}:{worker.id}")
    async with scene.uow() as uow:
        entries = await uow.audit.latest(100)
    actions = [e.action for e in entries]
    assert actions[0] == "dispatch_override"
    override = entries[0]
    assert override.actor_id == scene.people["dispatcher"].id
    assert override.details["to"] == worker.id and order.number in (override.subject or "")
    assert actions.count("invite") >= 8 and actions.count("join") >= 8
    assert "import" in actions


def test_sandan_audit_prints_the_log(sample_db: str) -> None:
    """The command line shows who did what."""
    env = {**os.environ, "SANDAN_DATABASE_URL": sample_db}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "audit", "--limit", "5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "import" in result.stdout and "street xinhua" in result.stdout
