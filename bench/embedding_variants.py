"""Measures recipes for the builtin embedding model on UIT-ViQuAD 1.0 and prints a table.

Dense-only MRR@10 and Recall@1/5/10 per recipe (exact inner product, FAISS IndexFlatIP, normalised vectors),
and MRR@10 of a simple fusion 0.7·minmax(BM25) + 0.3·cosine to show whether the dense part adds signal.
The benchmark is read from ../shared/bench beside the repository (research-only licence: never copy it here).

    python bench/embedding_variants.py            # the variant table
    python bench/embedding_variants.py --speed    # also build+encode throughput on 10,000 passages
    python bench/embedding_variants.py --pretrained models/vi-static [--pack ../shared/train]
        # the pretrained model alone and joined with the corpus-built one, on UIT-ViQuAD and on the
        # training pack's held-out dev.jsonl (news titles -> leads, and questions -> answers)
    python bench/embedding_variants.py --adapt [--adapt-pairs 20000 --adapt-epochs 3] [--pretrained DIR]
        # the corpus-built model before and after index-time adaptation (embedding.adapt), same collections
    python bench/embedding_variants.py --adapt --dim 512 --saturation 2
        # the same with 512 dimensions and BM25-saturated passage counts (embedding.passage_saturation)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import bm25s
import faiss
import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import randomized_svd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.config import EmbeddingConfig  # noqa: E402
from bot.retrieval.embedding import (  # noqa: E402
    Embedder,
    build_builtin_model,
    silent_tokens,
    token_counts,
    train_tokenizer,
    word_vectors,
)

SHARED = next((p / "shared" for p in REPO.parents if (p / "shared" / "bench").is_dir()), REPO.parent / "shared")
DEFAULT_BENCH = SHARED / "bench" / "uit_viquad1"
DEFAULT_PACK = SHARED / "train"
DIM = 256
LEXICAL_WEIGHT = 0.7
SATURATION = 0.0  # embedding.passage_saturation of the builtin models in the --pretrained / --adapt tables


@dataclass
class Bench:
    ids: list[str]
    texts: list[str]  # "title\ntext" (a heading line first, as the project's index texts)
    queries: list[str]
    relevant: list[set[int]]  # per query, positions in ids


def load_bench(folder: Path) -> Bench:
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").open(encoding="utf-8")]
    queries = [json.loads(line) for line in (folder / "queries.jsonl").open(encoding="utf-8")]
    position = {doc["id"]: i for i, doc in enumerate(corpus)}
    qrels: dict[str, set[int]] = {}
    for line in (folder / "qrels.tsv").open(encoding="utf-8"):
        query_id, corpus_id = line.rstrip("\n").split("\t")
        qrels.setdefault(query_id, set()).add(position[corpus_id])
    kept = [q for q in queries if q["id"] in qrels]
    return Bench(
        ids=[doc["id"] for doc in corpus],
        texts=[f"{doc['title']}\n{doc['text']}" for doc in corpus],
        queries=[q["text"] for q in kept],
        relevant=[qrels[q["id"]] for q in kept],
    )


def strip_diacritics(text: str) -> str:
    """What a user typing without a Vietnamese keyboard sends: "Chỉ thị Đảng" -> "Chi thi Dang"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")


# --- measuring ---------------------------------------------------------------------------------------


def ranks(scores: np.ndarray, relevant: list[set[int]]) -> np.ndarray:
    """0-based rank of the first relevant passage per query (a large number when not in the top 10)."""
    top = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    out = np.full(len(relevant), 10**6)
    for q, rel in enumerate(relevant):
        hits = [r for r, doc in enumerate(top[q]) if doc in rel]
        if hits:
            out[q] = hits[0]
    return out


def reciprocal_ranks(rank: np.ndarray) -> np.ndarray:
    return np.where(rank < 10, 1.0 / (rank + 1), 0.0)


