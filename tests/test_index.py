"""Index versions: built beside the old one, switched atomically, refused when stale or corrupted."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from bot.config import load_config
from bot.retrieval.build import build_index
from bot.retrieval.version import IndexUnavailable
from bot.retrieval.versions import BuildError, build_lock, current_dir, current_version, list_versions
from bot.retrieval.search import Retriever
from bot.service.answering import AnswerService


def test_build_writes_a_verified_version_and_points_current_at_it(workspace):
    cfg = load_config(workspace)
    report = build_index(cfg)
    assert current_version(cfg.index.dir) == report.version
    folder = current_dir(cfg.index.dir)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["documents"] == report.documents == 8
    assert manifest["passages"] == report.passages > 8
    assert manifest["model"] == "builtin" and manifest["dim"] == cfg.embedding.dim
    assert (folder / "model" / "modules.json").exists()  # an ordinary sentence-transformers folder
    assert sorted(report.added) == sorted(manifest["doc_hashes"])


def test_rebuild_keeps_the_previous_version_and_reports_changes(workspace):
    cfg = load_config(workspace)
    first = build_index(cfg)
    kdir = cfg.knowledge.dir
    (kdir / "tin-khanhhoa-thuc-hien-nghiem-quy-dinh-08-2019.md").unlink()
    doc = kdir / "ct-03-tw-2011.md"
    doc.write_text(doc.read_text(encoding="utf-8") + "\nĐoạn bổ sung về việc nêu gương.\n", encoding="utf-8")
    (kdir / "moi.txt").write_text("Bài mới về Kết luận 01\n\nNội dung Kết luận 01-KL/TW về nêu gương.\n",
                                  encoding="utf-8")
    second = build_index(cfg)
    assert second.added == ["moi"]
    assert second.changed == ["ct-03-tw-2011"]
    assert second.removed == ["tin-khanhhoa-thuc-hien-nghiem-quy-dinh-08-2019"]
    assert len(second.unchanged) == 6
    assert list_versions(cfg.index.dir) == sorted([first.version, second.version])
    (kdir / "moi.txt").write_text("Bài mới về Kết luận 01\n\nNội dung đã sửa về nêu gương.\n", encoding="utf-8")
    third = build_index(cfg)
    assert third.changed == ["moi"]
    assert list_versions(cfg.index.dir) == sorted([second.version, third.version])  # keep_versions: 2


def test_an_unchanged_collection_makes_no_new_version_and_keeps_the_rollback_point(workspace):
    cfg = load_config(workspace)  # keep_versions: 2
    first = build_index(cfg)
    doc = cfg.knowledge.dir / "ct-03-tw-2011.md"
    doc.write_text(doc.read_text(encoding="utf-8") + "\nĐoạn bổ sung về việc nêu gương.\n", encoding="utf-8")
    second = build_index(cfg)
    for _ in range(2):  # two runs in a row with nothing changed
        again = build_index(cfg)
        assert again.unchanged_collection and again.version == second.version
        assert again.embedded_passages == 0 and not again.added and not again.changed and not again.removed
        assert len(again.unchanged) == second.documents
    assert list_versions(cfg.index.dir) == sorted([first.version, second.version])
    assert current_version(cfg.index.dir) == second.version
    from bot.retrieval.versions import rollback

    assert rollback(cfg) == first.version  # the rollback point is still there


@pytest.mark.parametrize("change", ["full", "settings", "lists"])
def test_a_changed_setting_or_list_or_full_still_makes_a_new_version(workspace, change):
    cfg = load_config(workspace)
    first = build_index(cfg)
    if change == "settings":
        cfg.chunking.max_words += 20
    elif change == "lists":
        (cfg.knowledge.dir / "_understanding.yaml").write_text("abbreviations:\n  xyz: xã ý zê\n", encoding="utf-8")
    report = build_index(cfg, full=change == "full")
    assert not report.unchanged_collection and report.version != first.version
    assert current_version(cfg.index.dir) == report.version


def test_failed_build_leaves_the_current_index_serving(workspace):
    cfg = load_config(workspace)
    good = build_index(cfg)
    service = AnswerService(cfg, build_if_missing=False)
    for path in cfg.knowledge.dir.iterdir():
        path.write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(BuildError, match="nothing to index"):
        service.reindex()
    assert current_version(cfg.index.dir) == good.version
    assert service.answer("Kết luận 21").found


def test_second_concurrent_build_is_refused_with_a_clear_message(workspace):
    cfg = load_config(workspace)
    with build_lock(cfg.index.dir):
        errors = []
        t = threading.Thread(target=lambda: errors.append(_try_build(cfg)))
        t.start()
        t.join(60)
    assert errors and "another reindex is running" in errors[0]


def _try_build(cfg) -> str:
    try:
        build_index(cfg)
    except BuildError as exc:
        return str(exc)
    return ""


def test_index_built_with_another_model_setting_is_refused(built_workspace, tmp_path):
    cfg = load_config(built_workspace)
    cfg.embedding.dim = 64
    with pytest.raises(IndexUnavailable, match="run `directive-bot index` to rebuild"):
        Retriever.load(current_dir(cfg.index.dir), cfg)


def test_truncated_index_file_is_detected(workspace):
    cfg = load_config(workspace)
    build_index(cfg)
    faiss_file = current_dir(cfg.index.dir) / "dense.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    with pytest.raises(IndexUnavailable, match="truncated or corrupted"):
        AnswerService(cfg)


def test_missing_index_is_built_on_first_use(workspace):
    cfg = load_config(workspace)
    assert current_version(cfg.index.dir) is None
    service = AnswerService(cfg)
    assert service.answer("quy định 37 đảng viên không được làm").found


def test_running_service_picks_up_a_version_switched_by_another_builder(workspace):
    cfg = load_config(workspace)
    service = AnswerService(cfg)
    before = service.info().version
    assert not service.answer("Nghị quyết 04-NQ/TW suy thoái tư tưởng chính trị").document.documents
    repo_doc = Path(__file__).resolve().parents[1] / "knowledge" / "tin-danviet-27-bieu-hien-suy-thoai-nq04.md"
    text = repo_doc.read_text(encoding="utf-8").replace('doc_number: ""', 'doc_number: "04-NQ/TW"')
    (cfg.knowledge.dir / repo_doc.name).write_text(text, encoding="utf-8")
    build_index(load_config(workspace))  # as another process would
    assert service.reload_if_changed()
    assert service.info().version != before
    card = service.answer("Nghị quyết 04-NQ/TW suy thoái tư tưởng chính trị").document
    assert [r.doc_id for r in card.documents] == ["tin-danviet-27-bieu-hien-suy-thoai-nq04"]


def test_reindex_embeds_only_new_and_changed_passages(workspace):
    cfg = load_config(workspace)
    first = build_index(cfg)
    assert first.embedded_passages == first.passages and first.rebuilt_reason == "first build"
    unchanged = build_index(cfg)
    assert unchanged.embedded_passages == 0 and unchanged.reused_passages == unchanged.passages
    (cfg.knowledge.dir / "moi.txt").write_text(
        "Bài mới về Kết luận 01\n\nĐảng ủy xã tổ chức sơ kết một năm thực hiện Kết luận 01-KL/TW.\n",
        encoding="utf-8")
    added = build_index(cfg)
    assert added.added == ["moi"] and added.embedded_passages == 1
    assert added.reused_passages == unchanged.passages
    assert AnswerService(cfg, build_if_missing=False).answer("Đảng ủy xã sơ kết một năm").hits[0].doc_id == "moi"


def test_changed_embedding_settings_rebuild_everything_and_say_why(workspace):
    cfg = load_config(workspace)
    build_index(cfg)
    cfg.embedding.dim = 64
    report = build_index(cfg)
    assert "embedding settings changed" in report.rebuilt_reason
    assert report.embedded_passages == report.passages
    assert AnswerService(cfg, build_if_missing=False).info().dim == 64


def test_rollback_makes_the_previous_version_current_again(workspace):
    from bot.retrieval.versions import rollback

    cfg = load_config(workspace)
    first = build_index(cfg)
    (cfg.knowledge.dir / "moi.txt").write_text("Bài mới\n\nNội dung bài mới về nêu gương.\n", encoding="utf-8")
    second = build_index(cfg)
    service = AnswerService(cfg, build_if_missing=False)
    assert service.info().version == second.version
    assert rollback(cfg) == first.version
    assert current_version(cfg.index.dir) == first.version
    assert service.reload_if_changed() and service.info().version == first.version
    with pytest.raises(BuildError, match="no earlier index version"):
        rollback(cfg)


def test_admins_understanding_file_is_picked_up_by_the_index_and_a_mistake_keeps_the_old_index(workspace):
    cfg = load_config(workspace)
    first = build_index(cfg)
    lists = cfg.knowledge.dir / "_understanding.yaml"
    lists.write_text("abbreviations:\n  NĐTT: những điều đảng viên không được làm\n", encoding="utf-8")
    build_index(cfg)
    answer = AnswerService(cfg, build_if_missing=False).answer("NĐTT mới có gì")
    assert answer.understood == "những điều đảng viên không được làm mới có gì"
    assert answer.hits[0].doc_id == "tin-noichinh-quy-dinh-moi-dang-vien-khong-duoc-lam-2022"
    current = current_version(cfg.index.dir)
    lists.write_text("abbreviations:\n  - just a list item\n", encoding="utf-8")
    with pytest.raises(BuildError, match="_understanding.yaml"):
        build_index(cfg)
    assert current_version(cfg.index.dir) == current != first.version


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
