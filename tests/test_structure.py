"""The numbered structure of the official texts, read from the text itself in every format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.documents import structure
from bot.documents.loading import load_file

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "knowledge"
PDFS = REPO / "tests" / "data" / "official"


def _body(name: str) -> str:
    (doc, _), = load_file(KNOWLEDGE / name)
    return doc.text


def _units(text: str) -> list[tuple[str, ...]]:
    parsed = structure.parse(text)
    assert parsed is not None
    return structure.all_units(parsed.root)


def _last(units, kind: str) -> list[str]:
    return [u[-1] for u in units if u[-1].startswith(kind + ":")]


def test_charter_has_48_articles_in_12_chapters():
    units = _units(_body("dieu-le-dang-2011.md"))
    assert _last(units, "chuong") == [f"chuong:{n}" for n in range(1, 13)]
    assert _last(units, "dieu") == [f"dieu:{n}" for n in range(1, 49)]
    # Điều 8 sits in Chương I and has three khoản
    assert [u for u in units if u[:2] == ("chuong:1", "dieu:8")] == [
        ("chuong:1", "dieu:8"), ("chuong:1", "dieu:8", "khoan:1"), ("chuong:1", "dieu:8", "khoan:2"),
        ("chuong:1", "dieu:8", "khoan:3")]


def _without_markdown(text: str) -> str:
    return "\n".join(re.sub(r"^#{1,6}\s+", "", ln).replace("**", "").replace("*", "") for ln in text.splitlines())


def test_charter_as_plain_text_and_as_word_file_has_the_same_units(tmp_path):
    text = _body("dieu-le-dang-2011.md")
    expected = _units(text)
    plain = _without_markdown(text)
    (tmp_path / "dieu-le.txt").write_text("Điều lệ Đảng Cộng sản Việt Nam\n" + plain, encoding="utf-8")
    (doc, _), = load_file(tmp_path / "dieu-le.txt")
    assert _units(doc.text) == expected

    import docx

    word = docx.Document()
    for para in plain.split("\n\n"):
        if para.strip():
            word.add_paragraph(para.strip())
    word.save(tmp_path / "dieu-le.docx")
    (doc, _), = load_file(tmp_path / "dieu-le.docx")
    assert _units(doc.text) == expected
    assert len(_last(_units(doc.text), "dieu")) == 48


@pytest.mark.parametrize("name", ["quy-dinh-294-qd-tw-2025", "huong-dan-06-hd-tw-2025"])
def test_pdf_of_an_official_text_gives_the_same_units_and_passages_as_its_markdown(name):
    from bot.documents.chunking import chunk_document

    (md, _), = load_file(KNOWLEDGE / f"{name}.md")
    expected = _units(md.text)
    (doc, _), = load_file(PDFS / f"{name}.pdf")
    assert _units(doc.text) == expected
    assert len(expected) > 150
    # the same passages (path, units, implemented clauses), now with the page each starts on
    want = [(p.section, p.units, p.implements) for p in chunk_document(md)]
    got = chunk_document(doc)
    assert [(p.section, p.units, p.implements) for p in got] == want
    assert got[0].page == 1 and got[-1].page > 30 and doc.implements == "Điều lệ Đảng"


def test_quy_dinh_294_outline_and_its_references_to_the_charter():
    text = _body("quy-dinh-294-qd-tw-2025.md")
    parsed = structure.parse(text)
    assert parsed.mode == "outline"
    tops = parsed.root.children
    assert [n.key for n in tops] == [f"muc:{n}" for n in range(1, 34)]
    assert tops[0].label == "Mục 1 (Điều 1, khoản 2)" and tops[0].implements == ("dieu:1/khoan:2",)
    three = tops[2]
    assert three.label == "Mục 3 (Điều 4)" and three.implements == ("dieu:4",)
    assert three.children[1].label == "3.2 (Khoản 2)" and three.children[1].implements == ("dieu:4/khoan:2",)
    # a heading whose references are broken over two lines ("10.4. (Khoản 2, Điều 10); …;" + "(Khoản 1, Điều 43): …")
    ten_four = tops[9].children[3]
    assert ten_four.key == "muc:10.4"
    assert ten_four.implements == ("dieu:10/khoan:2", "dieu:13/khoan:5", "dieu:21/khoan:3", "dieu:21/khoan:4",
                                   "dieu:21/khoan:5", "dieu:42/khoan:1", "dieu:43/khoan:1")
    # "16.5. (Khoản 5, Khoản 6)" takes its Điều from the sibling before it ("16.4. (Khoản 4, Điều 13)")
    sixteen_five = tops[15].children[4]
    assert sixteen_five.key == "muc:16.5" and sixteen_five.implements == ("dieu:13/khoan:5", "dieu:13/khoan:6")
    # the closing block is not part of mục 33
    assert parsed.closing[0].text.startswith("Quy định này được ban hành")


@pytest.mark.parametrize("heading, inherited, expected", [
    ("Điều 4: Giới thiệu và kết nạp", (), ("dieu:4",)),
    ("(Khoản 2): Đảng viên giới thiệu", (4,), ("dieu:4/khoan:2",)),
    ("Điều 12 (Khoản 2), Điều 20 (Khoản 2): Số lượng", (), ("dieu:12/khoan:2", "dieu:20/khoan:2")),
    ("(Khoản 7, Điều 11), (Khoản 3, Điều 12): Đoàn chủ tịch", (), ("dieu:11/khoan:7", "dieu:12/khoan:3")),
    ("Điều 28 (Khoản 1, Khoản 3, Khoản 4): Quan hệ", (), ("dieu:28/khoan:1", "dieu:28/khoan:3", "dieu:28/khoan:4")),
    ("Về tuổi đời.", (4,), ()),
    ("Điều lệ Đảng quy định: đảng viên", (), ()),
])
def test_outline_heading_names_the_charter_units_it_carries_out(heading, inherited, expected):
    assert structure.parse_reference(heading, inherited)[0] == expected


OUTLINE = """1. Điều 1: Người vào Đảng

