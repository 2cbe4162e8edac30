"""Article lookup: "Điều 8 Điều lệ Đảng", "khoan 2 dieu 4 dieu le", "mục 3.2 quy định 294" get exactly that unit,
whole, with the previous / next unit and the whole article to go to; a number the document lacks is said so."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from bot import messages
from bot.documents import unitref
from bot.documents.units import Unit, UnitTree, build_tree, inside
from bot.models import Answer, Document, Hit, UnitNav
from bot.retrieval.search import Retriever
from bot.service.references import document_name, reference
from bot.service.scope import Scopes

log = logging.getLogger(__name__)

MAX_PIECES = 20  # passages of one unit shown at most (a whole Chương of the Điều lệ is about 12)
_TREES = 16  # unit trees kept (one per structured document asked about)


class UnitTrees:
    """Unit trees of the served version's structured documents, built when first asked for."""

    def __init__(self, scopes: Scopes) -> None:
        self.scopes = scopes  # which document a name means ("Hướng dẫn 06", "Điều lệ")
        self._lock = threading.Lock()
        self._trees: OrderedDict[tuple[str, str], UnitTree | None] = OrderedDict()

    def tree(self, r: Retriever, doc_id: str) -> UnitTree | None:
        key = (r.version, doc_id)
        with self._lock:
            if key in self._trees:
                self._trees.move_to_end(key)
                return self._trees[key]
        tree = build_tree(doc_id, r.document_passages(doc_id))
        with self._lock:
            self._trees[key] = tree
            while len(self._trees) > _TREES:
                self._trees.popitem(last=False)
        return tree

    def charter(self, r: Retriever) -> str | None:
        """The Điều lệ Đảng's doc_id in the served version."""
        return self.scopes.catalog(r)[1]


def lookup(trees: UnitTrees, r: Retriever, question: str) -> Answer | None:
    """The answer to a question that names a unit of a structured document; None when it names none."""
    query = unitref.parse_unit_query(question)
    if query is None:
        return None
    doc_id = _document_for(trees, r, query, question)
    if doc_id is None:
        return None
    tree = trees.tree(r, doc_id)
    doc = r.document(doc_id)
    if tree is None or doc is None:
        return None
    answer = Answer(question=question, status="not_found", index_version=r.version)
    if tree.mode == "outline" and any(k.startswith("dieu:") for k in query.keys):
        return _implementing(answer, tree, doc, query)
    unit, parent = tree.find(query.keys)
    name = document_name(doc)
    if unit is None and parent is None:
        kind = query.keys[0].split(":")[0]
        answer.message = messages.UNIT_COUNT.format(
            document=name, count=tree.count(kind), kind=messages.UNIT_KINDS.get(kind, kind),
            unit=label(query.keys))
        return answer
    if unit is None:
        have = {k for k in parent.keys} | {k for k in query.keys if k.startswith("muc:") and k in parent.keys}
        missing = tuple(k for k in query.keys if k not in have)
        whole = label(parent.keys)
        answer.message = messages.UNIT_PART_MISSING.format(parent=whole[:1].upper() + whole[1:], document=name,
                                                           unit=label(missing), whole=whole)
        unit = parent
    return fill(answer, tree, doc, unit)


def unit_answer(trees: UnitTrees, r: Retriever, doc_id: str, path: str) -> Answer:
    """The answer showing one unit (channels' previous / next / whole-article buttons and words)."""
    answer = Answer(question=path, status="not_found", index_version=r.version)
    tree = trees.tree(r, doc_id)
    doc = r.document(doc_id)
    unit = tree.by_address.get(path) if tree is not None else None
    if unit is None or doc is None:
        answer.message = messages.NOT_FOUND
        return answer
    answer.question = f"{label(unit.keys)} {document_name(doc)}"
    return fill(answer, tree, doc, unit)


def fill(answer: Answer, tree: UnitTree, doc: Document, unit: Unit) -> Answer:
    """The unit's text as hits (one per passage holding part of it) and where to go from it."""
    pieces = tree.pieces(unit)
    if not pieces:
        answer.message = answer.message or messages.NOT_FOUND
        return answer
    if len(pieces) > MAX_PIECES:
        answer.message = messages.UNIT_TRUNCATED.format(unit=label(unit.keys), shown=MAX_PIECES)
        pieces = pieces[:MAX_PIECES]
    answer.status = "found"
    answer.hits = [Hit(passage_id=p.passage_id, doc_id=doc.doc_id, text=text,
                       reference=reference(doc, unit.section, p.page), score=1.0) for p, text in pieces]
    answer.unit = navigation(tree, doc, unit)
    return answer


def navigation(tree: UnitTree, doc: Document, unit: Unit) -> UnitNav:
    prev, nxt, article = tree.neighbour(unit, -1), tree.neighbour(unit, 1), tree.article(unit)
    return UnitNav(doc_id=doc.doc_id, path=unit.address, label=label(unit.keys), document=document_name(doc),
                   prev=prev.address if prev else "", prev_label=label(prev.keys) if prev else "",
                   next=nxt.address if nxt else "", next_label=label(nxt.keys) if nxt else "",
                   article=article.address if article else "",
                   article_label=label(article.keys) if article else "")


def label(keys) -> str:
    """("dieu:4", "khoan:2") -> "khoản 2 Điều 4"."""
    return unitref.unit_label(tuple(keys), messages.UNIT_NAMES)


def _implementing(answer: Answer, tree: UnitTree, doc: Document, query: unitref.UnitQuery) -> Answer | None:
    """"Quy định 294 Điều 4": the outline items carrying out Điều 4 (khoản 2) of the Điều lệ."""
    dieu = [k for k in query.keys if k.startswith("dieu:")][0]
    khoan = [k for k in query.keys if k.startswith("khoan:")]
    targets = ([f"{dieu}/{khoan[0]}"] if khoan else []) + [dieu]
    for target in targets:
        units = tree.implementing(target)
        top = [u for u in units if not any(inside(u, v) for v in units if v is not u)]
        if top:
            answer.message = messages.UNIT_IMPLEMENTED_IN.format(
                document=document_name(doc), unit=label(tuple(target.split("/"))))
            fill(answer, tree, doc, top[0])
            for extra in top[1:]:
                answer.hits.extend(Hit(passage_id=p.passage_id, doc_id=doc.doc_id, text=text,
                                       reference=reference(doc, extra.section, p.page), score=1.0)
                                   for p, text in tree.pieces(extra))
            answer.hits = answer.hits[:MAX_PIECES]
            return answer
    return None


def _document_for(trees: UnitTrees, r: Retriever, query: unitref.UnitQuery, question: str) -> str | None:
    """The document a unit reference points into: named ("quy định 294", "HD 06", "Điều lệ"), or the
    Điều lệ for a bare "Điều N"; None when it cannot be told (a bare "mục 3.2")."""
    named = trees.scopes.named(r, question)
    if named:
        return next((d for d in named if trees.tree(r, d) is not None), None)
    if any(k.startswith(("dieu:", "chuong:")) for k in query.keys) and not trees.scopes.names_other(question):
        return trees.charter(r)
    return None
