"""Passages of the official texts follow their numbering; news keeps its paragraph chunking."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.documents.chunking import chunk_document
from bot.documents.loading import load_file
from bot.models import Document
from bot.retrieval.version import index_text

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "knowledge"
OFFICIAL = ["dieu-le-dang-2011.md", "quy-dinh-294-qd-tw-2025.md", "huong-dan-06-hd-tw-2025.md"]
MAX_WORDS = 250


@pytest.fixture(scope="module")
def chunked() -> dict[str, tuple[Document, list]]:
    out = {}
    for name in OFFICIAL:
        (doc, _), = load_file(KNOWLEDGE / name)
        out[doc.doc_id] = (doc, chunk_document(doc, min_words=80, max_words=MAX_WORDS))
    return out


def test_article_8_of_the_charter_is_one_passage_with_its_path(chunked):
    _, passages = chunked["dieu-le-dang-2011"]
    (p8,) = [p for p in passages if "dieu:8" in p.units]
    assert p8.units[:2] == ("chuong:1", "dieu:8")
    assert {"khoan:1", "khoan:2", "khoan:3"} <= set(p8.units)
    assert p8.section == "Chương I › Điều 8"
    assert p8.text.startswith("Điều 8.\n1. Đảng viên bỏ sinh hoạt chi bộ")
    # a long article is cut between its khoản, each part naming them
    parts = [p for p in passages if "dieu:4" in p.units]
    assert [p.section for p in parts] == ["Chương I › Điều 4 › khoản 1, 2", "Chương I › Điều 4 › khoản 3, 4"]
    assert parts[1].text.startswith("3. Trách nhiệm của chi bộ và cấp uỷ")


def test_quy_dinh_294_item_1_1_1_names_its_outline_and_the_charter_clause(chunked):
    _, passages = chunked["quy-dinh-294-qd-tw-2025"]
    (p,) = [p for p in passages if "muc:1.1.1" in p.units]
    assert p.units[:3] == ("muc:1", "muc:1.1", "muc:1.1.1")
    assert p.implements == ("dieu:1/khoan:2",)
    assert "đủ 18 tuổi đến đủ 60 tuổi" in p.text
    (p32,) = [p for p in passages if "muc:3.2.1" in p.units]
    assert p32.section.startswith("Mục 3 (Điều 4) › 3.1–3.3") or p32.section.startswith("Mục 3 (Điều 4) › 3.2")
    assert "dieu:4/khoan:2" in p32.implements
    # items without a reference of their own carry out the Điều of their parent ("3.5. Về kết nạp lại")
    (p35,) = [p for p in passages if "muc:3.5.1" in p.units]
    assert p35.section == "Mục 3 (Điều 4) › 3.5 › 3.5.1, 3.5.2" and p35.implements == ("dieu:4",)


def _words(text: str) -> list[str]:
    return text.replace("#", " ").split()


@pytest.mark.parametrize("doc_id", [n[:-3] for n in OFFICIAL])
def test_passages_keep_every_word_once_and_stay_within_the_hard_cap(chunked, doc_id):
    doc, passages = chunked[doc_id]
    assert [w for p in passages for w in _words(p.text)] == _words(doc.text)
    assert max(len(p.text.split()) for p in passages) <= MAX_WORDS


@pytest.mark.parametrize("doc_id", [n[:-3] for n in OFFICIAL])
def test_passages_begin_and_end_at_clause_or_sentence_boundaries(chunked, doc_id):
    doc, passages = chunked[doc_id]
    source_lines = {ln.strip().lstrip("#").strip() for ln in doc.text.splitlines() if ln.strip()}
    for p in passages:
        first, last = p.text.split("\n")[0], p.text.split("\n")[-1]
        # a passage starts with a whole line of the text (a heading, a clause) or a sentence of a split clause
        assert any(s.startswith(first[:40]) for s in source_lines) or re.match(r"[A-ZĐÀ-Ỹ\-+“\"(]", first), \
            (p.passage_id, first[:60])
        # and ends where a line of the text ends, or at a sentence end
        assert any(s.endswith(last[-40:]) for s in source_lines) or last.rstrip("”\")").endswith((".", ":", ";")), \
            (p.passage_id, last[-60:])


@pytest.mark.parametrize("doc_id", [n[:-3] for n in OFFICIAL])
def test_a_passage_under_20_words_is_a_whole_short_unit(chunked, doc_id):
    _, passages = chunked[doc_id]
    for p in passages:
        if len(p.text.split()) < 20:
            assert p.units and re.match(r"(\d{1,2}(\.\d{1,2})*\.|Điều \d+|[a-zđ]\))\s", p.text), p.passage_id


def test_every_passage_of_a_structured_text_names_its_units_and_its_path_is_searched(chunked):
    doc, passages = chunked["huong-dan-06-hd-tw-2025"]
    numbered = [p for p in passages if p.units]
    assert len(numbered) >= len(passages) - 3  # the header and the closing block have no units
    for p in numbered:
        assert p.section.startswith("Mục ") and p.units[0].startswith("muc:")
        assert p.section in index_text(doc, p)


def _doc(text: str, doc_type: str = "quy-dinh") -> Document:
    return Document(doc_id="x", title="Quy định thử", text=text, doc_type=doc_type)


def test_an_overlong_clause_is_cut_at_sentences_and_an_endless_sentence_between_words():
    endless = " ".join(["từ"] * 700)
    sentences = " ".join(f"Câu số {i} nói về việc kết nạp đảng viên mới ở chi bộ." for i in range(60))
    text = (f"Điều 1.\n\n1. {sentences}\n\n2. {endless}\n\nĐiều 2.\n\nNgắn gọn.\n\nĐiều 3.\n\n"
            "1. Khoản một.\n\n2. Khoản hai.")
    passages = chunk_document(_doc(text), min_words=80, max_words=200)
    assert max(len(p.text.split()) for p in passages) <= 200
    k1 = [p for p in passages if p.units[-1:] == ("khoan:1",) and p.units[0] == "dieu:1"]
    assert len(k1) >= 2 and all(p.text.rstrip().endswith(".") for p in k1)
    assert all(p.section == "Điều 1 › khoản 1" for p in k1)
    # the balanced split leaves no short tail; the short Điều 2 and 3 share one passage
    assert min(len(p.text.split()) for p in k1) > 60
    assert passages[-1].units == ("dieu:2", "dieu:3", "khoan:1", "khoan:2")
    assert passages[-1].section == "Điều 2, 3"


def test_news_keeps_paragraph_chunking_and_a_date_line_is_not_a_heading():
    text = ("Sáng nay, Ban Thường vụ Tỉnh ủy tổ chức hội nghị sơ kết.\n\n16/05/2018 - 17:11\n\n"
            + "Hội nghị đánh giá kết quả thực hiện Chỉ thị 05-CT/TW trong ba năm qua. " * 5)
    passages = chunk_document(_doc(text, "tin-tuc"))
    assert all(p.units == () and p.implements == () for p in passages)
    assert all("16/05/2018" not in p.section for p in passages)
    for path in sorted(KNOWLEDGE.glob("tin-*.md"))[:15]:
        (doc, _), = load_file(path)
        assert all(p.units == () and "›" not in p.section for p in chunk_document(doc)), path.name


def test_units_implements_and_status_are_stored_with_the_index(chunked, tmp_path):
    import dataclasses

    from bot.retrieval.store import StoreWriter, open_store

    doc, passages = chunked["quy-dinh-294-qd-tw-2025"]
    doc = dataclasses.replace(doc, text="", implements="dieu-le-dang-2011", status="còn hiệu lực")
    writer = StoreWriter(tmp_path)
    writer.add(doc, passages)
    writer.close()
    store = open_store(tmp_path)
    assert [store.passages[i] for i in range(len(passages))] == passages
    stored = store.documents[doc.doc_id]
    assert stored == doc and stored.replaces == ("24-QĐ/TW",) and stored.effective == "2025-07-01"


def test_an_article_of_another_document_cited_in_prose_or_cut_off_is_not_a_section():
    body = ("Bài viết nêu những điểm mới của quy định. " * 12 + "\n\n"
            "Điều 2 Quy định số 37-QĐ/TW là Điều …\n\n" + "Đảng viên không được làm những việc trái quy định. " * 12)
    doc = Document(doc_id="tin-x", title="Tin về Quy định 37", text=body)
    passages = chunk_document(doc)
    assert all("Điều 2 Quy định" not in p.section for p in passages)
    assert any("Điều 2 Quy định số 37-QĐ/TW là Điều …" in p.text for p in passages)


def test_text_without_spaces_or_sentence_ends_is_cut_under_the_character_cap():
    from bot.documents.chunking import MAX_PASSAGE_CHARS

    runs = ["x" * 2000 for _ in range(90)]
    doc = Document(doc_id="junk", title="Junk", text="\n".join(runs))
    passages = chunk_document(doc)
    assert len(passages) > 40 and all(len(p.text) <= MAX_PASSAGE_CHARS for p in passages)
    assert sum(p.text.count("x") for p in passages) == 90 * 2000
    assert [p.ordinal for p in passages] == list(range(len(passages)))
