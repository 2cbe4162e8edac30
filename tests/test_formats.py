""".docx, .pdf and .html documents: text and header metadata are read, bad files are reported, the rest is searchable."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.documents.loading import load_file, load_knowledge
from bot.documents.formats import extract, extract_header_metadata
from tests.conftest import make_workspace

FONT_CANDIDATES = [
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
]


def vietnamese_font() -> Path:
    """A TrueType font with Vietnamese glyphs (DejaVu Sans), from the system or from matplotlib."""
    for path in FONT_CANDIDATES:
        if path.is_file():
            return path
    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return path
    except ImportError:
        pass
    pytest.skip("no font with Vietnamese glyphs (DejaVuSans.ttf) on this machine")


# ---------------------------------------------------------------- documents written by the tests

CT05_BODY = [
    "Thực hiện Nghị quyết Đại hội đại biểu toàn quốc lần thứ XII của Đảng, Bộ Chính trị yêu cầu các cấp ủy, "
    "tổ chức đảng tiếp tục đẩy mạnh việc học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh, "
    "gắn với xây dựng, chỉnh đốn Đảng và thực hiện nhiệm vụ chính trị của từng địa phương, cơ quan, đơn vị.",
]
CT05_TASKS = [
    "Mỗi cấp ủy xây dựng kế hoạch hằng năm về học tập chuyên đề, đưa nội dung làm theo Bác vào sinh hoạt "
    "chi bộ định kỳ và kiểm điểm cuối năm của từng cán bộ, đảng viên.",
    "Người đứng đầu cấp ủy, chính quyền phải gương mẫu đi đầu, nói đi đôi với làm, chịu trách nhiệm khi "
    "đơn vị mình để xảy ra tình trạng hình thức, chiếu lệ trong việc học tập và làm theo Bác.",
    "Các cơ quan báo chí mở chuyên mục giới thiệu tấm gương người tốt việc tốt, cách làm hay ở cơ sở.",
]


def write_docx(path: Path) -> None:
    """Chỉ thị 05-CT/TW laid out like the real file: the header is a two-column table."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    left.paragraphs[0].text = "BAN CHẤP HÀNH TRUNG ƯƠNG"
    left.add_paragraph("*")
    left.add_paragraph("Số 05-CT/TW")
    right.paragraphs[0].text = "ĐẢNG CỘNG SẢN VIỆT NAM"
    right.add_paragraph("Hà Nội, ngày 15 tháng 5 năm 2016")
    for text in ("CHỈ THỊ", "CỦA BỘ CHÍNH TRỊ",
                 "về đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh", "-----"):
        document.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.CENTER
    for text in CT05_BODY:
        document.add_paragraph(text)
    document.add_heading("I. Nhiệm vụ trọng tâm", level=2)
    for text in CT05_TASKS:
        document.add_paragraph(text, style="List Number")
    document.add_heading("II. Phân công thực hiện", level=2)
    grid = document.add_table(rows=3, cols=2)
    for row, (who, what) in zip(grid.rows, [("Cơ quan", "Nhiệm vụ"),
                                           ("Ban Tuyên giáo Trung ương", "hướng dẫn học tập chuyên đề hằng năm"),
                                           ("Ủy ban Kiểm tra Trung ương", "kiểm tra việc làm theo Bác")]):
        row.cells[0].text, row.cells[1].text = who, what
    for text in ("T/M BỘ CHÍNH TRỊ", "TỔNG BÍ THƯ", "Nguyễn Phú Trọng"):
        document.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    document.save(str(path))


KL01_PARAGRAPHS = [
    "Sau 5 năm thực hiện Chỉ thị số 05-CT/TW, việc học tập và làm theo tư tưởng, đạo đức, phong cách "
    "Hồ Chí Minh đã trở thành việc làm thường xuyên của các cấp ủy, tổ chức đảng. Nhiều mô hình, điển hình "
    "được nhân rộng; nhận thức của cán bộ, đảng viên có chuyển biến rõ nét.",
    "Bộ Chính trị yêu cầu mỗi đảng viên ghi sổ tay làm theo gương Bác, đăng ký việc làm cụ thể hằng năm "
    "và báo cáo kết quả tại chi bộ; chi bộ đánh giá việc làm theo gương Bác khi xếp loại đảng viên cuối năm. "
    "Các cấp ủy tăng cường kiểm tra, giám sát, kịp thời biểu dương tập thể, cá nhân tiêu biểu.",
    "Tiếp tục đổi mới phương thức tuyên truyền, nhất là trên báo điện tử và mạng xã hội, bảo đảm thiết thực, "
    "hiệu quả, tránh hình thức. Các cơ quan báo chí duy trì chuyên mục học tập và làm theo Bác.",
]


