"""Query understanding before retrieval: abbreviations, chat shorthand, common names and synonyms.

Owns the lists (bot/data/understanding.yaml plus an optional admin file, knowledge/_understanding.yaml) and
`QueryUnderstanding.expand(question) -> Expansion`. Abbreviations and shorthand are replaced in
`Expansion.rewritten` (what the bot may show as "Hiểu câu hỏi là: …"); names and synonyms only ADD phrases
(`extra_terms`). The original words are never taken away: the retriever searches them at full weight and
only the added words at a lower weight (see docs/understanding.md and bench/understanding_eval.py).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.documents import docnumbers, vietnamese
from bot.retrieval.understanding_lists import KINDS, REPLACING, Entry, fold_lower, read_file

__all__ = [
    "BUILTIN_PATH",
    "KINDS",
    "Entry",
    "Expansion",
    "QueryUnderstanding",
    "added_tokens",
]

BUILTIN_PATH = Path(__file__).resolve().parent / "data" / "understanding.yaml"

_FORMAT = 1

# Document-number shorthand that docnumbers already reads ("CT05", "qđ 37", "NQ04"): spelled out with the
# type word in `rewritten`, which docnumbers reads to the same key ("Chỉ thị 05" -> ct-05).
_DOC_ABBREV_RE = re.compile(r"(?:qdi|qd|ct|kl|nq)\s*[-.]?\s*(?:so\s*)?\d", re.IGNORECASE)


@dataclass(frozen=True)
class Expansion:
    """What the bot understood from a question. `original` is exactly what was asked."""

    original: str
    rewritten: str  # normalized question, shorthand and abbreviations replaced by their full forms
    extra_terms: tuple[str, ...]  # phrases to search at a lower weight: names' full wording, synonyms
    changed: bool  # rewritten differs from the (normalized) original: worth showing "Hiểu câu hỏi là: …"
    replaced: tuple[tuple[str, str], ...] = field(default=())  # (as typed, full form), in order
    # each common name found: (its words in `rewritten`, the phrases it adds), for the relevance measure
    # to credit a passage that has the name's wording instead of the words typed
    named: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())


# ---------------------------------------------------------------------------------------------- matching


def _key_pattern(key: str) -> str:
    """A regex over folded lower-case text: the key's words, any punctuation/space between them."""
    words = fold_lower(vietnamese.normalize(key)).split()
    return r"(?<!\w)" + r"[\W_]+".join(re.escape(w) for w in words) + r"(?!\w)"


def _syllables_agree(typed: str, key: str, exact: bool) -> bool:
    """Diacritics rule: where both the typed syllable and the key's carry diacritics they must be equal.

    Without diacritics a typed syllable matches on its folded form ("dv" = "đv"); `exact` asks for the
    diacritics to be typed ("hông" = không, but "hong" may be Hồng).
    """
    got, want = vietnamese.syllables(typed), vietnamese.syllables(key)
    if len(got) != len(want):
        return False
    for g, w in zip(got, want):
        g_marked, w_marked = vietnamese.has_diacritics(g), vietnamese.has_diacritics(w)
        if exact and w_marked and g != w:
            return False
        if g_marked and w_marked and g != w:
            return False
    return True


_WORD_RE = re.compile(r"\w+")


@dataclass(frozen=True)
class _Matcher:
    entry: Entry
    key: str
    regex: re.Pattern
    before: re.Pattern | None
    after: re.Pattern | None


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    matcher: _Matcher


def _compile(entry: Entry) -> list[_Matcher]:
    before = re.compile(entry.not_before) if entry.not_before else None
    after = re.compile(entry.not_after) if entry.not_after else None
    return [_Matcher(entry, key, re.compile(_key_pattern(key)), before, after) for key in entry.keys]


