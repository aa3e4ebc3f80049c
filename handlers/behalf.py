"""Staff on someone's behalf (帮办代办): find the household or the public area, then the draft."""

from __future__ import annotations

import re

from handlers.context import Context
from handlers.events import Button, rows
from handlers.ordering import Draft, ask_category
from workflows.behalf import (
    FAMILY_PREFIX,
    STAFF_CHANNELS,
    add_contact,
    area_household,
    areas_in_scope,
    contacts,
    in_scope,
    invite_family,
    search,
)
from workflows.errors import NotAllowed
from workflows.model import BUILDING_ROOM, PUBLIC_ROOM, ChatState, Person, Role
from workflows.orders import clean_text
from workflows.vocabulary import Channel, Step, Verb

PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,18}[0-9]$")


def _staff(ctx: Context) -> Person:
    person = ctx.require()
    if not person.is_staff or all(r.role == Role.VOLUNTEER for r in person.roles):
        raise NotAllowed()
    return person


async def start(ctx: Context) -> None:
    """Ask staff where the order is: a room (楼-单元-房号), a unit's public area (楼-单元), a
    building's (楼号), or, by a button, their grid's or community's public area."""
    staff = _staff(ctx)
    await ctx.set_state(ChatState(Step.BEHALF))
    # A grid's or community's public area (a square, a street lamp) is one tap away.
    areas = [
        ctx.button("behalf.area", Verb.BEHALF_AREA.data(p.id), place=p.names.pick(ctx.lang))
        for p in await areas_in_scope(ctx.uow, staff)
    ]
    ctx.say("behalf.ask_where_areas" if areas else "behalf.ask_where", rows(areas, 1))


async def where_given(ctx: Context) -> None:
    """Show the households or public areas within scope that match what staff wrote."""
    staff = _staff(ctx)
    words = ctx.event.text or ""
    found = await search(ctx.uow, staff, words)
    if not found:
        ctx.say("behalf.none_found", words=words[:40])
        return
    await ctx.set_state(None)
    buttons: list[Button] = []
    for household, person in found.named:  # behalf2: by the resident's name
        place = await in_scope(ctx.uow, staff, household.id)
        label = ctx.t(
            "behalf.named",
            name=person.name[:12],
            building=place.building.names.pick(ctx.lang),
            unit=place.unit.names.pick(ctx.lang),
            room=household.room,
        )
        buttons.append(Button(label, Verb.BEHALF_HOUSEHOLD.data(household.id)))
    for unit_id in found.buildings:  # behalf2: a building's public area
        unit = await ctx.uow.places.get(unit_id)
        building = None if unit is None else await ctx.uow.places.get(unit.parent_id or 0)
        name = "" if building is None else building.names.pick(ctx.lang)
        buttons.append(
            ctx.button("behalf.building_area", Verb.BEHALF_BUILDING.data(unit_id), place=name)
        )
    households, units = found.households, found.units
    for household in households:
        place = await in_scope(ctx.uow, staff, household.id)
        buttons.append(Button(place.address(ctx.lang), Verb.BEHALF_HOUSEHOLD.data(household.id)))
    for unit_id in units:
        unit = await ctx.uow.places.get(unit_id)
        building = None if unit is None else await ctx.uow.places.get(unit.parent_id or 0)
        names = [p.names.pick(ctx.lang) for p in (building, unit) if p is not None]
        name = "".join(names)
        buttons.append(
            ctx.button("behalf.public_area", Verb.BEHALF_PLACE.data(unit_id), place=name)
        )
    ctx.say("behalf.found", rows(buttons, 1))


async def household_chosen(ctx: Context, household_id: int) -> None:
    """Ask how the request came in; first a contact if nobody of the household is known."""
    staff = _staff(ctx)
    await in_scope(ctx.uow, staff, household_id)
    ctx.answer()
    ctx.clear_buttons()
    people = await contacts(ctx.uow, household_id)
    if not people:
        await ctx.set_state(ChatState(Step.BEHALF_CONTACT, {"household_id": household_id}))
        ctx.say("behalf.ask_contact")
        return
    await _ask_channel(ctx, household_id, people[0])


