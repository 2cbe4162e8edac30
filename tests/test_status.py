"""Status metadata: front matter and sidecar fields, what a text says about itself, links in a collection."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.documents.loading import load_knowledge
from bot.documents.status import implemented_name

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "knowledge"


def _without_fields(text: str, *names: str) -> str:
    """The front matter without the given fields (and their list items)."""
    out, skipping = [], False
    for line in text.split("\n"):
        if any(line.startswith(f"{n}:") for n in names):
            skipping = True
            continue
        if skipping and line.startswith("- "):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out)


def test_front_matter_status_fields_are_read_in_canonical_form(tmp_path):
    (tmp_path / "qd.md").write_text(
        "---\nid: qd-47\ntitle: Quy định về những điều đảng viên không được làm\ndoc_number: 47-QĐ/TW\n"
        "replaces: 'QĐ 115'\nreplaced_by: Quy định 37-QĐ/TW\nstatus: Het hieu luc\neffective: 2011-11-01\n---\n"
        "Nội dung quy định.\n", encoding="utf-8")
    (doc,) = load_knowledge(tmp_path).documents
    assert doc.replaces == ("115-QĐ/TW",) and doc.replaced_by == "37-QĐ/TW"
    assert doc.status == "hết hiệu lực" and doc.effective == "2011-11-01"


def test_a_wrong_status_is_reported_and_the_other_documents_are_indexed(tmp_path):
    (tmp_path / "bad.md").write_text("---\nid: bad\ntitle: T\nstatus: sắp hết\n---\nNội dung.\n", encoding="utf-8")
    (tmp_path / "good.md").write_text("---\nid: good\ntitle: T\n---\nNội dung.\n", encoding="utf-8")
    result = load_knowledge(tmp_path)
    assert [d.doc_id for d in result.documents] == ["good"]
    assert result.failures[0].path == "bad.md" and "status 'sắp hết'" in result.failures[0].reason


def test_sidecar_sets_status_of_a_file_without_front_matter(tmp_path):
    (tmp_path / "ct.txt").write_text("Chỉ thị thử\nNội dung chỉ thị.\n", encoding="utf-8")
    (tmp_path / "ct.yaml").write_text("doc_number: 05-CT/TW\nstatus: còn hiệu lực\nreplaces: [06-CT/TW]\n",
                                      encoding="utf-8")
    (doc,) = load_knowledge(tmp_path).documents
    assert doc.status == "còn hiệu lực" and doc.replaces == ("06-CT/TW",)


def test_a_guide_that_says_it_replaces_another_records_it_and_the_old_one_is_marked(tmp_path):
    text = (KNOWLEDGE / "huong-dan-06-hd-tw-2025.md").read_text(encoding="utf-8")
    (tmp_path / "hd06.md").write_text(_without_fields(text, "replaces"), encoding="utf-8")
    (tmp_path / "hd01.md").write_text("---\nid: hd-01\ntitle: Hướng dẫn thi hành Điều lệ Đảng (2021)\n"
                                      "doc_number: 01-HD/TW\n---\nNội dung cũ.\n", encoding="utf-8")
    docs = {d.doc_id: d for d in load_knowledge(tmp_path).documents}
    new, old = docs["huong-dan-06-hd-tw-2025"], docs["hd-01"]
    assert new.replaces == ("01-HD/TW",)  # "… thay thế Hướng dẫn số 01-HD/TW, ngày 28/9/2021 …"
    assert new.effective == "2025-06-09"  # "có hiệu lực thi hành kể từ ngày ký"
    assert old.replaced_by == "06-HD/TW" and old.status == "hết hiệu lực"
    assert new.replaced_by == "" and new.status == ""


def test_the_regulation_reads_its_effective_date_and_links_to_the_charter(tmp_path):
    text = (KNOWLEDGE / "quy-dinh-294-qd-tw-2025.md").read_text(encoding="utf-8")
    (tmp_path / "qd294.md").write_text(_without_fields(text, "effective"), encoding="utf-8")
    (doc,) = load_knowledge(tmp_path).documents
    assert doc.effective == "2025-07-01" and doc.implements == "Điều lệ Đảng"
    shutil.copy(KNOWLEDGE / "dieu-le-dang-2011.md", tmp_path)
    docs = {d.doc_id: d for d in load_knowledge(tmp_path).documents}
    assert docs["quy-dinh-294-qd-tw-2025"].implements == "dieu-le-dang-2011"
    assert docs["dieu-le-dang-2011"].implements == "" and docs["dieu-le-dang-2011"].doc_type == "dieu-le"


def test_the_shipped_collection_links_both_texts_to_the_charter():
    docs = {d.doc_id: d for d in load_knowledge(KNOWLEDGE).documents}
    for doc_id, number in (("quy-dinh-294-qd-tw-2025", "24-QĐ/TW"), ("huong-dan-06-hd-tw-2025", "01-HD/TW")):
        assert docs[doc_id].implements == "dieu-le-dang-2011" and docs[doc_id].replaces == (number,)
    assert docs["quy-dinh-294-qd-tw-2025"].doc_type == "quy-dinh"
    assert all(d.implements == "" for d in docs.values() if d.doc_type == "tin-tuc")


def test_titles_name_what_they_carry_out():
    assert implemented_name("Hướng dẫn một số vấn đề cụ thể thi hành Điều lệ Đảng") == "Điều lệ Đảng"
    assert implemented_name("Kế hoạch thực hiện Chỉ thị số 05-CT/TW của Bộ Chính trị") == "05-CT/TW"
    assert implemented_name("Quy định về những điều đảng viên không được làm") == ""


def test_status_file_gives_the_status_of_numbers_only_cited_and_links_held_documents(tmp_path):
    (tmp_path / "_status.yaml").write_text("37-QĐ/TW:\n  replaces: [QĐ 47]\n  effective: 2021-10-25\n"
                                           "QĐ 99:\n  status: không rõ\nkhông phải số: {}\n", encoding="utf-8")
    (tmp_path / "qd47.md").write_text("---\nid: qd-47\ntitle: Quy định 47\ndoc_number: 47-QĐ/TW\n---\nNội dung.\n",
                                      encoding="utf-8")
    result = load_knowledge(tmp_path)
    (doc,) = result.documents
    assert doc.replaced_by == "37-QĐ/TW" and doc.status == "hết hiệu lực"
    assert result.numbers["37-QĐ/TW"] == {"replaces": ("47-QĐ/TW",), "effective": "2021-10-25"}
    assert result.numbers["47-QĐ/TW"] == {"replaced_by": "37-QĐ/TW", "status": "hết hiệu lực"}
    # a wrong entry is reported and left out; the rest is used
    reasons = [f.reason for f in result.failures if f.path == "_status.yaml"]
    assert len(reasons) == 2 and any("99-QĐ/TW" in r and "status" in r for r in reasons)


def test_the_shipped_status_file_flags_regulation_47_and_the_index_keeps_it(tmp_path):
    from bot.retrieval.store import StoreWriter, open_store

    result = load_knowledge(KNOWLEDGE)
    assert result.numbers["47-QĐ/TW"]["replaced_by"] == "37-QĐ/TW"
    assert result.numbers["24-QĐ/TW"] == {"replaced_by": "294-QĐ/TW", "status": "hết hiệu lực"}
    assert result.numbers["01-HD/TW"]["replaced_by"] == "06-HD/TW"
    writer = StoreWriter(tmp_path, number_status=result.numbers)
    writer.close()
    stored = open_store(tmp_path).number_status
    assert stored["qd-47"] == {"number": "47-QĐ/TW", "replaced_by": "37-QĐ/TW", "status": "hết hiệu lực"}
    assert stored["qd-37"]["replaces"] == ["47-QĐ/TW"]


def test_a_change_of_the_status_file_alone_makes_a_new_index_version_that_keeps_it(tmp_path):
    from bot.config import load_config
    from bot.retrieval.build import build_index
    from bot.retrieval.store import open_store
    from bot.retrieval.versions import current_dir
    from tests.conftest import make_workspace

    cfg = load_config(make_workspace(tmp_path, docs=["tin-ttbd-quy-dinh-37-tu-soi-tu-sua-2021.md"]))
    first = build_index(cfg)
    assert build_index(cfg).unchanged_collection
    shutil.copy(KNOWLEDGE / "_status.yaml", tmp_path / "knowledge")
    second = build_index(cfg)
    assert not second.unchanged_collection and second.version != first.version
    status = open_store(current_dir(cfg.index.dir)).number_status
    assert status["qd-47"]["replaced_by"] == "37-QĐ/TW"
