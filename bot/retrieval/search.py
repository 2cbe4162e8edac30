"""Hybrid retrieval over one index version: bm25s on Vietnamese-aware tokens + dense FAISS, fused by weight."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.documents import docnumbers, vietnamese
from bot.config import Config
from bot.retrieval.index import FORMAT_VERSION, MANIFEST, IndexUnavailable, damaged_file, index_text
from bot.retrieval.dense import DenseIndex
from bot.retrieval.store import Store
from bot.retrieval.understanding import QueryUnderstanding, added_tokens

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scored:
    """One ranked passage: its position in the index and the parts of its score."""

    idx: int
    score: float
    lexical: float
    dense: float
    boosted: bool = False


@dataclass(frozen=True)
class QueryTerms:
    """The question as the index sees it."""

    normalized: str
    folded_tokens: list[str]
    accented_tokens: list[str]  # empty when the question has no diacritics
    words: list[str]  # unigrams to highlight
    doc_keys: list[str]  # docnumbers keys named in the question
    # query understanding (bot/understanding.py): the question with shorthand written out, and the
    # tokens it adds, searched at retrieval.expansion_weight
    rewritten: str = ""
    added_folded: tuple[str, ...] = ()
    added_accented: tuple[str, ...] = ()
    relevance_tokens: tuple[str, ...] = ()  # folded tokens of the rewritten question

    @property
    def changed(self) -> bool:
        return bool(self.rewritten) and self.rewritten != self.normalized


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


class Retriever:
    """A loaded, read-only index version. Thread-safe for concurrent searches."""

    def __init__(self, folder: Path, manifest: dict, store: Store, lexical_accented, lexical_folded,
                 dense_index: DenseIndex, embedder, config: Config,
                 understanding: QueryUnderstanding | None = None):
        self.folder = folder
        self.manifest = manifest
        self.version = manifest["version"]
        self.store = store
        self.documents = store.documents  # doc_id -> Document, read from disk on demand
        self.passages = store.passages  # position -> Passage, read from disk on demand
        self.doc_passages = store.doc_passages  # doc_id -> range of positions
        self.by_passage_id = store.passage_ids  # .get(passage_id) -> position
        self._lex_acc = lexical_accented
        self._lex_fold = lexical_folded
        self._dense = dense_index
        self.embedder = embedder
        self.config = config
        self.understanding = understanding or QueryUnderstanding.load()
        self.size = len(self.passages)
        self._token_cache: dict[int, frozenset[str]] = {}  # passage -> folded tokens (relevance)
        self._idf_cache: dict[str, float] = {}  # folded token -> idf (relevance weights)
        # document-number keys -> the documents carrying them / the passages mentioning them (sorted)
        self.doc_keys: dict[str, list[str]] = store.doc_keys
        self.number_names: dict[str, str] = store.number_names  # key -> canonical number to show
        self.mentions: dict[str, np.ndarray] = store.mentions
        self._most_cited: list[str] | None = None

    # -------------------------------------------------------------- loading

    @classmethod
    def load(cls, folder: Path, config: Config, *, verify_files: bool = True) -> "Retriever":
        import faiss

        from bot.retrieval.embedding import Embedder, EmbeddingError
        from bot.retrieval.lexical import LexicalIndex
        from bot.retrieval.store import open_store

        folder = Path(folder)
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexUnavailable(f"{folder}: {MANIFEST} is missing; run `directive-bot index`") from None
        except (OSError, ValueError) as exc:
            raise IndexUnavailable(f"{folder}/{MANIFEST} is unreadable ({exc}); run `directive-bot index`") from None
        if manifest.get("format") != FORMAT_VERSION:
            raise IndexUnavailable(f"{folder}: index format {manifest.get('format')} is not {FORMAT_VERSION}; "
                                   "run `directive-bot index` to rebuild")
        want = config.embedding
        if manifest.get("model") != want.model or manifest.get("model_settings") != want.settings():
            raise IndexUnavailable(
                f"the index was built with embedding model '{manifest.get('model')}' "
                f"(dim {manifest.get('dim')}), but config.yaml asks for '{want.model}' "
                f"with other settings; run `directive-bot index` to rebuild it")
        problem = damaged_file(folder, manifest) if verify_files else None
        if problem:
            raise IndexUnavailable(f"{problem}; run `directive-bot index` to rebuild")
        # the per-document content hashes are for the next build (a million at 1M documents): not kept
        manifest.pop("doc_hashes", None)
        try:
            store = open_store(folder)
            # the score matrices stay on disk: a question's posting lists are read when it is asked
            lex_acc = LexicalIndex.load(str(folder / "lexical_accented"))
            lex_fold = LexicalIndex.load(str(folder / "lexical_folded"))
            dense = DenseIndex.load(folder, config.faiss)
            understanding_file = folder / "understanding.json"
            understanding = (QueryUnderstanding.from_dict(json.loads(understanding_file.read_text(encoding="utf-8")))
                             if understanding_file.exists() else None)
            faiss.omp_set_num_threads(1)  # one query at a time: threads only add overhead here
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            raise IndexUnavailable(f"index in {folder} cannot be read ({type(exc).__name__}: {exc}); "
                                   "run `directive-bot index` to rebuild") from None
        if dense.ntotal != len(store.passages) or dense.d != manifest.get("dim"):
            raise IndexUnavailable(f"index in {folder} is inconsistent (vectors {dense.ntotal}, "
                                   f"passages {len(store.passages)}); run `directive-bot index`")
        try:
            embedder = Embedder.load(want, folder / "model")
        except EmbeddingError as exc:
            raise IndexUnavailable(str(exc)) from None
        if embedder.dim != dense.d:
            raise IndexUnavailable(f"embedding model gives dimension {embedder.dim}, the index has {dense.d}; "
                                   "run `directive-bot index` to rebuild")
        return cls(folder, manifest, store, lex_acc, lex_fold, dense, embedder, config, understanding)

    # -------------------------------------------------------------- query analysis

    def _idf(self, df: int) -> float:
        n = max(1, self.size)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def terms(self, query: str) -> QueryTerms:
        normalized = vietnamese.normalize(query)
        folded = vietnamese.search_tokens(normalized, folded=True)
        accented = vietnamese.search_tokens(normalized, folded=False) \
            if vietnamese.has_diacritics(normalized) else []
        words = [t for t in (accented or folded) if "_" not in t]
        exp = self.understanding.expand(normalized)
        rewritten = vietnamese.normalize(exp.rewritten) if exp.changed else normalized
        keys: list[str] = []
        for n in docnumbers.find_doc_numbers(rewritten):
            keys.append(n.key)
            resolution = docnumbers.PLENUM_RESOLUTIONS.get(n.canonical)
            if resolution:  # "NQ TW4 khóa XII" also names 04-NQ/TW
                keys.append(docnumbers.doc_key(resolution) or "")
        keys = [k for k in dict.fromkeys(keys) if k]
        if not exp.changed:
            return QueryTerms(normalized, folded, accented, words, keys, relevance_tokens=tuple(folded))
        added_folded = tuple(added_tokens(exp, folded=True))
        added_text = exp.rewritten + " " + " ".join(exp.extra_terms)
        added_accented = tuple(added_tokens(exp, folded=False)) if vietnamese.has_diacritics(added_text) else ()
        new_words = [t for t in vietnamese.search_tokens(rewritten, folded=not accented and
                                                         not vietnamese.has_diacritics(rewritten))
                     if "_" not in t and t not in words]
        return QueryTerms(normalized, folded, accented, words + new_words, keys, rewritten=rewritten,
                          added_folded=added_folded, added_accented=added_accented,
                          relevance_tokens=tuple(vietnamese.search_tokens(rewritten, folded=True)))

    def relevance(self, terms: QueryTerms, idx: int) -> float:
        """How much of the question a passage covers, in [0, 1]: comparable across questions.

        The mean of two IDF-weighted shares of the question found in the passage: its words, and its
        adjacent word pairs. Pairs keep off-topic questions that share a few scattered words with the
        corpus below the threshold (calibrated on tests/data: see docs/benchmarks.md).
        """
        have = self._passage_tokens(idx)
        tokens = terms.relevance_tokens or terms.folded_tokens
        words = [t for t in dict.fromkeys(tokens) if "_" not in t]
        pairs = [t for t in dict.fromkeys(tokens) if "_" in t]
        if not words:
            return 0.0
        unigram = self._share(words, have)
        return (unigram + (self._share(pairs, have) if pairs else unigram)) / 2

    def _token_idf(self, token: str) -> float:
        weight = self._idf_cache.get(token)
        if weight is None:
            if len(self._idf_cache) > 100_000:
                self._idf_cache.clear()
            weight = self._idf_cache[token] = self._idf(self._lex_fold.document_frequency(token))
        return weight

    def _share(self, tokens: list[str], have: frozenset[str]) -> float:
        total = matched = 0.0
        for t in tokens:
            weight = self._token_idf(t)
            total += weight
            if t in have:
                matched += weight
        return matched / total if total else 0.0

    def _passage_tokens(self, idx: int) -> frozenset[str]:
        cached = self._token_cache.get(idx)
        if cached is None:
            p = self.passages[idx]
            cached = frozenset(vietnamese.search_tokens(index_text(self.documents[p.doc_id], p), folded=True))
            if len(self._token_cache) > 4096:  # a few KB each: keep it small
                self._token_cache.clear()
            self._token_cache[idx] = cached
        return cached

    def mentions_number(self, key: str, idx: int) -> bool:
        """Whether passage `idx` mentions the document number `key`."""
        cited = self.mentions.get(key)
        if cited is None or cited.size == 0:
            return False
        j = int(np.searchsorted(cited, idx))
        return j < cited.size and int(cited[j]) == idx

    def most_cited(self, n: int) -> list[str]:
        """Keys of document numbers to suggest to users: the documents the collection holds in full first,
        then those cited by the most documents (what the collection actually covers)."""
        if self._most_cited is None:
            docs = self.store.passage_docs
            counts = {k: int(np.unique(docs[v]).size) for k, v in self.mentions.items()}
            counts.update({k: counts.get(k, 0) for k in self.doc_keys})
            self._most_cited = sorted(counts, key=lambda k: (k not in self.doc_keys, -counts[k], k))
        return self._most_cited[:n]

    # -------------------------------------------------------------- search

    def _boost(self, keys: list[str], value: float) -> np.ndarray | None:
        """Score added to passages of the documents named by number (x1.5) and to passages citing them."""
        boost = None
        for key in keys:
            own = [i for d in self.doc_keys.get(key, ()) for i in self.doc_passages.get(d, ())]
            cited = self.mentions.get(key, ())
            if not own and not len(cited):
                continue
            if boost is None:
                boost = np.zeros(self.size, dtype=np.float32)
            if len(cited):
                idx = np.asarray(cited, dtype=np.int64)
                boost[idx] = np.maximum(boost[idx], value)
            if own:
                idx = np.asarray(own, dtype=np.int64)
                boost[idx] = np.maximum(boost[idx], value * 1.5)
        return boost

    def search(self, query: str | QueryTerms, *, limit: int = 10, max_per_document: int | None = None,
               lexical_weight: float | None = None, dense_weight: float | None = None) -> list[Scored]:
        """Rank passages for a question; at most `max_per_document` passages of one document."""
        rc = self.config.retrieval
        terms = query if isinstance(query, QueryTerms) else self.terms(query)
        wl = rc.lexical_weight if lexical_weight is None else lexical_weight
        wd = rc.dense_weight if dense_weight is None else dense_weight
        n = self.size
        if n == 0:
            return []
        k = min(n, max(rc.candidates, limit * 4))

        # candidates: the best by lexical score (plus any document-number boost), and the best by dense
        pools = []
        lex_n = None
        if wl > 0 and (terms.folded_tokens or terms.accented_tokens or terms.added_folded):
            lex = np.zeros(n, dtype=np.float32)
            if terms.folded_tokens:
                # accented and folded scores add up: exact matches count twice (weighting the folded
                # part down when diacritics are typed changed nothing measurable: docs/benchmarks.md)
                lex += self._lex_fold.get_scores(terms.folded_tokens)
            if terms.accented_tokens:
                lex += self._lex_acc.get_scores(terms.accented_tokens)
            # words the question did not type but meant (đv -> đảng viên), weighted lower
            if terms.added_folded:
                lex += rc.expansion_weight * self._lex_fold.get_scores(list(terms.added_folded))
            if terms.added_accented:
                lex += rc.expansion_weight * self._lex_acc.get_scores(list(terms.added_accented))
            lmax = float(lex.max())
            lex_n = lex / lmax if lmax > 0 else lex
        boost = self._boost(terms.doc_keys, rc.doc_number_boost) if terms.doc_keys else None
        if lex_n is not None or boost is not None:
            prior = (wl * lex_n if lex_n is not None else 0.0) + (boost if boost is not None else 0.0)
            top = top_k(prior, k)
            pools.append(top[prior[top] > 0])
        qvec = None
        if wd > 0:
            qvec = self.embedder.encode_queries([terms.normalized])
            if float(np.abs(qvec).sum()) > 0:
                pools.append(self._dense.search(qvec, k))
            else:
                qvec = None
        if not pools:
            return []
        cand = np.unique(np.concatenate(pools)).astype(np.int64)
        if cand.size == 0:
            return []
        lex_c = lex_n[cand] if lex_n is not None else np.zeros(cand.size, dtype=np.float32)
        dense_c = np.zeros(cand.size, dtype=np.float32)
        if qvec is not None:
            dots = self._dense.vectors(cand) @ qvec[0]
            dmax = float(dots.max())
            if dmax > 0:
                dense_c = np.clip(dots, 0.0, None) / dmax
        boost_c = boost[cand] if boost is not None else np.zeros(cand.size, dtype=np.float32)
        fused = wl * lex_c + wd * dense_c + boost_c
        order = np.lexsort((cand, -fused))
        ranked = (Scored(int(cand[j]), float(fused[j]), float(lex_c[j]), float(dense_c[j]), bool(boost_c[j] > 0))
                  for j in order)
        cap = max_per_document if max_per_document is not None else rc.max_per_document
        out: list[Scored] = []
        per_doc: dict[int, int] = {}
        passage_docs = self.store.passage_docs
        for s in ranked:
            doc_id = int(passage_docs[s.idx])
            if per_doc.get(doc_id, 0) >= cap:
                continue
            per_doc[doc_id] = per_doc.get(doc_id, 0) + 1
            out.append(s)
            if len(out) >= limit:
                break
        return out
