"""Party document numbers in text and questions ("Chỉ thị số 05", "QĐ 37", "NQ TW4 khóa XII") -> canonical form.

Canonical number: "<number, at least 2 digits>-<TYPE>/<ISSUER>" in the official spelling ("05-CT/TW",
"08-QĐi/TW"); "527-KH" when the issuer is unknown. Plenums: "TW4-XII".
Keys for lookups (`doc_key`): "qd-08" — the same for QĐ and QĐi and for every central issuer (TW, BTGTW, ...)
or an assumed/unknown issuer; a non-central issuer stays in the key ("ct-05-tu" for 05-CT/TU of a Tỉnh ủy),
so a provincial directive is never mistaken for the Politburo's directive with the same number.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from dataclasses import dataclass

from bot import messages

__all__ = [
    "DocNumber",
    "TYPE_NAMES",
    "PLENUM_RESOLUTIONS",
    "find_doc_numbers",
    "canonical",
    "doc_key",
    "own_spelling",
    "describe",
]

TYPE_NAMES: dict[str, str] = messages.TYPE_NAMES_BY_CODE  # "CT" -> "Chỉ thị" (bot/messages.py holds the table)

# Plenum (Hội nghị Trung ương <n> khóa <term>) -> the resolution it issued. Only verified facts belong here.
PLENUM_RESOLUTIONS: dict[str, str] = {
    "TW4-XII": "04-NQ/TW",  # Nghị quyết Trung ương 4 khóa XII, 30/10/2016
}

# Types whose issuer is assumed to be the Central Committee ("/TW") when the text gives none.
_CENTRAL_BY_DEFAULT = frozenset({"CT", "KL", "NQ", "QĐ", "QĐi"})

# Type words as they appear after folding (no diacritics, lower case) -> type code.
_TYPE_WORDS: dict[str, str] = {
    "chi thi": "CT",
    "ket luan": "KL",
    "nghi quyet": "NQ",
    "quy dinh": "QĐ",
    "quyet dinh": "QĐ",
    "huong dan": "HD",
    "ke hoach": "KH",
    "thong bao": "TB",
    "bao cao": "BC",
}
# Folded type codes -> official spelling.
_CODES: dict[str, str] = {
    "ct": "CT",
    "kl": "KL",
    "nq": "NQ",
    "qd": "QĐ",
    "qdi": "QĐi",
    "hd": "HD",
    "kh": "KH",
    "tb": "TB",
    "bc": "BC",
}

_ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X",
          "XI", "XII", "XIII", "XIV", "XV", "XVI", "XVII", "XVIII", "XIX", "XX"]
_ORDINAL_WORDS = {"nhat": 1, "hai": 2, "ba": 3, "tu": 4, "bon": 4, "nam": 5, "sau": 6, "bay": 7,
                  "tam": 8, "chin": 9, "muoi": 10}


_COMBINING_RE = re.compile(r"[\u0300-\u036f]+")
# Same-length replacements applied after stripping marks; str.replace is much faster than str.translate.
_FOLD_REPLACEMENTS = [("đ", "d"), ("Đ", "D"), ("Ð", "D"), ("ð", "d"), ("–", "-"), ("—", "-"), ("\u00a0", " ")]


def _fold_chars(text: str) -> str:
    folded = _COMBINING_RE.sub("", unicodedata.normalize("NFD", text))
    for old, new in _FOLD_REPLACEMENTS:
        if old in folded:
            folded = folded.replace(old, new)
    return folded


# All patterns run on folded, lower-case text (see _Source).
_CODE_ALT = r"qdi|qd|ct|kl|nq|hd|kh|tb|bc"
# An issuer: "TW", "BTGTW", "ĐU", or dotted single letters "T.Ư".
_ISSUER = r"((?:[a-z]\.)+[a-z](?![a-z])|[a-z]{1,12})(?![a-z\d])"
# After a number: "-CT/TW", "/CT-TW", " CT/TW", "-ct-tw"
_CODE_TAIL = rf"\s*[-/]?\s*({_CODE_ALT})\s*[-/]\s*{_ISSUER}"
# Counting words after a bare number mean it is a quantity ("5 năm", "19 điều"), unless a number follows
# ("năm 2016", "ngày 15-5-2016").
_COUNTING = (
    r"nam|thang|ngay|tuan|gio|lan|diem|dieu|khoan|muc|chuong|nguoi|luot|dong|trieu|ty|nghin|ngan|"
    r"noi dung(?!\s+(?:gi|chinh|co ban|cot loi))|nhiem vu|giai phap|van de|bieu hien|tap the|ca nhan|dang vien|to chuc|don vi|co so|"
    r"chi bo|mo hinh|dien hinh|chuyen de|nhom"
)
_NOT_A_QUANTITY = rf"(?!\s*(?:{_COUNTING})\b(?!\s*\d))(?!\s*%)"
# In a list, a number followed by a type word counts documents: "Chỉ thị 05 và 2 kết luận".
_NOT_COUNTING_DOCUMENTS = r"(?!\s*(?:" + "|".join(w.replace(" ", r"\s+") for w in _TYPE_WORDS) + r")\b)"

# 05-CT/TW, 05/CT-TW, 23 -CT/TW, 05 CT/TW
_FULL_RE = re.compile(rf"(?<![\w./-])(\d{{1,4}})\s*[-/]?\s*({_CODE_ALT})\s*[-/]\s*{_ISSUER}")
# Chỉ thị số 05, Kết luận 21-KL/TW
_WORD_RE = re.compile(
    r"(?<![a-z])(" + "|".join(w.replace(" ", r"\s+") for w in _TYPE_WORDS) + rf")\s*(?:so\s*)?"
    rf"(\d{{1,4}})(?!\d)(?![-/.,]\d)(?:{_CODE_TAIL}|{_NOT_A_QUANTITY}(?![a-z\d]))",
)
# CT05, CT 05, ct-05, QĐ 37, qđ37, NQ 04 — only the four central types, to avoid "BC 5", "TB 2".
_ABBREV_RE = re.compile(
    r"(?<![a-z\d])(qdi|qd|ct|kl|nq)\s*[-.]?\s*(?:so\s*)?(\d{1,4})(?!\d)(?![-/.,]\d)"
    + _NOT_A_QUANTITY
    + r"(?![a-z\d])",
)
# "... 05 và 06", "..., 06"
_LIST_RE = re.compile(
    rf"\s*(?:,|;|&|\bva\b|\bhoac\b)\s*(?:so\s*)?(\d{{1,4}})(?!\d)(?![-/.,]\d)"
    rf"(?:{_CODE_TAIL}|{_NOT_A_QUANTITY}{_NOT_COUNTING_DOCUMENTS}(?![a-z\d]))",
)
_TERM = r"([ivx]{1,5}|\d{1,2})(?![a-z\d])"
_PLENUM_NUMBER = r"(?:lan\s+thu\s*)?(\d{1,2}|" + "|".join(_ORDINAL_WORDS) + r")(?![a-z\d])"
# Nghị quyết Trung ương 4 khóa XII, NQ TW4 khóa XII, Hội nghị Trung ương 4, khóa XIII, NQTW 4 (khóa XI)
_PLENUM_RE = re.compile(
    r"(?<![a-z])(?:nghi\s+quyet|nq|hoi\s+nghi|hn)\s*(?:trung\s+uong|tw)\s*" + _PLENUM_NUMBER
    + r"\s*[,(]?\s*(?:cua\s+)?(?:khoa|k)\s*" + _TERM,
)
# Hội nghị lần thứ 4, Ban Chấp hành Trung ương Đảng, khóa XIII
_PLENUM_LONG_RE = re.compile(
    r"(?<![a-z])hoi\s+nghi\s+(?:lan\s+)?thu\s*(\d{1,2}|" + "|".join(_ORDINAL_WORDS) + r")(?![a-z\d])\s*,?\s*"
    r"(?:cua\s+)?ban\s+chap\s+hanh\s+trung\s+uong(?:\s+dang)?(?:\s+cong\s+san\s+viet\s+nam)?\s*,?\s*\(?\s*khoa\s*"
    + _TERM,
)
# Substrings (lower-case, folded) that each pattern needs; whitespace inside names may vary, so single words.
_FULL_NEEDLES = ("ct", "kl", "nq", "qd", "hd", "tb", "bc", "kh/", "kh-", "kh ")
_WORD_NEEDLES = ("thi", "luan", "quyet", "dinh", "huong", "hoach", "thong", "cao")
_ABBREV_NEEDLES = ("ct", "kl", "nq", "qd")
_PLENUM_NEEDLES = ("trung", "tw")
_PLENUM_LONG_NEEDLES = ("chap",)
_MORE_TERMS_RE = re.compile(r"\s*(?:,|va)\s*([ivx]{1,5})(?![a-z\d])")
_KEY_RE = re.compile(r"(?:ct|kl|nq|qd|hd|kh|tb|bc)-\d{2,4}(?:-[a-z]+)?|tw\d{1,2}-[ivx]{1,5}")


@dataclass(frozen=True)
class DocNumber:
    """A document number found in text. span is (start, end) in the original text."""

    number: str  # "05"; for a plenum the plenum number, "4"
    type: str  # official code: "CT", "QĐi", ...; "HNTW" for a plenum
    issuer: str  # "TW", "TU", ...; "" when unknown; for a plenum "TW"
    issuer_assumed: bool
    canonical: str  # "05-CT/TW", "527-KH", "TW4-XII"
    key: str  # "ct-05", "qd-08", "kh-99-tu", "tw4-xii"
    span: tuple[int, int]
    type_name: str = ""  # the type word: "Quy định", or "Quyết định" when the text says so
    term: str = ""  # plenum only: "XII"
    code_written: bool = False  # the type code was written ("08-QĐi/TW", "QĐi 08"), not inferred ("Quy định 08")


def _fold_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """Fold diacritics so that, for NFC text, character i of the result is character i of the original.

    When the original holds loose combining marks (decomposed input), the result is shorter and the offset
    map (result index -> original index) is returned as well.
    """
    if not _COMBINING_RE.search(text):
        folded = _fold_chars(text)
        if len(folded) == len(text):
            return folded, None
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if "\u0300" <= ch <= "\u036f":
            continue
        for out in _fold_chars(ch):
            chars.append(out)
            origin.append(i)
    return "".join(chars), origin


def _lower_same_length(folded: str) -> str:
    lowered = folded.lower()
    if len(lowered) == len(folded):
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in folded)


def _is_central(issuer: str) -> bool:
    return issuer == "TW" or issuer.endswith("TW")


def _canonical_issuer(raw: str) -> str:
    issuer = unicodedata.normalize("NFC", raw).replace(".", "").replace("Ð", "Đ")
    if issuer.islower():  # typed in lower case ("05-ct/tw"); mixed case is an official spelling ("TTg")
        issuer = issuer.upper()
    # "TƯ" (Trung ương) is written TW; a plain "TU" is a Tỉnh ủy and stays.
    return issuer.replace("TƯ", "TW")


def _type_key(type_code: str) -> str:
    return "qd" if type_code in ("QĐ", "QĐi") else type_code.lower()


def _make_key(number: str, type_code: str, issuer: str, issuer_assumed: bool) -> str:
    key = f"{_type_key(type_code)}-{number}"
    if issuer and not issuer_assumed and not _is_central(issuer):
        key += "-" + _fold_chars(issuer).lower()
    return key


def _pad(number: str) -> str | None:
    value = int(number)
    return f"{value:02d}" if value > 0 else None


def _make(
    number: str,
    type_code: str,
    issuer: str,
    span: tuple[int, int],
    type_name: str = "",
    code_written: bool = False,
) -> DocNumber | None:
    padded = _pad(number)
    if padded is None:
        return None
    assumed = False
    if not issuer and type_code in _CENTRAL_BY_DEFAULT:
        issuer, assumed = "TW", True
    canonical_form = f"{padded}-{type_code}/{issuer}" if issuer else f"{padded}-{type_code}"
    return DocNumber(
        number=padded,
        type=type_code,
        issuer=issuer,
        issuer_assumed=assumed,
        canonical=canonical_form,
        key=_make_key(padded, type_code, issuer, assumed),
        span=span,
        type_name=type_name or TYPE_NAMES[type_code],
        code_written=code_written,
    )


def _code(folded_code: str) -> str:
    # Matching is case-blind, so "QĐI" typed in capitals also gives the official "QĐi".
    return _CODES[folded_code.lower()]


def _merge_types(word_type: str, code: str | None) -> str:
    """The type word wins over a conflicting code ("Kết luận số 01-CT/TW" is a typo for KL); QĐi refines QĐ."""
    if code and _type_key(code) == _type_key(word_type):
        return code
    return word_type


def _plenum(number: str, term: str, span: tuple[int, int]) -> DocNumber | None:
    n = int(number) if number.isdigit() else _ORDINAL_WORDS.get(number.lower(), 0)
    term = term.upper()
    if term.isdigit():
        term = _ROMAN[int(term) - 1] if 0 < int(term) <= len(_ROMAN) else ""
    if not n or term not in _ROMAN:
        return None
    canonical_form = f"TW{n}-{term}"
    return DocNumber(
        number=str(n),
        type="HNTW",
        issuer="TW",
        issuer_assumed=False,
        canonical=canonical_form,
        key=canonical_form.lower(),
        span=span,
        type_name=TYPE_NAMES["HNTW"],
        term=term,
    )


@dataclass
class _Source:
    """The original text, its same-length folded copy, and the offset map when marks had to be dropped."""

    text: str
    folded: str  # case kept: the issuer's capitals matter
    lower: str  # what the patterns run on
    origin: list[int] | None

    def span(self, start: int, end: int) -> tuple[int, int]:
        if self.origin is None:
            return start, end
        o_start, o_end = self.origin[start], self.origin[end - 1] + 1
        while o_end < len(self.text) and "\u0300" <= self.text[o_end] <= "\u036f":
            o_end += 1
        return o_start, o_end

    def issuer(self, m: re.Match[str], group: int) -> tuple[str, int]:
        """The issuer as spelled in the original ("TƯ" -> "TW", "T.Ư" -> "TW") and its end in folded text."""
        start, end = m.start(group), m.end(group)
        letters = self.folded[start:end]
        if any(c.isupper() for c in letters) and any(c.islower() for c in letters):
            # "47 - QĐ/TWcủa": a missing space glued the next word on; keep the capitals only.
            # A one-letter lower-case tail is part of the code ("QĐ-TTg").
            capitals = len(letters) - len(letters.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ."))
            if capitals and len(letters) - capitals >= 2:
                end = start + capitals
        o_start, o_end = self.span(start, end)
        return _canonical_issuer(self.text[o_start:o_end]), end


def _contains_any(text: str, needles: tuple[str, ...]) -> bool:
    return any(n in text for n in needles)


def _list_continuation(
    src: _Source, pos: int, word_type: str, type_name: str, found: list[DocNumber]
) -> None:
    """Numbers listed after a first one: "Chỉ thị 05 và 06", "Quy định 37, 47"."""
    while m := _LIST_RE.match(src.lower, pos):
        code = _code(m.group(2)) if m.group(2) else None
        issuer, end = src.issuer(m, 3) if m.group(3) else ("", m.end())
        doc = _make(m.group(1), _merge_types(word_type, code), issuer, (m.start(1), end), type_name, code is not None)
        if doc:
            found.append(doc)
        pos = m.end()


def _candidates(src: _Source) -> list[DocNumber]:
    """Every match of every pattern, spans in folded coordinates; overlaps are resolved by the caller."""
    folded = src.lower
    found: list[DocNumber] = []
    # Cheap substring tests skip a pattern that cannot match; most passages mention no document at all.
    has = functools.partial(_contains_any, folded)
    for m in _FULL_RE.finditer(folded) if has(_FULL_NEEDLES) else ():
        issuer, end = src.issuer(m, 3)
        doc = _make(m.group(1), _code(m.group(2)), issuer, (m.start(), end), code_written=True)
        if doc:
            found.append(doc)
    for m in _WORD_RE.finditer(folded) if has(_WORD_NEEDLES) else ():
        word = re.sub(r"\s+", " ", m.group(1).lower())
        word_type = _TYPE_WORDS[word]
        type_name = "Quyết định" if word == "quyet dinh" else ""
        code = _code(m.group(3)) if m.group(3) else None
        if not code and word_type not in _CENTRAL_BY_DEFAULT and "so" not in folded[m.end(1) : m.start(2)]:
            continue  # "kế hoạch 5", "báo cáo 2": too weak without "số" or a full code
        issuer, end = src.issuer(m, 4) if m.group(4) else ("", m.end())
        doc = _make(m.group(2), _merge_types(word_type, code), issuer, (m.start(), end), type_name, code is not None)
        if doc:
            found.append(doc)
            _list_continuation(src, m.end(), word_type, type_name, found)
    for m in _ABBREV_RE.finditer(folded) if has(_ABBREV_NEEDLES) else ():
        type_code = _code(m.group(1))
        doc = _make(m.group(2), type_code, "", m.span(), code_written=True)
        if doc:
            found.append(doc)
            _list_continuation(src, m.end(), type_code, "", found)
    for regex, needles in ((_PLENUM_RE, _PLENUM_NEEDLES), (_PLENUM_LONG_RE, _PLENUM_LONG_NEEDLES)):
        for m in regex.finditer(folded) if has(needles) else ():
            end = m.end()
            if "(" in m.group() and folded[end : end + 1] == ")":
                end += 1
            doc = _plenum(m.group(1), m.group(2), (m.start(), end))
            if not doc:
                continue
            found.append(doc)
            pos = m.end()
            while more := _MORE_TERMS_RE.match(folded, pos):
                extra = _plenum(m.group(1), more.group(1), (more.start(1), more.end(1)))
                if extra:
                    found.append(extra)
                pos = more.end()
    return found


# In a question, weaker forms may still name a document the collection holds: "Hướng dẫn 06" (a type that
# needs "số" in running text), "HD 06", "hd06". Only kept when the collection has that document.
_LOOSE_WORD_RE = re.compile(
    r"(?<![a-z])(huong\s+dan|ke\s+hoach|thong\s+bao|bao\s+cao)\s*(\d{1,4})(?!\d)(?![-/.,]\d)"
    + _NOT_A_QUANTITY + r"(?![a-z\d])",
)
_LOOSE_ABBREV_RE = re.compile(
    r"(?<![a-z\d])(hd|kh|tb|bc)\s*[-.]?\s*(?:so\s*)?(\d{1,4})(?!\d)(?![-/.,]\d)" + _NOT_A_QUANTITY
    + r"(?![a-z\d])",
)


def loose_doc_numbers(text: str) -> list[DocNumber]:
    """Numbers a question may mean in forms too weak for running text ("Hướng dẫn 06", "HD 06"), which
    find_doc_numbers leaves out; the caller keeps those the collection actually holds."""
    folded, _origin = _fold_with_offsets(text)
    lower = _lower_same_length(folded)
    found: list[DocNumber] = []
    for m in _LOOSE_WORD_RE.finditer(lower):
        type_code = _TYPE_WORDS[re.sub(r"\s+", " ", m.group(1))]
        doc = _make(m.group(2), type_code, "", m.span())
        if doc:
            found.append(doc)
    for m in _LOOSE_ABBREV_RE.finditer(lower):
        doc = _make(m.group(2), _code(m.group(1)), "", m.span(), code_written=True)
        if doc:
            found.append(doc)
    return found


def find_doc_numbers(text: str) -> list[DocNumber]:
    """Every document number in the text, in order of appearance, one per key (the first mention)."""
    folded, origin = _fold_with_offsets(text)
    src = _Source(text, folded, _lower_same_length(folded), origin)
    candidates = _candidates(src)
    # Longest match wins where matches overlap ("Kết luận số 21-KL/TW" over "21-KL/TW").
    candidates.sort(key=lambda d: (d.span[0], -(d.span[1] - d.span[0])))
    result: list[DocNumber] = []
    seen: set[str] = set()
    last_end = -1
    for doc in candidates:
        if doc.span[0] < last_end:
            continue
        last_end = doc.span[1]
        if doc.key not in seen:
            seen.add(doc.key)
            result.append(dataclasses.replace(doc, span=src.span(*doc.span)))
    return result


def canonical(text: str) -> str | None:
    """Canonical form of a single number ("05/CT-TW" -> "05-CT/TW", "CT05" -> "05-CT/TW"); None if none."""
    found = find_doc_numbers(text)
    return found[0].canonical if found else None


def own_spelling(text: str, key: str) -> str | None:
    """The canonical form of the number with `key` as `text` spells it, when the text writes its type code:
    "Quy định 08-QĐi/TW" -> "08-QĐi/TW" although "08-QĐ/TW" shares its lookup key; None for "Quy định 08"."""
    for found in find_doc_numbers(text):
        if found.key == key and found.code_written:
            return found.canonical
    return None


@functools.lru_cache(maxsize=65_536)
def doc_key(s: str) -> str | None:
    """Lookup key for a number in any accepted form, or a key itself: "08-QĐi/TW" -> "qd-08"."""
    stripped = s.strip()
    if _KEY_RE.fullmatch(stripped):
        return stripped
    plenum = _PLENUM_CANONICAL_RE.fullmatch(stripped)
    if plenum:  # "TW4-XII", the canonical form of a plenum reference
        return stripped.lower()
    found = find_doc_numbers(s)
    return found[0].key if found else None


_PLENUM_CANONICAL_RE = re.compile(r"TW\d{1,2}-[IVXLC]{1,6}")


def describe_canonical(canonical: str) -> str:
    """"05-CT/TW" -> "Chỉ thị 05-CT/TW"; "TW4-XII" -> "Hội nghị Trung ương 4 khóa XII (04-NQ/TW)"."""
    if _PLENUM_CANONICAL_RE.fullmatch(canonical):
        number, term = canonical[2:].split("-")
        text = f"{TYPE_NAMES['HNTW']} {number} khóa {term}"
        resolution = PLENUM_RESOLUTIONS.get(canonical)
        return f"{text} ({TYPE_NAMES['NQ']} {resolution})" if resolution else text
    found = find_doc_numbers(canonical)
    return describe(found[0]) if found else canonical


def describe(doc: DocNumber) -> str:
    """Human-readable name: "Chỉ thị 05-CT/TW", "Hội nghị Trung ương 4 khóa XII"."""
    if doc.type == "HNTW":
        return f"{TYPE_NAMES['HNTW']} {doc.number} khóa {doc.term}"
    return f"{doc.type_name or TYPE_NAMES[doc.type]} {doc.canonical}"
