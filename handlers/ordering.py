"""The resident's conversations: /new, /my, cancel, add information, confirm and rate."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from handlers import moves, publicity
from handlers.context import Context
from handlers.events import Button, Send, rows
from handlers.registration import ask_community
from workflows.behalf import place_on_behalf, tell_household
from workflows.cards import Card
from workflows.dispatch import OrderContext, load, spoken
from workflows.errors import InvalidInput, NotRegistered, NotYourOrder, StaleAction
from workflows.model import Category, ChatState, OrderStatus, Urgency, Voice, VoiceKind
from workflows.orders import (
    CALL_BACK_CODE,
    MIN_DESCRIPTION,
    OrderDraft,
    add_information,
    cancel_order,
    clean_text,
    comment_order,
    confirm_fixed,
    place_order,
    rate_order,
    rating_actions,
    reopen_order,
)
from workflows.states import can
from workflows.supervision import link
from workflows.vocabulary import Channel, Move, Step, Verb

MY_ORDERS_SHOWN = 10


class DraftStep(enum.StrEnum):
    """What the /new conversation asks next."""

    CATEGORY = "category"
    DESCRIPTION = "description"
    MEDIA = "media"
    URGENCY = "urgency"
    CONFIRM = "confirm"


@dataclass(frozen=True)
class Draft:
    """The order a resident is writing in /new, kept in the chat state between messages."""

    step: DraftStep = DraftStep.CATEGORY
    category_id: int | None = None
    description: str = ""
    photos: tuple[str, ...] = ()
    latitude: float | None = None
    longitude: float | None = None
    urgency: Urgency = Urgency.NORMAL
    voices: tuple[Voice, ...] = ()  # voice messages, video notes, audio files told in
    album: str | None = None  # the media group of the photos last sent, to thank once per album
    # behalf (issue 16): staff ordering for this household, and how the request came in.
    for_household: int | None = None
    channel: Channel | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the draft as the chat state keeps it (the keys it has always had)."""
        data: dict[str, Any] = {"step": self.step.value}
        if self.category_id is not None:
            data["category_id"] = self.category_id
        if self.description:
            data["description"] = self.description
        if self.photos:
            data["photos"] = list(self.photos)
        if self.latitude is not None and self.longitude is not None:
            data.update(latitude=self.latitude, longitude=self.longitude)
        if self.step == DraftStep.CONFIRM:
            data["urgency"] = self.urgency.value
        if self.voices:
            data["voices"] = [v.to_dict() for v in self.voices]
        if self.album is not None:
            data["album"] = self.album
        if self.for_household is not None and self.channel is not None:
            data.update(for_household=self.for_household, channel=self.channel.value)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Draft:
        """Rebuild a draft from the chat state (also one saved before the draft was typed)."""
        category = data.get("category_id")
        latitude, longitude = data.get("latitude"), data.get("longitude")
        household, channel = data.get("for_household"), data.get("channel")
        return cls(
            step=DraftStep(data.get("step", DraftStep.CATEGORY)),
            category_id=None if category is None else int(category),
            description=str(data.get("description", "")),
            photos=tuple(str(p) for p in data.get("photos", [])),
            latitude=None if latitude is None else float(latitude),
            longitude=None if longitude is None else float(longitude),
            urgency=Urgency(data.get("urgency", Urgency.NORMAL)),
            voices=tuple(Voice.from_dict(v) for v in data.get("voices", [])),
            album=None if data.get("album") is None else str(data["album"]),
            for_household=None if household is None else int(household),
            channel=None if channel is None else Channel(channel),
        )

    def order(self) -> OrderDraft:
        """Return the order to place from a finished draft."""
        if self.category_id is None:
            raise InvalidInput(reason="expired")
        return OrderDraft(
            category_id=self.category_id,
            description=self.description,
            urgency=self.urgency,
            photos=self.photos,
            latitude=self.latitude,
            longitude=self.longitude,
            voices=self.voices,
        )


async def new_order(ctx: Context) -> None:
    """Start an order: ask for the category."""
    person = ctx.require()
    if person.household_id is None and person.is_staff:
        # Staff order for their own home like anyone else, once they say where it is.
        ctx.say("new.staff_no_home")
        await ask_community(ctx)
        return
    if person.household_id is None:
        raise NotRegistered()
    await ask_category(ctx, Draft())


async def ask_category(ctx: Context, draft: Draft) -> None:
    """Keep the new draft and ask for its category."""
    categories = await pickable(ctx)
    buttons = [Button(c.names.pick(ctx.lang), Verb.CATEGORY.data(c.id)) for c in categories]
    await _keep(ctx, draft)
    ctx.say("new.ask_category", rows(buttons, 2))


