"""Joining: residents register their household, staff redeem invites, everyone picks a language."""

from __future__ import annotations

from handlers.context import Context
from handlers.events import Button, Edit, Keyboard, Send, rows
from handlers.menus import help_key, person_menu
from workflows.errors import InvalidInput
from workflows.model import ChatState, Household, PlaceKind
from workflows.people import join_staff, register_resident, set_language, set_phone

INVITE_PREFIX = "inv_"
BUILDING_PREFIX = "b_"
ROOMS_PER_PAGE = 48  # twelve rows of four


async def start(ctx: Context) -> None:
    """Welcome the person: redeem an invite, start registration, or greet them back."""
    payload = ctx.event.args
    if payload.startswith(INVITE_PREFIX):
        person = await join_staff(
            ctx.uow, ctx.clock, ctx.event.user_id, payload[len(INVITE_PREFIX) :], ctx.lang
        )
        ctx.person = person
        ctx.say("staff.joined", name=person.name, roles=_roles(ctx))
        ctx.replies.append(person_menu(ctx.texts, person))
        return
    if payload.startswith(BUILDING_PREFIX):
        building = await ctx.uow.places.by_code(payload[len(BUILDING_PREFIX) :])
        if building is not None and building.kind == PlaceKind.BUILDING:
            ctx.say("register.from_qr", building=building.names.pick(ctx.lang))
            await _ask_unit(ctx, building.id)
            return
        ctx.say("register.bad_qr")
    if ctx.person is not None and (ctx.person.household_id is not None or ctx.person.is_staff):
        ctx.say("start.welcome_back", name=ctx.person.name)
        for key in help_key(ctx.person):
            ctx.say(key)
        return
    ctx.say("start.welcome", name=ctx.event.first_name)
    await ask_community(ctx)


def _roles(ctx: Context) -> str:
    """Return the person's roles, named in their language."""
    person = ctx.require()
    names = dict.fromkeys(ctx.t(f"role.{r.role.value}") for r in person.roles)
    return "、".join(names) if ctx.lang == "zh" else ", ".join(names)


async def ask_community(ctx: Context) -> None:
    """Ask which community the household is in."""
    communities = await ctx.uow.places.children(None, PlaceKind.COMMUNITY)
    if not communities:
        ctx.say("register.no_org")
        return
    buttons = [Button(c.names.pick(ctx.lang), f"rc:{c.id}") for c in communities]
    ctx.say("register.ask_community", rows(buttons, 2))


async def choose_community(ctx: Context, community_id: int) -> None:
    """Show the buildings of the chosen community."""
    community = await ctx.uow.places.get(community_id)
    if community is None or community.kind != PlaceKind.COMMUNITY:
        raise InvalidInput(reason="place")
    buttons: list[Button] = []
    for grid in await ctx.uow.places.children(community.id, PlaceKind.GRID):
        for building in await ctx.uow.places.children(grid.id, PlaceKind.BUILDING):
            buttons.append(Button(building.names.pick(ctx.lang), f"rb:{building.id}"))
    ctx.answer()
    ctx.say("register.ask_building", rows(buttons, 3), community=community.names.pick(ctx.lang))


async def choose_building(ctx: Context, building_id: int) -> None:
    """Show the units of the chosen building."""
    building = await ctx.uow.places.get(building_id)
    if building is None or building.kind != PlaceKind.BUILDING:
        raise InvalidInput(reason="place")
    ctx.answer()
    await _ask_unit(ctx, building.id)


async def _ask_unit(ctx: Context, building_id: int) -> None:
    units = await ctx.uow.places.children(building_id, PlaceKind.UNIT)
    buttons = [Button(u.names.pick(ctx.lang), f"ru:{u.id}") for u in units]
    ctx.say("register.ask_unit", rows(buttons, 3))


async def choose_unit(ctx: Context, unit_id: int) -> None:
    """Show the rooms of the chosen unit, a page at a time."""
    unit = await ctx.uow.places.get(unit_id)
    if unit is None or unit.kind != PlaceKind.UNIT:
        raise InvalidInput(reason="place")
    households = await ctx.uow.places.households(unit.id)
    ctx.answer()
    ctx.say(
        "register.ask_room", _rooms(ctx, unit.id, households, 0), unit=unit.names.pick(ctx.lang)
    )


async def turn_rooms(ctx: Context, unit_id: int, page: int) -> None:
    """Show another page of the unit's rooms on the same message."""
    unit = await ctx.uow.places.get(unit_id)
    if unit is None or unit.kind != PlaceKind.UNIT:
        raise InvalidInput(reason="place")
    households = await ctx.uow.places.households(unit.id)
    ctx.answer()
    if ctx.event.message_id is not None:
        keyboard = _rooms(ctx, unit.id, households, page)
        ctx.send_edit(Edit(ctx.event.chat_id, ctx.event.message_id, None, keyboard))


def _rooms(ctx: Context, unit_id: int, households: list[Household], page: int) -> Keyboard:
    # Telegram refuses a message with more than 100 buttons, and a unit of a high-rise has
    # more rooms than that: before paging, such a unit's residents got no room list at all.
    last = max(0, (len(households) - 1) // ROOMS_PER_PAGE)
    page = min(max(page, 0), last)
    shown = households[page * ROOMS_PER_PAGE : (page + 1) * ROOMS_PER_PAGE]
    keyboard = rows([Button(h.room, f"rh:{h.id}") for h in shown], 4)
    turn = []
    if page > 0:
        turn.append(ctx.button("btn.rooms_back", f"rp:{unit_id}:{page - 1}"))
    if page < last:
        turn.append(ctx.button("btn.rooms_more", f"rp:{unit_id}:{page + 1}"))
    return (*keyboard, tuple(turn)) if turn else keyboard


async def choose_room(ctx: Context, household_id: int) -> None:
    """Register the person to the chosen room, then ask for a phone number."""
    person = await register_resident(
        ctx.uow, ctx.event.user_id, ctx.event.first_name, ctx.lang, household_id
    )
    ctx.person = person
    place = await ctx.uow.places.household_place(household_id)
    assert place is not None
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("register.done", address=place.address(ctx.lang))
    ctx.replies.append(person_menu(ctx.texts, person))
    await ctx.remember(ChatState("phone"))
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
        await ctx.remember(None)
        ctx.say("register.phone_skipped", remove_keyboard=True)
        return
    if ctx.event.contact_phone and ctx.event.contact_user_id not in (None, ctx.event.user_id):
        raise InvalidInput(reason="phone")
    await ctx.set_state(None)
    await set_phone(ctx.uow, person, phone)
    ctx.say("register.phone_saved", remove_keyboard=True)


async def choose_language(ctx: Context) -> None:
    """Offer the languages there are."""
    buttons = [Button("中文", "lang:zh"), Button("English", "lang:en")]
    ctx.say("lang.ask", rows(buttons, 2))


async def language_chosen(ctx: Context, lang: str) -> None:
    """Switch the person's language and their command menu."""
    person = ctx.require()
    await set_language(ctx.uow, person, lang)
    ctx.lang = lang
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("lang.set")
    refreshed = await ctx.uow.people.get(person.id)
    if refreshed is not None:
        ctx.replies.append(person_menu(ctx.texts, refreshed))
