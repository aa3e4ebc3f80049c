"""Who may do what: every button and command × every kind of person, through the handlers.

Each case builds an order in the state where the action is valid for the rightful person, then
has someone act on it through the same entry point Telegram updates use. Allowed cases must
change the order; refused ones must get a clear answer and change nothing at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from handlers.events import Answer
from storage.models import OutboxRow
from tests.security.scene import (
    ACTORS,
    Scene,
    accepted,
    claimed,
    closed,
    offered,
    pooled,
    queued,
    resolved,
)
from workflows.model import Order, OrderStatus

Setup = Callable[[Scene], Awaitable[Order]]


@dataclass(frozen=True)
class Case:
    """A button: how to set the order up, its data, and who rightfully presses it."""

    verb: str
    setup: Setup
    data: str
    rightful: str  # the person in the scene who may press it
    moved_to: OrderStatus | None  # the status the rightful press leads to (None: unchanged)


CASES = (
    Case("acc", offered, "acc:{id}", "unit_head", OrderStatus.ACCEPTED),
    Case("way", accepted, "way:{id}", "unit_head", OrderStatus.ON_WAY),
    Case("clm", pooled, "clm:{id}", "volunteer", OrderStatus.ACCEPTED),
    Case("hd", queued, "hd:{id}:{grid_worker}", "dispatcher", OrderStatus.OFFERED),
    Case("cnlok", offered, "cnlok:{id}", "owner", OrderStatus.CANCELLED),
    Case("ok", resolved, "ok:{id}", "owner", OrderStatus.CLOSED),
    Case("rate", closed, "rate:{id}:5", "owner", None),
    Case("way-volunteer", claimed, "way:{id}", "volunteer", OrderStatus.ON_WAY),
)
# Buttons that first ask for a text: the press itself only starts the step for the rightful one.
ASKING = (
    Case("dec", offered, "dec:{id}", "unit_head", None),
    Case("note", accepted, "note:{id}", "unit_head", None),
    Case("res", accepted, "res:{id}", "unit_head", None),
    Case("esc", accepted, "esc:{id}", "unit_head", None),
    Case("cnl", offered, "cnl:{id}", "owner", None),
    Case("info", offered, "info:{id}", "owner", None),
    Case("bad", resolved, "bad:{id}", "owner", None),
)


def actor_name(case: Case, actor: str) -> str:
    """Map the matrix's actor to a person of the scene for this case."""
    if actor == "assignee":
        return case.rightful
    if actor == "owner" and case.rightful == "owner":
        return "owner"
    return actor


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("case", CASES + ASKING, ids=lambda c: c.verb)
async def test_matrix(scene: Scene, case: Case, actor: str) -> None:
    """Only the rightful person's press does anything; everyone else is told and nothing changes."""
    order = await case.setup(scene)
    who = actor_name(case, actor)
    data = case.data.format(id=order.id, grid_worker=scene.people["same_grid_worker"].id)
    before = await scene.fingerprint()
    replies = await scene.press(who, data)
    answers = [r for r in replies if isinstance(r, Answer)]
    assert len(answers) == 1, "every press is answered exactly once"
    if who == case.rightful:
        after = await scene.fingerprint()
        assert after != before, f"{who} may {case.verb}, and something should change"
        if case.moved_to is not None:
            async with scene.uow() as uow:
                stored = await uow.orders.get(order.id)
            assert stored is not None and stored.status == case.moved_to
        return
    assert answers[0].alert and answers[0].text, f"{who} is refused with a clear message"
    assert await scene.fingerprint() == before, f"{who} pressing {case.verb} changed something"


@pytest.mark.parametrize(
    ("command", "allowed"),
    [
        ("/tasks", {"same_grid_worker", "other_grid_worker", "assignee"}),
        ("/queue", {"other_dispatcher"}),
        ("/pool", set()),
        ("/my", {"owner", "other_resident"}),
    ],
)
@pytest.mark.parametrize("actor", ACTORS)
async def test_commands_by_role(scene: Scene, command: str, allowed: set[str], actor: str) -> None:
    """Work commands answer only the roles they are for; nobody else learns anything."""
    await offered(scene)
    who = "unit_head" if actor == "assignee" else actor
    before = await scene.fingerprint()
    await scene.say(who, command)
    async with scene.sessions() as session:
        texts = [
            (row.params or {}).get("text", row.key)
            for row in (await session.execute(select(OutboxRow))).scalars()
            if row.chat_id == (scene.people[who].telegram_id if who in scene.people else 0)
        ]
    leaked = any("水管漏水" in str(t) for t in texts)
    if who == "unit_head" and command == "/tasks":
        assert leaked, "the assignee sees their task"
    elif command != "/my" or who != "owner":
        assert not leaked, f"{who} must not see the order through {command}"
    assert (await scene.fingerprint())[0] == before[0], "looking changes no order"
