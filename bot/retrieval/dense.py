"""The dense index of one version: which type to build for a corpus size, its search settings, and
`DenseIndex`, which keeps serving memory small at a million passages.

Exact search (flat) scans every vector; above `faiss.flat_max` passages an approximate index (HNSW by
default, or IVF) answers in a fraction of the time.

`DenseIndex` (dense.faiss + vectors.f32) holds the approximate index with compressed codes in memory
(8-bit scalar quantization: a quarter of the float vectors) and keeps the exact float32 vectors in a
plain file beside it. A search asks the approximate index for a few times more candidates than wanted
and re-ranks them exactly with their float vectors, read from the file row by row (`os.preadv`: only
the rows asked for are read, and they come from the page cache without being mapped into the process,
so they never count in its RSS). `vectors(ids)` gives the exact vectors (fusion rescoring, reuse in
incremental builds). Measurements: bench/dense_scale.py, docs/benchmarks.md.

`make_index` builds the index a DenseIndex holds.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import faiss
import numpy as np

from bot.config import FaissConfig

log = logging.getLogger(__name__)

# k-means needs a few dozen points per cluster; more than this many per cluster adds time, not quality
IVF_TRAIN_PER_LIST = 64
IVF_MIN_PASSAGES_PER_LIST = 39  # below that faiss warns and the clusters are noise

DENSE_FILE = "dense.faiss"
VECTORS_FILE = "vectors.f32"
# a search re-ranks REFINE_FACTOR * k candidates of the approximate index exactly (at least k + REFINE_MIN);
# more do not help HNSW (the misses are not reached by the graph walk at all: raise efSearch)
REFINE_FACTOR = 2
REFINE_MIN = 10
SQ_TRAIN_ROWS = 100_000  # the 8-bit quantizer learns each dimension's range from this many vectors


def index_type(passages: int, cfg: FaissConfig) -> str:
    """"flat", "hnsw" or "ivf" for a corpus of `passages` vectors."""
    if cfg.index != "auto":
        return cfg.index
    return "flat" if passages <= cfg.flat_max else "hnsw"


def ivf_lists(passages: int, cfg: FaissConfig) -> int:
    """Number of IVF clusters: configured (at most one per vector), or about 4·sqrt(n) with enough
    vectors per cluster to train it."""
    if cfg.ivf_nlist:
        return max(1, min(cfg.ivf_nlist, passages))
    return max(1, min(round(4 * math.sqrt(passages)), passages // IVF_MIN_PASSAGES_PER_LIST))


def make_index(vectors: np.ndarray, cfg: FaissConfig) -> faiss.Index:
    """An inner-product index over `vectors` (float32, unit rows), of the type chosen for their number:
    IndexFlatIP (exact), or IndexHNSWSQ / IndexIVFScalarQuantizer with 8-bit codes (a quarter of the
    float vectors; `reconstruct` is then approximate, so DenseIndex re-ranks with the float vectors)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    kind = index_type(n, cfg)
    # FAISS's thread count is a process-wide setting made once at start-up (bot/runtime.py)
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.train(_sample(vectors, SQ_TRAIN_ROWS))
        index.hnsw.efConstruction = cfg.hnsw_ef_construction
    elif kind == "ivf":
        nlist = ivf_lists(n, cfg)
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
        index.cp.spherical = True  # centroids on the unit sphere, like the vectors
        index.train(_sample(vectors, nlist * IVF_TRAIN_PER_LIST))
    else:
        raise ValueError(f"faiss.index must be auto, flat, hnsw or ivf, got {cfg.index!r}")
    index.add(vectors)
    configure_for_search(index, cfg)
    log.info("dense index: %s%s over %d vectors", kind, " (8-bit codes)" if kind != "flat" else "", n)
    return index


def configure_for_search(index: faiss.Index, cfg: FaissConfig) -> None:
    """Apply the search-time settings (they are not all stored in the file) after `faiss.read_index`."""
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = cfg.hnsw_ef_search
    elif isinstance(index, faiss.IndexIVF):
        index.nprobe = min(cfg.ivf_nprobe, index.nlist)


def describe(index: faiss.Index) -> dict:
    """What the manifest records about the dense index ("codes": "sq8" for the compressed types)."""
    if isinstance(index, faiss.IndexHNSW):
        out = {"type": "hnsw", "m": int(index.hnsw.nb_neighbors(1)),
               "ef_construction": int(index.hnsw.efConstruction)}
        if isinstance(index, faiss.IndexHNSWSQ):
            out["codes"] = "sq8"
        return out
    if isinstance(index, faiss.IndexIVF):
        out = {"type": "ivf", "nlist": int(index.nlist)}
        if isinstance(index, faiss.IndexIVFScalarQuantizer):
            out["codes"] = "sq8"
        return out
    return {"type": "flat"}


