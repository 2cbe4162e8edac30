"""Facts a quiz can ask about, found in a clause sentence, and distractors of the same kind.

A fact is a span of the clause's own words: a duration or deadline ("mười hai tháng", "60 ngày làm việc"),
an age ("18 tuổi"), a count ("hai đảng viên chính thức"), a threshold ("quá một nửa", "hai phần ba",
"50%") or the body that decides ("cấp ủy cấp trên trực tiếp ... quyết định"). Distractors are values of the
same kind that the sentence does not contain: nearby numbers, or other bodies named in the same document.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

_DIGITS = {"một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "lăm": 5, "sáu": 6, "bảy": 7,
           "tám": 8, "chín": 9}
_WORDS = ["", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]
_ONES = "một|hai|ba|bốn|năm|sáu|bảy|tám|chín"
_NUMWORD = (rf"(?:(?:{_ONES})\s+mươi(?:\s+(?:mốt|hai|ba|bốn|tư|lăm|sáu|bảy|tám|chín))?"
            rf"|mười(?:\s+(?:một|hai|ba|bốn|lăm|sáu|bảy|tám|chín))?|{_ONES})")
_NUMBER = rf"(?<![\w.,/])(?:\d{{1,3}}(?![\d.,/]\d)|{_NUMWORD})"
_U = "(?:ủy|uỷ)"
# unit -> kind; "ngày làm việc" before "ngày" so the longer unit wins
_UNITS = {"ngày làm việc": "duration", "ngày": "duration", "tháng": "duration", "năm": "duration",
          "tuổi": "age", f"cấp {_U} viên": "count", f"chi {_U} viên": "count", f"{_U} viên": "count",
          "đảng viên chính thức": "count", "đảng viên": "count", "đồng chí": "count", "thành viên": "count",
          "người": "count", "lần": "count"}
_UNIT_RE = "|".join(_UNITS)
# a number and its unit; not part of a date ("ngày 19 tháng 01 năm 2011") nor "năm 2025"
_QUANTITY = re.compile(rf"(?<!ngày )(?<!tháng )(?<!năm )({_NUMBER})\s+({_UNIT_RE})(?!\s*\d)(?!\w)", re.I)
_FRACTIONS = {"một phần ba": 1 / 3, "một phần tư": 1 / 4, "một nửa": 1 / 2, "nửa": 1 / 2, "hai phần ba": 2 / 3,
              "ba phần tư": 3 / 4}
_THRESHOLD = re.compile(r"(?<!\w)((?:quá|ít nhất|trên|dưới|không quá) )?(một phần ba|một phần tư|một nửa|"
                        r"hai phần ba|ba phần tư|(?<=quá )nửa|\d{1,3}\s?%|\d/\d)(?!\w)", re.I)
_BODY_HEAD = (rf"(?:ban thường vụ |thường trực |ban chấp hành )?(?:cấp {_U}|đảng {_U}|chi {_U}|{_U} ban kiểm tra"
              rf"|chi bộ|đảng bộ|đại hội|tổ chức cơ sở đảng|tổ chức đảng)")
_BODY_QUAL = (r"(?: (?:cấp trên trực tiếp|cấp trên|cơ sở|trực thuộc Trung ương|cấp tỉnh|cấp huyện|cấp xã"
              r"|bộ phận|cùng cấp|có thẩm quyền))*")
_BODY_FIXED = (rf"Ban Chấp hành Trung ương(?: Đảng)?|Bộ Chính trị|Ban Bí thư|{_U} ban Kiểm tra Trung ương"
               r"|Ban Tổ chức Trung ương|Đại hội đại biểu toàn quốc")
_BODY = re.compile(rf"(?<!\w)(?:{_BODY_FIXED}|{_BODY_HEAD}{_BODY_QUAL})(?!\w)", re.I)
_DECIDES = re.compile(r"\s+(?:xem xét,? |xét,? )?(?:quyết định|chuẩn y|phê duyệt|cho phép|chỉ định|triệu tập)(?!\w)",
                      re.I)
# usual values of each unit, to complete the values the document itself uses
_USUAL = {"tháng": [1, 2, 3, 6, 9, 12, 18, 24, 36], "ngày": [3, 5, 7, 10, 15, 20, 30, 45, 60, 90],
          "ngày làm việc": [5, 7, 10, 15, 20, 30, 45, 60, 90, 120, 180], "năm": [1, 2, 3, 5, 10, 15, 20, 30],
          "tuổi": [16, 18, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70], "": [2, 3, 4, 5, 7, 9, 10, 15, 20]}
_PERCENTS = [10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90]
_SLASHES = {"1/3": 1 / 3, "1/2": 1 / 2, "2/3": 2 / 3, "3/4": 3 / 4, "1/4": 1 / 4}


@dataclass(frozen=True)
class Fact:
    """One askable span of a sentence: `text` = sentence[start:end], the clause's own words."""

    kind: str  # duration | age | count | threshold | authority
    start: int
    end: int
    text: str
    value: float | str  # number for quantities and thresholds, folded name for bodies
    unit: str = ""  # the unit as written ("ngày làm việc"), "" for thresholds and bodies


