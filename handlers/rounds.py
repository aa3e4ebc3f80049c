"""Rounds of visits (走访) in chat: the roster, a household's history, notes, key households."""

from __future__ import annotations

from typing import Any

from handlers.context import Context, is_id
from handlers.events import Button, rows
from workflows.errors import InvalidInput, StaleAction
from workflows.model import ChatState, Visit, VisitOutcome
from workflows.rounds import (
    CADENCES,
    AlreadyKey,
    RosterEntry,
    ask_key,
    decide_key,
    has_roster,
    history,
    log_round_visit,
    month_round,
    note_visit,
    noted_actions,
    on_roster,
    order_from_visit,
    problem_visit,
    reason_of,
)
from workflows.vocabulary import Step, Verb

PAGE = 40  # households per page of the roster: 20 rows of two, with room for the page buttons
OUTCOMES = {
    VisitOutcome.VISITED: "round.outcome_visited",
    VisitOutcome.NOT_HOME: "round.outcome_not_home",
    VisitOutcome.NEEDS_HELP: "round.outcome_needs_help",
}
SHOWN_NOTE = 200  # characters of each older note on a household's card


def _label(ctx: Context, entry: RosterEntry) -> str:
    building = entry.building.names.pick(ctx.lang)
    return f"{building}{entry.unit.names.pick(ctx.lang)} {entry.household.room}"


async def show_round(ctx: Context) -> None:
    """Show this month's round: visited of all, and the households not visited yet, paged."""
    await _round_page(ctx, 0, edit=False)


async def turn_round(ctx: Context, page: int) -> None:
    """Show another page of the households not visited yet."""
    await _round_page(ctx, page, edit=True)


async def turn_visited(ctx: Context, page: int) -> None:
    """Show a page of the households visited this month (to see their notes)."""
    await _round_page(ctx, page, edit=True, visited=True)


