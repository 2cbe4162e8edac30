"""The Retriever (bot/retrieval/search.py): parts given to its constructor, Match values, top-k selection."""

from __future__ import annotations

import numpy as np
import pytest

from bot.config import load_config
from bot.retrieval.build import build_index
from bot.retrieval.search import Retriever
from bot.retrieval.versions import current_dir
from bot.service.answering import AnswerService


@pytest.mark.parametrize("n, k", [(1_000_000, 100), (200_000, 400), (50, 10), (100, 100)])
def test_top_k_finds_the_k_largest_scores_like_a_full_partition(n, k):
    from bot.retrieval.search import top_k

    rng = np.random.default_rng(n + k)
    for values in (rng.random(n).astype(np.float32), np.zeros(n, dtype=np.float32),
                   rng.integers(0, 3, n).astype(np.float32), np.arange(n, dtype=np.float32),
                   np.where(rng.random(n) < 0.001, rng.random(n), 0).astype(np.float32)):
        got = top_k(values, k)
        assert got.size == min(k, n) and np.unique(got).size == got.size
        want = np.sort(values)[::-1][:k]
        assert np.array_equal(np.sort(values[got])[::-1], want)


def test_a_loaded_version_keeps_answering_after_its_folder_is_removed(workspace):
    import shutil

    cfg = load_config(workspace)
    build_index(cfg)
    folder = current_dir(cfg.index.dir)
    retriever = Retriever.load(folder, cfg)
    doc_ids = sorted(d.doc_id for d in retriever.documents())
    # another process made a newer version current and pruned this one before this process reloaded
    shutil.rmtree(folder)
    assert sorted(d.doc_id for d in retriever.documents()) == doc_ids
    hits = retriever.search("Chỉ thị 05 yêu cầu gì", limit=3)
    assert hits and retriever.passage(hits[0].passage.passage_id).text


def test_the_document_list_is_read_once_per_served_version(workspace):
    from bot.service.answering import AnswerService

    service = AnswerService(load_config(workspace))
    first = service.documents()
    assert service.documents() is first and len(first) == 8
    knowledge = load_config(workspace).knowledge.dir
    (knowledge / "moi.txt").write_text("Bài mới về Kết luận 21\n\nNội dung Kết luận 21-KL/TW về xây dựng Đảng.\n",
                                       encoding="utf-8")
    service.reindex()
    second = service.documents()
    assert second is not first and len(second) == 9 and "moi" in {ref.doc_id for ref in second}
    assert service.has_document("moi") and not service.has_document("khong-co")


def test_search_returns_matches_with_their_passage_document_and_scores(service):
    matches = service.search("Chỉ thị 03-CT/TW năm 2011 nêu mục đích gì", limit=4)
    assert matches and len(matches) <= 4
    top = matches[0]
    assert top.document.doc_id == top.passage.doc_id == "ct-03-tw-2011"
    assert top.scores.fused >= matches[-1].scores.fused and top.scores.boosted
    assert 0.0 < top.scores.relevance <= 1.0 and top.scores.relevance == top.scores.relevance  # measured once
    fused = [m.scores.fused for m in matches]
    assert fused == sorted(fused, reverse=True)


def test_a_retriever_searches_with_the_parts_given_to_its_constructor(built_workspace):
    import dataclasses

    cfg = load_config(built_workspace)
    served = Retriever.load(current_dir(cfg.index.dir), cfg)

    class CountingDense:
        """Stands in for the dense index: counts the searches it is asked for."""

        def __init__(self, inner):
            self.inner, self.searches = inner, 0

        def search(self, qvec, k):
            self.searches += 1
            return self.inner.search(qvec, k)

        def vectors(self, ids):
            return self.inner.vectors(ids)

    counting = CountingDense(served.parts.dense)
    other = Retriever(dataclasses.replace(served.parts, dense=counting), cfg.retrieval, served.index_version)
    question = "đảng viên không được làm gì"
    assert [m.passage.passage_id for m in other.search(question)] == \
           [m.passage.passage_id for m in served.search(question)]
    assert counting.searches == 1 and other.version == served.version
    served.search(question)
    assert counting.searches == 1  # the served retriever kept its own dense index
