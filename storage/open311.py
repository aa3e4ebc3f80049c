"""Open311 (issue 19): partner systems' keys, the requests they filed, and orders as they read them.

A key is 32 random bytes shown once; only its sha256 is kept. Each order a partner filed has a
row with its token (GET tokens/{token}) and the idempotency key it came with, unique per key, so
a retried POST finds the order the first one made.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    ApiKeyRow,
    ApiRequestRow,
    AuditRow,
    CategoryRow,
    OrderEventRow,
    OrderRow,
    PlaceRow,
)
from workflows.model import Names, OrderStatus, PlaceKind

KEY_BYTES = 32
SCOPES = (PlaceKind.STREET.value, PlaceKind.COMMUNITY.value)


class KeyProblem(ValueError):
    """A key cannot be added: the name is taken, or the scope is not a street or community."""


@dataclass(frozen=True)
class ApiKey:
    """A partner's key as listed: never the key itself."""

    id: int
    name: str
    scope_id: int
    scope_code: str
    created_at: datetime
    revoked_at: datetime | None = None


def key_hash(key: str) -> str:
    """Return what is kept of a key: its sha256, in hex."""
    return hashlib.sha256(key.encode()).hexdigest()


async def add_key(session: AsyncSession, name: str, scope_code: str, now: datetime) -> str:
    """Add a key for a partner in a street or community; return the key (shown only now)."""
    scope = await session.scalar(select(PlaceRow).where(PlaceRow.code == scope_code))
    if scope is None or scope.kind not in SCOPES:
        raise KeyProblem(f"{scope_code!r} is not the code of a street or community")
    name = name.strip()
    if not name or len(name) > 100:
        raise KeyProblem("a key's name is 1 to 100 characters")
    if await session.scalar(select(ApiKeyRow.id).where(ApiKeyRow.name == name)) is not None:
        raise KeyProblem(f"there is already a key named {name!r} (revoked keys keep their name)")
    key = secrets.token_urlsafe(KEY_BYTES)
    session.add(ApiKeyRow(name=name, key_hash=key_hash(key), scope_id=scope.id, created_at=now))
    session.add(
        AuditRow(
            at=now, actor="cli", action="api_key_add", subject=name, details={"scope": scope_code}
        )
    )
    return key


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    """Return every key, revoked ones too, oldest first."""
    rows = await session.execute(
        select(ApiKeyRow, PlaceRow.code)
        .join(PlaceRow, PlaceRow.id == ApiKeyRow.scope_id)
        .order_by(ApiKeyRow.id)
    )
    return [ApiKey(k.id, k.name, k.scope_id, code, k.created_at, k.revoked_at) for k, code in rows]


