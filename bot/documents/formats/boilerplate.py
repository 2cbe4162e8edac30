"""Lines of an official text that are not content: the signature block ("T/M BAN BÍ THƯ", "K/T", titles,
"(đã ký)", the signer's name), "Nơi nhận:" with its list, and page numbers left in the text. They are
dropped before chunking so they never become passages; the header metadata is read before they go."""

from __future__ import annotations

import bisect
import re

# "T/M BAN BÍ THƯ", "K/T TỔNG BÍ THƯ", "TM. BAN THƯỜNG VỤ", "TL. BAN BÍ THƯ", "Q. TRƯỞNG BAN", "TUQ. ..."
_ROLE_RE = re.compile(r"^(?:T/M|TM\.|T\.M\.?|K/T|KT\.|K\.T\.?|T/L|TL\.|T\.L\.?|TUQ\.|Q\.|Q/)\s*(\S.*)$")
_SIGNED_RE = re.compile(r"^[(\[]?\s*(?:đã\s+k[ýí](?:\s+và\s+đóng\s+dấu)?|k[ýí]\s+tên|chữ\s+k[ýí])\s*[)\]]?\.?$",
                        re.I)
_RECIPIENTS_RE = re.compile(r"^nơi\s+nhận\b", re.I)
_RECIPIENT_ITEM_RE = re.compile(r"^(?:[-+•*]\s*\S|lưu\b)", re.I)
_PAGE_RE = re.compile(r"^(?:(?:trang|page)\s*\d{1,4}(?:\s*/\s*\d{1,4})?|[-–—]\s*\d{1,4}\s*[-–—])$", re.I)
# capital lines that open content again after a signature (an appendix, another document)
_CONTENT_AGAIN_RE = re.compile(r"^(?:PHỤ\s+LỤC|DANH\s+SÁCH|BIỂU|MẪU|CHƯƠNG|PHẦN|ĐIỀU|[IVXLC]+\s*[.\-–)])\b")
_NAME_WORD_RE = re.compile(r"^[A-ZĐÀ-Ỹ][^\W\d_]*$")


def _is_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _is_name(text: str) -> bool:
    """A person's name under a signature: two to five capitalised words, nothing else ("Nguyễn Phú Trọng")."""
    words = text.split()
    return 2 <= len(words) <= 5 and all(_NAME_WORD_RE.match(w) for w in words)


class _Reader:
    """Walks the lines once; `signature` / `recipients` say which block the previous lines belonged to."""

    def __init__(self) -> None:
        self.signature = False
        self.recipients = False

    def boilerplate(self, segment: str) -> bool:
        """Whether one line (or one cell of a table row) is boilerplate; updates the state."""
        text = segment.strip().strip("*_").strip()
        if _PAGE_RE.match(text):
            return True
        if _RECIPIENTS_RE.match(text):
            self.recipients, self.signature = True, False
            return True
        role = _ROLE_RE.match(text)
        # "T/M BAN BÍ THƯ", or a whole signature in one table cell ("T/M BAN BÍ THƯ THƯỜNG TRỰC (đã ký) Trương
        # Thị Mai"); "T/M Ban Thường vụ, đồng chí ..." in a sentence is text
        if (role and _is_upper(role.group(1).split()[0]) and len(text.split()) <= 20) or _SIGNED_RE.match(text):
            self.signature, self.recipients = True, False
            return True
        if self.recipients and _RECIPIENT_ITEM_RE.match(text) and len(text.split()) <= 30:
            return True
        self.recipients = False
        if self.signature and not _CONTENT_AGAIN_RE.match(text):
            if (_is_upper(text) and len(text.split()) <= 10) or _is_name(text):
                return True
        self.signature = False
        return False


def drop_boilerplate(text: str, offsets: tuple[int, ...] = ()) -> tuple[str, tuple[int, ...]]:
    """The text without boilerplate lines (at most one blank line left between paragraphs), and `offsets`
    (positions in `text`, e.g. where pages start) moved to the same places in the new text."""
    reader = _Reader()
    lines = text.split("\n")
    out: list[str] = []
    old_starts: list[int] = []  # where each original line starts
    new_starts: list[int] = []  # where it (or what replaced it) starts in the result
    old = new = 0
    changed = False
    for line in lines:
        old_starts.append(old)
        old += len(line) + 1
        if line.strip():
            cells = line.split(" | ")
            keep = [c for c in cells if not reader.boilerplate(c)]
            if len(keep) < len(cells):
                changed = True
                line = " | ".join(c.strip() for c in keep)
                if not line:  # the whole line goes (not a blank line in its place)
                    new_starts.append(new)
                    continue
        blank = not line.strip()
        if blank and (not out or not out[-1].strip()):
            new_starts.append(new)  # a second blank line in a row (or a leading one) is left out
            changed = True
            continue
        new_starts.append(new)
        out.append(line)
        new += len(line) + 1
    while out and not out[-1].strip():
        out.pop()
    result = "\n".join(out)
    if not changed or result == text:
        return text, offsets
    moved = []
    for offset in offsets:
        i = max(0, bisect.bisect_right(old_starts, offset) - 1)
        moved.append(min(len(result), new_starts[i] + max(0, min(offset - old_starts[i], len(lines[i])))))
    return result, tuple(moved)
