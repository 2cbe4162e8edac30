"""Hybrid retrieval over one index version: bm25s on Vietnamese-aware tokens + dense FAISS, fused by weight."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot import docnumbers, vietnamese
from bot.config import Config
from bot.index import FORMAT_VERSION, MANIFEST, IndexUnavailable, file_digest, index_text
from bot.models import Document, Passage
from bot.understanding import QueryUnderstanding, added_tokens

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


class Retriever:
    """A loaded, read-only index version. Thread-safe for concurrent searches."""

    def __init__(self, folder: Path, manifest: dict, documents: dict[str, Document],
                 passages: list[Passage], lexical_accented, lexical_folded, df: dict[str, int],
                 dense_index, embedder, config: Config, understanding: QueryUnderstanding | None = None):
        self.folder = folder
        self.manifest = manifest
        self.version = manifest["version"]
        self.documents = documents
        self.passages = passages
        self._lex_acc = lexical_accented
        self._lex_fold = lexical_folded
        self._df = df
        self._dense = dense_index
        self.embedder = embedder
        self.config = config
        self.understanding = understanding or QueryUnderstanding.load()
        self.size = len(passages)
        self._token_cache: dict[int, frozenset[str]] = {}  # passage -> folded tokens (relevance)
        # document-number keys -> the documents carrying them / the passages mentioning them
        self.doc_keys: dict[str, list[str]] = {}
        self.number_names: dict[str, str] = {}  # key -> canonical number to show
        for doc in documents.values():
            key = docnumbers.doc_key(doc.doc_number) if doc.doc_number else None
            if key:
                self.doc_keys.setdefault(key, []).append(doc.doc_id)
                self.number_names[key] = doc.doc_number
        self.doc_passages: dict[str, list[int]] = {}
        for i, p in enumerate(passages):
            self.doc_passages.setdefault(p.doc_id, []).append(i)
        self.mentions: dict[str, list[int]] = {}
        for i, p in enumerate(passages):
            for number in p.doc_numbers:
                key = docnumbers.doc_key(number)
                if key:
                    self.mentions.setdefault(key, []).append(i)
                    self.number_names.setdefault(key, number)
        self.by_passage_id = {p.passage_id: i for i, p in enumerate(passages)}
        self._most_cited: list[str] | None = None

    # -------------------------------------------------------------- loading

    @classmethod
    def load(cls, folder: Path, config: Config, *, verify_files: bool = True) -> "Retriever":
        import bm25s
        import faiss

        from bot.dense import configure_for_search
        from bot.embedding import Embedder, EmbeddingError

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
        if verify_files:
            for name, meta in manifest.get("files", {}).items():
                path = folder / name
                if not path.is_file():
                    raise IndexUnavailable(f"index file {path} is missing; run `directive-bot index`")
                if path.stat().st_size != meta["size"] or file_digest(path) != meta["sha256"]:
                    raise IndexUnavailable(f"index file {path} is truncated or corrupted; "
                                           "run `directive-bot index` to rebuild")
        try:
            documents = {}
            with open(folder / "documents.jsonl", encoding="utf-8") as fh:
                for line in fh:
                    data = json.loads(line)
                    data["page_starts"] = tuple(data.get("page_starts", ()))
                    d = Document(**data)
                    documents[d.doc_id] = d
            passages = []
            with open(folder / "passages.jsonl", encoding="utf-8") as fh:
                for line in fh:
                    data = json.loads(line)
                    data["doc_numbers"] = tuple(data.get("doc_numbers", ()))
                    passages.append(Passage(**data))
            lex_acc = bm25s.BM25.load(str(folder / "lexical_accented"))
            lex_fold = bm25s.BM25.load(str(folder / "lexical_folded"))
            df_data = json.loads((folder / "df.json").read_text(encoding="utf-8"))
            dense = faiss.read_index(str(folder / "dense.faiss"))
            configure_for_search(dense, config.faiss)  # efSearch / nprobe are not all stored
            understanding_file = folder / "understanding.json"
            understanding = (QueryUnderstanding.from_dict(json.loads(understanding_file.read_text(encoding="utf-8")))
                             if understanding_file.exists() else None)
            faiss.omp_set_num_threads(1)  # one query at a time: threads only add overhead here
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            raise IndexUnavailable(f"index in {folder} cannot be read ({type(exc).__name__}: {exc}); "
                                   "run `directive-bot index` to rebuild") from None
        if dense.ntotal != len(passages) or dense.d != manifest.get("dim"):
            raise IndexUnavailable(f"index in {folder} is inconsistent (vectors {dense.ntotal}, "
                                   f"passages {len(passages)}); run `directive-bot index`")
        try:
            embedder = Embedder.load(want, folder / "model")
        except EmbeddingError as exc:
            raise IndexUnavailable(str(exc)) from None
        if embedder.dim != dense.d:
            raise IndexUnavailable(f"embedding model gives dimension {embedder.dim}, the index has {dense.d}; "
                                   "run `directive-bot index` to rebuild")
        return cls(folder, manifest, documents, passages, lex_acc, lex_fold, df_data["df"],
                   dense, embedder, config, understanding)

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

    def _share(self, tokens: list[str], have: frozenset[str]) -> float:
        total = matched = 0.0
        for t in tokens:
            weight = self._idf(self._df.get(t, 0))
            total += weight
            if t in have:
                matched += weight
        return matched / total if total else 0.0

    def _passage_tokens(self, idx: int) -> frozenset[str]:
        cached = self._token_cache.get(idx)
        if cached is None:
            p = self.passages[idx]
            cached = frozenset(vietnamese.search_tokens(index_text(self.documents[p.doc_id], p), folded=True))
            if len(self._token_cache) > 50_000:
                self._token_cache.clear()
            self._token_cache[idx] = cached
        return cached

    def most_cited(self, n: int) -> list[str]:
        """Keys of the document numbers cited by the most documents (suggestions for users)."""
        if self._most_cited is None:
            counts = {k: len({self.passages[i].doc_id for i in v}) for k, v in self.mentions.items()}
            self._most_cited = sorted(counts, key=lambda k: (-counts[k], k))
        return self._most_cited[:n]

    # -------------------------------------------------------------- search

    def _boost(self, keys: list[str], value: float) -> np.ndarray | None:
        """Score added to passages of the documents named by number (x1.5) and to passages citing them."""
        boost = None
        for key in keys:
            own = [i for d in self.doc_keys.get(key, ()) for i in self.doc_passages.get(d, ())]
            cited = self.mentions.get(key, ())
            if not own and not cited:
                continue
            if boost is None:
                boost = np.zeros(self.size, dtype=np.float32)
            if cited:
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
            top = np.argpartition(-prior, k - 1)[:k] if k < n else np.arange(n)
            pools.append(top[prior[top] > 0])
        qvec = None
        if wd > 0:
            qvec = self.embedder.encode_queries([terms.normalized])
            if float(np.abs(qvec).sum()) > 0:
                _scores, ids = self._dense.search(qvec, k)
                pools.append(ids[0][ids[0] >= 0])
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
            dots = self._dense.reconstruct_batch(cand) @ qvec[0]
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
        per_doc: dict[str, int] = {}
        for s in ranked:
            doc_id = self.passages[s.idx].doc_id
            if per_doc.get(doc_id, 0) >= cap:
                continue
            per_doc[doc_id] = per_doc.get(doc_id, 0) + 1
            out.append(s)
            if len(out) >= limit:
                break
        return out
