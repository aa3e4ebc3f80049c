"""公示: each closed order posted once, anonymised, to its community's channel.

A post says the category, the building, how long the fix took and the rating; the resident's
own words only when they said yes to "may we publish it?" (asked once, after the rating). Never
a name, a phone or a room. An order is posted when the resident answers that question, or, if
they never do, some hours after it closed (a timer); `orders.published_at`, set by a conditional
write in the same transaction as the outbox row, makes sure it is posted once whatever happens
first, and whatever is retried.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from workflows.dispatch import OrderContext, load
from workflows.errors import StaleAction
from workflows.model import Order, OrderChanges, OrderStatus, Person
from workflows.orders import own_order
from workflows.ports import Clock, UnitOfWork
from workflows.timers import Due, Effect, Moot, TimerPolicy
from workflows.vocabulary import TimerKind

POST_KEY = "pub.post"
CHANNEL_LANG = "zh"  # a community's channel speaks its residents' language
# An order whose resident has not answered the question is posted this long after it closed;
# orders closed longer ago than the window are not posted any more (nor those before 公示 began).
PUBLISH_AFTER = timedelta(hours=6)
PUBLISH_WINDOW = timedelta(days=7)


def took_hours(order: Order) -> int:
    """Return the whole hours from placing the order to its resolution (at least 1)."""
    end = order.resolved_at or order.closed_at or order.created_at
    return max(1, round((end - order.created_at).total_seconds() / 3600))


def post_params(ctx: OrderContext) -> dict[str, Any]:
    """Return what the post says: nothing that names the resident, their room or their words,
    unless they agreed (then their description too)."""
    order = ctx.order
    params: dict[str, Any] = {
        "category": ctx.category.names.pick(CHANNEL_LANG),
        "building": ctx.place.building.names.pick(CHANNEL_LANG),
        "hours": took_hours(order),
        "rating": order.rating or 0,
    }
    if order.publish_consent:
        params["description"] = order.description
    return params


async def publish_order(uow: UnitOfWork, clock: Clock, order_id: int) -> bool:
    """Post the closed order to its community's channel unless it was posted; True if now."""
    ctx = await load(uow, order_id)
    order = ctx.order
    if order.status != OrderStatus.CLOSED or order.merged_into_id is not None:
        return False
    channel = ctx.place.community.channel
    if channel is None:
        return False
    if not await uow.orders.mark_published(order.id, clock.now()):
        return False  # posted before (a retry, or the timer and the answer crossed)
    await uow.outbox.post(channel, CHANNEL_LANG, POST_KEY, post_params(ctx))
    return True


async def answer_consent(
    uow: UnitOfWork, clock: Clock, resident: Person, order_id: int, *, agreed: bool
) -> Order:
    """Keep the resident's answer to "may we publish it?" and post the order now."""
    ctx = await own_order(uow, resident, order_id)
    order = ctx.order
    if order.publish_consent is not None or order.published_at is not None:
        raise StaleAction(number=order.number)
    await uow.orders.update(order.id, OrderChanges(publish_consent=agreed))
    await publish_order(uow, clock, order.id)
    return order


async def publications_due(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find the closed orders nobody answered the question for: post them without words."""
    now = clock.now()
    orders = await uow.timers.orders_due(
        TimerKind.PUBLISH,
        (OrderStatus.CLOSED,),
        "closed_at",
        now - PUBLISH_AFTER,
        after=now - PUBLISH_WINDOW,
    )
    return [
        Due(TimerKind.PUBLISH, order.id, order.closed_at, _publish(clock, order.id))
        for order in orders
        if order.closed_at is not None and order.published_at is None
    ]


def _publish(clock: Clock, order_id: int) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        if not await publish_order(uow, clock, order_id):
            raise Moot("posted already, or nowhere to post")

    return effect


async def has_channel(uow: UnitOfWork, order_id: int) -> bool:
    """Return whether the order's community has a 公示 channel (so the question makes sense)."""
    ctx = await load(uow, order_id)
    return ctx.place.community.channel is not None
