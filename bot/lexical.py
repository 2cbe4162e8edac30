"""The lexical index: bm25s, with its index construction done in bulk with NumPy.

bm25s builds its score matrix document by document in Python (a Counter per document); for the
Lucene variant used here the same matrix comes out of a few array operations. bm25s documents
`build_index_from_ids` as the place to override; everything else (saving, loading, scoring) is
bm25s's own, and an index built here loads as a plain `bm25s.BM25`.
"""

from __future__ import annotations

import itertools

import bm25s
import numpy as np

K1, B = 1.2, 0.75


class LexicalIndex(bm25s.BM25):
    """bm25s.BM25 (method "lucene") whose index is built in bulk."""

    def __init__(self) -> None:
        super().__init__(k1=K1, b=B, method="lucene")

    def build_index_from_tokens(self, corpus_tokens, show_progress=True, leave_progress=False):
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in tokens] for tokens in corpus_tokens]
        return self.build_index_from_ids(range(len(vocab)), ids), vocab

    def build_index_from_ids(self, unique_token_ids, corpus_token_ids, show_progress=True,
                             leave_progress=False):
        n_docs, n_vocab = len(corpus_token_ids), len(unique_token_ids)
        lengths = np.fromiter((len(ids) for ids in corpus_token_ids), dtype=np.int64, count=n_docs)
        tokens = np.fromiter(itertools.chain.from_iterable(corpus_token_ids), dtype=np.int64,
                             count=int(lengths.sum()))
        docs = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        # one entry per (token, document) with its term frequency, sorted by token then document:
        # exactly the order of a CSC matrix with documents as rows
        pairs, tf = np.unique(tokens * n_docs + docs, return_counts=True)
        token, doc = pairs // n_docs, pairs % n_docs
        df = np.bincount(token, minlength=n_vocab)
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
        avg = float(lengths.mean()) if n_docs else 1.0
        norm = self.k1 * ((1.0 - self.b) + self.b * lengths[doc] / avg)
        data = (idf[token] * tf / (norm + tf)).astype(self.dtype)
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        self.nonoccurrence_array = None
        return {"data": data, "indices": doc.astype(self.int_dtype), "indptr": indptr, "num_docs": n_docs}