@dataclass
class DocumentValues:
    """What one document names: numbers per unit, and the bodies (for distractors)."""

    numbers: dict[str, set[int]] = field(default_factory=dict)  # folded unit -> values
    bodies: dict[str, str] = field(default_factory=dict)  # lower-case name -> name as first written
    body_counts: dict[str, int] = field(default_factory=dict)


def number_value(text: str) -> int | None:
    """"60" -> 60, "mười hai" -> 12, "hai mươi lăm" -> 25; None when not a number."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    words = text.split()
    if not words:
        return None
    if words[0] == "mười":
        return 10 + (_DIGITS.get(words[1], 0) if len(words) > 1 else 0)
    if len(words) >= 2 and words[1] == "mươi":
        return 10 * _DIGITS[words[0]] + (_DIGITS.get(words[2], 0) if len(words) > 2 else 0)
    return _DIGITS.get(words[0]) if len(words) == 1 else None


def number_words(n: int) -> str:
    """12 -> "mười hai", 25 -> "hai mươi lăm" (1-99)."""
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _WORDS[ones]
    head = "mười" if tens == 1 else f"{_WORDS[tens]} mươi"
    if ones == 0:
        return head
    tail = "lăm" if ones == 5 else ("mốt" if ones == 1 and tens > 1 else _WORDS[ones])
    return f"{head} {tail}"


def _unit_key(unit: str) -> str:
    return re.sub(r"\s+", " ", unit.lower().replace("uỷ", "ủy"))


def _write_like(n: int, written: str) -> str:
    """A number written the way `written` was: digits (keeping a leading zero) or words."""
    if written.isdigit():
        return str(n).zfill(len(written)) if written.startswith("0") else str(n)
    return number_words(n)


def find_facts(sentence: str) -> list[Fact]:
    """Every fact in the sentence, in order of position (overlapping spans removed)."""
    found: list[Fact] = []
    for m in _QUANTITY.finditer(sentence):
        value = number_value(m.group(1))
        unit = m.group(2)
        if value is None or value == 0 or (_unit_kind(unit) == "count" and value == 1):
            continue
        found.append(Fact(_unit_kind(unit), m.start(), m.end(), m.group(0), value, unit))
    for m in _THRESHOLD.finditer(sentence):
        value = _threshold_value(m.group(2))
        if value is not None:
            found.append(Fact("threshold", m.start(), m.end(), m.group(0), value))
    for m in _BODY.finditer(sentence):
        decides = _DECIDES.match(sentence, m.end())
        name = m.group(0)
        if decides and not name.lower().endswith("có thẩm quyền") and name.lower() not in ("đại hội", "chi ủy"):
            found.append(Fact("authority", m.start(), m.end(), name, _unit_key(name)))
    found.sort(key=lambda f: (f.start, -f.end))
    out: list[Fact] = []
    for fact in found:
        if not out or fact.start >= out[-1].end:
            out.append(fact)
    return out


def _unit_kind(unit: str) -> str:
    key = _unit_key(unit)
    if key in ("ngày làm việc", "ngày", "tháng", "năm"):
        return "duration"
    return "age" if key == "tuổi" else "count"


def _threshold_value(text: str) -> float | None:
    text = text.lower().replace(" ", "")
    if text.endswith("%"):
        return int(text[:-1]) / 100
    if "/" in text:
        a, b = text.split("/")
        return int(a) / int(b) if int(b) else None
    return {k.replace(" ", ""): v for k, v in _FRACTIONS.items()}.get(text)


def document_values(text: str) -> DocumentValues:
    """The numbers and bodies one document names, read once per document."""
    values = DocumentValues()
    for m in _QUANTITY.finditer(text):
        value = number_value(m.group(1))
        if value:
            values.numbers.setdefault(_unit_key(m.group(2)), set()).add(value)
    for m in _BODY.finditer(text):
        name = m.group(0)
        key = _unit_key(name)
        if name.isupper() and key not in values.bodies:
            continue  # a heading in capitals ("BAN CHẤP HÀNH TRUNG ƯƠNG"): take the name from running text
        values.bodies.setdefault(key, name)
        values.body_counts[key] = values.body_counts.get(key, 0) + 1
    return values


def in_text(phrase: str, text: str) -> bool:
    """Whether `phrase` occurs in `text` as whole words (case and ủy/uỷ spelling ignored)."""
    return re.search(rf"(?<!\w){re.escape(_unit_key(phrase))}(?!\w)", _unit_key(text)) is not None


def distractors(fact: Fact, sentence: str, values: DocumentValues, want: int = 3) -> list[str]:
    """Up to `want` values of the fact's kind that the sentence does not contain, nearest first."""
    if fact.kind == "authority":
        return _body_distractors(fact, sentence, values, want)
    if fact.kind == "threshold":
        return _threshold_distractors(fact, sentence, want)
    unit = _unit_key(fact.unit)
    number = fact.text[: len(fact.text) - len(fact.unit)].strip()
    pool = set(values.numbers.get(unit, ())) | set(_USUAL.get(unit, _USUAL[""]))
    pool = {n for n in pool if n > 0 and (not number.isalpha() or n < 100)}
    ranked = sorted(pool - {fact.value}, key=lambda n: (abs(math.log(n / fact.value)), n))
    out = []
    for n in ranked:
        text = f"{_write_like(n, number)} {fact.unit}"
        # a number the sentence states in any role ("Huy hiệu 30, 40 … năm") is no distractor either
        bare = re.search(rf"(?<![\d.,/])0*{n}(?![\d])", sentence) is not None
        if not bare and not in_text(text, sentence) and not in_text(f"{n} {fact.unit}", sentence):
            out.append(text)
        if len(out) == want:
            break
    return out


