"""Passages and documents read from disk on demand, and the streamed lexical build (issue 7)."""

from __future__ import annotations

import json
from pathlib import Path

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


