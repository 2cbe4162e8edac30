"""The "nothing relevant" bar (bot/retrieval/query.py Relevance and Scaling): a long question whose right
passage covers a modest share of it is answered, off-topic questions are still refused, and names' and
synonyms' added wording is searched and counted."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bot.config import ConfigError, load_config
from bot.retrieval.query import Relevance, Scaling, analyse
from bot.retrieval.understanding import QueryUnderstanding
from bot.service.answering import AnswerService

from conftest import REPO

# 57 content words; the right passage (Chỉ thị 03-CT/TW, its purpose) holds about a fifth of them
LONG = ("Tôi đang viết bài thu hoạch cuối khóa bồi dưỡng lý luận chính trị ở trường chính trị tỉnh, thầy giáo "
        "yêu cầu phân tích vì sao phải tiếp tục đẩy mạnh cuộc vận động, mong mọi người cho biết Bộ Chính trị "
        "đã nêu mục đích của việc tiếp tục học tập và làm theo tấm gương Bác như thế nào và cần khắc phục hạn "
        "chế gì")
LONG_OFFTOPIC = [
    "Cho tôi hỏi, bố tôi năm nay 70 tuổi, ông bị đau khớp gối lâu năm, đi lại rất khó khăn, uống thuốc giảm "
    "đau nhiều thì đau dạ dày, bác sĩ cho tôi hỏi có cách nào điều trị lâu dài không",
    "Con tôi học lớp chín, sắp thi vào lớp mười ở thành phố, cháu học khá môn toán nhưng yếu tiếng Anh, xin "
    "hỏi nên cho cháu học thêm ở trung tâm nào và ôn tập thế nào để đỗ trường công lập",
]


@pytest.fixture(scope="module")
def fixed(built_workspace):
    """The same index answered with one bar whatever the question's and the passage's length."""
    cfg = load_config(built_workspace)
    cfg.retrieval = dataclasses.replace(cfg.retrieval, relevance_question_words=0, relevance_passage_words=0)
    return AnswerService(cfg, build_if_missing=False)


def test_the_bar_falls_with_the_question_and_passage_length():
    s = Scaling(question_words=12, passage_words=120)
    assert s.factor(5, 300) == s.factor(12, 120) == 1.0  # the reference: min_relevance as configured
    assert s.factor(16, 300) == pytest.approx((12 / 16) ** s.question_exponent)
    assert s.factor(20, 300) < s.factor(16, 300) < 1.0  # longer question, lower bar
    assert s.factor(5, 40) < s.factor(5, 80) < 1.0  # shorter passage, lower bar
    assert s.factor(400, 5) == s.min_factor  # never under its floor
    assert Scaling(0, 0).factor(400, 5) == 1.0  # both off: the fixed bar


def test_the_share_is_read_against_the_sizes_only_with_enough_pairs():
    s = Scaling(question_words=12, passage_words=120)
    assert s.relevance(0.2, 30, 300, s.min_pairs) == pytest.approx(0.2 / s.factor(30, 300))
    assert s.factor(30, 300) < 1.0
    assert s.relevance(0.2, 30, 300, s.min_pairs - 1) == 0.2  # scattered words only: the share itself
    assert s.relevance(0.9, 30, 300, 5) == 1.0


def test_long_question_with_a_modest_share_is_answered(service, fixed):
    assert fixed.answer(LONG).status == "not_found"  # the fixed bar hides it
    answer = service.answer(LONG)
    assert answer.status == "found" and answer.hits[0].doc_id == "ct-03-tw-2011"


@pytest.mark.parametrize("question", LONG_OFFTOPIC)
def test_long_offtopic_question_is_still_refused(service, question):
    answer = service.answer(question)
    assert answer.status == "not_found" and not answer.hits


def test_offtopic_questions_refused_by_the_fixed_bar_stay_refused(service, fixed):
    lines = (REPO / "tests" / "data" / "offtopic.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["text"] for line in lines if line.strip()]
    refused = [q for q in questions if fixed.answer(q).status != "found"]
    assert len(refused) >= len(questions) // 2
    assert [q for q in refused if service.answer(q).status == "found"] == []


def test_config_validates_the_reference_sizes(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("retrieval:\n  relevance_question_words: -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="retrieval.relevance_question_words"):
        load_config(bad)
    assert load_config(REPO / "config.yaml").retrieval.relevance_passage_words > 0


def test_synonyms_are_searched_without_shorthand_in_the_question():
    terms = analyse("kết nạp đảng cần điều kiện gì", QueryUnderstanding.load())
    assert "vao_dang" in terms.added_folded  # "vào Đảng", searched at expansion_weight
    assert not terms.changed  # nothing rewritten: no "Hiểu câu hỏi là"
    # a synonym steers the ranking but does not vouch for a passage: "kết nạp … vào câu lạc bộ cờ vua"
    # is not answered from a passage on "vào Đảng"
    assert not terms.alternatives


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
