"""Repositories over one AsyncSession; they return the domain's plain data, never rows."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, Text, bindparam, delete, func, insert, or_, select, update
from sqlalchemy import cast as cast_as
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditRow,
    CategoryRow,
    ChatStateRow,
    HouseholdRow,
    InviteRow,
    OrderEventRow,
    OrderRow,
    OutboxRow,
    PersonRow,
    PlaceRow,
    PoolOfferRow,
    ProcessedUpdateRow,
    RoleRow,
    SendSlotRow,
    TeamMemberRow,
    TeamRow,
    db_epoch,
    dialect_of,
    insert_for,
)
from workflows.model import (
    AuditEntry,
    Category,
    CategoryKind,
    ChatState,
    Household,
    HouseholdPlace,
    Names,
    Notice,
    Order,
    OrderEvent,
    OrderStatus,
    Person,
    Place,
    PlaceKind,
    Role,
    RoleAssignment,
    SentCopy,
    Traces,
    Urgency,
)

BUSY = (OrderStatus.OFFERED.value, OrderStatus.ACCEPTED.value, OrderStatus.ON_WAY.value)

# -- statements every update runs, built once --------------------------------------------------
# What each update does (the person, their conversation state, the places they pick, the outbox
# rows, the update's record) is read and written with these prebuilt Core statements: building a
# statement and turning rows into ORM objects cost several times the query itself (the
# by-Telegram-id lookup of a person and their roles: ~0.5 ms through the ORM, ~0.06 ms here).
# Every ORM write in this module is flushed at once, so these reads never miss one.
_PEOPLE = cast(Table, PersonRow.__table__)
_ROLES = cast(Table, RoleRow.__table__)
_PLACES = cast(Table, PlaceRow.__table__)
_HOUSEHOLDS = cast(Table, HouseholdRow.__table__)
_CHATS = cast(Table, ChatStateRow.__table__)
_OUTBOX = cast(Table, OutboxRow.__table__)
_SEEN = cast(Table, ProcessedUpdateRow.__table__)
_SLOTS = cast(Table, SendSlotRow.__table__)
_PERSON = (
    select(_PEOPLE, _ROLES.c.role.label("role_name"), _ROLES.c.place_id.label("role_place"))
    .outerjoin(_ROLES, _ROLES.c.person_id == _PEOPLE.c.id)
    .order_by(_ROLES.c.id)
)
PERSON_BY_ID = _PERSON.where(_PEOPLE.c.id == bindparam("key"))
PERSON_BY_TELEGRAM = _PERSON.where(_PEOPLE.c.telegram_id == bindparam("key"))
PERSON_BY_CODE = _PERSON.where(_PEOPLE.c.code == bindparam("key"))
RECIPIENT = select(_PEOPLE.c.id, _PEOPLE.c.telegram_id, _PEOPLE.c.lang).where(
    _PEOPLE.c.id == bindparam("person_id")
)
PLACE_BY_ID = select(_PLACES).where(_PLACES.c.id == bindparam("place_id"))
_CHILDREN = select(_PLACES).order_by(_PLACES.c.position, _PLACES.c.id)
TOP_PLACES = _CHILDREN.where(_PLACES.c.kind == bindparam("kind"))
CHILD_PLACES = TOP_PLACES.where(_PLACES.c.parent_id == bindparam("parent_id"))
HOUSEHOLD_BY_ID = select(_HOUSEHOLDS).where(_HOUSEHOLDS.c.id == bindparam("household_id"))
HOUSEHOLDS_OF_UNIT = (
    select(_HOUSEHOLDS)
    .where(_HOUSEHOLDS.c.unit_id == bindparam("unit_id"))
    .order_by(_HOUSEHOLDS.c.id)
)
# A household with its unit, building, grid and community, in one read.
_LEVELS = ("unit", "building", "grid", "community")
_UP = [_PLACES.alias(level) for level in _LEVELS]
HOUSEHOLD_PLACE = (
    select(_HOUSEHOLDS, *(c.label(f"{up.name}__{c.key}") for up in _UP for c in up.c))
    .join(_UP[0], _UP[0].c.id == _HOUSEHOLDS.c.unit_id)
    .join(_UP[1], _UP[1].c.id == _UP[0].c.parent_id)
    .join(_UP[2], _UP[2].c.id == _UP[1].c.parent_id)
    .join(_UP[3], _UP[3].c.id == _UP[2].c.parent_id)
    .where(_HOUSEHOLDS.c.id == bindparam("household_id"))
)
CHAT_STATE = select(_CHATS.c.name, _CHATS.c.data).where(
    _CHATS.c.telegram_id == bindparam("telegram_id")
)
FORGET_CHAT_STATE = delete(_CHATS).where(_CHATS.c.telegram_id == bindparam("telegram_id"))
ADD_TO_OUTBOX = insert(_OUTBOX)
# A card taken back: its unsent copies not being sent right now (no live claim) are dropped…
_ABOUT = _OUTBOX.c.ref == bindparam("ref")
_NOT_TO = _OUTBOX.c.person_id != bindparam("except_person")
_UNSENT = (
    _OUTBOX.c.sent_at.is_(None),
    _OUTBOX.c.failed_at.is_(None),
    or_(_OUTBOX.c.lease_until.is_(None), _OUTBOX.c.lease_until < db_epoch()),
)
# …and its sent copies still in their person's chat are returned to be edited, their ref cleared
# so that each is edited once.
_SENT_COPIES = (
    select(_OUTBOX.c.id, _OUTBOX.c.person_id, _OUTBOX.c.chat_id, _OUTBOX.c.message_id)
    .join(_PEOPLE, _PEOPLE.c.id == _OUTBOX.c.person_id)
    .where(
        _ABOUT,
        _OUTBOX.c.sent_at.is_not(None),
        _OUTBOX.c.message_id.is_not(None),
        _PEOPLE.c.telegram_id == _OUTBOX.c.chat_id,
    )
    .order_by(_OUTBOX.c.id)
)


@functools.cache
def _statements(dialect: str) -> tuple[Any, Any]:
    """Return the upsert of a chat state and the first-time record of an update, per dialect."""
    insert_of = insert_for(dialect)
    chat = insert_of(_CHATS)
    put_chat = chat.on_conflict_do_update(
        index_elements=[_CHATS.c.telegram_id],
        set_={"name": chat.excluded.name, "data": chat.excluded.data},
    )
    seen = (
        insert_of(_SEEN)
        .on_conflict_do_nothing(index_elements=[_SEEN.c.update_id])
        .returning(_SEEN.c.update_id)
    )
    return put_chat, seen


def _person(row: Any, roles: Iterable[RoleAssignment]) -> Person:
    """Return the domain person for a row of `people` (ORM or Core) and their roles."""
    return Person(
        id=row.id,
        name=row.name,
        lang=row.lang,
        telegram_id=row.telegram_id,
        code=row.code,
        phone=row.phone,
        household_id=row.household_id,
        roles=tuple(roles),
        reachable=row.reachable,
        digest_time=row.digest_time,
    )


async def _one_person(session: AsyncSession, statement: Any, key: object) -> Person | None:
    """Run one of the PERSON_BY_* statements: one row per role (one with none if none)."""
    rows: Sequence[Row[Any]] = (await session.execute(statement, {"key": key})).all()
    if not rows:
        return None
    roles = (RoleAssignment(Role(r.role_name), r.role_place) for r in rows if r.role_name)
    return _person(rows[0], roles)


def to_place(row: PlaceRow | Row[Any]) -> Place:
    """Return the domain place for a row."""
    return Place(
        row.id, PlaceKind(row.kind), row.code, Names(row.name_zh, row.name_en), row.parent_id
    )


def to_household(row: HouseholdRow | Row[Any]) -> Household:
    """Return the domain household for a row."""
    return Household(row.id, row.unit_id, row.room, row.is_key)


def to_category(row: CategoryRow) -> Category:
    """Return the domain category for a row."""
    return Category(
        id=row.id,
        code=row.code,
        names=Names(row.name_zh, row.name_en),
        kind=CategoryKind(row.kind),
        role=Role(row.role) if row.role else None,
        skills=tuple(row.skills or ()),
        department_id=row.department_id,
        accept_minutes=row.accept_minutes,
        resolve_hours=row.resolve_hours,
        urgent_accept_minutes=row.urgent_accept_minutes,
        urgent_resolve_hours=row.urgent_resolve_hours,
        followup_days=row.followup_days,
        followup_visit=row.followup_visit,
    )


def to_order(row: OrderRow) -> Order:
    """Return the domain order for a row."""
    return Order(
        id=row.id,
        resident_id=row.resident_id,
        household_id=row.household_id,
        category_id=row.category_id,
        description=row.description,
        urgency=Urgency(row.urgency),
        status=OrderStatus(row.status),
        assignee_id=row.assignee_id,
        created_at=row.created_at,
        photos=tuple(row.photos or ()),
        latitude=row.latitude,
        longitude=row.longitude,
        rating=row.rating,
        comment=row.comment,
        accept_due=row.accept_due,
        resolve_due=row.resolve_due,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        level=Role(row.level) if row.level else None,
        version=row.version,
        building_id=row.building_id,
    )


def to_event(row: OrderEventRow) -> OrderEvent:
    """Return the domain timeline entry for a row."""
    return OrderEvent(
        order_id=row.order_id,
        at=row.at,
        actor_id=row.actor_id,
        action=row.action,
        from_status=OrderStatus(row.from_status) if row.from_status else None,
        to_status=OrderStatus(row.to_status) if row.to_status else None,
        note=row.note,
        target_id=row.target_id,
        photo=row.photo,
    )


def _db_value(value: Any) -> Any:
    """Return enum values as their plain strings for the database."""
    return value.value if hasattr(value, "value") else value


class SqlPlaces:
    """Places and households."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, place_id: int) -> Place | None:
        row = (await self.session.execute(PLACE_BY_ID, {"place_id": place_id})).first()
        return to_place(row) if row else None

    async def children(self, parent_id: int | None, kind: PlaceKind) -> list[Place]:
        if parent_id is None:
            rows = await self.session.execute(TOP_PLACES, {"kind": kind.value})
        else:
            asked = {"kind": kind.value, "parent_id": parent_id}
            rows = await self.session.execute(CHILD_PLACES, asked)
        return [to_place(r) for r in rows]

    async def by_code(self, code: str) -> Place | None:
        row = await self.session.scalar(select(PlaceRow).where(PlaceRow.code == code))
        return to_place(row) if row else None

    async def households(self, unit_id: int) -> list[Household]:
        rows = await self.session.execute(HOUSEHOLDS_OF_UNIT, {"unit_id": unit_id})
        return [to_household(r) for r in rows]

    async def household(self, household_id: int) -> Household | None:
        asked = {"household_id": household_id}
        row = (await self.session.execute(HOUSEHOLD_BY_ID, asked)).first()
        return to_household(row) if row else None

    async def household_place(self, household_id: int) -> HouseholdPlace | None:
        asked = {"household_id": household_id}
        row = (await self.session.execute(HOUSEHOLD_PLACE, asked)).first()
        if row is None:
            return None
        found = row._mapping
        unit, building, grid, community = (
            Place(
                found[f"{level}__id"],
                PlaceKind(found[f"{level}__kind"]),
                found[f"{level}__code"],
                Names(found[f"{level}__name_zh"], found[f"{level}__name_en"]),
                found[f"{level}__parent_id"],
            )
            for level in _LEVELS
        )
        return HouseholdPlace(to_household(row), unit, building, grid, community)


