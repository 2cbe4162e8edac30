"""Values that travel between layers: documents, passages, references, hits and answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Literal


@dataclass(frozen=True)
class Document:
    """One source document as loaded from knowledge/."""

    doc_id: str
    title: str
    text: str  # body without front matter
    doc_number: str = ""  # canonical number, e.g. "05-CT/TW"; "" for news articles
    doc_type: str = ""  # chi-thi, ket-luan, quy-dinh, nghi-quyet, tin-tuc, ...
    issuer: str = ""
    issued: str = ""  # ISO date "2016-05-15" or ""
    source_url: str = ""
    complete: bool | None = None
    path: str = ""  # path relative to the knowledge folder
    # PDF only: offset in `text` where page i + 1 begins (for page numbers in references)
    page_starts: tuple[int, ...] = ()
    # status (front matter / sidecar, or read from the text): canonical numbers this document replaces, the
    # number of the one replacing it, "còn hiệu lực" / "hết hiệu lực" ("" unknown), date it takes effect
    replaces: tuple[str, ...] = ()
    replaced_by: str = ""
    status: str = ""
    effective: str = ""
    # the document this one carries out, read from its title ("… thi hành Điều lệ Đảng"): the doc_id of that
    # document when the collection holds it (set by load_knowledge), else its name or canonical number
    implements: str = ""


@dataclass(frozen=True)
class Passage:
    """A retrievable piece of a document (80-250 words), with its section path."""

    passage_id: str  # "<doc_id>#<ordinal>"
    doc_id: str
    ordinal: int
    section: str  # e.g. "I. Mục đích > 1. ..."; "" when the document has no headings
    text: str
    doc_numbers: tuple[str, ...] = ()  # canonical numbers (docnumbers) mentioned in the passage
    page: int = 0  # page where the passage starts (PDF documents), 0 when unknown
    # structural units, outermost first, as canonical keys: ("chuong:2", "dieu:4", "khoan:2", "diem:b") or the
    # decimal outline ("muc:3", "muc:3.2", "muc:3.2.1"); () for unstructured text (news)
    units: tuple[str, ...] = ()
    # units of another document this passage carries out, read from its text ("3. Điều 4: …", "(Khoản 2)"):
    # e.g. ("dieu:4", "dieu:4/khoan:2"); the implemented document is the one the passage's document implements
    implements: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scores:
    """How a passage ranked: the fused score and its parts (each part normalised to [0, 1])."""

    fused: float
    lexical: float = 0.0
    dense: float = 0.0
    boosted: bool = False  # its document was named by number in the question, or the passage cites it
    # measures `relevance` when it is first read (it tokenizes the passage: only what is read is paid for)
    measure: Callable[[], float] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def relevance(self) -> float | None:
        """How much of the question the passage covers, in [0, 1] (None when the search gave no measure)."""
        return self.measure() if self.measure is not None else None


@dataclass(frozen=True)
class Match:
    """One passage found for a question, with its document and how it ranked."""

    passage: Passage
    document: Document
    scores: Scores


@dataclass(frozen=True)
class Reference:
    """Everything needed to cite a passage: số hiệu, tiêu đề, ngày, cơ quan, mục, nguồn."""

    doc_id: str
    title: str
    doc_number: str = ""
    doc_type: str = ""
    issuer: str = ""
    issued: str = ""
    section: str = ""
    source_url: str = ""
    # "hết hiệu lực" when the document was replaced or repealed ("" when in force or unknown), and the
    # number (or id) of the document replacing it
    status: str = ""
    replaced_by: str = ""


@dataclass(frozen=True)
class Link:
    """Where a passage's unit is carried out, or what it carries out (one line under the reference).

    direction "implemented_by": a Quy định / Hướng dẫn unit implementing this Điều lệ passage;
    "implements": the Điều lệ unit this passage carries out."""

    direction: Literal["implemented_by", "implements"]
    doc_id: str
    document: str  # "Quy định 294-QĐ/TW", "Điều lệ Đảng Cộng sản Việt Nam"
    units: tuple[str, ...]  # unit addresses in that document: ("muc:3.2",), ("dieu:4/khoan:2",)
    labels: tuple[str, ...]  # the same, as people say them: ("mục 3.2",), ("khoản 2 Điều 4",)


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with its reference, its score and the spans to highlight."""

    passage_id: str
    doc_id: str
    text: str
    reference: Reference
    score: float
    lexical: float = 0.0
    dense: float = 0.0
    # (start, end) character offsets in `text` of words that matched the question
    highlights: tuple[tuple[int, int], ...] = ()
    links: tuple[Link, ...] = ()  # cross-references of its unit (Điều lệ <-> Quy định / Hướng dẫn)


