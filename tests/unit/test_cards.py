"""Cards whose buttons are spent are taken back from everyone who holds a copy."""

from __future__ import annotations

from tests.fakes import sample_world
from workflows.cards import TAKEN_KEY, Card, withdraw_cards
from workflows.dispatch import claim_from_pool
from workflows.model import EDIT_KEY
from workflows.orders import cancel_order


async def test_a_claim_tells_the_other_volunteers_their_card_was_taken() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.wishes)
    cards = {n.person_id: m for n, _, m in w.uow.sent.deliver() if n.key == "pool.new"}
    assert set(cards) == {org.volunteer1.id, org.volunteer2.id}

    await claim_from_pool(w.uow, w.clock, org.volunteer2, order.id)

    (edit,) = [n for n in w.uow.notices_for(org.volunteer1.id) if n.key == EDIT_KEY]
    assert edit.params["message_id"] == cards[org.volunteer1.id]
    assert edit.params["buttons"] == []
    assert (edit.params["text_key"], edit.params["text_params"]) == (
        TAKEN_KEY,
        {"number": order.number},
    )
    # The winner's own card becomes their working card, edited in place; never "taken".
    (own,) = [n for n in w.uow.notices_for(org.volunteer2.id) if n.key == EDIT_KEY]
    assert own.params["message_id"] == cards[org.volunteer2.id]
    assert own.params["text_key"] == "task.card" and own.actions


async def test_unsent_cards_are_dropped() -> None:
    w = sample_world()
    org = w.org
    order = await w.place(org.wishes)  # the pool cards are queued, none sent yet

    await cancel_order(w.uow, w.clock, org.resident, order.id)

    for volunteer in (org.volunteer1, org.volunteer2):
        assert "pool.new" not in w.uow.keys_for(volunteer.id)
        assert EDIT_KEY not in w.uow.keys_for(volunteer.id)
    assert await withdraw_cards(w.uow, [Card.OFFER.ref(order.id)]) == 0


async def test_a_sent_copy_is_edited_once() -> None:
    w = sample_world()
    order = await w.place(w.org.wishes)
    w.uow.sent.deliver()

    assert await withdraw_cards(w.uow, [Card.OFFER.ref(order.id)]) == 2
    assert await withdraw_cards(w.uow, [Card.OFFER.ref(order.id)]) == 0
