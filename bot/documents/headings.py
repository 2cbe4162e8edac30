"""Whether a line that looks like a heading ("Điều 2", "1.", "II -", a short line) names a section or is text:
a date or time line, a sentence cut off after a marker, or another document's article cited in prose is not a
section label. For chunking (bot/documents/chunking.py) to call where it decides on headings."""

from __future__ import annotations

import re

MAX_HEADING_WORDS = 16
# "16/05/2018 - 17:11", "16-5-2018", "17:11 16/05/2018", "Thứ Hai, 16/05/2018 17:11"
_DATE = r"\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{2,4}"
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?:AM|PM|SA|CH))?"
_WEEKDAY = r"(?:(?:Thứ\s+(?:Hai|Ba|Tư|Năm|Sáu|Bảy|\d)|Chủ\s+nhật)\s*,?\s*)?"
_DATE_LINE_RE = re.compile(rf"^{_WEEKDAY}(?:{_DATE}(?:\s*[-–|,]?\s*{_TIME})?|{_TIME}\s*[-–|,]?\s*{_DATE})"
                           r"\s*(?:\(?GMT\s*[+-]\s*\d{1,2}\)?)?$", re.I)
# "Điều 2 Quy định số 37-QĐ/TW là ...": an article of another document, named in a sentence
_CITED_RE = re.compile(r"^(?:Điều|Khoản|Mục|Chương|Phần)\s+\d+[a-z]?\s+(?:của\s+)?(?:Quy\s+định|Chỉ\s+thị|"
                       r"Nghị\s+quyết|Kết\s+luận|Hướng\s+dẫn|Quyết\s+định|Điều\s+lệ|Luật|Nghị\s+định|Thông\s+tư|"
                       r"Hiến\s+pháp)\b", re.I)


def is_date_line(line: str) -> bool:
    """A line that is only a date and/or a time (a news page's timestamp)."""
    return bool(_DATE_LINE_RE.match(line.strip()))


def is_section_heading(line: str, max_words: int = MAX_HEADING_WORDS) -> bool:
    """Whether a heading-like line names a section: short, not a date, not a sentence (no full stop at the
    end, not cut off with "…"), not another document's article cited in prose."""
    text = " ".join(line.split())
    if not text or is_date_line(text):
        return False
    if len(text.split()) > max_words or text.endswith(("…", "...", ",", ";")):
        return False
    if text.endswith(".") and len(text.split()) > 3:  # "1." or "Điều 2." alone are markers; longer is a sentence
        return False
    return not _CITED_RE.match(text)


def may_open_section(line: str) -> bool:
    """Whether a line that starts like a heading may open a section at all (long numbered paragraphs may:
    they open a section and are content): not a date or time line, not a sentence cut off ("…"), not
    another document's article cited in prose ("Điều 2 Quy định số 37-QĐ/TW là …")."""
    text = " ".join(line.split())
    return not (is_date_line(text) or text.endswith(("…", "...")) or _CITED_RE.match(text))
