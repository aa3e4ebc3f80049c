"""The /new draft kept in the chat state: a typed draft, stored as the dict it always was."""

from __future__ import annotations

from handlers.ordering import Draft, DraftStep
from workflows.model import Urgency


def test_a_draft_comes_back_from_the_chat_state_as_it_was_kept() -> None:
    draft = Draft(
        step=DraftStep.CONFIRM,
        category_id=3,
        description="厨房水龙头漏水",
        photos=("photo-1", "photo-2"),
        latitude=31.2,
        longitude=121.5,
        urgency=Urgency.URGENT,
    )
    assert Draft.from_dict(draft.to_dict()) == draft


def test_a_draft_saved_before_it_was_typed_still_reads() -> None:
    kept = {"step": "media", "category_id": "3", "description": "门锁坏了", "photos": ["p"]}
    draft = Draft.from_dict(kept)
    assert (draft.step, draft.category_id, draft.photos) == (DraftStep.MEDIA, 3, ("p",))
    assert draft.to_dict() == {**kept, "category_id": 3}
