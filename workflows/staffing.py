"""Staff changes: when the organisation file takes roles away, the work they allowed moves on.

The file is the truth for staff. A person it no longer lists, or whose roles shrank, keeps no
work their roles no longer cover: an outstanding offer goes to the next candidate (as after a
decline), an order they were working (or had paused) goes back to the dispatcher's queue, and
pool tasks are no longer offered to them. The timeline of each order says why ("withdraw").
The import that changed the roles commits all of it once, or throws it all away on a dry run.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from workflows.dispatch import (
    OrderContext,
    covering_role,
    load,
    redispatch,
    to_queue,
)
from workflows.model import KeyHousehold, Notice, OrderStatus, Person, Role, Visit
from workflows.ports import Clock, UnitOfWork
from workflows.vocabulary import Move

WITHDRAW = Move.WITHDRAW
# The queue reason the dispatcher reads ("reason.role_withdrawn" in the catalogs).
ROLE_WITHDRAWN = "role_withdrawn"
HELD = (OrderStatus.OFFERED, OrderStatus.ACCEPTED, OrderStatus.ON_WAY, OrderStatus.PAUSED)


class Outcome(enum.StrEnum):
    """Where an order went when its holder lost the role for it."""

    REOFFERED = "reoffered"  # the offer went to the next candidate
    QUEUED = "queued"  # back to the dispatcher's queue
    POOL_DROPPED = "pool_dropped"  # no longer offered to them in the pool; others still are
    POOL_QUEUED = "pool_queued"  # they were the last volunteer offered it: to the queue


@dataclass(frozen=True)
class Handover:
    """One order taken from a person: what it was to them and where it went."""

    number: str
    was: OrderStatus
    outcome: Outcome
    to: str | None = None  # the name of whom it is offered to now


@dataclass(frozen=True)
class Release:
    """What a person whose roles shrank no longer holds, and what still names them."""

    person: Person
    handovers: tuple[Handover, ...] = ()
    # Left to them although they hold no role any more: the file still names them liaison,
    # or a visit task was opened for them before.
    key_households: tuple[KeyHousehold, ...] = ()
    open_visits: tuple[Visit, ...] = ()


async def release_work(uow: UnitOfWork, clock: Clock, person_id: int) -> Release | None:
    """Withdraw from the person every order their current roles no longer let them work.

    Call it after their roles changed, in the same unit of work; None if there is no such
    person. The former holder is told the order went to a colleague.
    """
    person = await uow.people.get(person_id)
    if person is None:
        return None
    handovers: list[Handover] = []
    for order in await uow.orders.of_assignee(person.id, HELD):
        ctx = await load(uow, order.id)
        if covering_role(person, ctx) is None:
            handovers.append(await _withdraw(uow, clock, ctx, person))
    for order in await uow.orders.pool_for(person.id):
        ctx = await load(uow, order.id)
        handover = await _leave_pool(uow, clock, ctx, person)
        if handover is not None:
            handovers.append(handover)
    keys: tuple[KeyHousehold, ...] = ()
    visits: tuple[Visit, ...] = ()
    if not person.is_staff:
        keys = tuple(k for k in await uow.visits.key_households() if k.liaison_id == person.id)
        liaised = {k.household_id for k in keys}
        visits = tuple(
            v for v in await uow.visits.open_for(person.id) if v.household_id not in liaised
        )
    return Release(person, tuple(handovers), keys, visits)


async def _withdraw(uow: UnitOfWork, clock: Clock, ctx: OrderContext, person: Person) -> Handover:
    """Take an offered or worked order from its holder: offers go on, work goes to the queue."""
    was = ctx.order.status
    if was == OrderStatus.OFFERED:
        order = await redispatch(
            uow, clock, ctx, actor_id=None, note=None, action=WITHDRAW, queue_reason=ROLE_WITHDRAWN
        )
    else:
        order = await to_queue(uow, clock, ctx, ROLE_WITHDRAWN, actor_id=None, action=WITHDRAW)
    await uow.outbox.add(Notice(person.id, "task.withdrawn", {"number": order.number}))
    if order.status == OrderStatus.OFFERED and order.assignee_id is not None:
        holder = await uow.people.get(order.assignee_id)
        return Handover(order.number, was, Outcome.REOFFERED, holder.name if holder else None)
    return Handover(order.number, was, Outcome.QUEUED)


async def _leave_pool(
    uow: UnitOfWork, clock: Clock, ctx: OrderContext, person: Person
) -> Handover | None:
    """Stop offering a pool task to a volunteer no longer in a team with its skills."""
    volunteers = await uow.people.volunteers_with_skills(
        ctx.category.skills, ctx.place.community.id
    )
    if covering_role(person, ctx, Role.VOLUNTEER) is not None and person.id in {
        v.id for v in volunteers
    }:
        return None
    await uow.orders.drop_pool_offer(ctx.order.id, person.id)
    if await uow.orders.pool_offers(ctx.order.id):
        return Handover(ctx.order.number, OrderStatus.POOL, Outcome.POOL_DROPPED)
    await to_queue(uow, clock, ctx, ROLE_WITHDRAWN, actor_id=None)
    return Handover(ctx.order.number, OrderStatus.POOL, Outcome.POOL_QUEUED)