@dataclass(frozen=True)
class UnitNav:
    """The numbered unit an article lookup returned, and where a reader can go from it.

    Channels offer the previous / next unit and the whole article as buttons or follow-up words and call
    `AnswerService.unit(doc_id, path)` with the path they carry ("" when there is none)."""

    doc_id: str
    path: str  # unit address: "dieu:4/khoan:2", "muc:3.2", "muc:6.3.1/diem:c"
    label: str  # "khoản 2 Điều 4", "mục 3.2"
    document: str  # "Điều lệ Đảng Cộng sản Việt Nam", "Quy định 294-QĐ/TW"
    prev: str = ""
    prev_label: str = ""
    next: str = ""
    next_label: str = ""
    article: str = ""  # the whole Điều / top-level Mục the unit belongs to
    article_label: str = ""


@dataclass(frozen=True)
class ShortAnswer:
    """One or two sentences of the best passage that answer the question (quoted, never written)."""

    text: str
    passage_id: str
    reference: Reference


@dataclass(frozen=True)
class DocumentCard:
    """What the bot knows about one document number: the document itself or the passages that cite it."""

    doc_number: str  # canonical form
    documents: tuple[Reference, ...] = ()  # indexed documents carrying this number
    mentions: tuple[Hit, ...] = ()  # passages of other documents that mention it


AnswerStatus = Literal["found", "not_found", "invalid"]


@dataclass
class Answer:
    """The service's reply to one question; every channel renders this one value."""

    question: str
    status: AnswerStatus
    hits: list[Hit] = field(default_factory=list)
    # Vietnamese text to show when status is not "found" (why, and how to ask better)
    message: str = ""
    suggestions: list[str] = field(default_factory=list)
    # the document a number in the question refers to, when the question names one
    document: DocumentCard | None = None
    # how the question was understood, when shorthand/abbreviations were expanded ("" otherwise)
    understood: str = ""
    offset: int = 0  # index of hits[0] in the full ranking ("Xem thêm" pages)
    has_more: bool = False
    index_version: str = ""
    unit: UnitNav | None = None  # set when the question named a unit ("Điều 8 Điều lệ Đảng")
    short: ShortAnswer | None = None  # "Trả lời ngắn", shown before the passages
    scope: str = ""  # the documents the search was restricted to, in Vietnamese ("" = all)

    @property
    def found(self) -> bool:
        return self.status == "found"


@dataclass(frozen=True)
class Failure:
    """A document that could not be indexed, and why (shown to admins)."""

    path: str
    reason: str


@dataclass
class IndexReport:
    """The summary of one index build."""

    version: str = ""
    documents: int = 0
    passages: int = 0
    added: list[str] = field(default_factory=list)  # document ids
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    # indexed, but an admin should look (metadata not found in the document, pages without text)
    warnings: list[Failure] = field(default_factory=list)
    embedded_passages: int = 0  # passages that had to be embedded
    reused_passages: int = 0  # passages whose vectors were reused from the previous version
    seconds: float = 0.0
    rebuilt_reason: str = ""  # why everything was rebuilt (model changed, first build, ...)
    # nothing in knowledge/ or the settings changed: no new version was made, `version` stays current
    unchanged_collection: bool = False


@dataclass(frozen=True)
class IndexInfo:
    """What is being served now."""

    version: str
    built_at: str
    documents: int
    passages: int
    model: str
    dim: int
    size_bytes: int = 0
