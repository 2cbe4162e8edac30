"""The index build (bot/retrieval/build.py): what it writes, what it reuses, when it makes no new version."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.config import load_config
from bot.retrieval.build import build_index
from bot.retrieval.search import Retriever
from bot.retrieval.version import IndexUnavailable
from bot.retrieval.versions import BuildError, current_dir, current_version, list_versions
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
