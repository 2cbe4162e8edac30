"""The domain check (bot/retrieval/domain.py): questions whose words are typical of general Vietnamese
text rather than of the collection are answered "nothing relevant"; questions about the collection,
document numbers and article lookups are not."""

from __future__ import annotations

import dataclasses

import pytest

from bot.config import load_config
from bot.retrieval import domain
from bot.service.answering import AnswerService

# off-topic questions that share a phrase with the collection: the word-overlap threshold lets them through
OFFTOPIC = ["Quán cà phê sáng nào ngon ở Thủ Dầu Một?",
            "Làm sao để giảm cân nhanh trong 1 tháng?",
            "Làm sao để nêu gương cho con nhỏ trong gia đình?"]
IN_DOMAIN = ["trong Hướng dẫn 06, chuyển sinh hoạt đảng tạm thời áp dụng khi nào",
             "công an hưng yên có bn mô hình hay",
             "lười học nghị quyết, học cho có được nhắc tới ở đâu",
             "mn ơi dân vận khéo ở tphcm có bn mô hình",
             "Tuổi tối đa để được kết nạp vào Đảng là bao nhiêu?",
             "Kết luận 21 được quán triệt trong Đảng đoàn Quốc hội như thế nào?",
             # they share "nghị quyết", "Bộ Chính trị", "Chỉ thị", "Điều lệ", "học tập" with off-topic questions
             # (offtopic.jsonl, offtopic_heldout.jsonl) and are among the least specific in-domain questions
             "Tình trạng đi học nghị quyết buổi sáng thì đông, buổi chiều thì vắng được nhắc tới ở đâu?",
             "Quy định về trách nhiệm nêu gương yêu cầu Ủy viên Bộ Chính trị, Ban Bí thư phải làm gì?",
             "Đảng ủy các cơ quan Đảng Trung ương tổng kết một thập kỷ Chỉ thị 05 ngày nào",
             "Ai có quyền sửa đổi Điều lệ Đảng?",
             "Việc học tập đạo đức, tác phong của Hồ Chủ tịch được phát động lần đầu tại Đại hội nào?"]
# held-out off-topic questions (tests/data/offtopic_heldout.jsonl) that share a phrase with the collection
# ("Chủ tịch Hồ Chí Minh", "chính trị", "nghị luận", "học"): the check rejects them
HELD_OUT = ["Vé tham quan Lăng Chủ tịch Hồ Chí Minh giá bao nhiêu, mở cửa mấy giờ?",
            "Tình hình chính trị Thái Lan hiện nay có ổn định không?",
            "Nghị luận về tinh thần tự học của học sinh, mở bài thế nào?"]


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    """An index of the shipped knowledge/ served with the domain check on and off."""
    from bot.retrieval.build import build_index

    from conftest import KNOWLEDGE, write_config

    path = write_config(tmp_path_factory.mktemp("domain"), knowledge={"dir": str(KNOWLEDGE)})
    build_index(load_config(path))
    on = AnswerService(load_config(path), build_if_missing=False)
    cfg = load_config(path)
    cfg.retrieval = dataclasses.replace(cfg.retrieval, domain_check=False, domain_classifier=False)
    return on, AnswerService(cfg, build_if_missing=False)


@pytest.fixture(scope="module")
def no_classifier(services):
    """The same index with the domain check on and the classifier's veto off."""
    cfg = dataclasses.replace(services[0].config)
    cfg.retrieval = dataclasses.replace(cfg.retrieval, domain_classifier=False)
    return AnswerService(cfg, build_if_missing=False)


@pytest.mark.parametrize("question", OFFTOPIC)
def test_offtopic_questions_sharing_a_phrase_are_rejected_only_with_the_check(services, question):
    on, off = services
    assert off.answer(question).status == "found"  # what the word-overlap threshold alone does
    answer = on.answer(question)
    assert answer.status == "not_found" and not answer.hits


@pytest.mark.parametrize("question", HELD_OUT)
def test_held_out_offtopic_questions_sharing_a_phrase_are_rejected(services, question):
    answer = services[0].answer(question)
    assert answer.status == "not_found" and not answer.hits