def gain_interval(better: np.ndarray, base: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of the MRR@10 gain over the same queries (is the difference more than noise?)."""
    diff = reciprocal_ranks(better) - reciprocal_ranks(base)
    samples = np.random.default_rng(seed).integers(0, len(diff), (2000, len(diff)))
    means = diff[samples].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def metrics(rank: np.ndarray) -> dict[str, float]:
    return {
        "MRR@10": float(np.mean(reciprocal_ranks(rank))),
        "R@1": float(np.mean(rank < 1)),
        "R@5": float(np.mean(rank < 5)),
        "R@10": float(np.mean(rank < 10)),
    }


def bm25_scores(bench: Bench, queries: list[str]) -> np.ndarray:
    """Plain BM25 as in shared/bench/README.md: bm25s, Lucene, k1=1.5 b=0.75, lowercased whitespace tokens."""
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    retriever.index([text.lower().split() for text in bench.texts], show_progress=False)
    rows = []
    for query in queries:
        tokens = [t for t in query.lower().split() if t in retriever.vocab_dict]
        rows.append(retriever.get_scores(tokens) if tokens else np.zeros(len(bench.texts)))
    return np.vstack(rows).astype(np.float32)


def minmax(scores: np.ndarray) -> np.ndarray:
    low, high = scores.min(axis=1, keepdims=True), scores.max(axis=1, keepdims=True)
    return (scores - low) / np.maximum(high - low, 1e-9)


def cosine_scores(passages: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Exact inner product over every passage through FAISS, back in passage order."""
    index = faiss.IndexFlatIP(passages.shape[1])
    index.add(np.ascontiguousarray(passages, dtype=np.float32))
    scores, found = index.search(np.ascontiguousarray(queries, dtype=np.float32), passages.shape[0])
    out = np.zeros_like(scores)
    np.put_along_axis(out, found, scores, axis=1)
    return out


def encode_static(tokenizer, weights: np.ndarray, texts: list[str]) -> np.ndarray:
    """Encode through a real StaticEmbedding model, as the builtin model does."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    model = SentenceTransformer(
        modules=[StaticEmbedding(tokenizer, embedding_weights=weights.astype(np.float32))], device="cpu"
    )
    return model.encode(texts, batch_size=1024, normalize_embeddings=True, show_progress_bar=False)


# --- the recipes tried -------------------------------------------------------------------------------


def _idf(counts: sp.csr_matrix, silent: np.ndarray) -> np.ndarray:
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((counts.shape[0] + 1) / (df + 1)) + 1
    idf[silent | (df == 0)] = 0
    return idf


def _row_normalised(matrix):
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return sp.diags(1 / np.maximum(norms, 1e-12)) @ matrix


def lsa_tfidf(counts, silent, dim, seed, *, power, drop_first, idf_scale=True):
    """Classic LSA: sublinear tf·idf rows of unit length, truncated SVD, token = (idf·) v·Σ^power."""
    idf = _idf(counts, silent)
    tfidf = counts.astype(np.float64)
    tfidf.data = 1 + np.log(tfidf.data)
    tfidf = _row_normalised(tfidf @ sp.diags(idf)).tocsr()
    _, singular, vt = randomized_svd(tfidf, dim, n_iter=4, random_state=seed)
    vectors = vt.T * singular**power
    if drop_first:
        vectors[:, 0] = 0
    return vectors * (idf[:, None] if idf_scale else (idf > 0)[:, None])


def _cooccurrence(tokenizer, texts, silent, window):
    vocabulary = tokenizer.get_vocab_size()
    rows, cols, vals = [], [], []
    for encoding in tokenizer.encode_batch(texts, add_special_tokens=False):
        ids = np.asarray(encoding.ids)
        ids = ids[~silent[ids]]
        for offset in range(1, min(window, len(ids) - 1) + 1):
            rows.append(ids[:-offset])
            cols.append(ids[offset:])
            vals.append(np.full(len(ids) - offset, 1.0 / offset))
    matrix = sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(vocabulary, vocabulary)
    ).tocsr()
    return (matrix + matrix.T).tocsr()


def _ppmi(matrix, alpha=0.75):
    word = np.asarray(matrix.sum(axis=1)).ravel()
    context = np.asarray(matrix.sum(axis=0)).ravel() ** alpha
    coo = matrix.tocoo()
    pmi = np.log(coo.data) + np.log(context.sum()) - np.log(word[coo.row]) - np.log(context[coo.col])
    keep = pmi > 0
    return sp.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=matrix.shape)


def ppmi_svd(tokenizer, texts, counts, silent, dim, seed, *, window=5):
    """Word–word PPMI within a window (harmonic weights, context smoothing 0.75), SVD, unit rows × idf."""
    u, singular, _ = randomized_svd(
        _ppmi(_cooccurrence(tokenizer, texts, silent, window)), dim, n_iter=4, random_state=seed
    )
    vectors = u * singular**0.5
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors * _idf(counts, silent)[:, None]


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


# --- the run -----------------------------------------------------------------------------------------


def variant_table(bench: Bench, seed: int) -> None:
    import sentence_transformers  # noqa: F401  (imported once per process; not part of a build)

    tokenizer = train_tokenizer(bench.texts)
    counts = token_counts(tokenizer, bench.texts)
    silent = silent_tokens(tokenizer)
    half = DIM // 2

    def lsa_bm25(**kwargs):
        return word_vectors(counts, DIM, seed, ignored=silent, **kwargs)[0]

    recipes = {
        "lsa-bm25 idf·v·Σ^¼ drop-1st (chosen)": None,  # through build_builtin_model + Embedder
        "lsa-bm25 idf·v": lambda: lsa_bm25(singular_power=0, drop_first=False),
        "lsa-bm25 idf·v·Σ^½ drop-1st": lambda: lsa_bm25(singular_power=0.5, drop_first=True),
        "lsa-bm25 idf·v·Σ^½": lambda: lsa_bm25(singular_power=0.5, drop_first=False),
        "lsa-tfidf v·Σ (classic, no idf)": lambda: lsa_tfidf(counts, silent, DIM, seed, power=1, drop_first=False,
                                                            idf_scale=False),
        "lsa-tfidf idf·v": lambda: lsa_tfidf(counts, silent, DIM, seed, power=0, drop_first=False),
        "lsa-tfidf idf·v·Σ^½ drop-1st": lambda: lsa_tfidf(counts, silent, DIM, seed, power=0.5, drop_first=True),
        "ppmi-svd w5 unit·idf": lambda: ppmi_svd(tokenizer, bench.texts, counts, silent, DIM, seed),
        "ppmi-svd w2 unit·idf": lambda: ppmi_svd(tokenizer, bench.texts, counts, silent, DIM, seed, window=2),
        "concat lsa-bm25 128 + ppmi 128": lambda: np.hstack(
            [
                np.sqrt(0.7) * unit_rows(word_vectors(counts, half, seed, ignored=silent)[0]),
                np.sqrt(0.3) * unit_rows(ppmi_svd(tokenizer, bench.texts, counts, silent, half, seed)),
            ]
        )
        * _idf(counts, silent)[:, None],
    }

    plain_bm25 = bm25_scores(bench, bench.queries)
    bare_queries = [strip_diacritics(q) for q in bench.queries]
    bare_bm25 = bm25_scores(bench, bare_queries)
    base_ranks = ranks(plain_bm25, bench.relevant)
    base = metrics(base_ranks)
    bare_base = metrics(ranks(bare_bm25, bench.relevant))

    header = (f"{'recipe':40s} {'MRR@10':>7s} {'R@1':>6s} {'R@5':>6s} {'R@10':>6s} {'fusion':>7s}"
              f" {'gain 95% CI':>15s} {'bare q':>7s} {'fus bare':>8s}")
    print(f"UIT-ViQuAD 1.0: {len(bench.texts)} passages, {len(bench.queries)} queries, dim {DIM}, "
          f"vocabulary {tokenizer.get_vocab_size()} syllables")
    print("dense = the recipe alone; fusion = MRR@10 of 0.7·minmax(BM25) + 0.3·cosine;")
    print("gain 95% CI = bootstrap interval of fusion − BM25; bare q / fus bare = dense and fusion MRR@10")
    print("with the queries typed without diacritics (BM25 alone then: see its bare q)")
    print(header)
    print("-" * len(header))
    print(f"{'BM25 (bm25s, lowercased whitespace)':40s} {base['MRR@10']:7.4f} {base['R@1']:6.3f} {base['R@5']:6.3f}"
          f" {base['R@10']:6.3f} {'':>7s} {'':>15s} {bare_base['MRR@10']:7.4f}")
    for name, recipe in recipes.items():
        if recipe is None:
            with tempfile.TemporaryDirectory() as tmp:
                build_builtin_model(bench.texts, Path(tmp) / "builtin", dim=DIM, seed=seed)
                embedder = Embedder.load(EmbeddingConfig(model="builtin", dim=DIM), Path(tmp) / "builtin")
                passages = embedder.encode_passages(bench.texts)
                queries = embedder.encode_queries(bench.queries)
                bare = embedder.encode_queries(bare_queries)
        else:
            weights = recipe()
            passages = encode_static(tokenizer, weights, bench.texts)
            queries = encode_static(tokenizer, weights, bench.queries)
            bare = encode_static(tokenizer, weights, bare_queries)
        cosine = cosine_scores(passages, queries)
        bare_cosine = cosine_scores(passages, bare)
        dense = metrics(ranks(cosine, bench.relevant))
        fused_ranks = ranks(LEXICAL_WEIGHT * minmax(plain_bm25) + (1 - LEXICAL_WEIGHT) * cosine, bench.relevant)
        fused = metrics(fused_ranks)
        low, high = gain_interval(fused_ranks, base_ranks)
        bare_dense = metrics(ranks(bare_cosine, bench.relevant))
        bare_fused = metrics(
            ranks(LEXICAL_WEIGHT * minmax(bare_bm25) + (1 - LEXICAL_WEIGHT) * bare_cosine, bench.relevant)
        )
        print(f"{name:40s} {dense['MRR@10']:7.4f} {dense['R@1']:6.3f} {dense['R@5']:6.3f} {dense['R@10']:6.3f}"
              f" {fused['MRR@10']:7.4f} {f'[{low:+.3f},{high:+.3f}]':>15s}"
              f" {bare_dense['MRR@10']:7.4f} {bare_fused['MRR@10']:8.4f}",
              flush=True)


def speed(bench: Bench, passages: int, seed: int) -> None:
    """Build + encode throughput on `passages` synthetic passages: 150-word windows of the benchmark text."""
    words = " ".join(bench.texts).split()
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(words) - 150, passages)
    texts = [" ".join(words[s : s + 150]) for s in starts]
    import sentence_transformers  # noqa: F401  (imported once per process; not part of a build)

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        build_builtin_model(texts, Path(tmp) / "builtin", dim=DIM, seed=seed)
        t1 = time.perf_counter()
        embedder = Embedder.load(EmbeddingConfig(), Path(tmp) / "builtin")
        vectors = embedder.encode_passages(texts)
        t2 = time.perf_counter()
    print(f"\nspeed: {passages} passages of 150 words, dim {vectors.shape[1]}: build {t1 - t0:.2f} s, "
          f"load+encode {t2 - t1:.2f} s, total {t2 - t0:.2f} s = {passages / (t2 - t0):.0f} passages/s")


def dev_benches(pack: Path) -> dict[str, Bench]:
    """The pack's held-out dev.jsonl as two collections: news title -> lead, and question -> passage."""
    rows = [json.loads(line) for line in (pack / "dev.jsonl").open(encoding="utf-8")]
    news = {"vietnews-title-abstract", "baomoi-title-body"}
    out = {}
    for name, keep in (("dev news", lambda r: r["source"] in news), ("dev QA", lambda r: r["source"] not in news)):
        chosen = [r for r in rows if keep(r)]
        passages = list(dict.fromkeys(r["positive"] for r in chosen))
        where = {text: i for i, text in enumerate(passages)}
        out[name] = Bench(ids=[str(i) for i in range(len(passages))], texts=passages,
                          queries=[r["query"] for r in chosen], relevant=[{where[r["positive"]]} for r in chosen])
    return out


def pretrained_table(benches: dict[str, Bench], pretrained: Path, shares: list[float], seed: int) -> None:
    """Dense alone and fused with BM25: the corpus-built model, the pretrained one, and both joined."""
    print(f"pretrained model {pretrained}; dense MRR@10 / R@10 alone, fusion = 0.7·minmax(BM25) + 0.3·cosine")
    header = f"{'collection':12s} {'model':28s} {'MRR@10':>7s} {'R@10':>6s} {'fusion':>7s} {'bare q':>7s}"
    print(header)
    print("-" * len(header))
    for label, bench in benches.items():
        plain = bm25_scores(bench, bench.queries)
        base = metrics(ranks(plain, bench.relevant))
        print(f"{label:12s} {'BM25 alone':28s} {base['MRR@10']:7.4f} {base['R@10']:6.3f}")
        bare_queries = [strip_diacritics(q) for q in bench.queries]
        with tempfile.TemporaryDirectory() as tmp:
            models = {"builtin (corpus LSA)": (None, 0.0), "pretrained alone": (pretrained, None)}
            models |= {f"builtin + pretrained {s:g}": (pretrained, s) for s in shares}
            for name, (source, share) in models.items():
                folder = Path(tmp) / name.replace(" ", "_")
                if share is None:
                    embedder = Embedder.load(EmbeddingConfig(model=str(source)), folder)
                else:
                    build_builtin_model(bench.texts, folder, dim=DIM, seed=seed, pretrained=source,
                                        pretrained_share=share, saturation=SATURATION)
                    embedder = Embedder.load(EmbeddingConfig(model="builtin", dim=DIM,
                                                             passage_saturation=SATURATION), folder)
                passages = embedder.encode_passages(bench.texts)
                cosine = cosine_scores(passages, embedder.encode_queries(bench.queries))
                dense = metrics(ranks(cosine, bench.relevant))
                fused = metrics(ranks(LEXICAL_WEIGHT * minmax(plain) + (1 - LEXICAL_WEIGHT) * cosine, bench.relevant))
                bare = metrics(ranks(cosine_scores(passages, embedder.encode_queries(bare_queries)), bench.relevant))
                print(f"{label:12s} {name:28s} {dense['MRR@10']:7.4f} {dense['R@10']:6.3f} {fused['MRR@10']:7.4f}"
                      f" {bare['MRR@10']:7.4f}", flush=True)


def adapt_table(benches: dict[str, Bench], settings, pretrained: Path | None, seed: int) -> None:
    """Dense alone and fused with BM25: the corpus-built model before and after adaptation to the collection
    (bot/retrieval/adapt.py), and with --pretrained both joined with the pretrained model."""
    print(f"adaptation {settings}; dense MRR@10 / R@10 alone, fusion = 0.7·minmax(BM25) + 0.3·cosine")
    header = f"{'collection':12s} {'model':28s} {'MRR@10':>7s} {'R@10':>6s} {'fusion':>7s} {'build s':>7s}"
    print(header)
    print("-" * len(header))
    for label, bench in benches.items():
        plain = bm25_scores(bench, bench.queries)
        models = {"builtin (corpus LSA)": (None, None), "builtin adapted": (None, settings)}
        if pretrained:
            models["builtin adapted + pretrained"] = (pretrained, settings)
        with tempfile.TemporaryDirectory() as tmp:
            for name, (source, adapt) in models.items():
                folder = Path(tmp) / name.replace(" ", "_")
                t0 = time.perf_counter()
                build_builtin_model(bench.texts, folder, dim=DIM, seed=seed, pretrained=source, adapt=adapt,
                                    saturation=SATURATION)
                seconds = time.perf_counter() - t0
                embedder = Embedder.load(EmbeddingConfig(model="builtin", dim=DIM, passage_saturation=SATURATION),
                                         folder)
                cosine = cosine_scores(embedder.encode_passages(bench.texts), embedder.encode_queries(bench.queries))
                dense = metrics(ranks(cosine, bench.relevant))
                fused = metrics(ranks(LEXICAL_WEIGHT * minmax(plain) + (1 - LEXICAL_WEIGHT) * cosine, bench.relevant))
                print(f"{label:12s} {name:28s} {dense['MRR@10']:7.4f} {dense['R@10']:6.3f} {fused['MRR@10']:7.4f}"
                      f" {seconds:7.1f}", flush=True)


def main() -> None:
    global DIM, SATURATION
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="folder of the UIT-ViQuAD benchmark")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed", action="store_true", help="also time build+encode on synthetic passages")
    parser.add_argument("--passages", type=int, default=10_000, help="passages for --speed")
    parser.add_argument("--pretrained", type=Path, help="a static model folder to compare and join (no table)")
    parser.add_argument("--shares", type=float, nargs="*", default=[0.3, 0.5, 0.7],
                        help="pretrained shares to try with --pretrained")
    parser.add_argument("--pack", type=Path, default=DEFAULT_PACK, help="training pack folder (its dev.jsonl)")
    parser.add_argument("--adapt", action="store_true", help="compare the builtin model before/after adaptation")
    parser.add_argument("--adapt-pairs", type=int, default=20_000)
    parser.add_argument("--adapt-epochs", type=int, default=3)
    parser.add_argument("--adapt-lr", type=float, default=0.05, help="relative to the token vectors' RMS")
    parser.add_argument("--adapt-batch", type=int, default=512)
    parser.add_argument("--dim", type=int, default=DIM, help="builtin model dimension (--pretrained, --adapt)")
    parser.add_argument("--saturation", type=float, default=0.0,
                        help="embedding.passage_saturation k1 of the builtin models (--pretrained, --adapt)")
    args = parser.parse_args()
    DIM, SATURATION = args.dim, args.saturation
    bench = load_bench(args.bench)
    if args.adapt:
        from bot.retrieval.adapt import AdaptSettings

        benches = {"UIT-ViQuAD": bench} | (dev_benches(args.pack) if (args.pack / "dev.jsonl").is_file() else {})
        settings = AdaptSettings(pairs=args.adapt_pairs, epochs=args.adapt_epochs, lr=args.adapt_lr,
                                 batch=args.adapt_batch, seed=args.seed)
        adapt_table(benches, settings, args.pretrained, args.seed)
        return
    if args.pretrained:
        benches = {"UIT-ViQuAD": bench}
        if (args.pack / "dev.jsonl").is_file():
            benches |= dev_benches(args.pack)
        pretrained_table(benches, args.pretrained, args.shares, args.seed)
        return
    variant_table(bench, args.seed)
    if args.speed:
        speed(bench, args.passages, args.seed)


if __name__ == "__main__":
    main()
