"""Documents -> passages of about 80-250 words that follow the document's headings and sentences."""

from __future__ import annotations

import bisect
import dataclasses
import re
from dataclasses import dataclass, field

from bot.documents import docnumbers, headings, structure
from bot.models import Document, Passage

# Heading-like markers, from the outermost level to the innermost.
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MARKERS: list[tuple[str, re.Pattern]] = [
    ("part", re.compile(r"^(Phần|PHẦN|Chương|CHƯƠNG)\s+([IVXLC]+|\d+|thứ\s+\w+)\b", re.U)),
    ("roman", re.compile(r"^([IVXLC]{1,6})\s*[.\-–)/]\s*\S", re.U)),
    ("article", re.compile(r"^(Điều|ĐIỀU)\s+\d+[a-z]?\b", re.U)),
    # "1.", "2.3)", but not a date "16/05/2018 - 17:11"
    ("number", re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\s*[.\-–)/](?!\d)\s*\S", re.U)),
    ("letter", re.compile(r"^([a-zđ])\s*\)\s*\S", re.U)),
]
_LEVELS = ["md1", "md2", "md3", "md4", "md5", "md6", "part", "roman", "article", "number", "letter"]
_HEADING_MAX_WORDS = 16
# A hard cap on a passage's characters, whatever the text: a run without sentence ends or spaces (which the
# word counts above do not see) is cut here, so no passage - and no "Toàn văn" message - is unbounded.
MAX_PASSAGE_CHARS = 4000
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
            if not level.startswith("md") and not headings.may_open_section(line):
                buf.append(line)  # a date line, a cut-off sentence, another document's article cited in prose
                continue
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
    """Pack the document's blocks into passages; a passage never ends mid-sentence.

    An official text with numbered structure (Chương / Điều / khoản / điểm, or a decimal outline) is cut along
    it instead: see `_structured_passages`."""
    parsed = structure.parse(doc.text)
    if parsed is not None:
        return _cap_chars(_structured_passages(doc, parsed, min_words, max_words))
    return _cap_chars(_news_passages(doc, min_words, max_words))


def _news_passages(doc: Document, min_words: int, max_words: int) -> list[Passage]:
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


def _cap_chars(passages: list[Passage], limit: int = MAX_PASSAGE_CHARS) -> list[Passage]:
    """Passages over `limit` characters cut at a line end or space (at a character where there is none)."""
    if all(len(p.text) <= limit for p in passages):
        return passages
    out: list[Passage] = []
    for p in passages:
        for piece in _char_pieces(p.text, limit):
            out.append(dataclasses.replace(p, passage_id=f"{p.doc_id}#{len(out)}", ordinal=len(out), text=piece))
    return out


