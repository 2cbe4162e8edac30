"""The dense index type (faiss.index): flat, HNSW and IVF built and searched through the real pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.config import ConfigError, FaissConfig, load_config
from bot.dense import index_type, make_index
from bot.index import build_index, current_dir, index_text
from bot.search import Retriever
from bot.service import AnswerService
from conftest import make_workspace

# ivf_nlist 4 and nprobe 2: a small corpus still gets clusters, and only half of them are searched
KINDS = {"flat": {"index": "flat"}, "hnsw": {"index": "hnsw", "hnsw_m": 8},
         "ivf": {"index": "ivf", "ivf_nlist": 4, "ivf_nprobe": 2}}


@pytest.fixture(scope="module", params=sorted(KINDS))
def built(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"dense-{request.param}")
    cfg = load_config(make_workspace(folder, faiss=KINDS[request.param]))
    build_index(cfg)
    return request.param, cfg


def test_manifest_records_the_configured_index_type(built):
    kind, cfg = built
    manifest = json.loads((current_dir(cfg.index.dir) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["faiss_index"]["type"] == kind


def test_each_index_type_answers_directive_03_by_number_and_by_words(built):
    _kind, cfg = built
    service = AnswerService(cfg, build_if_missing=False)
    assert service.answer("Chỉ thị 03 mục đích là gì?").hits[0].reference.doc_number == "03-CT/TW"
    assert service.answer("chi thi 03 muc dich la gi").hits[0].reference.doc_number == "03-CT/TW"


def test_dense_only_search_finds_a_passage_from_its_own_text(built):
    _kind, cfg = built
    retriever = Retriever.load(current_dir(cfg.index.dir), cfg)
    target = len(retriever.passages) // 2
    p = retriever.passages[target]
    ranked = retriever.search(index_text(retriever.documents[p.doc_id], p), limit=3, lexical_weight=0.0,
                              dense_weight=1.0)
    assert ranked[0].idx == target and ranked[0].dense == pytest.approx(1.0)


def test_reconstruct_returns_the_stored_passage_vectors(built):
    _kind, cfg = built
    retriever = Retriever.load(current_dir(cfg.index.dir), cfg)
    rows = np.arange(0, retriever.size, 3, dtype=np.int64)
    stored = retriever._dense.reconstruct_batch(rows)
    texts = [index_text(retriever.documents[retriever.passages[i].doc_id], retriever.passages[i]) for i in rows]
    fresh = retriever.embedder.encode_passages(texts)
    assert np.allclose((stored * fresh).sum(axis=1), 1.0, atol=1e-3)
    assert np.allclose(retriever._dense.reconstruct(int(rows[-1])), stored[-1])


def test_reindex_of_an_approximate_index_reuses_its_vectors(tmp_path):
    cfg = load_config(make_workspace(tmp_path, faiss=KINDS["ivf"]))
    first = build_index(cfg)
    (cfg.knowledge.dir / "moi.txt").write_text(
        "Bài mới về Kết luận 01\n\nĐảng ủy xã tổ chức sơ kết một năm thực hiện Kết luận 01-KL/TW.\n",
        encoding="utf-8")
    again = build_index(cfg)
    assert again.embedded_passages == 1 and again.reused_passages == first.passages
    assert AnswerService(cfg, build_if_missing=False).answer("Đảng ủy xã sơ kết một năm").hits[0].doc_id == "moi"


def test_auto_uses_flat_up_to_flat_max_and_hnsw_above():
    cfg = FaissConfig(index="auto", flat_max=100)
    assert index_type(100, cfg) == "flat"
    assert index_type(101, cfg) == "hnsw"
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((150, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert type(make_index(vectors[:100], cfg)).__name__ == "IndexFlatIP"
    assert type(make_index(vectors, cfg)).__name__ == "IndexHNSWFlat"


def test_small_workspace_with_default_config_gets_a_flat_index(workspace):
    cfg = load_config(workspace)
    build_index(cfg)
    manifest = json.loads((current_dir(cfg.index.dir) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["passages"] < cfg.faiss.flat_max and manifest["faiss_index"] == {"type": "flat"}


def test_unknown_index_type_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="faiss.index must be auto | flat | hnsw | ivf, got 'annoy'"):
        load_config(make_workspace(tmp_path, docs=[], faiss={"index": "annoy"}))
