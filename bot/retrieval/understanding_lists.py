"""The query-understanding list files: one YAML file into entries, with `path: line N: reason` for every
mistake (the lists' format: docs/understanding.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.documents import vietnamese

# Section name in the file -> entry kind. Abbreviations and shorthand are replaced in `rewritten`;
# names and synonyms add phrases to `extra_terms`.
SECTIONS = {"abbreviations": "abbreviation", "shorthand": "shorthand", "names": "name", "synonyms": "synonym"}
KINDS = tuple(SECTIONS.values())
REPLACING = frozenset({"abbreviation", "shorthand"})
OPTIONS = frozenset({"full", "add", "exact", "case_sensitive", "not_before", "not_after", "remove", "terms"})


@dataclass(frozen=True)
class Entry:
    """One list entry: the forms that trigger it and what it gives."""

    kind: str  # abbreviation | shorthand | name | synonym
    keys: tuple[str, ...]  # the forms typed by users ("đv", "dv"); for a synonym group, its members
    full: str = ""  # abbreviation / shorthand: the full form written into `rewritten`
    add: tuple[str, ...] = ()  # name / one-way synonym: phrases added to `extra_terms`
    exact: bool = False  # diacritics must be typed and match ("hông" but not "hong", which is also Hồng)
    case_sensitive: bool = False  # letters must match in case too ("TƯ" but not "tư")
    not_before: str = ""  # regex: no match when the NEXT word (folded, lower case) fully matches it
    not_after: str = ""  # regex: no match when the PREVIOUS word (folded, lower case) fully matches it
    source: str = ""  # "path:line" the entry came from, for messages

    def to_dict(self) -> dict:
        out: dict = {"kind": self.kind, "keys": list(self.keys)}
        for name in ("full", "exact", "case_sensitive", "not_before", "not_after", "source"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if self.add:
            out["add"] = list(self.add)
        return out


def fold_lower(text: str) -> str:
    """Fold diacritics and lower-case character by character, so offsets match `text` one to one."""
    out = []
    for ch in text:
        f = vietnamese.fold(ch).lower()
        out.append(f if len(f) == 1 else (ch.lower() if len(ch.lower()) == 1 else ch))
    return "".join(out)


class _Reader:
    """Turns one YAML file into entries, with `path: line N: reason` for every mistake."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, node, reason: str) -> ValueError:
        line = node.start_mark.line + 1 if node is not None else 1
        return ValueError(f"{self.path}: line {line}: {reason}")

    def scalar(self, node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{what} must be text")
        return str(node.value).strip()

    def flag(self, node, what: str) -> bool:
        value = self.scalar(node, what).lower()
        if value in ("true", "yes"):
            return True
        if value in ("false", "no"):
            return False
        raise self.fail(node, f"{what} must be true or false, got {value!r}")

    def keys(self, node, text: str) -> tuple[str, ...]:
        keys = tuple(k.strip() for k in text.split("|"))
        if not text or any(not k for k in keys):
            raise self.fail(node, f"empty form in {text!r} (forms are separated by ' | ')")
        folded = [fold_lower(vietnamese.normalize(k)) for k in keys]
        for i, f in enumerate(folded):
            if f in folded[:i]:
                raise self.fail(node, f"{keys[folded.index(f)]!r} and {keys[i]!r} are the same form "
                                      "(matching ignores case and diacritics): keep one")
        for k in keys:
            if not fold_lower(vietnamese.normalize(k)).split() or not re.search(r"\w", k):
                raise self.fail(node, f"form {k!r} has no letters or digits")
        return keys

    def phrases(self, node, what: str) -> tuple[str, ...]:
        if isinstance(node, yaml.SequenceNode):
            items = tuple(self.scalar(n, what) for n in node.value)
        else:
            items = (self.scalar(node, what),)
        if not items or any(not p for p in items):
            raise self.fail(node, f"{what} is empty")
        return items

    def regex(self, node, what: str) -> str:
        value = self.scalar(node, what)
        try:
            re.compile(value)
        except re.error as exc:
            raise self.fail(node, f"{what} is not a valid regular expression ({exc})") from None
        return value

    def options(self, node) -> dict:
        """A mapping of entry options -> checked values."""
        out: dict = {}
        for k_node, v_node in node.value:
            name = self.scalar(k_node, "option name")
            if name not in OPTIONS:
                raise self.fail(k_node, f"unknown option {name!r} (known: {', '.join(sorted(OPTIONS))})")
            if name in ("exact", "case_sensitive", "remove"):
                out[name] = self.flag(v_node, name)
            elif name in ("not_before", "not_after"):
                out[name] = self.regex(v_node, name)
            elif name == "add":
                out[name] = self.phrases(v_node, "add")
            else:
                out[name] = self.scalar(v_node, name)
        return out

    def read(self) -> list[tuple[Entry, bool]]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{self.path}: line 1: not UTF-8 text ({exc.reason})") from None
        try:
            root = yaml.compose(raw)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            raise ValueError(f"{self.path}: line {line}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
        if root is None:
            return []
        if not isinstance(root, yaml.MappingNode):
            raise self.fail(root, "the file must be a mapping of sections: " + ", ".join(SECTIONS))
        out: list[tuple[Entry, bool]] = []
        seen: dict[tuple[str, str], int] = {}
        for s_node, body in root.value:
            section = self.scalar(s_node, "section name")
            if section == "format":
                continue
            if section not in SECTIONS:
                raise self.fail(s_node, f"unknown section {section!r} (known: {', '.join(SECTIONS)})")
            kind = SECTIONS[section]
            if isinstance(body, yaml.ScalarNode) and body.value in ("", "~", "null"):
                continue
            entries = self.synonyms(body) if kind == "synonym" else self.mapping_section(kind, body)
            for entry, removed, node in entries:
                for key in entry.keys:
                    slot = (kind, fold_lower(vietnamese.normalize(key)))
                    if slot in seen and kind != "synonym":
                        raise self.fail(node, f"{key!r} is listed twice in {section} (first at line {seen[slot]})")
                    seen[slot] = node.start_mark.line + 1
                out.append((entry, removed))
        return out

    def mapping_section(self, kind: str, body):
        if not isinstance(body, yaml.MappingNode):
            raise self.fail(body, f"section {kind} must map forms to their meaning ('đv | dv: đảng viên')")
        for k_node, v_node in body.value:
            keys = self.keys(k_node, self.scalar(k_node, "form"))
            source = f"{self.path.name}:{k_node.start_mark.line + 1}"
            if isinstance(v_node, yaml.MappingNode):
                opts = self.options(v_node)
            elif kind == "name":
                opts = {"add": self.phrases(v_node, "the added wording")}
            else:
                opts = {"full": self.scalar(v_node, "the full form")}
            removed = opts.pop("remove", False)
            if "terms" in opts:
                raise self.fail(v_node, "option 'terms' belongs to synonyms only")
            if not removed:
                if kind in REPLACING and not opts.get("full"):
                    raise self.fail(v_node, f"{keys[0]!r} needs a full form ('full: …')")
                if kind == "name" and opts.get("full"):
                    raise self.fail(v_node, "names add wording ('add: …'); 'full' is for abbreviations")
                if kind == "name" and not opts.get("add"):
                    raise self.fail(v_node, f"{keys[0]!r} needs the wording to add ('add: …')")
            yield Entry(kind=kind, keys=keys, source=source, **opts), removed, k_node

    def synonyms(self, body):
        if not isinstance(body, yaml.SequenceNode):
            raise self.fail(body, "section synonyms must be a list ('- a | b | c' or '- a -> b')")
        for item in body.value:
            opts: dict = {}
            node = item
            if isinstance(item, yaml.MappingNode):
                opts = self.options(item)
                if "terms" not in opts:
                    raise self.fail(item, "a synonym written as a mapping needs 'terms: a | b'")
                if "full" in opts or "add" in opts:
                    raise self.fail(item, "a synonym takes 'terms' (and exact, case_sensitive, not_before, "
                                          "not_after, remove), not 'full' or 'add'")
                text = opts.pop("terms")
            else:
                text = self.scalar(item, "a synonym line")
            removed = opts.pop("remove", False)
            source = f"{self.path.name}:{node.start_mark.line + 1}"
            if "->" in text:
                left, _, right = text.partition("->")
                if "->" in right:
                    raise self.fail(node, "only one '->' per line")
                keys, add = self.keys(node, left.strip()), self.keys(node, right.strip())
                yield Entry(kind="synonym", keys=keys, add=add, source=source, **opts), removed, node
            else:
                keys = self.keys(node, text)
                if len(keys) < 2 and not removed:
                    raise self.fail(node, f"a synonym group needs at least two members: {text!r}")
                yield Entry(kind="synonym", keys=keys, source=source, **opts), removed, node


def read_file(path: Path) -> list[tuple[Entry, bool]]:
    return _Reader(path).read()
