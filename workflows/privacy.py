"""A resident's right to be forgotten: their words and details go, the statistics stay."""

from __future__ import annotations

from workflows.errors import NotAllowed
from workflows.model import (
    OPEN_STATUSES,
    AuditEntry,
    Notice,
    Order,
    OrderChanges,
    OrderStatus,
    Person,
    Question,
    Traces,
)
from workflows.ports import Clock, UnitOfWork
from workflows.states import move
from workflows.vocabulary import Move

FORGOTTEN = "—"  # what stands where the name and the words were
# Timeline notes that are figures, not words: a rating's stars are kept for the statistics.
KEPT_NOTES = frozenset({Move.RATE})


async def forget_me(uow: UnitOfWork, clock: Clock, person: Person) -> int:
    """Erase a resident's personal data; open orders are cancelled, resolved ones closed.

    Orders keep their category, building, times, status and rating, so the figures stay true;
    what the resident wrote, their photos and location, name, phone, room and account are
    removed, from the orders, their timelines, the follow-up visits and every message.
    Staff are not forgotten here: their details come from the organisation file.
    """
    if person.is_staff:
        raise NotAllowed()
    orders = await uow.orders.of_resident(person.id, limit=10_000)
    # Their questions (咨询) go whole: a question is their words and their room, and nothing
    # else; the digests' question counts for past days lose them.
    questions = await uow.questions.forget_asker(person.id)
    # Messages first: what is still unsent about their orders is dropped, so the notices
    # below (which carry only the order's number) are the last word on them.
    traces = await _traces(uow, person, orders, questions)
    await uow.outbox.forget(traces, FORGOTTEN)
    for order in orders:
        if order.status in OPEN_STATUSES:
            moved = await move(
                uow,
                clock,
                order,
                Move.CANCEL,
                actor_id=person.id,
                note=None,
                changes=OrderChanges(assignee_id=None),
            )
            if order.assignee_id is not None:
                await uow.outbox.add(
                    Notice(order.assignee_id, "task.cancelled", {"number": moved.number})
                )
        elif order.status == OrderStatus.RESOLVED:
            await move(
                uow,
                clock,
                order,
                Move.CONFIRM,
                actor_id=person.id,
                changes=OrderChanges(closed_at=clock.now()),
            )
    forgotten = await uow.orders.scrub_resident(person.id, FORGOTTEN)
    await uow.visits.unlink_orders([o.id for o in orders])
    if person.telegram_id is not None:
        await uow.chats.put(person.telegram_id, None)
    await uow.people.forget(person.id, FORGOTTEN)
    await uow.audit.record(
        AuditEntry(
            clock.now(),
            "forget",
            None,
            "resident",
            f"person {person.id}",
            {"orders": forgotten, "questions": len(questions)},
        )
    )
    return forgotten


async def _traces(
    uow: UnitOfWork, person: Person, orders: list[Order], questions: list[Question]
) -> Traces:
    """Gather what of the resident messages may quote: name, phone, words, photos."""
    words = {person.name, person.phone or ""}
    words |= {q.text for q in questions} | {q.answer or "" for q in questions}
    for order in orders:
        words |= {order.description, order.comment or "", *order.photos}
        words |= {clip.file_id for clip in order.voices}
        for event in await uow.orders.events(order.id):
            if event.actor_id == person.id and event.action not in KEPT_NOTES:
                words |= {event.note or "", event.photo or ""}
    return Traces(
        person_id=person.id,
        chat_id=person.telegram_id,
        order_ids=frozenset(o.id for o in orders),
        # Blank and one-character strings would match everywhere; they say nothing of anyone.
        words=frozenset(w for w in words if len(w.strip()) > 1 and w != FORGOTTEN),
    )
