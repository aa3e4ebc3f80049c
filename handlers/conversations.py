"""The one entry point: route an event to its conversation step; turn errors into replies."""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from time import monotonic
from typing import Any

from handlers import (
    behalf,
    console,
    followups,
    groups,
    infoask,
    intake,
    lookup,
    moves,
    notices,
    ordering,
    privacy,
    publicity,
    questions,
    registration,
    rounds,
    tasks,
)
from handlers.context import Context, Links, is_id
from handlers.events import Answer, Edit, Incoming, Reply, Send, Unreadable
from handlers.menus import MENU_COMMANDS, menu_pressed
from handlers.render import edit_notice, reply_notice
from handlers.texts import Texts
from workflows.errors import DomainError, InvalidInput, OrderAlreadyTaken
from workflows.groups import WORDS_PREFIX as GROUP_WORDS
from workflows.model import ChatState, Person
from workflows.orders import DEFAULT_LIMITS, Limits
from workflows.people import back_in_touch, language_of
from workflows.ports import Clock, UpdateUnitOfWork
from workflows.text import has_visible, normalise
from workflows.timers import TimerPolicy
from workflows.vocabulary import Step, Verb

log = logging.getLogger(__name__)

UnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[UpdateUnitOfWork]]
Handler = Callable[..., Awaitable[None]]
MAX_TEXT = 4000
GROUP_TYPES = ("group", "supergroup")
FLOOD_WINDOW = 60.0  # seconds