def _threshold_distractors(fact: Fact, sentence: str, want: int) -> list[str]:
    m = _THRESHOLD.fullmatch(fact.text)
    qualifier, body = (m.group(1) or "") if m else "", m.group(2) if m else fact.text
    if body.endswith("%"):
        options = [f"{p}%" for p in _PERCENTS]
    elif "/" in body:
        options = list(_SLASHES)
    else:
        options = ["một phần ba", "một nửa", "hai phần ba", "ba phần tư"]
    ranked = sorted((o for o in options if abs(_threshold_value(o) - fact.value) > 1e-9),
                    key=lambda o: (abs(_threshold_value(o) - fact.value), o))
    out = []
    for option in ranked:
        text = f"{qualifier}{option}"
        if not in_text(text, sentence) and not in_text(option, sentence):
            out.append(text)
        if len(out) == want:
            break
    return out


def _body_distractors(fact: Fact, sentence: str, values: DocumentValues, want: int) -> list[str]:
    answer = _unit_key(fact.text)
    out: list[str] = []
    central = _is_central(fact.text)
    size = len(answer.split())
    # the same level first (central bodies for a central body), then names of a similar length
    ranked = sorted(values.bodies, key=lambda k: (_is_central(k) != central, abs(len(k.split()) - size),
                                                  -values.body_counts[k], k))
    for key in ranked:
        name = values.bodies[key]
        if key == answer or key in answer or answer in key or key.endswith("có thẩm quyền"):
            continue
        if in_text(name, sentence) or any(key in o.lower() or o.lower() in key for o in out):
            continue
        if (_committee(key) or _organisation(key)) and (_committee(answer) or _organisation(answer)) \
                and (_bare(key) or _bare(answer) or _level(key) == _level(answer)):
            continue  # "cấp ủy" against "đảng ủy cơ sở", "đảng ủy trực thuộc TW" against "cấp ủy trực thuộc TW"
        out.append(name if fact.text[:1].isupper() == name[:1].isupper() else _same_case(name, fact.text))
        if len(out) == want:
            break
    return out


def _committee(key: str) -> bool:
    return re.match(r"(?:ban thường vụ |thường trực |ban chấp hành )?(?:cấp|đảng|chi) ủy", key) is not None


def _organisation(key: str) -> bool:
    return re.match(r"(?:đảng|chi) bộ", key) is not None


def _level(key: str) -> str:
    """What follows the committee's or organisation's name: "cấp ủy trực thuộc trung ương" ->
    "trực thuộc trung ương" (the đảng bộ of that level and its cấp ủy are named alike)."""
    return re.sub(r"^(?:ban thường vụ |thường trực |ban chấp hành )?(?:(?:cấp|đảng|chi) ủy|(?:đảng|chi) bộ)\s*", "",
                  key)


def _bare(key: str) -> bool:
    return re.fullmatch(r"(?:ban thường vụ |thường trực |ban chấp hành )?(?:cấp|đảng|chi) ủy|chi bộ|đảng bộ", key) \
        is not None


def _is_central(name: str) -> bool:
    return re.fullmatch(_BODY_FIXED, name.strip(), re.I) is not None


def _same_case(name: str, like: str) -> str:
    """Capitalise the first letter as the answer does (proper names like "Bộ Chính trị" stay)."""
    if name[:1].isupper() and any(w[:1].isupper() for w in name.split()[1:]):
        return name
    return name[:1].upper() + name[1:] if like[:1].isupper() else name[:1].lower() + name[1:]


def replace(sentence: str, fact: Fact, text: str) -> str:
    return sentence[: fact.start] + text + sentence[fact.end:]
