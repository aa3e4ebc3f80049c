"""The console's pages: the board, an order, people, the audit log (reports: reports.py).

Each page reads in its own unit of work and writes nothing. What a viewer sees follows the chat's
rules: the board lists the orders in their reach, an order page asks `look_up` (an order out of
scope is "not found", as in chat), and a resident's phone is shown only to whoever holds the
task, as the worker's card in chat shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import segno
from aiohttp import web

from bot.console.actions import ACTIONS
from bot.console.forms import Invalid, board_filters, date_range, short_text
from bot.console.reach import Viewer
from bot.console.sessions import same_origin
from bot.console.site import console_of, page, problem, signed_in
from bot.qr import building_link, invite_link
from storage.board import audit, audit_actions, board, names, place_table, staff
from storage.uow import SqlUnitOfWork
from workflows.dispatch import OrderContext, suggest
from workflows.errors import OrderNotFound
from workflows.model import OrderEvent, OrderStatus, Person, PlaceKind, Role
from workflows.moves import deciders, departments
from workflows.people import issue_invite
from workflows.states import can
from workflows.supervision import Powers, look_up, timeline
from workflows.vocabulary import Channel, Move


async def names_of(uow: SqlUnitOfWork, person_ids: set[int | None]) -> dict[int, str]:
    """Return people's names by id."""
    found: dict[int, str] = {}
    for person_id in person_ids:
        if person_id is not None and person_id not in found:
            person = await uow.people.get(person_id)
            if person is not None:
                found[person_id] = person.name
    return found


async def place_names(uow: SqlUnitOfWork, place_ids: set[int | None], lang: str) -> dict[int, str]:
    """Return places' names by id, in the viewer's language."""
    found: dict[int, str] = {}
    for place_id in place_ids:
        if place_id is not None and place_id not in found:
            place = await uow.places.get(place_id)
            if place is not None:
                found[place_id] = place.names.pick(lang)
    return found


async def grids_of(uow: SqlUnitOfWork, viewer: Viewer, lang: str) -> list[tuple[int, str]]:
    """Return the grids of the viewer's communities, for the board's filter."""
    grids: list[tuple[int, str]] = []
    for community in viewer.communities:
        for grid in await uow.places.children(community.id, PlaceKind.GRID):
            grids.append((grid.id, f"{community.names.pick(lang)} · {grid.names.pick(lang)}"))
    return grids


async def board_page(request: web.Request) -> web.Response:
    """The board: open orders in reach by stage, filtered, searched, counted and paged."""
    console = console_of(request)
    async with console.units() as uow:
        viewer, session = await signed_in(request, uow)
        lang = viewer.lang
        try:
            filters = board_filters(request.query)
        except Invalid as bad:
            return problem(request, lang, 400, "web.bad_input", field=bad.field)
        found = await board(uow.session, viewer.reach, filters, console.clock.now())
        categories = await uow.categories.list()
        return page(
            request,
            "board.html",
            viewer,
            session,
            filters=filters,
            board=found,
            categories=[(c.id, c.names.pick(lang)) for c in categories],
            category_names={c.id: c.names.pick(lang) for c in categories},
            communities=[(c.id, c.names.pick(lang)) for c in viewer.communities],
            grids=await grids_of(uow, viewer, lang),
            channels=[str(c) for c in Channel],
            places={
                place_id: (zh if lang != "en" or not en else en)
                for place_id, (zh, en, _) in (await place_table(uow.session)).items()
            },
            holders=await names(uow.session, [r.assignee_id for r in found.rows if r.assignee_id]),
            now=console.clock.now(),
        )


@dataclass(frozen=True)
class Choices:
    """What the viewer may do with an order now, and the lists their forms pick from."""

    chase: bool = False
    reassign: tuple[tuple[int, str], ...] = ()
    reassign_allowed: bool = False
    escalate: bool = False
    note: bool = False
    decide_extension: bool = False
    ask_extension: bool = False
    pause: bool = False
    resume: bool = False
    transfer: tuple[tuple[int, str], ...] = ()
    close: bool = False

    @property
    def any(self) -> bool:
        """Return whether there is anything to do."""
        return any(
            (
                self.chase,
                self.reassign_allowed,
                self.escalate,
                self.note,
                self.decide_extension,
                self.ask_extension,
                self.pause,
                self.resume,
                self.transfer,
                self.close,
            )
        )