# command → step; each takes only the context.
COMMANDS: dict[str, Handler] = {
    "start": registration.start,
    "new": ordering.new_order,
    "my": ordering.my_orders,
    "lang": registration.choose_language,
    "tasks": tasks.my_tasks,
    "pool": tasks.open_pool,
    "queue": tasks.queue,
    "forget": privacy.ask_forget,
    "stats": followups.stats,
    "order": lookup.order_command,
    "merge": moves.merge,  # moves (issue 15)
    "behalf": behalf.start,  # behalf (issue 16): staff order on someone's behalf
    "ask": questions.start,  # behalf (issue 16): a question (咨询)
    "round": rounds.show_round,  # rounds (issue 17): this month's round of visits
    "team": publicity.team,  # publicity (issue 17): a team leader's view of the team's work
    "summary": publicity.summary,  # publicity (issue 17): preview the monthly summary
    "notice": notices.start,  # notices (issue 17): staff write a notice (通知)
    "notices": notices.list_sent,  # and see how their latest ones went
    "console": console.console_command,  # console (issue 18): a login link to the web console
}
# button verb → (step, how many id arguments, whether a trailing text argument follows).
CALLBACKS: dict[Verb, tuple[Handler, int, bool]] = {
    Verb.COMMUNITY: (registration.choose_community, 1, False),
    Verb.BUILDING: (registration.choose_building, 1, False),
    Verb.UNIT: (registration.choose_unit, 1, False),
    Verb.ROOM: (registration.choose_room, 1, False),
    Verb.ROOMS_PAGE: (registration.turn_rooms, 2, False),
    Verb.COMMUNITIES_PAGE: (registration.turn_communities, 1, False),
    Verb.BUILDINGS_PAGE: (registration.turn_buildings, 2, False),
    Verb.UNITS_PAGE: (registration.turn_units, 2, False),
    Verb.LANGUAGE: (registration.language_chosen, 0, True),
    Verb.CATEGORY: (ordering.category_chosen, 1, False),
    Verb.MEDIA_DONE: (ordering.media_done, 0, False),
    Verb.URGENCY: (ordering.urgency_chosen, 0, True),
    Verb.DRAFT_OK: (ordering.confirmed, 0, False),
    Verb.DRAFT_CANCEL: (ordering.draft_cancelled, 0, False),
    Verb.CANCEL: (ordering.ask_cancel, 1, False),
    Verb.CANCEL_CONFIRMED: (ordering.cancel_confirmed, 1, False),
    Verb.ADD_INFO: (ordering.ask_info, 1, False),
    Verb.SATISFIED: (ordering.satisfied, 1, False),
    Verb.NOT_SATISFIED: (ordering.not_satisfied, 1, False),
    Verb.RATE: (ordering.rated, 1, True),
    Verb.SKIP_COMMENT: (ordering.comment_skipped, 1, False),
    Verb.ACCEPT: (tasks.accept, 1, False),
    Verb.CLAIM: (tasks.claim, 1, False),
    Verb.ON_WAY: (tasks.on_way, 1, False),
    Verb.HAND_OVER: (tasks.hand_over, 1, True),
    Verb.FORGET: (privacy.forget_confirmed, 0, False),
    Verb.FOLLOWUP_FIXED: (followups.followup_fixed, 1, False),
    Verb.FOLLOWUP_BROKEN: (followups.followup_broken, 1, False),
    Verb.FOLLOWUP_UNSURE: (followups.followup_unsure, 1, False),
    Verb.VISITED: (followups.visited, 1, False),
    Verb.NOT_HOME: (followups.not_home, 1, False),
    Verb.NEEDS_HELP: (followups.needs_help, 1, False),
    Verb.HELP_CATEGORY: (followups.help_category, 1, True),
    # Supervision (issue 15).
    Verb.LOOKUP: (lookup.view, 1, True),
    Verb.CHASE: (lookup.chase_tapped, 1, False),
    Verb.REASSIGN: (lookup.reassign_tapped, 1, False),
    Verb.REASSIGN_TO: (lookup.reassign_picked, 1, True),
    Verb.SUPERVISE_ESCALATE: (lookup.escalate_tapped, 1, False),
    Verb.STAFF_NOTE: (lookup.note_tapped, 1, False),
    # moves (issue 15)
    Verb.EXTEND: (moves.ask_extend, 1, False),
    Verb.EXTEND_BY: (moves.extend_by, 1, True),
    Verb.EXTEND_OK: (moves.approve_extension, 1, False),
    Verb.EXTEND_NO: (moves.refuse_extension, 1, False),
    Verb.PAUSE: (moves.ask_pause, 1, False),
    Verb.PAUSE_FOR: (moves.pause_for, 1, True),
    Verb.RESUME: (moves.resume_now, 1, False),
    Verb.TRANSFER: (moves.ask_transfer, 1, False),
    Verb.TRANSFER_TO: (moves.transfer_to, 1, True),
    Verb.RETURN: (moves.ask_return, 1, False),
    Verb.DUP_SAME: (moves.same_thing, 1, False),
    Verb.DUP_NEW: (ordering.place_anyway, 0, False),
    Verb.FOLLOWER_OK: (moves.follower_fixed, 1, False),
    Verb.FOLLOWER_BAD: (moves.follower_not_fixed, 1, False),
    # behalf (issue 16)
    Verb.BEHALF_HOUSEHOLD: (behalf.household_chosen, 1, False),
    Verb.BEHALF_PLACE: (behalf.place_chosen, 1, False),
    Verb.BEHALF_CHANNEL: (behalf.channel_chosen, 1, True),
    Verb.PROXY_INVITE: (behalf.family_invited, 1, False),
    Verb.QUESTION_ANSWER: (questions.ask_answer, 1, False),
    # behalf2 (issue 16): a building's public area
    Verb.BEHALF_BUILDING: (behalf.building_chosen, 1, False),
    Verb.BEHALF_AREA: (behalf.area_chosen, 1, False),
    # infoask (issue 15)
    Verb.ASK_RESIDENT: (infoask.ask_question, 1, False),
    Verb.RESIDENT_REPLY: (infoask.ask_answer, 1, False),
    # rounds (issue 17)
    Verb.ROUND_PAGE: (rounds.turn_round, 1, False),
    Verb.ROUND_HOUSEHOLD: (rounds.household_card, 1, False),
    Verb.ROUND_LOG: (rounds.start_log, 1, False),
    Verb.VISIT_NOTE: (rounds.ask_note, 1, False),
    Verb.VISIT_PROBLEM: (rounds.problem, 1, False),
    Verb.PROBLEM_CATEGORY: (rounds.problem_category, 1, True),
    Verb.KEY_MARK: (rounds.mark_key, 1, False),
    Verb.KEY_EVERY: (rounds.cadence_chosen, 1, True),
    Verb.KEY_APPROVE: (rounds.approve_key, 1, False),
    Verb.KEY_REFUSE: (rounds.refuse_key, 1, False),
    Verb.ROUND_VISITED: (rounds.turn_visited, 1, False),
    # publicity (issue 17)
    Verb.PUBLISH_YES: (publicity.consent_given, 1, False),
    Verb.PUBLISH_NO: (publicity.consent_refused, 1, False),
    Verb.TIME_SPENT: (publicity.time_chosen, 1, True),
    # notices (issue 17)
    Verb.NOTICE_PLACE: (notices.place_tapped, 1, True),
    Verb.NOTICE_PAGE: (notices.page_turned, 2, False),
    Verb.NOTICE_AUDIENCE: (notices.audience_chosen, 0, True),
    Verb.NOTICE_URGENCY: (notices.urgency_chosen, 0, True),
    Verb.NOTICE_SEND: (notices.send_tapped, 0, False),
    Verb.NOTICE_DROP: (notices.drop_tapped, 0, False),
    Verb.NOTICE_APPROVE: (notices.approve, 1, False),
    Verb.NOTICE_REFUSE: (notices.refuse, 1, False),
    Verb.NOTICE_OFF: (notices.turn_off, 1, False),
    Verb.NOTICE_ON: (notices.turn_on, 1, False),
}
# conversation state → the step that takes the person's next message.
STATES: dict[Step, Handler] = {
    Step.NEW: ordering.draft_input,
    Step.PHONE: intake.phone_given,
    Step.INFO: ordering.info_given,
    Step.REOPEN: ordering.reopen_reason,
    Step.COMMENT: ordering.comment_given,
    Step.DECLINE: tasks.text_given,
    Step.NOTE: tasks.text_given,
    Step.RESOLVE: tasks.text_given,
    Step.ESCALATE: tasks.text_given,
    Step.FOLLOWUP: followups.followup_reason,
    Step.VISIT_HELP: followups.help_given,
    # Supervision (issue 15).
    Step.STAFF_NOTE: lookup.text_given,
    Step.REASSIGN: lookup.text_given,
    Step.SUPERVISE_ESCALATE: lookup.text_given,
    # moves (issue 15)
    Step.EXTEND_DATE: moves.date_given,
    Step.EXTEND_REASON: moves.reason_given,
    Step.PAUSE_DATE: moves.date_given,
    Step.PAUSE_REASON: moves.reason_given,
    Step.TRANSFER_REASON: moves.reason_given,
    Step.RETURN_REASON: moves.reason_given,
    Step.BEHALF: behalf.where_given,
    Step.BEHALF_CONTACT: behalf.contact_given,
    Step.QUESTION: questions.question_given,
    Step.QUESTION_ANSWER: questions.answer_given,
    # infoask (issue 15)
    Step.ASK_RESIDENT: infoask.question_given,
    Step.RESIDENT_ANSWER: infoask.answer_given,
    # rounds (issue 17)
    Step.VISIT_NOTE: rounds.note_given,
    Step.KEY_REASON: rounds.reason_given,
    Step.TIME_SPENT: publicity.minutes_given,  # publicity (issue 17)
    Step.NOTICE_TEXT: notices.text_given,  # notices (issue 17)
}