async def _round_page(ctx: Context, page: int, *, edit: bool, visited: bool = False) -> None:
    person = ctx.require()
    found = await month_round(ctx.uow, ctx.clock, ctx.policy, person)
    left = found.left
    listed = [e for e in found.entries if e.household.id in found.visited] if visited else left
    verb = Verb.ROUND_VISITED if visited else Verb.ROUND_PAGE
    pages = max(1, -(-len(listed) // PAGE))
    page = min(max(page, 0), pages - 1)
    shown = listed[page * PAGE : (page + 1) * PAGE]
    buttons = [Button(_label(ctx, e), Verb.ROUND_HOUSEHOLD.data(e.household.id)) for e in shown]
    keyboard = rows(buttons, 2)
    turns = []
    if page > 0:
        turns.append(ctx.button("round.btn_previous", verb.data(page - 1)))
    if page + 1 < pages:
        turns.append(ctx.button("round.btn_next", verb.data(page + 1)))
    if turns:
        keyboard = (*keyboard, tuple(turns))
    if visited and left:
        keyboard = (*keyboard, (ctx.button("round.btn_show_left", Verb.ROUND_PAGE.data(0)),))
    elif not visited and found.visited:
        other = ctx.button("round.btn_show_visited", Verb.ROUND_VISITED.data(0))
        keyboard = (*keyboard, (other,))
    key = "round.header_visited" if visited else "round.header" if left else "round.all_done"
    params: dict[str, Any] = {
        "month": found.month.strftime("%Y-%m"),
        "done": len(found.visited),
        "total": len(found.entries),
        "left": len(left),
        "page": page + 1,
        "pages": pages,
    }
    if not found.entries:
        ctx.answer()
        ctx.say("round.empty")
    elif edit:
        ctx.answer()
        ctx.edit_pressed(ctx.t(key, **params), keyboard)
    else:
        ctx.say(key, keyboard, **params)


def _history_line(ctx: Context, visit: Visit, name: str) -> str:
    note = visit.note or ""
    if len(note) > SHOWN_NOTE:
        note = note[:SHOWN_NOTE] + "…"
    when = visit.logged_at.astimezone(ctx.policy.zone) if visit.logged_at else None
    return ctx.t(
        "round.history_line",
        date=when.strftime("%m-%d") if when else "—",
        name=name,
        outcome=ctx.t(OUTCOMES[visit.outcome] if visit.outcome else "round.none"),
        note=note or "—",
        photo="📷" if visit.photo else "",
    )


async def household_card(ctx: Context, household_id: int) -> None:
    """Show a household on the roster: its key status, recent visits and notes, and buttons."""
    person = ctx.require()
    place = await on_roster(ctx.uow, person, household_id)
    visits = await history(ctx.uow, person, household_id)
    lines = []
    for visit in visits:
        visitor = await ctx.uow.people.get(visit.person_id)
        lines.append(_history_line(ctx, visit, visitor.name if visitor else "—"))
    key = await ctx.uow.visits.key_household(household_id)
    buttons = [ctx.verb_button(Verb.ROUND_LOG, household_id)]
    if key is None:
        buttons.append(ctx.verb_button(Verb.KEY_MARK, household_id))
    buttons.append(ctx.button("round.btn_back", Verb.ROUND_PAGE.data(0)))
    ctx.answer()
    ctx.say(
        "round.household",
        rows(buttons, 2),
        address=place.address(ctx.lang),
        key_line=(
            ctx.t("round.key_line", household_kind=key.kind, days=key.visit_every_days)
            if key
            else ""
        ),
        history="\n".join(lines) if lines else ctx.t("round.no_history"),
    )
    latest_photo = next((v for v in visits if v.photo), None)
    if latest_photo is not None and latest_photo.logged_at is not None:
        when = latest_photo.logged_at.astimezone(ctx.policy.zone).strftime("%m-%d")
        ctx.say("round.photo_caption", photo=latest_photo.photo, date=when)


async def start_log(ctx: Context, household_id: int) -> None:
    """Ask for the note of a visit made now to a household on the roster."""
    await on_roster(ctx.uow, ctx.require(), household_id)
    await ctx.set_state(ChatState(Step.VISIT_NOTE, {"household_id": household_id}))
    ctx.answer()
    ctx.say("round.ask_note")


async def ask_note(ctx: Context, visit_id: int) -> None:
    """Ask for the note of a visit already logged (from its task card)."""
    person = ctx.require()
    visit = await ctx.uow.visits.get(visit_id)
    if visit is None or visit.person_id != person.id or visit.logged_at is None:
        raise StaleAction(number="")
    await ctx.set_state(ChatState(Step.VISIT_NOTE, {"visit_id": visit_id}))
    ctx.answer()
    ctx.say("round.ask_note")


async def note_given(ctx: Context) -> None:
    """Keep the note (and a photo sent with it or before it); offer to report a problem."""
    state = ctx.state
    assert state is not None
    event = ctx.event
    if event.photo and not event.text:
        await ctx.set_state(ChatState(state.name, dict(state.data, photo=event.photo)))
        ctx.say("round.photo_kept")
        return
    if not event.text or event.command:
        ctx.say("round.need_note")
        return
    person = ctx.require()
    photo = event.photo or state.data.get("photo")
    await ctx.set_state(None)
    if "visit_id" in state.data:
        visit = await note_visit(ctx.uow, person, int(state.data["visit_id"]), event.text, photo)
    else:
        household_id = int(state.data["household_id"])
        visit = await log_round_visit(ctx.uow, ctx.clock, person, household_id, event.text, photo)
    found = (
        await month_round(ctx.uow, ctx.clock, ctx.policy, person) if has_roster(person) else None
    )
    ctx.say(
        "round.noted",
        ctx.action_buttons(noted_actions(visit.id), 1),
        progress=(
            ctx.t("round.progress", done=len(found.visited), total=len(found.entries))
            if found is not None and found.entries
            else ""
        ),
    )


async def problem(ctx: Context, visit_id: int) -> None:
    """Ask which category the problem found on the visit belongs to."""
    await problem_visit(ctx.uow, ctx.require(), visit_id)
    categories = await ctx.uow.categories.list()
    buttons = [
        Button(c.names.pick(ctx.lang), Verb.PROBLEM_CATEGORY.data(visit_id, c.id))
        for c in categories
    ]
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("round.ask_category", rows(buttons, 2))


async def problem_category(ctx: Context, visit_id: int, category_id: str) -> None:
    """Open the order for the household with the visit's note; it routes like any other."""
    if not is_id(category_id):
        raise InvalidInput(reason="category")
    order = await order_from_visit(ctx.uow, ctx.clock, ctx.require(), visit_id, int(category_id))
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("visit.order_placed", number=order.number, status=order.status.value)


async def mark_key(ctx: Context, household_id: int) -> None:
    """Ask why the household should be a key household."""
    await on_roster(ctx.uow, ctx.require(), household_id)
    if await ctx.uow.visits.key_household(household_id) is not None:
        raise AlreadyKey()
    await ctx.set_state(ChatState(Step.KEY_REASON, {"household_id": household_id}))
    ctx.answer()
    ctx.say("round.ask_reason")


async def reason_given(ctx: Context) -> None:
    """Keep the reason and ask how often the household should be visited."""
    state = ctx.state
    assert state is not None
    if not ctx.event.text or ctx.event.command:
        ctx.say("round.ask_reason")
        return
    reason = reason_of(ctx.event.text)
    household_id = int(state.data["household_id"])
    await ctx.set_state(
        ChatState(Step.KEY_REASON, {"household_id": household_id, "reason": reason})
    )
    buttons = [
        ctx.button("round.btn_days", Verb.KEY_EVERY.data(household_id, days), days=days)
        for days in CADENCES
    ]
    ctx.say("round.ask_cadence", rows(buttons, 3), reason=reason)


async def cadence_chosen(ctx: Context, household_id: int, days: str) -> None:
    """Send the request to the supervisors in scope; the staff member is told it went."""
    state = ctx.state
    if (
        state is None
        or Step.parse(state.name) != Step.KEY_REASON
        or state.data.get("household_id") != household_id
        or not state.data.get("reason")
        or not is_id(days)
    ):
        raise StaleAction(number="")
    await ask_key(
        ctx.uow, ctx.clock, ctx.require(), household_id, str(state.data["reason"]), int(days)
    )
    await ctx.set_state(None)
    ctx.answer()
    ctx.show_choice(ctx.t("round.btn_days", days=days))
    ctx.say("round.key_asked")


async def approve_key(ctx: Context, request_id: int) -> None:
    """Approve: the household becomes key and its liaison gets the first visit task."""
    await decide_key(ctx.uow, ctx.clock, ctx.policy, ctx.require(), request_id, approve=True)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("round.key_you_approved")


async def refuse_key(ctx: Context, request_id: int) -> None:
    """Refuse: the staff member who asked is told."""
    await decide_key(ctx.uow, ctx.clock, ctx.policy, ctx.require(), request_id, approve=False)
    ctx.answer()
    ctx.clear_buttons()
    ctx.say("round.key_you_refused")
