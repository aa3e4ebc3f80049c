"""Guessing a category from what a resident wrote freely (issue 16)."""

from __future__ import annotations

from dataclasses import replace

from tests.fakes import sample_world
from workflows.orders import CALL_BACK_CODE, guess_category


def test_the_category_whose_keywords_the_words_name_most_is_guessed() -> None:
    org = sample_world().org
    repairs = replace(org.repairs, keywords=("漏水", "水管", "leak"))
    wishes = replace(org.wishes, keywords=("想要", "心愿"))
    call_back = replace(org.repairs, id=999, code=CALL_BACK_CODE, keywords=("漏水", "水管", "电话"))
    categories = [call_back, wishes, repairs]
    assert guess_category(categories, "我家厨房水管漏水了，怎么办") == repairs
    assert guess_category(categories, "The kitchen pipe has a LEAK") == repairs
    assert guess_category(categories, "想要一副老花镜") == wishes
    assert guess_category(categories, "今天天气不错") is None
