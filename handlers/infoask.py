"""Information asked (issue 15): the holder's question to the resident, and the answer."""

from __future__ import annotations

from handlers.context import Context
from workflows.infoask import ask_resident, may_answer, resident_answers
from workflows.model import ChatState
from workflows.vocabulary import Step
from workflows.work import held_task


async def ask_question(ctx: Context, order_id: int) -> None:
    """The holder tapped 问居民: ask what to ask."""
    octx = await held_task(ctx.uow, ctx.require(), order_id)
    ctx.answer()
    await ctx.set_state(ChatState(Step.ASK_RESIDENT, {"order_id": order_id}))
    ctx.say("askinfo.ask_question", number=octx.order.number)


async def question_given(ctx: Context) -> None:
    """Send the holder's question to the resident."""
    given = await ctx.answered_text("askinfo.need_text")
    if given is None:
        return
    order_id, question = given
    order = await ask_resident(ctx.uow, ctx.clock, ctx.require(), order_id, question)
    ctx.say("askinfo.sent", number=order.number)


async def ask_answer(ctx: Context, order_id: int) -> None:
    """The resident tapped 回复: ask for the answer (words, or a photo)."""
    octx = await may_answer(ctx.uow, ctx.require(), order_id)
    ctx.answer()
    await ctx.set_state(ChatState(Step.RESIDENT_ANSWER, {"order_id": order_id}))
    ctx.say("askinfo.ask_answer", number=octx.order.number)


async def answer_given(ctx: Context) -> None:
    """Pass the resident's answer on to the holder."""
    state = ctx.state
    assert state is not None
    if (not ctx.event.text and not ctx.event.photo) or ctx.event.command:
        ctx.say("askinfo.need_answer")
        return
    await ctx.set_state(None)
    order = await resident_answers(
        ctx.uow,
        ctx.clock,
        ctx.require(),
        int(state.data["order_id"]),
        ctx.event.text or "",
        ctx.event.photo,
    )
    ctx.say("askinfo.answer_sent", number=order.number)
