""".docx: paragraphs, headings, list numbers and table rows, read only after the archive passed the zip limits."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from bot.documents.formats.base import Extraction, FormatError
from bot.documents.limits import Limits, over_chars

_MB = 1024 * 1024
_MAX_PARTS = 10_000  # files inside one .docx; Word writes a few dozen
_RATIO_FROM = 1 * _MB  # parts smaller than this may compress at any ratio (short, repetitive XML)
_CHUNK = 64 * 1024


def check_zip(path: Path, limits: Limits) -> None:
    """Refuse an archive that would unzip to more than the limits allow, before anything reads it whole.

    The declared sizes are checked first, then every part is decompressed in small chunks and counted, so a
    part that lies about its size (or a zip bomb) is stopped after at most the limit, in bounded memory.
    """
    cap = limits.max_unzipped_mb * _MB
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            if len(parts) > _MAX_PARTS:
                raise FormatError(f"damaged or hostile .docx: {len(parts):,} files inside (a Word file has a few "
                                  "dozen)")
            declared = sum(p.file_size for p in parts)
            if declared > cap:
                raise FormatError(_too_big(declared, limits))
            xml = sum(p.file_size for p in parts if _is_xml(p.filename))
            if xml > limits.max_xml_mb * _MB:
                raise FormatError(_too_much_xml(xml, limits))
            for part in parts:
                _check_ratio(part.filename, part.file_size, part.compress_size, limits)
            _stream_parts(archive, parts, cap, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as exc:
        raise FormatError(f"damaged or not a Word .docx file ({type(exc).__name__}: {exc}); open it in Word "
                          "and save it again as .docx (old .doc files must be converted)") from None


def _stream_parts(archive: zipfile.ZipFile, parts: list[zipfile.ZipInfo], cap: float, limits: Limits) -> None:
    total = xml = 0
    for part in parts:
        size = 0
        is_xml = _is_xml(part.filename)
        with archive.open(part) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                total += len(chunk)
                xml += len(chunk) if is_xml else 0
                if total > cap:
                    raise FormatError(_too_big(total, limits, at_least=True))
                if xml > limits.max_xml_mb * _MB:
                    raise FormatError(_too_much_xml(xml, limits, at_least=True))
                _check_ratio(part.filename, size, part.compress_size, limits)


def _is_xml(name: str) -> bool:
    """Parts python-docx parses into a tree (document, styles, numbering, headers, ...): they cost memory
    many times their size, unlike pictures, which are kept as bytes."""
    return name.lower().endswith((".xml", ".rels"))


def _too_much_xml(size: int, limits: Limits, at_least: bool = False) -> str:
    return (f"the .docx holds {'more than ' if at_least else ''}{size / _MB:,.0f} MB of text markup (XML), more "
            f"than knowledge.max_xml_mb ({limits.max_xml_mb:g} MB)")


def _check_ratio(name: str, size: int, compressed: int, limits: Limits) -> None:
    if size > _RATIO_FROM and size > limits.max_zip_ratio * max(compressed, 1):
        raise FormatError(f"zip bomb: {name} inside the .docx unzips to more than {limits.max_zip_ratio:g} times "
                          f"its compressed size ({size / max(compressed, 1):,.0f}x, knowledge.max_zip_ratio)")


def _too_big(size: int, limits: Limits, at_least: bool = False) -> str:
    return (f"the .docx unzips to {'more than ' if at_least else ''}{size / _MB:,.0f} MB, more than "
            f"knowledge.max_unzipped_mb ({limits.max_unzipped_mb:g} MB)")


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

    def _num_pr(self, paragraph, style):
        ppr = paragraph._p.pPr
        if ppr is not None and ppr.numPr is not None:
            return ppr.numPr
        while style is not None:  # numbering defined by the style ("List Number") or one it is based on
            spr = style.element.pPr
            if spr is not None and spr.numPr is not None:
                return spr.numPr
            style = style.base_style
        return None

    def label(self, paragraph, style=None) -> str:
        num_pr = self._num_pr(paragraph, style)
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


def extract_docx(path: Path, limits: Limits) -> Extraction:
    """Paragraphs in order; Heading N styles become "#" lines, list numbers are written out, tables as rows."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml import etree

    check_zip(path, limits)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, etree.XMLSyntaxError) as exc:
        raise FormatError(f"damaged or not a Word .docx file ({type(exc).__name__}: {exc}); open it in Word "
                          "and save it again as .docx (old .doc files must be converted)") from None
    blocks = _docx_blocks(document, limits)
    meta = {}
    core_title = (document.core_properties.title or "").strip()
    if core_title:
        meta["title"] = core_title
    return Extraction("\n\n".join(blocks), meta)


class _Styles:
    """Paragraph styles by id, looked up once each: python-docx scans every style of the document for each
    paragraph without one (minutes for a few thousand paragraphs)."""

    def __init__(self, document) -> None:
        from docx.enum.style import WD_STYLE_TYPE

        self._part = document.part
        self._type = WD_STYLE_TYPE.PARAGRAPH
        self._cache: dict[str | None, object] = {}

    def of(self, paragraph):
        ppr = paragraph._p.pPr
        style_id = ppr.style if ppr is not None else None
        if style_id not in self._cache:
            self._cache[style_id] = self._part.get_style(style_id, self._type)
        return self._cache[style_id]


def _docx_blocks(document, limits: Limits) -> list[str]:
    from docx.table import Table

    numbering = _DocxNumbering(document)
    styles = _Styles(document)
    blocks: list[str] = []
    chars = 0
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = _docx_table_rows(item)  # one paragraph per row, so rows stay apart in passages
            blocks.extend(rows)
            chars += sum(len(r) for r in rows)
        else:
            block = _docx_paragraph(item, numbering, styles.of(item))
            if block:
                blocks.append(block)
                chars += len(block)
        if chars > limits.max_chars:
            raise FormatError(over_chars(chars, limits))
    return blocks


def _docx_paragraph(item, numbering: "_DocxNumbering", style) -> str:
    text = item.text.strip()
    if not text:
        return ""
    name = style.name if style is not None else ""
    heading = _HEADING_STYLE.match(name)
    if heading or name == "Title":
        level = int(heading.group(1)) if heading else 1
        return "#" * min(level, 6) + " " + " ".join(text.split())
    label = numbering.label(item, style)
    return f"{label} {text}" if label else text


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

