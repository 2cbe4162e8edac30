"""The numbered structure of an official text (Phần / Chương / Mục / Điều / khoản / điểm, or the decimal
outline "3.", "3.2.", "3.2.1."), read from the text itself in any format; a tree of units for chunking."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Markup that may wrap a line in Markdown: heading hashes, bold/italic stars, a quote mark.
_MD_WRAP = re.compile(r"^\s*(?:#{1,6}\s+)?[>*_\s]*")
_MD_TAIL = re.compile(r"[*_\s]+$")
_PHAN = re.compile(r"^(?:Phần|PHẦN)\s+(thứ\s+\w+|THỨ\s+\w+|[IVXLC]{1,6}|\d{1,2})(?![\w])", re.U)
_CHUONG = re.compile(r"^(?:Chương|CHƯƠNG)\s+([IVXLC]{1,6}|\d{1,2})(?![\w])", re.U)
_MUC_NAMED = re.compile(r"^(?:Mục|MỤC)\s+([IVXLC]{1,6}|\d{1,2})(?:\s*[.:\-–]|\s*$)", re.U)
_DIEU = re.compile(r"^(?:Điều|ĐIỀU)\s+(\d{1,3})([a-z]?)(?:\s*[.:\-–]|\s*$)", re.U)
_KHOAN = re.compile(r"^(\d{1,2})\.\s+\S", re.U)
_DIEM = re.compile(r"^([a-zđ])\)\s*\S", re.U)
_ROMAN = re.compile(r"^([IVXLC]{1,6})\s*[.\-–]\s+\S", re.U)
# "3.", "3.2.", "3.2.1." (the last dot may be missing when there are several numbers: "10.4.3 Các …")
_OUTLINE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})(\.?)\s+\S", re.U)
_LETTERS = "abcdđeghiklmnopqrstuvxy"
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
_ORDINALS = {"nhất": 1, "hai": 2, "ba": 3, "tư": 4, "bốn": 4, "năm": 5, "sáu": 6, "bảy": 7, "tám": 8,
             "chín": 9, "mười": 10}
# The closing block of an official text ("Quy định này có hiệu lực …", "Nơi nhận:") is not part of the last
# numbered unit.
_CLOSING = re.compile(r"^(?:(?:Quy định|Hướng dẫn|Chỉ thị|Nghị quyết|Kết luận|Điều lệ|Quyết định|Thông tư|"
                      r"Nghị định|Luật|Kế hoạch|Quy chế|Văn bản)\s+này\b|Nơi nhận\s*:)", re.U | re.I)
# Reference prefix of an outline heading: "Điều 4:", "(Khoản 2):", "Điều 12 (Khoản 2), Điều 20 (Khoản 2):"
_REF_PREFIX = re.compile(r"^((?:[(\s]*(?:Điều|Khoản)\s+\d{1,3}(?:\s*(?:,|và)\s*(?:(?:Điều|Khoản)\s+)?\d{1,3})*"
                         r"[)\s]*[,;]?\s*)+):", re.U | re.I)
_REF_TOKEN = re.compile(r"(Điều|Khoản)\s+(\d{1,3}(?:\s*(?:,|và)\s*\d{1,3}(?!\s*\d))*)|(\()|(\))", re.U | re.I)
_RUN_IN = re.compile(r"(?<=[.;:])\s+(?:(\d{1,2}(?:\.\d{1,2}){0,3})\.|([a-zđ])\))\s+(?=[A-ZĐÀ-Ỹ(])", re.U)
_REF_START = re.compile(r"^\((?:Khoản|Điều)\s+\d", re.U)
# How many outline / article headings make a text structured
_MIN_ARTICLES = 3
_MIN_OUTLINE = 3


@dataclass
class Line:
    text: str
    offset: int  # where the line starts in the document text


@dataclass
class Node:
    """One numbered unit: its heading line and text before its first child, then its children."""

    key: str  # canonical key: "chuong:2", "dieu:4", "khoan:2", "diem:b", "muc:3.2", "phan:1"; "" for the root
    label: str  # shown in the section path: "Chương II", "Điều 4", "khoản 2", "Mục 3 (Điều 4)", "3.2 (Khoản 2)"
    rank: int  # nesting rank of the kind of unit (outermost 0); the root is -1
    lines: list[Line] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    # units of the implemented document named in the heading ("3. Điều 4: …" -> ("dieu:4",))
    implements: tuple[str, ...] = ()
    dieu: tuple[int, ...] = ()  # Điều numbers named in an outline heading (inherited by "(Khoản 2)")

    def words(self) -> int:
        return sum(len(ln.text.split()) for ln in self.lines) + sum(c.words() for c in self.children)


@dataclass
class Structure:
    mode: str  # "article" (Chương / Điều / khoản / điểm) or "outline" (3. / 3.2. / 3.2.1. / a))
    root: Node
    closing: list[Line] = field(default_factory=list)  # "… này có hiệu lực …", "Nơi nhận:", signatures


def roman_value(text: str) -> int:
    total, prev = 0, 0
    for ch in reversed(text.upper()):
        value = _ROMAN_VALUES.get(ch, 0)
        total = total - value if value < prev else total + value
        prev = max(prev, value)
    return total


def _plain(line: str) -> str:
    """A line without Markdown wrapping (heading hashes, bold stars), for classification."""
    return _MD_TAIL.sub("", _MD_WRAP.sub("", line, count=1))


def _lines(text: str) -> list[Line]:
    """Non-empty lines with their offsets; a line starting in lower case continues the one before it (a
    paragraph broken by a page end in an extracted PDF)."""
    out: list[Line] = []
    pos = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            offset = pos + raw.find(stripped)
            lower = stripped[0].islower() and not _DIEM.match(stripped) and not _is_break(out[-1].text) \
                if out else False
            # a list of references broken over two lines: "10.4. (Khoản 2, Điều 10); …;" + "(Khoản 1, Điều 43): …"
            refs = bool(out) and out[-1].text.endswith((";", ",")) and bool(_REF_START.match(stripped))
            if lower or refs:
                out[-1] = Line(f"{out[-1].text} {stripped}", out[-1].offset)
            else:
                out.append(Line(stripped, offset))
        pos += len(raw) + 1
    return out


def _is_break(text: str) -> bool:
    """A line after which a lower-case line is not its continuation: it ends a sentence or a list item."""
    return text.rstrip("*_ ").endswith((".", ":", ";", "!", "?"))


def _letter_index(letter: str) -> int:
    return _LETTERS.find(letter)


# ------------------------------------------------------------------ reading the units


class _Reader:
    """Walks the lines keeping the open units; a numbered line opens a unit only when its number follows
    the open ones (khoản 1 after Điều 3, 3.2 after 3.1.4, b) after a)), so a stray "5." is text."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.root = Node("", "", -1)
        self.stack: list[Node] = [self.root]
        self.count = 0  # units opened

    def feed(self, line: Line) -> None:
        if self.mode != "outline":
            self._feed_one(line)
            return
        # in an outline, a heading may have been run into the line before it by the PDF extractor
        text, offset = line.text, line.offset
        while True:
            first = _RUN_IN.search(text)
            if first is None:
                self._feed_one(Line(text, offset))
                return
            self._feed_one(Line(text[:first.start()].rstrip(), offset))
            # the first candidate that follows the units now open starts the next line; what comes before
            # it stays with the line just read
            cut = next((m for m in _RUN_IN.finditer(text, first.start()) if self._run_in_follows(m)), None)
            end = cut.start() if cut is not None else len(text)
            last = self.stack[-1].lines[-1]
            between = text[first.start():end].strip()
            if between:
                self.stack[-1].lines[-1] = Line(f"{last.text} {between}", last.offset)
            if cut is None:
                return
            rest = text[cut.start():]
            text, offset = rest.lstrip(), offset + cut.start() + len(rest) - len(rest.lstrip())

    def _run_in_follows(self, m: re.Match) -> bool:
        if m.group(1):
            return self._follows([int(x) for x in m.group(1).split(".")])
        return self._diem_follows(m.group(2))

    def _feed_one(self, line: Line) -> None:
        if not self._open(_plain(line.text), line):
            self.stack[-1].lines.append(line)

    def _push(self, node: Node, line: Line) -> bool:
        while self.stack[-1].rank >= node.rank:
            self.stack.pop()
        parent = self.stack[-1]
        node.lines.append(Line(_plain_heading(line.text), line.offset))
        parent.children.append(node)
        self.stack.append(node)
        self.count += 1
        return True

    def _last(self, prefix: str) -> Node | None:
        for node in reversed(self.stack):
            if node.key.startswith(prefix):
                return node
        return None

    def _open(self, text: str, line: Line) -> bool:
        if self.mode == "article":
            return self._open_article(text, line)
        return self._open_outline(text, line)

    def _open_article(self, text: str, line: Line) -> bool:
        m = _PHAN.match(text)
        if m:
            n = _number(m.group(1))
            return self._push(Node(f"phan:{n}", f"Phần {m.group(1)}", 0), line)
        m = _CHUONG.match(text)
        if m:
            last = self._last("chuong:")
            n = _number(m.group(1))
            if last is None or n > int(last.key.split(":")[1]):
                return self._push(Node(f"chuong:{n}", f"Chương {m.group(1)}", 1), line)
            return False
        m = _MUC_NAMED.match(text)
        if m:
            n = _number(m.group(1))
            return self._push(Node(f"muc:{n}", f"Mục {m.group(1)}", 2), line)
        m = _DIEU.match(text)
        if m:
            return self._push(Node(f"dieu:{m.group(1)}{m.group(2)}", f"Điều {m.group(1)}{m.group(2)}", 3), line)
        top = self.stack[-1]
        m = _KHOAN.match(text)
        if m and self._last("dieu:") is not None:
            n = int(m.group(1))
            khoan = self._last("khoan:")
            expected = int(khoan.key.split(":")[1]) + 1 if khoan is not None else 1
            if expected <= n <= expected + 1 and (khoan is not None or n == 1):
                return self._push(Node(f"khoan:{n}", f"khoản {n}", 4), line)
        m = _DIEM.match(text)
        if m and top.rank >= 3:
            return self._open_diem(m.group(1), line, 5)
        return False

    def _diem_follows(self, letter: str) -> bool:
        """a) opens the first điểm; b) follows a), c) follows b) (or a): one letter may be missing)."""
        last = self.stack[-1] if self.stack[-1].key.startswith("diem:") else None
        index = _letter_index(letter)
        expected = _letter_index(last.key.split(":")[1]) + 1 if last is not None else 0
        return expected <= index <= expected + 1 and (last is not None or index == 0)

    def _open_diem(self, letter: str, line: Line, rank: int) -> bool:
        if self._diem_follows(letter):
            return self._push(Node(f"diem:{letter}", f"điểm {letter}", rank), line)
        return False

    def _open_outline(self, text: str, line: Line) -> bool:
        m = _OUTLINE.match(text)
        if m and (m.group(2) or "." in m.group(1)):
            numbers = [int(x) for x in m.group(1).split(".")]
            if self._follows(numbers):
                return self._push(_outline_node(numbers, text[m.end(2):].strip(), self._siblings_dieu(numbers),
                                                self._parent_dieu(numbers)), line)
        m = _DIEM.match(text)
        if m and len(self.stack) > 1:
            return self._open_diem(m.group(1), line, 20)
        m = _ROMAN.match(text)
        if m and (len(self.stack) == 1 or self.stack[1].key.startswith("muc:") and
                  not self.stack[1].key[4:].isdigit()):
            last = next((c for c in reversed(self.root.children) if not c.key[4:].isdigit()), None)
            value = roman_value(m.group(1))
            if value == (roman_value(last.key[4:]) + 1 if last is not None else 1):
                return self._push(Node(f"muc:{m.group(1)}", m.group(1), 0), line)
        return False

    def _outline_path(self) -> list[int]:
        for node in reversed(self.stack):
            if node.key.startswith("muc:") and node.key[4:].replace(".", "").isdigit():
                return [int(x) for x in node.key[4:].split(".")]
        return []

    def _follows(self, numbers: list[int]) -> bool:
        """3.2.1 follows 3.2 (first child), 3.1.4 (next sibling of an ancestor) or 3.2.0; gaps of one."""
        current = self._outline_path()
        depth = len(numbers)
        if depth > len(current) + 1 or numbers[:-1] != current[:depth - 1]:
            return False
        if depth == len(current) + 1:
            return numbers[-1] in (1, 2) if current or depth > 1 else numbers[-1] >= 1
        return current[depth - 1] < numbers[-1] <= current[depth - 1] + 2

    def _outline_parent(self, numbers: list[int]) -> int:
        """Stack position of the unit a new outline heading goes under (0: the root)."""
        want = "muc:" + ".".join(map(str, numbers[:-1])) if len(numbers) > 1 else ""
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].key == want:
                return i
        return 0

    def _parent_dieu(self, numbers: list[int]) -> tuple[int, ...]:
        for node in reversed(self.stack[:self._outline_parent(numbers) + 1]):
            if node.dieu:
                return node.dieu
        return ()

    def _siblings_dieu(self, numbers: list[int]) -> tuple[int, ...]:
        """Điều named by the closest previous sibling ("16.4. (Khoản 4, Điều 13)" before "16.5. (Khoản 5)")."""
        for sibling in reversed(self.stack[self._outline_parent(numbers)].children):
            if sibling.dieu:
                return sibling.dieu
        return ()


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    words = text.split()
    if len(words) == 2:  # "thứ nhất"
        return _ORDINALS.get(words[1].lower(), 0)
    return roman_value(text)


