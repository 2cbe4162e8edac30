"""Answers from the shipped official texts: article lookup, cross-references, status, short answer, scope."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from bot import messages
from bot.channels.console import chat, render_answer
from bot.channels.text import citation_line
from bot.cli import main

from conftest import KNOWLEDGE, make_workspace

OFFICIAL = ["dieu-le-dang-2011.md", "quy-dinh-294-qd-tw-2025.md", "huong-dan-06-hd-tw-2025.md"]
NEWS = ["tin-dantri-quy-dinh-144-chuan-muc-dao-duc-2024.md", "tin-ha-tinh-so-ket-3-nam-kl01-2024.md",
        "tin-noichinh-quy-dinh-moi-dang-vien-khong-duoc-lam-2022.md", "ct-03-tw-2011.md"]
DL, QD, HD = "dieu-le-dang-2011", "quy-dinh-294-qd-tw-2025", "huong-dan-06-hd-tw-2025"


@pytest.fixture(scope="session")
def official_workspace(tmp_path_factory) -> Path:
    """The three official texts, a few news articles, and a replaced guide (Hướng dẫn 01-HD/TW, which
    Hướng dẫn 06 replaces) holding a copy of Hướng dẫn 06's section on the Party badge."""
    from bot.config import load_config
    from bot.retrieval.build import build_index

    folder = tmp_path_factory.mktemp("official")
    cfg = make_workspace(folder, docs=OFFICIAL + NEWS)
    text = (KNOWLEDGE / "huong-dan-06-hd-tw-2025.md").read_text(encoding="utf-8")
    badge = text[text.index("18. Tặng Huy hiệu Đảng"):text.index("19. Khen thưởng tổ chức đảng")]
    (folder / "knowledge" / "huong-dan-01-hd-tw-2021.md").write_text(
        "---\nid: huong-dan-01-hd-tw-2021\ntitle: Hướng dẫn một số vấn đề cụ thể thi hành Điều lệ Đảng\n"
        "doc_number: 01-HD/TW\ndoc_type: Hướng dẫn\nissuer: Ban Bí thư\nissued: '2021-09-28'\n---\n\n"
        + badge, encoding="utf-8")
    build_index(load_config(cfg))
    return cfg


@pytest.fixture(scope="session")
def svc(official_workspace):
    from bot.config import load_config
    from bot.service.answering import AnswerService

    return AnswerService(load_config(official_workspace), build_if_missing=False)


# ---------------------------------------------------------------- article lookup (item 3)

def test_unaccented_clause_reference_returns_exactly_that_clause_with_navigation(svc):
    answer = svc.answer("khoan 2 dieu 4 dieu le")
    assert answer.found and answer.unit is not None
    first = answer.hits[0]
    assert first.doc_id == DL and first.text.startswith("2. Người giới thiệu phải")
    assert "Là đảng viên chính thức và cùng công tác với người vào Đảng ít nhất một năm" in first.text
    assert "3. Trách nhiệm của chi bộ" not in first.text and "1. Người vào Đảng phải" not in first.text
    assert first.reference.section.endswith("Điều 4 › khoản 2")
    nav = answer.unit
    assert (nav.path, nav.prev, nav.next, nav.article) == ("dieu:4/khoan:2", "dieu:4/khoan:1", "dieu:4/khoan:3",
                                                           "dieu:4")
    assert nav.label == "khoản 2 Điều 4"
    following = svc.unit(nav.doc_id, nav.next)
    assert following.hits[0].text.startswith("3. Trách nhiệm của chi bộ và cấp uỷ")
    whole = svc.unit(nav.doc_id, nav.article)
    assert "1. Người vào Đảng phải" in whole.hits[0].text and whole.unit.next == "dieu:5"


def test_article_of_the_charter_is_found_with_or_without_diacritics(svc):
    accented = svc.answer("Điều 8 Điều lệ Đảng nói gì")
    plain = svc.answer("dieu 8 dieu le dang")
    for answer in (accented, plain):
        assert answer.unit.path == "dieu:8" and answer.unit.prev == "dieu:7" and answer.unit.next == "dieu:9"
        text = "\n".join(h.text for h in answer.hits)
        assert "không đóng đảng phí ba tháng trong năm" in text and "Điều 9" not in text


def test_outline_item_of_the_regulation_is_returned_whole(svc):
    answer = svc.answer("mục 3.2 quy định 294")
    assert [h.doc_id for h in answer.hits] == [QD]
    text = answer.hits[0].text
    assert text.startswith("3.2. (Khoản 2)") and "3.2.2." in text and "3.3." not in text
    assert answer.unit.prev == "muc:3.1" and answer.unit.next == "muc:3.3" and answer.unit.article == "muc:3"
    point = svc.answer("điểm c mục 6.3.1 quy định 294")
    assert point.hits[0].text.startswith("c) Trong vòng 30 ngày làm việc")
    guide = svc.answer("muc 10.2.2 huong dan 06")
    assert guide.hits[0].doc_id == HD and guide.unit.path == "muc:10.2.2"