async def pickable(ctx: Context) -> list[Category]:
    """Return the categories a resident picks from (the call-back one has its own button)."""
    return [c for c in await ctx.uow.categories.list() if c.code != CALL_BACK_CODE]


def _draft(ctx: Context) -> Draft:
    if ctx.state is None or ctx.state.name != Step.NEW:
        raise InvalidInput(reason="expired")
    return Draft.from_dict(ctx.state.data)


async def _keep(ctx: Context, draft: Draft) -> None:
    await ctx.set_state(ChatState(Step.NEW, draft.to_dict()))


async def category_chosen(ctx: Context, category_id: int) -> None:
    """Keep the category and ask for a description."""
    draft = _draft(ctx)
    category = await ctx.uow.categories.get(category_id)
    if category is None:
        raise InvalidInput(reason="category")
    told = draft.step == DraftStep.CATEGORY and bool(draft.description or draft.voices)
    # Words told freely (handlers/intake.py) need no description: straight on to urgency.
    step = DraftStep.URGENCY if told else DraftStep.DESCRIPTION
    await _keep(ctx, replace(draft, step=step, category_id=category.id))
    ctx.answer()
    ctx.clear_buttons(ctx.t("new.category_chosen", category=category.names.pick(ctx.lang)))
    if told:
        ask_urgency(ctx)
    else:
        ctx.say("new.ask_description")


async def draft_input(ctx: Context) -> None:
    """Take the description, then photos and a location, as the step asks."""
    draft = _draft(ctx)
    event = ctx.event
    done = rows([ctx.verb_button(Verb.MEDIA_DONE)], 1)
    if (
        event.photo
        and draft.step == DraftStep.CATEGORY
        and draft.album is not None
        and event.media_group_id == draft.album
    ):  # behalf2: the rest of an album offered back as a request (handlers/intake.py)
        if len(draft.photos) < ctx.limits.photos:
            await _keep(ctx, replace(draft, photos=(*draft.photos, event.photo)))
        return
    if event.clip is not None and draft.step in (DraftStep.DESCRIPTION, DraftStep.MEDIA):
        # A voice message (video note, audio file) tells the matter as well as words do.
        if len(draft.voices) >= ctx.limits.photos:
            raise InvalidInput(reason="too_many_photos", limit=ctx.limits.photos)
        file_id, seconds, kind = event.clip
        voices = (*draft.voices, Voice(file_id, seconds, VoiceKind(kind)))
        await _keep(ctx, replace(draft, step=DraftStep.MEDIA, voices=voices))
        ctx.say("voice.kept", done, length=voices[-1].length)
        return
    if draft.step == DraftStep.DESCRIPTION:
        if not event.text or event.command:
            ctx.say("new.need_text")
            return
        # Check the length now, so the resident can fix it at once.
        description = clean_text(event.text, limit=ctx.limits.description, minimum=MIN_DESCRIPTION)
        await _keep(ctx, replace(draft, step=DraftStep.MEDIA, description=description))
        ctx.say("new.ask_media", done)
        return
    if draft.step == DraftStep.MEDIA:
        if event.photo:
            if len(draft.photos) >= ctx.limits.photos:
                raise InvalidInput(reason="too_many_photos", limit=ctx.limits.photos)
            photos = (*draft.photos, event.photo)
            album = event.media_group_id
            await _keep(ctx, replace(draft, photos=photos, album=album))
            if album is None:
                ctx.say("new.photo_added", done, count=len(photos))
            elif album != draft.album:  # an album is one set: acknowledged once
                ctx.say("voice.album_added", done)
            return
        if event.latitude is not None and event.longitude is not None:
            await _keep(ctx, replace(draft, latitude=event.latitude, longitude=event.longitude))
            ctx.say("new.location_added", done)
            return
        ctx.say("new.media_hint", done)
        return
    ctx.say("new.use_buttons")


async def media_done(ctx: Context) -> None:
    """Ask how urgent it is."""
    draft = _draft(ctx)
    if draft.step != DraftStep.MEDIA:
        raise InvalidInput(reason="expired")
    await _keep(ctx, replace(draft, step=DraftStep.URGENCY))
    ctx.answer()
    ctx.clear_buttons()
    ask_urgency(ctx)


def ask_urgency(ctx: Context) -> None:
    """Ask how urgent it is: normal or urgent."""
    ctx.say(
        "new.ask_urgency",
        rows(
            [
                ctx.button("btn.normal", Verb.URGENCY.data(Urgency.NORMAL)),
                ctx.button("btn.urgent", Verb.URGENCY.data(Urgency.URGENT)),
            ],
            2,
        ),
    )