def _plain_heading(text: str) -> str:
    """A heading line as shown in a passage: without Markdown heading hashes (the words are kept)."""
    return re.sub(r"^#{1,6}\s+", "", text)


def _outline_node(numbers: list[int], rest: str, sibling_dieu: tuple[int, ...],
                  parent_dieu: tuple[int, ...]) -> Node:
    number = ".".join(map(str, numbers))
    implements, dieu, note = parse_reference(rest, sibling_dieu or parent_dieu)
    label = f"Mục {number}" if len(numbers) == 1 else number
    if note:
        label += f" ({note})"
    return Node(f"muc:{number}", label, len(numbers), implements=implements, dieu=dieu)


def parse_reference(text: str, inherited: tuple[int, ...] = ()) -> tuple[tuple[str, ...], tuple[int, ...], str]:
    """The Điều / khoản an outline heading carries out, from its prefix before ':'.

    "Điều 4: …" -> (("dieu:4",), (4,), "Điều 4"); "(Khoản 2): …" with inherited (4,) ->
    (("dieu:4/khoan:2",), (), "Khoản 2"); "(Khoản 1, Điều 10): …" -> (("dieu:10/khoan:1",), (10,), …).
    """
    m = _REF_PREFIX.match(text)
    if not m:
        return (), (), ""
    prefix = m.group(1)
    units: list[str] = []
    named: list[int] = []
    group_dieu: list[int] = []
    group_khoan: list[int] = []
    last_dieu: int | None = None

    def close_group() -> None:
        nonlocal last_dieu
        targets = group_dieu or ([last_dieu] if last_dieu is not None else list(inherited[:1]))
        for d in group_dieu:
            if not group_khoan:
                units.append(f"dieu:{d}")
        for k in group_khoan:
            for d in targets[:1]:
                units.append(f"dieu:{d}/khoan:{k}")
        if group_dieu:
            last_dieu = group_dieu[-1]
        group_dieu.clear()
        group_khoan.clear()

    depth = 0
    for token in _REF_TOKEN.finditer(prefix):
        kind, nums, opening, closing = token.groups()
        if opening:
            if depth == 0 and not (group_dieu and not group_khoan):  # "Điều 1 (Khoản 2)": one group
                close_group()
            depth += 1
            continue
        if closing:
            depth = max(0, depth - 1)
            if depth == 0:
                close_group()
            continue
        values = [int(x) for x in re.findall(r"\d+", nums)]
        if kind.lower().startswith("đ") or kind.startswith("Đ"):
            if depth == 0:
                close_group()
            group_dieu.extend(values)
            named.extend(values)
        else:
            if depth == 0 and group_dieu and not group_khoan:
                pass  # "Điều 28 Khoản 1" without brackets: the khoản belong to that Điều
            group_khoan.extend(values)
    close_group()
    units = list(dict.fromkeys(units))
    return tuple(units), tuple(dict.fromkeys(named)), _reference_note(units, set(named))