def write_pdf(path: Path) -> None:
    """Kết luận 01-KL/TW on two pages, with a running header, page numbers and a hyphenated line."""
    from fpdf import FPDF

    class Pdf(FPDF):
        def header(self) -> None:
            self.set_font("DejaVu", size=8)
            self.cell(0, 5, "Tài liệu sinh hoạt chi bộ - lưu hành nội bộ", align="C", new_x="LMARGIN", new_y="NEXT")
            self.ln(4)
            self.set_font("DejaVu", size=12)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("DejaVu", size=9)
            self.cell(0, 10, f"Trang {self.page_no()}", align="C")

    pdf = Pdf(format="A4")
    pdf.add_font("DejaVu", "", str(vietnamese_font()))
    pdf.set_font("DejaVu", size=12)
    pdf.add_page()

    def row(left: str, right: str) -> None:
        pdf.cell(85, 7, left, align="C")
        pdf.cell(0, 7, right, align="C", new_x="LMARGIN", new_y="NEXT")

    def centered(text: str) -> None:
        pdf.cell(0, 7, text, align="C", new_x="LMARGIN", new_y="NEXT")

    row("BAN CHẤP HÀNH TRUNG ƯƠNG", "ĐẢNG CỘNG SẢN VIỆT NAM")
    row("*", "")
    row("Số 01-KL/TW", "Hà Nội, ngày 18 tháng 5 năm 2021")
    pdf.ln(6)
    centered("KẾT LUẬN")
    centered("CỦA BỘ CHÍNH TRỊ")
    centered("về tiếp tục thực hiện Chỉ thị số 05-CT/TW")
    centered("-----")
    pdf.ln(4)
    for text in KL01_PARAGRAPHS:
        pdf.multi_cell(0, 7, text, align="J", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    # one line broken with a hyphen inside a word, stretched to the full width like justified text
    first, second = "Các cấp ủy phổ biến gương người tốt việc tốt qua Inter-", "net và các nền tảng số."
    pdf.set_stretching(100 * pdf.epw / pdf.get_string_width(first))
    pdf.cell(0, 7, first, new_x="LMARGIN", new_y="NEXT")
    pdf.set_stretching(100)
    pdf.cell(0, 7, second, new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.multi_cell(0, 7, "Các tỉnh ủy, thành ủy tổ chức sơ kết việc thực hiện Kết luận này vào năm 2023 và báo "
                         "cáo Bộ Chính trị qua Ban Tuyên giáo Trung ương.", align="J",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    for text in ("T/M BỘ CHÍNH TRỊ", "Trần Quốc Vượng"):
        pdf.cell(0, 7, text, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


QD08_HTML = """<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>Quy định 08-QĐi/TW | Cổng thông tin điện tử Tỉnh ủy</title>
<meta property="og:site_name" content="Cổng thông tin Tỉnh ủy">
<link rel="canonical" href="https://tinhuy.example.vn/van-ban/quy-dinh-08">
<script>var menu = "Trang chủ Giới thiệu Tin tức";</script>
<style>.menu { color: red }</style>
</head><body>
<header class="site-header"><a href="/">Trang chủ</a> <a href="/gioi-thieu">Giới thiệu</a></header>
<nav class="main-menu"><ul><li>Trang chủ</li><li>Văn bản</li><li>Tin tức sự kiện</li></ul></nav>
<div class="breadcrumb">Trang chủ / Văn bản / Quy định</div>
<div id="content"><article>
<table class="header"><tr><td>BAN CHẤP HÀNH TRUNG ƯƠNG<br>*<br>Số 08-QĐi/TW</td>
<td>ĐẢNG CỘNG SẢN VIỆT NAM<br><i>Hà Nội, ngày 25 tháng 10 năm 2018</i></td></tr></table>
<p style="text-align:center"><b>QUY ĐỊNH</b></p>
<p style="text-align:center"><b>về trách nhiệm nêu gương của cán bộ, đảng viên,<br>
trước hết là Ủy viên Bộ Chính trị, Ủy viên Ban Bí thư, Ủy viên Ban Chấp hành Trung ương</b></p>
<p style="text-align:center">-----</p>
<h3>Điều 1. Mục đích</h3>
<p>Cán bộ, đảng viên giữ chức vụ càng cao càng phải gương mẫu nêu gương, trước hết là nêu gương về
tư tưởng chính trị, phẩm chất đạo đức, lối sống và ý thức tổ chức kỷ luật.</p>
<h3>Điều 2. Nội dung nêu gương</h3>
<ul><li>Kiên định chủ nghĩa Mác - Lênin, tư tưởng Hồ Chí Minh, đường lối đổi mới của Đảng.</li>
<li>Nói đi đôi với làm, không để người thân lợi dụng chức vụ của mình để trục lợi.</li></ul>
</article>
<aside class="sidebar"><h4>Tin mới</h4><p>Hội nghị sơ kết công tác tuyên giáo quý III</p></aside>
</div>
<div class="social-share">Chia sẻ Facebook Zalo</div>
<footer>Bản quyền thuộc Cổng thông tin điện tử Tỉnh ủy. Địa chỉ: số 1 đường Hùng Vương.</footer>
</body></html>
"""


def write_scanned_pdf(path: Path) -> None:
    """A page that is only a picture of text: no text layer."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 800), "white")
    draw = ImageDraw.Draw(image)
    for y in range(60, 740, 30):
        draw.rectangle((50, y, 550, y + 12), fill="black")  # lines of "text" as pixels
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.image(image, x=10, y=10, w=190)
    pdf.output(str(path))


def write_encrypted_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_font("DejaVu", "", str(vietnamese_font()))
    pdf.set_font("DejaVu", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 7, "Văn bản mật, không được phổ biến.")
    pdf.set_encryption(owner_password="chu-so-huu", user_password="mat-khau")
    pdf.output(str(path))


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory) -> Path:
    """A knowledge folder holding the three good files, three bad ones and one sample Markdown document."""
    folder = tmp_path_factory.mktemp("formats")
    cfg_path = make_workspace(folder, docs=["tin-quangtri-so-ket-3-nam-ct05.md"])
    kdir = folder / "knowledge"
    write_docx(kdir / "chi-thi-05.docx")
    write_pdf(kdir / "ket-luan-01.pdf")
    (kdir / "quy-dinh-08.html").write_text(QD08_HTML, encoding="utf-8")
    (kdir / "hong.docx").write_bytes(b"PK\x03\x04 this zip archive was cut off")
    write_encrypted_pdf(kdir / "mat.pdf")
    write_scanned_pdf(kdir / "ban-scan.pdf")
    return cfg_path


@pytest.fixture(scope="module")
def loaded(knowledge):
    return load_knowledge(knowledge.parent / "knowledge")


def document(loaded, doc_id):
    return next(d for d in loaded.documents if d.doc_id == doc_id)


# ---------------------------------------------------------------- metadata and text

def test_docx_header_gives_number_type_issuer_date_and_title(loaded):
    doc = document(loaded, "chi-thi-05")
    assert doc.doc_number == "05-CT/TW"
    assert doc.doc_type == "chi-thi"
    assert doc.issuer == "Bộ Chính trị"  # "CỦA BỘ CHÍNH TRỊ" wins over the top-left "BAN CHẤP HÀNH TRUNG ƯƠNG"
    assert doc.issued == "2016-05-15"
    assert doc.title == ("Chỉ thị số 05-CT/TW về đẩy mạnh học tập và làm theo tư tưởng, đạo đức, "
                         "phong cách Hồ Chí Minh")


def test_docx_text_keeps_headings_numbered_list_and_table_rows(loaded):
    text = document(loaded, "chi-thi-05").text
    assert "## I. Nhiệm vụ trọng tâm" in text.splitlines()
    assert "1. Mỗi cấp ủy xây dựng kế hoạch hằng năm" in text
    assert "3. Các cơ quan báo chí mở chuyên mục" in text
    assert "Ban Tuyên giáo Trung ương | hướng dẫn học tập chuyên đề hằng năm" in text.splitlines()


def test_pdf_header_and_text_without_running_header_page_numbers_or_hyphenation(loaded):
    doc = document(loaded, "ket-luan-01")
    assert (doc.doc_number, doc.doc_type, doc.issuer, doc.issued) == \
        ("01-KL/TW", "ket-luan", "Bộ Chính trị", "2021-05-18")
    assert doc.title == "Kết luận số 01-KL/TW về tiếp tục thực hiện Chỉ thị số 05-CT/TW"
    assert "lưu hành nội bộ" not in doc.text
    assert "Trang 1" not in doc.text and "Trang 2" not in doc.text
    assert "qua Internet và các nền tảng số" in doc.text
    # a paragraph wrapped over several lines is one line of text again
    assert "có chuyển biến rõ nét." in doc.text
    assert "nhận thức của cán bộ, đảng viên có chuyển biến rõ nét." in doc.text


def test_pdf_pages_are_offsets_into_the_text_not_markers(knowledge):
    extraction = extract(knowledge.parent / "knowledge" / "ket-luan-01.pdf")
    assert "[Trang" not in extraction.text
    assert len(extraction.page_starts) == 2
    assert extraction.page_at(extraction.text.index("Số 01-KL/TW")) == 1
    assert extraction.page_at(extraction.text.index("sơ kết việc thực hiện Kết luận này")) == 2


def test_html_keeps_the_article_and_drops_menus_scripts_and_footer(loaded):
    doc = document(loaded, "quy-dinh-08")
    assert (doc.doc_number, doc.doc_type, doc.issuer, doc.issued) == \
        ("08-QĐi/TW", "quy-dinh", "Ban Chấp hành Trung ương", "2018-10-25")
    assert doc.title.startswith("Quy định số 08-QĐi/TW về trách nhiệm nêu gương của cán bộ, đảng viên, "
                                "trước hết là Ủy viên Bộ Chính trị")
    assert doc.source_url == "https://tinhuy.example.vn/van-ban/quy-dinh-08"
    assert "### Điều 1. Mục đích" in doc.text.splitlines()
    assert "- Nói đi đôi với làm" in doc.text
    for clutter in ("Trang chủ", "var menu", "color: red", "Tin mới", "Chia sẻ", "Bản quyền"):
        assert clutter not in doc.text


def test_bad_files_are_reported_with_a_clear_reason_and_the_rest_is_loaded(loaded):
    reasons = {f.path: f.reason for f in loaded.failures}
    assert set(reasons) == {"hong.docx", "mat.pdf", "ban-scan.pdf"}
    assert "damaged or not a Word .docx" in reasons["hong.docx"]
    assert "encrypted PDF" in reasons["mat.pdf"]
    assert "cần OCR" in reasons["ban-scan.pdf"] and "no text layer" in reasons["ban-scan.pdf"]
    assert sorted(d.doc_id for d in loaded.documents) == \
        ["chi-thi-05", "ket-luan-01", "quy-dinh-08", "tin-quangtri-so-ket-3-nam-ct05"]


# ---------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def service(knowledge):
    from bot.config import load_config
    from bot.retrieval.build import build_index
    from bot.service.answering import AnswerService

    cfg = load_config(knowledge)
    report = build_index(cfg)
    assert {f.path for f in report.failed} == {"hong.docx", "mat.pdf", "ban-scan.pdf"}
    return AnswerService(cfg, build_if_missing=False)


@pytest.mark.parametrize("question, doc_id, number, issued", [
    ("chỉ thị 05 yêu cầu người đứng đầu gương mẫu thế nào", "chi-thi-05", "05-CT/TW", "2016-05-15"),
    ("ghi so tay lam theo guong Bac", "ket-luan-01", "01-KL/TW", "2021-05-18"),
    ("quy định 08 cán bộ giữ chức vụ càng cao càng phải nêu gương", "quy-dinh-08", "08-QĐi/TW", "2018-10-25"),
])
def test_each_format_is_found_with_number_and_date_in_the_reference(service, question, doc_id, number, issued):
    answer = service.answer(question)
    assert answer.found
    hit = next(h for h in answer.hits if h.doc_id == doc_id)
    assert answer.hits.index(hit) <= 1
    assert hit.reference.doc_number == number
    assert hit.reference.issued == issued


# ---------------------------------------------------------------- header parsing and sidecars

def test_provincial_plan_header_in_plain_text_is_read():
    text = ("TỈNH ỦY QUẢNG TRỊ\n*\nSố 12-KH/TU\n\nĐẢNG CỘNG SẢN VIỆT NAM\n"
            "Quảng Trị, ngày 20 tháng 6 năm 2016\n\nKẾ HOẠCH\n"
            "thực hiện Chỉ thị số 05-CT/TW ngày 15/5/2016 của Bộ Chính trị\n-----\n"
            "Thực hiện Chỉ thị số 05-CT/TW, Ban Thường vụ Tỉnh ủy ban hành kế hoạch như sau.\n\n"
            "T/M BAN THƯỜNG VỤ\nBÍ THƯ\n")
    meta = extract_header_metadata(text)
    assert meta == {
        "doc_number": "12-KH/TU", "doc_type": "ke-hoach", "issuer": "Ban Thường vụ Tỉnh ủy Quảng Trị",
        "issued": "2016-06-20",
        "title": "Kế hoạch số 12-KH/TU thực hiện Chỉ thị số 05-CT/TW ngày 15/5/2016 của Bộ Chính trị",
    }


def test_news_text_yields_no_header_metadata():
    text = "Ngày 15/5/2016, Bộ Chính trị ban hành Chỉ thị số 05-CT/TW về đẩy mạnh học tập và làm theo Bác.\n"
    assert extract_header_metadata(text) == {}


def test_sidecar_yaml_overrides_extracted_fields_and_is_not_a_document(tmp_path):
    write_docx(tmp_path / "ct05.docx")
    (tmp_path / "ct05.yaml").write_text("title: Chỉ thị 05 (bản tỉnh lưu)\nsource_url: https://example.vn/ct05\n"
                                        "issued: 2016-05-16\n", encoding="utf-8")
    (tmp_path / "mo-coi.yaml").write_text("title: không có tài liệu đi kèm\n", encoding="utf-8")
    result = load_knowledge(tmp_path)
    (doc,) = result.documents
    assert doc.title == "Chỉ thị 05 (bản tỉnh lưu)" and doc.issued == "2016-05-16"
    assert doc.source_url == "https://example.vn/ct05" and doc.doc_number == "05-CT/TW"
    assert [f.path for f in result.failures] == ["mo-coi.yaml"]
    assert "metadata file without a document" in result.failures[0].reason


def test_missing_metadata_is_a_warning_and_the_document_is_still_indexed(tmp_path):
    (tmp_path / "ghi-chu.txt").write_text("KẾ HOẠCH\nvề tổ chức học tập chuyên đề năm 2024\n\n"
                                          "Chi bộ tổ chức học tập chuyên đề vào tháng 3.\n", encoding="utf-8")
    result = load_knowledge(tmp_path)
    (doc,) = result.documents
    assert doc.doc_type == "ke-hoach" and doc.title == "Kế hoạch về tổ chức học tập chuyên đề năm 2024"
    (warning,) = result.warnings
    assert warning.path == "ghi-chu.txt"
    assert "doc_number, issuer, issued" in warning.reason and "ghi-chu.yaml" in warning.reason


def test_an_empty_docx_is_never_indexed(tmp_path):
    import docx

    docx.Document().save(str(tmp_path / "trong.docx"))
    result = load_knowledge(tmp_path)
    assert result.documents == []
    assert "no text found" in result.failures[0].reason


def test_load_file_accepts_the_new_formats_for_uploads(knowledge):
    loaded = load_file(knowledge.parent / "knowledge" / "quy-dinh-08.html", rel="quy-dinh-08.html")
    ((doc, where),) = loaded
    assert where == "quy-dinh-08.html" and doc.doc_id == "quy-dinh-08"


def test_pdf_passages_carry_the_page_they_start_on_into_the_reference(service):
    answer = service.answer("sơ kết việc thực hiện Kết luận này")
    hit = next(h for h in answer.hits if h.doc_id == "ket-luan-01")
    pages = {p.page for p in service.all_passages() if p.doc_id == "ket-luan-01"}
    assert pages <= {1, 2} and 1 in pages
    assert "trang" in hit.reference.section.lower()
    # documents without pages keep a plain section
    other = service.answer("chỉ thị 05 yêu cầu người đứng đầu gương mẫu thế nào").hits[0]
    assert "trang" not in other.reference.section.lower()


# ---------------------------------------------------------------- boilerplate and header (issue 14)

CT99_BODY = [
    "Ban Bí thư yêu cầu các cấp ủy, tổ chức đảng đẩy mạnh chuyển đổi số trong các cơ quan đảng, gắn với cải "
    "cách hành chính trong Đảng, bảo đảm an toàn thông tin và bí mật nhà nước trên môi trường mạng.",
    "Các cấp ủy xây dựng kế hoạch chuyển đổi số hằng năm, bố trí nguồn lực, đào tạo cán bộ làm công tác "
    "chuyển đổi số và đưa kết quả thực hiện vào đánh giá, xếp loại tổ chức đảng, đảng viên cuối năm.",
]


def write_ct99_docx(path: Path, signature_in_table: bool = False) -> None:
    """A directive whose number and date share one header line (a tab between them) and which ends with a
    signature block and the "Nơi nhận" list, as Word files of the Party do."""
    import docx

    document = docx.Document()
    document.add_paragraph("ĐẢNG CỘNG SẢN VIỆT NAM")
    document.add_paragraph("Số 99-CT/TW\tHà Nội, ngày 1 tháng 6 năm 2024")
    for text in ("CHỈ THỊ", "về đẩy mạnh chuyển đổi số trong các cơ quan đảng", "-----", *CT99_BODY):
        document.add_paragraph(text)
    recipients = ["Nơi nhận:", "- Các tỉnh ủy, thành ủy,", "- Các ban đảng Trung ương,", "- Lưu Văn phòng Trung ương."]
    signature = ["T/M BAN BÍ THƯ", "THƯỜNG TRỰC", "(đã ký)", "Trương Thị Mai"]
    if signature_in_table:
        left, right = document.add_table(rows=1, cols=2).rows[0].cells
        left.paragraphs[0].text, right.paragraphs[0].text = recipients[0], signature[0]
        for text in recipients[1:]:
            left.add_paragraph(text)
        for text in signature[1:]:
            right.add_paragraph(text)
    else:
        for text in recipients + signature:
            document.add_paragraph(text)
    document.save(str(path))


@pytest.mark.parametrize("in_table", [False, True])
def test_signature_block_and_recipients_are_not_indexed_as_content(tmp_path, in_table):
    from bot.documents.chunking import chunk_document

    write_ct99_docx(tmp_path / "chi-thi-99.docx", signature_in_table=in_table)
    (doc,) = load_knowledge(tmp_path).documents
    for boilerplate in ("T/M BAN BÍ THƯ", "THƯỜNG TRỰC", "đã ký", "Trương Thị Mai", "Nơi nhận", "Lưu Văn phòng",
                        "Các ban đảng Trung ương"):
        assert boilerplate not in doc.text
    assert doc.text.rstrip().endswith("xếp loại tổ chức đảng, đảng viên cuối năm.")
    assert doc.issuer == "Ban Bí thư"  # read from the signature before it was dropped
    passages = chunk_document(doc)
    assert all(len(p.text.split()) > 10 for p in passages)


def test_number_and_date_on_one_header_line_separated_by_a_tab_keep_the_date(tmp_path):
    write_ct99_docx(tmp_path / "chi-thi-99.docx")
    (doc,) = load_knowledge(tmp_path).documents
    assert (doc.doc_number, doc.issued, doc.doc_type) == ("99-CT/TW", "2024-06-01", "chi-thi")
    assert doc.title == "Chỉ thị số 99-CT/TW về đẩy mạnh chuyển đổi số trong các cơ quan đảng"


def test_signature_lines_inside_the_body_text_are_kept():
    from bot.documents.formats import drop_boilerplate

    text = ("Đồng chí Trương Thị Mai chủ trì hội nghị.\n\nT/M Ban Thường vụ, đồng chí Bí thư phát biểu ý kiến.\n\n"
            "Nguyễn Văn An\n\nPHỤ LỤC\n\nDanh sách đơn vị.")
    assert drop_boilerplate(text)[0] == text


def test_page_offsets_follow_the_dropped_lines():
    from bot.documents.formats import drop_boilerplate

    text = "Trang 1\nMột.\n\nHai.\n- 2 -\nBa.\n\nBốn."
    starts = (0, text.index("Ba."))
    out, moved = drop_boilerplate(text, starts)
    assert out == "Một.\n\nHai.\nBa.\n\nBốn." and out[moved[1]:].startswith("Ba.")


@pytest.mark.parametrize("name", ["trong.md", "trong.txt"])
def test_an_empty_file_is_reported_as_empty_not_as_missing_a_title(tmp_path, name):
    (tmp_path / name).write_text("\n  \n", encoding="utf-8")
    (failure,) = load_knowledge(tmp_path).failures
    assert (failure.path, failure.reason) == (name, "empty file (no text)")