async def urgency_chosen(ctx: Context, urgency: str) -> None:
    """Show the summary with Confirm / Cancel."""
    draft = _draft(ctx)
    if draft.step != DraftStep.URGENCY or urgency not in {u.value for u in Urgency}:
        raise InvalidInput(reason="expired")
    draft = replace(draft, step=DraftStep.CONFIRM, urgency=Urgency(urgency))
    await _keep(ctx, draft)
    category = (
        None if draft.category_id is None else await ctx.uow.categories.get(draft.category_id)
    )
    ctx.answer()
    ctx.show_choice(ctx.t(f"btn.{urgency}"))
    if draft.urgency == Urgency.URGENT:  # safety first: who to call at once, before all else
        await safety_numbers(ctx)
    ctx.say(
        "new.confirm",
        rows([ctx.verb_button(Verb.DRAFT_OK), ctx.verb_button(Verb.DRAFT_CANCEL)], 2),
        category=category.names.pick(ctx.lang) if category else "",
        description=" ".join(filter(None, (draft.description, spoken(draft.voices)))),
        photos_line=ctx.t("behalf.photos_line", count=len(draft.photos)) if draft.photos else "",
        urgency=urgency,
    )


async def safety_numbers(ctx: Context) -> None:
    """Show the emergency numbers (119, 110, 120) and the community's duty phone."""
    person = ctx.require()
    place = (
        None
        if person.household_id is None
        else await ctx.uow.places.household_place(person.household_id)
    )
    duty = place.community.duty_phone if place is not None else ""
    if duty:
        ctx.say("safety.numbers", duty=duty)
    else:
        ctx.say("safety.numbers_no_duty")


async def confirmed(ctx: Context) -> None:
    """Place the order and give the order number at once.

    moves (issue 15): open orders like it in the building are offered first (the same thing?).
    """
    draft = _draft(ctx)
    if draft.step != DraftStep.CONFIRM:
        raise InvalidInput(reason="expired")
    if draft.category_id is not None and await moves.offer_alike(ctx, draft.category_id):
        ctx.answer()
        ctx.clear_buttons()
        return
    await _place_draft(ctx, draft)


async def place_anyway(ctx: Context) -> None:
    """moves (issue 15): not the same thing as the neighbours' orders: place it after all."""
    draft = _draft(ctx)
    if draft.step != DraftStep.CONFIRM:
        raise InvalidInput(reason="expired")
    await _place_draft(ctx, draft)


async def _place_draft(ctx: Context, draft: Draft) -> None:
    person = ctx.require()
    await ctx.set_state(None)
    if draft.for_household is not None and draft.channel is not None:
        order = await place_on_behalf(
            ctx.uow, ctx.clock, person, draft.for_household, draft.order(), draft.channel
        )
        ctx.answer()
        ctx.clear_buttons()
        ctx.say(
            "behalf.placed", number=order.number, status=order.status.value, channel=order.channel
        )
        return
    order = await place_order(ctx.uow, ctx.clock, person, draft.order(), ctx.limits)
    if person.proxy:
        await tell_household(ctx.uow, person, order)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("new.placed", number=order.number, status=order.status.value)


async def draft_cancelled(ctx: Context) -> None:
    """Drop the draft."""
    await ctx.set_state(None)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("new.dropped")


async def my_orders(ctx: Context) -> None:
    """List the resident's own orders with what they can do next."""
    person = ctx.require()
    orders = await ctx.uow.orders.of_resident(person.id, MY_ORDERS_SHOWN)
    if not orders:
        ctx.say("my.none")
        return
    ctx.say("my.header", count=len(orders))
    for order in orders:
        ctx_order = await load(ctx.uow, order.id)
        buttons: list[Button] = []
        if can(Move.ADD_INFO, order.status):
            buttons.append(ctx.verb_button(Verb.ADD_INFO, order.id))
        if can(Move.CANCEL, order.status):
            buttons.append(ctx.verb_button(Verb.CANCEL, order.id))
        if order.status == OrderStatus.RESOLVED:
            buttons += [
                ctx.verb_button(Verb.SATISFIED, order.id),
                ctx.verb_button(Verb.NOT_SATISFIED, order.id),
            ]
        item = ctx.t(
            "my.item",
            number=order.number,
            category=ctx_order.category.names.pick(ctx.lang),
            status=order.status.value,
            description=_short(order.description),
            date=order.created_at.strftime("%m-%d"),
        )
        # Its link (/o_00042) to tap for the whole timeline (handlers/lookup.py).
        tap_to_see = ctx.t("lookup.my_link", link=link(order))
        ctx.send(
            Send(
                ctx.event.chat_id,
                f"{item}\n{tap_to_see}",
                rows(buttons, 2),
                ref=Card.ORDER.ref(order.id) if buttons else None,
            )
        )


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def ask_cancel(ctx: Context, order_id: int) -> None:
    """Ask the resident to confirm cancelling, if the order can still be cancelled."""
    ctx_order = await _own(ctx, order_id, Move.CANCEL)
    ctx.answer()
    ctx.say(
        "cancel.ask",
        rows(
            [
                ctx.verb_button(Verb.CANCEL_CONFIRMED, order_id),
                ctx.verb_button(Verb.NOOP),
            ],
            2,
        ),
        ref=Card.ORDER.ref(order_id),
        number=ctx_order.order.number,
    )