class SqlPeople:
    """People and their roles."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _roles(self, person_ids: Sequence[int]) -> dict[int, list[RoleAssignment]]:
        found: dict[int, list[RoleAssignment]] = {pid: [] for pid in person_ids}
        if not person_ids:
            return found
        rows = await self.session.scalars(
            select(RoleRow).where(RoleRow.person_id.in_(person_ids)).order_by(RoleRow.id)
        )
        for r in rows:
            found[r.person_id].append(RoleAssignment(Role(r.role), r.place_id))
        return found

    async def _people(self, rows: Sequence[PersonRow]) -> list[Person]:
        roles = await self._roles([r.id for r in rows])
        return [_person(r, roles[r.id]) for r in rows]

    async def get(self, person_id: int) -> Person | None:
        return await _one_person(self.session, PERSON_BY_ID, person_id)

    async def by_telegram(self, telegram_id: int) -> Person | None:
        return await _one_person(self.session, PERSON_BY_TELEGRAM, telegram_id)

    async def by_code(self, code: str) -> Person | None:
        return await _one_person(self.session, PERSON_BY_CODE, code)

    async def forget(self, person_id: int, placeholder: str) -> None:
        await self.session.execute(
            update(PersonRow)
            .where(PersonRow.id == person_id)
            .values(name=placeholder, phone=None, telegram_id=None, household_id=None)
        )

    async def add_resident(
        self, telegram_id: int, name: str, lang: str, household_id: int
    ) -> Person:
        row = PersonRow(name=name, lang=lang, telegram_id=telegram_id, household_id=household_id)
        self.session.add(row)
        await self.session.flush()
        return (await self._people([row]))[0]

    async def update(self, person_id: int, **fields: Any) -> None:
        await self.session.execute(
            update(PersonRow).where(PersonRow.id == person_id).values(**fields)
        )

    async def set_reachable(self, person_id: int, reachable: bool) -> bool:
        result = await self.session.execute(
            update(PersonRow)
            .where(PersonRow.id == person_id, PersonRow.reachable.is_not(reachable))
            .values(reachable=reachable)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def with_role(self, role: Role, place_ids: Sequence[int]) -> list[Person]:
        rows = await self.session.scalars(
            select(PersonRow)
            .join(RoleRow, RoleRow.person_id == PersonRow.id)
            .where(RoleRow.role == role.value, RoleRow.place_id.in_(place_ids))
            .distinct()
            .order_by(PersonRow.id)
        )
        return await self._people(list(rows))

    async def volunteers_with_skills(
        self, skills: Sequence[str], community_id: int
    ) -> list[Person]:
        teams = await self.session.scalars(
            select(TeamRow).where(TeamRow.community_id == community_id)
        )
        team_ids = [t.id for t in teams if not skills or set(skills) & set(t.skills or ())]
        if not team_ids:
            return []
        rows = await self.session.scalars(
            select(PersonRow)
            .join(TeamMemberRow, TeamMemberRow.person_id == PersonRow.id)
            .where(TeamMemberRow.team_id.in_(team_ids))
            .distinct()
            .order_by(PersonRow.id)
        )
        return await self._people(list(rows))

    async def workload(self, person_ids: Sequence[int]) -> dict[int, int]:
        if not person_ids:
            return {}
        rows = await self.session.execute(
            select(OrderRow.assignee_id, func.count())
            .where(OrderRow.assignee_id.in_(person_ids), OrderRow.status.in_(BUSY))
            .group_by(OrderRow.assignee_id)
        )
        return {int(pid): int(n) for pid, n in rows if pid is not None}


class SqlCategories:
    """Categories in the order residents see them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list(self) -> list[Category]:
        rows = await self.session.scalars(
            select(CategoryRow).order_by(CategoryRow.position, CategoryRow.id)
        )
        return [to_category(r) for r in rows]

    async def get(self, category_id: int) -> Category | None:
        row = await self.session.get(CategoryRow, category_id)
        return to_category(row) if row else None


