"""The index folder's versions (bot/retrieval/versions.py): one build at a time, switching, rollback."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.config import load_config
from bot.retrieval.build import build_index
from bot.retrieval.versions import BuildError, build_lock, current_version
from bot.service.answering import AnswerService


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


def test_missing_index_is_built_on_first_use(workspace):
    cfg = load_config(workspace)
    assert current_version(cfg.index.dir) is None
    service = AnswerService(cfg)
    assert service.answer("quy định 37 đảng viên không được làm").found
