"""Passages and documents read from disk on demand, and the streamed lexical build (issue 7)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.config import load_config
from bot.documents.loading import load_knowledge
from bot.retrieval.build import build_index
from bot.retrieval.version import IndexUnavailable
from bot.retrieval.versions import current_dir
from bot.retrieval.search import Retriever
from bot.retrieval.store import ARRAYS, PASSAGES, open_store


@pytest.fixture(scope="module")
def folder(built_workspace) -> Path:
    return current_dir(load_config(built_workspace).index.dir)


def test_store_reads_back_every_passage_and_document_of_the_build(built_workspace, folder):
    cfg = load_config(built_workspace)
    store = open_store(folder)
    lines = [json.loads(x) for x in (folder / PASSAGES).read_text(encoding="utf-8").splitlines()]
    assert len(store.passages) == len(lines) > 8
    for i, line in enumerate(lines):
        p = store.passages[i]
        assert (p.passage_id, p.doc_id, p.text, p.section) == (line["passage_id"], line["doc_id"], line["text"],
                                                                line["section"])
        assert store.passage_ids.get(p.passage_id) == i
        assert i in store.doc_passages[p.doc_id]
        assert store.documents[p.doc_id].doc_id == p.doc_id
        assert store.documents.by_row(int(store.passage_docs[i])).doc_id == p.doc_id
    assert store.passages[-1].passage_id == lines[-1]["passage_id"]
    loaded = {d.doc_id: d for d in load_knowledge(cfg.knowledge.dir).documents}
    assert set(store.documents) == set(loaded) and len(store.documents) == len(loaded)
    for doc in store.documents.values():
        want = loaded[doc.doc_id]
        assert (doc.title, doc.doc_number, doc.issuer, doc.issued, doc.source_url) == \
               (want.title, want.doc_number, want.issuer, want.issued, want.source_url)
        assert doc.text == ""  # the passages hold the text
        # a document's passages, in order, are its whole text
        span = store.doc_passages[doc.doc_id]
        assert [store.passages[i].ordinal for i in span] == list(range(len(span)))


def test_unknown_ids_are_not_found(folder):
    store = open_store(folder)
    assert "khong-co" not in store.documents and store.documents.get("khong-co") is None
    with pytest.raises(KeyError):
        store.documents["khong-co"]
    assert store.doc_passages.get("khong-co", ()) == ()
    first = store.passages[0]
    for bad in ("khong-co#0", f"{first.doc_id}#999", first.doc_id, f"{first.doc_id}#x", ""):
        assert store.passage_ids.get(bad) is None
    with pytest.raises(IndexError):
        store.passages[len(store.passages)]


def test_document_numbers_point_at_their_documents_and_mentions(folder):
    store = open_store(folder)
    key = next(k for k, docs in store.doc_keys.items() if docs)
    for doc_id in store.doc_keys[key]:
        assert store.documents[doc_id].doc_number == store.number_names[key]
    for key, cited in store.mentions.items():
        assert list(cited) == sorted(cited)
        numbers = {store.number_names[key]}
        assert all(numbers & set(store.passages[int(i)].doc_numbers) for i in cited)


def test_a_store_whose_passages_file_does_not_match_its_offsets_is_refused(workspace):
    cfg = load_config(workspace)
    build_index(cfg)
    folder = current_dir(cfg.index.dir)
    with open(folder / PASSAGES, "ab") as fh:
        fh.write(b'{"extra": 1}\n')
    # caught by the checksums, and without them by the offsets
    with pytest.raises(IndexUnavailable, match="corrupted"):
        Retriever.load(folder, cfg)
    with pytest.raises(IndexUnavailable, match="passages.jsonl"):
        Retriever.load(folder, cfg, verify_files=False)
    (folder / ARRAYS).write_bytes(b"not numpy")
    with pytest.raises(IndexUnavailable, match="cannot be read"):
        Retriever.load(folder, cfg, verify_files=False)


def test_streamed_lexical_build_scores_exactly_like_bm25s_over_chunks():
    import bm25s

    from bot.retrieval.lexical import LexicalBuilder, LexicalIndex

    rng = np.random.default_rng(0)
    corpus = [[f"t{int(x)}" for x in rng.zipf(1.3, size=int(rng.integers(1, 300))) if x < 5000] or ["t1"]
              for _ in range(2500)]
    reference = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    reference.index(corpus, show_progress=False)
    builder = LexicalBuilder()
    for start in range(0, len(corpus), 700):  # chunks of uneven size
        builder.add(corpus[start:start + 700])
    ours = LexicalIndex.from_builder(builder)
    for query in (["t1", "t2", "t77"], ["t3000", "t5", "t5"], ["t4999"], ["nothing"]):
        assert np.allclose(reference.get_scores(query), ours.get_scores(query), atol=1e-5), query
    for token in ("t1", "t2", "t3000"):
        assert ours.document_frequency(token) == sum(token in set(doc) for doc in corpus)
    assert ours.document_frequency("nothing") == 0


def test_lexical_index_loaded_from_disk_reads_postings_on_demand_and_scores_the_same(tmp_path):
    from bot.retrieval.lexical import LexicalBuilder, LexicalIndex

    builder = LexicalBuilder()
    builder.add([["a", "b", "a"], ["b", "c"], ["c", "c", "d"], ["e"] * 3])
    built = LexicalIndex.from_builder(builder)
    built.save(str(tmp_path / "lex"))
    loaded = LexicalIndex.load(str(tmp_path / "lex"))
    assert "data" not in loaded.scores and "indices" not in loaded.scores  # neither in memory nor mapped
    for query in (["a"], ["c", "d"], ["b", "zz"], ["e", "a", "e"]):
        assert np.allclose(built.get_scores(query), loaded.get_scores(query))
    assert loaded.document_frequency("c") == 2
    # a postings file that changed under a loaded index is an error, never wrong scores
    data = next((tmp_path / "lex").glob("data*.npy"))
    data.write_bytes(data.read_bytes()[:128])  # the .npy header only
    with pytest.raises(OSError, match="short read"):
        loaded.get_scores(["e"])


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


def test_an_incremental_build_tokenizes_only_new_passages_and_scores_like_a_full_build(workspace, monkeypatch):
    from bot.documents import vietnamese
    from bot.retrieval.versions import list_versions, versions_dir

    cfg = load_config(workspace)
    build_index(cfg)
    kdir = cfg.knowledge.dir
    (kdir / "tin-khanhhoa-thuc-hien-nghiem-quy-dinh-08-2019.md").unlink()
    doc = kdir / "ct-03-tw-2011.md"
    doc.write_text(doc.read_text(encoding="utf-8") + "\nĐoạn bổ sung về việc nêu gương của đảng viên.\n",
                   encoding="utf-8")
    (kdir / "moi.txt").write_text("Bài mới về Kết luận 01\n\nNội dung Kết luận 01-KL/TW về học tập và làm theo "
                                  "tư tưởng, đạo đức, phong cách Hồ Chí Minh.\n", encoding="utf-8")
    calls = []
    real = vietnamese.search_token_streams
    monkeypatch.setattr(vietnamese, "search_token_streams", lambda text, *a: calls.append(text) or real(text, *a))
    incremental = build_index(cfg)
    monkeypatch.setattr(vietnamese, "search_token_streams", real)
    assert 0 < len(calls) < incremental.passages  # only the changed and new passages were tokenized
    full = build_index(cfg, full=True)
    a = Retriever.load(versions_dir(cfg.index.dir) / incremental.version, cfg)
    b = Retriever.load(versions_dir(cfg.index.dir) / full.version, cfg)
    assert [p.passage_id for p in a.passages()] == [p.passage_id for p in b.passages()]
    for question in ("chi thi 05 yeu cau gi", "nêu gương của đảng viên", "Kết luận 01-KL/TW học tập", "Quy định 08"):
        terms = b.terms(question)
        for tokens in (terms.folded_tokens, terms.accented_tokens):
            if tokens:
                stream = "lexical_folded" if tokens is terms.folded_tokens else "lexical_accented"
                assert np.allclose(getattr(a.parts, stream).get_scores(tokens),
                                   getattr(b.parts, stream).get_scores(tokens), atol=1e-5)
        # (the dense side differs: the incremental build kept the builtin model, the full one retrained it)
        assert [m.passage.passage_id for m in a.search(question, dense_weight=0.0)] == \
               [m.passage.passage_id for m in b.search(question, dense_weight=0.0)]
    assert len(list_versions(cfg.index.dir)) >= 2


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


def test_an_index_of_an_older_format_is_refused_or_rebuilt_once(workspace):
    from bot.retrieval.version import FORMAT as FORMAT_VERSION
    from bot.retrieval.versions import current_format
    from bot.service.answering import AnswerService

    cfg = load_config(workspace)
    build_index(cfg)
    manifest = current_dir(cfg.index.dir) / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps(data | {"format": 1}), encoding="utf-8")
    with pytest.raises(IndexUnavailable, match="run `directive-bot index`"):
        AnswerService(cfg, build_if_missing=False)
    service = AnswerService(cfg)  # what `ask`, `chat` and `serve` do: rebuild, then serve
    assert current_format(cfg.index.dir) == FORMAT_VERSION
    assert service.answer("Chỉ thị 05 yêu cầu gì").found


@pytest.mark.parametrize("damage", ["lexical_folded/data.csc.index.npy", "vectors.f32", "passage_hashes.txt"])
def test_a_damaged_current_version_is_not_reused_and_a_plain_reindex_repairs_it(workspace, damage):
    from bot.service.answering import AnswerService

    cfg = load_config(workspace)
    build_index(cfg)
    path = current_dir(cfg.index.dir) / damage
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IndexUnavailable, match="truncated or corrupted"):
        Retriever.load(current_dir(cfg.index.dir), cfg)
    said: list[str] = []
    report = build_index(cfg, progress=said.append)  # what the error message tells the admin to run
    assert report.rebuilt_reason.startswith("the current version is damaged") and damage in report.rebuilt_reason
    assert any("damaged" in line for line in said)
    assert report.embedded_passages == report.passages
    assert AnswerService(cfg, build_if_missing=False).answer("Chỉ thị 05 yêu cầu gì").found
