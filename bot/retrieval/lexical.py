"""The lexical index: bm25s, built in bulk with NumPy from a stream of token chunks.

bm25s builds its score matrix document by document in Python (a Counter per document) from token
lists held for the whole corpus; at a million passages those lists alone need tens of GB. Here each
chunk of passages is turned into integer ids at once and reduced to (token, passage, term frequency)
triples; the score matrix (CSC, passages as rows, exactly bm25s's Lucene scores) is then filled
chunk by chunk. bm25s documents `build_index_from_ids` as the place to override; saving is bm25s's
own, and an index built here loads as a plain `bm25s.BM25`. Loaded for serving (`LexicalIndex.load`),
the postings stay on disk and a question's posting lists are read when it is asked.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import bm25s
import numpy as np

# bm25s sets its logger to DEBUG when imported: set once, here where it is imported, to warnings only
logging.getLogger("bm25s").setLevel(logging.WARNING)

if TYPE_CHECKING:
    import scipy.sparse

K1, B = 1.2, 0.75
_DOC_SHIFT = np.int64(1) << 32  # (passage, token) packed into one int64 for sorting


def bm25_idf(passages, df):
    """BM25's (Lucene's) inverse document frequency of a token found in `df` of `passages` passages:
    the one formula for the score matrix, for reading it back, and for relevance weights."""
    return np.log(1.0 + (passages - df + 0.5) / (df + 0.5))


class LexicalIndex(bm25s.BM25):
    """bm25s.BM25 (method "lucene") built in bulk; scoring is bm25s's own (np.add.at per posting list)."""

    def __init__(self, **params) -> None:
        params.setdefault("k1", K1)
        params.setdefault("b", B)
        params.setdefault("method", "lucene")
        super().__init__(**params)

    def build_index_from_tokens(self, corpus_tokens, show_progress=True, leave_progress=False):
        builder = LexicalBuilder()
        builder.add(corpus_tokens)
        scores = builder.scores(self.k1, self.b, self.dtype, self.int_dtype)
        self.nonoccurrence_array = None
        return scores, builder.vocab

    def build_index_from_ids(self, unique_token_ids, corpus_token_ids, show_progress=True,
                             leave_progress=False):
        builder = LexicalBuilder()
        builder.add_ids(corpus_token_ids)
        self.nonoccurrence_array = None
        return builder.scores(self.k1, self.b, self.dtype, self.int_dtype, vocabulary=len(unique_token_ids))

    @classmethod
    def from_builder(cls, builder: "LexicalBuilder") -> "LexicalIndex":
        index = cls()
        index.scores = builder.scores(index.k1, index.b, index.dtype, index.int_dtype)
        index.vocab_dict = builder.vocab
        index.unique_token_ids_set = None  # only bm25s.retrieve() on token ids needs it
        index.nonoccurrence_array = None
        return index

    @classmethod
    def load(cls, save_dir, *args, **kwargs) -> "LexicalIndex":
        """bm25s's loading; then the postings (scores and passage numbers) are read from their files
        with positional reads when a question needs them, instead of being loaded or memory-mapped.

        A memory-mapped file counts in the process's RSS for every page a question touched (and the
        kernel maps neighbours too): at a million passages, 1,000 questions left 3.8 GB of the 4.2 GB
        of postings mapped. Read with `os.preadv` into a per-thread buffer, the same pages stay in the
        kernel's page cache (shared by every process serving the version, dropped under memory
        pressure) and out of the process. The array of where each token's postings start is small and
        kept in memory.
        """
        kwargs["mmap"] = True  # bm25s checks the files; the mappings are dropped below
        index = super().load(save_dir, *args, **kwargs)
        index.scores["indptr"] = np.array(index.scores["indptr"])
        index._postings = {}
        for key in ("data", "indices"):
            mapped = index.scores.pop(key)
            fd = os.open(mapped.filename, os.O_RDONLY)
            index._postings[key] = (fd, int(mapped.offset), mapped.dtype)
            del mapped
        index._local = threading.local()
        return index

    def get_scores_from_ids(self, query_tokens_ids, weight_mask=None) -> np.ndarray:
        postings = getattr(self, "_postings", None)
        if postings is None:  # built in this process: bm25s's own scoring over arrays in memory
            return super().get_scores_from_ids(query_tokens_ids, weight_mask=weight_mask)
        indptr = self.scores["indptr"]
        scores = np.zeros(self.scores["num_docs"], dtype=self.dtype)
        for token in query_tokens_ids:
            if not 0 <= token < indptr.size - 1:
                continue
            start, end = int(indptr[token]), int(indptr[token + 1])
            if end > start:
                rows = self._read("indices", start, end)
                np.add.at(scores, rows, self._read("data", start, end))  # fastest scatter-add in NumPy 2
        if weight_mask is not None:
            scores *= weight_mask
        return scores

    def _read(self, key: str, start: int, end: int) -> np.ndarray:
        """Postings [start, end) of one file, into this thread's buffer for it (valid until the next read)."""
        fd, offset, dtype = self._postings[key]
        buf = getattr(self._local, key, None)
        if buf is None or buf.size < end - start:
            buf = np.empty(max(end - start, 1 << 16), dtype=dtype)
            setattr(self._local, key, buf)
        out = buf[:end - start]
        want = out.nbytes
        got = os.preadv(fd, [memoryview(out).cast("B")], offset + start * dtype.itemsize)
        if got != want:
            raise OSError(f"lexical index: short read ({got} of {want} bytes); the index file changed")
        return out

    def close(self) -> None:
        for fd, _offset, _dtype in getattr(self, "_postings", {}).values():
            os.close(fd)
        self._postings = {}

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def document_frequency(self, token: str) -> int:
        """Passages containing `token` (the length of its posting list); 0 when unknown."""
        i = self.vocab_dict.get(token)
        if i is None:
            return 0
        indptr = self.scores["indptr"]
        return int(indptr[i + 1] - indptr[i])


