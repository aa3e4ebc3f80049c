"""Rows to the domain's plain data, in one place: repositories return these, never rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Row

from storage.models import (
    AuditRow,
    CategoryRow,
    HouseholdRow,
    KeyHouseholdRow,
    KeyRequestRow,
    OrderEventRow,
    OrderRow,
    PlaceRow,
    VisitRow,
)
from workflows.model import (
    AuditEntry,
    Category,
    CategoryKind,
    Household,
    KeyHousehold,
    KeyRequest,
    KeyRequestStatus,
    Names,
    Order,
    OrderEvent,
    OrderStatus,
    Person,
    Place,
    PlaceKind,
    Role,
    RoleAssignment,
    Urgency,
    Visit,
    VisitKind,
    VisitOutcome,
    Voice,
)
from workflows.vocabulary import Channel


def to_person(row: Any, roles: Iterable[RoleAssignment]) -> Person:
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
        on_duty=row.on_duty or "",
        proxy=bool(getattr(row, "proxy", False)),
        public=bool(getattr(row, "public", False)),
    )


def to_place(row: PlaceRow | Row[Any]) -> Place:
    """Return the domain place for a row."""
    return Place(
        row.id,
        PlaceKind(row.kind),
        row.code,
        Names(row.name_zh, row.name_en),
        row.parent_id,
        working_hours=row.working_hours or "",
        closed_days=closed_days(row.closed_days),
        duty_phone=row.duty_phone or "",
        channel=getattr(row, "channel", None),
    )


def closed_days(stored: list[Any] | None) -> tuple[date, ...]:
    """Return the closed days stored as ISO dates."""
    return tuple(date.fromisoformat(day) for day in stored or ())


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
        working_time=bool(row.working_time),
        duplicate_days=row.duplicate_days,
        keywords=tuple(str(k) for k in row.keywords or ()),
        queue_minutes=row.queue_minutes,
        urgent_queue_minutes=row.urgent_queue_minutes,
        pool_hours=row.pool_hours,
        urgent_pool_hours=row.urgent_pool_hours,
    )


def to_order(row: OrderRow | Row[Any]) -> Order:
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
        extension_requested_at=row.extension_requested_at,
        extension_until=row.extension_until,
        info_asked_at=row.info_asked_at,
        paused_until=row.paused_until,
        resolve_left=row.resolve_left,
        department_id=row.department_id,
        merged_into_id=row.merged_into_id,
        voices=tuple(Voice.from_dict(v) for v in row.voices or ()),
        wait_due=row.wait_due,
        channel=Channel(row.channel or Channel.CHAT),
        publish_consent=row.publish_consent,
        published_at=row.published_at,
        minutes_spent=row.minutes_spent,
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


def to_visit(row: VisitRow) -> Visit:
    """Return the domain visit for a row."""
    return Visit(
        id=row.id,
        household_id=row.household_id,
        person_id=row.person_id,
        kind=VisitKind(row.kind),
        opened_at=row.opened_at,
        due_at=row.due_at,
        order_id=row.order_id,
        outcome=VisitOutcome(row.outcome) if row.outcome else None,
        note=row.note,
        logged_at=row.logged_at,
        missed_at=row.missed_at,
        photo=row.photo,
    )


def to_key_household(row: KeyHouseholdRow) -> KeyHousehold:
    """Return the domain key household for a row."""
    return KeyHousehold(
        row.household_id, row.kind, row.liaison_id, row.visit_every_days, row.source or "file"
    )


def to_key_request(row: KeyRequestRow) -> KeyRequest:
    """Return the domain request to mark a household as key (rounds, issue 17)."""
    return KeyRequest(
        id=row.id,
        household_id=row.household_id,
        requested_by=row.requested_by,
        kind=row.kind,
        visit_every_days=row.visit_every_days,
        created_at=row.created_at,
        status=KeyRequestStatus(row.status),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


def to_audit_entry(row: AuditRow) -> AuditEntry:
    """Return the domain audit entry for a row."""
    return AuditEntry(
        at=row.at,
        action=row.action,
        actor_id=row.actor_id,
        actor=row.actor,
        subject=row.subject,
        details=dict(row.details or {}),
    )
