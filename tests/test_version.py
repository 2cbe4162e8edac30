"""One index version (bot/retrieval/version.py): its manifest, checksums and format; refused when stale or damaged."""

from __future__ import annotations

import json

import pytest

from bot.config import load_config
from bot.retrieval.build import build_index
from bot.retrieval.search import Retriever
from bot.retrieval.version import IndexUnavailable
from bot.retrieval.versions import current_dir
from bot.service.answering import AnswerService


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


def test_a_sealed_version_records_every_file_and_opens_with_the_same_manifest(tmp_path):
    from bot.retrieval.version import MANIFEST, IndexVersion, Manifest

    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("alpha", encoding="utf-8")
    (tmp_path / "sub" / "b.bin").write_bytes(b"\x00\x01")
    sealed = IndexVersion.seal(tmp_path, Manifest(version="v1", documents=2, doc_hashes={"d": "h"}))
    assert set(sealed.manifest.files) == {"a.txt", "sub/b.bin"} and MANIFEST not in sealed.manifest.files
    opened = IndexVersion.open(tmp_path, keep_doc_hashes=True)
    assert opened.manifest == sealed.manifest and opened.damaged_file() is None
    assert IndexVersion.open(tmp_path).manifest.doc_hashes == {}  # not kept for serving
    (tmp_path / "sub" / "b.bin").write_bytes(b"\x00\x02")
    assert "corrupted" in opened.damaged_file()
    (tmp_path / "a.txt").unlink()
    assert "missing" in opened.damaged_file()


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '{"format": 3}'])
def test_an_unreadable_manifest_makes_the_version_unavailable(tmp_path, text):
    from bot.retrieval.version import MANIFEST, IndexVersion

    (tmp_path / MANIFEST).write_text(text, encoding="utf-8")
    with pytest.raises(IndexUnavailable, match="manifest.json is unreadable"):
        IndexVersion.open(tmp_path)
