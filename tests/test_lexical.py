"""The lexical index (bot/retrieval/lexical.py): bm25s's scores, built in bulk, postings read on demand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def test_bulk_built_lexical_index_scores_exactly_like_bm25s():
    import bm25s
    import numpy as np

    from bot.retrieval.lexical import LexicalIndex
    from bot.documents.vietnamese import search_tokens

    texts = [p.read_text(encoding="utf-8") for p in sorted((Path(__file__).resolve().parents[1] / "knowledge")
                                                           .glob("tin-*.md"))[:20]]
    corpus = [search_tokens(t, folded=True) for t in texts]
    reference = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    reference.index(corpus, show_progress=False)
    ours = LexicalIndex()
    ours.index(corpus, show_progress=False)
    for question in ("chi thi 05 yeu cau gi", "dang vien khong duoc lam", "ket luan 21", "xyz"):
        q = search_tokens(question, folded=True)
        assert np.allclose(reference.get_scores(q), ours.get_scores(q), atol=1e-5)


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


def test_bm25s_is_the_pinned_version_and_still_has_the_internals_lexical_py_relies_on(tmp_path):
    """bot/retrieval/lexical.py overrides bm25s.BM25's build and scoring methods and reads its saved files
    by name: a bm25s release that changes any of these must fail here, loudly, not give wrong scores."""
    import inspect
    import tomllib
    from importlib.metadata import version

    import bm25s
    from packaging.requirements import Requirement

    from bot.retrieval.lexical import LexicalBuilder, LexicalIndex, read_runs

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    pinned = next(Requirement(r) for r in pyproject["project"]["dependencies"] if r.startswith("bm25s"))
    assert version("bm25s") in pinned.specifier, f"bm25s {version('bm25s')} is outside the tested {pinned}"
    # the methods overridden, with the parameters bm25s calls them with
    wants = {"build_index_from_ids": ["unique_token_ids", "corpus_token_ids"],
             "build_index_from_tokens": ["corpus_tokens"],
             "get_scores_from_ids": ["query_tokens_ids", "weight_mask"]}
    for name, params in wants.items():
        got = list(inspect.signature(getattr(bm25s.BM25, name)).parameters)
        assert got[1:1 + len(params)] == params, f"bm25s.BM25.{name}{got} changed"
    # bm25s's own indexing goes through the overridden build, and scoring through get_scores_from_ids
    index = LexicalIndex()
    index.index([["a", "b"], ["b", "c", "c"]], show_progress=False)
    assert index.scores["num_docs"] == 2 and set(index.scores) >= {"data", "indices", "indptr"}
    builder = LexicalBuilder()
    builder.add([["a", "b", "a"], ["b", "c"]])
    built = LexicalIndex.from_builder(builder)
    built.save(str(tmp_path / "lex"))
    np.save(tmp_path / "lex" / "lengths.npy", builder.lengths)
    names = {p.name for p in (tmp_path / "lex").iterdir()}
    assert names >= {"params.index.json", "vocab.index.json", "indptr.csc.index.npy", "data.csc.index.npy",
                     "indices.csc.index.npy"}, names
    params = json.loads((tmp_path / "lex" / "params.index.json").read_text(encoding="utf-8"))
    assert {"k1", "b", "num_docs"} <= set(params)
    vocab, matrix, lengths = read_runs(tmp_path / "lex")  # the files read back by name
    assert matrix.shape == (2, 3) and list(lengths) == [3, 2]
    assert np.allclose(LexicalIndex.load(str(tmp_path / "lex")).get_scores(["b"]), built.get_scores(["b"]))


def test_the_idf_formula_is_lucenes():
    from bot.retrieval.lexical import bm25_idf

    assert bm25_idf(10, 1) == pytest.approx(np.log(1 + 9.5 / 1.5))
    assert np.allclose(bm25_idf(10, np.array([0, 10])), np.log(1 + np.array([10.5 / 0.5, 0.5 / 10.5])))
