"""The dense FAISS index of one version: which type to build for a corpus size, and its search settings.

Exact search (flat) scans every vector; above `faiss.flat_max` passages an approximate index (HNSW by
default, or IVF) answers in a fraction of the time. Every type keeps the vectors themselves, so
`reconstruct` works (fusion rescoring and incremental builds rely on it).
"""

from __future__ import annotations

import logging
import math
import os

import faiss
import numpy as np

from bot.config import FaissConfig

log = logging.getLogger(__name__)

# k-means needs a few dozen points per cluster; more than this many per cluster adds time, not quality
IVF_TRAIN_PER_LIST = 64
IVF_MIN_PASSAGES_PER_LIST = 39  # below that faiss warns and the clusters are noise


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
    """An inner-product index holding `vectors` (float32, unit rows), of the type chosen for their number."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    kind = index_type(n, cfg)
    # the serving side pins FAISS to one thread; building uses every core this process may run on
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(_cpus())
    try:
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = cfg.hnsw_ef_construction
        elif kind == "ivf":
            nlist = ivf_lists(n, cfg)
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.spherical = True  # centroids on the unit sphere, like the vectors
            sample = vectors
            if n > nlist * IVF_TRAIN_PER_LIST:
                rows = np.random.default_rng(0).choice(n, nlist * IVF_TRAIN_PER_LIST, replace=False)
                sample = vectors[np.sort(rows)]
            index.train(sample)
        else:
            raise ValueError(f"faiss.index must be auto, flat, hnsw or ivf, got {cfg.index!r}")
        index.add(vectors)
        if kind == "ivf":
            index.make_direct_map()  # reconstruct(i) by passage position
    finally:
        faiss.omp_set_num_threads(threads)
    configure_for_search(index, cfg)
    log.info("dense index: %s over %d vectors", kind, n)
    return index


def configure_for_search(index: faiss.Index, cfg: FaissConfig) -> None:
    """Apply the search-time settings (they are not all stored in the file) after `faiss.read_index`."""
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = cfg.hnsw_ef_search
    elif isinstance(index, faiss.IndexIVF):
        index.nprobe = min(cfg.ivf_nprobe, index.nlist)
        if index.direct_map.type == faiss.DirectMap.NoMap:
            index.make_direct_map()


def describe(index: faiss.Index) -> dict:
    """What the manifest records about the dense index."""
    if isinstance(index, faiss.IndexHNSW):
        return {"type": "hnsw", "m": int(index.hnsw.nb_neighbors(1)),
                "ef_construction": int(index.hnsw.efConstruction)}
    if isinstance(index, faiss.IndexIVF):
        return {"type": "ivf", "nlist": int(index.nlist)}
    return {"type": "flat"}


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
