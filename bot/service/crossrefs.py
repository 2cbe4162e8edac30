"""Cross-references between the Điều lệ Đảng and the texts carrying it out (Quy định 294, Hướng dẫn 06): an
answer from Điều lệ Điều 4 lists the Quy định / Hướng dẫn items implementing it, and the other way round.
The links are read from the texts ("3. Điều 4: …", "3.2. (Khoản 2): …" -> Passage.implements)."""

from __future__ import annotations

import dataclasses
import threading

from bot.documents import vietnamese
from bot.documents.units import Unit, inside
from bot.models import Document, Hit, Link, Passage, UnitNav
from bot.retrieval.search import Retriever
from bot.service.articles import UnitTrees, label
from bot.service.references import document_name, type_code

MAX_LABELS = 6  # unit labels per linked document


class CrossRefs:
    """Which documents of the served version carry out the Điều lệ (found once per version)."""

    def __init__(self, trees: UnitTrees) -> None:
        self.trees = trees
        self._lock = threading.Lock()
        self._implementing: dict[str, list[str]] = {}  # version -> doc_ids

    def implementing_docs(self, r: Retriever) -> list[str]:
        with self._lock:
            cached = self._implementing.get(r.version)
        if cached is not None:
            return cached
        charter = self.trees.charter(r)
        found = [d.doc_id for d in r.documents() if charter and _implements_charter(d, charter)]
        with self._lock:
            self._implementing = {r.version: found}
        return found

    def for_hits(self, r: Retriever, hits: list[Hit]) -> list[Hit]:
        """The hits with their links (a search answer: the links of each passage's units)."""
        out = []
        for hit in hits:
            p = r.passage(hit.passage_id)
            doc = r.document(hit.doc_id)
            links = self.for_passage(r, doc, p) if p is not None and doc is not None else ()
            out.append(dataclasses.replace(hit, links=links) if links else hit)
        return out

    def for_unit_hits(self, r: Retriever, nav: UnitNav, hits: list[Hit]) -> list[Hit]:
        """An article lookup's hits: the links of the unit shown, under its first piece."""
        tree = self.trees.tree(r, nav.doc_id)
        doc = r.document(nav.doc_id)
        unit = tree.by_address.get(nav.path) if tree is not None else None
        if unit is None or doc is None or not hits:
            return hits
        links = self.for_unit(r, doc, unit)
        return [dataclasses.replace(hits[0], links=links)] + hits[1:] if links else hits

    def for_passage(self, r: Retriever, doc: Document, p: Passage) -> tuple[Link, ...]:
        if not p.units:
            return ()
        if doc.doc_id == self.trees.charter(r):
            return self.implemented_by(r, charter_targets(p.units))
        return self.implements(r, p.implements)

    def for_unit(self, r: Retriever, doc: Document, unit: Unit) -> tuple[Link, ...]:
        """Links of a unit an article lookup returned."""
        if doc.doc_id == self.trees.charter(r):
            return self.implemented_by(r, charter_targets(unit.keys))
        u, implements = unit, ()
        while u is not None and not implements:  # "3.2.1" carries out what "3.2. (Khoản 2)" names
            implements, u = u.implements, u.parent
        return self.implements(r, implements)

    def implemented_by(self, r: Retriever, targets: list[str]) -> tuple[Link, ...]:
        """For Điều lệ units ("dieu:4/khoan:2", then "dieu:4"): the items of each implementing document."""
        out = []
        for doc_id in self.implementing_docs(r):
            tree = self.trees.tree(r, doc_id)
            doc = r.document(doc_id)
            if tree is None or doc is None:
                continue
            units = _first_found(tree, targets)
            if units:
                shown = units[:MAX_LABELS]
                out.append(Link("implemented_by", doc_id, document_name(doc), tuple(u.address for u in shown),
                                tuple(label(u.keys) for u in shown)))
        return tuple(out)

    def implements(self, r: Retriever, implements: tuple[str, ...]) -> tuple[Link, ...]:
        """For a Quy định / Hướng dẫn unit: the Điều lệ units it carries out."""
        charter = self.trees.charter(r)
        doc = r.document(charter) if charter else None
        if doc is None or not implements:
            return ()
        dieu_with_khoan = {t.split("/")[0] for t in implements if "/" in t}
        targets = [t for t in dict.fromkeys(implements) if "/" in t or t not in dieu_with_khoan][:MAX_LABELS]
        return (Link("implements", charter, document_name(doc), tuple(targets),
                     tuple(label(tuple(t.split("/"))) for t in targets)),)


def charter_targets(units) -> list[str]:
    """Điều lệ units of a passage or path -> implemented-unit keys, most specific first:
    ("chuong:1", "dieu:4", "khoan:1", "khoan:2") -> ["dieu:4/khoan:1", "dieu:4/khoan:2", "dieu:4"]."""
    specific, articles, dieu = [], [], ""
    for key in units:
        if key.startswith("dieu:"):
            dieu = key
            articles.append(key)
        elif key.startswith("khoan:") and dieu:
            specific.append(f"{dieu}/{key}")
    return specific + articles


def _first_found(tree, targets: list[str]) -> list[Unit]:
    """Per Điều: the units implementing its khoản when some do, else the Điều itself; outermost only."""
    found: list[Unit] = []
    for dieu in [t for t in targets if "/" not in t]:
        for group in ([t for t in targets if t.startswith(dieu + "/")], [dieu]):
            units = [u for t in group for u in tree.implementing(t)]
            if units:
                found.extend(units)
                break
    found = [u for i, u in enumerate(found) if all(u is not v for v in found[:i])]
    return [u for u in found if not any(inside(u, v) for v in found if v is not u)]


def _implements_charter(doc: Document, charter: str) -> bool:
    named = getattr(doc, "implements", "") or ""
    if named:
        return named == charter
    # a loader that does not record it: a Quy định / Hướng dẫn "thi hành Điều lệ Đảng"
    return type_code(doc.doc_type) in ("quy-dinh", "huong-dan") and \
        "thi hanh dieu le dang" in vietnamese.fold(doc.title).lower()