@pytest.mark.parametrize("question", IN_DOMAIN)
def test_questions_about_the_collection_are_kept(services, question):
    on, _ = services
    assert on.answer(question).status == "found"


def test_config_turns_the_check_off_and_validates_the_margin(built_workspace, tmp_path):
    cfg = load_config(built_workspace)
    assert cfg.retrieval.domain_check is True and 0 < cfg.retrieval.domain_margin < 1
    from bot.config import ConfigError

    bad = tmp_path / "config.yaml"
    bad.write_text("retrieval:\n  domain_margin: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="retrieval.domain_margin"):
        load_config(bad)


def test_log_odds_compare_the_collection_with_general_text():
    bg = domain.Background(texts=1000, floor=5, df={"dang_vien": 10, "thoi_tiet": 50, "hom": 300})
    # common in the collection, rare in general text: positive; the other way round: negative
    assert domain.token_log_odds("dang_vien", 50, 100, bg) > 1
    assert domain.token_log_odds("thoi_tiet", 0, 100, bg) < -1
    assert domain.token_log_odds("xyzzy", 0, 100, bg) is None  # seen nowhere: no evidence
    assert -domain.CLIP <= domain.token_log_odds("thoi_tiet", 0, 10**6, bg) <= domain.CLIP
    assert domain.content_tokens(["2022", "thoi", "thoi_tiet", "thoi", "10_2022"]) == ["thoi", "thoi_tiet"]


def test_the_floor_comes_from_the_collection_itself():
    """A collection of general text (its words as common there as in the background) gets a floor near
    zero; a collection of specialised text a high one."""
    bg = domain.Background(texts=1000, floor=5, df={"a": 900, "b": 900, "c": 900, "d": 5})
    general = ["a b c"] * 40
    special = ["d d d"] * 40

    def check(texts):
        df = {t: sum(t in x.split() for x in texts) for t in "abcd"}
        return domain.DomainCheck(lambda t: df.get(t, 0), len(texts), lambda t: 1.0, texts.__getitem__, bg)

    assert abs(check(general).median()) < 0.5
    assert check(special).median() > 2
    assert not check(general).off_topic(["a", "b"], 0.3)
    assert check(special).off_topic(["a", "b"], 0.3) and not check(special).off_topic(["d"], 0.3)


def test_the_build_measures_the_floor_once_and_serving_reads_it(services, tmp_path):
    """The collection's median is written into the index version, equal to what a serving process
    would measure itself; a version without the file (an older build) still measures it."""
    r = services[0].retriever
    stored = r.index_version.path(domain.MEDIAN_FILE)
    assert stored.is_file()
    fresh = domain.DomainCheck(r.parts.lexical_folded.document_frequency, r.size, r.token_idf, r._index_text)
    loaded = domain.DomainCheck(lambda t: 0, 1, lambda t: 1.0, lambda i: "")
    loaded.load_median(stored)
    assert loaded.median() == pytest.approx(fresh.median()) and fresh.median() > 1
    missing = domain.DomainCheck(r.parts.lexical_folded.document_frequency, r.size, r.token_idf, r._index_text)
    missing.load_median(tmp_path / "none.json")
    assert missing.median() == pytest.approx(fresh.median())


def test_the_background_table_is_shipped_and_small():
    assert domain.BACKGROUND.stat().st_size < 400_000
    bg = domain.background()
    assert bg.texts > 50_000 and len(bg.df) >= 30_000
    assert bg.share("thoi_tiet") > bg.share("dang_vien_du_bi" if "dang_vien_du_bi" in bg.df else "dang_vien")


def test_a_common_name_steers_to_the_document_it_means_not_to_an_article_with_that_number(services):
    on, _ = services
    terms = on.retriever.terms("19 điều cấm là gì")
    assert "qd-37" in terms.implied_keys and not terms.doc_keys  # meant, not named: no document card
    answer = on.answer("19 điều cấm là gì")
    assert answer.found and answer.document is None
    assert answer.hits[0].doc_id != "dieu-le-dang-2011"  # not "Chương IV › Điều 19"
    assert "37" in answer.hits[0].text or "37" in answer.hits[0].reference.title
    # a meant number never carries an off-topic question past the checks
    assert on.answer("Làm sao để nêu gương cho con nhỏ trong gia đình?").status == "not_found"
