"""Text and metadata out of the formats admins receive (.docx, .pdf, .html) and out of a document's own header.

Every extractor returns an `Extraction` whose text is shaped for bot/chunking.py: one heading or paragraph per
line, blank lines between paragraphs, table rows as "cell | cell". `extract_header_metadata` reads the
standard header of Party documents ("BỘ CHÍNH TRỊ … Số 05-CT/TW … Hà Nội, ngày … CHỈ THỊ về …").
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import re
import statistics
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from bot.documents import docnumbers
from bot.documents.vietnamese import normalize

log = logging.getLogger(__name__)


class FormatError(Exception):
    """The file cannot be turned into text; the message is the reason shown to admins (one line)."""


@dataclass
class Extraction:
    """Plain text of one file plus what the format itself says about it.

    `page_starts[i]` is the offset in `text` where page i + 1 begins (PDF only; empty otherwise), so a
    passage's page is `page_at(text.find(passage_start))`. The text carries no page markers.
    """

    text: str
    meta: dict[str, str] = field(default_factory=dict)  # title, issued, source_url, issuer, doc_type
    page_starts: tuple[int, ...] = ()
    notes: list[str] = field(default_factory=list)  # problems worth telling the admin; the text is still used

    def page_at(self, offset: int) -> int | None:
        """1-based page holding the character at `offset`, or None when the format has no pages."""
        if not self.page_starts:
            return None
        return max(1, bisect.bisect_right(self.page_starts, offset))


def extract(path: Path) -> Extraction:
    """Dispatch on the extension; raises FormatError. Never returns an empty text."""
    ext = path.suffix.lower()
    extractor = EXTRACTORS.get(ext)
    if extractor is None:
        raise FormatError(f"no extractor for '{ext}'")
    try:
        result = extractor(path)
    except FormatError:
        raise
    except Exception as exc:  # a parser failing on a malformed file must not stop the whole index build
        log.warning("%s: extractor failed", path, exc_info=True)
        raise FormatError(f"could not read the file ({type(exc).__name__}: {exc})") from None
    result.text = _tidy(result.text)
    log.debug("%s: %d characters, %d page(s)", path.name, len(result.text), len(result.page_starts))
    if not re.search(r"\w", result.text):
        raise FormatError("no text found in the document (nothing to index)")
    return result


def _tidy(text: str) -> str:
    """NFC, canonical tone marks and single spaces per line; at most one blank line between paragraphs."""
    lines = [normalize(line) for line in text.replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


# ------------------------------------------------------------------ .docx

_HEADING_STYLE = re.compile(r"^(?:heading|đề mục)\s*(\d)$", re.I)


class _DocxNumbering:
    """Renders Word's automatic list numbers ("1.", "a)", "-"), which python-docx leaves out of the text."""

    def __init__(self, document) -> None:
        from docx.oxml.ns import qn

        self._qn = qn
        self.levels: dict[tuple[str, int], tuple[str, str, int]] = {}  # (numId, ilvl) -> fmt, lvlText, start
        self.counters: dict[str, list[int]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError):
            return
        abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
        for node in root.findall(qn("w:abstractNum")):
            levels = {}
            for lvl in node.findall(qn("w:lvl")):
                fmt, text, start = lvl.find(qn("w:numFmt")), lvl.find(qn("w:lvlText")), lvl.find(qn("w:start"))
                levels[int(lvl.get(qn("w:ilvl"), "0"))] = (
                    fmt.get(qn("w:val")) if fmt is not None else "decimal",
                    text.get(qn("w:val")) if text is not None else "",
                    int(start.get(qn("w:val"))) if start is not None else 1,
                )
            abstract[node.get(qn("w:abstractNumId"))] = levels
        for num in root.findall(qn("w:num")):
            ref = num.find(qn("w:abstractNumId"))
            if ref is None:
                continue
            for ilvl, spec in abstract.get(ref.get(qn("w:val")), {}).items():
                self.levels[(num.get(qn("w:numId")), ilvl)] = spec

    def _num_pr(self, paragraph):
        ppr = paragraph._p.pPr
        if ppr is not None and ppr.numPr is not None:
            return ppr.numPr
        style = paragraph.style
        while style is not None:  # numbering defined by the style ("List Number") or one it is based on
            spr = style.element.pPr
            if spr is not None and spr.numPr is not None:
                return spr.numPr
            style = style.base_style
        return None

    def label(self, paragraph) -> str:
        num_pr = self._num_pr(paragraph)
        if num_pr is None or num_pr.numId is None:
            return ""
        num_id = str(num_pr.numId.val)
        ilvl = num_pr.ilvl.val if num_pr.ilvl is not None else 0
        spec = self.levels.get((num_id, ilvl))
        if spec is None or num_id == "0":
            return ""
        counters = self.counters.setdefault(num_id, [0] * 10)
        counters[ilvl] = counters[ilvl] + 1 if counters[ilvl] else spec[2]
        for deeper in range(ilvl + 1, len(counters)):
            counters[deeper] = 0
        fmt, text, _ = spec
        if fmt == "bullet":
            return "-"
        if fmt == "none":
            return ""

        def render(m: re.Match[str]) -> str:
            level = int(m.group(1)) - 1
            level_fmt = self.levels.get((num_id, level), ("decimal", "", 1))[0]
            return _format_number(max(counters[level], 1), level_fmt)

        return re.sub(r"%(\d)", render, text).strip()


