"""References to numbered units typed in a question ("khoan 2 dieu 4 dieu le", "mục 3.2 quy định 294", "điểm b
khoản 1 Điều 36"), as the canonical unit keys of bot/documents/structure ("dieu:4", "khoan:2", "muc:3.2")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.documents import vietnamese

# On the folded, lower-cased question: "dieu 4", "khoan 2", "diem b", "muc 3.2", "chuong ii", and the
# short forms people type in chats ("đ4", "k2"). "điểm 3.6" in the guides means the outline item 3.6.
_DIEU = re.compile(r"\b(?:dieu\s*|d)(\d{1,3})\b")
_KHOAN = re.compile(r"\b(?:khoan\s*|k)(\d{1,2})\b")
_DIEM = re.compile(r"\bdiem\s+([a-z])\b(?![.\d])")
_MUC = re.compile(r"\b(?:tieu\s+muc|muc|diem)\s+(\d{1,2}(?:\.\d{1,2}){0,4})\b\.?")
_CHUONG = re.compile(r"\bchuong\s+([ivxlc]{1,6}|\d{1,2})\b")
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}
# "Điều lệ" itself is not an article number; nor is the "d" of a date ("d 2024")
_DIEU_LE = re.compile(r"\bdieu\s+le\b")
_KINDS_OUTER_FIRST = ("phan", "chuong", "muc", "dieu", "khoan", "diem")


@dataclass(frozen=True)
class UnitQuery:
    """The unit a question names: its keys outermost first, and the question with the reference taken out."""

    keys: tuple[str, ...]  # ("dieu:4", "khoan:2") or ("muc:3", "muc:3.2") or ("chuong:2",)
    rest: str  # folded question without the unit words ("dieu le dang", "quy dinh 294")

    @property
    def path(self) -> str:
        """"dieu:4/khoan:2": the form used in Passage.implements and in channel callbacks."""
        return "/".join(self.keys)


def roman(text: str) -> int:
    total = prev = 0
    for ch in reversed(text.lower()):
        value = _ROMAN.get(ch, 0)
        total = total - value if value < prev else total + value
        prev = max(prev, value)
    return total


def outline_keys(number: str) -> tuple[str, ...]:
    """"3.2.1" -> ("muc:3", "muc:3.2", "muc:3.2.1")."""
    parts = number.strip(".").split(".")
    return tuple("muc:" + ".".join(parts[: i + 1]) for i in range(len(parts)))


def parse_unit_query(question: str) -> UnitQuery | None:
    """The unit a question names, or None when it names no Điều, Mục or Chương."""
    text = vietnamese.fold(vietnamese.normalize(question or "")).lower()
    text = _DIEU_LE.sub(lambda m: "\x00" * len(m.group(0)), text)  # keep offsets, hide "dieu le"
    found: list[tuple[int, int, str]] = []  # (start, end, key)
    for m in _MUC.finditer(text):
        for key in outline_keys(m.group(1)):
            found.append((m.start(), m.end(), key))
    taken = [(s, e) for s, e, _ in found]

    def free(m: re.Match) -> bool:
        return not any(s <= m.start() < e for s, e in taken)

    for pattern, kind in ((_CHUONG, "chuong"), (_DIEU, "dieu"), (_KHOAN, "khoan"), (_DIEM, "diem")):
        for m in pattern.finditer(text):
            if not free(m):
                continue
            value = m.group(1)
            if kind == "chuong" and not value.isdigit():
                value = str(roman(value))
            elif kind != "diem":
                value = str(int(value))
            found.append((m.start(), m.end(), f"{kind}:{value}"))
            if kind in ("dieu", "chuong"):
                break  # one article (chapter) per question
    keys = [k for _, _, k in found]
    if not any(k.startswith(("dieu:", "muc:", "chuong:")) for k in keys):
        return None
    if sum(1 for k in keys if k.startswith("khoan:")) > 1 or sum(1 for k in keys if k.startswith("diem:")) > 1:
        return None  # "khoản 1, khoản 2 …": a comparison, not one unit
    ordered = sorted(dict.fromkeys(keys), key=lambda k: (_KINDS_OUTER_FIRST.index(k.split(":")[0]),
                                                         k.count(".")))
    rest = text
    for s, e in sorted({(s, e) for s, e, _ in found}, reverse=True):
        rest = rest[:s] + " " + rest[e:]
    rest = re.sub(r"\s+", " ", rest.replace("\x00" * 7, "dieu le").replace("\x00", " ")).strip()
    return UnitQuery(tuple(ordered), rest)


def unit_label(keys: tuple[str, ...] | list[str], names: dict[str, str]) -> str:
    """("dieu:4", "khoan:2", "diem:b") -> "điểm b khoản 2 Điều 4" (innermost first, as people say it);
    outline keys -> "mục 3.2". `names` maps a kind to its Vietnamese word (bot.messages.UNIT_NAMES)."""
    keys = [k for k in keys if k]
    if not keys:
        return ""
    outline = [k for k in keys if k.startswith("muc:")]
    parts = []
    for key in reversed(keys):
        kind, value = key.split(":", 1)
        if kind == "muc" and key != outline[-1]:
            continue  # "mục 3.2.1", not "mục 3.2.1 mục 3.2 mục 3"
        if kind in ("chuong", "phan") and len(keys) > 1:
            continue
        parts.append(f"{names.get(kind, kind)} {_display_value(kind, value)}")
    return " ".join(parts)


def _display_value(kind: str, value: str) -> str:
    if kind in ("chuong", "phan") and value.isdigit():
        return _to_roman(int(value))
    return value


def _to_roman(n: int) -> str:
    out = []
    for value, letters in ((100, "C"), (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"),
                           (4, "IV"), (1, "I")):
        while n >= value:
            out.append(letters)
            n -= value
    return "".join(out)
