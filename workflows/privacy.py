"""A resident's right to be forgotten: their words and details go, the statistics stay."""

from __future__ import annotations

from workflows.errors import NotAllowed
from workflows.model import OPEN_STATUSES, AuditEntry, Notice, OrderStatus, Person
from workflows.ports import Clock, UnitOfWork
from workflows.states import move

FORGOTTEN = "—"  # what stands where the name and the words were


async def forget_me(uow: UnitOfWork, clock: Clock, person: Person) -> int:
    """Erase a resident's personal data; open orders are cancelled, resolved ones closed.

    Orders keep their category, place, times, status and rating, so the figures stay true;
    what the resident wrote, their photos and location, name, phone and account are removed.
    Staff are not forgotten here: their details come from the organisation file.
    """
    if person.is_staff:
        raise NotAllowed()
    for order in await uow.orders.of_resident(person.id, limit=10_000):
        if order.status in OPEN_STATUSES:
            moved = await move(
                uow, clock, order, "cancel", actor_id=person.id, note=None, assignee_id=None
            )
            if order.assignee_id is not None:
                await uow.outbox.add(
                    Notice(order.assignee_id, "task.cancelled", {"number": moved.number})
                )
        elif order.status == OrderStatus.RESOLVED:
            await move(uow, clock, order, "confirm", actor_id=person.id, closed_at=clock.now())
    forgotten = await uow.orders.scrub_resident(person.id, FORGOTTEN)
    if person.telegram_id is not None:
        await uow.chats.put(person.telegram_id, None)
    await uow.people.forget(person.id, FORGOTTEN)
    await uow.audit.record(
        AuditEntry(
            clock.now(), "forget", None, "resident", f"person {person.id}", {"orders": forgotten}
        )
    )
    await uow.commit()
    return forgotten
