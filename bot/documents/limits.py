"""How much one document may cost to read: pages, characters, unzipped size, nesting; set under `knowledge:`.

A file over a limit is refused with a one-line reason naming the limit and its config key, so a hostile or
runaway file (a zip bomb, a 20,000-page PDF, 30,000 nested <div>) costs bounded time and memory. See
docs/limits.md.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

# Hard cap on a run of text with no sentence end: longer runs are cut into paragraphs of at most this many
# characters (at a space when there is one), so no passage grows past it whatever the punctuation.
MAX_RUN_CHARS = 2000
# Metadata (front matter, sidecar .yaml, .jsonl fields): sizes no real document needs more than.
MAX_METADATA_BYTES = 64 * 1024
MAX_FIELD_CHARS = 2000
MAX_LIST_ITEMS = 100


@dataclass(frozen=True)
class Limits:
    """Per-file limits; the names are the keys under `knowledge:` in config.yaml."""

    max_pages: int = 1000  # PDF pages
    max_chars: int = 2_000_000  # characters of text in one document
    max_unzipped_mb: float = 100.0  # .docx: total uncompressed size of the parts
    max_xml_mb: float = 15.0  # .docx: uncompressed size of its XML parts (parsed into memory: ~20x their size)
    max_zip_ratio: float = 100.0  # .docx: uncompressed / compressed size of a part (a zip bomb is ~1000)
    max_html_depth: int = 200  # nesting of HTML elements

    @classmethod
    def from_config(cls, knowledge: object) -> "Limits":
        """The limits set on a KnowledgeConfig (or any object with these attributes); defaults otherwise."""
        values = {f.name: getattr(knowledge, f.name) for f in dataclasses.fields(cls) if hasattr(knowledge, f.name)}
        return cls(**values)


DEFAULT = Limits()

# Where chunking may end a passage: . ! ? … ; (and closing quotes) then a space and an upper-case letter, a digit,
# an opening quote or a list dash. Runs between these are what bound_runs caps.
_SENTENCE_END = re.compile(r"[.!?…;][\"”’)\]]*\s+(?=[\"“‘(\[]?[A-ZĐÀ-Ỹ0-9\-–•])")


def over_chars(chars: int, limits: Limits) -> str:
    """The reason a text of `chars` characters is refused."""
    return (f"text is longer than knowledge.max_chars ({limits.max_chars:,} characters"
            f"{'' if chars <= limits.max_chars else f', got {chars:,}'}); split the document or raise the limit")


def bound_runs(text: str, max_chars: int = MAX_RUN_CHARS) -> str:
    """Cut every stretch of text longer than `max_chars` without a sentence end into paragraphs.

    Ordinary text is returned unchanged (the same object); only a run such as a 720,000-character
    "sentence" with no punctuation is broken, at the last space before the cap (or at the cap itself when
    there is no space), with a blank line so that chunking sees separate paragraphs. No word is changed.
    """
    if len(text) <= max_chars:
        return text
    lines = text.split("\n")
    long_lines = [i for i, line in enumerate(lines) if len(line) > max_chars]
    changed = False
    for i in long_lines:
        cut = _cut_line(lines[i], max_chars)
        if cut is not lines[i]:
            lines[i], changed = cut, True
    return "\n".join(lines) if changed else text


def _cut_line(line: str, max_chars: int) -> str:
    out: list[str] = []
    start = 0
    changed = False
    for end in [m.end() for m in _SENTENCE_END.finditer(line)] + [len(line)]:
        if end - start > max_chars:
            out.append(_cut_run(line[start:end], max_chars))
            changed = True
        else:
            out.append(line[start:end])
        start = end
    return "".join(out) if changed else line


def _cut_run(run: str, max_chars: int) -> str:
    pieces: list[str] = []
    while len(run) > max_chars:
        space = run.rfind(" ", 0, max_chars + 1)
        cut = space if space > max_chars // 2 else max_chars
        pieces.append(run[:cut].rstrip())
        run = run[cut:].lstrip()
    pieces.append(run)
    trailing = " " if pieces[-1].endswith(" ") else ""
    return "\n\n".join(p.strip() for p in pieces if p.strip()) + trailing
