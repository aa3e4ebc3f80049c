"""Joining: residents register their household, staff redeem invites, everyone picks a language."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from handlers.context import Context
from handlers.events import Button, Keyboard, Send, rows
from handlers.menus import help_key, person_menu
from workflows.behalf import FAMILY_PREFIX, join_family
from workflows.errors import InvalidInput
from workflows.model import ChatState, Household, Place, PlaceKind
from workflows.people import MAX_NAME, join_staff, register_resident, set_language, set_phone
from workflows.text import display_name
from workflows.vocabulary import Step, Verb

INVITE_PREFIX = "inv_"
BUILDING_PREFIX = "b_"
# Telegram refuses a message with more than 100 buttons, and a street office has communities,
# a community buildings, a high-rise unit rooms past that: every list comes in pages of 48.
PER_PAGE = 48
Turn = Callable[[int], str]  # a page number → the data of the button that shows that page


async def start(ctx: Context) -> None:
    """Welcome the person: redeem an invite, start registration, or greet them back."""
    payload = ctx.event.args
    if payload.startswith(FAMILY_PREFIX):  # behalf (issue 16): a family proxy's link
        person = await join_family(
            ctx.uow,
            ctx.clock,
            ctx.event.user_id,
            payload[len(FAMILY_PREFIX) :],
            _name(ctx),
            ctx.lang,
        )
        ctx.person = person
        place = await ctx.uow.places.household_place(person.household_id or 0)
        ctx.say("proxy.joined", name=person.name, address=place.address(ctx.lang) if place else "")
        ctx.replies.append(person_menu(ctx.texts, person))
        return
    if payload.startswith(INVITE_PREFIX):
        person = await join_staff(
            ctx.uow, ctx.clock, ctx.event.user_id, payload[len(INVITE_PREFIX) :], ctx.lang
        )
        ctx.person = person
        ctx.say("staff.joined", name=person.name, roles=_roles(ctx), menu=True)
        ctx.replies.append(person_menu(ctx.texts, person))
        return
    if payload.startswith(BUILDING_PREFIX):
        building = await ctx.uow.places.by_code(payload[len(BUILDING_PREFIX) :])
        if building is not None and building.kind == PlaceKind.BUILDING:
            ctx.say("register.from_qr", building=building.names.pick(ctx.lang))
            await _ask_unit(ctx, building.id)
            return
        ctx.say("register.bad_qr")
    if ctx.person is not None and ctx.person.household_id is not None:
        ctx.say("start.welcome_back", name=ctx.person.name, menu=True)
        for key in help_key(ctx.person):
            ctx.say(key)
        return
    if ctx.person is not None and ctx.person.is_staff:
        ctx.say("start.welcome_back", name=ctx.person.name, menu=True)
        for key in help_key(ctx.person):
            ctx.say(key)
        await ask_home(ctx)
        return
    ctx.say("start.welcome", name=_name(ctx))
    await ask_community(ctx)


def _name(ctx: Context) -> str:
    """Return the person's Telegram name, shortened to fit; a neutral word if it shows nothing."""
    name = display_name(ctx.event.first_name, ctx.event.last_name, MAX_NAME)
    return name or ctx.t("register.unnamed")


def _roles(ctx: Context) -> str:
    """Return the person's roles, named in their language."""
    person = ctx.require()
    names = dict.fromkeys(ctx.t(f"role.{r.role.value}") for r in person.roles)
    return "、".join(names) if ctx.lang == "zh" else ", ".join(names)


async def ask_home(ctx: Context) -> None:
    """Offer a staff member with no household of their own to register their home address."""
    ctx.say("register.staff_home")
    await ask_community(ctx)


async def ask_community(ctx: Context) -> None:
    """Ask which community the household is in."""
    buttons = await _community_buttons(ctx)
    if not buttons:
        ctx.say("register.no_org")
        return
    keyboard = _paged(ctx, buttons, 2, 0, Verb.COMMUNITIES_PAGE.data, "btn.communities_more")
    ctx.say("register.ask_community", keyboard)