def test_a_number_the_document_lacks_gets_the_count_and_no_unrelated_passages(svc):
    answer = svc.answer("Điều 99 Điều lệ Đảng")
    assert not answer.found and answer.hits == []
    assert "có 48 điều" in answer.message and "Điều 99" in answer.message
    outline = svc.answer("mục 40 quy định 294")
    assert not outline.found and "có 33 mục" in outline.message
    other = svc.answer("đảng viên vi phạm điều 2 quy định 37")  # another document's Điều 2: no lookup
    assert other.unit is None
    part = svc.answer("điểm b khoản 1 Điều 36")
    assert "không có điểm b" in part.message
    assert part.hits[0].reference.section.endswith("Điều 36 › khoản 1")


def test_chat_follow_up_words_step_through_the_articles(svc):
    out = io.StringIO()
    chat(svc, stdin=io.StringIO("Điều 8 Điều lệ Đảng\nsau\ntrước\nkhoan 2 dieu 4 dieu le\ntoàn điều\n"), stdout=out)
    text = out.getvalue()
    assert "“sau” (Điều 9)" in text
    assert text.index("Mục: Chương II › Điều 9") < text.index("Mục: Chương I › Điều 8", text.index("Điều 9"))
    whole = text.index("“toàn điều” (Điều 4)")  # after khoản 2 of Điều 4, the whole Điều 4
    assert text.find("1. Người vào Đảng phải", whole) > whole


# ---------------------------------------------------------------- cross-references (item 4)

def test_charter_article_lists_where_it_is_carried_out_and_the_other_way_round(svc):
    charter = svc.answer("khoan 2 dieu 4 dieu le").hits[0]
    links = {link.doc_id: link for link in charter.links}
    assert links[QD].direction == "implemented_by" and links[QD].labels == ("mục 3.2",)
    rule = svc.answer("mục 3.2 quy định 294").hits[0]
    assert rule.links[0].direction == "implements" and rule.links[0].doc_id == DL
    assert rule.links[0].labels == ("khoản 2 Điều 4",)
    shown = render_answer(svc.answer("khoan 2 dieu 4 dieu le"))
    assert f"{messages.LINKS_IMPLEMENTED_BY}: Quy định 294-QĐ/TW mục 3.2" in shown


# ---------------------------------------------------------------- status (item 5)

def test_replaced_guide_is_flagged_and_ranked_after_the_one_in_force(svc):
    answer = svc.answer("Đảng viên bị bệnh nặng được xét tặng Huy hiệu Đảng sớm không?", top_k=5)
    docs = [h.doc_id for h in answer.hits]
    assert HD in docs and "huong-dan-01-hd-tw-2021" in docs
    assert docs.index(HD) < docs.index("huong-dan-01-hd-tw-2021")
    old = next(h for h in answer.hits if h.doc_id == "huong-dan-01-hd-tw-2021")
    assert old.reference.status == "hết hiệu lực" and old.reference.replaced_by == "Hướng dẫn 06-HD/TW"
    assert "đã được thay thế bởi Hướng dẫn 06-HD/TW" in citation_line(old.reference)
    card = svc.document_card("01-HD/TW")
    assert card.documents[0].status == "hết hiệu lực"


# ---------------------------------------------------------------- short answer (item 6)

def test_short_answer_quotes_the_sentence_that_answers(svc):
    answer = svc.answer("Ban Chấp hành Trung ương họp thường lệ bao lâu một lần?")
    assert answer.short is not None
    assert "họp thường lệ sáu tháng một lần" in answer.short.text
    assert any(answer.short.text in h.text for h in answer.hits)  # quoted, never written
    shown = render_answer(answer)
    assert shown.index(messages.SHORT_ANSWER) < shown.index("[1]")


def test_no_short_answer_without_a_convincing_sentence(svc):
    assert svc.answer("Thời tiết Hà Nội ngày mai có mưa không?").short is None
    assert svc.answer("Điều 8 Điều lệ Đảng").short is None  # the unit itself is the answer


