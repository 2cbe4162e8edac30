"""The answering service over a small real index: found passages, references, numbers, bad questions."""

from __future__ import annotations

from bot import messages

CT05_DOCS = {"tin-quangtri-so-ket-3-nam-ct05", "tin-tpth-tiep-tuc-quan-triet-ct05-2021",
             "tin-anh-son-bieu-duong-43-dien-hinh-ct05"}


def test_query_without_diacritics_finds_directive_05(service):
    answer = service.answer("chi thi 05 yeu cau gi")
    assert answer.status == "found"
    assert answer.hits[0].doc_id in CT05_DOCS
    assert "05" in answer.hits[0].text


def test_accented_and_unaccented_questions_rank_the_same_document_first(service):
    accented = service.answer("Quy định những điều đảng viên không được làm")
    plain = service.answer("quy dinh nhung dieu dang vien khong duoc lam")
    assert accented.found and plain.found
    assert accented.hits[0].doc_id == plain.hits[0].doc_id == \
        "tin-noichinh-quy-dinh-moi-dang-vien-khong-duoc-lam-2022"


def test_hits_carry_the_full_reference_of_their_document(service):
    answer = service.answer("Chỉ thị 03-CT/TW năm 2011 nêu mục đích gì")
    hit = next(h for h in answer.hits if h.doc_id == "ct-03-tw-2011")
    ref = hit.reference
    assert ref.doc_number == "03-CT/TW" and ref.issuer == "Bộ Chính trị" and ref.issued == "2011-05-14"
    assert ref.source_url.startswith("https://phuyen.gov.vn/")
    assert ref.title.startswith("Chỉ thị số 03-CT/TW")


def test_matched_words_are_marked_for_highlighting(service):
    answer = service.answer("biểu dương điển hình Anh Sơn")
    hit = answer.hits[0]
    assert hit.doc_id == "tin-anh-son-bieu-duong-43-dien-hinh-ct05"
    marked = {hit.text[a:b].lower() for a, b in hit.highlights}
    assert any("anh sơn" in m or m == "sơn" or m == "anh" for m in marked)
    assert any("biểu dương" in m or m == "dương" for m in marked)


def test_document_number_question_returns_a_card_with_the_citing_articles(service):
    for text in ("Kết luận 21", "KL 21", "ket luan 21-KL/TW"):
        answer = service.answer(text)
        assert answer.document is not None, text
        assert answer.document.doc_number == "21-KL/TW"
        assert answer.document.documents == ()  # the full text is not in the index
        assert "tin-quochoitv-quan-triet-kl21" in {h.doc_id for h in answer.document.mentions}
        assert answer.found and answer.hits[0].doc_id == "tin-quochoitv-quan-triet-kl21"
        assert "21-KL/TW" in answer.message


def test_number_of_an_indexed_document_returns_that_document(service):
    card = service.document_card("CT03")
    assert card is not None and card.doc_number == "03-CT/TW"
    assert [r.doc_id for r in card.documents] == ["ct-03-tw-2011"]
    answer = service.answer("chỉ thị số 03")
    assert answer.hits[0].doc_id == "ct-03-tw-2011"


def test_off_topic_question_is_answered_honestly_with_suggestions(service):
    answer = service.answer("Giá vàng hôm nay bao nhiêu một lượng")
    assert answer.status == "not_found"
    assert answer.hits == []
    assert answer.message == messages.NOT_FOUND
    assert answer.suggestions


def test_bad_questions_get_a_clear_vietnamese_message(service):
    cases = {
        "": messages.EMPTY_QUESTION,
        "   \n\t ": messages.EMPTY_QUESTION,
        "🙂🙂🙂": messages.NO_WORDS,
        "?!... ---": messages.NO_WORDS,
        "What does the party directive say about ethics?": messages.NOT_VIETNAMESE,
    }
    for text, message in cases.items():
        answer = service.answer(text)
        assert answer.status != "found" and answer.message == message, text
    long = service.answer("chỉ thị " * 1250)
    assert long.status == "invalid"
    assert "9999 ký tự" in long.message and str(service.config.retrieval.max_question_chars) in long.message
    assert service.answer(None).message == messages.EMPTY_QUESTION