1.1. Về tuổi đời.

1.1.1. Người vào Đảng phải đủ 18 tuổi.

16/05/2018 - 17:11

1.000 đảng viên trở lên thì lập đảng bộ.

5. Đây là một câu bắt đầu bằng số nhưng không theo thứ tự.

1.2. Về học vấn. 2. Điều 3: Quyền của đảng viên

2.1. (Khoản 1): Quyền được thông tin.

a) Thông tin thời sự; b) Thông tin nội bộ.
"""


def test_a_date_a_stray_number_or_a_big_number_is_text_and_a_run_in_heading_is_recovered():
    parsed = structure.parse(OUTLINE)
    assert parsed.mode == "outline"
    keys = [u[-1] for u in structure.all_units(parsed.root)]
    assert keys == ["muc:1", "muc:1.1", "muc:1.1.1", "muc:1.2", "muc:2", "muc:2.1", "diem:a", "diem:b"]
    leaf = parsed.root.children[0].children[0].children[0]
    assert [ln.text for ln in leaf.lines] == [
        "1.1.1. Người vào Đảng phải đủ 18 tuổi.", "16/05/2018 - 17:11", "1.000 đảng viên trở lên thì lập đảng bộ.",
        "5. Đây là một câu bắt đầu bằng số nhưng không theo thứ tự."]
    assert parsed.root.children[1].implements == ("dieu:3",)


def test_news_articles_are_not_structured():
    for path in sorted(KNOWLEDGE.glob("tin-*.md")) + [KNOWLEDGE / "ct-03-tw-2011.md"]:
        (doc, _), = load_file(path)
        assert structure.parse(doc.text) is None, path.name


def test_thousands_of_items_run_into_one_line_are_read_without_recursion():
    items = [f"1.{i}. Mục {i}. " + " ".join(f"1.{i}.{j}. Ý {j}." for j in range(1, 61)) for i in range(2, 31)]
    parsed = structure.parse("1. Phần một\n\n1.1. Đầu tiên.\n\n" + " ".join(items) + " 5. Số lạc.\n\n1.31. Cuối.")
    keys = [u[-1] for u in structure.all_units(parsed.root)]
    assert len(keys) == 1 + 1 + 29 * 61 + 1 and keys[-1] == "muc:1.31"
    assert parsed.root.children[0].children[-2].children[-1].lines[0].text == "1.30.60. Ý 60. 5. Số lạc."
