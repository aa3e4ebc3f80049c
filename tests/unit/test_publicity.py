"""公示 on the fakes: what a channel post may say, once; time spent; the honour list."""

from __future__ import annotations

import dataclasses
import json

import pytest

from handlers.posts import post_text
from handlers.texts import Texts
from tests.fakes import World, sample_world
from workflows.errors import NotAllowed, StaleAction
from workflows.model import Order, Person
from workflows.orders import confirm_fixed, rate_order
from workflows.publicity import PUBLISH_AFTER, answer_consent, publications_due, publish_order
from workflows.teams import Service, honour_list, record_time_spent
from workflows.timers import TimerPolicy

CHANNEL = -100500
WORDS = "厨房水管漏水"  # the sample order's description begins so


def with_channel(w: World) -> None:
    """Give the sample community a 公示 channel."""
    community = w.org.community
    w.uow.store.places[community.id] = dataclasses.replace(community, channel=CHANNEL)
    w.uow.settle()


async def closed(w: World, stars: int = 5) -> Order:
    """An order of the sample resident (name, phone, room 101) resolved, confirmed and rated."""
    order = await w.resolved(w.org.repairs)
    await confirm_fixed(w.uow, w.clock, w.org.resident, order.id)
    await rate_order(w.uow, w.clock, w.org.resident, order.id, stars)
    return w.order(order.id)


def private_words(w: World) -> list[str]:
    """What must never reach a channel without consent: name, phone, room, the words."""
    resident = w.org.resident
    assert resident.phone
    return [resident.name, resident.phone, "101", WORDS]


def posted(w: World) -> list[str]:
    """Return each queued channel post as the channel reads it, followed by its raw JSON."""
    texts = Texts.load()
    return [
        post_text(texts, lang, params) + json.dumps(params, ensure_ascii=False)
        for _, lang, _, params in w.uow.store.posts
    ]


async def test_without_consent_the_post_names_nothing_private() -> None:
    w = sample_world()
    with_channel(w)
    order = await closed(w, stars=4)

    await answer_consent(w.uow, w.clock, w.org.resident, order.id, agreed=False)

    [post] = posted(w)
    assert "★★★★☆" in post and "3号楼" in post
    for word in private_words(w):
        assert word not in post, word
    assert [chat for chat, *_ in w.uow.store.posts] == [CHANNEL]


async def test_with_consent_only_the_words_are_added() -> None:
    w = sample_world()
    with_channel(w)
    order = await closed(w)

    await answer_consent(w.uow, w.clock, w.org.resident, order.id, agreed=True)

    [post] = posted(w)
    assert WORDS in post
    for word in private_words(w)[:-1]:
        assert word not in post, word


async def test_an_order_is_posted_once_and_asked_once() -> None:
    w = sample_world()
    with_channel(w)
    order = await closed(w)
    await answer_consent(w.uow, w.clock, w.org.resident, order.id, agreed=False)

    assert await publish_order(w.uow, w.clock, order.id) is False
    with pytest.raises(StaleAction):
        await answer_consent(w.uow, w.clock, w.org.resident, order.id, agreed=True)
    w.clock.advance(seconds=PUBLISH_AFTER.total_seconds() + 60)
    assert await publications_due(w.uow, w.clock, TimerPolicy()) == []
    assert len(w.uow.store.posts) == 1


async def test_no_channel_no_post() -> None:
    w = sample_world()
    order = await closed(w)
    assert await publish_order(w.uow, w.clock, order.id) is False
    assert w.uow.store.posts == []


async def test_only_the_resolver_records_time_spent() -> None:
    w = sample_world()
    order = await w.resolved(w.org.repairs)
    with pytest.raises(NotAllowed):
        await record_time_spent(w.uow, w.org.grid_worker, order.id, 30)
    await record_time_spent(w.uow, w.org.unit_head, order.id, 45)
    assert w.order(order.id).minutes_spent == 45


def test_the_honour_list_names_only_who_agreed() -> None:
    shy = Person(1, "钱军", "zh")
    proud = Person(2, "赵敏", "zh", public=True)
    services = {
        1: Service(shy, services=3, minutes=300, ratings=[5]),
        2: Service(proud, services=1, minutes=90, ratings=[4]),
    }
    named, unnamed = honour_list(services)
    assert named == [{"name": "赵敏", "hours": 1.5, "services": 1, "rating": 4.0}]
    assert unnamed == 1


def test_channel_posts_are_paced_as_a_group() -> None:
    """A channel's id is negative: the delivery worker sends it at most 20 posts a minute."""
    from storage.outbox import Pace

    pace = Pace()
    assert pace.interval(CHANNEL) == 3.0 and pace.slack(CHANNEL) == 0.0
