"""The vocabulary keeps what is stored: callback data and outbox buttons written before it."""

from __future__ import annotations

from handlers.render import action_from_json, callback_data
from workflows.model import Action
from workflows.vocabulary import Target, Verb


def test_buttons_carry_the_same_data_as_before() -> None:
    assert callback_data(Action.of(Verb.ACCEPT, 5)) == "acc:5"
    assert callback_data(Action.of(Verb.RATE, 5, arg="3", label="btn.star3")) == "rate:5:3"
    assert Verb.BUILDINGS_PAGE.data(7, 2) == "bp:7:2"


def test_an_outbox_button_written_with_order_id_still_reads() -> None:
    old = {"label": "btn.visited", "verb": "vv", "order_id": 9, "arg": None, "params": {}}
    new = {"label": "btn.visited", "verb": "vv", "target_id": 9, "arg": None, "params": {}}
    assert action_from_json(old) == action_from_json(new) == Action.of(Verb.VISITED, 9)
    assert Verb.VISITED.target == Target.VISIT


def test_an_unknown_code_is_no_verb() -> None:
    assert Verb.parse("acc") == Verb.ACCEPT
    assert Verb.parse("zzz") is None
