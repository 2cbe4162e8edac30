"""What every extractor returns (`Extraction`) and raises (`FormatError`)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


class FormatError(Exception):
    """The file cannot be turned into text; the message is the reason shown to admins (one line)."""


@dataclass
class Extraction:
    """Plain text of one file plus what the format itself says about it.

    `page_starts[i]` is the offset in `text` where page i + 1 begins (PDF only; empty otherwise), so a
    passage's page is `page_at(text.find(passage_start))`. The text carries no page markers.
    """

    text: str
    meta: dict[str, str] = field(default_factory=dict)  # title, issued, source_url, issuer, doc_type
    page_starts: tuple[int, ...] = ()
    notes: list[str] = field(default_factory=list)  # problems worth telling the admin; the text is still used

    def page_at(self, offset: int) -> int | None:
        """1-based page holding the character at `offset`, or None when the format has no pages."""
        if not self.page_starts:
            return None
        return max(1, bisect.bisect_right(self.page_starts, offset))
