"""The numbered units of one structured document, rebuilt from its passages: find a unit by its keys, cut its
exact text out of the passages that hold it, and step to the previous / next unit of the same kind."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.documents import structure
from bot.models import Passage

_PARTS = ("chuong", "phan")  # containers a reference may leave out ("Điều 8", not "Chương I Điều 8")


def address(keys: tuple[str, ...] | list[str]) -> str:
    """One address per unit, whatever the reference includes: "dieu:4/khoan:2", "muc:6.3.1/diem:c",
    "chuong:2". Chapters are left out below them, and of the outline keys only the deepest is kept."""
    keys = [k for k in keys if k]
    if any(not k.startswith(_PARTS) for k in keys):
        keys = [k for k in keys if not k.startswith(_PARTS)]
    outline = [k for k in keys if k.startswith("muc:")]
    return "/".join(k for k in keys if not k.startswith("muc:") or k == outline[-1])


@dataclass
class Unit:
    key: str  # "dieu:4"
    keys: tuple[str, ...]  # the path from the outermost unit
    labels: tuple[str, ...]  # "Chương I", "Điều 4", "khoản 2": the section path
    implements: tuple[str, ...]  # units of the implemented document named in its heading
    start: int  # span of the unit (with its sub-units) in the tree's text
    end: int = 0
    parent: "Unit | None" = None
    children: list["Unit"] = field(default_factory=list)

    @property
    def kind(self) -> tuple[str, int]:
        """Units of one kind and level are neighbours: ("dieu", 0), ("muc", 1) for "3.2"."""
        name, value = self.key.split(":", 1)
        return name, value.count(".")

    @property
    def address(self) -> str:
        return address(self.keys)

    @property
    def section(self) -> str:
        return " › ".join(self.labels)


@dataclass
class UnitTree:
    """Units of one document in document order, over the text of its passages joined by new lines."""

    doc_id: str
    mode: str  # "article" or "outline"
    text: str
    passages: list[Passage]
    starts: list[int]  # where each passage begins in `text`
    units: list[Unit]
    by_address: dict[str, Unit]

    def find(self, keys: tuple[str, ...]) -> tuple[Unit | None, Unit | None]:
        """(the unit, None) when the document has it; else (None, its deepest ancestor the document has)."""
        keys = tuple(keys)
        unit = self.by_address.get(address(keys))
        if unit is not None:
            return unit, None
        for n in range(len(keys) - 1, 0, -1):
            found = self.by_address.get(address(keys[:n]))
            if found is not None:
                return None, found
        return None, None

    def pieces(self, unit: Unit) -> list[tuple[Passage, str]]:
        """The unit's exact text, cut per passage that holds part of it, in order."""
        out = []
        for p, start in zip(self.passages, self.starts):
            end = start + len(p.text)
            a, b = max(start, unit.start), min(end, unit.end)
            if a < b and self.text[a:b].strip():
                out.append((p, self.text[a:b].strip()))
        return out

    def neighbour(self, unit: Unit, step: int) -> Unit | None:
        """The previous (step -1) or next (+1) unit of the same kind and level, in document order."""
        same = [u for u in self.units if u.kind == unit.kind]
        i = next(i for i, u in enumerate(same) if u is unit)
        j = i + step
        return same[j] if 0 <= j < len(same) else None

    def article(self, unit: Unit) -> Unit | None:
        """The whole article (Điều, or top-level outline item) a smaller unit belongs to."""
        u = unit
        while u.parent is not None and not u.parent.key.startswith(_PARTS):
            u = u.parent
        return None if u is unit else u

    def count(self, kind: str) -> int:
        """How many Điều the document has ("dieu"), or top-level outline items ("muc")."""
        if kind == "muc":
            return sum(1 for u in self.units if u.kind == ("muc", 0))
        return sum(1 for u in self.units if u.key.startswith(kind + ":"))

    def implementing(self, target: str) -> list[Unit]:
        """Units whose heading names `target` ("dieu:4" or "dieu:4/khoan:2") of the implemented document."""
        return [u for u in self.units if target in u.implements]


def build_tree(doc_id: str, passages: list[Passage]) -> UnitTree | None:
    """The unit tree of a structured document (None for news and other unstructured text)."""
    passages = [p for p in passages if p.doc_id == doc_id]
    if not passages or not any(p.units for p in passages):
        return None
    starts, pos = [], 0
    for p in passages:
        starts.append(pos)
        pos += len(p.text) + 1
    text = "\n".join(p.text for p in passages)
    parsed = structure.parse(text)
    if parsed is None:
        return None
    units: list[Unit] = []

    def walk(node: structure.Node, parent: Unit | None) -> None:
        for child in node.children:
            first = child.lines[0].offset if child.lines else None
            unit = Unit(child.key, (parent.keys if parent else ()) + (child.key,),
                        (parent.labels if parent else ()) + (child.label,), tuple(child.implements),
                        first if first is not None else -1, parent=parent)
            units.append(unit)
            if parent is not None:
                parent.children.append(unit)
            walk(child, unit)

    walk(parsed.root, None)
    for u in reversed(units):  # a unit without lines of its own starts where its first sub-unit does
        if u.start < 0:
            u.start = u.children[0].start if u.children else 0
    closing = parsed.closing[0].offset if parsed.closing else len(text)
    for i, u in enumerate(units):
        nxt = next((v for v in units[i + 1:] if not inside(v, u)), None)
        u.end = nxt.start if nxt is not None else closing
    by_address: dict[str, Unit] = {}
    for u in units:
        by_address.setdefault(u.address, u)
    return UnitTree(doc_id, parsed.mode, text, passages, starts, units, by_address)


def inside(unit: Unit, ancestor: Unit) -> bool:
    """Whether `unit` lies within `ancestor` (one of its parents, at any depth)."""
    u = unit.parent
    while u is not None:
        if u is ancestor:
            return True
        u = u.parent
    return False