async def _own(ctx: Context, order_id: int, action: Move) -> OrderContext:
    """Load the person's own order if the action still applies to it; else refuse at once."""
    ctx_order = await load(ctx.uow, order_id)
    if ctx_order.order.resident_id != ctx.require().id:
        raise NotYourOrder()
    if not can(action, ctx_order.order.status):
        raise StaleAction(number=ctx_order.order.number)
    return ctx_order


async def cancel_confirmed(ctx: Context, order_id: int) -> None:
    """Cancel the order."""
    order = await cancel_order(ctx.uow, ctx.clock, ctx.require(), order_id)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("cancel.done", number=order.number)


async def ask_info(ctx: Context, order_id: int) -> None:
    """Ask for the information to add, if the order is still open."""
    ctx_order = await _own(ctx, order_id, Move.ADD_INFO)
    await ctx.set_state(ChatState(Step.INFO, {"order_id": order_id}))
    ctx.answer()
    ctx.say("info.ask", number=ctx_order.order.number)


async def info_given(ctx: Context) -> None:
    """Add the text or photo to the order."""
    state = ctx.state
    assert state is not None
    if not ctx.event.text and not ctx.event.photo:
        ctx.say("info.need_text")
        return
    await ctx.set_state(None)
    order = await add_information(
        ctx.uow,
        ctx.clock,
        ctx.require(),
        int(state.data["order_id"]),
        ctx.event.text,
        ctx.event.photo,
    )
    ctx.say("info.added", number=order.number)


async def satisfied(ctx: Context, order_id: int) -> None:
    """Close the order and ask for a rating."""
    order = await confirm_fixed(ctx.uow, ctx.clock, ctx.require(), order_id)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("confirm.thanks", ctx.action_buttons(rating_actions(order.id), 5), number=order.number)


async def not_satisfied(ctx: Context, order_id: int) -> None:
    """Ask what is still wrong."""
    ctx_order = await load(ctx.uow, order_id)
    if ctx_order.order.resident_id != ctx.require().id:
        raise NotYourOrder()
    if ctx_order.order.status != OrderStatus.RESOLVED:
        raise StaleAction(number=ctx_order.order.number)
    await ctx.set_state(ChatState(Step.REOPEN, {"order_id": order_id}))
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("reopen.ask", number=ctx_order.order.number)


async def reopen_reason(ctx: Context) -> None:
    """Reopen the order with the resident's reason."""
    given = await ctx.answered_text("reopen.need_text")
    if given is None:
        return
    order = await reopen_order(ctx.uow, ctx.clock, ctx.require(), *given)
    ctx.say("reopen.done", number=order.number)


async def rated(ctx: Context, order_id: int, stars: str) -> None:
    """Record the rating and offer to add a comment."""
    if not stars.isdigit():
        raise InvalidInput(reason="rating")
    await ctx.set_state(ChatState(Step.COMMENT, {"order_id": order_id}))
    order = await rate_order(ctx.uow, ctx.clock, ctx.require(), order_id, int(stars))
    ctx.answer()
    ctx.clear_buttons()
    ctx.say(
        "rate.thanks",
        rows([ctx.verb_button(Verb.SKIP_COMMENT, order.id)], 1),
        number=order.number,
        rating=order.rating,
    )


async def comment_given(ctx: Context) -> None:
    """Save the resident's comment."""
    given = await ctx.answered_text("comment.need_text")
    if given is None:
        return
    order = await comment_order(ctx.uow, ctx.clock, ctx.require(), *given)
    ctx.say("comment.thanks")
    # publicity (issue 17): 公示 with their words? One question at a time: after the comment.
    await publicity.ask_consent(ctx, order)


async def comment_skipped(ctx: Context, order_id: int) -> None:
    """End without a comment."""
    await ctx.set_state(None)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("comment.skipped")
    order = await ctx.uow.orders.get(order_id)
    if order is not None and order.resident_id == ctx.require().id:
        await publicity.ask_consent(ctx, order)  # publicity (issue 17), after the comment
