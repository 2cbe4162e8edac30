"""Tests for bot.retrieval.understanding: abbreviations, chat shorthand, names and synonyms, and the list files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.documents import docnumbers, vietnamese
from bot.retrieval.understanding import BUILTIN_PATH, KINDS, QueryUnderstanding, added_tokens

REPO = Path(__file__).resolve().parents[1]
CHAT = [json.loads(line) for line in (REPO / "tests/data/chat_questions.jsonl").read_text(encoding="utf-8")
        .splitlines() if line.strip()]


@pytest.fixture(scope="module")
def qu() -> QueryUnderstanding:
    return QueryUnderstanding.load([BUILTIN_PATH])


def keys(text: str) -> list[str]:
    return [d.key for d in docnumbers.find_doc_numbers(text)]


# ------------------------------------------------------------------ each kind of entry


def test_builtin_lists_hold_every_kind(qu) -> None:
    assert all(n > 0 for n in qu.counts().values())
    assert set(qu.counts()) == set(KINDS)


@pytest.mark.parametrize("typed", ["đv", "dv", "ĐV", "Đv"])
def test_abbreviation_matches_with_or_without_diacritics_and_case(qu, typed: str) -> None:
    exp = qu.expand(f"{typed} không được làm gì")
    assert exp.rewritten == "đảng viên không được làm gì"
    assert exp.changed


@pytest.mark.parametrize("question, rewritten", [
    ("BCT ban hành CT05 khi nào", "Bộ Chính trị ban hành Chỉ thị 05 khi nào"),
    ("UBKT các cấp kỷ luật bao nhiêu đảng viên", "Ủy ban Kiểm tra các cấp kỷ luật bao nhiêu đảng viên"),
    ("BCH TW họp", "Ban Chấp hành Trung ương họp"),
    ("BCHTW họp", "Ban Chấp hành Trung ương họp"),
    ("cbđv phải gương mẫu", "cán bộ, đảng viên phải gương mẫu"),
    ("TW yêu cầu gì", "Trung ương yêu cầu gì"),
])
def test_party_abbreviations_are_written_out(qu, question: str, rewritten: str) -> None:
    assert qu.expand(question).rewritten == rewritten


@pytest.mark.parametrize("question, rewritten", [
    ("đv ko đc lam gi theo qđ 37", "đảng viên không được lam gi theo Quy định 37"),
    ("QĐ37 cấm j", "Quy định 37 cấm gì"),
    ("bn tập thể dc ghi danh", "bao nhiêu tập thể được ghi danh"),
    ("chỉ thị 05 thực hiện ntn vs cơ sở", "chỉ thị 05 thực hiện như thế nào với cơ sở"),
    ("mn ơi k biết hỏi ai", "mọi người ơi không biết hỏi ai"),
    ("hok bít", "không biết"),
    ("đi học 6 tháng thì chuyển sh đảng ntn", "đi học 6 tháng thì chuyển sinh hoạt đảng như thế nào"),
    ("ai qly hồ sơ", "ai quản lý hồ sơ"),
    ("xe sh 150 giá bn", "xe sh 150 giá bao nhiêu"),
])
def test_chat_shorthand_is_written_out(qu, question: str, rewritten: str) -> None:
    assert qu.expand(question).rewritten == rewritten


def test_a_common_name_adds_the_official_wording_and_keeps_the_question(qu) -> None:
    exp = qu.expand("huyện nào khen thưởng 43 điển hình làm theo Bác")
    assert exp.rewritten == "huyện nào khen thưởng 43 điển hình làm theo Bác"
    assert not exp.changed
    assert "học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh" in exp.extra_terms


def test_19_dieu_cam_means_regulation_37(qu) -> None:
    exp = qu.expand("19 điều cấm đảng viên có gì mới")
    assert "Quy định 37" in exp.extra_terms
    assert "những điều đảng viên không được làm" in exp.extra_terms


def test_a_synonym_adds_the_other_members_of_its_group(qu) -> None:
    extra = qu.expand("huyện nào khen thưởng nhiều nhất").extra_terms
    assert {"biểu dương", "tuyên dương", "vinh danh"} <= set(extra)
    assert "khen thưởng" not in extra  # already in the question


def test_a_one_way_synonym_does_not_work_backwards(qu) -> None:
    assert "không được làm" in qu.expand("Quy định 37 cấm gì").extra_terms
    assert "cấm" not in qu.expand("đảng viên không được làm gì").extra_terms


def test_names_work_without_diacritics(qu) -> None:
    exp = qu.expand("huyen nao khen thuong 43 dien hinh lam theo bac")
    assert "học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh" in exp.extra_terms


# ------------------------------------------------------------------ document numbers


@pytest.mark.parametrize("question, key, spelled", [
    ("CT05 yêu cầu gì", "ct-05", "Chỉ thị 05"),
    ("qđ 37 cấm gì", "qd-37", "Quy định 37"),
    ("QĐ37 cấm j", "qd-37", "Quy định 37"),
    ("kl21 quán triệt thế nào", "kl-21", "Kết luận 21"),
    ("NQ04 nói gì", "nq-04", "Nghị quyết 04"),
    ("ct 03-CT/TW năm 2011", "ct-03", "Chỉ thị 03-CT/TW"),
])
def test_shorthand_document_numbers_still_resolve_to_the_canonical_number(qu, question, key, spelled) -> None:
    exp = qu.expand(question)
    assert keys(question) == [key]
    assert keys(exp.rewritten) == [key]
    assert spelled in exp.rewritten


@pytest.mark.parametrize("question", ["05-CT/TW", "Chỉ thị 05-CT/TƯ", "Quy định 08-QĐi/TW", "NQ TW4 khóa XII",
                                      "Kế hoạch 82-KH/TU của Tỉnh ủy Bắc Kạn"])
def test_full_document_numbers_are_left_alone(qu, question: str) -> None:
    exp = qu.expand(question)
    assert exp.rewritten == vietnamese.normalize(question)
    assert keys(exp.rewritten) == keys(question)


def test_every_chat_question_keeps_its_document_numbers(qu) -> None:
    for q in CHAT:
        assert keys(qu.expand(q["text"]).rewritten) == keys(q["text"]), q["text"]


# ------------------------------------------------------------------ never losing what was typed


def test_an_expansion_never_removes_an_original_token(qu) -> None:
    for q in CHAT:
        exp = qu.expand(q["text"])
        assert exp.original == q["text"]
        for folded in (True, False):
            original = vietnamese.search_tokens(vietnamese.normalize(q["text"]), folded=folded)
            added = added_tokens(exp, folded=folded)
            # the retriever searches original + added: everything typed is still there, at full weight
            assert not set(added) & set(original), q["text"]
        # words that were not replaced stay in the rewritten question, in order
        kept = vietnamese.normalize(q["text"])
        for typed, _full in exp.replaced:
            kept = kept.replace(typed, " ", 1)
        kept_words = [w for w in vietnamese.syllables(kept)]
        rewritten_words = vietnamese.syllables(exp.rewritten)
        it = iter(rewritten_words)
        assert all(w in it for w in kept_words), (q["text"], exp.rewritten)


def test_expanding_a_question_without_shorthand_changes_nothing(qu) -> None:
    question = "Chuẩn mực đạo đức cách mạng của cán bộ gồm những gì?"
    exp = qu.expand(question)
    assert exp.rewritten == question
    assert not exp.changed


# ------------------------------------------------------------------ ambiguity


@pytest.mark.parametrize("question", [
    "NQ TW4 k XII",  # k = khóa before a term
    "Nghị quyết Trung ương 4 khóa XII",
    "tư tưởng Hồ Chí Minh",  # "tư" is not "TƯ"
    "huyện Tân Hồng sơ kết",  # Hồng is not hông
    "tan hong so ket",  # nor is unaccented "hong"
    "Bắc Kạn thực hiện Kết luận 01",
    "kỷ luật đảng viên",  # kỷ is not ký
    "đại học bách khoa",
    "Thông báo số 2 của Tỉnh ủy",
])
def test_ambiguous_words_are_not_rewritten(qu, question: str) -> None:
    assert qu.expand(question).rewritten == vietnamese.normalize(question)


def test_unaccented_bac_is_not_taken_for_bac_ho(qu) -> None:
    assert "Hồ Chí Minh" not in qu.expand("bac kan lap may doan kiem tra").extra_terms
    assert "Hồ Chí Minh" in qu.expand("lời Bác dạy").extra_terms


def test_unaccented_ky_does_not_add_ban_hanh(qu) -> None:
    assert "ban hành" not in qu.expand("ky luat dang vien").extra_terms
    assert "ban hành" in qu.expand("ai ký quy định 144").extra_terms


def test_bn_before_oi_is_a_person_not_a_quantity(qu) -> None:
    assert qu.expand("bn ơi cho hỏi").rewritten == "bn ơi cho hỏi"
    assert qu.expand("bn tập thể").rewritten == "bao nhiêu tập thể"


def test_k_is_khong_only_as_a_chat_word(qu) -> None:
    assert qu.expand("đv k được làm gì").rewritten == "đảng viên không được làm gì"
    assert qu.expand("NQ TW4 k 12").rewritten == "NQ TW4 k 12"
    assert qu.expand("kkk").rewritten == "kkk"


def test_dh_is_dai_hoi_only_before_a_congress_number(qu) -> None:
    assert qu.expand("ĐH XIII").rewritten == "Đại hội XIII"
    assert qu.expand("đh 13 của Đảng").rewritten == "Đại hội 13 của Đảng"
    assert qu.expand("học đh ở đâu").rewritten == "học đh ở đâu"


# ------------------------------------------------------------------ admin files


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "_understanding.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_admin_file_adds_and_overrides_entries(tmp_path) -> None:
    admin = write(tmp_path, "abbreviations:\n  BTGDV: Ban Tuyên giáo và Dân vận\n"
                            "shorthand:\n  vs: và\n"
                            "names:\n  dân vận khéo:\n    - công tác dân vận\n"
                            "synonyms:\n  - quán triệt\n  - terms: ko\n    remove: true\n")
    with pytest.raises(ValueError, match="line 9: a synonym group needs at least two members"):
        QueryUnderstanding.load([BUILTIN_PATH, admin])
    admin = write(tmp_path, "abbreviations:\n  BTGDV: Ban Tuyên giáo và Dân vận\n"
                            "shorthand:\n  vs: và\n  ko:\n    remove: true\n"
                            "names:\n  dân vận khéo:\n    - công tác dân vận\n")
    qu = QueryUnderstanding.load([BUILTIN_PATH, admin])
    assert qu.expand("BTGDV họp").rewritten == "Ban Tuyên giáo và Dân vận họp"
    assert qu.expand("cán bộ vs đảng viên").rewritten == "cán bộ và đảng viên"
    assert qu.expand("ko biết").rewritten == "ko biết"
    assert qu.expand("hok biết").rewritten == "không biết"  # the rest of the built-in entry stays
    assert "công tác dân vận" in qu.expand("dân vận khéo là gì").extra_terms


def test_a_missing_admin_file_is_skipped(tmp_path) -> None:
    qu = QueryUnderstanding.load([BUILTIN_PATH, tmp_path / "_understanding.yaml"])
    assert qu.expand("đv").rewritten == "đảng viên"


@pytest.mark.parametrize("text, message", [
    ("abbreviations:\n  đv: [a, b]\n", "line 2: the full form must be text"),
    ("abbreviations:\n  đv:\n    ful: đảng viên\n", "line 3: unknown option 'ful'"),
    ("abbreviations:\n  đv:\n    exact: true\n", "line 3: 'đv' needs a full form"),
    ("abbrevs:\n  đv: đảng viên\n", "line 1: unknown section 'abbrevs'"),
    ("shorthand:\n  ko: không\n  KO: không\n", "line 3: 'KO' is listed twice in shorthand"),
    ("shorthand:\n  ko | kô: không\n", "line 2: 'ko' and 'kô' are the same form"),
    ("shorthand:\n  k:\n    full: không\n    not_before: '[ivx'\n", "line 4: not_before is not a valid regular"),
    ("shorthand:\n  ko: không\n   bad: indent\n", "line 3: invalid YAML"),
    ("synonyms:\n  - biểu dương -> khen -> thưởng\n", "line 2: only one '->' per line"),
    ("synonyms:\n  biểu dương: khen thưởng\n", "line 2: section synonyms must be a list"),
    ("names:\n  làm theo Bác:\n    full: học tập\n", "line 3: names add wording"),
    ("- just a list\n", "line 1: the file must be a mapping of sections"),
])
def test_a_bad_admin_file_names_the_file_the_line_and_the_reason(tmp_path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as err:
        QueryUnderstanding.load([BUILTIN_PATH, path])
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_the_example_admin_file_loads() -> None:
    example = REPO / "knowledge" / "_understanding.yaml.example"
    qu = QueryUnderstanding.load([BUILTIN_PATH, example])
    assert qu.counts()["abbreviation"] > QueryUnderstanding.load([BUILTIN_PATH]).counts()["abbreviation"]


# ------------------------------------------------------------------ stored in an index version


def test_lists_round_trip_through_plain_data(qu) -> None:
    data = json.loads(json.dumps(qu.to_dict(), ensure_ascii=False))
    again = QueryUnderstanding.from_dict(data)
    for q in CHAT:
        assert again.expand(q["text"]) == qu.expand(q["text"])


def test_unknown_stored_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        QueryUnderstanding.from_dict({"format": 99, "entries": []})


# ------------------------------------------------------------------ the evaluation data


def test_chat_questions_cover_every_kind_with_full_versions() -> None:
    ids = {p.stem for p in (REPO / "knowledge").glob("*.md") if p.name != "README.md"}
    assert len(CHAT) >= 44
    assert {q["kind"] for q in CHAT} == {"shorthand", "abbreviation", "paraphrase", "unaccented-chat"}
    for q in CHAT:
        assert q["full"] and q["relevant"] and set(q["relevant"]) <= ids, q["id"]
    texts = {q["text"] for q in CHAT}
    assert "đv ko đc lam gi theo qđ 37" in texts
    assert "huyện nào khen thưởng 43 điển hình làm theo Bác" in texts