def _reference_note(units: list[str], named: set[int]) -> str:
    """"Điều 4", "Khoản 2" (its Điều inherited), "Điều 21, khoản 3, 4, 5; Điều 42, khoản 1"."""
    by_dieu: dict[int, list[str]] = {}
    for unit in units:
        dieu, _, khoan = unit.partition("/")
        by_dieu.setdefault(int(dieu.split(":")[1]), [])
        if khoan:
            by_dieu[int(dieu.split(":")[1])].append(khoan.split(":")[1])
    parts = []
    for dieu, khoans in by_dieu.items():
        if dieu not in named:
            parts.append(f"Khoản {', '.join(khoans)}")
        else:
            parts.append(f"Điều {dieu}" + (f", khoản {', '.join(khoans)}" if khoans else ""))
    return "; ".join(parts)


# ------------------------------------------------------------------ the whole text


def _mode(lines: list[Line]) -> str:
    """"article" when the text has a run of "Điều N" headings, "outline" when it has a decimal outline
    ("1.1.", "1.1.1."), "" for unstructured text (news)."""
    articles = [int(m.group(1)) for ln in lines if (m := _DIEU.match(_plain(ln.text)))]
    rising = sum(1 for a, b in zip(articles, articles[1:]) if b == a + 1)
    if rising + 1 >= _MIN_ARTICLES:
        return "article"
    reader = _Reader("outline")
    deep = 0
    for line in lines:
        before = reader.count
        reader.feed(line)
        if reader.count > before and reader.stack[-1].key.count(".") >= 1:
            deep += 1
    return "outline" if deep >= _MIN_OUTLINE else ""


def parse(text: str) -> Structure | None:
    """The text's tree of numbered units, or None when the text is not structured."""
    lines = _lines(text)
    mode = _mode(lines)
    if not mode:
        return None
    reader = _Reader(mode)
    closing: list[Line] = []
    for line in lines:
        if closing or (reader.count and _CLOSING.match(_plain(line.text))):
            closing.append(line)
            continue
        reader.feed(line)
    return Structure(mode, reader.root, closing)


def all_units(node: Node, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every unit's key path, outermost first, in document order (for tests and lookups)."""
    out: list[tuple[str, ...]] = []
    for child in node.children:
        here = path + (child.key,)
        out.append(here)
        out.extend(all_units(child, here))
    return out
