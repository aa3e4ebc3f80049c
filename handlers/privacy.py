"""/forget: a resident erases their personal data, after saying so twice."""

from __future__ import annotations

from handlers.context import Context
from handlers.events import rows
from workflows.errors import NotAllowed
from workflows.privacy import forget_me
from workflows.vocabulary import Verb


async def ask_forget(ctx: Context) -> None:
    """Explain what /forget does and ask to confirm."""
    person = ctx.require()
    if person.is_staff:
        raise NotAllowed()
    ctx.say(
        "forget.ask",
        rows(
            [
                ctx.verb_button(Verb.FORGET),
                ctx.verb_button(Verb.NOOP),
            ],
            1,
        ),
    )


async def forget_confirmed(ctx: Context) -> None:
    """Erase the resident's data; say goodbye."""
    person = ctx.require()
    count = await forget_me(ctx.uow, ctx.clock, person)
    ctx.person = None  # there is nobody left to queue messages for: answer directly
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("forget.done", count=count)
