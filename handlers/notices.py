"""Notices (通知) in chat: /notice to write one, /notices for the counts, approving, opting out.

/notice (or the staff menu's button): the place (the sender's scope, opened level by level,
a page of buttons at a time), the audience, urgent or not, the words (or a photo with a
caption), a preview, and send. Everything chosen waits in the chat state until it is sent.
"""

from __future__ import annotations

from typing import Any

from handlers.context import Context
from handlers.events import Button, Keyboard, rows
from workflows import notices
from workflows.errors import InvalidInput, NotAllowed
from workflows.model import Audience, BulletinStatus, ChatState, Place
from workflows.vocabulary import Step, Verb

PAGE = 24  # a page of places: with the buttons around them, far below Telegram's 100
OPEN = "o"  # a place's button opens its parts
PICK = "s"  # the notice goes to the whole place
URGENT = "urgent"
NORMAL = "normal"


async def start(ctx: Context) -> None:
    """Start a notice: the places the sender may address."""
    person = ctx.require()
    if not notices.may_send(person):
        raise NotAllowed()
    await ctx.set_state(ChatState(Step.NOTICE_TEXT, {}))
    places = await notices.scopes(ctx.uow, person)
    if len(places) == 1:
        _, buttons = await _picker(ctx, places[0], 0)
        ctx.say("notice.pick_place", buttons, place=places[0].names.pick(ctx.lang))
        return
    buttons = rows([_open(ctx, p) for p in places], 2)
    ctx.say("notice.pick_scope", buttons)


def _open(ctx: Context, place: Place) -> Button:
    return Button(place.names.pick(ctx.lang), Verb.NOTICE_PLACE.data(place.id, OPEN))


async def _picker(ctx: Context, place: Place, page: int) -> tuple[str, Keyboard]:
    """Return the picker of a place: all of it, or one of its parts (a page of them)."""
    parts = await notices.parts(ctx.uow, place)
    shown = parts[page * PAGE : (page + 1) * PAGE]
    whole = ctx.button(
        "notice.btn_whole", Verb.NOTICE_PLACE.data(place.id, PICK), place=place.names.pick(ctx.lang)
    )
    keyboard: list[tuple[Button, ...]] = [(whole,)]
    keyboard.extend(rows([_open(ctx, p) for p in shown], 3))
    turns: list[Button] = []
    if page > 0:
        turns.append(ctx.button("btn.page_back", Verb.NOTICE_PAGE.data(place.id, page - 1)))
    if (page + 1) * PAGE < len(parts):
        turns.append(ctx.button("notice.btn_more", Verb.NOTICE_PAGE.data(place.id, page + 1)))
    if turns:
        keyboard.append(tuple(turns))
    return ctx.t("notice.pick_place", place=place.names.pick(ctx.lang)), tuple(keyboard)


def _draft(ctx: Context) -> dict[str, Any]:
    """Return what the notice being written holds so far; raise if none is being written."""
    if ctx.state is None or ctx.state.name != Step.NOTICE_TEXT:
        raise notices.NoticeGone()
    return dict(ctx.state.data)


async def place_tapped(ctx: Context, place_id: int, how: str) -> None:
    """Open a place's parts, or choose the whole place; then who it is for."""
    person = ctx.require()
    data = _draft(ctx)
    place = await notices.place_for(ctx.uow, person, place_id)
    ctx.answer()
    if how == OPEN and await notices.parts(ctx.uow, place):
        text, buttons = await _picker(ctx, place, 0)
        ctx.edit_pressed(text, buttons)
        return
    data["place_id"] = place.id
    await ctx.set_state(ChatState(Step.NOTICE_TEXT, data))
    ctx.show_choice(place.names.pick(ctx.lang))
    buttons = rows(
        [
            ctx.button(f"notice.audience_{a.value}", Verb.NOTICE_AUDIENCE.data(a.value))
            for a in Audience
        ],
        3,
    )
    ctx.say("notice.ask_audience", buttons)


async def page_turned(ctx: Context, place_id: int, page: int) -> None:
    """Show another page of a place's parts."""
    person = ctx.require()
    _draft(ctx)
    place = await notices.place_for(ctx.uow, person, place_id)
    ctx.answer()
    text, buttons = await _picker(ctx, place, page)
    ctx.edit_pressed(text, buttons)


async def audience_chosen(ctx: Context, audience: str) -> None:
    """Who it is for; then urgent or not."""
    ctx.require()
    data = _draft(ctx)
    if "place_id" not in data or audience not in Audience.__members__.values():
        raise notices.NoticeGone()
    data["audience"] = audience
    await ctx.set_state(ChatState(Step.NOTICE_TEXT, data))
    ctx.answer()
    ctx.show_choice(ctx.t(f"notice.audience_{audience}"))
    buttons = rows(
        [
            ctx.button("notice.btn_urgent", Verb.NOTICE_URGENCY.data(URGENT)),
            ctx.button("notice.btn_normal", Verb.NOTICE_URGENCY.data(NORMAL)),
        ],
        1,
    )
    ctx.say("notice.ask_urgency", buttons)


