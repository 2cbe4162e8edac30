"""Loading knowledge/: good files become documents, bad ones are reported with a reason and skipped."""

from __future__ import annotations

import json
from pathlib import Path

from bot.documents.loading import load_knowledge

GOOD = """---
id: ct-05-tw-2016
title: Chỉ thị số 05-CT/TW về đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh
doc_number: "05/CT-TW"
doc_type: chi-thi
issuer: Bộ Chính trị
issued: 2016-05-15
source_url: https://example.org/ct05
complete: false
---

Bộ Chính trị yêu cầu các cấp ủy, tổ chức đảng thực hiện tốt những nội dung sau.
"""


def write(folder: Path, name: str, content: str | bytes) -> None:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def test_real_knowledge_folder_loads_all_50_documents_without_failures():
    result = load_knowledge(Path(__file__).resolve().parents[1] / "knowledge")
    assert result.failures == []
    assert len(result.documents) == 50
    ct03 = next(d for d in result.documents if d.doc_id == "ct-03-tw-2011")
    assert ct03.doc_number == "03-CT/TW" and ct03.issued == "2011-05-14" and ct03.complete is False
    assert ct03.source_url.startswith("https://phuyen.gov.vn/")


def test_markdown_front_matter_fields_are_read_and_number_is_canonical(tmp_path):
    write(tmp_path, "ct05.md", GOOD)
    (doc,) = load_knowledge(tmp_path).documents
    assert doc.doc_id == "ct-05-tw-2016"
    assert doc.doc_number == "05-CT/TW"
    assert doc.issued == "2016-05-15"
    assert doc.issuer == "Bộ Chính trị"
    assert doc.text.startswith("Bộ Chính trị yêu cầu")


def test_txt_file_takes_its_title_from_the_first_line(tmp_path):
    write(tmp_path, "ghi-chu.txt", "Kết luận 21 về xây dựng Đảng\n\nNội dung kết luận về chỉnh đốn Đảng.\n")
    (doc,) = load_knowledge(tmp_path).documents
    assert doc.doc_id == "ghi-chu" and doc.title == "Kết luận 21 về xây dựng Đảng"
    assert doc.text.strip() == "Nội dung kết luận về chỉnh đốn Đảng."


def test_jsonl_bulk_file_loads_each_line_and_reports_bad_lines(tmp_path):
    lines = [
        json.dumps({"id": "a1", "title": "Bài một", "text": "Nội dung bài một."}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "a2", "title": "Bài hai", "text": ""}, ensure_ascii=False),
        json.dumps({"id": "a3", "title": "Bài ba", "text": "Nội dung bài ba.", "doc_number": "KL 21"},
                   ensure_ascii=False),
    ]
    write(tmp_path, "bulk.jsonl", "\n".join(lines) + "\n")
    result = load_knowledge(tmp_path)
    assert [d.doc_id for d in result.documents] == ["a1", "a3"]
    assert result.documents[1].doc_number == "21-KL/TW"
    reasons = {f.path: f.reason for f in result.failures}
    assert "invalid JSON" in reasons["bulk.jsonl:2"]
    assert "empty body" in reasons["bulk.jsonl:3"]


def test_each_kind_of_bad_file_is_reported_with_its_reason_and_the_rest_is_indexed(tmp_path):
    write(tmp_path, "good.md", GOOD)
    write(tmp_path, "bad-yaml.md", "---\nid: x\ntitle: [unclosed\n---\nBody text.\n")
    write(tmp_path, "no-id.md", "---\ntitle: Không có id\n---\nNội dung.\n")
    write(tmp_path, "dup.md", GOOD.replace("05/CT-TW", "05-CT/TW"))
    write(tmp_path, "empty.md", "---\nid: empty\ntitle: Trống\n---\n\n")
    write(tmp_path, "latin1.txt", "Tiêu đề\nnội dung".encode("cp1258", errors="replace") + b"\xff\xfe")
    write(tmp_path, "image.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    write(tmp_path, "binary.md", b"abc\x00def")
    write(tmp_path, "README.md", "# not a document\n")
    result = load_knowledge(tmp_path)
    assert [d.doc_id for d in result.documents] == ["ct-05-tw-2016"]
    reasons = {f.path: f.reason for f in result.failures}
    assert "invalid YAML" in reasons["bad-yaml.md"]
    assert "no 'id'" in reasons["no-id.md"]
    assert "duplicate id 'ct-05-tw-2016'" in reasons["good.md"] or "duplicate id" in reasons["dup.md"]
    assert "empty body" in reasons["empty.md"]
    assert "not UTF-8" in reasons["latin1.txt"]
    assert "unsupported file type '.png'" in reasons["image.png"]
    assert "binary" in reasons["binary.md"]
    assert "README.md" not in reasons


def test_file_larger_than_the_limit_is_skipped_with_its_size(tmp_path):
    write(tmp_path, "big.txt", "Tiêu đề\n" + "chữ " * 300_000)
    result = load_knowledge(tmp_path, max_file_mb=1)
    assert result.documents == []
    assert "larger than knowledge.max_file_mb" in result.failures[0].reason