def _format_number(n: int, fmt: str) -> str:
    if fmt == "lowerLetter":
        return chr(ord("a") + (n - 1) % 26)
    if fmt == "upperLetter":
        return chr(ord("A") + (n - 1) % 26)
    if fmt in ("lowerRoman", "upperRoman"):
        roman = _roman(n)
        return roman.lower() if fmt == "lowerRoman" else roman
    return str(n)


def _roman(n: int) -> str:
    out = ""
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                           (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + letters, n - value
    return out


def extract_docx(path: Path) -> Extraction:
    """Paragraphs in order; Heading N styles become "#" lines, list numbers are written out, tables as rows."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from lxml import etree

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, etree.XMLSyntaxError) as exc:
        raise FormatError(f"damaged or not a Word .docx file ({type(exc).__name__}: {exc}); open it in Word "
                          "and save it again as .docx (old .doc files must be converted)") from None
    numbering = _DocxNumbering(document)
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend(_docx_table_rows(item))  # one paragraph per row, so rows stay apart in passages
            continue
        text = item.text.strip()
        if not text:
            continue
        style = item.style.name if item.style is not None else ""
        heading = _HEADING_STYLE.match(style)
        if heading or style == "Title":
            level = int(heading.group(1)) if heading else 1
            blocks.append("#" * min(level, 6) + " " + " ".join(text.split()))
            continue
        label = numbering.label(item)
        blocks.append(f"{label} {text}" if label else text)
    meta = {}
    core_title = (document.core_properties.title or "").strip()
    if core_title:
        meta["title"] = core_title
    return Extraction("\n\n".join(blocks), meta)


def _docx_table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            # a cell's paragraphs stay on separate lines would break the row; join them with spaces
            text = " ".join(" ".join(p.text.split()) for p in cell.paragraphs if p.text.strip())
            if not cells or text != cells[-1]:  # merged cells repeat their text
                cells.append(text)
        cells = [c for c in cells if c]
        if cells:
            rows.append(" | ".join(cells))
    return rows


# ------------------------------------------------------------------ .pdf

_PAGE_NUMBER_LINE = re.compile(r"^(?:trang|page)?\s*[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s*/\s*\d{1,4})?$", re.I)
_MIN_LETTERS_PER_PAGE = 20


@dataclass
class _Line:
    text: str
    top: float
    bottom: float
    x0: float
    x1: float
    size: float


def extract_pdf(path: Path) -> Extraction:
    """Lines in reading order (top to bottom), running headers/footers and page numbers dropped,
    wrapped lines joined and de-hyphenated. Pages are recorded as offsets (`page_starts`)."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        with pdfplumber.open(str(path)) as pdf:
            pages = [(_pdf_lines(page), len(page.images)) for page in pdf.pages]
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        if isinstance(cause, PDFPasswordIncorrect):
            raise FormatError("encrypted PDF (password-protected): cannot read its text; ask the sender for a "
                              "copy without a password") from None
        raise FormatError(f"damaged or not a PDF file ({type(cause).__name__}: {cause})") from None
    except (PDFSyntaxError, ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"damaged or not a PDF file ({type(exc).__name__}: {exc})") from None
    if not pages:
        raise FormatError("PDF has no pages")
    letters = [sum(ch.isalpha() for line in lines for ch in line.text) for lines, _ in pages]
    if max(letters) < _MIN_LETTERS_PER_PAGE:
        what = "a scanned image" if any(images for _, images in pages) else "blank or text drawn as shapes"
        raise FormatError(f"PDF has no text layer ({len(pages)} page(s), {what}) - cần OCR: run OCR "
                          "(e.g. ocrmypdf) and add the searchable PDF")
    notes = []
    blank = [str(i + 1) for i, (n, (_, images)) in enumerate(zip(letters, pages))
             if n < _MIN_LETTERS_PER_PAGE and images]
    if blank:
        notes.append(f"page(s) {', '.join(blank)} have no text layer (scanned, cần OCR); their content is missing")
    page_lines = _drop_running_lines([lines for lines, _ in pages])
    text = ""
    starts: list[int] = []
    prev_full = False
    for lines in page_lines:
        body, last_full = _pdf_page_text(lines)
        if not body:
            starts.append(len(text))
            continue
        if text and prev_full and body[:1].islower():  # a paragraph running on from the previous page
            text = _join_wrapped(text, body)
            starts.append(len(text) - len(body))
        else:
            text = text + "\n\n" if text else text
            starts.append(len(text))
            text += body
        prev_full = last_full
    return Extraction(text, {}, tuple(starts), notes)


def _pdf_lines(page) -> list[_Line]:
    """Words grouped into visual lines, top to bottom; a wide horizontal gap (columns, a two-column
    header, a table) becomes " | "."""
    words = page.extract_words(keep_blank_chars=False, use_text_flow=False, extra_attrs=["size"])
    words.sort(key=lambda w: (round(w["top"], 0), w["x0"]))
    groups: list[list[dict]] = []
    for word in words:
        if groups:
            ref = groups[-1][0]
            if abs(word["top"] - ref["top"]) <= 0.5 * (ref["bottom"] - ref["top"]):
                groups[-1].append(word)
                continue
        groups.append([word])
    lines = []
    for group in groups:
        group.sort(key=lambda w: w["x0"])
        size = statistics.median(w["size"] for w in group)
        text = group[0]["text"]
        for prev, word in zip(group, group[1:]):
            text += (" | " if word["x0"] - prev["x1"] > 2.5 * size else " ") + word["text"]
        lines.append(_Line(text, min(w["top"] for w in group),
                           max(w["bottom"] for w in group), group[0]["x0"], group[-1]["x1"], size))
    return lines


def _running_key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _drop_running_lines(pages: list[list[_Line]]) -> list[list[_Line]]:
    """Remove page numbers and the header/footer lines repeated at the top or bottom of most pages."""
    edge = 2  # lines at each end of a page that may be a running header or footer
    counts: dict[str, int] = {}
    for lines in pages:
        for key in {_running_key(line.text) for line in lines[:edge] + lines[-edge:]}:
            counts[key] = counts.get(key, 0) + 1
    repeated = {k for k, n in counts.items() if len(pages) >= 2 and n >= max(2, (len(pages) + 1) // 2)}
    out = []
    for lines in pages:
        keep = []
        for i, line in enumerate(lines):
            at_edge = i < edge or i >= len(lines) - edge
            if at_edge and (_PAGE_NUMBER_LINE.match(line.text.strip()) or _running_key(line.text) in repeated):
                continue
            keep.append(line)
        out.append(keep)
    return out


def _pdf_page_text(lines: list[_Line]) -> tuple[str, bool]:
    """(text, whether the last line is full width). A line is joined to the previous one when that one is
    full width (wrapped) and the gap is ordinary; otherwise it starts a paragraph (a short line ends one:
    header lines, list items and signatures stay apart in the passages)."""
    if not lines:
        return "", False
    pitches = [b.top - a.top for a, b in zip(lines, lines[1:]) if b.top > a.top]
    pitch = statistics.median(pitches) if pitches else 0.0
    left, right = min(line.x0 for line in lines), max(line.x1 for line in lines)

    def full(line: _Line) -> bool:  # runs from the left margin (or an indent) to the right one
        return line.x1 >= right - 2.0 * line.size and line.x0 <= left + 0.25 * (right - left)

    text = lines[0].text
    for prev, line in zip(lines, lines[1:]):
        wrapped = full(prev) and not prev.text.rstrip().endswith(":")
        if wrapped and not (pitch and line.top - prev.top > 1.4 * pitch):
            text = _join_wrapped(text, line.text)
        else:
            text += "\n\n" + line.text
    return text, full(lines[-1])


def _join_wrapped(text: str, more: str) -> str:
    """Join a wrapped line: "xây dựng-" + "đảng" (soft hyphenation) loses the hyphen; "05-" + "CT/TW" keeps it."""
    if text.endswith("\u00ad"):
        return text[:-1] + more
    if text.endswith("-") and len(text) >= 2 and not text[-2].isspace():
        if text[-2].isalpha() and more[:1].islower():
            return text[:-1] + more
        return text + more
    return text + " " + more


# ------------------------------------------------------------------ .html

_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "canvas", "form", "button", "select",
              "input", "textarea", "nav", "aside", "footer", "object", "embed", "link", "meta", "head")
_DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"}
_CLUTTER = {"nav", "navbar", "menu", "breadcrumb", "breadcrumbs", "footer", "sidebar", "social", "share",
            "sharing", "comment", "comments", "banner", "advert", "ads", "ad", "cookie", "related", "popup",
            "modal", "widget", "toolbar", "search", "login", "subscribe", "tags", "topbar", "masthead", "logo"}
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "header", "blockquote", "pre", "figure", "figcaption",
               "dl", "dt", "dd", "address", "center", "body", "ul", "ol", "li", "table", "hr",
               "h1", "h2", "h3", "h4", "h5", "h6"}
_BR = "\ue000"  # a <br> while whitespace is collapsed


def extract_html(path: Path) -> Extraction:
    """Title, headings ("#" lines), paragraphs, list items and table rows of the main content; menus,
    navigation, scripts, side bars and footers are dropped."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_bytes(), "lxml")
    meta = _html_meta(soup)
    for br in soup.find_all("br"):
        br.replace_with(_BR)
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(True):
        if tag.decomposed:
            continue
        if _is_clutter(tag):
            tag.decompose()
    root = _main_content(soup)
    if root is None:
        raise FormatError("HTML page has no body text")
    h1 = root.find("h1")
    if h1 is not None and h1.get_text(strip=True):
        meta["title"] = " ".join(h1.get_text(" ").replace(_BR, " ").split())
    blocks: list[str] = []
    _html_blocks(root, blocks)
    return Extraction("\n\n".join(blocks), meta)


def _is_clutter(tag) -> bool:
    if tag.name in ("body", "html", "main", "article"):
        return False
    if (tag.get("role") or "").lower() in _DROP_ROLES or tag.get("aria-hidden") == "true":
        return True
    names = " ".join(tag.get("class") or []) + " " + (tag.get("id") or "")
    tokens = set(re.split(r"[\s_\-]+", names.lower()))
    if tag.name == "header":
        return tag.find("h1") is None  # a site header (logo, menu), not an article's header
    return bool(tokens & _CLUTTER)


def _main_content(soup):
    articles = soup.find_all("article")
    if articles:
        return max(articles, key=lambda a: len(a.get_text(" ", strip=True)))
    return soup.find("main") or soup.find(attrs={"role": "main"}) or soup.body or soup


def _html_meta(soup) -> dict[str, str]:
    """Title, canonical address, publication date and site name from <head>; news by default."""

    def content(*selectors: tuple[str, str]) -> str:
        for attr, value in selectors:
            tag = soup.find("meta", attrs={attr: value})
            if tag is not None and (tag.get("content") or "").strip():
                return tag["content"].strip()
        return ""

    meta: dict[str, str] = {}
    title = content(("property", "og:title")) or (soup.title.get_text(strip=True) if soup.title else "")
    if title:
        meta["title"] = title
    canonical = soup.find("link", rel="canonical")
    url = (canonical.get("href") if canonical is not None else "") or content(("property", "og:url"))
    if url and url.startswith(("http://", "https://")):
        meta["source_url"] = url
    published = content(("property", "article:published_time"), ("name", "pubdate"),
                        ("name", "publishdate"), ("itemprop", "datePublished"), ("name", "date"))
    if re.match(r"\d{4}-\d{2}-\d{2}", published):
        meta["issued"] = published[:10]
    site = content(("property", "og:site_name"))
    if site:
        meta["issuer"] = site
    meta["doc_type"] = "tin-tuc"  # a web page is a news article unless its text has a document header
    return meta


def _html_blocks(node, out: list[str]) -> None:
    from bs4 import NavigableString, Tag
    from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

    buf: list[str] = []

    def flush() -> None:
        text = " ".join("".join(buf).split())
        text = "\n".join(part.strip() for part in text.split(_BR) if part.strip())
        if text:
            out.append(text)
        buf.clear()

    for child in node.children:
        if isinstance(child, (Comment, Declaration, Doctype, ProcessingInstruction)):
            continue
        if isinstance(child, NavigableString):
            buf.append(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            flush()
            text = " ".join(child.get_text(" ").replace(_BR, " ").split())
            if text:
                out.append("#" * int(name[1]) + " " + text)
        elif name == "table":
            flush()
            rows = []
            for tr in child.find_all("tr"):
                cells = [" ".join(c.get_text(" ").replace(_BR, " ").split()) for c in tr.find_all(["td", "th"])]
                cells = [c for c in cells if c]
                if cells:
                    rows.append(" | ".join(cells))
            out.extend(rows)
        elif name in ("ul", "ol"):
            flush()
            items = [li for li in child.find_all("li", recursive=False)]
            for n, li in enumerate(items, 1):
                sub: list[str] = []
                _html_blocks(li, sub)
                if sub:
                    marker = f"{n}." if name == "ol" else "-"
                    out.append(f"{marker} {sub[0]}")
                    out.extend(sub[1:])
        elif name in _BLOCK_TAGS or child.find(list(_BLOCK_TAGS)) is not None:
            flush()
            _html_blocks(child, out)
        else:
            buf.append(child.get_text())
    flush()


EXTRACTORS = {".docx": extract_docx, ".pdf": extract_pdf, ".html": extract_html, ".htm": extract_html}


# ------------------------------------------------------------------ header metadata

# Type line of a Party document -> doc_type, and the name used in the title.
DOC_TYPES: dict[str, tuple[str, str]] = {
    "CHỈ THỊ": ("chi-thi", "Chỉ thị"),
    "KẾT LUẬN": ("ket-luan", "Kết luận"),
    "QUY ĐỊNH": ("quy-dinh", "Quy định"),
    "NGHỊ QUYẾT": ("nghi-quyet", "Nghị quyết"),
    "KẾ HOẠCH": ("ke-hoach", "Kế hoạch"),
    "HƯỚNG DẪN": ("huong-dan", "Hướng dẫn"),
    "QUYẾT ĐỊNH": ("quyet-dinh", "Quyết định"),
    "THÔNG BÁO": ("thong-bao", "Thông báo"),
}
_TYPE_BY_CODE = {"CT": "CHỈ THỊ", "KL": "KẾT LUẬN", "QĐ": "QUY ĐỊNH", "QĐi": "QUY ĐỊNH", "NQ": "NGHỊ QUYẾT",
                 "KH": "KẾ HOẠCH", "HD": "HƯỚNG DẪN", "TB": "THÔNG BÁO"}
# Issuing bodies in capitals -> official spelling; longer names first. What follows a local body's name
# ("TỈNH ỦY QUẢNG TRỊ") is a place name, written with capitals.
_BODIES = [
    ("BAN CHẤP HÀNH TRUNG ƯƠNG", "Ban Chấp hành Trung ương"),
    ("BỘ CHÍNH TRỊ", "Bộ Chính trị"),
    ("BAN BÍ THƯ", "Ban Bí thư"),
    ("BAN CHẤP HÀNH ĐẢNG BỘ", "Ban Chấp hành Đảng bộ"),
    ("BAN THƯỜNG VỤ", "Ban Thường vụ"),
    ("BAN TUYÊN GIÁO TRUNG ƯƠNG", "Ban Tuyên giáo Trung ương"),
    ("BAN TUYÊN GIÁO", "Ban Tuyên giáo"),
    ("BAN TỔ CHỨC TRUNG ƯƠNG", "Ban Tổ chức Trung ương"),
    ("BAN TỔ CHỨC", "Ban Tổ chức"),
    ("BAN DÂN VẬN TRUNG ƯƠNG", "Ban Dân vận Trung ương"),
    ("BAN DÂN VẬN", "Ban Dân vận"),
    ("BAN NỘI CHÍNH", "Ban Nội chính"),
    ("ỦY BAN KIỂM TRA TRUNG ƯƠNG", "Ủy ban Kiểm tra Trung ương"),
    ("ỦY BAN KIỂM TRA", "Ủy ban Kiểm tra"),
    ("TỈNH ỦY", "Tỉnh ủy"),
    ("THÀNH ỦY", "Thành ủy"),
    ("HUYỆN ỦY", "Huyện ủy"),
    ("QUẬN ỦY", "Quận ủy"),
    ("THỊ ỦY", "Thị ủy"),
    ("ĐẢNG ỦY", "Đảng ủy"),
    ("ĐẢNG ĐOÀN", "Đảng đoàn"),
    ("BAN CÁN SỰ ĐẢNG", "Ban cán sự đảng"),
    ("ĐẢNG BỘ", "Đảng bộ"),
    ("CHI BỘ", "Chi bộ"),
]
_NOT_BODIES = ("ĐẢNG CỘNG SẢN", "CỘNG HÒA")
# Bodies whose name goes on with a place, sometimes on the next line of the header
_LOCAL_BODIES = {"TỈNH ỦY", "THÀNH ỦY", "HUYỆN ỦY", "QUẬN ỦY", "THỊ ỦY", "ĐẢNG ỦY", "BAN THƯỜNG VỤ",
                 "BAN CHẤP HÀNH ĐẢNG BỘ", "ĐẢNG BỘ", "CHI BỘ"}
_HEAD_LINES = 30  # the header lies within the first lines
_NUMBER_RE = re.compile(r"(?<!\w)Số\s*[:.]?\s*(\d{1,4}\s*[-/]\s*[A-ZĐa-zđ][\w.Đđ]*(?:\s*[-/]\s*[\w.Đđ]+)?)")
_DATE_WORDS_RE = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.I)
_DATE_NUMERIC_RE = re.compile(r"ngày\s+(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})", re.I)
_PLACE_DATE_RE = re.compile(r"(?:^|\|)\s*[^\W\d][^,|\d]{1,40},\s*(?=ngày\s)", re.I)
_SIGNATURE_RE = re.compile(r"^(?:T/M|TM\.?|T\.M\.?)\s+(.+)$")  # "T/M BỘ CHÍNH TRỊ": signed for the body
_SEPARATOR_RE = re.compile(r"^[\s\-–—_*=~.·•]+$")


def _segments(text: str) -> list[str]:
    """The first lines of the text, split at " | " (table cells, PDF columns), markup removed."""
    out: list[str] = []
    for line in text.splitlines():
        line = normalize(re.sub(r"^#+\s*|\*\*|__", "", line.strip()))
        if not line:
            continue
        out.extend(part.strip() for part in line.split(" | ") if part.strip())
        if len(out) >= _HEAD_LINES:
            break
    return out


def _is_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _upper_run(segment: str) -> str:
    """Leading words in capitals: "BAN CHẤP HÀNH TRUNG ƯƠNG * Số 05" -> "BAN CHẤP HÀNH TRUNG ƯƠNG"."""
    words = []
    for word in segment.split():
        if not _is_upper(word):
            break
        words.append(word)
    return " ".join(words)


def _body_name(caps: str) -> str:
    """ "BAN THƯỜNG VỤ TỈNH ỦY QUẢNG TRỊ" -> "Ban Thường vụ Tỉnh ủy Quảng Trị" ("" when not a body)."""
    caps = " ".join(caps.split())
    for upper, name in _BODIES:
        if caps == upper or caps.startswith(upper + " "):
            rest = caps[len(upper):].strip()
            if not rest:
                return name
            inner = _body_name(rest)
            if inner:
                return f"{name} {inner}"
            place = " ".join(w[:1] + w[1:].lower() for w in rest.split())
            return f"{name} {place.replace('Trung Ương', 'Trung ương')}"
    return ""


def _type_of(segment: str) -> tuple[str, str] | None:
    """(type line in capitals, what follows it on the line) when the segment is a type line."""
    caps = segment.rstrip(" .:")
    for word in DOC_TYPES:
        if caps == word or caps.startswith(word + " ") and _is_upper(caps):
            return word, caps[len(word):].strip()
    return None


def _date(segments: list[str]) -> str:
    for segment in segments:
        placed = bool(_PLACE_DATE_RE.search(segment))  # "Hà Nội, ngày ..."
        for regex in (_DATE_WORDS_RE, _DATE_NUMERIC_RE):
            m = regex.search(segment)
            # a date alone on its line also counts; "Ngày 15/5/2016, Bộ Chính trị ..." in a sentence does not
            if m and (placed or m.start() == 0 and not segment[m.end():].strip(" .,)")):
                try:
                    return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1))).isoformat()
                except ValueError:
                    continue
    return ""


def _title_lines(segments: list[str]) -> list[str]:
    """The title under the type line: lines up to a separator, a numbered heading or the first body paragraph."""
    lines: list[str] = []
    words = 0
    for segment in segments:
        n = len(segment.split())
        if _SEPARATOR_RE.match(segment) or n > 30 or words + n > 60:
            break
        if lines and (segment[:1].isdigit() or re.match(r"^[IVX]+\s*[.\-]", segment)):
            break
        if segment.endswith((".", ":")) and (lines or n > 12):
            break  # a sentence of the body (titles do not end with a full stop)
        if _NUMBER_RE.match(segment) or _date([segment]):
            break
        lines.append(segment)
        words += n
    return lines


def extract_header_metadata(text: str) -> dict[str, str]:
    """doc_number, doc_type, issuer, issued (ISO) and title read from a Party document's standard header.

    Only the fields found are returned (an empty dict for a news article). The issuer is the body named
    after the type ("CHỈ THỊ CỦA BỘ CHÍNH TRỊ"), else the one signing ("T/M BỘ CHÍNH TRỊ"), else the one at
    the top left ("BAN CHẤP HÀNH TRUNG ƯƠNG").
    """
    segments = _segments(text)
    out: dict[str, str] = {}
    type_at, type_word, after_type = None, "", ""
    for i, segment in enumerate(segments):
        found = _type_of(segment)
        if found:
            type_at, (type_word, after_type) = i, found
            break
    head = segments[:type_at] if type_at is not None else segments[:12]

    for segment in head:
        m = _NUMBER_RE.search(segment)
        if m:
            raw = re.sub(r"\s+", "", m.group(1))
            out["doc_number"] = docnumbers.canonical(raw) or raw
            break
    issued = _date(head)
    if issued:
        out["issued"] = issued

    # issuer at the top left; a body split over two lines ("TỈNH ỦY" / "QUẢNG TRỊ") is joined
    head_body = ""
    for i, segment in enumerate(head):
        caps = _upper_run(segment)
        if not caps or caps.startswith(_NOT_BODIES) or not _body_name(caps):
            continue
        nxt = _upper_run(head[i + 1]) if i + 1 < len(head) else ""
        if caps == segment and nxt and nxt == head[i + 1] and not nxt.startswith(_NOT_BODIES) \
                and caps in _LOCAL_BODIES:
            caps = f"{caps} {nxt}"
        head_body = _body_name(caps)
        break

    named_body = ""
    title_from = None
    if type_at is not None:
        code = DOC_TYPES[type_word][0]
        out["doc_type"] = code
        rest = segments[type_at + 1:]
        of = after_type
        if not of and rest and _is_upper(rest[0]) and rest[0].startswith("CỦA "):
            of, rest = rest[0], rest[1:]
        if of.startswith("CỦA "):
            named_body = _body_name(of[4:])
        title_from = rest
    signed_body = ""
    for line in text[-3000:].splitlines():
        for segment in normalize(line).split(" | "):
            m = _SIGNATURE_RE.match(segment.strip())
            if m and not signed_body:
                signed_body = _body_name(_upper_run(m.group(1)))
    if signed_body in ("Ban Thường vụ", "Ban Chấp hành Đảng bộ") and head_body \
            and not head_body.startswith(signed_body):
        signed_body = f"{signed_body} {head_body}"
    issuer = named_body or signed_body or head_body
    if issuer:
        out["issuer"] = issuer

    if "doc_type" not in out and "doc_number" in out:
        code = out["doc_number"].split("-", 1)[1].split("/", 1)[0] if "-" in out["doc_number"] else ""
        type_word = _TYPE_BY_CODE.get(code, "")
        if type_word:
            out["doc_type"] = DOC_TYPES[type_word][0]
    if type_word:
        name = DOC_TYPES[type_word][1]
        lead = f"{name} số {out['doc_number']}" if "doc_number" in out else name
        subject = " ".join(_title_lines(title_from or []))
        if subject:
            if re.match(r"^về\s", subject, re.I):
                subject = "về" + subject[2:]
            out["title"] = f"{lead} {subject}"
        elif "doc_number" in out:
            out["title"] = f"{lead} của {issuer}" if issuer else lead
    return out


def missing_fields(meta: dict) -> list[str]:
    """Reference fields an admin should supply: number, date and issuer for documents; date and publisher
    for news (doc_type tin-tuc)."""
    wanted = ("issued", "issuer") if meta.get("doc_type") == "tin-tuc" else \
        ("doc_number", "doc_type", "issuer", "issued")
    return [name for name in wanted if not str(meta.get(name) or "").strip()]


def file_id(stem: str) -> str:
    """A file stem as a document id: characters an id may not hold become '-' ("Chỉ thị 05" -> "Chỉ-thị-05")."""
    cleaned = re.sub(r"[^\w.\-]+", "-", unicodedata.normalize("NFC", stem)).strip("-.")
    return cleaned or "document"
