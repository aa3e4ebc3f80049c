"""Followers of an order (issue 15): neighbours who reported the same thing get its news.

A follower gets what the order's resident gets when it is resolved (with the same confirmation
question) and closed, never the resident's name, room or phone: only the order's number,
category and the start of its description.
"""

from __future__ import annotations

from workflows.dispatch import OrderContext, deferrable
from workflows.model import Action, Notice, Order
from workflows.ports import UnitOfWork
from workflows.vocabulary import Verb

SHORT = 30  # how much of a neighbour's description is shown


def short(text: str, limit: int = SHORT) -> str:
    """Return the start of a description."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def follower_actions(order_id: int) -> tuple[Action, ...]:
    """Return a follower's confirmation buttons."""
    return (Action.of(Verb.FOLLOWER_OK, order_id), Action.of(Verb.FOLLOWER_BAD, order_id))


async def tell_followers(
    uow: UnitOfWork,
    order: Order,
    ctx: OrderContext,
    key: str,
    actions: tuple[Action, ...] = (),
    **params: object,
) -> None:
    """Send the order's followers the same news as its resident, in their language."""
    for person_id in await uow.orders.followers(order.id):
        follower = await uow.people.get(person_id)
        if follower is None or follower.telegram_id is None:
            continue
        base: dict[str, object] = {
            "number": order.number,
            "category": ctx.category.names.pick(follower.lang),
            "description": short(order.description),
        }
        base.update(params)
        await uow.outbox.add(Notice(follower.id, key, base, actions, deferrable=deferrable(order)))