class LexicalBuilder:
    """Accumulates passages' tokens as compact (token id, term frequency) runs; then the score matrix.

    Memory: 6 bytes per distinct token of a passage, instead of a Python string pointer per token
    occurrence plus the lists holding them. Token ids follow the order tokens were first seen in
    (within a chunk, set order): ids differ between builds, scores do not.
    """

    def __init__(self, vocab: dict[str, int] | None = None) -> None:
        self.vocab: dict[str, int] = dict(vocab or {})  # an earlier index's, when its runs are reused
        self._tokens: list[np.ndarray] = []  # per chunk: distinct token ids, grouped by passage
        self._tf: list[np.ndarray] = []  # their term frequencies (uint16: a passage is a few hundred words)
        self._distinct: list[np.ndarray] = []  # per chunk: distinct tokens per passage
        self._lengths: list[np.ndarray] = []  # per chunk: tokens per passage
        self.passages = 0
        self.lengths: np.ndarray | None = None  # tokens per passage, once `scores` ran

    def add_runs(self, tokens: np.ndarray, tf: np.ndarray, distinct: np.ndarray, lengths: np.ndarray) -> None:
        """Add passages already reduced to runs (token ids of this builder's vocabulary, their term
        frequencies, the number of distinct tokens and of tokens per passage): an earlier index's."""
        self._tokens.append(np.asarray(tokens, dtype=np.int32))
        self._tf.append(np.asarray(tf, dtype=np.uint16))
        self._distinct.append(np.asarray(distinct, dtype=np.int32))
        self._lengths.append(np.asarray(lengths, dtype=np.int32))
        self.passages += len(distinct)

    def add(self, chunk: Sequence[Sequence[str]]) -> None:
        """Add passages given as token lists (one chunk: a few thousand passages at a time)."""
        vocab = self.vocab
        flat = list(itertools.chain.from_iterable(chunk))
        for token in set(flat).difference(vocab):  # new tokens get the next ids, in first-seen order
            vocab[token] = len(vocab)
        lengths = np.fromiter((len(tokens) for tokens in chunk), dtype=np.int64, count=len(chunk))
        self._add(np.fromiter(map(vocab.__getitem__, flat), dtype=np.int64, count=len(flat)), lengths)

    def add_ids(self, ids: Sequence[Sequence[int]]) -> None:
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        self._add(np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum())),
                  lengths)

    def _add(self, flat: np.ndarray, lengths: np.ndarray) -> None:
        n = lengths.size
        rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
        packed, tf = np.unique(rows * _DOC_SHIFT + flat, return_counts=True)  # by passage, then token
        self._tokens.append((packed & (_DOC_SHIFT - 1)).astype(np.int32))
        self._tf.append(np.minimum(tf, np.iinfo(np.uint16).max).astype(np.uint16))
        self._distinct.append(np.bincount((packed >> 32).astype(np.int64), minlength=n).astype(np.int32))
        self._lengths.append(lengths.astype(np.int32))
        self.passages += n

    def scores(self, k1: float, b: float, dtype="float32", int_dtype="int32",
               vocabulary: int | None = None) -> dict:
        """The CSC score matrix bm25s stores: per token, the passages containing it and their scores.

        Drops the accumulated chunks as it goes (call once).
        """
        n_docs = self.passages
        n_vocab = max(vocabulary or 0, len(self.vocab),
                      max((int(t.max()) + 1 for t in self._tokens if t.size), default=0))
        df = np.zeros(n_vocab, dtype=np.int64)
        for tokens in self._tokens:
            df += np.bincount(tokens, minlength=n_vocab)
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int32)
        avg = float(lengths.mean()) if n_docs else 1.0
        idf = bm25_idf(n_docs, df)
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        data = np.empty(int(indptr[-1]), dtype=dtype)
        indices = np.empty(int(indptr[-1]), dtype=int_dtype)
        fill = indptr[:-1].copy()  # next free slot of each token's posting list
        base = 0
        chunks = collections.deque(zip(self._tokens, self._tf, self._distinct))
        self._tokens, self._tf, self._distinct = [], [], []
        while chunks:
            tokens, tf, distinct = chunks.popleft()
            n = distinct.size
            docs = np.repeat(np.arange(base, base + n, dtype=np.int64), distinct)
            order = np.argsort(tokens, kind="stable")  # by token, passages still in order
            tokens, docs, tf = tokens[order], docs[order], tf[order].astype(np.float64)
            del order
            norm = k1 * ((1.0 - b) + b * lengths[docs] / avg)
            values = (idf[tokens] * tf / (norm + tf)).astype(dtype)
            first, counts = np.unique(tokens, return_index=True, return_counts=True)[1:]
            rank = np.arange(tokens.size, dtype=np.int64) - np.repeat(first, counts)
            slots = fill[tokens] + rank
            data[slots] = values
            indices[slots] = docs
            np.add.at(fill, tokens[first], counts)
            base += n
        self._lengths.clear()
        self.lengths = lengths
        return {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}


