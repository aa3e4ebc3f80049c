"""Sandan's categories and orders in GeoReport v2's fields.

An order shows its category, its building (never the room), its stage, who works it (a
department, or the community's grid: never a person), when it was placed and last moved and
its current deadline. Never the resident's name, phone, room, words or photos.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any

from handlers.texts import Texts
from storage.open311 import RequestView
from workflows.clocks import CLOCKS
from workflows.model import Category, CategoryKind, OrderStatus, Urgency
from workflows.timers import TimerPolicy

CLOSED = frozenset({OrderStatus.CLOSED, OrderStatus.CANCELLED})
URGENCY = "urgency"  # the one attribute of every service


def moment(at: datetime | None, zone: tzinfo) -> str | None:
    """Return a moment as W3C date-time in local time: 2026-12-02T09:30:00+08:00."""
    return None if at is None else at.astimezone(zone).isoformat(timespec="seconds")


def service_notice(texts: Texts, lang: str, category: Category) -> str:
    """Return what a partner may tell the caller about the time it takes."""
    return texts(
        lang,
        "api.service_notice",
        hours=category.resolve_hours,
        urgent_hours=category.urgent_resolve_hours,
    )


def service(texts: Texts, lang: str, category: Category) -> dict[str, Any]:
    """Return a category as a GeoReport service."""
    return {
        "service_code": category.code,
        "service_name": category.names.pick(lang),
        "description": service_notice(texts, lang, category),
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(category.keywords),
        "group": texts(
            lang, "api.group_pool" if category.kind == CategoryKind.POOL else "api.group_routed"
        ),
    }


def definition(texts: Texts, lang: str, category: Category) -> dict[str, Any]:
    """Return a service's definition: its attributes (how urgent it is)."""
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": URGENCY,
                "datatype": "singlevaluelist",
                "required": True,
                "datatype_description": "",
                "order": 1,
                "description": texts(lang, "api.attr_urgency"),
                "values": [
                    {"key": u.value, "name": texts(lang, f"api.urgency_{u.value}")} for u in Urgency
                ],
            }
        ],
    }


def expected(view: RequestView, policy: TimerPolicy) -> datetime | None:
    """Return the order's current deadline: its stage's clock (workflows/clocks.py)."""
    clock = CLOCKS.get(view.status)
    if clock is None:
        return None
    moment: datetime | None = getattr(view, clock.column)
    if moment is None or clock.after is None:
        return moment
    extra: timedelta = getattr(policy, clock.after)
    return moment + extra


def stage_notes(texts: Texts, lang: str) -> dict[OrderStatus, str]:
    """Return each stage in words, for status_notes (made once per answer, not per order)."""
    return {status: texts(lang, f"api.stage_{status.value}") for status in OrderStatus}


def request(
    notes: Mapping[OrderStatus, str],
    lang: str,
    view: RequestView,
    policy: TimerPolicy,
    notice: str | None,
) -> dict[str, Any]:
    """Return an order as a GeoReport service request (with Sandan's extension fields)."""
    agency = (
        view.department.pick(lang)
        if view.department is not None
        else f"{view.community.pick(lang)} {view.grid.pick(lang)}".strip()
    )
    return {
        "service_request_id": view.number,
        "status": "closed" if view.status in CLOSED else "open",
        "status_notes": notes[view.status],
        "service_name": view.service.pick(lang),
        "service_code": view.service_code,
        "agency_responsible": agency,
        "service_notice": notice,
        "requested_datetime": moment(view.created_at, policy.zone),
        "updated_datetime": moment(view.updated_at, policy.zone),
        "expected_datetime": moment(expected(view, policy), policy.zone),
        "address": f"{view.community.pick(lang)} {view.building.pick(lang)}".strip(),
        "address_id": view.building_code,
        "zipcode": None,
        "jurisdiction_id": view.community_code,
        "sandan_stage": view.status.value,
        "sandan_urgency": view.urgency,
        "sandan_channel": view.channel,
    }
