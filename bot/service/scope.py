"""Scope: a question that names where to look ("theo Điều lệ …", "trong Hướng dẫn 06 …", "chỉ văn bản chính
thức", "tin năm 2024") is searched there only; the answer says so. Also: which indexed document a name like
"Hướng dẫn 06" or "QĐ 294" means."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from bot import messages
from bot.documents import vietnamese
from bot.retrieval.filters import NEWS, DocFilter, type_code
from bot.retrieval.search import Retriever
from bot.service.references import document_name, is_charter

__all__ = ["DocFilter", "Scope", "Scopes", "type_code"]

_TYPES = {"quy dinh": "quy-dinh", "qd": "quy-dinh", "huong dan": "huong-dan", "hd": "huong-dan",
          "chi thi": "chi-thi", "ct": "chi-thi", "ket luan": "ket-luan", "kl": "ket-luan",
          "nghi quyet": "nghi-quyet", "nq": "nghi-quyet", "quyet dinh": "quyet-dinh"}
_TYPE_WORDS = "|".join(sorted(_TYPES, key=len, reverse=True))
# on the folded, lower-cased question
_NAME = re.compile(rf"\b(?:(dieu le)(?: dang)?|({_TYPE_WORDS})\s*(?:so\s*)?(\d{{1,4}})\b)")
_LEAD = re.compile(r"\b(?:theo|trong|can cu|chi tim trong|chi trong)\s+(?:(?:noi dung|van ban|quy dinh cua)\s+)?$")
_OFFICIAL = re.compile(r"\b(?:chi\s+(?:tim\s+)?(?:trong\s+)?van\s+ban\s+chinh\s+thuc|van\s+ban\s+chinh\s+thuc"
                       r"|chi\s+van\s+ban\b)")
_NEWS_YEAR = re.compile(r"\b(?:tin|tin tuc|bai|bai bao|bai viet)\b(?:[^.?!]*?)\bnam\s+((?:19|20)\d\d)\b")
_ONLY_NEWS = re.compile(r"\bchi\s+(?:tim\s+)?(?:trong\s+)?(?:tin|tin tuc|bai bao|bao chi)\b")


@dataclass(frozen=True)
class Scope:
    filter: DocFilter
    label: str  # Vietnamese: "Điều lệ Đảng Cộng sản Việt Nam", "văn bản chính thức", "tin, bài năm 2024"


class Scopes:
    """Reads scopes from questions against the served version's documents (a small catalog of the
    numbered documents and the Điều lệ, built once per version)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._catalog: tuple[str, dict[tuple[str, int], list[str]], str | None] | None = None

    def catalog(self, r: Retriever) -> tuple[dict[tuple[str, int], list[str]], str | None]:
        """(type code, number) -> doc_ids of the documents carrying it; and the Điều lệ's doc_id."""
        with self._lock:
            cached = self._catalog
        if cached is not None and cached[0] == r.version:
            return cached[1], cached[2]
        numbered: dict[tuple[str, int], list[str]] = {}
        charter = None
        for d in r.documents():
            m = re.match(r"\s*0*(\d{1,4})", d.doc_number or "")
            if m:
                numbered.setdefault((type_code(d.doc_type), int(m.group(1))), []).append(d.doc_id)
            if charter is None and is_charter(d):
                charter = d.doc_id
        with self._lock:
            self._catalog = (r.version, numbered, charter)
        return numbered, charter

    def named(self, r: Retriever, text: str, *, scoped_only: bool = False) -> list[str]:
        """Indexed documents the question names ("Hướng dẫn 06", "QĐ 294", "Điều lệ"); with `scoped_only`,
        only those named as where to look ("theo …", "trong …", "căn cứ …")."""
        folded = _fold(text)
        numbered, charter = self.catalog(r)
        out: list[str] = []
        for m in _NAME.finditer(folded):
            if scoped_only and not _LEAD.search(folded[:m.start()]):
                continue
            if m.group(1):
                if charter and not folded[:m.start()].rstrip().endswith("thi hanh"):
                    out.append(charter)
            else:
                out.extend(numbered.get((_TYPES[m.group(2)], int(m.group(3))), []))
        return list(dict.fromkeys(out))

    def names_other(self, text: str) -> bool:
        """Whether the question names a document other than the Điều lệ ("Quy định 37"), indexed or not."""
        return any(m.group(2) for m in _NAME.finditer(_fold(text)))

    def parse(self, r: Retriever, text: str) -> Scope | None:
        """The scope a question asks for, or None."""
        folded = _fold(text)
        doc_ids = self.named(r, text, scoped_only=True)
        if doc_ids:
            names = [document_name(d) for d in (r.document(i) for i in doc_ids) if d is not None]
            return Scope(DocFilter(doc_ids=tuple(doc_ids)), ", ".join(names))
        m = _NEWS_YEAR.search(folded)
        if m:
            return Scope(DocFilter(doc_types=(NEWS,), year=m.group(1)),
                         f"{messages.SCOPE_NEWS} {messages.SCOPE_YEAR.format(year=m.group(1))}")
        if _ONLY_NEWS.search(folded):
            return Scope(DocFilter(doc_types=(NEWS,)), messages.SCOPE_NEWS)
        if _OFFICIAL.search(folded):
            return Scope(DocFilter(exclude_types=(NEWS,)), messages.SCOPE_OFFICIAL)
        return None


def describe(r: Retriever, f: DocFilter) -> str:
    """A filter given on the command line, in the words of the answer ("Quy định 294-QĐ/TW", "năm 2025")."""
    parts = [document_name(d) for d in (r.document(i) for i in f.doc_ids) if d is not None]
    parts += [messages.DOC_TYPE_NAMES.get(t, t) for t in f.doc_types]
    if f.exclude_types == (NEWS,):
        parts.append(messages.SCOPE_OFFICIAL)
    if f.issuer:
        parts.append(messages.SCOPE_ISSUER.format(issuer=f.issuer))
    if f.year:
        parts.append(messages.SCOPE_YEAR.format(year=f.year))
    return ", ".join(parts)


def _fold(text: str) -> str:
    return " ".join(vietnamese.fold(vietnamese.normalize(text or "")).lower().replace(",", " , ").split())