class SqlOrders:
    """Orders, timelines and pool offers."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        resident_id: int,
        household_id: int,
        category_id: int,
        description: str,
        urgency: Urgency,
        status: OrderStatus,
        photos: Sequence[str],
        latitude: float | None,
        longitude: float | None,
        created_at: datetime,
    ) -> Order:
        place = await SqlPlaces(self.session).household_place(household_id)
        assert place is not None
        row = OrderRow(
            resident_id=resident_id,
            household_id=household_id,
            building_id=place.building.id,
            category_id=category_id,
            community_id=place.community.id,
            description=description,
            urgency=urgency.value,
            status=status.value,
            photos=list(photos),
            latitude=latitude,
            longitude=longitude,
            created_at=created_at,
            version=0,
        )
        self.session.add(row)
        await self.session.flush()
        return to_order(row)

    async def get(self, order_id: int) -> Order | None:
        row = await self.session.get(OrderRow, order_id, populate_existing=True)
        return to_order(row) if row else None

    async def move(
        self,
        order_id: int,
        from_statuses: Iterable[OrderStatus],
        to_status: OrderStatus,
        *,
        expect_version: int | None = None,
        **changes: Any,
    ) -> Order | None:
        query = (
            update(OrderRow)
            .where(
                OrderRow.id == order_id,
                OrderRow.status.in_([s.value for s in from_statuses]),
            )
            .values(
                status=to_status.value,
                version=OrderRow.version + 1,
                **{k: _db_value(v) for k, v in changes.items()},
            )
            .execution_options(synchronize_session=False)
        )
        if expect_version is not None:
            query = query.where(OrderRow.version == expect_version)
        result = await self.session.execute(query)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return await self.get(order_id)

    async def update(self, order_id: int, **changes: Any) -> None:
        await self.session.execute(
            update(OrderRow)
            .where(OrderRow.id == order_id)
            .values(**{k: _db_value(v) for k, v in changes.items()})
            .execution_options(synchronize_session=False)
        )

    async def add_event(self, event: OrderEvent) -> None:
        self.session.add(
            OrderEventRow(
                order_id=event.order_id,
                at=event.at,
                actor_id=event.actor_id,
                action=event.action,
                from_status=event.from_status.value if event.from_status else None,
                to_status=event.to_status.value if event.to_status else None,
                note=event.note,
                target_id=event.target_id,
                photo=event.photo,
            )
        )
        await self.session.flush()

    async def events(self, order_id: int) -> list[OrderEvent]:
        rows = await self.session.scalars(
            select(OrderEventRow)
            .where(OrderEventRow.order_id == order_id)
            .order_by(OrderEventRow.id)
        )
        return [to_event(r) for r in rows]

    async def of_resident(self, resident_id: int, limit: int = 20) -> list[Order]:
        rows = await self.session.scalars(
            select(OrderRow)
            .where(OrderRow.resident_id == resident_id)
            .order_by(OrderRow.id.desc())
            .limit(limit)
        )
        return [to_order(r) for r in rows]

    async def scrub_resident(self, resident_id: int, placeholder: str) -> int:
        result = await self.session.execute(
            update(OrderRow)
            .where(OrderRow.resident_id == resident_id)
            .values(
                description=placeholder,
                photos=[],
                latitude=None,
                longitude=None,
                comment=None,
                household_id=None,  # the room; the order keeps its building (0007)
            )
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(OrderEventRow)
            .where(OrderEventRow.actor_id == resident_id, OrderEventRow.action != "rate")
            .values(note=None, photo=None)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(OrderEventRow)
            .where(OrderEventRow.actor_id == resident_id)
            .values(photo=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def placed_since(self, resident_id: int, since: datetime) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(OrderRow)
            .where(OrderRow.resident_id == resident_id, OrderRow.created_at >= since)
        )
        return int(count or 0)

    async def of_assignee(self, person_id: int, statuses: Iterable[OrderStatus]) -> list[Order]:
        rows = await self.session.scalars(
            select(OrderRow)
            .where(
                OrderRow.assignee_id == person_id,
                OrderRow.status.in_([s.value for s in statuses]),
            )
            .order_by(OrderRow.id)
        )
        return [to_order(r) for r in rows]

    async def pool_for(self, person_id: int) -> list[Order]:
        rows = await self.session.scalars(
            select(OrderRow)
            .join(PoolOfferRow, PoolOfferRow.order_id == OrderRow.id)
            .where(PoolOfferRow.person_id == person_id, OrderRow.status == OrderStatus.POOL.value)
            .order_by(OrderRow.id)
        )
        return [to_order(r) for r in rows]

    async def in_community(self, community_id: int, statuses: Iterable[OrderStatus]) -> list[Order]:
        rows = await self.session.scalars(
            select(OrderRow)
            .where(
                OrderRow.community_id == community_id,
                OrderRow.status.in_([s.value for s in statuses]),
            )
            .order_by(OrderRow.id)
        )
        return [to_order(r) for r in rows]

    async def transfer_resident(self, from_person: int, to_person: int) -> None:
        await self.session.execute(
            update(OrderRow)
            .where(OrderRow.resident_id == from_person)
            .values(resident_id=to_person)
            .execution_options(synchronize_session=False)
        )

    async def pool_offers(self, order_id: int) -> list[int]:
        rows = await self.session.scalars(
            select(PoolOfferRow.person_id).where(PoolOfferRow.order_id == order_id)
        )
        return list(rows)

    async def add_pool_offer(self, order_id: int, person_id: int) -> None:
        if await self.session.get(PoolOfferRow, (order_id, person_id)) is None:
            self.session.add(PoolOfferRow(order_id=order_id, person_id=person_id))
            await self.session.flush()

    async def drop_pool_offer(self, order_id: int, person_id: int) -> None:
        await self.session.execute(
            delete(PoolOfferRow).where(
                PoolOfferRow.order_id == order_id, PoolOfferRow.person_id == person_id
            )
        )


class SqlOutbox:
    """Outgoing messages, addressed to a chat in the recipient's language."""

    def __init__(
        self,
        session: AsyncSession,
        now: Any,
        quiet: Callable[[datetime], datetime | None] | None = None,
    ) -> None:
        self.session = session
        self.now = now
        # When given: until when a deferrable notice written now must wait (quiet hours).
        self.quiet = quiet

    async def add(self, notice: Notice) -> None:
        asked = {"person_id": notice.person_id}
        person = (await self.session.execute(RECIPIENT, asked)).first()
        if person is None or person.telegram_id is None:
            return  # nobody to tell yet; the timeline keeps the record
        now = self.now()
        await self.session.execute(
            ADD_TO_OUTBOX,
            {
                "person_id": person.id,
                "chat_id": person.telegram_id,
                "lang": person.lang,
                "key": notice.key,
                "params": dict(notice.params),
                "actions": [
                    {
                        "label": a.label,
                        "verb": a.verb,
                        "order_id": a.order_id,
                        "arg": a.arg,
                        "params": dict(a.params),
                    }
                    for a in notice.actions
                ],
                "photo": notice.photo,
                "urgent": notice.urgent,
                "created_at": now,
                "attempts": 0,
                "not_before": self.quiet(now) if notice.deferrable and self.quiet else None,
                "ref": notice.ref,
            },
        )

    async def forget(self, traces: Traces, placeholder: str) -> int:
        to_them = [_OUTBOX.c.person_id == traces.person_id]
        if traces.chat_id is not None:
            to_them.append(_OUTBOX.c.chat_id == traces.chat_id)
            # The chat's pace: its key is their Telegram id.
            await self.session.execute(delete(_SLOTS).where(_SLOTS.c.key == str(traces.chat_id)))
        dropped = await self.session.execute(delete(_OUTBOX).where(or_(*to_them)))
        # What was sent or given up is never read again but for its ids; delivery empties it
        # (storage/outbox.py), and this empties what an older version left.
        await self.session.execute(
            update(_OUTBOX)
            .where(
                or_(_OUTBOX.c.sent_at.is_not(None), _OUTBOX.c.failed_at.is_not(None)),
                or_(
                    cast_as(_OUTBOX.c.params, Text) != "{}",
                    cast_as(_OUTBOX.c.actions, Text) != "[]",
                    _OUTBOX.c.photo.is_not(None),
                ),
            )
            .values(params={}, actions=[], photo=None)
        )
        # Unsent messages to others: those about their orders are moot (the orders are being
        # cancelled or closed); in the rest, their words give way to the placeholder.
        unsent = await self.session.execute(
            select(_OUTBOX.c.id, _OUTBOX.c.params, _OUTBOX.c.actions, _OUTBOX.c.photo).where(
                _OUTBOX.c.sent_at.is_(None), _OUTBOX.c.failed_at.is_(None)
            )
        )
        moot: list[int] = []
        for row in unsent:
            params, actions = dict(row.params or {}), list(row.actions or [])
            if _concerns(traces, params, actions):
                moot.append(row.id)
                continue
            scrubbed = _scrubbed(params, traces.words, placeholder)
            photo = None if row.photo in traces.words else row.photo
            if scrubbed != params or photo != row.photo:
                await self.session.execute(
                    update(_OUTBOX)
                    .where(_OUTBOX.c.id == row.id)
                    .values(params=scrubbed, photo=photo)
                )
        if moot:
            await self.session.execute(delete(_OUTBOX).where(_OUTBOX.c.id.in_(moot)))
        return int(dropped.rowcount or 0) + len(moot)  # type: ignore[attr-defined]

    async def take_back(self, ref: str, *, except_person: int | None = None) -> list[SentCopy]:
        """Drop the unsent messages about `ref` and return the sent copies, forgetting their ref."""
        others = (_NOT_TO,) if except_person is not None else ()
        asked = {"ref": ref, "except_person": except_person}
        await self.session.execute(delete(_OUTBOX).where(_ABOUT, *others, *_UNSENT), asked)
        rows = (await self.session.execute(_SENT_COPIES.where(*others), asked)).all()
        if rows:
            await self.session.execute(
                update(_OUTBOX).where(_OUTBOX.c.id.in_([r.id for r in rows])).values(ref=None)
            )
        return [SentCopy(r.person_id, r.chat_id, r.message_id) for r in rows]


