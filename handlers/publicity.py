"""公示 and teams in chat: the resident's consent to publish, the resolver's time spent,
the monthly summary's preview (/summary) and a team leader's view of the team's work (/team)."""

from __future__ import annotations

from handlers.context import Context
from handlers.events import Keyboard, rows
from workflows.errors import InvalidInput
from workflows.model import ChatState, Order
from workflows.publicity import answer_consent, has_channel
from workflows.summary import preview_summary
from workflows.teams import MAX_MINUTES, TIME_CHOICES, led_teams, record_time_spent, team_work
from workflows.vocabulary import Step, Verb

TYPED = "t"  # the time-spent button that asks for typed minutes (其他)
SKIPPED = "s"
TEAM_SHOWN = 15  # lines of open and of done work /team lists


async def ask_consent(ctx: Context, order: Order) -> None:
    """Ask the resident once whether the order may be published with their words."""
    if not await has_channel(ctx.uow, order.id):
        return
    ctx.say(
        "pub.consent_ask",
        rows(
            [
                ctx.verb_button(Verb.PUBLISH_YES, order.id),
                ctx.verb_button(Verb.PUBLISH_NO, order.id),
            ],
            2,
        ),
        number=order.number,
    )


async def consent_given(ctx: Context, order_id: int) -> None:
    """Publish the order with the resident's words; thank them."""
    order = await answer_consent(ctx.uow, ctx.clock, ctx.require(), order_id, agreed=True)
    ctx.answer()
    ctx.show_choice(ctx.t("pub.btn_yes"))
    ctx.say("pub.consent_yes", number=order.number)


async def consent_refused(ctx: Context, order_id: int) -> None:
    """Publish the order without the resident's words; say so."""
    order = await answer_consent(ctx.uow, ctx.clock, ctx.require(), order_id, agreed=False)
    ctx.answer()
    ctx.show_choice(ctx.t("pub.btn_no"))
    ctx.say("pub.consent_no", number=order.number)


def time_buttons(ctx: Context, order_id: int) -> Keyboard:
    """Return 半小时 / 1小时 / 2小时 / 半天 / 其他 / 跳过 for the time spent on an order."""
    choices = [
        ctx.button(f"team.btn_time_{minutes}", Verb.TIME_SPENT.data(order_id, minutes))
        for minutes in TIME_CHOICES
    ]
    choices.append(ctx.button("team.btn_time_other", Verb.TIME_SPENT.data(order_id, TYPED)))
    choices.append(ctx.button("team.btn_time_skip", Verb.TIME_SPENT.data(order_id, SKIPPED)))
    return rows(choices, 3)


def ask_time_spent(ctx: Context, order: Order) -> None:
    """Ask the resolver how long the work took (for the service hours); they may skip."""
    ctx.say("team.ask_time", time_buttons(ctx, order.id), number=order.number)


async def time_chosen(ctx: Context, order_id: int, choice: str) -> None:
    """Keep the time tapped, ask for typed minutes, or skip."""
    if choice == SKIPPED:
        ctx.answer()
        ctx.clear_buttons()
        return
    if choice == TYPED:
        await ctx.set_state(ChatState(Step.TIME_SPENT, {"order_id": order_id}))
        ctx.answer()
        ctx.clear_buttons()
        ctx.say("team.ask_minutes")
        return
    if not choice.isdigit() or int(choice) not in TIME_CHOICES:
        raise InvalidInput(reason="expired")
    order = await record_time_spent(ctx.uow, ctx.require(), order_id, int(choice))
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("team.time_kept", number=order.number, minutes=int(choice))


async def minutes_given(ctx: Context) -> None:
    """Keep the minutes the resolver typed; ask again for anything else."""
    state = ctx.state
    assert state is not None
    text = (ctx.event.text or "").strip()
    if ctx.event.command:
        await ctx.set_state(None)
        ctx.say("team.time_skipped")
        return
    if not text.isdigit() or not 1 <= int(text) <= MAX_MINUTES:
        ctx.say("team.minutes_invalid", most=MAX_MINUTES)
        return
    await ctx.set_state(None)
    order = await record_time_spent(ctx.uow, ctx.require(), int(state.data["order_id"]), int(text))
    ctx.say("team.time_kept", number=order.number, minutes=int(text))


async def team(ctx: Context) -> None:
    """Show a team leader the team's open work and what it finished."""
    person = ctx.require()
    teams = await led_teams(ctx.uow, person)
    if not teams:
        ctx.say("team.not_leader")
        return
    for led in teams:
        open_work, done = await team_work(ctx.uow, led)
        lines = [ctx.t("team.header", team=led.names.pick(ctx.lang), members=len(led.member_ids))]
        lines.append(ctx.t("team.open_header", count=len(open_work)))
        lines += [
            ctx.t("team.line", number=order.number, name=member.name, status=order.status.value)
            for member, order in open_work[:TEAM_SHOWN]
        ]
        lines.append(ctx.t("team.done_header", count=len(done)))
        lines += [
            ctx.t("team.line", number=order.number, name=member.name, status=order.status.value)
            for member, order in done[:TEAM_SHOWN]
        ]
        ctx.say("team.report", text="\n".join(lines))


async def summary(ctx: Context) -> None:
    """Send staff in charge of a community the monthly summary of this month so far."""
    await preview_summary(ctx.uow, ctx.clock, ctx.policy, ctx.require())
    ctx.say("pub.summary_preview_coming")
