"""Generated text as names, descriptions, notes and reasons, through the handlers into a database.

Nothing raises, nothing without a visible character is stored, nothing of what normalising drops
(NUL, zero-width, bidi) is stored; with SANDAN_TEST_POSTGRES_URL set, the same steps run on a
SQLite file too and both databases must end up holding the same strings.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import unicodedata
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.conversations import Conversations
from handlers.events import Incoming
from handlers.texts import Texts
from storage.uow import SqlUnitOfWork
from tests.conftest import POSTGRES
from tests.security.scene import Scene, category, make_scene
from workflows.orders import Limits
from workflows.people import MAX_NAME
from workflows.text import has_visible

# What phones and Telegram clients really send, besides ordinary text.
ODD = [
    "\x00", "\x07", "\t", "\r\n", "\r", "\u0085", "\u2028", "\u200b", "\u200c", "\u200d",
    "\u2060", "\ufeff", "\u00ad", "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069",
    "\u0301", "e\u0301", "\u3164", "\u2800", "\u3000", " ", "\n", "🇨🇳", "👨\u200d👩\u200d👧",
    "👍🏽", "١٢٣", "①②", "１２３", "\ud800", "\U000e0041", "\ufffe", "水管漏水", "Hello",
]  # fmt: skip
pieces = st.one_of(st.text(max_size=8), st.sampled_from(ODD))
odd_text = st.lists(pieces, max_size=6).map("".join)
_users = itertools.count(800_000)


@dataclass(frozen=True)
class Typed:
    """What one resident and their worker type in one example."""

    first_name: str
    last_name: str | None
    description: str
    info: str
    note: str
    resolution: str
    reason: str


typed = st.builds(
    Typed,
    first_name=odd_text,
    last_name=st.one_of(st.none(), odd_text),
    description=odd_text,
    info=odd_text,
    note=odd_text,
    resolution=odd_text,
    reason=odd_text,
)
Stored = tuple[str | None, str | None, tuple[tuple[str, str | None], ...]]


@pytest.fixture(scope="module")
def sqlite_sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """Return a SQLite copy of the sample database when the suite runs on PostgreSQL."""
    if not POSTGRES:
        yield None
        return
    from bot.demo import prepare

    path: Path = tmp_path_factory.mktemp("odd_text") / "sample.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(prepare(url))
    yield url


@pytest.fixture
async def scenes(sample_db: str, sqlite_sample: str | None) -> AsyncIterator[list[Scene]]:
    """One scene on the suite's database, and one on SQLite as well when that is PostgreSQL."""
    async with AsyncExitStack() as stack:
        made = []
        for url in [sample_db] + ([sqlite_sample] if sqlite_sample else []):
            scene = await stack.enter_async_context(asynccontextmanager(make_scene)(url))
            # The worker acts in every example: no flood limit between examples.
            scene.conversations = Conversations(
                functools.partial(SqlUnitOfWork, scene.sessions, scene.clock.now),
                scene.clock,
                Texts.load(),
                limits=Limits(messages_per_minute=100_000),
            )
            made.append(scene)
        yield made


async def play(scene: Scene, user: int, given: Typed) -> Stored:
    """Register, order, add information; the worker notes and resolves; the resident reopens."""
    updates = itertools.count(next(_users) * 100)

    async def send(who: int, *, text: str | None = None, data: str | None = None) -> None:
        first, last = (given.first_name, given.last_name) if who == user else ("worker", None)
        await scene.conversations.handle(
            Incoming(
                update_id=next(updates),
                user_id=who,
                chat_id=who,
                first_name=first,
                last_name=last,
                language_code="zh-hans",
                text=text,
                callback_id=None if data is None else str(next(updates)),
                callback_data=data,
                message_id=None if data is None else 1,
            )
        )

    place = scene.place
    async with scene.uow() as uow:
        household = (await uow.places.households(place.unit.id))[2]
    await send(user, text="/start")
    for data in (f"rc:{place.community.id}", f"rb:{place.building.id}", f"ru:{place.unit.id}"):
        await send(user, data=data)
    await send(user, data=f"rh:{household.id}")
    await send(user, text="/new")
    await send(user, data=f"nc:{await category(scene, 'water_power_gas')}")
    await send(user, text=given.description)
    for data in ("nd", "nu:normal", "nok"):
        await send(user, data=data)
    async with scene.uow() as uow:
        person = await uow.people.by_telegram(user)
        orders = await uow.orders.of_resident(person.id) if person else []
    if person is None or not orders:
        return (person.name if person else None, None, ())
    order = orders[0]
    await send(user, data=f"info:{order.id}")
    await send(user, text=given.info)
    async with scene.uow() as uow:
        worker = await uow.people.get(order.assignee_id or 0)
    if worker is not None and worker.telegram_id is not None:
        staff = worker.telegram_id
        await send(staff, data=f"acc:{order.id}")
        await send(staff, data=f"note:{order.id}")
        await send(staff, text=given.note)
        await send(staff, data=f"res:{order.id}")
        await send(staff, text=given.resolution)
        await send(user, data=f"bad:{order.id}")
        await send(user, text=given.reason)
        await send(staff, text="/cancel")
    async with scene.uow() as uow:
        events = await uow.orders.events(order.id)
        stored = await uow.orders.get(order.id)
    assert stored is not None
    notes = tuple((e.action, e.note) for e in events if e.note is not None)
    return (person.name, stored.description, notes)


def shown_cleanly(value: str) -> bool:
    """Return whether a stored string has something visible and nothing normalising drops."""
    dropped = {"Cc", "Cf", "Cs"}
    clean = all(ch == "\n" or unicodedata.category(ch) not in dropped for ch in value)
    return clean and has_visible(value) and value == unicodedata.normalize("NFC", value)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(given=typed)
async def test_odd_text_is_stored_cleanly_and_alike_on_both_databases(
    scenes: list[Scene], given: Typed, caplog: pytest.LogCaptureFixture
) -> None:
    """Nobody is refused for their name; what is stored shows something; databases agree."""
    caplog.set_level(logging.ERROR, logger="handlers.conversations")
    user = next(_users)
    results = [await play(scene, user, given) for scene in scenes]
    failures = [r.getMessage() for r in caplog.records if r.name == "handlers.conversations"]
    assert failures == [], "an update hit an unexpected error"
    name, description, notes = results[0]
    assert name is not None, "registration never refuses a person for their name"
    assert shown_cleanly(name) and len(name) <= MAX_NAME
    stored = [description, *(note for _, note in notes)] if description else []
    assert all(value is not None and shown_cleanly(value) for value in stored), stored
    assert all(result == results[0] for result in results), "SQLite and PostgreSQL disagree"