async def choices(
    uow: SqlUnitOfWork, person: Person, octx: OrderContext, viewer: Powers, lang: str
) -> Choices:
    """Return the actions the chat would offer this viewer on this order, and their lists."""
    order = octx.order
    status = order.status
    holder = order.assignee_id == person.id
    working = status in (OrderStatus.ACCEPTED, OrderStatus.ON_WAY)
    decider = person.id in {p.id for p in await deciders(uow, octx)}
    reassign: tuple[tuple[int, str], ...] = ()
    if viewer.supervises and can(Move.REASSIGN, status):
        reassign = tuple(
            (p.id, p.name) for p in await suggest(uow, octx) if p.id != order.assignee_id
        )
    transfer: tuple[tuple[int, str], ...] = ()
    liaison_holds = holder and person.has_role(Role.DEPT_LIAISON)
    if (decider or liaison_holds) and can(Move.TRANSFER, status):
        transfer = tuple((d.id, d.names.pick(lang)) for d in await departments(uow, octx))
    pending = order.extension_requested_at is not None
    return Choices(
        chase=viewer.supervises and can(Move.CHASE, status),
        reassign=reassign,
        reassign_allowed=viewer.supervises and can(Move.REASSIGN, status),
        escalate=viewer.supervises and can(Move.SUPERVISE_ESCALATE, status),
        note=viewer.staff and can(Move.STAFF_NOTE, status),
        decide_extension=decider and pending and can(Move.EXTEND_OK, status),
        ask_extension=holder and working and not pending,
        pause=holder and working,
        resume=status == OrderStatus.PAUSED and (holder or decider),
        transfer=transfer,
        close=holder and working,
    )


async def order_page(request: web.Request) -> web.Response:
    """An order: details, photos, voice, the whole timeline and the viewer's actions."""
    console = console_of(request)
    async with console.units() as uow:
        viewer, session = await signed_in(request, uow)
        lang = viewer.lang
        raw = request.match_info["order_id"]
        order_id = int(raw) if raw.isdigit() and len(raw) <= 9 else 0
        try:
            octx, powers = await look_up(uow, viewer.person, order_id)
        except OrderNotFound:
            return problem(request, lang, 404, "error.order_not_found")
        order = octx.order
        events = await timeline(uow, octx, powers)
        people = await names_of(
            uow,
            {order.assignee_id, order.resident_id}
            | {e.actor_id for e in events}
            | {e.target_id for e in events},
        )
        resident = await uow.people.get(order.resident_id)
        holder_sees_phone = order.assignee_id == viewer.person.id and order.status in (
            OrderStatus.ACCEPTED,
            OrderStatus.ON_WAY,
            OrderStatus.PAUSED,
        )
        grids = await uow.reports.building_grids([order.building_id] if order.building_id else [])
        details: dict[str, Any] = {
            "category": octx.category.names.pick(lang),
            "community": octx.place.community.names.pick(lang),
            "grid": grids[order.building_id].names.pick(lang)
            if order.building_id in grids
            else "—",
            "address": octx.place.address(lang) if powers.staff else None,
            "resident": resident.name if resident and powers.staff else None,
            "phone": (resident.phone or "—") if resident and holder_sees_phone else None,
            "holder": people.get(order.assignee_id or 0, "—"),
        }
        return page(
            request,
            "order.html",
            viewer,
            session,
            order=order,
            details=details,
            lines=[line(e, people, console.local) for e in events],
            choices=await choices(uow, viewer.person, octx, powers, lang),
            now=console.clock.now(),
            message=done if (done := request.query.get("done", "")) in ACTIONS else "",
            default_until=console.local(console.clock.now() + timedelta(days=3), "%Y-%m-%d"),
        )


def line(event: OrderEvent, people: dict[int, str], local: Any) -> dict[str, Any]:
    """Return one timeline entry as the page shows it."""
    return {
        "at": local(event.at),
        "who": people.get(event.actor_id or 0, ""),
        "move": Move(event.action).value,
        "to": people.get(event.target_id or 0, "")
        if event.target_id is not None and event.target_id != event.actor_id
        else "",
        "note": event.note or "",
        "status": event.to_status.value if event.to_status else "",
    }