def arrived(event: Incoming) -> Incoming:
    """Return the event with everything the person typed normalised (workflows.text.normalise).

    This is the one place input is cleaned, for every channel: text a reader would not see
    counts as empty, and no NUL or bidi override gets any further.
    """
    text = None if event.text is None else normalise(event.text)
    if text is not None and not has_visible(text):
        text = ""
    return dataclasses.replace(
        event,
        text=text,
        first_name=normalise(event.first_name),
        last_name=None if event.last_name is None else normalise(event.last_name),
        contact_phone=None if event.contact_phone is None else normalise(event.contact_phone),
    )


class Conversations:
    """Turns one incoming event into workflow calls and the replies to send."""

    def __init__(
        self,
        units_of_work: UnitOfWorkFactory,
        clock: Clock,
        texts: Texts,
        *,
        default_language: str = "zh",
        links: Links | None = None,
        limits: Limits = DEFAULT_LIMITS,
        policy: TimerPolicy | None = None,
    ) -> None:
        self.units_of_work = units_of_work
        self.clock = clock
        self.texts = texts
        self.default_language = default_language
        self.links = links or Links()
        self.limits = limits
        self.policy = policy or TimerPolicy()
        self._recent: dict[int, deque[float]] = {}  # per person: when their last messages came

    async def handle(self, event: Incoming | Unreadable) -> list[Reply]:
        """Handle an event once: its effects, its record and its messages commit together.

        This is the update's entry point and its only commit: the steps and the workflows they
        call stage changes (the chat state too, see Context.set_state) in one unit of work.

        Returns what to do at once (answer the button, edit a card, set a menu); messages to
        registered people go through the outbox, so a crash after the commit loses none. A
        redelivered update returns nothing and changes nothing.
        """
        if isinstance(event, Unreadable):
            return await self.unreadable(event)
        event = arrived(event)
        async with self.units_of_work() as uow:
            if not await uow.updates.first_time(event.update_id, self.clock.now()):
                return []
            if self._flooding(event):
                return self._slow_down(event)
            person = await uow.people.by_telegram(event.user_id)
            ctx = self._context(event, uow, person, await uow.chats.get(event.user_id))
            try:
                await self._route(ctx)
            except DomainError as error:
                await self._start_over(uow, event)
                self._refuse(ctx, error)
            except Exception:
                log.exception("update %s failed", event.update_id)
                await self._start_over(uow, event)
                ctx.replies = [r for r in ctx.replies if isinstance(r, Answer)]
                if event.callback_id and not ctx.answered:
                    ctx.answer("error.internal", alert=True)
                else:
                    ctx.say("error.internal")
            ctx.answer()  # every button press is answered, even when nothing else is said
            if person is not None:
                await back_in_touch(uow, person)  # whoever writes to the bot can be reached
            now = await self._queue_messages(ctx)
            await uow.commit()  # the one commit of the update
            return now

    async def unreadable(self, update: Unreadable) -> list[Reply]:
        """Record an update the library could not read, once, and ask the person to try again.

        The person is answered in their private chat when the raw update names it, and a button
        press is answered (its spinner stops); nothing else happens.
        """
        async with self.units_of_work() as uow:
            if not await uow.updates.first_time(update.update_id, self.clock.now()):
                return []
            who = update.user_id
            person = None if who is None else await uow.people.by_telegram(who)
            event = Incoming(
                update_id=update.update_id,
                user_id=who or update.chat_id or 0,
                chat_id=update.chat_id or 0,
                first_name="",
                language_code=update.language_code,
                callback_id=update.callback_id,
            )
            ctx = self._context(event, uow, person, None)
            if update.chat_id is None:  # no chat to write to: only a button's spinner to stop
                ctx.answer("error.unreadable", alert=True)
                await uow.commit()
                return ctx.replies
            ctx.answer()
            ctx.say("error.unreadable")
            now = await self._queue_messages(ctx)
            await uow.commit()
            return now

    def _context(
        self,
        event: Incoming,
        uow: UpdateUnitOfWork,
        person: Person | None,
        state: ChatState | None,
    ) -> Context:
        """Return the context of one event: the person's language, or their Telegram one."""
        lang = person.lang if person else language_of(event.language_code, self.default_language)
        return Context(
            event=event,
            uow=uow,
            clock=self.clock,
            texts=self.texts,
            lang=lang,
            person=person,
            state=state,
            links=self.links,
            limits=self.limits,
            policy=self.policy,
        )

    def _flooding(self, event: Incoming) -> bool:
        """Return whether the person sent more than the per-minute limit (counted here)."""
        now = monotonic()
        recent = self._recent.setdefault(event.user_id, deque())
        while recent and now - recent[0] > FLOOD_WINDOW:
            recent.popleft()
        recent.append(now)
        return len(recent) > self.limits.messages_per_minute

    def _slow_down(self, event: Incoming) -> list[Reply]:
        """Ask a flooding person to slow down, once per window; nothing else happens."""
        recent = self._recent[event.user_id]
        lang = language_of(event.language_code, self.default_language)
        text = self.texts(lang, "hint.slow_down")
        replies: list[Reply] = []
        if event.callback_id:
            replies.append(Answer(event.callback_id, text, alert=True))
        elif len(recent) == self.limits.messages_per_minute + 1:
            replies.append(Send(event.chat_id, text))
        return replies

    async def _start_over(self, uow: UpdateUnitOfWork, event: Incoming) -> None:
        """Throw away the update's effects, keeping the record that it was handled."""
        await uow.rollback()
        await uow.updates.first_time(event.update_id, self.clock.now())

    async def _queue_messages(self, ctx: Context) -> list[Reply]:
        """Put the messages and edits for a registered person in the outbox; return the rest."""
        person = ctx.person
        if person is None or person.telegram_id != ctx.event.chat_id:
            return ctx.replies  # a stranger: nothing of theirs to lose yet
        now: list[Reply] = []
        for reply in ctx.replies:
            if isinstance(reply, Send):
                await ctx.uow.outbox.add(reply_notice(person.id, reply))
            elif isinstance(reply, Edit):  # retried and kept in order with the chat's messages
                await ctx.uow.outbox.add(edit_notice(person.id, reply))
            else:
                now.append(reply)
        return now

    def _refuse(self, ctx: Context, error: DomainError) -> None:
        """Say politely why the request was refused."""
        key = (
            f"invalid.{error.params.get('reason')}"
            if isinstance(error, InvalidInput)
            else (error.key)
        )
        if ctx.event.callback_id and not ctx.answered:
            ctx.answer(key, alert=True, **error.params)
        else:
            ctx.say(key, **error.params)
        if isinstance(error, OrderAlreadyTaken):
            # A volunteer's card sent in the very instant the wish was claimed could not be
            # taken back (workflows/cards.py): it loses its button at this first tap.
            ctx.clear_buttons()

    async def _route(self, ctx: Context) -> None:
        event = ctx.event
        if event.chat_type != "private":
            # notices (issue 17): a grid's group; only what is meant for the bot is answered.
            if event.chat_type in GROUP_TYPES:
                await groups.in_group(ctx)
            elif event.command:
                ctx.say("hint.private_only")
            ctx.answer()
            return
        if event.callback_id is not None:
            await self._button(ctx, event.callback_data or "")
            return
        if event.text is not None and len(event.text) > MAX_TEXT:
            raise InvalidInput(reason="too_long", limit=MAX_TEXT)
        command = event.command
        if command is not None:
            await self._command(ctx, command)
            return
        menu = None if ctx.person is None else menu_pressed(self.texts, event.text)
        if menu is not None:  # a tap on the menu keyboard sends its text: matched exactly
            await self._menu(ctx, menu)
            return
        name = None if ctx.state is None else Step.parse(ctx.state.name)
        step = None if name is None else STATES.get(name)
        if step is not None:
            if event.other is not None or (event.clip is not None and name != Step.NEW):
                ctx.say("hint.unsupported_in_step")
                return
            await step(ctx)
            return
        if event.other is not None:
            ctx.say("hint.unsupported")
        else:
            await intake.free_words(ctx)  # offered back as a request, or kept till registered

    async def _command(self, ctx: Context, command: str) -> None:
        if command in ("cancel", "help"):
            if ctx.state is not None and (ctx.state.name != Step.KEPT or command == "cancel"):
                await ctx.set_state(None)
                registered = ctx.person is not None
                ctx.say("cancel.left", remove_keyboard=not registered, menu=registered)
            elif command == "cancel":
                ctx.say("cancel.nothing")
            if command == "help":
                await intake.show_help(ctx)
            return
        if command == "start" and ctx.event.args.startswith(GROUP_WORDS):
            if ctx.state is not None and ctx.state.name != Step.KEPT:
                await ctx.set_state(None)
            await groups.start_with_words(ctx)  # notices (issue 17): words said in a group
            return
        step = COMMANDS.get(command)
        if step is None and lookup.is_link(command):
            await lookup.order_link(ctx, command)
            return
        if step is None:
            ctx.say("hint.unknown_command", command=command[:32])
            return
        if ctx.state is not None and command != "lang" and ctx.state.name != Step.KEPT:
            await ctx.set_state(None)
        await step(ctx)

    async def _menu(self, ctx: Context, key: str) -> None:
        """Do what a menu button stands for: a command, asking a question, or a call-back."""
        command = MENU_COMMANDS.get(key)
        if command is not None:
            await self._command(ctx, command)
            return
        if ctx.state is not None:
            await ctx.set_state(None)
        if key == "menu.ask":
            await intake.ask(ctx)
        else:
            await intake.call_back(ctx)

    async def _button(self, ctx: Context, data: str) -> None:
        code, *args = data.split(":")
        verb = Verb.parse(code)
        if verb is None:  # a button of an older version, or data nobody sent
            ctx.answer("error.stale", alert=True)
            return
        if verb == Verb.NOOP:
            ctx.answer()
            ctx.clear_buttons()
            return
        if verb in tasks.ASKS_TEXT and len(args) == 1 and is_id(args[0]):
            await tasks.ask_text(ctx, verb, int(args[0]))
            return
        entry = CALLBACKS.get(verb)
        if entry is None:
            ctx.answer("error.stale", alert=True)
            return
        step, ids, trailing = entry
        if len(args) != ids + (1 if trailing else 0) or not all(is_id(a) for a in args[:ids]):
            ctx.answer("error.stale", alert=True)
            return
        values: list[Any] = [int(a) for a in args[:ids]]
        if trailing:
            values.append(args[ids][:32])
        await step(ctx, *values)