async def _ask_channel(ctx: Context, household_id: int, contact: Person) -> None:
    place = await in_scope(ctx.uow, ctx.require(), household_id)
    buttons = [
        ctx.button(f"behalf.by_{c.value}", Verb.BEHALF_CHANNEL.data(household_id, c.value))
        for c in STAFF_CHANNELS
    ]
    buttons.append(ctx.button("proxy.invite_button", Verb.PROXY_INVITE.data(household_id)))
    ctx.say(
        "behalf.ask_channel",
        rows(buttons, 2),
        address=place.address(ctx.lang),
        name=contact.name,
        phone=contact.phone or "—",
    )


async def contact_given(ctx: Context) -> None:
    """Record the household's contact (name and phone), then ask how the request came in."""
    staff = _staff(ctx)
    state = ctx.state
    assert state is not None
    text = (ctx.event.text or "").strip()
    name, _, phone = text.rpartition(" ")
    if not name.strip() or not PHONE.match(phone):
        ctx.say("behalf.need_contact")
        return
    household_id = int(state.data["household_id"])
    name = clean_text(name, limit=50)
    contact = await add_contact(ctx.uow, staff, household_id, name, phone)
    await ctx.set_state(None)
    await _ask_channel(ctx, household_id, contact)


async def channel_chosen(ctx: Context, household_id: int, channel: str) -> None:
    """Start the draft for the household, by phone or walk-in."""
    staff = _staff(ctx)
    if channel not in {c.value for c in STAFF_CHANNELS}:
        ctx.answer("error.stale", alert=True)
        return
    await in_scope(ctx.uow, staff, household_id)
    ctx.answer()
    ctx.show_choice(ctx.t(f"behalf.by_{channel}"))
    await ask_category(ctx, Draft(for_household=household_id, channel=Channel(channel)))


async def place_chosen(ctx: Context, unit_id: int) -> None:
    """Start a patrol report (巡查上报) for the unit's public area."""
    staff = _staff(ctx)
    unit = await ctx.uow.places.get(unit_id)
    if unit is None:
        raise NotAllowed()
    household = await ctx.uow.places.public_household(unit_id, PUBLIC_ROOM)
    await in_scope(ctx.uow, staff, household.id)
    ctx.answer()
    ctx.clear_buttons()
    await ask_category(ctx, Draft(for_household=household.id, channel=Channel.PATROL))


async def family_invited(ctx: Context, household_id: int) -> None:
    """Give the grid worker a one-time link that makes a family member the household's proxy."""
    staff = _staff(ctx)
    token = await invite_family(ctx.uow, ctx.clock, staff, household_id)
    place = await in_scope(ctx.uow, staff, household_id)
    payload = f"{FAMILY_PREFIX}{token}"
    username = ctx.links.bot_username
    link = f"https://t.me/{username}?start={payload}" if username else f"/start {payload}"
    ctx.answer()
    ctx.say("proxy.invite", address=place.address(ctx.lang), link=link)


async def building_chosen(ctx: Context, unit_id: int) -> None:
    """Start a patrol report for a building's public area (kept with its first unit in scope)."""
    staff = _staff(ctx)
    unit = await ctx.uow.places.get(unit_id)
    if unit is None:
        raise NotAllowed()
    household = await ctx.uow.places.public_household(unit_id, BUILDING_ROOM)
    await in_scope(ctx.uow, staff, household.id)
    ctx.answer()
    ctx.clear_buttons()
    await ask_category(ctx, Draft(for_household=household.id, channel=Channel.PATROL))


async def area_chosen(ctx: Context, place_id: int) -> None:
    """Start a patrol report for a grid's or community's public area (巡查上报)."""
    staff = _staff(ctx)
    household = await area_household(ctx.uow, staff, place_id)
    await ctx.set_state(None)
    ctx.answer()
    ctx.clear_buttons()
    await ask_category(ctx, Draft(for_household=household.id, channel=Channel.PATROL))
