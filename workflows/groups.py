"""Grid groups (秒回速办): a grid's Telegram groups, linked by its crew.

The residents' group gets the grid's notices (workflows/notices.py) and a private-chat button
for whatever a resident asks the bot there; the crew's staff group gets each new order of the
grid without any resident data (category, building, urgency, number) with 认领: the first tap
wins (a conditional write, as in the volunteers' pool) and the claimer gets the task card in
private. Nothing a resident wrote, nor who they are, is ever posted in a group.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from workflows.dispatch import (
    OrderContext,
    due,
    load,
    require_role,
    resident_notice,
    send_task_card,
)
from workflows.errors import DomainError, InvalidInput, NotAllowed, OrderAlreadyTaken
from workflows.model import (
    Action,
    AuditEntry,
    GridGroup,
    GroupKind,
    Notice,
    Order,
    OrderChanges,
    OrderStatus,
    Person,
    Place,
    PlaceKind,
    Role,
)
from workflows.ports import Clock, UnitOfWork
from workflows.states import move
from workflows.vocabulary import Move, Verb

LINK_ROLES = (Role.GRID_WORKER, Role.COMMUNITY_CADRE)
CLAIMABLE = (OrderStatus.QUEUED, OrderStatus.OFFERED)
TOKEN_BYTES = 9  # 12 URL-safe characters: "g_" + token fits Telegram's 64-character start payload
WORDS_PREFIX = "g_"
MAX_WORDS = 1000
ORDER_KEY = "group.new_order"


class NoGridToLink(DomainError):
    """The person may not link this group: no grid of theirs, or not one in their scope."""

    key = "group.link_refused"


class GridNeeded(DomainError):
    """The person covers several grids: they must name the grid's code."""

    key = "group.grid_needed"


async def linkable_grids(uow: UnitOfWork, person: Person) -> list[Place]:
    """Return the grids the person may link a group to (their grid, or their community's)."""
    grids: dict[int, Place] = {}
    for assignment in person.roles:
        if assignment.role not in LINK_ROLES:
            continue
        place = await uow.places.get(assignment.place_id)
        if place is None:
            continue
        if place.kind == PlaceKind.GRID:
            grids[place.id] = place
        elif place.kind == PlaceKind.COMMUNITY:
            for grid in await uow.places.children(place.id, PlaceKind.GRID):
                grids[grid.id] = grid
    return list(grids.values())


async def link(
    uow: UnitOfWork,
    clock: Clock,
    person: Person | None,
    chat_id: int,
    kind: GroupKind,
    code: str | None,
) -> Place:
    """Link the group to a grid the person works in (named by its code when they have several)."""
    if person is None:
        raise NoGridToLink()
    grids = await linkable_grids(uow, person)
    if code:
        chosen = [g for g in grids if g.code.lower() == code.lower()]
    else:
        chosen = grids if len(grids) == 1 else []
        if len(grids) > 1:
            raise GridNeeded(codes=" ".join(g.code for g in grids))
    if not chosen:
        raise NoGridToLink()
    grid = chosen[0]
    await uow.bulletins.link(GridGroup(chat_id, grid.id, kind, person.id, clock.now()))
    await uow.audit.record(
        AuditEntry(
            clock.now(),
            "group_link",
            person.id,
            person.name,
            f"grid {grid.code}",
            {"chat_id": chat_id, "kind": kind.value},
        )
    )
    return grid


async def unlink(uow: UnitOfWork, clock: Clock, person: Person | None, chat_id: int) -> Place:
    """Unlink the group; only someone who could link it to its grid may."""
    group = await uow.bulletins.group(chat_id)
    if group is None or person is None:
        raise NoGridToLink()
    if group.place_id not in {g.id for g in await linkable_grids(uow, person)}:
        raise NoGridToLink()
    await uow.bulletins.unlink(chat_id)
    grid = await uow.places.get(group.place_id)
    assert grid is not None
    await uow.audit.record(
        AuditEntry(clock.now(), "group_unlink", person.id, person.name, f"grid {grid.code}")
    )
    return grid


async def keep_words(uow: UnitOfWork, at: datetime, text: str) -> str:
    """Keep what a resident asked in a group; return the deep link's start payload."""
    words = text.strip()[:MAX_WORDS]
    if not words:
        raise InvalidInput(reason="too_short", limit=1)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    await uow.bulletins.keep_words(token, words, at)
    return WORDS_PREFIX + token


async def take_words(uow: UnitOfWork, payload: str) -> str | None:
    """Return the words a deep link's payload stands for (once), or None."""
    if not payload.startswith(WORDS_PREFIX) or len(payload) > 64:
        return None
    return await uow.bulletins.take_words(payload[len(WORDS_PREFIX) :])


async def tell_staff_group(uow: UnitOfWork, ctx: OrderContext) -> None:
    """Post a new order to its grid's staff group: category, building, urgency, number only."""
    if ctx.order.status not in CLAIMABLE:
        return  # the pool's volunteers, or nobody to claim it
    for group in await uow.bulletins.groups([ctx.place.grid.id], GroupKind.STAFF):
        await uow.bulletins.post(
            group,
            Notice(
                group.linked_by,
                ORDER_KEY,
                {
                    "number": ctx.order.number,
                    "category": ctx.category.names.zh,
                    "building": ctx.place.building.names.zh,
                    "urgency": ctx.order.urgency.value,
                },
                (Action.of(Verb.GROUP_CLAIM, ctx.order.id),),
            ),
        )


async def claim(
    uow: UnitOfWork, clock: Clock, person: Person | None, order_id: int, chat_id: int
) -> Order:
    """A crew member claims a new order from the staff group: the first tap wins."""
    group = await uow.bulletins.group(chat_id)
    if person is None or group is None or group.kind != GroupKind.STAFF:
        raise NotAllowed()
    ctx = await load(uow, order_id)
    if group.place_id != ctx.place.grid.id:
        raise NotAllowed()
    if ctx.order.status not in CLAIMABLE:
        raise OrderAlreadyTaken(number=ctx.order.number)
    role = require_role(person, ctx)
    if role == Role.VOLUNTEER:
        raise NotAllowed()  # the crew's group is for the grid's crew; wishes stay in the pool
    order = await move(
        uow,
        clock,
        ctx.order,
        Move.GROUP_CLAIM,
        actor_id=person.id,
        taken_error=OrderAlreadyTaken,
        changes=OrderChanges(
            assignee_id=person.id,
            level=role,
            resolve_due=due(clock, ctx, "resolve", uow.calendar),
        ),
    )
    previous = ctx.order.assignee_id
    ctx = OrderContext(order, ctx.category, ctx.place)
    await send_task_card(uow, ctx, person, offered=False)
    await resident_notice(uow, ctx, "order.accepted", worker=person.name)
    if previous is not None and previous != person.id:
        await uow.outbox.add(Notice(previous, "task.reassigned", {"number": order.number}))
    return order
