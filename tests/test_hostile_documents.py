"""Hostile documents (issue 19): each is refused or indexed in bounded time and memory, with a reason naming
the file and the limit. The files are built here, small on disk and huge once expanded; each is read in a
fresh interpreter whose peak memory is measured (and whose address space is capped, so a regression fails
the test instead of exhausting the machine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.documents.limits import MAX_RUN_CHARS, Limits, bound_runs
from bot.documents.loading import load_file, load_knowledge
from tests.hostile_files import (alias_bomb_yaml, nested_html, read_in_subprocess, write_many_page_pdf,
                                 write_pdf_stream_bomb, write_zip_bomb_docx)

BOUNDED_MB = 300  # "a few hundred MB above the serving process"


# ---------------------------------------------------------------- 1. zip bomb .docx

def test_zip_bomb_docx_is_refused_early_with_bounded_memory(tmp_path):
    bomb = tmp_path / "chi-thi-bom.docx"
    write_zip_bomb_docx(bomb, inflated_mb=1200)  # word/document.xml inflates to 1.2 GB
    assert bomb.stat().st_size < 2 * 1024 * 1024
    result = read_in_subprocess(bomb, timeout=60)
    assert result["documents"] == 0
    (reason,) = result["failures"]
    assert "unzips to 1,201 MB" in reason and "knowledge.max_unzipped_mb" in reason
    assert result["growth_mb"] < BOUNDED_MB


def test_docx_part_lying_about_its_size_is_stopped_while_reading(tmp_path):
    liar = tmp_path / "noi-doi.docx"
    write_zip_bomb_docx(liar, inflated_mb=500, declared_mb=0.5)  # says 0.5 MB, holds 500 MB
    result = read_in_subprocess(liar, timeout=60)
    assert result["documents"] == 0 and "damaged or not a Word .docx file" in result["failures"][0]
    assert result["growth_mb"] < BOUNDED_MB


def test_docx_part_compressed_a_thousand_times_is_a_zip_bomb(tmp_path):
    dense = tmp_path / "nen.docx"
    write_zip_bomb_docx(dense, inflated_mb=60)  # under max_unzipped_mb, but 1000:1
    reason = read_in_subprocess(dense, {"max_xml_mb": 100}, timeout=60)["failures"][0]
    assert reason.startswith("zip bomb: word/document.xml") and "knowledge.max_zip_ratio" in reason


def test_docx_with_more_markup_than_max_xml_mb_is_refused(tmp_path):
    dense = tmp_path / "nhieu-xml.docx"
    write_zip_bomb_docx(dense, inflated_mb=20)
    reason = read_in_subprocess(dense, {"max_zip_ratio": 5000}, timeout=60)["failures"][0]
    assert "MB of text markup (XML)" in reason and "knowledge.max_xml_mb (15 MB)" in reason


# ---------------------------------------------------------------- 2. YAML alias bomb

def test_alias_bomb_in_front_matter_is_refused_at_once(tmp_path):
    (tmp_path / "bom.md").write_text("---\nid: bom\ntitle: Bom\n" + alias_bomb_yaml() + "---\n\nNội dung.\n",
                                     encoding="utf-8")
    result = read_in_subprocess(tmp_path / "bom.md", timeout=60)
    assert result["documents"] == 0
    assert "invalid YAML front matter at line" in result["failures"][0]
    assert "aliases (*name) are not allowed in metadata" in result["failures"][0]
    assert result["growth_mb"] < BOUNDED_MB


def test_alias_bomb_in_a_sidecar_yaml_is_refused_and_the_rest_is_indexed(tmp_path):
    (tmp_path / "chi-thi.txt").write_text("Chỉ thị về chuyển đổi số\nCác cấp ủy thực hiện.\n", encoding="utf-8")
    (tmp_path / "chi-thi.yaml").write_text(alias_bomb_yaml(), encoding="utf-8")
    (tmp_path / "khac.txt").write_text("Văn bản khác\nNội dung khác.\n", encoding="utf-8")
    result = load_knowledge(tmp_path)
    assert [d.doc_id for d in result.documents] == ["khac"]
    (failure,) = result.failures
    assert failure.path == "chi-thi.txt"
    assert "invalid metadata file chi-thi.yaml" in failure.reason and "aliases" in failure.reason


def test_alias_bomb_in_the_status_file_is_reported_not_expanded(tmp_path):
    from bot.documents.status import STATUS_FILE, load_notes

    (tmp_path / STATUS_FILE).write_text(alias_bomb_yaml().replace("complete: *a7", "47-QĐ/TW:\n  replaces: *a7"),
                                        encoding="utf-8")
    notes, problems = load_notes(tmp_path)
    assert notes == {} and len(problems) == 1 and "aliases (*name) are not allowed" in problems[0]


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("title", "x" * 5000, "field 'title' is 5,000 characters long"),
    ("issuer", "{a: 1, b: 2}", "field 'issuer' must be text, a number, a date or a list of these, got dict"),
    ("doc_number", "[[1, 2], [3]]", "field 'doc_number' must be text, a number, a date or a list of these, got list"),
    ("replaces", "[" + ", ".join(["05-CT/TW"] * 500) + "]", "field 'replaces' lists 500 values"),
])
def test_metadata_fields_are_checked_for_type_and_size(tmp_path, field, value, reason):
    (tmp_path / "van-ban.md").write_text(f"---\nid: van-ban\n{field}: {value}\n---\n\nNội dung.\n",
                                         encoding="utf-8")
    (failure,) = load_knowledge(tmp_path).failures
    assert reason in failure.reason


def test_oversized_sidecar_is_refused_without_being_parsed(tmp_path):
    (tmp_path / "a.txt").write_text("Tiêu đề\nNội dung.\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text("title: x\n" + "# chú thích\n" * 10000, encoding="utf-8")
    (failure,) = load_knowledge(tmp_path).failures
    assert "invalid metadata file a.yaml" in failure.reason and "more than 65,536" in failure.reason


# ---------------------------------------------------------------- 3. 20,000-page PDF, over-long text

def test_twenty_thousand_page_pdf_is_refused_without_reading_its_pages(tmp_path):
    pdf = tmp_path / "dai.pdf"
    write_many_page_pdf(pdf, 20_000)
    assert pdf.stat().st_size < 6 * 1024 * 1024
    result = read_in_subprocess(pdf, timeout=120)
    assert result["failures"] == ["PDF has 20,000 pages, more than knowledge.max_pages (1,000); split it into "
                                  "parts or raise the limit"]
    assert result["growth_mb"] < BOUNDED_MB


def test_pdf_page_whose_drawing_instructions_unpack_to_a_gigabyte_is_refused_before_parsing(tmp_path):
    pdf = tmp_path / "bom.pdf"
    write_pdf_stream_bomb(pdf, inflated_mb=1000)  # 1 MB on disk
    assert pdf.stat().st_size < 2 * 1024 * 1024
    result = read_in_subprocess(pdf, timeout=60)
    assert result["failures"] == ["page 1 of the PDF unpacks to more than 30 MB of drawing instructions (300 MB "
                                  "for the file): a compression bomb or not a text document"]
    assert result["growth_mb"] < BOUNDED_MB


def test_pdf_over_max_chars_stops_at_the_page_that_crosses_it(tmp_path):
    pdf = tmp_path / "dai.pdf"
    write_many_page_pdf(pdf, 300, unique=True)
    result = read_in_subprocess(pdf, {"max_chars": 20_000}, timeout=120)
    (reason,) = result["failures"]
    assert "longer than knowledge.max_chars (20,000 characters" in reason and reason.endswith("(stopped at page 39)")


def test_pdf_within_the_limits_is_indexed_in_passages_of_bounded_length(tmp_path):
    pdf = tmp_path / "khong-cham.pdf"
    write_many_page_pdf(pdf, 400, unique=True)  # text without punctuation, running on from page to page
    result = read_in_subprocess(pdf, timeout=300)
    assert result["failures"] == [] and result["documents"] == 1
    assert result["passages"] > 20
    assert 0 < result["longest_passage"] <= MAX_RUN_CHARS
    assert result["growth_mb"] < BOUNDED_MB


def test_text_without_any_punctuation_is_split_into_bounded_passages(tmp_path):
    from bot.documents.chunking import chunk_document

    words = ("khong co dau cham nao ca trong van ban nay " * 16_000).strip()  # ~700,000 characters
    (tmp_path / "khong-cham.txt").write_text("Văn bản không dấu chấm\n" + words + "\n", encoding="utf-8")
    (doc,) = load_knowledge(tmp_path).documents
    passages = chunk_document(doc)
    assert len(passages) > 300
    assert max(len(p.text) for p in passages) <= MAX_RUN_CHARS
    assert " ".join(p.text for p in passages).split() == words.split()  # nothing lost, nothing rewritten


def test_bound_runs_leaves_punctuated_text_alone_and_cuts_only_runs_over_the_cap():
    ordinary = "Câu thứ nhất kết thúc ở đây. Câu thứ hai cũng vậy. " * 500
    assert bound_runs(ordinary) is ordinary
    run = "a" * 5000
    pieces = bound_runs(f"Mở đầu. {run} Kết thúc.").split("\n\n")
    assert max(len(p) for p in pieces) <= MAX_RUN_CHARS and "".join(pieces).count("a") >= 5000


def test_text_file_over_max_chars_is_refused_with_the_limit(tmp_path):
    (tmp_path / "dai.txt").write_text("Tiêu đề\n" + "Một câu. " * 3000, encoding="utf-8")
    with pytest.raises(Exception) as err:
        load_file(tmp_path / "dai.txt", limits=Limits(max_chars=10_000))
    assert "knowledge.max_chars (10,000 characters, got 27,008)" in str(err.value)


# ---------------------------------------------------------------- 4. deeply nested HTML

def test_thirty_thousand_nested_divs_are_refused_at_the_depth_limit(tmp_path):
    page = tmp_path / "long-nhau.html"
    page.write_text(nested_html(30_000), encoding="utf-8")
    assert page.stat().st_size < 400_000
    result = read_in_subprocess(page, timeout=60)
    assert result["failures"] == ["HTML elements are nested more than 200 deep (knowledge.max_html_depth); "
                                  "not a readable page"]
    assert result["growth_mb"] < BOUNDED_MB


def test_large_page_nested_just_under_the_limit_is_read_in_one_linear_pass(tmp_path):
    page = tmp_path / "sau.html"
    page.write_text(nested_html(150, repeat=400, text="Các cấp ủy thực hiện nghiêm túc chỉ thị."), encoding="utf-8")
    result = read_in_subprocess(page, timeout=120)
    assert result["failures"] == [] and result["documents"] == 1
    assert result["growth_mb"] < BOUNDED_MB


# ---------------------------------------------------------------- configuration

def test_limits_are_read_from_config_yaml_and_checked(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("knowledge:\n  max_pages: 50\n  max_chars: 100000\n  max_html_depth: 64\n", encoding="utf-8")
    limits = Limits.from_config(load_config(cfg).knowledge)
    assert (limits.max_pages, limits.max_chars, limits.max_html_depth) == (50, 100_000, 64)
    assert limits.max_unzipped_mb == Limits().max_unzipped_mb
    cfg.write_text("knowledge:\n  max_html_depth: 1000\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="knowledge.max_html_depth must be between 8 and 250"):
        load_config(cfg)


def test_index_build_applies_the_configured_limits(tmp_path):
    from bot.retrieval.build import build_index
    from tests.conftest import make_workspace

    cfg_path = make_workspace(tmp_path, docs=["tin-quangtri-so-ket-3-nam-ct05.md"])
    write_many_page_pdf(tmp_path / "knowledge" / "dai.pdf", 30)
    cfg = load_config(cfg_path)
    cfg.knowledge.max_pages = 20
    report = build_index(cfg)
    assert report.documents == 1
    assert [(f.path, f.reason.split(";")[0]) for f in report.failed] == \
        [("dai.pdf", "PDF has 30 pages, more than knowledge.max_pages (20)")]


def test_html_page_of_two_million_tiny_elements_is_refused_while_parsing(tmp_path):
    page = tmp_path / "phang.html"
    page.write_text("<html><body><div>" + "<b>x</b> " * 1_900_000 + "</div></body></html>", encoding="utf-8")
    result = read_in_subprocess(page, timeout=120)
    assert result["failures"] == ["HTML page has more than 200,000 elements; not a readable page"]
    assert result["growth_mb"] < BOUNDED_MB