def _char_pieces(text: str, limit: int) -> list[str]:
    pieces = []
    while len(text) > limit:
        cut = max(text.rfind("\n", limit // 2, limit), text.rfind(" ", limit // 2, limit))
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    pieces.append(text)
    return [p for p in pieces if p]


# ------------------------------------------------------------------ official texts: along their structure

_SHORT = 20  # words: a heading or lead-in this short never stands alone


@dataclass
class _Group:
    """Consecutive sibling units (whole) of one parent, with the parent's text that leads into them."""

    parent: tuple[structure.Node, ...]  # the parent and its ancestors, outermost first (root excluded)
    lines: list[str]
    offset: int  # where the group starts in the document text
    words: int = 0
    children: list[structure.Node] = field(default_factory=list)


def _hard_pieces(lines: list[str], max_words: int) -> list[str]:
    """Lines packed into pieces of at most `max_words`, balanced so that no piece is a short tail; a line too
    long for one piece is cut at sentences, and a sentence longer than that between words (the hard cap)."""
    items: list[tuple[str, int, bool]] = []  # (text, words, starts a line)
    for line in lines:
        sentences = [line] if len(line.split()) <= max_words else split_sentences(line)
        first = True
        for sentence in sentences:
            words = sentence.split()
            while words:
                items.append((" ".join(words[:max_words]), min(len(words), max_words), first))
                words, first = words[max_words:], False
    total = sum(n for _, n, _ in items)
    target = total / max(1, -(-total // max_words))
    pieces: list[list[tuple[str, int, bool]]] = [[]]
    count = 0
    for item in items:
        if pieces[-1] and (count + item[1] > max_words or count >= target):
            pieces.append([])
            count = 0
        pieces[-1].append(item)
        count += item[1]
    return ["".join(("\n" if new and i else " " if i else "") + text for i, (text, _, new) in enumerate(p))
            for p in pieces if p]


def _node_lines(node: structure.Node) -> list[structure.Line]:
    out = list(node.lines)
    for child in node.children:
        out.extend(_node_lines(child))
    return out


class _Packer:
    def __init__(self, min_words: int, max_words: int) -> None:
        self.min_words = min_words
        self.max_words = max_words
        self.groups: list[_Group] = []

    def pack(self, node: structure.Node, parent: tuple[structure.Node, ...],
             prefix: list[structure.Line]) -> None:
        """Groups for a unit too long to be one passage: its lead-in, then its children."""
        here = parent + (node,) if node.key else parent
        lead = prefix + node.lines
        cur = _Group(here, [], lead[0].offset if lead else 0)
        text_lines = [ln.text for ln in lead]
        lead_words = sum(len(t.split()) for t in text_lines)
        if lead_words > self.max_words or (not node.children and lead_words > self.max_words):
            pieces = _hard_pieces(text_lines, self.max_words)
            for piece in pieces[:-1]:
                self.groups.append(_Group(here, [piece], cur.offset, len(piece.split())))
            text_lines = pieces[-1:]
        cur.lines, cur.words = text_lines, sum(len(t.split()) for t in text_lines)
        if not node.key and cur.words >= _SHORT and node.children:  # the preamble is a unit of its own
            self._emit(cur)
            cur = _Group(here, [], 0)
        for child in node.children:
            size = child.words()
            if size > self.max_words:
                carried: list[structure.Line] = []
                if cur.children or cur.words >= _SHORT:
                    self._emit(cur)
                elif cur.lines:  # a short heading goes down with the first part of the child
                    carried = [structure.Line(t, cur.offset) for t in cur.lines]
                self.pack(child, here, carried)
                cur = _Group(here, [], 0)
                continue
            fits = cur.words + size <= self.max_words
            if cur.lines and not (fits and (cur.words < self.min_words or size < self.min_words)):
                self._emit(cur)
                cur = _Group(here, [], 0)
            if not cur.lines:
                cur.offset = child.lines[0].offset if child.lines else 0
            cur.lines.extend(ln.text for ln in _node_lines(child))
            cur.words += size
            cur.children.append(child)
        self._emit(cur)

    def _emit(self, group: _Group) -> None:
        if not group.lines:
            return
        last = self.groups[-1] if self.groups else None
        # a short tail of a unit (a last few words) joins the passage before it, within the same parent
        if (last is not None and group.words < _SHORT and not group.children and last.parent == group.parent
                and last.words + group.words <= self.max_words):
            last.lines.extend(group.lines)
            last.words += group.words
            return
        self.groups.append(group)


def _range(children: list[structure.Node]) -> str:
    """"khoản 1–3", "Điều 6, Điều 8", "3.2.1–3.2.2", "điểm a–c"."""
    if len(children) == 1:
        return children[0].label
    kinds = {c.key.split(":")[0] for c in children}
    first, last = children[0], children[-1]
    if len(kinds) == 1:
        word = first.label.split()[0] if first.key.split(":")[0] in ("dieu", "khoan", "diem", "chuong", "phan") \
            or first.label.startswith("Mục ") else ""
        values = [c.key.split(":")[1] for c in children]
        number = values[-1]
        if word:
            return f"{word} {values[0]}–{number}" if len(values) > 2 else f"{word} {values[0]}, {number}"
        return f"{values[0]}–{number}" if len(values) > 2 else f"{values[0]}, {number}"
    return ", ".join(c.label for c in children) if len(children) < 4 else f"{first.label} – {last.label}"


def _subtree(node: structure.Node) -> list[structure.Node]:
    out = [node]
    for child in node.children:
        out.extend(_subtree(child))
    return out


def _implemented(group: _Group) -> tuple[str, ...]:
    """Units of the implemented document: those named by the passage's own units, else by the closest
    enclosing unit that names some ("3.2.1" under "3.2. (Khoản 2)" under "3. Điều 4")."""
    inherited: tuple[str, ...] = ()
    for node in group.parent:
        inherited = node.implements or inherited
    out: list[str] = []
    for child in group.children or [None]:
        own = [u for n in _subtree(child) for u in n.implements] if child is not None else []
        out.extend(own or inherited)
    return tuple(dict.fromkeys(out))


def _structured_passages(doc: Document, parsed: structure.Structure, min_words: int,
                         max_words: int) -> list[Passage]:
    packer = _Packer(min_words, max_words)
    packer.pack(parsed.root, (), [])
    if parsed.closing:
        closing = _Group((), [ln.text for ln in parsed.closing], parsed.closing[0].offset,
                         sum(len(ln.text.split()) for ln in parsed.closing))
        if closing.words > max_words:
            for piece in _hard_pieces(closing.lines, max_words):
                packer.groups.append(_Group((), [piece], closing.offset, len(piece.split())))
        else:
            packer._emit(closing)
    passages: list[Passage] = []
    for ordinal, group in enumerate(packer.groups):
        labels = [n.label for n in group.parent]
        if group.children:
            labels.append(_range(group.children))
        # the enclosing units, then every unit held whole in the passage, in document order
        units = tuple(n.key for n in group.parent) + tuple(n.key for c in group.children for n in _subtree(c))
        text = "\n".join(group.lines)
        page = bisect.bisect_right(doc.page_starts, group.offset) if doc.page_starts else 0
        passages.append(Passage(passage_id=f"{doc.doc_id}#{ordinal}", doc_id=doc.doc_id, ordinal=ordinal,
                                section=" › ".join(labels), text=text,
                                doc_numbers=_numbers(f"{doc.title}\n{text}"), page=page, units=units,
                                implements=_implemented(group)))
    return passages