class DenseIndex:
    """An approximate index with compressed codes (dense.faiss, in memory) plus the exact float32
    vectors (vectors.f32, read row by row on demand); searches re-rank candidates exactly.

    Safe to share between threads (faiss searches are, and rows are read with positional reads).
    """

    def __init__(self, index: faiss.Index, vectors_path: Path, fd: int) -> None:
        self._index = index
        self._path = vectors_path
        self._fd = fd
        self._exact = isinstance(index, faiss.IndexFlat)  # a flat index needs no re-ranking
        self._row_bytes = index.d * 4

    # ---------------------------------------------------------- writing

    @staticmethod
    def build(vectors: np.ndarray, cfg: FaissConfig, folder: Path) -> dict:
        """Write folder/dense.faiss and folder/vectors.f32 for `vectors` ((n, d) float32, unit rows);
        returns what the manifest records: type, its settings, "n" and "d"."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] == 0:
            raise ValueError(f"dense index: need an (n, d) array of at least one vector, got shape {vectors.shape}")
        folder = Path(folder)
        with open(folder / VECTORS_FILE, "wb") as fh:
            fh.write(memoryview(vectors).cast("B"))
            fh.flush()
        index = make_index(vectors, cfg)
        faiss.write_index(index, str(folder / DENSE_FILE))
        return {**describe(index), "n": int(vectors.shape[0]), "d": int(vectors.shape[1])}

    # ---------------------------------------------------------- reading

    @classmethod
    def load(cls, folder: Path, cfg: FaissConfig) -> DenseIndex:
        """Open the index in `folder` with the search settings of `cfg`. A missing file raises OSError,
        an unreadable dense.faiss RuntimeError, a vectors.f32 of the wrong size ValueError."""
        folder = Path(folder)
        faiss_path, vectors_path = folder / DENSE_FILE, folder / VECTORS_FILE
        if not faiss_path.is_file():
            raise FileNotFoundError(f"{faiss_path}: no such file")
        index = faiss.read_index(str(faiss_path))
        configure_for_search(index, cfg)
        fd = os.open(vectors_path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            want = index.ntotal * index.d * 4
            if size != want:
                raise ValueError(f"{vectors_path}: {size} bytes, expected {want} "
                                 f"({index.ntotal} vectors of dimension {index.d}); truncated or not this index's")
        except BaseException:
            os.close(fd)
            raise
        try:  # rows are read at random: no read-ahead
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        except (AttributeError, OSError):
            pass
        return cls(index, vectors_path, fd)

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    @property
    def d(self) -> int:
        return int(self._index.d)

    @property
    def index(self) -> faiss.Index:
        """The approximate (or flat) faiss index itself."""
        return self._index

    def describe(self) -> dict:
        return {**describe(self._index), "n": self.ntotal, "d": self.d}

    def search(self, qvec: np.ndarray, k: int) -> np.ndarray:
        """Ids (int64) of the `k` vectors with the highest inner product with `qvec` ((1, d) or (d,)),
        best first; fewer when the index has fewer. Candidates from the approximate index are re-ranked
        with the exact vectors; ties go to the lower id."""
        q = np.ascontiguousarray(np.asarray(qvec, dtype=np.float32).reshape(1, -1))
        if q.shape[1] != self.d:
            raise ValueError(f"query has dimension {q.shape[1]}, the index {self.d}")
        k = min(int(k), self.ntotal)
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        if self._exact:
            scores, ids = self._index.search(q, k)
            keep = ids[0] >= 0
            ids, scores = ids[0][keep], scores[0][keep]
            return ids[np.lexsort((ids, -scores))]
        want = min(self.ntotal, max(REFINE_FACTOR * k, k + REFINE_MIN))
        _scores, ids = self._index.search(q, want)
        cand = ids[0][ids[0] >= 0]
        if cand.size == 0:
            return cand.astype(np.int64)
        exact = self.vectors(cand) @ q[0]
        order = np.lexsort((cand, -exact))[:k]
        return cand[order].astype(np.int64)

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The exact float32 vectors of `ids` (any order, repeats allowed), shape (len(ids), d)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= self.ntotal):
            raise IndexError(f"vector ids must be in [0, {self.ntotal}), got {int(ids.min())}..{int(ids.max())}")
        if self._exact:  # a flat index holds the float vectors in memory already
            return self._index.reconstruct_batch(ids) if ids.size else np.empty((0, self.d), dtype=np.float32)
        out = np.empty((ids.size, self.d), dtype=np.float32)
        if ids.size == 0:
            return out
        buf = memoryview(out.reshape(-1).view(np.uint8))
        rb = self._row_bytes
        for j, i in enumerate(ids.tolist()):
            # a short read means the file shrank after load: never return garbage
            if os.preadv(self._fd, [buf[j * rb:(j + 1) * rb]], i * rb) != rb:
                raise OSError(f"{self._path}: short read at vector {i}")
        return out

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self) -> DenseIndex:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _sample(vectors: np.ndarray, rows: int) -> np.ndarray:
    """At most `rows` of `vectors`, a fixed random choice in their order (training samples)."""
    n = vectors.shape[0]
    if n <= rows:
        return vectors
    return vectors[np.sort(np.random.default_rng(0).choice(n, rows, replace=False))]
