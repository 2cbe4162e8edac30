"""The answering service: question -> Answer. Every channel calls this; no chat library here."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable

from bot.documents import docnumbers, vietnamese

from bot import messages
from bot.config import Config
from bot.documents.loading import DocumentError, load_file
from bot.documents.limits import Limits
from bot.retrieval import filters
from bot.retrieval.filters import DocFilter
from bot.service import articles, crossrefs, intake, references, scope, shortanswer
from bot.models import (Answer, Document, DocumentCard, Failure, Hit, IndexInfo, IndexReport, Match, Passage,
                        Reference, Scores)
from bot.retrieval.build import build_index
from bot.retrieval.search import QueryTerms, Retriever
from bot.retrieval.version import FORMAT, IndexUnavailable
from bot.retrieval.versions import current_dir, current_format, current_version

log = logging.getLogger(__name__)

# messages that are not questions get a reply of their own, without passages
_SMALLTALK = {"greeting": messages.GREETING, "thanks": messages.THANKS, "too_short": messages.TOO_SHORT}

# Words that, in a question without Vietnamese diacritics, mark it as English.
_ENGLISH = frozenset(
    "what which who whom whose why how is are was were the of and does did about please tell "
    "with from this that these those there will would should could when where explain give "
    "list show find document documents directive directives party".split())
_RELOAD_CHECK_SECONDS = 1.0
RERANK = 10  # relevant passages re-ranked by their best sentence
SENTENCE_WEIGHT = 0.5  # its weight against the fused score (scaled to the best one)
DOCUMENT_LIST_CACHE = 200_000  # references kept for the document list (about 0.5 KB each)


def _classifier_says_general(r: Retriever, terms: QueryTerms, relevant: list[Match]) -> bool:
    """The domain classifier's veto (bot/retrieval/classifier.py): only where no passage covers the question
    well and no document number or name boosted one."""
    from bot.retrieval.classifier import FLOOR, RELEVANCE

    if any(m.scores.boosted for m in relevant) or max(m.scores.relevance for m in relevant) >= RELEVANCE:
        return False
    logit = r.classifier_logit(terms)
    return logit is not None and logit < FLOOR


class AnswerService:
    """Loads the current index version and answers questions; swaps versions without a restart."""

    def __init__(self, config: Config, *, build_if_missing: bool = True,
                 progress: Callable[[str], None] | None = None, retriever: Retriever | None = None):
        """Serve the current version of config.index.dir (built first when missing), or `retriever`:
        a version opened by the caller, which is then served as it is (benches swap its parts)."""
        self.config = config
        self._swap = threading.Lock()
        self._build = threading.Lock()
        self._last_check = 0.0
        self._document_list: tuple[str, list[Reference]] | None = None  # (version, sorted references)
        self._fixed = retriever is not None
        self._scopes = scope.Scopes()  # "theo Điều lệ", "trong Hướng dẫn 06", "chỉ văn bản chính thức"
        self._units = articles.UnitTrees(self._scopes)  # structured documents' units (lookup, links)
        self._xrefs = crossrefs.CrossRefs(self._units)
        if retriever is not None:
            self._retriever = retriever
            return
        root = Path(config.index.dir)
        if build_if_missing and current_version(root) is None:
            log.info("no index in %s yet: building it", root)
            build_index(config, progress=progress)
        elif build_if_missing and (found := current_format(root)) not in (None, FORMAT):
            # a release with a new index layout: rebuild once, as on the first run
            log.warning("the index in %s has format %s, this release reads %s: rebuilding it",
                        root, found, FORMAT)
            build_index(config, progress=progress)
        self._retriever = Retriever.load(current_dir(root), config)

    # -------------------------------------------------------------- versions

    @property
    def retriever(self) -> Retriever:
        """The version to use for one request (take it once per request)."""
        now = time.monotonic()
        if not self._fixed and now - self._last_check >= _RELOAD_CHECK_SECONDS:
            self._last_check = now
            self.reload_if_changed()
        return self._retriever

    def reload_if_changed(self) -> bool:
        """Switch to the current version on disk if another process made a new one current."""
        root = Path(self.config.index.dir)
        try:
            name = current_version(root)
        except IndexUnavailable as exc:
            log.error("cannot check the index version: %s", exc)
            return False
        if name is None or name == self._retriever.version:
            return False
        with self._swap:
            if name == self._retriever.version:
                return False
            try:
                fresh = Retriever.load(current_dir(root), self.config)
            except IndexUnavailable as exc:
                log.error("new index version %s not loaded, still serving %s: %s",
                          name, self._retriever.version, exc)
                return False
            self._retriever = fresh
        log.info("now serving index version %s", name)
        return True

    def reindex(self, progress: Callable[[str], None] | None = None) -> IndexReport:
        """Build a new version from knowledge/, make it current and serve it. Old one serves meanwhile."""
        with self._build:
            report = build_index(self.config, progress=progress)
        self.reload_if_changed()
        return report

    def info(self) -> IndexInfo:
        r = self.retriever
        v = r.index_version
        m = v.manifest
        return IndexInfo(version=r.version, built_at=m.built_at, documents=r.document_count(),
                         passages=r.size, model=m.model, dim=int(m.dim), size_bytes=v.size_bytes)

    # -------------------------------------------------------------- answers

    def answer(self, question: str | None, *, top_k: int | None = None, offset: int = 0,
               doc_filter: DocFilter | None = None) -> Answer:
        """Best passages for a question, with references; never raises for bad questions. `doc_filter`
        restricts the search (command-line filters); otherwise a scope named in the question does."""
        rc = self.config.retrieval
        top_k = rc.top_k if top_k is None else max(1, top_k)
        offset = max(0, offset)
        text = (question or "").strip()
        problem = self.check_question(text) or _SMALLTALK.get(intake.classify(text), "")
        if problem:
            return Answer(question=text if len(text) <= 80 else text[:80] + "…", status="invalid", message=problem)
        r = self.retriever
        terms = r.terms(text)
        answer = Answer(question=text, status="not_found", index_version=r.version, offset=offset,
                        understood=terms.rewritten if terms.changed else "")
        if _looks_english(terms):
            answer.message = messages.NOT_VIETNAMESE
            return answer
        looked = articles.lookup(self._units, r, text) if offset == 0 and not doc_filter else None
        if looked is not None:  # "Điều 8 Điều lệ Đảng": that unit, whole
            looked.understood = answer.understood
            return self._enrich(r, looked, None)
        where = self._where(r, answer, doc_filter)
        ranked = r.search(terms, limit=min(max(offset + top_k + 1, 10), rc.candidates),
                          only=filters.passage_mask(r, where.filter) if where is not None else None)
        if terms.doc_keys:
            answer.document = self._card(r, terms, ranked)
        relevant = [m for m in ranked if m.scores.boosted or m.scores.relevance >= rc.min_relevance]
        if relevant and rc.domain_check and not terms.doc_keys and r.off_topic(terms, rc.domain_margin):
            relevant = []  # words typical of general text, not of this collection: off-topic
        if relevant and rc.domain_classifier and not terms.doc_keys and _classifier_says_general(r, terms, relevant):
            relevant = []  # weakly covered and, to the collection's own classifier, general text
        relevant = self._reorder(r, terms, relevant)
        if where is None and intake.only_document_number(text):
            relevant = _from_the_beginning(r, terms) or relevant  # "QĐ 294": the document itself, in order
        page = relevant[offset: offset + top_k]
        answer.has_more = len(relevant) > offset + top_k
        if page:
            answer.status = "found"
            answer.hits = [_hit(m.passage, m.document, terms, m) for m in page]
        else:
            answer.message = messages.NOT_FOUND if offset == 0 else messages.NO_MORE
            if where is not None and offset == 0:
                answer.message = messages.SCOPE_NOTHING.format(scope=where.label)
            answer.suggestions = self._suggestions(r)
        if answer.document is not None and not answer.document.documents:
            name = answer.document.doc_number
            answer.message = (messages.DOCUMENT_NOT_INDEXED if answer.document.mentions
                              else messages.DOCUMENT_UNKNOWN).format(number=describe_number(name))
            if not answer.document.mentions:  # a number the collection does not know: nothing unrelated
                answer.status, answer.hits, answer.has_more = "not_found", [], False
                answer.suggestions = self._suggestions(r)
        return self._enrich(r, answer, terms)

    def _reorder(self, r: Retriever, terms: QueryTerms, matches: list[Match]) -> list[Match]:
        """Documents in force before replaced ones. Among the first passages of structured texts, one
        with a sentence that covers the question well goes before one that spreads the words (the short
        answer's measure); they take each other's places, other passages keep theirs."""
        head = list(matches[:RERANK])
        slots = [i for i, m in enumerate(head) if m.passage.units]
        if len(slots) > 1 and not terms.doc_keys:
            top = max(head[i].scores.fused for i in slots) or 1.0
            key = {i: head[i].scores.fused / top + SENTENCE_WEIGHT * shortanswer.best_sentence(
                terms, head[i].passage.text, r.token_idf) for i in slots}
            for slot, i in zip(slots, sorted(slots, key=lambda i: -key[i])):
                head[slot] = matches[i]
        return sorted(head + matches[RERANK:], key=lambda m: not references.in_force(m.document))

    def _where(self, r: Retriever, answer: Answer, doc_filter: DocFilter | None) -> scope.Scope | None:
        """The documents to search: the command line's filter, or a scope the question names (said in
        "Hiểu câu hỏi là")."""
        where = scope.Scope(doc_filter, scope.describe(r, doc_filter)) if doc_filter \
            else self._scopes.parse(r, answer.question)
        if where is not None:
            answer.scope = where.label
            said = messages.SCOPE_UNDERSTOOD.format(scope=where.label)
            answer.understood = f"{answer.understood or answer.question} ({said})"
        return where

    def unit(self, doc_id: str, path: str) -> Answer:
        """One numbered unit of a document, whole ("dieu:9", "muc:3.2"): channels' previous / next /
        whole-article buttons and words, from Answer.unit."""
        r = self.retriever
        return self._enrich(r, articles.unit_answer(self._units, r, doc_id, path), None)

    def _enrich(self, r: Retriever, answer: Answer, terms: QueryTerms | None) -> Answer:
        """Cross-reference lines under the references, and the short answer before the passages."""
        if answer.unit is not None:
            answer.hits = self._xrefs.for_unit_hits(r, answer.unit, answer.hits)
        else:
            answer.hits = self._xrefs.for_hits(r, answer.hits)
        if terms is not None and answer.found and answer.offset == 0:
            answer.short = shortanswer.pick(terms, answer.hits, r.token_idf)
        return answer

    def check_question(self, text: str | None) -> str:
        """Why a question cannot be searched, in Vietnamese for the user; "" when it can."""
        text = (text or "").strip()
        limit = self.config.retrieval.max_question_chars
        if not text:
            return messages.EMPTY_QUESTION
        if len(text) > limit:
            return messages.TOO_LONG.format(length=len(text), limit=limit)
        if not any(ch.isalnum() for ch in text):
            return messages.NO_WORDS
        return ""

    def document_card(self, text: str) -> DocumentCard | None:
        """What the index holds about a document number typed by a user ("/vanban 05-CT/TW")."""
        r = self.retriever
        terms = r.terms(text or "")
        if not terms.doc_keys:
            return None
        return self._card(r, terms)

    def documents(self) -> list[Reference]:
        """Every indexed document's reference, by type, date and title (do not modify the list).

        The documents are read from the index version on disk; the list is kept for the version being
        served (up to DOCUMENT_LIST_CACHE documents), so paging through it does not read them again.
        """
        r = self.retriever
        cached = self._document_list
        if cached is not None and cached[0] == r.version:
            return cached[1]
        refs = sorted((_reference(d) for d in r.documents()),
                      key=lambda ref: (ref.doc_type, ref.issued or "", ref.title))
        self._document_list = (r.version, refs) if len(refs) <= DOCUMENT_LIST_CACHE else None
        return refs

    def has_document(self, doc_id: str) -> bool:
        """Whether the served version holds a document with this id (without listing them all)."""
        return self.retriever.document(doc_id) is not None

    def passage(self, passage_id: str) -> Hit | None:
        r = self.retriever
        p = r.passage(passage_id)
        return None if p is None else self._plain_hit(r, p)

    def section(self, passage_id: str) -> list[Hit]:
        """Every passage of the section the given passage belongs to, in document order."""
        r = self.retriever
        p = r.passage(passage_id)
        if p is None:
            return []
        top = p.section.split(" > ")[0] if p.section else None
        return [self._plain_hit(r, q) for q in r.document_passages(p.doc_id)
                if top is None or (q.section.split(" > ")[0] if q.section else None) == top]

    def document_passages(self, doc_id: str) -> list[Hit]:
        """Every passage of one document, in order (to read a document in full)."""
        r = self.retriever
        return [self._plain_hit(r, p) for p in r.document_passages(doc_id)]

    def search(self, question: str, *, limit: int = 10, max_per_document: int | None = None,
               lexical_weight: float | None = None, dense_weight: float | None = None,
               doc_filter: DocFilter | None = None) -> list[Match]:
        """The ranked passages for a question, without the answer's relevance threshold (`search`,
        evaluation); weights default to config.yaml's; `doc_filter` restricts the documents."""
        r = self.retriever
        return r.search(question, limit=limit, max_per_document=max_per_document, lexical_weight=lexical_weight,
                        dense_weight=dense_weight, only=filters.passage_mask(r, doc_filter) if doc_filter else None)

    def all_passages(self):
        """Every passage of the served version, in index order (an iterator)."""
        return self.retriever.passages()

    def check_document(self, path: Path, *, max_file_mb: float = 20.0) -> list[Document | Failure]:
        """Read one file the way the index build would (same limits): its documents, or why it cannot be used."""
        limits = Limits.from_config(self.config.knowledge)
        try:
            return [doc for doc, _where in load_file(Path(path), rel=Path(path).name, max_file_mb=max_file_mb,
                                                     limits=limits)]
        except DocumentError as exc:
            return [Failure(exc.path, exc.reason)]

    # -------------------------------------------------------------- helpers

    @staticmethod
    def _plain_hit(r: Retriever, p: Passage) -> Hit:
        return _hit(p, r.document(p.doc_id), None, None)

    def _card(self, r: Retriever, terms: QueryTerms, ranked: list[Match] | None = None) -> DocumentCard:
        key = terms.doc_keys[0]
        name, own_docs = r.numbered(key)
        number = docnumbers.own_spelling(terms.normalized, key) or name or _display_number(terms.normalized, key)
        own_ids = {d.doc_id for d in own_docs}
        if ranked is None:
            ranked = r.search(terms, limit=10)
        seen: set[str] = set()
        mentions = []
        for m in ranked:
            doc_id = m.passage.doc_id
            if _cites(m.passage, key) and doc_id not in own_ids and doc_id not in seen:
                seen.add(doc_id)
                mentions.append(_hit(m.passage, m.document, terms, m))
                if len(mentions) == 5:
                    break
        return DocumentCard(doc_number=number, documents=tuple(_reference(d) for d in own_docs),
                            mentions=tuple(mentions))

    def _suggestions(self, r: Retriever) -> list[str]:
        return [describe_number(name) for name in r.most_cited(6)]