def test_next_page_continues_the_ranking_without_repeating(service):
    first = service.answer("học tập và làm theo tư tưởng đạo đức phong cách Hồ Chí Minh", top_k=2)
    assert first.has_more
    second = service.answer("học tập và làm theo tư tưởng đạo đức phong cách Hồ Chí Minh", top_k=2, offset=2)
    assert second.offset == 2 and second.hits
    assert not {h.passage_id for h in first.hits} & {h.passage_id for h in second.hits}


def test_at_most_the_configured_passages_per_document(service):
    answer = service.answer("chỉ thị 05 học tập làm theo Bác", top_k=8)
    per_doc = {}
    for h in answer.hits:
        per_doc[h.doc_id] = per_doc.get(h.doc_id, 0) + 1
    assert max(per_doc.values()) <= service.config.retrieval.max_per_document


def test_passage_and_section_can_be_read_in_full(service):
    hit = service.answer("Chỉ thị 03 mục đích").hits[0]
    again = service.passage(hit.passage_id)
    assert again is not None and again.text == hit.text
    section = service.section(hit.passage_id)
    assert hit.passage_id in {h.passage_id for h in section}
    assert service.passage("no-such#9") is None and service.section("no-such#9") == []


def test_documents_lists_every_indexed_document(service):
    refs = service.documents()
    assert len(refs) == 8
    assert {r.doc_id for r in refs} >= CT05_DOCS


def test_plenum_reference_also_finds_the_resolution_it_issued(tmp_path):
    from conftest import make_workspace

    from bot.config import load_config
    from bot.service.answering import AnswerService

    svc = AnswerService(load_config(make_workspace(tmp_path, docs=[
        "tin-danviet-27-bieu-hien-suy-thoai-nq04.md", "tin-plo-diem-mat-bieu-hien-suy-thoai-nq04-2017.md",
        "tin-quochoitv-quan-triet-kl21.md"])))
    answer = svc.answer("NQ TW4 khóa XII")
    assert answer.document is not None and answer.document.mentions
    assert "Nghị quyết 04-NQ/TW" in answer.message
    assert answer.hits[0].doc_id.startswith(("tin-danviet", "tin-plo"))


def test_an_unknown_document_number_is_said_to_be_missing_and_nothing_unrelated_is_listed(service):
    answer = service.answer("Chỉ thị 99-CT/TW nói gì?")
    assert answer.status == "not_found" and not answer.hits and not answer.has_more
    assert "99-CT/TW" in answer.message and "chưa có" in answer.message
    assert answer.suggestions


def test_suggestions_name_documents_the_collection_holds_in_full_first(service):
    answer = service.answer("Chỉ thị 99-CT/TW nói gì?")
    held = {r.doc_number for r in service.documents() if r.doc_number}
    assert held and any(number in answer.suggestions[0] for number in held)
    assert "Chỉ thị 03-CT/TW" in answer.suggestions  # the one directive held in full in the sample


def test_a_place_named_only_in_a_documents_issuer_finds_its_passages(tmp_path):
    """"Bắc Kạn" is in the article's issuer only, not in its title or text."""
    from conftest import SAMPLE_DOCS, make_workspace

    from bot.config import load_config
    from bot.service.answering import AnswerService

    backan = "tin-backan-day-manh-xay-dung-chinh-don-dang-2022"
    svc = AnswerService(load_config(make_workspace(tmp_path, docs=[*SAMPLE_DOCS, backan + ".md"])))
    answer = svc.answer("Bắc Kạn đã làm gì để thực hiện Chỉ thị 05?")
    assert answer.found and answer.hits[0].doc_id == backan
    assert svc.answer("bac kan xay dung chinh don dang").hits[0].doc_id == backan


def test_a_documents_number_and_date_are_searchable_in_its_passages(service):
    ranked = service.search("14/5/2011", limit=3)  # ct-03-tw-2011 was issued on 2011-05-14
    assert ranked and ranked[0].document.doc_id == "ct-03-tw-2011"
