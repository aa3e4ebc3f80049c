"""Cards with buttons about an order, and taking them back once their buttons are spent.

Every message whose buttons act on an order carries a ref saying what it is: an offer of the
order (task offers, pool cards), the working card of the task, or the resident's own card of
the order (/my). When the order moves so that those buttons mean nothing any more, every copy
is taken back: the unsent ones are dropped, the sent ones edited to lose their buttons.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from workflows.model import EDIT_KEY, Action, Notice, Order, OrderStatus
from workflows.ports import UnitOfWork

TAKEN_KEY = "card.taken"  # what a pool card says once someone else claimed the wish


class Card(enum.StrEnum):
    """What a message with buttons about an order is."""

    OFFER = "offer"  # the order offered to someone: accept / decline, or claim from the pool
    TASK = "task"  # the working card of a taken task: on my way, note, resolve, escalate
    ORDER = "order"  # the resident's card of their order: add information, cancel, confirm
    QUEUE = "queue"  # a dispatcher's card of a queued order: hand it to someone
    EXTEND = "extend"  # moves (issue 15): a 延期 request to approve or refuse

    def ref(self, order_id: int) -> str:
        """Return the ref of this kind of card for an order, as the outbox keeps it."""
        return f"{self.value}:{order_id}"


# Which cards an order's new status makes meaningless (when the status or the holder changed).
SPENT_BY: dict[OrderStatus, tuple[Card, ...]] = {
    OrderStatus.QUEUED: (Card.OFFER, Card.TASK),
    OrderStatus.OFFERED: (Card.OFFER, Card.TASK, Card.QUEUE),
    OrderStatus.POOL: (Card.OFFER, Card.TASK, Card.QUEUE),
    OrderStatus.ACCEPTED: (Card.OFFER, Card.QUEUE),
    OrderStatus.ON_WAY: (Card.OFFER, Card.QUEUE),
    OrderStatus.RESOLVED: (Card.OFFER, Card.TASK, Card.QUEUE),
    OrderStatus.CLOSED: (Card.OFFER, Card.TASK, Card.ORDER, Card.QUEUE),
    OrderStatus.CANCELLED: (Card.OFFER, Card.TASK, Card.ORDER, Card.QUEUE),
    # moves (issue 15): a paused task's working card is spent; a new one comes on resume.
    OrderStatus.PAUSED: (Card.OFFER, Card.TASK, Card.QUEUE, Card.EXTEND),
}


async def withdraw_cards(
    uow: UnitOfWork,
    refs: Sequence[str],
    *,
    except_person: int | None = None,
    key: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> int:
    """Take back every copy of the cards: drop the unsent ones, strip the sent ones' buttons.

    With `key`, a sent copy's text becomes that catalog text (in its reader's language, with
    `params`); without it the text stays. Returns how many sent copies are edited. It is part
    of the change that spent the buttons, in the same transaction.
    """
    copies = await uow.outbox.take_back(refs, except_person=except_person)
    for copy in copies:
        edit: dict[str, Any] = {"message_id": copy.message_id, "text": None, "buttons": []}
        if key is not None:
            edit.update(text_key=key, text_params=dict(params or {}))
        await uow.outbox.add(Notice(copy.person_id, EDIT_KEY, edit))
    return len(copies)


async def retire_spent_cards(
    uow: UnitOfWork, before: Order, after: Order, actor_id: int | None
) -> None:
    """Take back the cards an order's move made meaningless, every copy of them.

    Called for every move. A move that keeps the status and the holder spends nothing; a claim
    tells the other volunteers that someone else took the wish (the taker's own copies only
    lose their buttons, as the card they pressed does).
    """
    if before.status == after.status and before.assignee_id == after.assignee_id:
        return
    if before.version == 0:
        return  # a new order's first move (routing it): no card about it was made before
    taken = before.status in (OrderStatus.OFFERED, OrderStatus.POOL) and after.status in (
        OrderStatus.ACCEPTED,
        OrderStatus.ON_WAY,
    )
    spent = SPENT_BY[after.status]
    refs = [card.ref(after.id) for card in spent]
    if Card.OFFER in spent and taken and actor_id is not None:
        # The taker's own offer becomes their working card, edited in place (show_card).
        refs.remove(Card.OFFER.ref(after.id))
        if before.status != OrderStatus.POOL:
            await withdraw_cards(uow, [Card.OFFER.ref(after.id)], except_person=actor_id)
    if Card.OFFER in spent and taken and before.status == OrderStatus.POOL:
        await withdraw_cards(
            uow,
            [Card.OFFER.ref(after.id)],
            except_person=actor_id,
            key=TAKEN_KEY,
            params={"number": after.number},
        )
    await withdraw_cards(uow, refs)  # one read for them all


async def show_card(
    uow: UnitOfWork,
    person_id: int,
    order_id: int,
    key: str,
    params: Mapping[str, Any],
    actions: Sequence[Action] = (),
    *,
    live: bool = True,
) -> None:
    """Show a worker the one card of their task: edit the card they hold, else send it.

    The card they were offered (or the working card) is edited in place with this text and
    these buttons, so there is one message per task and never an old one with live buttons.
    With `live` False the card is final: it keeps no ref and is found no more. When no copy
    was sent yet (it is still in the outbox), the card is sent anew.
    """
    ref = Card.TASK.ref(order_id)
    copies = await uow.outbox.take_back([Card.OFFER.ref(order_id), ref])
    mine = [c for c in copies if c.person_id == person_id]
    for copy in copies:
        if copy.person_id != person_id:  # someone else's copy: its buttons go
            edit: dict[str, Any] = {"message_id": copy.message_id, "text": None, "buttons": []}
            await uow.outbox.add(Notice(copy.person_id, EDIT_KEY, edit))
    if not mine:
        if live:
            await uow.outbox.add(Notice(person_id, key, dict(params), tuple(actions), ref=ref))
        return
    for copy in mine:
        edit = {
            "message_id": copy.message_id,
            "text": None,
            "buttons": [],
            "text_key": key,
            "text_params": dict(params),
        }
        await uow.outbox.add(
            Notice(
                person_id,
                EDIT_KEY,
                edit,
                tuple(actions) if live else (),
                ref=ref if live else None,
            )
        )
