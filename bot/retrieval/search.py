"""Hybrid retrieval over one index version: bm25s on Vietnamese-aware tokens + dense FAISS, fused by weight.

`Retriever.load(version, config)` opens a version's parts; `Retriever(parts, settings)` takes them
ready-made (benches swap one part for another). `Retriever.search(question)` returns `Match` values.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from bot.config import Config, RetrievalConfig
from bot.documents import docnumbers
from bot.models import Document, Match, Passage, Scores
from bot.retrieval.query import QueryTerms, Relevance, Scaling, analyse
from bot.retrieval.store import Store
from bot.retrieval.understanding import QueryUnderstanding
from bot.retrieval.version import (LEXICAL_DIRS, MODEL_DIR, IndexUnavailable, IndexVersion, Manifest,
                                   index_text)

log = logging.getLogger(__name__)

IMPLIED_SHARE = 0.5  # the boost of a number a common name means, against one the question names

__all__ = ["Parts", "QueryTerms", "Retriever", "top_k"]


@dataclass(frozen=True)
class Parts:
    """What a Retriever searches with: the version's passages, its two lexical indexes, its dense
    index, the model that embeds questions, and the query-understanding lists."""

    store: Store
    lexical_accented: object  # bot.retrieval.lexical.LexicalIndex (or anything with get_scores)
    lexical_folded: object
    dense: object  # bot.retrieval.dense.DenseIndex (search(qvec, k), vectors(ids))
    embedder: object  # bot.retrieval.embedding.Embedder (encode_queries)
    understanding: QueryUnderstanding


@dataclass
class _Ranked:
    """Candidates of one search with their fused score parts, best first."""

    positions: np.ndarray
    fused: np.ndarray
    lexical: np.ndarray
    dense: np.ndarray
    boosted: np.ndarray


def top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest values (in no order); exactly `np.argpartition`'s choice up to ties.

    A full partition of a million scores takes ~15 ms. Instead, a threshold is read off a strided
    sample (a value that, going by the sample, about 4k values reach), only the values reaching it
    are partitioned, and the full partition is the fallback when fewer than k do.
    """
    n = values.size
    if k >= n:
        return np.arange(n)
    stride = n // (k * 200)
    if stride >= 4:
        sample = values[::stride]
        j = min(sample.size, 4 * (k * sample.size) // n + 8)
        threshold = np.partition(sample, sample.size - j)[sample.size - j]
        above = np.flatnonzero(values >= threshold)
        if above.size >= k:
            return above[np.argpartition(-values[above], k - 1)[:k]]
    return np.argpartition(-values, k - 1)[:k]


def load_parts(version: IndexVersion, config: Config) -> Parts:
    """Open every part of a version (IndexUnavailable when one is missing, damaged or does not fit)."""
    from bot.retrieval.dense import DenseIndex
    from bot.retrieval.embedding import Embedder, EmbeddingError
    from bot.retrieval.lexical import LexicalIndex
    from bot.retrieval.store import open_store

    folder = version.folder
    try:
        store = open_store(folder)
        # the score matrices stay on disk: a question's posting lists are read when it is asked
        lex_acc, lex_fold = (LexicalIndex.load(str(folder / name)) for name in LEXICAL_DIRS)
        dense = DenseIndex.load(folder, config.faiss)
        lists = version.understanding_lists()
        understanding = QueryUnderstanding.from_dict(lists) if lists is not None else QueryUnderstanding.load()
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise IndexUnavailable(f"index in {folder} cannot be read ({type(exc).__name__}: {exc}); "
                               "run `directive-bot index` to rebuild") from None
    if dense.ntotal != len(store.passages) or dense.d != version.manifest.dim:
        raise IndexUnavailable(f"index in {folder} is inconsistent (vectors {dense.ntotal}, "
                               f"passages {len(store.passages)}); run `directive-bot index`")
    try:
        embedder = Embedder.load(config.embedding, folder / MODEL_DIR)
    except EmbeddingError as exc:
        raise IndexUnavailable(str(exc)) from None
    if embedder.dim != dense.d:
        raise IndexUnavailable(f"embedding model gives dimension {embedder.dim}, the index has {dense.d}; "
                               "run `directive-bot index` to rebuild")
    return Parts(store, lex_acc, lex_fold, dense, embedder, understanding)


class Retriever:
    """A loaded, read-only index version. Thread-safe for concurrent searches."""

    def __init__(self, parts: Parts, settings: RetrievalConfig, version: IndexVersion | None = None) -> None:
        self._parts = parts
        self._store = parts.store
        self._settings = settings
        self._version = version or IndexVersion(Path("."), Manifest(version=""))
        self._size = len(parts.store.passages)
        scaling = Scaling(settings.relevance_question_words, settings.relevance_passage_words)
        self._relevance = Relevance(self._token_idf, self._index_text, scaling,
                                    lambda position: len(self._store.passages[position].text.split()))
        self._most_cited: list[str] | None = None
        self._domain = None  # bot.retrieval.domain.DomainCheck, made at the first check
        self._classifier: object = False  # bot.retrieval.classifier.DomainClassifier | None, loaded at first use

    @classmethod
    def load(cls, version: IndexVersion | Path, config: Config, *, verify_files: bool = True) -> "Retriever":
        """Open a version (a folder or an opened IndexVersion) the way the service serves it."""
        if not isinstance(version, IndexVersion):
            version = IndexVersion.open(Path(version))
        version.check_usable(config.embedding.model, config.embedding.settings(), verify_files=verify_files)
        return cls(load_parts(version, config), config.retrieval, version)

    # -------------------------------------------------------------- what it holds

    @property
    def parts(self) -> Parts:
        """The parts this retriever searches with: `Retriever(dataclasses.replace(r.parts, dense=other),
        settings)` searches the same version with another dense index (benches)."""
        return self._parts

    @property
    def settings(self) -> RetrievalConfig:
        return self._settings

    @property
    def version(self) -> str:
        return self._version.name

    @property
    def index_version(self) -> IndexVersion:
        return self._version

    @property
    def size(self) -> int:
        """Number of passages."""
        return self._size

    def document_count(self) -> int:
        return len(self._store.documents)

    def document(self, doc_id: str) -> Document | None:
        return self._store.documents.get(doc_id)

    def documents(self) -> list[Document]:
        """Every document (without its text), in index order: one pass over the file."""
        return self._store.documents.values()

    def passages(self) -> Iterator[Passage]:
        """Every passage in index order."""
        return iter(self._store.passages)

    def document_passages(self, doc_id: str) -> list[Passage]:
        """Every passage of one document, in order ([] for an unknown document)."""
        passages = self._store.passages
        return [passages[i] for i in self._store.doc_passages.get(doc_id, ())]

    def passage(self, passage_id: str) -> Passage | None:
        i = self._store.passage_ids.get(passage_id)
        return None if i is None else self._store.passages[i]

    def numbered(self, key: str) -> tuple[str | None, list[Document]]:
        """For a document-number key: the number as written in the index (None when no document carries
        or cites it) and the documents carrying it."""
        docs = [self._store.documents[d] for d in self._store.doc_keys.get(key, ())]
        return self._store.number_names.get(key), docs

    def most_cited(self, n: int) -> list[str]:
        """Document numbers (as written) to suggest to users: the documents the collection holds in full
        first, then those cited by the most documents (what the collection actually covers)."""
        if self._most_cited is None:
            store = self._store
            counts = {k: int(np.unique(store.passage_docs[v]).size) for k, v in store.mentions.items()}
            counts.update({k: counts.get(k, 0) for k in store.doc_keys})
            self._most_cited = sorted(counts, key=lambda k: (k not in store.doc_keys, -counts[k], k))
        return [self._store.number_names[k] for k in self._most_cited[:n]]

    def token_idf(self, token: str) -> float:
        """IDF of a folded token over this version's passages (weights for matching words)."""
        return self._token_idf(token)

    def off_topic(self, terms: QueryTerms, factor: float) -> bool:
        """Whether the question's words are less typical of this collection (against general Vietnamese
        text) than `factor` times its own passages' words are (bot/retrieval/domain.py)."""
        if self._domain is None:
            from bot.retrieval.domain import MEDIAN_FILE, DomainCheck

            self._domain = DomainCheck(self._parts.lexical_folded.document_frequency, self._size,
                                       self._token_idf, self._index_text)
            if self._version is not None:
                self._domain.load_median(self._version.path(MEDIAN_FILE))
        return self._domain.off_topic(terms.relevance_tokens or terms.folded_tokens, factor)

    def classifier_logit(self, terms: QueryTerms) -> float | None:
        """The index-time domain classifier's log-odds that the question is the collection's (None: the
        version has no classifier, or the question no content word)."""
        if self._classifier is False:
            from bot.retrieval.classifier import CLASSIFIER, DomainClassifier

            path = self._version.path(CLASSIFIER)
            self._classifier = DomainClassifier.load(path) if path.is_file() else None
        if self._classifier is None:
            return None
        return self._classifier.logit(terms.relevance_tokens or terms.folded_tokens)

    # -------------------------------------------------------------- search

    def terms(self, question: str) -> QueryTerms:
        """The question as the index sees it: tokens, document numbers, understood shorthand. Numbers in
        forms too weak for running text ("Hướng dẫn 06", "HD 06") count when this collection holds them."""
        terms = analyse(question, self._parts.understanding)
        held = [n.key for n in docnumbers.loose_doc_numbers(question)
                if n.key in self._store.doc_keys and n.key not in terms.doc_keys]
        return dataclasses.replace(terms, doc_keys=terms.doc_keys + list(dict.fromkeys(held))) if held else terms

    def search(self, question: str | QueryTerms, *, limit: int = 10, max_per_document: int | None = None,
               lexical_weight: float | None = None, dense_weight: float | None = None,
               only: np.ndarray | None = None) -> list[Match]:
        """The best passages for a question, at most `max_per_document` of one document; each match's
        `scores.relevance` says how much of the question it covers (measured when first read);
        `only` (a boolean per passage, bot/retrieval/filters.py) restricts the search before ranking."""
        terms = question if isinstance(question, QueryTerms) else self.terms(question)
        rc = self._settings
        ranked = self._rank(terms, limit, rc.lexical_weight if lexical_weight is None else lexical_weight,
                            rc.dense_weight if dense_weight is None else dense_weight, only)
        if ranked is None:
            return []
        cap = rc.max_per_document if max_per_document is None else max_per_document
        out = []
        for j in self._capped(ranked.positions, cap, limit):
            i = int(ranked.positions[j])
            passage = self._store.passages[i]
            scores = Scores(float(ranked.fused[j]), float(ranked.lexical[j]), float(ranked.dense[j]),
                            bool(ranked.boosted[j]), functools.partial(self._relevance, terms, i))
            out.append(Match(passage, self._document_of(i), scores))
        return out

    def _rank(self, terms: QueryTerms, limit: int, wl: float, wd: float,
              only: np.ndarray | None = None) -> _Ranked | None:
        n = self._size
        if n == 0:
            return None
        k = min(n, max(self._settings.candidates, limit * 4))
        # candidates: the best by lexical score (plus any document-number boost), and the best by dense
        pools = []
        lex = self._lexical_scores(terms) if wl > 0 else None
        boost = self._boost(terms.doc_keys, self._settings.doc_number_boost) if terms.doc_keys else None
        # numbers a common name means: a lower boost that ranks, but lets no passage past relevance checks
        implied = self._boost(list(terms.implied_keys), self._settings.doc_number_boost * IMPLIED_SHARE) \
            if terms.implied_keys else None
        lex = lex + implied if lex is not None and implied is not None else (lex if implied is None else implied)
        if only is not None:  # a restricted search: few enough passages are all candidates
            allowed = np.flatnonzero(only)
            if allowed.size <= k:
                qvec = self._parts.embedder.encode_queries([terms.normalized]) if wd > 0 else None
                return self._fuse(allowed.astype(np.int64), lex, qvec, boost, wl, wd) if allowed.size else None
            lex = lex * only if lex is not None else None
            boost = boost * only if boost is not None else None
        if lex is not None or boost is not None:
            prior = (wl * lex if lex is not None else 0.0) + (boost if boost is not None else 0.0)
            top = top_k(prior, k)
            pools.append(top[prior[top] > 0])
        qvec = None
        if wd > 0:
            qvec = self._parts.embedder.encode_queries([terms.normalized])
            if float(np.abs(qvec).sum()) > 0:
                found = self._parts.dense.search(qvec, k)
                pools.append(found[only[found]] if only is not None else found)
            else:
                qvec = None
        cand = np.unique(np.concatenate(pools)).astype(np.int64) if pools else np.zeros(0, dtype=np.int64)
        if cand.size == 0:
            return None
        return self._fuse(cand, lex, qvec, boost, wl, wd)

    def _fuse(self, cand: np.ndarray, lex: np.ndarray | None, qvec: np.ndarray | None,
              boost: np.ndarray | None, wl: float, wd: float) -> _Ranked:
        zeros = np.zeros(cand.size, dtype=np.float32)
        lex_c = lex[cand] if lex is not None else zeros
        dense_c = zeros
        if qvec is not None:
            dots = self._parts.dense.vectors(cand) @ qvec[0]
            dmax = float(dots.max())
            if dmax > 0:
                dense_c = np.clip(dots, 0.0, None) / dmax
        boost_c = boost[cand] if boost is not None else zeros
        fused = wl * lex_c + wd * dense_c + boost_c
        order = np.lexsort((cand, -fused))
        return _Ranked(cand[order], fused[order], lex_c[order], dense_c[order], boost_c[order] > 0)

    def _lexical_scores(self, terms: QueryTerms) -> np.ndarray | None:
        """Lexical scores of every passage, scaled to a maximum of 1 (None: nothing to look up)."""
        if not (terms.folded_tokens or terms.accented_tokens or terms.added_folded):
            return None
        p, weight = self._parts, self._settings.expansion_weight
        lex = np.zeros(self._size, dtype=np.float32)
        # accented and folded scores add up: exact matches count twice (weighting the folded part down
        # when diacritics are typed changed nothing measurable: docs/benchmarks.md)
        if terms.folded_tokens:
            lex += p.lexical_folded.get_scores(terms.folded_tokens)
        if terms.accented_tokens:
            lex += p.lexical_accented.get_scores(terms.accented_tokens)
        # words the question did not type but meant (đv -> đảng viên), weighted lower
        if terms.added_folded:
            lex += weight * p.lexical_folded.get_scores(list(terms.added_folded))
        if terms.added_accented:
            lex += weight * p.lexical_accented.get_scores(list(terms.added_accented))
        lmax = float(lex.max())
        return lex / lmax if lmax > 0 else lex

    def _boost(self, keys: list[str], value: float) -> np.ndarray | None:
        """Score added to passages of the documents named by number (x1.5) and to passages citing them."""
        boost = None
        store = self._store
        for key in keys:
            own = [i for d in store.doc_keys.get(key, ()) for i in store.doc_passages.get(d, ())]
            cited = store.mentions.get(key, ())
            if not own and not len(cited):
                continue
            if boost is None:
                boost = np.zeros(self._size, dtype=np.float32)
            if len(cited):
                idx = np.asarray(cited, dtype=np.int64)
                boost[idx] = np.maximum(boost[idx], value)
            if own:
                idx = np.asarray(own, dtype=np.int64)
                boost[idx] = np.maximum(boost[idx], value * 1.5)
        return boost

    def _capped(self, positions: np.ndarray, cap: int, limit: int) -> list[int]:
        """Indexes into `positions` (best first) keeping at most `cap` passages of one document."""
        out: list[int] = []
        per_doc: dict[int, int] = {}
        passage_docs = self._store.passage_docs
        for j, i in enumerate(positions.tolist()):
            doc = int(passage_docs[i])
            if per_doc.get(doc, 0) >= cap:
                continue
            per_doc[doc] = per_doc.get(doc, 0) + 1
            out.append(j)
            if len(out) >= limit:
                break
        return out

    # -------------------------------------------------------------- relevance weights

    def _token_idf(self, token: str) -> float:
        from bot.retrieval.lexical import bm25_idf

        return float(bm25_idf(max(1, self._size), self._parts.lexical_folded.document_frequency(token)))

    def _index_text(self, position: int) -> str:
        return index_text(self._document_of(position), self._store.passages[position])

    def _document_of(self, position: int) -> Document:
        """The document of the passage at `position`, by its row (no lookup by id)."""
        return self._store.documents.by_row(int(self._store.passage_docs[position]))