def _find(matchers: list[_Matcher], text: str, folded: str, protected: list[tuple[int, int]],
          *, exclusive: bool = True) -> list[_Match]:
    """Matches outside the protected spans.

    exclusive: non-overlapping, the longest first at each position (for replacing). Otherwise every
    match except those nested inside a longer one (adding: "nêu gương" may be a name and a synonym).
    """
    found: list[_Match] = []
    for m in matchers:
        for hit in m.regex.finditer(folded):
            start, end = hit.span()
            if any(start < p_end and p_start < end for p_start, p_end in protected):
                continue
            typed = text[start:end]
            e = m.entry
            if e.case_sensitive and typed.split() != vietnamese.normalize(m.key).split():
                continue
            if not _syllables_agree(typed, m.key, e.exact):
                continue
            if m.before is not None:
                nxt = _WORD_RE.search(folded, end)
                if nxt and m.before.fullmatch(nxt.group()):
                    continue
            if m.after is not None:
                prev = _WORD_RE.findall(folded[:start])
                if prev and m.after.fullmatch(prev[-1]):
                    continue
            found.append(_Match(start, end, m))
    found.sort(key=lambda x: (x.start, -(x.end - x.start)))
    if not exclusive:
        return [x for x in found
                if not any(y.start <= x.start and x.end <= y.end and (y.end - y.start) > (x.end - x.start)
                           for y in found)]
    chosen: list[_Match] = []
    last_end = -1
    for x in found:
        if x.start >= last_end:
            chosen.append(x)
            last_end = x.end
    return chosen


_CODE_RE = re.compile(r"\S*/\S*")


def _codes(text: str) -> list[tuple[int, int]]:
    """Spans of slash-joined codes ("05-CT/TW", "CT/TW", "2777-CV/TU"): never expanded word by word."""
    return [m.span() for m in _CODE_RE.finditer(text)]


def _contains(folded_text: str, phrase: str) -> bool:
    return re.search(_key_pattern(phrase), folded_text) is not None


# ---------------------------------------------------------------------------------------------- the lists


