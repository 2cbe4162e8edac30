"""Answer evaluation: phrase matching, the question set over the official texts, `eval` with phrases."""

from __future__ import annotations

import json
from pathlib import Path

from bot.cli import main
from bot.service.answer_eval import contains_phrase, read_phrase_questions

DATA = Path(__file__).resolve().parent / "data"


def test_phrase_matching_ignores_case_diacritics_and_spacing():
    text = "Người được kết nạp vào Đảng phải trải qua thời kỳ dự bị mười hai tháng,\n tính từ ngày"
    assert contains_phrase(text, ["thoi ky du bi  muoi hai thang"])
    assert contains_phrase(text, ["không có", "THỜI KỲ DỰ BỊ"])
    assert not contains_phrase(text, ["dự bị mười tám tháng"])
    assert not contains_phrase("", ["dự bị"])


def test_official_question_set_is_large_and_complete():
    questions = read_phrase_questions(DATA / "official_questions.jsonl")
    assert len(questions) >= 60
    kinds = {q.kind for q in questions}
    assert {"article", "accented", "unaccented", "shorthand", "paraphrase"} <= kinds
    for q in questions:
        assert q.relevant and q.phrases and q.units and q.section, q.id
        assert all(":" in u for u in q.units), q.id


def test_eval_reports_phrase_figures_per_kind(capsys, built_workspace, tmp_path):
    qfile = tmp_path / "q.jsonl"
    lines = [{"id": "x1", "text": "Chỉ thị 03 năm 2011 của Bộ Chính trị nêu mục đích gì?", "kind": "accented",
              "relevant": ["ct-03-tw-2011"], "phrase": "mục đích", "units": [], "section": ""},
             {"id": "x2", "text": "thời tiết Hà Nội ngày mai", "kind": "accented",
              "relevant": ["ct-03-tw-2011"], "phrase": "mưa rào rải rác", "units": [], "section": ""}]
    qfile.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in lines), encoding="utf-8")
    code = main(["--config", str(built_workspace), "eval", "--questions", str(qfile), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    answers = json.loads(out)[-1]["metrics"]
    assert answers["accented"]["n"] == 2
    assert answers["accented"]["first_has_phrase"] == 0.5  # the weather question shows no such phrase
    assert answers["accented"]["doc_mrr@10"] == 0.5