def _concerns(traces: Traces, params: dict[str, Any], actions: list[Any]) -> bool:
    """Return whether a queued message is about one of the erased resident's orders."""
    if str(params.get("number")) in traces.numbers:
        return True
    return any(isinstance(a, dict) and a.get("order_id") in traces.order_ids for a in actions)


def _scrubbed(value: Any, words: frozenset[str], placeholder: str) -> Any:
    """Return a message's JSON with each of the words replaced by the placeholder."""
    if isinstance(value, str):
        for word in sorted(words, key=len, reverse=True):  # a phone before its digits' part
            value = value.replace(word, placeholder)
        return value
    if isinstance(value, dict):
        return {k: _scrubbed(v, words, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, words, placeholder) for v in value]
    return value


class SqlChats:
    """Conversation state per Telegram user."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, telegram_id: int) -> ChatState | None:
        row = (await self.session.execute(CHAT_STATE, {"telegram_id": telegram_id})).first()
        return ChatState(row.name, dict(row.data or {})) if row else None

    async def put(self, telegram_id: int, state: ChatState | None) -> None:
        if state is None:
            await self.session.execute(FORGET_CHAT_STATE, {"telegram_id": telegram_id})
            return
        put_chat, _ = _statements(dialect_of(self.session))
        await self.session.execute(
            put_chat, {"telegram_id": telegram_id, "name": state.name, "data": dict(state.data)}
        )


class SqlInvites:
    """One-time staff invite tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def issue(self, person_id: int, token: str, at: datetime) -> None:
        self.session.add(InviteRow(token=token, person_id=person_id, issued_at=at))
        await self.session.flush()

    async def redeem(self, token: str, at: datetime) -> int | None:
        row = await self.session.get(InviteRow, token)
        if row is None or row.used_at is not None:
            return None
        result = await self.session.execute(
            update(InviteRow)
            .where(InviteRow.token == token, InviteRow.used_at.is_(None))
            .values(used_at=at)
            .execution_options(synchronize_session=False)
        )
        return row.person_id if result.rowcount == 1 else None  # type: ignore[attr-defined]


