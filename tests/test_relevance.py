"""The "nothing relevant" bar (bot/retrieval/query.py Relevance): names' and synonyms' added wording is
searched and counted."""

from __future__ import annotations

import dataclasses

from bot.retrieval.query import Relevance, analyse
from bot.retrieval.understanding import QueryUnderstanding

def test_synonyms_are_searched_without_shorthand_in_the_question():
    terms = analyse("kết nạp đảng cần điều kiện gì", QueryUnderstanding.load())
    assert "vao_dang" in terms.added_folded  # "vào Đảng", searched at expansion_weight
    assert not terms.changed  # nothing rewritten: no "Hiểu câu hỏi là"


def test_a_passage_with_a_names_wording_covers_the_name():
    terms = analyse("27 biểu hiện là những gì", QueryUnderstanding.load())
    assert terms.alternatives and "27" not in terms.added_folded
    passage = ("Nghị quyết Trung ương 4 khóa XII chỉ ra 27 biểu hiện suy thoái về tư tưởng chính trị, đạo đức, "
               "lối sống, tự diễn biến, tự chuyển hóa trong nội bộ")
    other = "Hội nghị đã nêu một số hạn chế trong công tác tuyên truyền và đề ra nhiệm vụ năm tới"
    texts = [passage.replace("27 ", ""), other]  # the name's wording, without the words typed
    relevance = Relevance(lambda token: 1.0, texts.__getitem__)
    plain = dataclasses.replace(terms, alternatives=())
    assert relevance(terms, 0) > relevance(plain, 0)
    assert relevance(terms, 0) >= 0.3 > relevance(terms, 1)
