"""Documents -> passages of about 80-250 words that follow the document's headings and sentences."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from bot.documents import docnumbers
from bot.models import Document, Passage

# Heading-like markers, from the outermost level to the innermost.
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MARKERS: list[tuple[str, re.Pattern]] = [
    ("part", re.compile(r"^(Phần|PHẦN|Chương|CHƯƠNG)\s+([IVXLC]+|\d+|thứ\s+\w+)\b", re.U)),
    ("roman", re.compile(r"^([IVXLC]{1,6})\s*[.\-–)/]\s*\S", re.U)),
    ("article", re.compile(r"^(Điều|ĐIỀU)\s+\d+[a-z]?\b", re.U)),
    ("number", re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\s*[.\-–)/]\s*\S", re.U)),
    ("letter", re.compile(r"^([a-zđ])\s*\)\s*\S", re.U)),
]
_LEVELS = ["md1", "md2", "md3", "md4", "md5", "md6", "part", "roman", "article", "number", "letter"]
_HEADING_MAX_WORDS = 16
_LABEL_WORDS = 8
# A sentence ends at . ! ? … (optionally followed by closing quotes/brackets) before an upper-case
# letter, a digit, an opening quote or a list marker.
_SENTENCE_END = re.compile(r"(?<=[.!?…;])[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-ZĐÀ-Ỹ0-9\-–•])", re.U)


@dataclass
class _Block:
    section: tuple[str, ...]
    text: str
    words: int
    heading: bool = False
    page: int = 0


def _label(line: str) -> str:
    words = line.split()
    return line if len(words) <= _LABEL_WORDS else " ".join(words[:_LABEL_WORDS]) + " …"


def _heading_level(line: str) -> tuple[str, str] | None:
    """(level, label) when the line opens a section, else None."""
    md = _MD_HEADING.match(line)
    if md:
        return f"md{len(md.group(1))}", md.group(2).strip()
    for level, pattern in _MARKERS:
        if pattern.match(line):
            return level, _label(line)
    return None


def split_sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if p]


def _blocks(doc: Document) -> list[_Block]:
    """Paragraph blocks of the body, each with the section path it belongs to."""
    stack: dict[str, str] = {}
    out: list[_Block] = []
    title_key = doc.title.strip().lower()
    pos = 0
    for para in re.split(r"\n\s*\n", doc.text):
        start = doc.text.find(para, pos)
        pos = start + len(para)
        page = bisect.bisect_right(doc.page_starts, start) if doc.page_starts else 0
        lines = [ln.strip() for ln in para.splitlines() if ln.strip()]
        buf: list[str] = []

        def flush() -> None:
            if buf:
                text = " ".join(buf)
                out.append(_Block(_path(stack), text, len(text.split()), page=page))
                buf.clear()

        for line in lines:
            found = _heading_level(line)
            if found is None:
                buf.append(line)
                continue
            level, label = found
            if level.startswith("md") and label.strip().lower() == title_key:
                continue  # the document title repeated as a heading is not a section
            flush()
            for deeper in _LEVELS[_LEVELS.index(level):]:
                stack.pop(deeper, None)
            stack[level] = label
            text = _MD_HEADING.sub(r"\2", line) if level.startswith("md") else line
            words = len(text.split())
            if level.startswith("md") or words <= _HEADING_MAX_WORDS and not text.rstrip().endswith("."):
                out.append(_Block(_path(stack), text, words, heading=True, page=page))
            else:
                buf.append(line)  # a numbered paragraph: it opens a section and is content
        flush()
    return out


def _path(stack: dict[str, str]) -> tuple[str, ...]:
    return tuple(stack[level] for level in _LEVELS if level in stack)


def _pieces(block: _Block, max_words: int) -> list[_Block]:
    """Split an over-long block at sentence boundaries (a single huge sentence is kept whole)."""
    if block.words <= max_words:
        return [block]
    out: list[_Block] = []
    cur: list[str] = []
    count = 0
    for sentence in split_sentences(block.text):
        n = len(sentence.split())
        if cur and count + n > max_words:
            out.append(_Block(block.section, " ".join(cur), count, page=block.page))
            cur, count = [], 0
        cur.append(sentence)
        count += n
    if cur:
        out.append(_Block(block.section, " ".join(cur), count, page=block.page))
    return out


def _numbers(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n.canonical for n in docnumbers.find_doc_numbers(text)))


def chunk_document(doc: Document, *, min_words: int = 80, max_words: int = 250) -> list[Passage]:
    """Pack the document's blocks into passages; a passage never ends mid-sentence."""
    pieces: list[_Block] = []
    for block in _blocks(doc):
        pieces.extend(_pieces(block, max_words))
    groups: list[list[_Block]] = []
    for piece in pieces:
        if groups:
            cur = groups[-1]
            size = sum(b.words for b in cur)
            same_section = cur[0].section == piece.section or piece.section[: len(cur[0].section)] == cur[0].section
            # keep filling while the passage is short; within one section fill up to max_words;
            # a heading always starts a new passage once the current one is long enough
            if size + piece.words <= max_words and (size < min_words or (same_section and not piece.heading)):
                cur.append(piece)
                continue
            if cur[-1].heading:  # never leave a heading alone at the end of a passage
                groups[-1] = cur[:-1]
                groups.append([cur[-1], piece])
                if not groups[-2]:
                    groups.pop(-2)
                continue
        groups.append([piece])
    # a short tail joins the passage before it when both fit
    if len(groups) >= 2 and sum(b.words for b in groups[-1]) < min_words \
            and sum(b.words for g in groups[-2:] for b in g) <= max_words:
        groups[-2].extend(groups.pop())
    passages: list[Passage] = []
    # document numbers each passage (with the title) mentions; looked for once when there is one passage
    whole = _numbers(f"{doc.title}\n{doc.text}")
    for ordinal, group in enumerate(groups):
        text = "\n".join(b.text for b in group)
        section = " > ".join(group[0].section)
        numbers = whole if len(groups) == 1 or not whole else _numbers(f"{doc.title}\n{text}")
        passages.append(Passage(passage_id=f"{doc.doc_id}#{ordinal}", doc_id=doc.doc_id,
                                ordinal=ordinal, section=section, text=text, doc_numbers=numbers,
                                page=group[0].page))
    return passages
