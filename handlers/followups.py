"""What the timers start in chat: follow-up answers, visit logs, and supervisors' /stats."""

from __future__ import annotations

from handlers.context import Context, is_id
from handlers.events import Button, rows
from workflows.digests import send_stats
from workflows.errors import InvalidInput
from workflows.model import Action, ChatState, VisitOutcome
from workflows.orders import (
    OrderDraft,
    answer_followup,
    pending_followup,
    place_for_household,
    reopen_after_followup,
)
from workflows.visits import log_visit, needing_help
from workflows.vocabulary import Step, Verb


async def followup_fixed(ctx: Context, order_id: int) -> None:
    """Thank the resident: the fix held."""
    await answer_followup(ctx.uow, ctx.clock, ctx.require(), order_id, fixed=True)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("followup.thanks")


async def followup_unsure(ctx: Context, order_id: int) -> None:
    """Thank the resident and say how to come back if it breaks."""
    await answer_followup(ctx.uow, ctx.clock, ctx.require(), order_id, fixed=False)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("followup.unsure")


async def followup_broken(ctx: Context, order_id: int) -> None:
    """Ask what is wrong again; the answer reopens the order to the same worker."""
    await pending_followup(ctx.uow, ctx.require(), order_id)
    await ctx.set_state(ChatState(Step.FOLLOWUP, {"order_id": order_id}))
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("followup.ask_reason")


async def followup_reason(ctx: Context) -> None:
    """Reopen the order with what the resident says is wrong."""
    given = await ctx.answered_text("followup.need_text")
    if given is None:
        return
    order = await reopen_after_followup(ctx.uow, ctx.clock, ctx.require(), *given)
    ctx.say("followup.reopened", number=order.number)


async def visited(ctx: Context, visit_id: int) -> None:
    """Log the visit as made and ask for its note."""
    await log_visit(ctx.uow, ctx.clock, ctx.require(), visit_id, VisitOutcome.VISITED)
    ctx.answer()
    ctx.clear_buttons()
    # rounds (issue 17): the visit's note (民情日志) and a photo are asked next (optional).
    await ctx.set_state(ChatState(Step.VISIT_NOTE, {"visit_id": visit_id}))
    ctx.say("round.logged_ask_note")


async def not_home(ctx: Context, visit_id: int) -> None:
    """Log that nobody was at home."""
    await log_visit(ctx.uow, ctx.clock, ctx.require(), visit_id, VisitOutcome.NOT_HOME)
    ctx.answer()
    ctx.clear_buttons()
    # rounds (issue 17): a note may still say why (邻居说住院了).
    ctx.say("visit.logged_not_home", ctx.action_buttons((Action.of(Verb.VISIT_NOTE, visit_id),)))


async def needs_help(ctx: Context, visit_id: int) -> None:
    """Log that the household needs help and ask which kind, to open an order for it."""
    await log_visit(ctx.uow, ctx.clock, ctx.require(), visit_id, VisitOutcome.NEEDS_HELP)
    categories = await ctx.uow.categories.list()
    buttons = [
        Button(c.names.pick(ctx.lang), Verb.HELP_CATEGORY.data(visit_id, c.id)) for c in categories
    ]
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("visit.ask_category", rows(buttons, 2))


async def help_category(ctx: Context, visit_id: int, category_id: str) -> None:
    """Keep the category and ask what help the household needs."""
    await needing_help(ctx.uow, ctx.require(), visit_id)
    category = await ctx.uow.categories.get(int(category_id)) if is_id(category_id) else None
    if category is None:
        raise InvalidInput(reason="category")
    await ctx.set_state(
        ChatState(Step.VISIT_HELP, {"visit_id": visit_id, "category_id": category.id})
    )
    ctx.answer()
    ctx.clear_buttons(ctx.t("new.category_chosen", category=category.names.pick(ctx.lang)))
    ctx.say("visit.ask_help", category=category.names.pick(ctx.lang))


async def help_given(ctx: Context) -> None:
    """Open the order on the household's behalf through the normal routing."""
    state = ctx.state
    assert state is not None
    if not ctx.event.text or ctx.event.command:
        ctx.say("visit.need_text")
        return
    await ctx.set_state(None)
    draft = OrderDraft(int(state.data["category_id"]), ctx.event.text)
    order = await place_for_household(
        ctx.uow, ctx.clock, ctx.require(), int(state.data["visit_id"]), draft
    )
    ctx.say("visit.order_placed", number=order.number, status=order.status.value)


async def stats(ctx: Context) -> None:
    """Send a supervisor today's figures and the 14-day chart; others are told politely no."""
    await send_stats(ctx.uow, ctx.clock, ctx.policy, ctx.require())
