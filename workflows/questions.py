"""Questions (咨询): a resident asks, the household's grid worker answers in chat, on a clock.

A question is a light task, kept apart from orders (its own table): it has no category, no
dispatch, no states beyond asked and answered, so no order count, deadline or digest figure has
to leave it out. It has a response clock: a reminder to the worker when `remind_at` of the time
is gone, and the dispatcher is told when the time is up.
"""

from __future__ import annotations

from datetime import timedelta

from workflows.dispatch import dispatchers
from workflows.errors import NotAllowed, NotRegistered, StaleAction
from workflows.model import Action, Notice, Person, Question, Role
from workflows.orders import clean_text
from workflows.ports import Clock, UnitOfWork
from workflows.timers import Due, Effect, Moot, TimerPolicy
from workflows.vocabulary import TimerKind, Verb

MAX_QUESTION = 1000
MAX_ANSWER = 1000
# Who answers a household's questions, nearest first; the grid worker is the first choice.
ANSWERERS = (Role.GRID_WORKER, Role.BUILDING_HEAD, Role.COMMUNITY_CADRE)


async def ask(uow: UnitOfWork, clock: Clock, resident: Person, text: str, minutes: int) -> Question:
    """Record the question and send it to the household's grid worker, with a reply button."""
    if resident.household_id is None:
        raise NotRegistered()
    place = await uow.places.household_place(resident.household_id)
    if place is None:
        raise NotRegistered()
    words = clean_text(text, limit=MAX_QUESTION, minimum=2)
    answerer: Person | None = None
    for role in ANSWERERS:
        found = [
            p
            for p in await uow.people.with_role(role, place.scope_ids())
            if p.telegram_id is not None and p.reachable
        ]
        if found:
            answerer = found[0]
            break
    now = clock.now()
    question = await uow.questions.add(
        asker_id=resident.id,
        household_id=resident.household_id,
        community_id=place.community.id,
        assignee_id=None if answerer is None else answerer.id,
        text=words,
        asked_at=now,
        answer_due=now + timedelta(minutes=minutes),
    )
    params = {"number": question.number, "text": words, "address": place.address("zh")}
    if answerer is not None:
        await uow.outbox.add(
            Notice(
                answerer.id,
                "question.new",
                {**params, "address": place.address(answerer.lang)},
                (Action.of(Verb.QUESTION_ANSWER, question.id),),
            )
        )
    else:  # nobody to answer: the dispatcher sees it at once
        for dispatcher in await dispatchers(uow, place):
            await uow.outbox.add(Notice(dispatcher.id, "question.unassigned", params))
    return question


async def answer(
    uow: UnitOfWork, clock: Clock, worker: Person, question_id: int, text: str
) -> Question:
    """Record the worker's answer once and send it to the resident who asked."""
    question = await uow.questions.get(question_id)
    if question is None or question.assignee_id not in (worker.id, None):
        raise NotAllowed()
    if question.answered_at is not None:
        raise StaleAction(number=question.number)
    words = clean_text(text, limit=MAX_ANSWER)
    if not await uow.questions.answer(question.id, worker.id, words, clock.now()):
        raise StaleAction(number=question.number)
    await uow.outbox.add(
        Notice(
            question.asker_id,
            "question.answered",
            {
                "number": question.number,
                "text": question.text,
                "answer": words,
                "name": worker.name,
            },
        )
    )
    return question


async def questions_due(uow: UnitOfWork, clock: Clock, policy: TimerPolicy) -> list[Due]:
    """Find unanswered questions to remind their worker of, and those whose time is up."""
    now = clock.now()
    due: list[Due] = []
    for question in await uow.questions.unanswered():
        allowed = question.answer_due - question.asked_at
        remind = question.asked_at + allowed * policy.remind_at
        if now >= question.answer_due:
            effect = _breach(question.id)
            due.append(Due(TimerKind.QUESTION_BREACH, question.id, question.answer_due, effect))
        elif now >= remind:
            effect = _remind(question.id)
            due.append(Due(TimerKind.QUESTION_REMIND, question.id, question.answer_due, effect))
    return due


def _remind(question_id: int) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        question = await uow.questions.get(question_id)
        if question is None or question.answered_at is not None or question.assignee_id is None:
            raise Moot()
        await uow.outbox.add(
            Notice(
                question.assignee_id,
                "question.remind",
                {"number": question.number, "text": question.text},
                (Action.of(Verb.QUESTION_ANSWER, question.id),),
            )
        )

    return effect


def _breach(question_id: int) -> Effect:
    async def effect(uow: UnitOfWork) -> None:
        question = await uow.questions.get(question_id)
        if question is None or question.answered_at is not None:
            raise Moot()
        place = await uow.places.household_place(question.household_id)
        if place is None:
            raise Moot()
        holder = (
            None if question.assignee_id is None else await uow.people.get(question.assignee_id)
        )
        for dispatcher in await dispatchers(uow, place):
            await uow.outbox.add(
                Notice(
                    dispatcher.id,
                    "question.breach",
                    {
                        "number": question.number,
                        "text": question.text,
                        "name": holder.name if holder else "—",
                        "address": place.address(dispatcher.lang),
                    },
                )
            )

    return effect
