"""Quiz items drawn from clauses: facts, distractors, the rules that discard bad items, topics, the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.documents.chunking import chunk_document
from bot.documents.loading import load_file
from bot.models import Document, Passage
from bot.service import quizfacts
from bot.service.quizfacts import find_facts, number_value, number_words
from bot.service.quizrules import (MAX_OPTION, MAX_QUESTION, clause_sentences, is_official, passage_items,
                                   sentence_problems, unit_label)

DATA = Path(__file__).parent / "data" / "quiz"
EXCERPTS = sorted(DATA.glob("*.md"))


def _documents() -> list[Document]:
    return [doc for path in EXCERPTS for doc, _ in load_file(path, rel=path.name)]


def _all_items():
    out = []
    for doc in _documents():
        values = quizfacts.document_values(doc.text)
        for p in chunk_document(doc):
            out.extend(passage_items(doc, p, values))
    return out


@pytest.fixture(scope="module")
def items():
    return _all_items()


def test_vietnamese_numbers_read_and_written_both_ways():
    assert number_value("mười hai") == 12 and number_value("hai mươi lăm") == 25 and number_value("60") == 60
    assert number_words(12) == "mười hai" and number_words(21) == "hai mươi mốt" and number_words(15) == "mười lăm"
    assert all(number_value(number_words(n)) == n for n in range(1, 100))


def test_durations_ages_thresholds_and_deciding_bodies_are_found():
    facts = find_facts("Đảng viên phải trả lời chậm nhất là 60 ngày làm việc, thời kỳ dự bị mười hai tháng.")
    assert [(f.kind, f.text) for f in facts] == [("duration", "60 ngày làm việc"), ("duration", "mười hai tháng")]
    facts = find_facts("Việc kết nạp những người trên 60 tuổi do cấp ủy trực thuộc Trung ương xem xét, quyết định.")
    assert [(f.kind, f.text) for f in facts] == [("age", "60 tuổi"), ("authority", "cấp ủy trực thuộc Trung ương")]
    facts = find_facts("Nghị quyết phải được quá một nửa số đảng viên chính thức tán thành.")
    assert [(f.kind, f.text) for f in facts] == [("threshold", "quá một nửa")]


def test_dates_and_document_numbers_are_not_facts():
    assert find_facts("Hà Nội, ngày 19 tháng 01 năm 2011, Quy định số 24-QĐ/TW, Điều 5 khoản 2.") == []


def test_number_distractors_keep_the_unit_and_the_way_the_number_is_written():
    sentence = "Thời kỳ dự bị mười hai tháng, tính từ ngày chi bộ tổ chức lễ kết nạp."
    fact = find_facts(sentence)[0]
    others = quizfacts.distractors(fact, sentence, quizfacts.DocumentValues())
    assert len(others) == 3 and all(o.endswith(" tháng") and not o[0].isdigit() for o in others)
    assert "mười hai tháng" not in others


def test_distractors_never_name_a_value_the_clause_states():
    sentence = ("Chậm nhất là 30 ngày làm việc đối với tổ chức cơ sở đảng, 60 ngày làm việc đối với cấp ủy cấp "
                "trên trực tiếp.")
    fact = find_facts(sentence)[1]
    assert fact.text == "60 ngày làm việc"
    others = quizfacts.distractors(fact, sentence, quizfacts.DocumentValues())
    assert "30 ngày làm việc" not in others and len(others) == 3


def test_documents_with_clauses_are_official_news_is_not():
    docs = {d.doc_id: d for d in _documents()}
    assert all(is_official(d) for d in docs.values())
    assert not is_official(Document(doc_id="tin", title="Tin", text="x", doc_type="tin-tuc"))


def test_every_item_states_its_answer_in_the_cited_clause_and_fits_a_telegram_poll(items):
    assert len(items) >= 40
    for item in items:
        assert quizfacts.in_text(item.answer, item.clause)
        assert not any(quizfacts.in_text(d, item.clause) for d in item.distractors)
        assert len(item.question) <= MAX_QUESTION and all(0 < len(o) <= MAX_OPTION for o in item.options)
        assert len({o.lower() for o in item.options}) == len(item.options)
        assert item.reference and item.source_url
        if item.kind == "cloze":
            assert item.options[item.correct] == item.answer and "_____" in item.question
            assert item.question.replace("_____", item.answer).endswith(item.clause)
        else:
            shown = item.question.split("\n", 1)[1]
            assert (shown == item.clause) == (item.correct == 0)


def test_items_cite_the_article_and_clause_of_the_dieu_le(items):
    probation = [i for i in items if "mười hai tháng" in i.answer and i.doc_id.startswith("dieu-le")]
    assert probation, "the probation period of Điều 5 must be asked"
    assert probation[0].reference == "Điều lệ Đảng Cộng sản Việt Nam, Điều 5 khoản 1"


def test_items_cite_the_outline_number_of_quy_dinh_294(items):
    ages = [i for i in items if i.answer == "18 tuổi" and i.kind == "cloze"]
    assert ages and ages[0].reference == "Quy định 294-QĐ/TW, mục 1.1.1"


def test_a_body_that_names_the_same_level_is_not_offered_against_the_answer():
    values = quizfacts.document_values("đảng ủy trực thuộc Trung ương quyết định; cấp ủy cấp trên trực tiếp; "
                                       "đảng bộ trực thuộc Trung ương; "
                                       "Ban Bí thư; cấp ủy; chi bộ; ủy ban kiểm tra")
    sentence = "Việc kết nạp những người trên 60 tuổi do cấp ủy trực thuộc Trung ương xem xét, quyết định."
    fact = find_facts(sentence)[1]
    others = quizfacts.distractors(fact, sentence, values)
    assert not {"đảng ủy trực thuộc Trung ương", "đảng bộ trực thuộc Trung ương", "cấp ủy"} & set(others)
    assert "cấp ủy cấp trên trực tiếp" in others


def test_the_same_documents_give_the_same_items():
    first, second = _all_items(), _all_items()
    assert [(i.item_id, i.question, i.options, i.correct) for i in first] == \
           [(i.item_id, i.question, i.options, i.correct) for i in second]


def test_headings_fragments_and_enumerations_are_discarded():
    assert "heading" in sentence_problems("Về tuổi đời Chỉ xem xét kết nạp vào Đảng những người trên 60 tuổi.")
    assert "fragment" in sentence_problems("và được chi bộ xét trong thời hạn 30 ngày làm việc kể từ ngày nhận.")
    assert "heading" in sentence_problems("Thời hạn xét công nhận đảng viên chính thức trong 30 ngày như sau:")
    assert "list_item" in sentence_problems(
        "Bộ Chính trị quyết định thành lập và quyết định chức năng của các Đảng bộ: Các cơ quan Đảng Trung ương;")
    assert "needs_context" in sentence_problems(
        "Đảng viên không thuộc diện nêu trên thì ban thường vụ cấp ủy cấp trên trực tiếp xem xét, quyết định.")
    doc = Document(doc_id="qd", title="Quy định", doc_number="1-QĐ/TW", doc_type="quy-dinh",
                   text="x", source_url="https://example.org/qd")
    text = ("1. Tặng Huy hiệu Đảng 30 năm, 40 năm, 45 năm, 50 năm tuổi đảng cho đảng viên trong đảng bộ.\n"
            "2. Đảng viên dự bị phải qua thời kỳ dự bị 12 tháng kể từ ngày chi bộ tổ chức lễ kết nạp.")
    passage = Passage(passage_id="qd#0", doc_id="qd", ordinal=0, section="", text=text)
    found = passage_items(doc, passage)
    assert found and all("Huy hiệu" not in i.clause for i in found)
    listed = Passage(passage_id="qd#1", doc_id="qd", ordinal=1, section="", text=(
        "3. Đảng viên bị bệnh nặng được xét tặng Huy hiệu 30, 40, 45, 50, 55, 60, 65 năm tuổi Đảng sớm, "
        "nhưng thời gian xét tặng sớm không được quá 12 tháng so với thời gian quy định."))
    asked = passage_items(doc, listed)
    assert asked and {i.answer for i in asked} == {"12 tháng"}
    assert {i.reference for i in found} == {"Quy định 1-QĐ/TW, mục 2"}


def test_structural_units_from_the_passage_are_used_when_present():
    passage = Passage(passage_id="d#1", doc_id="d", ordinal=1, section="Chương I > Điều 4.",
                      text="Thời kỳ dự bị mười hai tháng kể từ ngày chi bộ tổ chức lễ kết nạp.",
                      units=("chuong:1", "dieu:5", "khoan:3"))
    [(sentence, units)] = clause_sentences(passage)
    assert unit_label(units) == "Điều 5 khoản 3"
    assert unit_label(("muc:3", "muc:3.2")) == "mục 3.2"


# ---------------------------------------------------------------- the service and the CLI over a real index

@pytest.fixture(scope="module")
def quiz_config(tmp_path_factory):
    from tests.conftest import KNOWLEDGE, write_config
    from bot.config import load_config
    from bot.retrieval.build import build_index

    folder = tmp_path_factory.mktemp("quiz")
    (folder / "knowledge").mkdir()
    for path in EXCERPTS:
        shutil.copy(path, folder / "knowledge" / path.name)
    shutil.copy(KNOWLEDGE / "tin-quangtri-so-ket-3-nam-ct05.md", folder / "knowledge")
    cfg_path = write_config(folder)
    build_index(load_config(cfg_path))
    return cfg_path


@pytest.fixture(scope="module")
def quiz(quiz_config):
    from bot.config import load_config
    from bot.service.answering import AnswerService
    from bot.service.quiz import QuizService

    return QuizService(AnswerService(load_config(quiz_config), build_if_missing=False))


def test_news_gives_no_items_and_every_official_document_does(quiz):
    docs = {i.doc_id for i in quiz.pool().items}
    assert docs == {"dieu-le-dang-2011-trich", "quy-dinh-294-qd-tw-2025-trich"}


def test_a_topic_draws_items_about_it(quiz):
    drawn = quiz.draw("đảng viên dự bị", count=5, seed=1)
    assert 1 <= len(drawn) <= 5
    assert sum("dự bị" in quiz.clause_text(i) for i in drawn) >= len(drawn) - 1
    assert len({(i.clause, i.answer) for i in drawn}) == len(drawn)


def test_a_document_name_restricts_the_draw(quiz):
    assert {i.doc_id for i in quiz.draw("Điều lệ", count=10, seed=3)} == {"dieu-le-dang-2011-trich"}
    assert {i.doc_id for i in quiz.draw("Quy định 294", count=10, seed=3)} == {"quy-dinh-294-qd-tw-2025-trich"}
    assert quiz.draw("giá vé máy bay Tết", count=3, seed=3) == []


def test_the_same_seed_draws_the_same_series_and_another_seed_another(quiz):
    a = [i.item_id for i in quiz.draw("", count=5, seed=7)]
    assert a == [i.item_id for i in quiz.draw("", count=5, seed=7)]
    assert a != [i.item_id for i in quiz.draw("", count=5, seed=8)]


def test_count_in_front_of_a_topic_is_read_as_a_series():
    from bot.service.quiz import parse_count

    assert parse_count("5 Điều lệ") == (5, "Điều lệ")
    assert parse_count("5") == (5, "")
    assert parse_count("294") == (1, "294")
    assert parse_count("đảng viên dự bị") == (1, "đảng viên dự bị")
    assert parse_count("50 câu") == (10, "")


def test_explanations_fit_telegram_and_name_the_clause(quiz):
    from bot.service.quiz import explanation

    for item in quiz.pool().items:
        text = explanation(item)
        assert len(text) <= 200 and "\n" not in text and text.startswith(item.reference)


def test_cli_quiz_json_prints_distinct_items_from_the_clauses(quiz_config, capsys):
    from bot.cli import main

    assert main(["--config", str(quiz_config), "quiz", "--count", "30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["items"]) == 30 and len({i["item_id"] for i in out["items"]}) == 30
    assert all(i["answer"].lower() in i["clause"].lower() for i in out["items"])
    assert main(["--config", str(quiz_config), "quiz", "--doc", "294", "--count", "3"]) == 0
    sheet = capsys.readouterr().out
    assert "Quy định 294-QĐ/TW" in sheet and "Đáp án" in sheet and "Điều lệ" not in sheet


def test_cli_quiz_names_the_documents_when_doc_matches_none(quiz_config, capsys):
    from bot.cli import main

    assert main(["--config", str(quiz_config), "quiz", "--doc", "Nghị quyết 99"]) == 2
    err = capsys.readouterr().err
    assert "--doc Nghị quyết 99" in err and "dieu-le-dang-2011-trich" in err
