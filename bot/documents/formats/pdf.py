""".pdf: lines in reading order with running headers, footers and page numbers dropped; at most
knowledge.max_pages pages and knowledge.max_chars characters are read, one page at a time."""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from bot.documents.formats.base import Extraction, FormatError
from bot.documents.limits import Limits, over_chars

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


def extract_pdf(path: Path, limits: Limits) -> Extraction:
    """Lines in reading order (top to bottom), running headers/footers and page numbers dropped,
    wrapped lines joined and de-hyphenated. Pages are recorded as offsets (`page_starts`)."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        with pdfplumber.open(str(path)) as pdf:
            _check_page_count(pdf, limits)
            pages = _read_pages(pdf, limits)
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
    text, starts = _join_pages(_drop_running_lines([lines for lines, _ in pages]))
    return Extraction(text, {}, starts, notes)


def _check_page_count(pdf, limits: Limits) -> None:
    """Count the pages without reading them (stops at the limit), so a 20,000-page file costs nothing."""
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdftypes import resolve1

    counted = sum(1 for _ in itertools.islice(PDFPage.create_pages(pdf.doc), limits.max_pages + 1))
    if counted <= limits.max_pages:
        return
    try:
        declared = int(resolve1(resolve1(pdf.doc.catalog["Pages"])["Count"]))
    except Exception:  # a damaged page tree: the count is unknown, the limit is still exceeded
        declared = 0
    pages = f"{declared:,} pages" if declared > limits.max_pages else f"more than {limits.max_pages:,} pages"
    raise FormatError(f"PDF has {pages}, more than knowledge.max_pages ({limits.max_pages:,}); split it into "
                      "parts or raise the limit")


def _read_pages(pdf, limits: Limits) -> list[tuple[list["_Line"], int]]:
    """Lines and image count of each page; each page's parsed objects are released once read."""
    pages = []
    chars = 0
    unpacked = _Unpacked()
    for page in pdf.pages:
        try:
            unpacked.check(page.page_obj, page.page_number)
            lines = _pdf_lines(page)
            pages.append((lines, len(page.images)))
        finally:
            page.close()
        chars += sum(len(line.text) + 1 for line in lines)
        if chars > limits.max_chars:
            raise FormatError(f"{over_chars(chars, limits)} (stopped at page {page.page_number})")
    return pages


_MB = 1024 * 1024
MAX_PAGE_CONTENT_MB = 30  # drawing instructions of one page once unpacked (text pages: a few hundred KB)
MAX_CONTENT_MB = 300  # of the whole file


class _Unpacked:
    """Sizes of the pages' drawing instructions once unpacked, measured in small chunks before pdfminer unpacks
    them whole: a compressed stream of a few KB can unpack to gigabytes (a compression bomb)."""

    def __init__(self) -> None:
        self.total = 0
        self.seen: set[int] = set()

    def check(self, page, number: int) -> None:
        size = sum(self._size(stream) for stream in self._streams(page))
        self.total += size
        if size > MAX_PAGE_CONTENT_MB * _MB or self.total > MAX_CONTENT_MB * _MB:
            raise FormatError(f"page {number} of the PDF unpacks to more than {MAX_PAGE_CONTENT_MB} MB of drawing "
                              f"instructions ({MAX_CONTENT_MB} MB for the file): a compression bomb or not a text "
                              "document")

    def _streams(self, page) -> list:
        """The page's content streams and the form objects it draws (forms within forms, each once)."""
        from pdfminer.pdftypes import PDFStream, resolve1
        from pdfminer.psparser import LIT

        streams = [s for s in (page.contents or []) if isinstance(s, PDFStream)]
        todo = [resolve1(page.resources or {})]
        while todo and len(streams) < 10_000:
            resources = todo.pop()
            xobjects = resolve1(resources.get("XObject", {})) if isinstance(resources, dict) else {}
            for ref in (xobjects.values() if isinstance(xobjects, dict) else ()):
                obj = resolve1(ref)
                if isinstance(obj, PDFStream) and id(obj) not in self.seen and obj.get("Subtype") is LIT("Form"):
                    self.seen.add(id(obj))
                    streams.append(obj)
                    todo.append(resolve1(obj.get("Resources", {})))
        return streams

    @staticmethod
    def _size(stream) -> int:
        import zlib

        from pdfminer.psparser import LIT

        if stream.data is not None or stream.rawdata is None:
            return len(stream.data or b"")
        data = stream.rawdata
        if stream.decipher:
            data = stream.decipher(stream.objid, stream.genno, data, stream.attrs)
        filters = [f for f, _params in stream.get_filters()]
        if not filters or any(f not in (LIT("FlateDecode"), LIT("Fl")) for f in filters[:1]):
            return len(data)
        unpack = zlib.decompressobj()
        size = 0
        try:
            chunk = unpack.decompress(data, _MB)
            while chunk:
                size += len(chunk)
                if size > MAX_PAGE_CONTENT_MB * _MB:
                    break
                chunk = unpack.decompress(unpack.unconsumed_tail, _MB)
        except zlib.error:
            pass  # damaged: pdfminer decides what to do with it
        return size


def _join_pages(page_lines: list[list["_Line"]]) -> tuple[str, tuple[int, ...]]:
    """The pages' text one after the other; a paragraph running on from one page to the next is joined."""
    parts: list[str] = []
    length = 0
    starts: list[int] = []
    prev_full = False
    for lines in page_lines:
        body, last_full = _pdf_page_text(lines)
        if not body:
            starts.append(length)
            continue
        if parts and prev_full and body[:1].islower():
            joined = _join_wrapped(parts[-1], body)
            length += len(joined) - len(parts[-1])
            parts[-1] = joined
            starts.append(length - len(body))
        else:
            if parts:
                parts.append("\n\n")
                length += 2
            starts.append(length)
            parts.append(body)
            length += len(body)
        prev_full = last_full
    return "".join(parts), tuple(starts)


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