class QueryUnderstanding:
    """The merged lists, compiled; `expand()` is pure and thread-safe."""

    def __init__(self, entries: list[Entry]):
        self.entries = list(entries)
        self._replacing = [m for e in self.entries if e.kind in REPLACING for m in _compile(e)]
        self._adding = [m for e in self.entries if e.kind not in REPLACING for m in _compile(e)]

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, paths: list[Path] | None = None) -> "QueryUnderstanding":
        """Read list files in order (built-in first, admin files after); a later file overrides a key.

        An absent path is skipped (the admin file is optional); a bad file raises
        ValueError("path: line N: reason").
        """
        paths = [BUILTIN_PATH] if paths is None else list(paths)
        entries: list[Entry] = []
        for path in paths:
            path = Path(path)
            if not path.is_file():
                continue
            for entry, removed in read_file(path):
                entries = _without_keys(entries, entry)
                if not removed:
                    entries.append(entry)
        return cls(entries)

    def to_dict(self) -> dict:
        """Plain data (JSON-safe) to store inside an index version."""
        return {"format": _FORMAT, "entries": [e.to_dict() for e in self.entries]}

    @classmethod
    def from_dict(cls, data: dict) -> "QueryUnderstanding":
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"understanding data: format {data.get('format') if isinstance(data, dict) else None}"
                             f" is not {_FORMAT}")
        entries = []
        for i, d in enumerate(data.get("entries", [])):
            try:
                entry = Entry(kind=d["kind"], keys=tuple(d["keys"]), full=d.get("full", ""),
                              add=tuple(d.get("add", ())), exact=bool(d.get("exact", False)),
                              case_sensitive=bool(d.get("case_sensitive", False)),
                              not_before=d.get("not_before", ""), not_after=d.get("not_after", ""),
                              source=d.get("source", ""))
            except (KeyError, TypeError) as exc:
                raise ValueError(f"understanding data: entry {i} is malformed ({exc})") from None
            if entry.kind not in KINDS or not entry.keys:
                raise ValueError(f"understanding data: entry {i} has kind {entry.kind!r} or no keys")
            entries.append(entry)
        return cls(entries)

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in KINDS}
        for e in self.entries:
            out[e.kind] += 1
        return out

    # ------------------------------------------------------------------ expanding

    def expand(self, question: str) -> Expansion:
        """Rewrite shorthand, then collect added phrases for names and synonyms."""
        text = vietnamese.normalize(question or "")
        folded = fold_lower(text)
        numbers = docnumbers.find_doc_numbers(text)
        edits: list[tuple[int, int, str]] = []
        for n in numbers:
            start, end = n.span
            if n.type in ("CT", "KL", "NQ", "QĐ", "QĐi") and _DOC_ABBREV_RE.match(folded, start):
                digits = re.search(r"\d+", text[start:end])
                tail = text[start + digits.end():end] if digits else ""
                edits.append((start, end, f"{n.type_name} {n.number}{tail}"))
        protected = [n.span for n in numbers] + _codes(text)
        also: list[str] = []  # an abbreviation may add wording too (its `add`)
        for m in _find(self._replacing, text, folded, protected):
            edits.append((m.start, m.end, m.matcher.entry.full))
            also.extend(m.matcher.entry.add)
        edits.sort()

        pieces: list[str] = []
        replaced: list[tuple[str, str]] = []
        pos = 0
        for start, end, full in edits:
            pieces.append(text[pos:start])
            pieces.append(full)
            replaced.append((text[start:end], full))
            pos = end
        pieces.append(text[pos:])
        rewritten = vietnamese.normalize("".join(pieces))

        r_folded = fold_lower(rewritten)
        r_protected = [n.span for n in docnumbers.find_doc_numbers(rewritten)] + _codes(rewritten)
        extra: list[str] = []
        seen: set[str] = set()
        phrases: list[str] = list(also)
        named: list[tuple[str, tuple[str, ...]]] = []
        for m in _find(self._adding, rewritten, r_folded, r_protected, exclusive=False):
            e = m.matcher.entry
            # a synonym group adds its other members; a name or one-way synonym its `add` phrases
            added = [p for p in (e.add if e.add else e.keys) if not _contains(r_folded, p)]
            phrases.extend(added)
            if added and e.kind == "name":  # a name means its wording; a synonym only suggests other words
                named.append((rewritten[m.start:m.end], tuple(added)))
        for phrase in phrases:
            key = fold_lower(vietnamese.normalize(phrase))
            if key in seen or _contains(r_folded, phrase):
                continue
            seen.add(key)
            extra.append(phrase)
        return Expansion(original=question, rewritten=rewritten, extra_terms=tuple(extra),
                         changed=rewritten != text, replaced=tuple(replaced), named=tuple(named))


def added_tokens(expansion: Expansion, *, folded: bool) -> list[str]:
    """The search tokens an expansion ADDS to the original question's (to be weighted lower).

    Tokens of `rewritten` and of `extra_terms` that the original question does not already have; the
    original's own tokens are left to be searched at full weight, so nothing the user typed is lost.
    """
    original = set(vietnamese.search_tokens(vietnamese.normalize(expansion.original), folded=folded))
    out: list[str] = []
    seen: set[str] = set()
    for text in (expansion.rewritten, *expansion.extra_terms):
        for tok in vietnamese.search_tokens(text, folded=folded):
            if tok not in original and tok not in seen:
                seen.add(tok)
                out.append(tok)
    return out


def _slot(entry: Entry, key: str) -> tuple[str, str]:
    # one replacement per form across abbreviations and shorthand; names and synonyms may share a form
    group = "replace" if entry.kind in REPLACING else entry.kind
    return group, fold_lower(vietnamese.normalize(key))


def _without_keys(entries: list[Entry], newer: Entry) -> list[Entry]:
    """Entries with the newer entry's forms taken out (a later file overrides or removes a form)."""
    taken = {_slot(newer, k) for k in newer.keys}
    out = []
    for e in entries:
        keys = tuple(k for k in e.keys if _slot(e, k) not in taken)
        if keys == e.keys:
            out.append(e)
        elif keys and (e.kind != "synonym" or e.add or len(keys) >= 2):
            out.append(dataclasses.replace(e, keys=keys))
    return out