async def staff_places(uow: SqlUnitOfWork, viewer: Viewer) -> list[int]:
    """Return the places whose staff the viewer oversees: their communities and all inside."""
    places: set[int] = set()
    for community_id in viewer.supervises:
        places.add(community_id)
        community = await uow.places.get(community_id)
        if community is not None and community.parent_id is not None:
            places.add(community.parent_id)
        for grid in await uow.places.children(community_id, PlaceKind.GRID):
            places.add(grid.id)
            for building in await uow.places.children(grid.id, PlaceKind.BUILDING):
                places.add(building.id)
                places.update(u.id for u in await uow.places.children(building.id, PlaceKind.UNIT))
    return sorted(places)


async def posters(uow: SqlUnitOfWork, viewer: Viewer, username: str | None) -> list[Any]:
    """Return each building's name, registration link and QR code (SVG) for printing."""
    if not username:
        return []
    found = []
    for community in viewer.communities:
        if community.id not in viewer.supervises:
            continue
        for grid in await uow.places.children(community.id, PlaceKind.GRID):
            for building in await uow.places.children(grid.id, PlaceKind.BUILDING):
                link = building_link(username, building.code)
                svg = segno.make_qr(link, error="m").svg_inline(scale=3)
                name = f"{community.names.pick(viewer.lang)} {building.names.pick(viewer.lang)}"
                found.append((name, link, svg))
    return found


async def people_page(request: web.Request) -> web.Response:
    """People: staff of the viewer's communities, their roles, joined or not, reachable."""
    return await _people(request)


async def _people(request: web.Request, invited: tuple[str, str] | None = None) -> web.Response:
    console = console_of(request)
    async with console.units() as uow:
        viewer, session = await signed_in(request, uow)
        lang = viewer.lang
        if not viewer.may_report:
            return problem(request, lang, 403, "error.not_allowed")
        rows = await staff(uow.session, await staff_places(uow, viewer))
        return page(
            request,
            "people.html",
            viewer,
            session,
            staff=rows,
            places=await place_names(uow, {p for r in rows for _, p in r.roles}, lang),
            posters=await posters(uow, viewer, console.config.bot_username),
            invite_name=invited[0] if invited else "",
            invite_link=invited[1] if invited else "",
        )


async def invite(request: web.Request) -> web.Response:
    """Make a one-time invite link for a staff member who has not joined yet."""
    console = console_of(request)
    async with console.units() as uow:
        viewer, session = await signed_in(request, uow)
        lang = viewer.lang
        form = await request.post()
        if not same_origin(request, console.config.base_url) or form.get("csrf") != session.csrf:
            return problem(request, lang, 403, "web.cross_site")
        if not viewer.may_report or not console.config.bot_username:
            return problem(request, lang, 403, "error.not_allowed")
        raw = request.match_info["person_id"]
        ours = {r.id: r for r in await staff(uow.session, await staff_places(uow, viewer))}
        target = ours.get(int(raw)) if raw.isdigit() and len(raw) <= 9 else None
        person = await uow.people.get(target.id) if target is not None else None
        if person is None or person.telegram_id is not None:
            return problem(request, lang, 404, "web.no_such_person")
        token = await issue_invite(uow, console.clock, person, issued_by=viewer.person.name)
        await uow.commit()
    return await _people(request, (person.name, invite_link(console.config.bot_username, token)))


async def audit_page(request: web.Request) -> web.Response:
    """The audit log, newest first, filtered by action, words and dates."""
    console = console_of(request)
    async with console.units() as uow:
        viewer, session = await signed_in(request, uow)
        lang = viewer.lang
        if not viewer.may_audit:
            return problem(request, lang, 403, "error.not_allowed")
        try:
            action = short_text(request.query, "action", 40)
            words = short_text(request.query, "q", 100)
            since, until = date_range(request.query, console.config.zone)
        except Invalid as bad:
            return problem(request, lang, 400, "web.bad_input", field=bad.field)
        actor_ids = None
        if not viewer.admin:
            actor_ids = [r.id for r in await staff(uow.session, await staff_places(uow, viewer))]
        lines = await audit(
            uow.session,
            actor_ids=actor_ids,
            action=action,
            words=words,
            since=since,
            until=until,
        )
        return page(
            request,
            "audit.html",
            viewer,
            session,
            lines=lines,
            actions=await audit_actions(uow.session),
            action=action,
            words=words,
        )