class SqlUpdateLog:
    """Telegram update ids that took effect, kept for a week."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def first_time(self, update_id: int, at: datetime) -> bool:
        # A write first: on SQLite the update's transaction then holds the write lock from its
        # start (waiting its turn for it), instead of failing with "database is locked" when it
        # came to write after another transaction committed since it read.
        _, seen = _statements(dialect_of(self.session))
        written = await self.session.scalar(seen, {"update_id": update_id, "at": at})
        return written is not None

    async def forget_before(self, at: datetime) -> int:
        """Drop records older than `at`; return how many."""
        result = await self.session.execute(
            delete(ProcessedUpdateRow).where(ProcessedUpdateRow.at < at)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class SqlAudit:
    """The audit log of staff actions."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, entry: AuditEntry) -> None:
        self.session.add(
            AuditRow(
                at=entry.at,
                actor_id=entry.actor_id,
                actor=entry.actor[:100],
                action=entry.action,
                subject=entry.subject,
                details=dict(entry.details),
            )
        )
        await self.session.flush()

    async def latest(self, limit: int) -> list[AuditEntry]:
        rows = await self.session.scalars(
            select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        )
        return [
            AuditEntry(
                at=r.at,
                action=r.action,
                actor_id=r.actor_id,
                actor=r.actor,
                subject=r.subject,
                details=dict(r.details or {}),
            )
            for r in rows
        ]
