"""The domain classifier (bot/retrieval/classifier.py): trained at index time on the collection against
general text, it rejects weakly covered questions whose words are general text's, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from bot.documents import vietnamese
from bot.retrieval import classifier
from test_domain import IN_DOMAIN, no_classifier, services  # noqa: F401  (module fixtures)

# held-out off-topic questions (tests/data/offtopic.jsonl, offtopic_heldout.jsonl) that share words with the
# collection, that the relevance threshold and the domain check both let through
CAUGHT = ["Học tập ở Nhật Bản cần chuẩn bị những giấy tờ gì?",
          "Lương tối thiểu vùng năm 2025 tăng bao nhiêu?",
          "Cách kỷ luật con khi con nói dối mà không cần đánh mắng",
          "Chất chỉ thị màu trong phòng thí nghiệm hóa học là gì?",
          "Khu vực 2 được cộng bao nhiêu điểm ưu tiên khi xét tuyển đại học?"]
# in-domain questions whose best passage covers them least (relevance under classifier.RELEVANCE)
WEAKLY_COVERED = ["Được giới thiệu người khác vào Đảng thì phải quen biết họ bao lâu?",
                  "Văn bản nào ban hành năm 2021 liệt kê những việc đảng viên bị cấm làm?",
                  "đv dự bị bao lâu thì lên chính thức"]


@pytest.mark.parametrize("question", CAUGHT)
def test_offtopic_questions_the_domain_check_lets_through_are_rejected(services, no_classifier, question):  # noqa: F811
    assert no_classifier.answer(question).status == "found"
    answer = services[0].answer(question)
    assert answer.status == "not_found" and not answer.hits


@pytest.mark.parametrize("question", WEAKLY_COVERED + IN_DOMAIN)
def test_weakly_covered_questions_about_the_collection_are_kept(services, question):  # noqa: F811
    assert services[0].answer(question).status == "found"


def test_a_document_number_skips_the_classifier(services):  # noqa: F811
    answer = services[0].answer("Học tập Chỉ thị 05 ở Nhật Bản cần giấy tờ gì?")
    assert answer.status == "found"


def test_the_classifier_is_trained_at_index_time_and_saved_with_the_version(services):  # noqa: F811
    r = services[0].retriever
    path = r.index_version.path(classifier.CLASSIFIER)
    assert path.is_file()
    model = classifier.DomainClassifier.load(path)
    assert model.separation >= classifier.SEPARATION
    terms = r.terms("Lương tối thiểu vùng năm 2025 tăng bao nhiêu?")
    party = r.terms("Đảng viên dự bị được chuyển chính thức khi nào?")
    assert model.logit(terms.relevance_tokens) < classifier.FLOOR < model.logit(party.relevance_tokens)
    assert model.logit(["2025", "10_2022"]) is None  # no content word: no opinion


def test_a_small_collection_gets_no_classifier(service):
    r = service.retriever
    assert r.size < classifier.MIN_PASSAGES
    assert not r.index_version.path(classifier.CLASSIFIER).exists()
    assert r.classifier_logit(r.terms("Lương tối thiểu vùng năm 2025 tăng bao nhiêu?")) is None
    assert classifier.fit(r.size, lambda i: "", [], lambda t: 0, lambda t: 1.0) is None


def test_training_is_deterministic_and_learns_the_collections_words(tmp_path):
    """Two fits on the same text give the same weights; a collection of one field's text scores its own
    words above general text's, and the saved model scores the same."""
    rng = np.random.default_rng(0)
    field = ["đảng viên", "chi bộ", "nghị quyết", "kết nạp", "sinh hoạt đảng", "cấp ủy", "kiểm tra", "giám sát"]
    texts = [" ".join(rng.choice(field, 8)) for _ in range(300)]
    known = {t for x in texts for t in vietnamese.search_tokens(x, folded=True)}

    def fit():
        return classifier.fit(len(texts), texts.__getitem__, [], lambda t: 150 if t in known else 0, lambda t: 1.0)

    first, second = fit(), fit()
    assert first is not None and np.array_equal(first.weights, second.weights) and first.bias == second.bias
    own = first.logit(["dang_vien", "chi_bo", "ket_nap"])
    general = first.logit(["thoi_tiet", "gia_vang", "bong_da"])
    assert own > 0 > general
    first.save(tmp_path / classifier.CLASSIFIER)
    again = classifier.DomainClassifier.load(tmp_path / classifier.CLASSIFIER)
    assert again.logit(["dang_vien", "chi_bo"]) == pytest.approx(first.logit(["dang_vien", "chi_bo"]), abs=1e-5)


def test_turning_the_classifier_on_or_off_makes_the_next_index_a_real_build(built_workspace):
    import dataclasses

    from bot.config import load_config
    from bot.retrieval.build import _understanding_lists, inputs_key

    cfg = load_config(built_workspace)
    off = dataclasses.replace(cfg, retrieval=dataclasses.replace(cfg.retrieval, domain_classifier=False))
    lists = _understanding_lists(cfg)
    assert inputs_key(cfg, ["a"], [], lists) != inputs_key(off, ["a"], [], lists)