LENGTHS = "lengths.npy"  # tokens per passage, beside a saved index: lets the next build reuse its runs


def read_runs(folder: Path) -> tuple[dict[str, int], scipy.sparse.csr_matrix, np.ndarray]:
    """An index saved by this module, back as per-passage runs: (vocabulary, passages × tokens CSR
    matrix of term frequencies, tokens per passage), for a build that reuses unchanged passages.

    The term frequencies are recovered exactly from the stored scores: score = idf·tf / (tf + norm),
    so tf = score·norm / (idf − score), rounded (float32 scores leave an error far below 0.5).
    """
    import scipy.sparse as sp

    folder = Path(folder)
    params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
    vocab = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
    k1, b, n = float(params["k1"]), float(params["b"]), int(params["num_docs"])
    indptr = np.load(folder / "indptr.csc.index.npy")
    data = np.load(folder / "data.csc.index.npy", mmap_mode="r")
    indices = np.load(folder / "indices.csc.index.npy")
    lengths = np.load(folder / LENGTHS)
    if lengths.size != n or indices.size != data.size or int(indptr[-1]) != data.size:
        raise ValueError(f"{folder}: lexical index files do not match each other")
    df = np.diff(indptr)
    idf = bm25_idf(n, df)
    avg = float(lengths.mean()) if n else 1.0
    tf = np.empty(data.size, dtype=np.uint16)
    step = 1 << 24
    for start in range(0, data.size, step):
        end = min(data.size, start + step)
        token = np.searchsorted(indptr, np.arange(start, end), side="right") - 1
        docs = indices[start:end]
        score = np.asarray(data[start:end], dtype=np.float64)
        norm = k1 * ((1.0 - b) + b * lengths[docs] / avg)
        tf[start:end] = np.clip(np.rint(score * norm / (idf[token] - score)), 1, np.iinfo(np.uint16).max)
    matrix = sp.csc_matrix((tf, indices, indptr), shape=(n, indptr.size - 1)).tocsr()
    return vocab, matrix, lengths