async def turn_communities(ctx: Context, page: int) -> None:
    """Show another page of the communities on the same message."""
    buttons = await _community_buttons(ctx)
    _turn(
        ctx,
        _paged(ctx, buttons, 2, page, Verb.COMMUNITIES_PAGE.data, "btn.communities_more"),
    )


async def _community_buttons(ctx: Context) -> list[Button]:
    communities = await ctx.uow.places.children(None, PlaceKind.COMMUNITY)
    return [Button(c.names.pick(ctx.lang), Verb.COMMUNITY.data(c.id)) for c in communities]


async def choose_community(ctx: Context, community_id: int) -> None:
    """Show the buildings of the chosen community."""
    community = await _place(ctx, community_id, PlaceKind.COMMUNITY)
    buttons = await _building_buttons(ctx, community.id)
    keyboard = _paged(
        ctx, buttons, 3, 0, partial(Verb.BUILDINGS_PAGE.data, community.id), "btn.buildings_more"
    )
    ctx.answer()
    ctx.show_choice(community.names.pick(ctx.lang))  # answered: the list is spent
    ctx.say("register.ask_building", keyboard, community=community.names.pick(ctx.lang))


async def turn_buildings(ctx: Context, community_id: int, page: int) -> None:
    """Show another page of the community's buildings on the same message."""
    community = await _place(ctx, community_id, PlaceKind.COMMUNITY)
    buttons = await _building_buttons(ctx, community.id)
    _turn(
        ctx,
        _paged(
            ctx,
            buttons,
            3,
            page,
            partial(Verb.BUILDINGS_PAGE.data, community.id),
            "btn.buildings_more",
        ),
    )


async def _building_buttons(ctx: Context, community_id: int) -> list[Button]:
    buttons: list[Button] = []
    for grid in await ctx.uow.places.children(community_id, PlaceKind.GRID):
        for building in await ctx.uow.places.children(grid.id, PlaceKind.BUILDING):
            buttons.append(Button(building.names.pick(ctx.lang), Verb.BUILDING.data(building.id)))
    return buttons


async def choose_building(ctx: Context, building_id: int) -> None:
    """Show the units of the chosen building."""
    building = await _place(ctx, building_id, PlaceKind.BUILDING)
    ctx.answer()
    ctx.show_choice(building.names.pick(ctx.lang))
    await _ask_unit(ctx, building.id)


async def _ask_unit(ctx: Context, building_id: int) -> None:
    buttons = await _unit_buttons(ctx, building_id)
    keyboard = _paged(
        ctx, buttons, 3, 0, partial(Verb.UNITS_PAGE.data, building_id), "btn.units_more"
    )
    ctx.say("register.ask_unit", keyboard)


async def turn_units(ctx: Context, building_id: int, page: int) -> None:
    """Show another page of the building's units on the same message."""
    building = await _place(ctx, building_id, PlaceKind.BUILDING)
    buttons = await _unit_buttons(ctx, building.id)
    _turn(
        ctx,
        _paged(ctx, buttons, 3, page, partial(Verb.UNITS_PAGE.data, building.id), "btn.units_more"),
    )


async def _unit_buttons(ctx: Context, building_id: int) -> list[Button]:
    units = await ctx.uow.places.children(building_id, PlaceKind.UNIT)
    return [Button(u.names.pick(ctx.lang), Verb.UNIT.data(u.id)) for u in units]


async def choose_unit(ctx: Context, unit_id: int) -> None:
    """Show the rooms of the chosen unit, a page at a time."""
    unit = await _place(ctx, unit_id, PlaceKind.UNIT)
    households = await ctx.uow.places.households(unit.id)
    ctx.answer()
    ctx.show_choice(unit.names.pick(ctx.lang))
    ctx.say(
        "register.ask_room", _rooms(ctx, unit.id, households, 0), unit=unit.names.pick(ctx.lang)
    )


async def turn_rooms(ctx: Context, unit_id: int, page: int) -> None:
    """Show another page of the unit's rooms on the same message."""
    unit = await _place(ctx, unit_id, PlaceKind.UNIT)
    households = await ctx.uow.places.households(unit.id)
    _turn(ctx, _rooms(ctx, unit.id, households, page))