def test_ask_json_prints_the_whole_answer(capsys, official_workspace):
    code = main(["--config", str(official_workspace), "ask", "--json",
                 "Đảng viên bị kỷ luật cách chức thì bao lâu không được bầu vào cấp ủy?"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["status"] == "found"
    assert data["short"]["passage_id"] and data["short"]["reference"]["section"]
    assert "không được bầu vào cấp uỷ" in data["short"]["text"]
    assert data["hits"][0]["reference"]["doc_id"] and "links" in data["hits"][0]


# ---------------------------------------------------------------- scope (item 7)

def test_named_document_restricts_the_search_and_says_so(svc):
    charter = svc.answer("theo Điều lệ, đảng viên dự bị có những quyền gì", top_k=5)
    assert charter.found and {h.doc_id for h in charter.hits} == {DL}
    assert "chỉ tìm trong Điều lệ Đảng" in charter.understood
    guide = svc.answer("trong Hướng dẫn 06, chuyển sinh hoạt đảng tạm thời áp dụng khi nào", top_k=5)
    assert {h.doc_id for h in guide.hits} == {HD}


def test_official_only_and_news_of_a_year(svc):
    official = svc.answer("chỉ văn bản chính thức: đảng viên không được làm gì", top_k=5)
    assert official.found and all(not h.doc_id.startswith("tin-") for h in official.hits)
    news = svc.answer("tin năm 2024 về kết luận 01", top_k=5)
    assert news.found and all(h.reference.issued.startswith("2024") for h in news.hits)
    assert "năm 2024" in news.understood


def test_command_line_filters_restrict_search_and_ask(capsys, official_workspace):
    base = ["--config", str(official_workspace)]
    main(base + ["search", "--json", "--doc-type", "Quy định", "tuổi đảng tính từ ngày nào"])
    results = json.loads(capsys.readouterr().out)["results"]
    assert results and {r["doc_id"] for r in results} == {QD}
    main(base + ["search", "--json", "--year", "2024", "kết luận 01"])
    results = json.loads(capsys.readouterr().out)["results"]
    assert results and all(r["issued"].startswith("2024") for r in results)
    main(base + ["ask", "--json", "--doc", HD, "--issuer", "Ban Bí thư", "tuổi đảng tính từ ngày nào"])
    data = json.loads(capsys.readouterr().out)
    assert data["hits"] and {h["doc_id"] for h in data["hits"]} == {HD}
    assert main(base + ["ask", "--year", "20x4", "tuổi đảng"]) == 2


def test_telegram_and_zalo_show_the_short_answer_links_and_status(svc):
    from bot.channels.telegram.render import answer_messages
    from bot.channels.zalo.render import render_answer as zalo_answer

    answer = svc.answer("Ban Chấp hành Trung ương họp thường lệ bao lâu một lần?")
    for rendered in ("\n".join(answer_messages(answer)), "\n".join(zalo_answer(answer))):
        assert f"{messages.SHORT_ANSWER}: Ban Chấp hành Trung ương họp thường lệ sáu tháng một lần" in rendered
    lookup = svc.answer("khoan 2 dieu 4 dieu le")
    assert "Hướng dẫn thi hành: Quy định 294-QĐ/TW mục 3.2" in "\n".join(answer_messages(lookup))
    assert "Hướng dẫn thi hành: Quy định 294-QĐ/TW mục 3.2" in "\n".join(zalo_answer(lookup))
    old = svc.answer("Đảng viên bị bệnh nặng được xét tặng Huy hiệu Đảng sớm không?", top_k=5)
    assert "đã được thay thế bởi Hướng dẫn 06-HD/TW" in "\n".join(zalo_answer(old))


# ---------------------------------------------------------------- a document asked for by its number only

@pytest.mark.parametrize("text", ["QĐ 294", "Quy định 294-QĐ/TW nói gì?", "qd 294 la gi", "qd 294 noi dung gi"])
def test_a_bare_number_answers_with_the_document_from_its_beginning(svc, text):
    answer = svc.answer(text, top_k=3)
    assert answer.found and answer.document is not None and answer.document.documents
    assert [h.doc_id for h in answer.hits] == [QD] * 3
    ordinals = [int(h.passage_id.rsplit("#", 1)[1]) for h in answer.hits]
    assert ordinals == [0, 1, 2]
    more = svc.answer(text, top_k=3, offset=3)  # "thêm" reads on through the document
    assert [int(h.passage_id.rsplit("#", 1)[1]) for h in more.hits] == [3, 4, 5] and more.has_more


def test_a_number_with_something_to_look_for_is_still_searched(svc):
    answer = svc.answer("Quy định 294 về đảng viên dự bị", top_k=3)
    assert answer.found and answer.hits[0].doc_id == QD
    assert int(answer.hits[0].passage_id.rsplit("#", 1)[1]) != 0


@pytest.mark.parametrize("text", ["Hướng dẫn 06", "HD 06", "hd06 nói gì"])
def test_a_weak_form_of_a_number_the_collection_holds_names_it(svc, text):
    answer = svc.answer(text, top_k=2)
    assert answer.document is not None and [r.doc_id for r in answer.document.documents] == [HD]
    assert [h.doc_id for h in answer.hits] == [HD, HD] and answer.hits[0].passage_id.endswith("#0")


def test_a_weak_form_the_collection_does_not_hold_is_just_words(svc):
    answer = svc.answer("Hướng dẫn 3 bước phát thẻ đảng viên")
    assert answer.document is None and answer.found


@pytest.mark.parametrize("text", ["tuoi toi da ket nap dang", "Bao nhiêu tuổi thì được kết nạp vào Đảng?"])
def test_age_asked_in_everyday_words_finds_the_age_rule(svc, text):
    answer = svc.answer(text, top_k=2)
    assert answer.found and any("60 tuổi" in h.text for h in answer.hits)
