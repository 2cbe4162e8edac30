"""Search filters: restrict a search to some documents (by id, type, issuer, year) with one boolean per passage,
applied before the candidates are taken (Retriever.search(only=...))."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from bot.documents import vietnamese

NEWS = "tin-tuc"


@dataclass(frozen=True)
class DocFilter:
    """Which documents a search may return; empty fields do not restrict."""

    doc_ids: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()  # type codes ("quy-dinh", "huong-dan", "tin-tuc", "dieu-le")
    exclude_types: tuple[str, ...] = ()  # "chỉ văn bản chính thức": ("tin-tuc",)
    issuer: str = ""  # part of the issuer's name, diacritics and case ignored ("ban bi thu")
    year: str = ""  # year issued, "2024"

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.doc_types or self.exclude_types or self.issuer or self.year)


def type_code(doc_type: str) -> str:
    """"Quy định" / "quy-dinh" -> "quy-dinh"."""
    return "-".join(vietnamese.fold(vietnamese.normalize(doc_type or "")).lower().replace("-", " ").split())


def _folded(text: str) -> str:
    return " ".join(vietnamese.fold(vietnamese.normalize(text or "")).lower().split())


class _Table:
    """Per document (in index order): type code, folded issuer, year."""

    def __init__(self, documents) -> None:
        self.ids = [d.doc_id for d in documents]
        self.types = np.array([type_code(d.doc_type) for d in documents], dtype=object)
        self.issuers = [_folded(d.issuer) for d in documents]
        self.years = np.array([(d.issued or "")[:4] for d in documents], dtype=object)


_tables: dict[int, tuple[object, _Table]] = {}
_lock = threading.Lock()


def _table(r) -> _Table:
    store = r.parts.store
    with _lock:
        found = _tables.get(id(store))
        if found is not None and found[0] is store:
            return found[1]
    table = _Table(r.documents())
    with _lock:
        if len(_tables) > 2:
            _tables.clear()
        _tables[id(store)] = (store, table)
    return table


def passage_mask(r, f: DocFilter) -> np.ndarray | None:
    """One boolean per passage of the retriever's version: whether the filter lets it through (None: no
    filter). Documents by id are found directly; the other fields read one table of the documents, built
    once per version."""
    if not f:
        return None
    store = r.parts.store
    rows = np.ones(len(store.documents), dtype=bool)
    if f.doc_types or f.exclude_types or f.issuer or f.year:
        t = _table(r)
        if f.doc_types:
            rows &= np.isin(t.types, list(f.doc_types))
        if f.exclude_types:
            rows &= ~np.isin(t.types, list(f.exclude_types))
        if f.year:
            rows &= t.years == f.year
        if f.issuer:
            want = _folded(f.issuer)
            rows &= np.array([want in issuer for issuer in t.issuers], dtype=bool)
    if f.doc_ids:
        chosen = np.zeros_like(rows)
        for doc_id in f.doc_ids:
            row = store.documents.row(doc_id)
            if row is not None:
                chosen[row] = True
        rows &= chosen
    return rows[store.passage_docs]
