"""Questions (咨询): the resident asks in words; the grid worker's typed answer reaches them."""

from __future__ import annotations

from handlers.context import Context
from workflows.errors import NotRegistered
from workflows.model import ChatState
from workflows.questions import answer, ask
from workflows.vocabulary import Step


async def start(ctx: Context) -> None:
    """Ask the resident for their question (menu button 咨询, or /ask)."""
    person = ctx.require()
    if person.household_id is None:
        raise NotRegistered()
    await ctx.set_state(ChatState(Step.QUESTION))
    ctx.say("question.ask")


async def question_given(ctx: Context) -> None:
    """Send the question to the household's grid worker and tell the resident it went."""
    if not ctx.event.text or ctx.event.command:
        ctx.say("question.need_text")
        return
    await ctx.set_state(None)
    question = await ask(
        ctx.uow, ctx.clock, ctx.require(), ctx.event.text, ctx.policy.question_minutes
    )
    ctx.say("question.sent", number=question.number)


async def ask_answer(ctx: Context, question_id: int) -> None:
    """Ask the worker to type the answer to the question."""
    ctx.require()
    question = await ctx.uow.questions.get(question_id)
    if question is None:
        ctx.answer("error.stale", alert=True)
        return
    ctx.answer()
    if question.answered_at is not None:
        ctx.clear_buttons()
        ctx.say("question.already_answered", number=question.number)
        return
    await ctx.set_state(ChatState(Step.QUESTION_ANSWER, {"question_id": question_id}))
    ctx.say("question.ask_answer", number=question.number, text=question.text)


async def answer_given(ctx: Context) -> None:
    """Send the worker's answer to the resident."""
    state = ctx.state
    assert state is not None
    if not ctx.event.text or ctx.event.command:
        ctx.say("question.need_text")
        return
    await ctx.set_state(None)
    question = await answer(
        ctx.uow, ctx.clock, ctx.require(), int(state.data["question_id"]), ctx.event.text
    )
    ctx.say("question.answer_sent", number=question.number)
