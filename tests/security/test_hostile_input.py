"""Random and malformed updates, through the handlers: nothing crashes, nothing gets stuck,
and the database keeps its invariants."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from handlers.events import Incoming
from storage.models import ChatStateRow
from tests.security.scene import Scene, _ids, offered, pooled, queued
from workflows.dispatch import load
from workflows.model import OrderStatus, Role

ACTORS = ["owner", "other_resident", "unit_head", "volunteer", "dispatcher", "stranger"]
VERBS = [
    "rc", "rb", "ru", "rh", "lang", "nc", "nd", "nu", "nok", "nx", "cnl", "cnlok", "info",
    "ok", "bad", "rate", "skip", "acc", "dec", "clm", "way", "note", "res", "esc", "hd", "noop",
    "ext", "exd", "exy", "exn", "ps", "psd", "rs", "tf", "tft", "rt", "dps", "dpn", "fok", "fbad",
]  # fmt: skip
COMMANDS = [
    "/start", "/new", "/my", "/tasks", "/pool", "/queue", "/lang", "/help", "/cancel", "/merge",
]  # fmt: skip

numbers = st.one_of(st.integers(-5, 60), st.integers(-(2**63), 2**63), st.text(max_size=5))
callback_data = st.one_of(
    st.builds(
        lambda verb, args: ":".join([verb, *map(str, args)]),
        st.sampled_from(VERBS),
        st.lists(numbers, max_size=3),
    ),
    st.text(max_size=80),
    st.just("x" * 200),
)
texts = st.one_of(
    st.sampled_from(COMMANDS),
    st.text(max_size=60),
    st.just("长" * 5000),
    st.builds(lambda c, t: f"{c} {t}", st.sampled_from(COMMANDS), st.text(max_size=20)),
    st.sampled_from(["跳过", "水电气维修", "好了", "13800001111", ""]),
)
events = st.one_of(
    st.tuples(st.just("text"), st.sampled_from(ACTORS), texts),
    st.tuples(st.just("button"), st.sampled_from(ACTORS), callback_data),
    st.tuples(
        st.just("other"),
        st.sampled_from(ACTORS),
        st.sampled_from(["sticker", "voice", "photo", "location", "contact", "document"]),
    ),
)


def incoming(scene: Scene, kind: str, who: str, value: str) -> Incoming:
    """Build the event a Telegram update of this kind would become."""
    user = scene.people[who].telegram_id if who in scene.people else 999_999
    assert user is not None
    base: dict[str, object] = {
        "update_id": next(_ids),
        "user_id": user,
        "chat_id": user,
        "first_name": who,
        "language_code": "zh-hans",
    }
    if kind == "text":
        return Incoming(**base, text=value)  # type: ignore[arg-type]
    if kind == "button":
        return Incoming(
            **base,  # type: ignore[arg-type]
            callback_id=str(next(_ids)),
            callback_data=value,
            message_id=1,
        )
    if value == "photo":
        return Incoming(**base, photo=f"file-{next(_ids)}")  # type: ignore[arg-type]
    if value == "location":
        return Incoming(**base, latitude=38.0, longitude=114.5)  # type: ignore[arg-type]
    if value == "contact":
        return Incoming(**base, contact_phone="+86 138 0000 1111", contact_user_id=user)  # type: ignore[arg-type]
    return Incoming(**base, other=value)  # type: ignore[arg-type]


async def check_invariants(scene: Scene) -> None:
    """Each order's status is the end of its timeline; nobody holds a task outside their scope."""
    async with scene.uow() as uow:
        async with scene.sessions() as session:
            from storage.models import OrderRow

            ids = list((await session.execute(select(OrderRow.id))).scalars())
        for order_id in ids:
            ctx = await load(uow, order_id)
            events = await uow.orders.events(order_id)
            assert events, "every order has a timeline"
            assert events[-1].to_status == ctx.order.status
            if ctx.order.status in (OrderStatus.ACCEPTED, OrderStatus.ON_WAY):
                holder = await uow.people.get(ctx.order.assignee_id or 0)
                assert holder is not None
                scopes = set(ctx.place.scope_ids())
                assert any(
                    r.place_id in scopes or r.role == Role.DEPT_LIAISON for r in holder.roles
                ), f"{holder.name} holds order {order_id} outside their scope"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(events, min_size=1, max_size=12))
async def test_random_updates_never_crash_or_stick(
    scene: Scene, steps: list[tuple[str, str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    """No update makes the bot fail; /cancel always gets everyone out; invariants hold."""
    if not getattr(scene, "seeded", False):
        await offered(scene)
        await pooled(scene)
        await queued(scene)
        scene.seeded = True  # type: ignore[attr-defined]
    scene.new_minute()  # each example is a person's own minute: the flood guard starts afresh
    caplog.set_level(logging.ERROR, logger="handlers.conversations")
    for kind, who, value in steps:
        replies = await scene.conversations.handle(incoming(scene, kind, who, value))
        assert replies is not None
    failures = [r.getMessage() for r in caplog.records if r.name == "handlers.conversations"]
    assert failures == [], "an update hit an unexpected error"
    for who in ACTORS:
        await scene.say(who, "/cancel")
    async with scene.sessions() as session:
        stuck = list((await session.execute(select(ChatStateRow))).scalars())
    assert stuck == [], "/cancel leaves nobody in the middle of a conversation"
    await check_invariants(scene)
