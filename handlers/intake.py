"""Every resident can ask: the menu keyboard, free words as a draft, words kept until registered,
voice, albums, and "please call me back" (issue 16)."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Awaitable, Callable
from typing import Any

from handlers import ordering, registration
from handlers.context import Context
from handlers.events import Button, rows
from handlers.menus import help_key
from workflows.errors import InvalidInput, NotRegistered
from workflows.model import ChatState, Voice, VoiceKind
from workflows.orders import (
    CALL_BACK_CODE,
    OrderDraft,
    clean_text,
    guess_category,
    place_order,
)
from workflows.text import has_visible
from workflows.vocabulary import Step, Verb

KEPT_WORDS = 20  # messages kept from someone not registered yet (their first words, in order)
FREE_WORDS = 3  # fewer characters ("好", "谢谢") are not offered as a request


async def ask(ctx: Context) -> None:
    """The 咨询 button: the question flow (handlers/questions.py `start`) when there is one.

    The question flow is written on its own branch; until it is here, the button shows the
    help, and a question typed freely is offered as a request like any other words.
    """
    start = _questions_start()
    if start is not None:
        await start(ctx)
        return
    await show_help(ctx)


def _questions_start() -> Callable[[Context], Awaitable[None]] | None:
    """Return handlers.questions.start, the entry point of the question flow, if it exists."""
    if importlib.util.find_spec("handlers.questions") is None:
        return None
    module: Any = importlib.import_module("handlers.questions")
    start = getattr(module, "start", None)
    return start if callable(start) else None


async def show_help(ctx: Context) -> None:
    """Say what the person can do, with their menu under it."""
    keys = help_key(ctx.person)
    for key in keys[:-1]:
        ctx.say(key)
    ctx.say(keys[-1], menu=ctx.person is not None)


async def free_words(ctx: Context) -> None:
    """Words said outside any conversation: nothing is lost.

    From a registered resident they are offered back as a request (or, asking to be called
    back, become a call-back task); from someone not registered yet they are kept and offered
    once registration is done.
    """
    text = ctx.event.text or ""
    person = ctx.person
    if ctx.event.clip is not None and person is not None and person.household_id is not None:
        await offer_voice(ctx)
        return
    if ctx.event.photo and person is not None and person.household_id is not None:
        await offer_photo(ctx)  # behalf2: a photo told freely is offered back like words
        return
    if person is None:
        await keep_words(ctx, text)
        await registration.start(ctx)
        return
    if person.household_id is None:  # staff without a home of their own: nothing to order
        ctx.say("hint.free_text")
        return
    if wants_call(ctx, text):
        await call_back(ctx)
        return
    await offer_draft(ctx, text)


async def keep_words(ctx: Context, text: str) -> None:
    """Keep what a stranger wrote (said, showed) in the chat state, to offer after registration."""
    event = ctx.event
    if not has_visible(text) and event.clip is None and not event.photo:
        return
    data: dict[str, Any] = {}
    if ctx.state is not None and ctx.state.name == Step.KEPT:
        data = dict(ctx.state.data)
    kept = [str(w) for w in data.get("words", [])]
    if has_visible(text) and len(kept) < KEPT_WORDS:
        kept.append(text)
    data["words"] = kept
    # behalf2 (issue 16): a voice message or a photo before registering is kept like words.
    voices = list(data.get("voices", []))
    if event.clip is not None and len(voices) < ctx.limits.photos:
        file_id, seconds, kind = event.clip
        voices.append(Voice(file_id, seconds, VoiceKind(kind)).to_dict())
    photos = [str(p) for p in data.get("photos", [])]
    if event.photo and len(photos) < ctx.limits.photos:
        photos.append(event.photo)
    data.update({k: v for k, v in (("voices", voices), ("photos", photos)) if v})
    await ctx.set_state(ChatState(Step.KEPT, data))


async def phone_given(ctx: Context) -> None:
    """The last registration step; then the words said before registering are offered."""
    data = {} if ctx.state is None else dict(ctx.state.data)
    kept = [str(w) for w in data.get("words", [])]
    voices = tuple(Voice.from_dict(v) for v in data.get("voices", []))
    photos = tuple(str(p) for p in data.get("photos", []))
    await registration.phone_given(ctx)
    if (kept or voices or photos) and ctx.state is None:
        ctx.say("intake.kept")
        await offer_draft(ctx, "\n".join(kept), voices=voices, photos=photos)


async def offer_draft(
    ctx: Context,
    text: str,
    *,
    voices: tuple[Voice, ...] = (),
    photos: tuple[str, ...] = (),
    album: str | None = None,
) -> None:
    """Offer the words back as a new request: the guessed category first, any other instead.

    Voice messages and photos told with them (or alone) go into the same draft.
    """
    try:
        description = clean_text(text, limit=ctx.limits.description, minimum=FREE_WORDS)
    except InvalidInput:  # a word or two, an emoji: too little to be a request
        if not voices and not photos:
            ctx.say("hint.free_text", menu=True)
            return
        description = ""
    categories = await ordering.pickable(ctx)
    guess = guess_category(categories, description)
    if guess is not None:
        categories = [guess, *(c for c in categories if c.id != guess.id)]
    buttons = [
        Button(
            ctx.t("intake.guessed", category=c.names.pick(ctx.lang))
            if c is guess
            else c.names.pick(ctx.lang),
            Verb.CATEGORY.data(c.id),
        )
        for c in categories
    ]
    draft = ordering.Draft(description=description, voices=voices, photos=photos, album=album)
    await ctx.set_state(ChatState(Step.NEW, draft.to_dict()))
    keyboard = (*rows(buttons, 2), (ctx.verb_button(Verb.DRAFT_CANCEL),))
    if not description and voices:
        ctx.say("voice.offer", keyboard, length=voices[0].length)
    elif not description:
        ctx.say("intake.offer_photo", keyboard)
    elif guess is None:
        ctx.say("intake.offer", keyboard, text=description)
    else:
        ctx.say(
            "intake.offer_guess", keyboard, text=description, category=guess.names.pick(ctx.lang)
        )


async def offer_voice(ctx: Context) -> None:
    """Offer a voice message (video note, audio file) back as a new request: it may be all."""
    assert ctx.event.clip is not None
    file_id, seconds, kind = ctx.event.clip
    clip = Voice(file_id, seconds, VoiceKind(kind))
    await offer_draft(ctx, ctx.event.text or "", voices=(clip,))


async def offer_photo(ctx: Context) -> None:
    """Offer a photo (its caption, an album) back as a new request, the way words are."""
    assert ctx.event.photo
    photo, album = ctx.event.photo, ctx.event.media_group_id
    await offer_draft(ctx, ctx.event.text or "", photos=(photo,), album=album)


def wants_call(ctx: Context, text: str) -> bool:
    """Tell whether the words ask staff to phone back ("请工作人员给我回电话")."""
    said = text.casefold()
    for lang in ctx.texts.languages():
        phrases = ctx.texts(lang, "callback.phrases").split("|")
        if any(p.strip() and p.strip().casefold() in said for p in phrases):
            return True
    return False


async def call_back(ctx: Context) -> None:
    """Ask the household's grid worker to phone the resident: a task under the usual clocks."""
    person = ctx.require()
    if person.household_id is None:
        raise NotRegistered()
    if ctx.state is not None:
        await ctx.set_state(None)
    category = next((c for c in await ctx.uow.categories.list() if c.code == CALL_BACK_CODE), None)
    if category is None:  # an organisation imported before call-backs were built in
        ctx.say("callback.unavailable", menu=True)
        return
    words = ctx.event.text if ctx.event.text and has_visible(ctx.event.text) else ""
    description = words or ctx.t("menu.call_back")
    order = await place_order(
        ctx.uow,
        ctx.clock,
        person,
        OrderDraft(category_id=category.id, description=description[: ctx.limits.description]),
        ctx.limits,
    )
    if person.phone:
        ctx.say("callback.placed", menu=True, number=order.number, phone=person.phone)
    else:
        ctx.say("callback.placed_no_phone", menu=True, number=order.number)
