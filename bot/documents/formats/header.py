"""Metadata read from the standard header of a Party document ("BỘ CHÍNH TRỊ … Số 05-CT/TW … Hà Nội, ngày …
CHỈ THỊ về …") and from its signature ("T/M BỘ CHÍNH TRỊ")."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from bot import messages
from bot.documents import docnumbers
from bot.documents.vietnamese import normalize

# Type line of a Party document -> doc_type, and the name used in the title; from the one table of
# document types (bot/messages.py)
_HEADER_TYPES = ("chi-thi", "ket-luan", "quy-dinh", "nghi-quyet", "ke-hoach", "huong-dan", "quyet-dinh", "thong-bao")
DOC_TYPES: dict[str, tuple[str, str]] = {messages.DOC_TYPE_NAMES[t].upper(): (t, messages.DOC_TYPE_NAMES[t])
                                         for t in _HEADER_TYPES}
_TYPE_BY_CODE = {code: name.upper() for code, doc_type, name in messages.DOC_TYPES if code and doc_type in _HEADER_TYPES}
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
# Bodies of the whole Party: no place name follows them
_NATIONAL_BODIES = {"BAN CHẤP HÀNH TRUNG ƯƠNG", "BỘ CHÍNH TRỊ", "BAN BÍ THƯ", "BAN TUYÊN GIÁO TRUNG ƯƠNG",
                    "BAN TỔ CHỨC TRUNG ƯƠNG", "BAN DÂN VẬN TRUNG ƯƠNG", "ỦY BAN KIỂM TRA TRUNG ƯƠNG"}
_HEAD_LINES = 30  # the header lies within the first lines
_NUMBER_RE = re.compile(r"(?<!\w)Số\s*[:.]?\s*(\d{1,4}\s*[-/]\s*[A-ZĐa-zđ][\w.Đđ]*(?:\s*[-/]\s*[\w.Đđ]+)?)")
_DATE_WORDS_RE = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.I)
_DATE_NUMERIC_RE = re.compile(r"ngày\s+(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})", re.I)
_PLACE_DATE_RE = re.compile(r"(?:^|\|)\s*[^\W\d][^,|\d]{1,40},\s*(?=ngày\s)", re.I)
# "…, ngày": the words before the comma, checked by _placed_after (a place in capitalised words)
_COMMA_DATE_RE = re.compile(r"((?:[^\W\d_]+\s+){0,3}[^\W\d_]+),\s*(?=ngày\s)", re.I)
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
            if upper in _NATIONAL_BODIES:  # "BAN BÍ THƯ THƯỜNG TRỰC": a title under the body, not a place
                return name
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


def _placed_after(segment: str) -> bool:
    """A place in capitalised words before the date after other text on the line: "Số 99-CT/TW Hà Nội, ngày …"
    (a tab between the number and the place became a space when the text was tidied)."""
    m = _COMMA_DATE_RE.search(segment)
    if not m:
        return False
    words = m.group(1).split()
    while words and not words[0][:1].isupper():
        words.pop(0)
    return bool(words) and all(w[:1].isupper() for w in words)


def _date(segments: list[str]) -> str:
    for segment in segments:
        placed = bool(_PLACE_DATE_RE.search(segment)) or _placed_after(segment)  # "Hà Nội, ngày ..."
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
    number = _number(head)
    if number:
        out["doc_number"] = number
    issued = _date(head)
    if issued:
        out["issued"] = issued
    head_body = _head_body(head)
    named_body, title_from = "", None
    if type_at is not None:
        out["doc_type"] = DOC_TYPES[type_word][0]
        rest = segments[type_at + 1:]
        of = after_type
        if not of and rest and _is_upper(rest[0]) and rest[0].startswith("CỦA "):
            of, rest = rest[0], rest[1:]
        if of.startswith("CỦA "):
            named_body = _body_name(of[4:])
        title_from = rest
    issuer = named_body or _signed_body(text, head_body) or head_body
    if issuer:
        out["issuer"] = issuer
    if "doc_type" not in out and "doc_number" in out:
        code = out["doc_number"].split("-", 1)[1].split("/", 1)[0] if "-" in out["doc_number"] else ""
        type_word = _TYPE_BY_CODE.get(code, "")
        if type_word:
            out["doc_type"] = DOC_TYPES[type_word][0]
    if type_word:
        title = _title(type_word, out.get("doc_number", ""), title_from or [], issuer)
        if title:
            out["title"] = title
    return out


def _number(head: list[str]) -> str:
    for segment in head:
        m = _NUMBER_RE.search(segment)
        if m:
            raw = re.sub(r"\s+", "", m.group(1))
            return docnumbers.canonical(raw) or raw
    return ""


def _head_body(head: list[str]) -> str:
    """The issuer at the top left; a body split over two lines ("TỈNH ỦY" / "QUẢNG TRỊ") is joined."""
    for i, segment in enumerate(head):
        caps = _upper_run(segment)
        if not caps or caps.startswith(_NOT_BODIES) or not _body_name(caps):
            continue
        nxt = _upper_run(head[i + 1]) if i + 1 < len(head) else ""
        if caps == segment and nxt and nxt == head[i + 1] and not nxt.startswith(_NOT_BODIES) \
                and caps in _LOCAL_BODIES:
            caps = f"{caps} {nxt}"
        return _body_name(caps)
    return ""


def _signed_body(text: str, head_body: str) -> str:
    """The body a signature is given for ("T/M BỘ CHÍNH TRỊ"), in the last part of the text."""
    signed_body = ""
    for line in text[-3000:].splitlines():
        for segment in normalize(line).split(" | "):
            m = _SIGNATURE_RE.match(segment.strip())
            if m and not signed_body:
                signed_body = _body_name(_upper_run(m.group(1)))
    if signed_body in ("Ban Thường vụ", "Ban Chấp hành Đảng bộ") and head_body \
            and not head_body.startswith(signed_body):
        signed_body = f"{signed_body} {head_body}"
    return signed_body


def _title(type_word: str, number: str, title_from: list[str], issuer: str) -> str:
    name = DOC_TYPES[type_word][1]
    lead = f"{name} số {number}" if number else name
    subject = " ".join(_title_lines(title_from))
    if subject:
        if re.match(r"^về\s", subject, re.I):
            subject = "về" + subject[2:]
        return f"{lead} {subject}"
    if number:
        return f"{lead} của {issuer}" if issuer else lead
    return ""


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