def _rooms(ctx: Context, unit_id: int, households: list[Household], page: int) -> Keyboard:
    buttons = [Button(h.room, Verb.ROOM.data(h.id)) for h in households]
    return _paged(ctx, buttons, 4, page, partial(Verb.ROOMS_PAGE.data, unit_id), "btn.rooms_more")


async def _place(ctx: Context, place_id: int, kind: PlaceKind) -> Place:
    """Return the place a button names, if it is of the kind the step expects."""
    place = await ctx.uow.places.get(place_id)
    if place is None or place.kind != kind:
        raise InvalidInput(reason="place")
    return place


def _paged(
    ctx: Context, buttons: list[Button], per_row: int, page: int, turn: Turn, more: str
) -> Keyboard:
    """Return one page of the buttons, with buttons to the pages before and after it.

    `turn(page)` is the data of those buttons; `more` names the way forward.
    """
    last = max(0, (len(buttons) - 1) // PER_PAGE)
    page = min(max(page, 0), last)
    keyboard = rows(buttons[page * PER_PAGE : (page + 1) * PER_PAGE], per_row)
    pages = []
    if page > 0:
        pages.append(ctx.button("btn.page_back", turn(page - 1)))
    if page < last:
        pages.append(ctx.button(more, turn(page + 1)))
    return (*keyboard, tuple(pages)) if pages else keyboard


def _turn(ctx: Context, keyboard: Keyboard) -> None:
    """Put another page of a list on the message whose button was pressed."""
    ctx.answer()
    ctx.edit_pressed(None, keyboard)


async def choose_room(ctx: Context, household_id: int) -> None:
    """Register the person to the chosen room, then ask for a phone number."""
    person = await register_resident(ctx.uow, ctx.event.user_id, _name(ctx), ctx.lang, household_id)
    ctx.person = person
    place = await ctx.uow.places.household_place(household_id)
    assert place is not None
    ctx.answer()
    ctx.show_choice(place.household.room)
    ctx.say("register.done", address=place.address(ctx.lang))
    ctx.replies.append(person_menu(ctx.texts, person))
    kept = ctx.state.data if ctx.state is not None and ctx.state.name == Step.KEPT else {}
    await ctx.set_state(ChatState(Step.PHONE, dict(kept)))  # words said before: offered after
    ctx.send(
        Send(
            ctx.event.chat_id,
            ctx.t("register.ask_phone"),
            ask_contact=ctx.t("btn.share_phone"),
            reply_keys=(ctx.t("btn.skip"),),
        )
    )


async def phone_given(ctx: Context) -> None:
    """Save the phone number the resident shared or typed."""
    person = ctx.require()
    phone = ctx.event.contact_phone or ctx.event.text or ""
    if not ctx.event.contact_phone and phone.strip() == ctx.t("btn.skip"):
        await ctx.set_state(None)
        ctx.say("register.phone_skipped", menu=True)
        return
    if ctx.event.contact_phone and ctx.event.contact_user_id not in (None, ctx.event.user_id):
        raise InvalidInput(reason="phone")
    await ctx.set_state(None)
    await set_phone(ctx.uow, person, phone)
    ctx.say("register.phone_saved", menu=True)


async def choose_language(ctx: Context) -> None:
    """Offer the languages there are."""
    buttons = [
        Button("中文", Verb.LANGUAGE.data("zh")),
        Button("English", Verb.LANGUAGE.data("en")),
    ]
    ctx.say("lang.ask", rows(buttons, 2))


async def language_chosen(ctx: Context, lang: str) -> None:
    """Switch the person's language and their command menu."""
    person = ctx.require()
    await set_language(ctx.uow, person, lang)
    ctx.lang = lang
    ctx.answer()
    ctx.clear_buttons()
    refreshed = await ctx.uow.people.get(person.id)
    ctx.person = refreshed or person
    ctx.say("lang.set", menu=True)
    if refreshed is not None:
        ctx.replies.append(person_menu(ctx.texts, refreshed))