async def urgency_chosen(ctx: Context, urgency: str) -> None:
    """Urgent (停水 停电 燃气: now, at night too) or not (waits for the morning); then words."""
    ctx.require()
    data = _draft(ctx)
    if "audience" not in data or urgency not in (URGENT, NORMAL):
        raise notices.NoticeGone()
    data["urgent"] = urgency == URGENT
    await ctx.set_state(ChatState(Step.NOTICE_TEXT, data))
    ctx.answer()
    ctx.show_choice(ctx.t("notice.btn_urgent" if data["urgent"] else "notice.btn_normal"))
    ctx.say("notice.ask_text")


async def text_given(ctx: Context) -> None:
    """The words (or a photo with a caption): shown as residents will see them, to send."""
    data = _draft(ctx)
    if "urgent" not in data:
        ctx.say("notice.tap_above")
        return
    text = ctx.event.text or ""
    if not text or ctx.event.command:
        ctx.say("notice.ask_text")
        return
    if len(text) > notices.MAX_TEXT:
        raise InvalidInput(reason="too_long", limit=notices.MAX_TEXT)
    data.update(text=text, photo=ctx.event.photo)
    await ctx.set_state(ChatState(Step.NOTICE_TEXT, data))
    place = await ctx.uow.places.get(int(data["place_id"]))
    buttons = rows(
        [
            ctx.button("notice.btn_send", Verb.NOTICE_SEND.data()),
            ctx.button("notice.btn_drop", Verb.NOTICE_DROP.data()),
        ],
        2,
    )
    ctx.say(
        "notice.preview",
        buttons,
        photo=ctx.event.photo,
        place=place.names.pick(ctx.lang) if place else "",
        audience=ctx.t(f"notice.audience_{data['audience']}"),
        kind=ctx.t("notice.btn_urgent" if data["urgent"] else "notice.btn_normal"),
        text=text,
    )


async def send_tapped(ctx: Context) -> None:
    """Send the notice (or ask the street's supervisors to approve it)."""
    person = ctx.require()
    data = _draft(ctx)
    if "text" not in data:
        raise notices.NoticeGone()
    draft = notices.BulletinDraft(
        place_id=int(data["place_id"]),
        audience=Audience(str(data["audience"])),
        urgent=bool(data["urgent"]),
        text=str(data["text"]),
        photo=data.get("photo"),
    )
    bulletin = await notices.submit(ctx.uow, ctx.clock, person, draft)
    await ctx.set_state(None)
    ctx.answer()
    ctx.clear_buttons()
    sent = await ctx.uow.bulletins.get(bulletin.id)
    if sent is not None and sent.status == BulletinStatus.PENDING:
        ctx.say("notice.pending", menu=True)
    else:
        ctx.say("notice.sent", menu=True, recipients=sent.recipients if sent else 0)


async def drop_tapped(ctx: Context) -> None:
    """Throw the notice being written away."""
    ctx.require()
    await ctx.set_state(None)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("notice.dropped", menu=True)


async def approve(ctx: Context, bulletin_id: int) -> None:
    """A street supervisor approves a street-wide notice: it goes out now."""
    await _decide(ctx, bulletin_id, approve=True)


async def refuse(ctx: Context, bulletin_id: int) -> None:
    """A street supervisor refuses a street-wide notice: its sender is told."""
    await _decide(ctx, bulletin_id, approve=False)


async def _decide(ctx: Context, bulletin_id: int, *, approve: bool) -> None:
    person = ctx.require()
    try:
        await notices.decide(ctx.uow, ctx.clock, person, bulletin_id, approve)
    except notices.NoticeDecided:
        ctx.answer("notice.already_decided", alert=True)
        ctx.clear_buttons()
        return
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("notice.decided_yes" if approve else "notice.decided_no")


async def turn_off(ctx: Context, _: int) -> None:
    """A resident turns non-urgent notices off (the button under each one)."""
    person = ctx.require()
    await notices.turn_off(ctx.uow, ctx.clock, person, True)
    ctx.answer()
    ctx.say("notice.off_done", rows([ctx.verb_button(Verb.NOTICE_ON, 0)], 1))


async def turn_on(ctx: Context, _: int) -> None:
    """A resident turns notices on again."""
    person = ctx.require()
    await notices.turn_off(ctx.uow, ctx.clock, person, False)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("notice.on_done")


async def list_sent(ctx: Context) -> None:
    """/notices: the sender's latest notices, with how many reached people so far."""
    person = ctx.require()
    if not notices.may_send(person):
        raise NotAllowed()
    found = await notices.recent(ctx.uow, person)
    if not found:
        ctx.say("notice.none_sent")
        return
    lines = []
    for bulletin, place, tally in found:
        lines.append(
            ctx.t(
                "notice.list_item",
                place=place.names.pick(ctx.lang) if place else "",
                text=bulletin.text[:40],
                status=ctx.t(f"notice.status_{bulletin.status.value}"),
                recipients=bulletin.recipients,
                delivered=tally.delivered,
                blocked=tally.blocked,
                waiting=tally.waiting,
            )
        )
    ctx.say("notice.list", items="\n\n".join(lines))
