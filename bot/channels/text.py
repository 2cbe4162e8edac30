"""What every channel shares when it writes an answer as text: dates, the citation line, the words that ask
for more results, and packing text into a message size limit.

Console and Zalo write plain text with these; Telegram builds its HTML from the same pieces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot import messages
from bot.models import Reference

# "thêm" and its spellings: the next page of the last question (console, Zalo)
MORE_WORDS = frozenset({"thêm", "them", "xem thêm", "xem them", "tiếp", "tiep", "xem tiếp", "xem tiep"})
_SENTENCE_END = re.compile(r"(?<=[.!?…;:])\s+|\n+")


def is_more(text: str) -> bool:
    """Whether a message asks for the next results ("thêm", "Xem thêm!", "tiếp")."""
    return text.lower().strip(" .!?") in MORE_WORDS


def format_date(iso: str) -> str:
    """"2016-05-15" -> "15/05/2016"; a partial or unusual date is shown as given."""
    parts = (iso or "").split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{parts[2]}/{parts[1]}/{parts[0]}"
    return iso or ""


def reference_title(ref: Reference) -> str:
    """One line naming a document: its title, else its type and number, else its id."""
    if ref.title:
        return ref.title
    kind = messages.DOC_TYPE_NAMES.get(ref.doc_type, "")
    return " ".join(p for p in (kind, ref.doc_number) if p) or ref.doc_id


def reference_details(ref: Reference, with_section: bool = True) -> str:
    """"Số hiệu: 05-CT/TW · Ngày: 15/05/2016 · Cơ quan: Bộ Chính trị · Mục: ..." (what the document has)."""
    parts = []
    if ref.doc_number:
        parts.append(f"{messages.LABEL_NUMBER}: {ref.doc_number}")
    if ref.issued:
        parts.append(f"{messages.LABEL_ISSUED}: {format_date(ref.issued)}")
    if ref.issuer:
        parts.append(f"{messages.LABEL_ISSUER}: {ref.issuer}")
    if with_section:
        parts.append(f"{messages.LABEL_SECTION}: {ref.section or messages.SECTION_OPENING}")
    if ref.status:  # a replaced document says so, and names its replacement
        parts.append(messages.STATUS_REPLACED.format(number=ref.replaced_by) if ref.replaced_by
                     else messages.STATUS_NOT_IN_FORCE)
    return " · ".join(parts)


def citation_line(ref: Reference, number: int | None = None, *, with_section: bool = True,
                  with_source: bool = True) -> str:
    """The one-line citation of plain-text channels: "[1] title · Số hiệu: … · Ngày: … · Mục: … · Nguồn: …"."""
    parts = [reference_title(ref)]
    details = reference_details(ref, with_section)
    if details:
        parts.append(details)
    if with_source and ref.source_url:
        parts.append(f"{messages.LABEL_SOURCE}: {ref.source_url}")
    prefix = f"[{number}] " if number is not None else ""
    return prefix + " · ".join(parts)


def link_lines(hit) -> list[str]:
    """The cross-reference lines under a passage's reference: "Hướng dẫn thi hành: Quy định 294-QĐ/TW mục 3.2;
    …" (a Điều lệ passage) or "Thi hành: Điều lệ Đảng … khoản 2 Điều 4" (a Quy định / Hướng dẫn passage)."""
    out = []
    for direction, title in (("implemented_by", messages.LINKS_IMPLEMENTED_BY),
                             ("implements", messages.LINKS_IMPLEMENTS)):
        items = [f"{link.document} {', '.join(link.labels)}" for link in hit.links if link.direction == direction]
        if items:
            out.append(f"{title}: {'; '.join(items)}")
    return out


def short_answer_line(answer) -> str:
    """"Trả lời ngắn: … — Quy định 294-QĐ/TW, Mục 1 › 1.1 › 1.1.1" ("" when the answer has none)."""
    short = answer.short
    if short is None:
        return ""
    ref = short.reference
    kind = messages.DOC_TYPE_NAMES.get(ref.doc_type, "")
    name = f"{kind} {ref.doc_number}".strip() if ref.doc_number else ref.title
    where = f"{name}, {ref.section}" if ref.section else name
    return f"{messages.SHORT_ANSWER}: {short.text} — {where}"


def excerpt(text: str, limit: int) -> str:
    """The text, or its first sentences up to `limit` characters followed by "…"."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(cut)]
    end = ends[-1] if ends and ends[-1] >= limit // 2 else (cut.rfind(" ") if cut.rfind(" ") > 0 else limit)
    return text[:end].rstrip() + " …"


def split_long(text: str, limit: int, size: Callable[[str], int] = len) -> list[str]:
    """Pieces of at most `limit` (as `size` counts), cut after sentences, at spaces for an endless sentence."""
    units, pos, sep = [], 0, ""
    for m in _SENTENCE_END.finditer(text):
        units.append((sep, text[pos:m.start()]))
        sep, pos = ("\n" if "\n" in m.group() else " "), m.end()
    units.append((sep, text[pos:]))
    pieces: list[str] = []
    current = ""
    for sep, sentence in units:
        sentence = sentence.strip()
        if not sentence:
            continue
        while size(sentence) > limit:  # no sentence end in sight: cut at the last space
            cut = _cut_point(sentence, limit, size)
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:cut].rstrip())
            sentence = sentence[cut:].lstrip()
        candidate = f"{current}{sep}{sentence}" if current else sentence
        if size(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = sentence
    if current:
        pieces.append(current)
    return pieces


def _cut_point(sentence: str, limit: int, size: Callable[[str], int]) -> int:
    end = min(len(sentence), limit)
    while end > 1 and size(sentence[:end]) > limit:  # only shrinks when size() counts more than len()
        end -= max(1, (size(sentence[:end]) - limit))
    space = sentence.rfind(" ", 0, end)
    return space if space > 0 else max(1, end)


def pack(blocks: Sequence[str], limit: int, sep: str = "\n\n", size: Callable[[str], int] = len) -> list[str]:
    """Join blocks into as few messages as fit `limit`; a block is split only when it alone is too long."""
    out: list[str] = []
    current = ""
    for block in (b.strip() for b in blocks):
        if not block:
            continue
        pieces = [block] if size(block) <= limit else split_long(block, limit, size)
        if len(pieces) > 1 and current:  # a long block starts its own message
            out.append(current)
            current = ""
        for piece in pieces:
            candidate = f"{current}{sep}{piece}" if current else piece
            if size(candidate) <= limit:
                current = candidate
            else:
                out.append(current)
                current = piece
    if current:
        out.append(current)
    return out