def _from_the_beginning(r: Retriever, terms: QueryTerms) -> list[Match]:
    """Every passage of the documents a question names by number only, in document order (documents in
    force first); [] when the collection holds none of them."""
    docs = {d.doc_id: d for key in terms.doc_keys for d in r.numbered(key)[1]}
    ordered = sorted(docs.values(), key=lambda d: not references.in_force(d))
    return [Match(p, d, Scores(fused=1.0, boosted=True)) for d in ordered for p in r.document_passages(d.doc_id)]


def _cites(passage: Passage, key: str) -> bool:
    """Whether a passage mentions the document number `key`."""
    return any(docnumbers.doc_key(n) == key for n in passage.doc_numbers)


def _hit(p: Passage, doc: Document, terms: QueryTerms | None, match: Match | None) -> Hit:
    spans = ()
    if terms is not None:
        words = [w for w in terms.words if w not in vietnamese.STOPWORDS]
        pairs = [t for t in (terms.accented_tokens or terms.folded_tokens) if "_" in t]
        spans = tuple(vietnamese.highlight_spans(p.text, words, pairs))
    s = match.scores if match is not None else None
    return Hit(passage_id=p.passage_id, doc_id=p.doc_id, text=p.text,
               reference=_reference(doc, p.section, p.page), score=round(s.fused, 4) if s else 0.0,
               lexical=round(s.lexical, 4) if s else 0.0, dense=round(s.dense, 4) if s else 0.0,
               highlights=spans)


def describe_number(canonical: str) -> str:
    """"05-CT/TW" -> "Chỉ thị 05-CT/TW" (the number itself when its type is unknown)."""
    return docnumbers.describe_canonical(canonical)


def _display_number(text: str, key: str) -> str:
    for n in docnumbers.find_doc_numbers(text):
        if n.key == key:
            return n.canonical
    return key


def _reference(doc, section: str = "", page: int = 0) -> Reference:
    return references.reference(doc, section, page)


def _looks_english(terms: QueryTerms) -> bool:
    if terms.accented_tokens or terms.doc_keys:
        return False
    words = [w for w in terms.folded_tokens if "_" not in w and not w.isdigit()]
    if not words:
        return False
    english = sum(1 for w in words if w in _ENGLISH)
    return english >= 2 and english / len(words) >= 0.3
