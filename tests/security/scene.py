"""A scene for security tests: the sample organisation with one person of each kind signed in."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.demo import Neighbourhood, survey
from handlers.conversations import Conversations
from handlers.events import Incoming, Reply
from handlers.texts import Texts
from storage.db import make_engine, make_sessions
from storage.models import ChatStateRow, OrderEventRow, OrderRow, OutboxRow
from storage.uow import SqlUnitOfWork
from workflows.dispatch import accept_task, claim_from_pool
from workflows.model import Order, Person, PlaceKind, Role
from workflows.orders import OrderDraft, confirm_fixed, place_order
from workflows.people import issue_invite, join_staff, register_resident
from workflows.work import resolve_task

ACTORS = (
    "owner",
    "other_resident",
    "assignee",
    "same_grid_worker",
    "other_grid_worker",
    "other_dispatcher",
    "supervisor",
    "stranger",
)
_ids = itertools.count(10_000)


@dataclass
class Scene:
    """The sample organisation with one person of each kind signed in."""

    sessions: async_sessionmaker[AsyncSession]
    clock: ManualClock
    conversations: Conversations
    place: Neighbourhood
    people: dict[str, Person]

    def uow(self) -> SqlUnitOfWork:
        """Return a plain unit of work for setting the scene."""
        return SqlUnitOfWork(self.sessions, self.clock.now)

    async def press(self, who: str, data: str) -> list[Reply]:
        """Press a button with this callback data as someone."""
        user = self.people[who].telegram_id if who in self.people else 999_999
        assert user is not None
        return await self.conversations.handle(
            Incoming(
                update_id=next(_ids),
                user_id=user,
                chat_id=user,
                first_name=who,
                language_code="zh-hans",
                callback_id=str(next(_ids)),
                callback_data=data,
                message_id=1,
            )
        )

    def new_minute(self) -> None:
        """Start the flood guard's count afresh, as if a minute had passed since anyone wrote.

        The guard counts real seconds (handlers/conversations.py `_flooding`): examples run one
        after another within a minute would otherwise add up, and a person's /cancel in a late
        example would be ignored as flooding, which is what the guard is for.
        """
        self.conversations._recent.clear()

    async def say(self, who: str, text: str) -> list[Reply]:
        """Send a text as someone."""
        user = self.people[who].telegram_id if who in self.people else 999_999
        assert user is not None
        return await self.conversations.handle(
            Incoming(next(_ids), user, user, who, "zh-hans", text=text)
        )

    async def fingerprint(self) -> tuple[object, ...]:
        """Return what any change would show: orders, timelines, messages queued, chat steps."""
        async with self.sessions() as session:
            orders = (await session.execute(select(OrderRow).order_by(OrderRow.id))).scalars()
            rows = tuple(
                (o.id, o.status, o.assignee_id, o.version, o.rating, o.comment) for o in orders
            )
            counts = tuple(
                [
                    await session.scalar(select(func.count()).select_from(table))
                    for table in (OrderEventRow, OutboxRow, ChatStateRow)
                ]
            )
        return rows, counts


async def _join(
    scene_sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    person: Person,
    telegram_id: int,
) -> Person:
    async with SqlUnitOfWork(scene_sessions, clock.now) as uow:
        token = await issue_invite(uow, clock, person)
        await uow.commit()
    async with SqlUnitOfWork(scene_sessions, clock.now) as uow:
        result = await join_staff(uow, clock, telegram_id, token, "zh")
        await uow.commit()
        return result


async def make_scene(sample_db: str) -> AsyncIterator[Scene]:
    """Sign in a resident and staff of every kind around the first unit."""
    engine = make_engine(sample_db)
    sessions = make_sessions(engine)
    clock = ManualClock()
    async with SqlUnitOfWork(sessions, clock.now) as uow:
        place = await survey(uow)
        households = await uow.places.households(place.unit.id)
        grids = await uow.places.children(place.community.id, PlaceKind.GRID)
        other_grid_worker = (await uow.people.with_role(Role.GRID_WORKER, [grids[1].id]))[0]
        communities = await uow.places.children(None, PlaceKind.COMMUNITY)
        other_dispatcher = (await uow.people.with_role(Role.DISPATCHER, [communities[1].id]))[0]
        supervisor = (await uow.people.with_role(Role.SUPERVISOR, [place.community.id]))[0]
        volunteers = await uow.people.volunteers_with_skills(["micro_wish"], place.community.id)
    people: dict[str, Person] = {}
    async with SqlUnitOfWork(sessions, clock.now) as uow:
        people["owner"] = await register_resident(uow, 501, "业主", "zh", households[0].id)
        await uow.commit()
    async with SqlUnitOfWork(sessions, clock.now) as uow:
        people["other_resident"] = await register_resident(uow, 502, "邻居", "zh", households[1].id)
        await uow.commit()
    staff = {
        "unit_head": place.unit_head,
        "same_grid_worker": place.grid_worker,
        "other_grid_worker": other_grid_worker,
        "dispatcher": place.dispatcher,
        "other_dispatcher": other_dispatcher,
        "supervisor": supervisor,
        "volunteer": volunteers[0],
        "other_volunteer": volunteers[1],
    }
    for number, (name, person) in enumerate(staff.items(), start=601):
        people[name] = await _join(sessions, clock, person, number)
    texts = Texts.load()
    conversations = Conversations(lambda: SqlUnitOfWork(sessions, clock.now), clock, texts)
    try:
        yield Scene(sessions, clock, conversations, place, people)
    finally:
        await engine.dispose()


async def category(scene: Scene, code: str) -> int:
    """Return a category id by code."""
    async with scene.uow() as uow:
        return next(c.id for c in await uow.categories.list() if c.code == code)


async def offered(scene: Scene) -> Order:
    """An order offered to the unit head."""
    async with scene.uow() as uow:
        result = await place_order(
            uow, scene.clock, scene.people["owner"],
            OrderDraft(await category(scene, "water_power_gas"), "水管漏水"),
        )  # fmt: skip
        await uow.commit()
        return result


async def accepted(scene: Scene) -> Order:
    """An order the unit head accepted."""
    order = await offered(scene)
    async with scene.uow() as uow:
        result = await accept_task(uow, scene.clock, scene.people["unit_head"], order.id)
        await uow.commit()
        return result


async def resolved(scene: Scene) -> Order:
    """An order the unit head resolved."""
    order = await accepted(scene)
    async with scene.uow() as uow:
        result = await resolve_task(uow, scene.clock, scene.people["unit_head"], order.id, "修好了")
        await uow.commit()
        return result


async def closed(scene: Scene) -> Order:
    """An order the resident confirmed."""
    order = await resolved(scene)
    async with scene.uow() as uow:
        result = await confirm_fixed(uow, scene.clock, scene.people["owner"], order.id)
        await uow.commit()
        return result


async def pooled(scene: Scene) -> Order:
    """A micro-wish open to the volunteers."""
    async with scene.uow() as uow:
        result = await place_order(
            uow, scene.clock, scene.people["owner"],
            OrderDraft(await category(scene, "micro_wish"), "想要一副老花镜"),
        )  # fmt: skip
        await uow.commit()
        return result


async def queued(scene: Scene) -> Order:
    """An order no rule fits, waiting for the community's dispatcher."""
    async with scene.uow() as uow:
        result = await place_order(
            uow, scene.clock, scene.people["owner"],
            OrderDraft(await category(scene, "other"), "想咨询社区活动"),
        )  # fmt: skip
        await uow.commit()
        return result


async def claimed(scene: Scene) -> Order:
    """A micro-wish the first volunteer claimed."""
    order = await pooled(scene)
    async with scene.uow() as uow:
        result = await claim_from_pool(uow, scene.clock, scene.people["volunteer"], order.id)
        await uow.commit()
        return result