async def revoke_key(session: AsyncSession, name: str, now: datetime) -> bool:
    """Revoke the key of that name; False if there is none not revoked yet."""
    done = await session.execute(
        update(ApiKeyRow)
        .where(ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if not getattr(done, "rowcount", 0):
        return False
    session.add(AuditRow(at=now, actor="cli", action="api_key_revoke", subject=name, details={}))
    return True


# Read for every call a partner makes: a Core statement built once.
_KEYS, _PLACES = cast(Table, ApiKeyRow.__table__), cast(Table, PlaceRow.__table__)
_LIVE_KEY = (
    select(_KEYS, _PLACES.c.code)
    .join(_PLACES, _PLACES.c.id == _KEYS.c.scope_id)
    .where(_KEYS.c.key_hash == bindparam("key_hash"), _KEYS.c.revoked_at.is_(None))
)


async def key_for(session: AsyncSession, key: str) -> ApiKey | None:
    """Return the live key a partner presented, or None (unknown or revoked)."""
    row = (await session.execute(_LIVE_KEY, {"key_hash": key_hash(key)})).first()
    if row is None:
        return None
    return ApiKey(row.id, row.name, row.scope_id, row.code, row.created_at, row.revoked_at)


@dataclass(frozen=True)
class FiledRequest:
    """A request a partner filed: the order's id and the token it was given."""

    order_id: int
    token: str


async def filed_before(
    session: AsyncSession, key_id: int, idempotency_key: str
) -> FiledRequest | None:
    """Return what the key filed before under this idempotency key, if anything."""
    row = (
        await session.execute(
            select(ApiRequestRow.order_id, ApiRequestRow.token).where(
                ApiRequestRow.key_id == key_id, ApiRequestRow.idempotency_key == idempotency_key
            )
        )
    ).first()
    return None if row is None else FiledRequest(row[0], row[1])


async def record_filed(
    session: AsyncSession, key_id: int, idempotency_key: str | None, order_id: int, now: datetime
) -> FiledRequest | None:
    """Record a filed order with a new token; None if the idempotency key was used meanwhile
    (a retry that raced this one: the caller rolls back and reads the other's)."""
    token = secrets.token_hex(16)
    try:
        await session.execute(
            insert(cast(Table, ApiRequestRow.__table__)),
            dict(
                key_id=key_id,
                idempotency_key=idempotency_key,
                token=token,
                order_id=order_id,
                created_at=now,
            ),
        )
    except IntegrityError:
        return None
    return FiledRequest(order_id, token)


async def order_of_token(session: AsyncSession, token: str) -> int | None:
    """Return the order a token was given for."""
    return await session.scalar(
        select(ApiRequestRow.order_id).where(ApiRequestRow.token == token[:64])
    )


@dataclass(frozen=True)
class Jurisdiction:
    """A street or community as a jurisdiction_id names it: its code."""

    id: int
    kind: PlaceKind
    code: str


async def jurisdiction(session: AsyncSession, code: str) -> Jurisdiction | None:
    """Return the street or community whose code is the jurisdiction_id."""
    row = await session.scalar(
        select(PlaceRow).where(PlaceRow.code == code[:64], PlaceRow.kind.in_(SCOPES))
    )
    return None if row is None else Jurisdiction(row.id, PlaceKind(row.kind), row.code)


async def communities_of(session: AsyncSession, place_id: int | None) -> list[int]:
    """Return the communities of a street, or the community itself; None: every community."""
    if place_id is None:
        return list(
            await session.scalars(
                select(PlaceRow.id).where(PlaceRow.kind == PlaceKind.COMMUNITY.value)
            )
        )
    row = await session.get(PlaceRow, place_id)
    if row is None:
        return []
    if row.kind == PlaceKind.COMMUNITY:
        return [row.id]
    found = await session.scalars(
        select(PlaceRow.id).where(
            PlaceRow.parent_id == row.id, PlaceRow.kind == PlaceKind.COMMUNITY.value
        )
    )
    return list(found)


@dataclass(frozen=True, slots=True)
class RequestView:
    """An order as Open311 shows it: no resident, no room, no words; the names around it.

    Its moments are those of workflows/clocks.py's columns, so the stage's deadline is found the
    same way as for an order.
    """

    id: int
    status: OrderStatus
    urgency: str
    channel: str
    created_at: datetime
    wait_due: datetime | None
    accept_due: datetime | None
    resolve_due: datetime | None
    resolved_at: datetime | None
    paused_until: datetime | None
    service_code: str
    service: Names
    building_code: str
    building: Names
    grid: Names
    community_code: str
    community: Names
    department: Names | None
    updated_at: datetime

    @property
    def number(self) -> str:
        """Return the order's number as residents and staff quote it."""
        return f"{self.id:05d}"


@dataclass(frozen=True)
class RequestQuery:
    """What GET requests asks for: ids, services, statuses, a period, a page."""

    community_ids: Sequence[int]
    ids: Sequence[int] = ()
    service_codes: Sequence[str] = ()
    statuses: Sequence[OrderStatus] = ()
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 1000
    offset: int = 0


async def request_views(session: AsyncSession, query: RequestQuery) -> list[RequestView]:
    """Return the orders a query finds, newest first, with what Open311 shows of them.

    The page's ids are found first from the orders alone (the (community_id, created_at) index),
    then only those thousand orders are joined to their names and read as plain rows.
    """
    o = OrderRow
    page = select(o.id).where(o.community_id.in_(list(query.community_ids)))
    if query.ids:
        page = page.where(o.id.in_(list(query.ids)))
    if query.service_codes:
        codes = select(CategoryRow.id).where(CategoryRow.code.in_(list(query.service_codes)))
        page = page.where(o.category_id.in_(codes.scalar_subquery()))
    if query.statuses:
        page = page.where(o.status.in_([s.value for s in query.statuses]))
    if query.since is not None:
        page = page.where(o.created_at >= query.since)
    if query.until is not None:
        page = page.where(o.created_at <= query.until)
    page = page.order_by(o.created_at.desc(), o.id.desc()).limit(query.limit).offset(query.offset)
    ids = list(await session.scalars(page))
    if not ids:
        return []
    building, grid, community, department = (aliased(PlaceRow) for _ in range(4))
    statement = (
        select(
            o.id,
            o.status,
            o.urgency,
            o.channel,
            o.created_at,
            o.wait_due,
            o.accept_due,
            o.resolve_due,
            o.resolved_at,
            o.paused_until,
            CategoryRow.code,
            CategoryRow.name_zh,
            CategoryRow.name_en,
            building.code,
            building.name_zh,
            building.name_en,
            grid.name_zh,
            grid.name_en,
            community.code,
            community.name_zh,
            community.name_en,
            department.name_zh,
            department.name_en,
        )
        .join(CategoryRow, CategoryRow.id == o.category_id)
        .join(community, community.id == o.community_id)
        .outerjoin(building, building.id == o.building_id)
        .outerjoin(grid, grid.id == building.parent_id)
        .outerjoin(department, department.id == o.department_id)
        .where(o.id.in_(ids))
    )
    rows = {row[0]: row for row in await session.execute(statement)}
    latest = await session.execute(
        select(OrderEventRow.order_id, func.max(OrderEventRow.at))
        .where(OrderEventRow.order_id.in_(ids))
        .group_by(OrderEventRow.order_id)
    )
    updated: dict[int, datetime] = {order_id: at for order_id, at in latest}
    names: dict[tuple[str | None, str | None], Names] = {}

    def named(zh: str | None, en: str | None) -> Names:
        found = names.get((zh, en))
        if found is None:
            found = names[(zh, en)] = Names(zh or "", en or "")
        return found

    views = []
    for order_id in ids:
        row = rows[order_id]
        at = updated.get(order_id)
        views.append(
            RequestView(
                id=order_id,
                status=OrderStatus(row[1]),
                urgency=row[2],
                channel=row[3] or "chat",
                created_at=row[4],
                wait_due=row[5],
                accept_due=row[6],
                resolve_due=row[7],
                resolved_at=row[8],
                paused_until=row[9],
                service_code=row[10],
                service=named(row[11], row[12]),
                building_code=row[13] or "",
                building=named(row[14], row[15]),
                grid=named(row[16], row[17]),
                community_code=row[18],
                community=named(row[19], row[20]),
                department=named(row[21], row[22]) if row[21] else None,
                updated_at=at if isinstance(at, datetime) else row[4],
            )
        )
    return views
