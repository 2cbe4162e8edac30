"""Memory, speed and recall of the dense index (bot.retrieval.dense.DenseIndex) at 100k and 1M passages.

    python bench/dense_scale.py prepare --size 1000000          # corpus + vectors + queries (cached in --workdir)
    python bench/dense_scale.py run --sizes 100000 1000000      # every index type, figures printed
    python bench/dense_scale.py run --sizes 100000 --kinds hnsw --hnsw-m 16 32 --json out.json

`prepare` writes a deterministic synthetic corpus (bench/corpus.py write_corpus), trains the builtin
embedding model (bot.retrieval.embedding.build_builtin_model, as the index build does) on the first
min(size, --train) passages, encodes the rest with the saved model (Embedder.encode_passages), and
encodes the queries: the mixed questions of bench/corpus.py (accented, unaccented, document numbers)
and sentences of knowledge/ (passage-like questions), --queries in all. Everything is cached in
--workdir (vectors.f32: the passage vectors, row-major float32), so `run` starts from them.

`run`, for each size (the first `size` vectors) and index type:
  - builds the index with DenseIndex.build in a child process (build seconds, peak RSS of the child);
  - loads it in a fresh child process with one FAISS thread, as the bot serves, and records VmRSS
    before and after DenseIndex.load and after the queries have been searched `--searches` times in
    all (RssAnon / RssFile split too), and ms per query (one at a time, k = --k);
  - recall@10 against exact search: brute force over the float vectors (numpy, in this process);
    "score recall" counts a result as right when its exact score reaches the 10th exact score (ties).
Speed and memory are printed, never asserted. Record `uptime` with the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MB = 1024 ** 2
DIM = 256


# ---------------------------------------------------------------- helpers

def proc_status() -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon, RssFile of this process in MB."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[key] = int(line.split()[1]) / 1024
    return out


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def vectors_of(work: Path, size: int) -> np.ndarray:
    all_vecs = np.memmap(work / "vectors.f32", dtype=np.float32, mode="r").reshape(-1, DIM)
    if all_vecs.shape[0] < size:
        raise SystemExit(f"{work} holds {all_vecs.shape[0]} vectors, fewer than {size}: run prepare --size {size}")
    return all_vecs[:size]


# ---------------------------------------------------------------- prepare

def prepare(work: Path, size: int, train: int, n_queries: int) -> None:
    import random

    from bench.corpus import queries, sentences
    from bot.config import EmbeddingConfig
    from bot.retrieval.embedding import Embedder

    work.mkdir(parents=True, exist_ok=True)
    meta_file = work / "prepared.json"
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    if meta.get("size", 0) >= size and meta.get("train") == train and meta.get("queries_asked") == n_queries:
        print(f"{work}: {meta['size']} vectors already prepared")
        return
    t0 = time.perf_counter()
    vec_file, model_dir = work / "vectors.f32", work / "model"
    have = vec_file.stat().st_size // (4 * DIM) if vec_file.exists() else 0
    if have < size or not (model_dir / "modules.json").is_file() or meta.get("train", train) != train:
        encode_corpus(work, size, train)
    else:
        print(f"{work}: {have} vectors already encoded; queries only")

    # queries: the distinct mixed questions of bench/corpus.py (about 130), then passage-like ones:
    # a window of 5-15 words of a sentence of knowledge/, a third of them without diacritics
    from bot.documents.vietnamese import fold

    embedder = Embedder.load(EmbeddingConfig(), model_dir)
    rng = random.Random(1)
    qs = list(dict.fromkeys(queries(3 * n_queries)))[: n_queries // 2]
    mixed = len(qs)
    pool = [s.split() for s in sentences()]
    seen = set(qs)
    while len(qs) < n_queries:
        words = rng.choice(pool)
        length = rng.randint(5, 15)
        start = rng.randint(0, max(0, len(words) - length))
        q = " ".join(words[start:start + length])
        if rng.random() < 1 / 3:
            q = fold(q)
        if q not in seen:
            seen.add(q)
            qs.append(q)
    qv = embedder.encode_queries(qs)
    keep = np.abs(qv).sum(axis=1) > 0
    np.save(work / "queries.npy", qv[keep])
    (work / "queries.json").write_text(json.dumps([q for q, k in zip(qs, keep) if k], ensure_ascii=False))
    meta = {"size": max(size, have), "train": train, "queries_asked": n_queries, "queries": int(keep.sum()),
            "mixed_questions": mixed, "seconds": round(time.perf_counter() - t0, 1)}
    meta_file.write_text(json.dumps(meta))
    print(f"prepared: {meta}")


def encode_corpus(work: Path, size: int, train: int) -> None:
    from bench.corpus import write_corpus
    from bot.config import EmbeddingConfig
    from bot.retrieval.embedding import Embedder, build_builtin_model

    t0 = time.perf_counter()
    corpus = work / "corpus.jsonl"
    write_corpus(corpus, size)
    print(f"corpus: {size} passages in {time.perf_counter() - t0:.0f} s", flush=True)

    def batches(step: int):
        """Texts of the corpus as the index sees them (title, then text), `step` at a time."""
        batch = []
        with open(corpus, encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                batch.append(rec["title"] + "\n" + rec["text"])  # as bot.retrieval.index.index_text (no section)
                if len(batch) == step:
                    yield batch
                    batch = []
        if batch:
            yield batch

    t1 = time.perf_counter()
    first = min(size, train)
    model_dir = work / "model"
    texts = batches(50_000)
    train_texts = []
    while len(train_texts) < first:
        train_texts += next(texts)
    rest = train_texts[first:]
    with open(work / "vectors.f32", "wb") as fh:
        fh.write(np.ascontiguousarray(build_builtin_model(train_texts[:first], model_dir, dim=DIM)).tobytes())
        print(f"builtin model trained on {first} passages in {time.perf_counter() - t1:.0f} s", flush=True)
        del train_texts
        t2 = time.perf_counter()
        embedder = Embedder.load(EmbeddingConfig(), model_dir)
        done = first
        for batch in ([rest] if rest else []) + list(texts):
            fh.write(np.ascontiguousarray(embedder.encode_passages(batch)).tobytes())
            done += len(batch)
            print(f"  encoded {done} passages ({time.perf_counter() - t2:.0f} s)", flush=True)
        if size > first:
            print(f"{size - first} more passages encoded in {time.perf_counter() - t2:.0f} s", flush=True)


# ---------------------------------------------------------------- children

def child_build(work: Path, size: int, folder: Path, faiss_cfg: dict) -> None:
    from bot.config import FaissConfig
    from bot.retrieval.dense import DenseIndex

    vecs = np.array(vectors_of(work, size))
    before = proc_status()
    t0 = time.perf_counter()
    desc = DenseIndex.build(vecs, FaissConfig(**faiss_cfg), folder)
    out = {"build_s": time.perf_counter() - t0, "describe": desc, "rss_before_mb": before["VmRSS"],
           "hwm_mb": proc_status()["VmHWM"],
           "files_mb": {p.name: p.stat().st_size / MB for p in sorted(folder.iterdir())}}
    print("RESULT " + json.dumps(out))


def child_serve(work: Path, folder: Path, faiss_cfg: dict, searches: int, k: int) -> None:
    import faiss

    from bot.config import FaissConfig
    from bot.retrieval.dense import DenseIndex

    faiss.omp_set_num_threads(1)
    qv = np.load(work / "queries.npy")
    before = proc_status()
    t0 = time.perf_counter()
    index = DenseIndex.load(folder, FaissConfig(**faiss_cfg))
    load_s = time.perf_counter() - t0
    loaded = proc_status()
    ids = [index.search(qv[i:i + 1], 10) for i in range(len(qv))]  # the answers, for recall
    times = []
    done = len(qv)
    while done < searches:
        for i in range(len(qv)):
            t = time.perf_counter()
            index.search(qv[i:i + 1], k)
            times.append(time.perf_counter() - t)
        done += len(qv)
    t_first = []
    for i in range(len(qv)):  # ms per query for k=10 too
        t = time.perf_counter()
        index.search(qv[i:i + 1], 10)
        t_first.append(time.perf_counter() - t)
    after = proc_status()
    # the alternative: the same candidate rows read through np.memmap instead of positional reads.
    # Mapped file pages count in RSS (RssFile), and the kernel maps up to 16 neighbouring cached
    # pages per fault ("fault-around"), so RSS grows well beyond the rows read
    mm = np.memmap(folder / "vectors.f32", dtype=np.float32, mode="r").reshape(-1, index.d)
    from bot.retrieval.dense import REFINE_FACTOR, REFINE_MIN

    want = max(REFINE_FACTOR * k, k + REFINE_MIN)
    for i in range(len(qv)):
        _s, cand = index.index.search(qv[i:i + 1], want)
        cand = np.sort(cand[0][cand[0] >= 0])
        np.asarray(mm[cand]) @ qv[i]
    mapped = proc_status()
    del mm
    out = {"load_s": load_s, "rss_memmap": mapped, "rss_before": before, "rss_loaded": loaded, "rss_after": after,
           "searches": done + len(qv), "ms_k": 1000 * float(np.mean(times)) if times else None,
           "ms_k_p95": 1000 * float(np.percentile(times, 95)) if times else None,
           "ms_10": 1000 * float(np.mean(t_first)), "ms_10_p95": 1000 * float(np.percentile(t_first, 95)),
           "ids": [x.tolist() for x in ids]}
    print("RESULT " + json.dumps(out))


def run_child(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, "child", *args], capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"child {args[:2]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


# ---------------------------------------------------------------- run

def exact_top(vecs: np.ndarray, qv: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k ids and scores by brute force over the float vectors (chunks of 100k rows)."""
    best_s = np.full((len(qv), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(qv), k), dtype=np.int64)
    for start in range(0, vecs.shape[0], 100_000):
        block = np.asarray(vecs[start:start + 100_000])
        s = qv @ block.T
        idx = np.argpartition(-s, k - 1, axis=1)[:, :k]
        cs = np.concatenate([best_s, np.take_along_axis(s, idx, axis=1)], axis=1)
        ci = np.concatenate([best_i, idx + start], axis=1)
        order = np.argsort(-cs, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(cs, order, axis=1), np.take_along_axis(ci, order, axis=1)
    return best_i, best_s


def run(args) -> None:
    work = Path(args.workdir)
    qv = np.load(work / "queries.npy")
    results = []
    for size in args.sizes:
        vecs = vectors_of(work, size)
        t0 = time.perf_counter()
        ex_i, ex_s = exact_top(vecs, qv)
        print(f"\n== {size:,} vectors x {DIM}: raw float32 {size * DIM * 4 / MB:.0f} MB; exact top 10 of "
              f"{len(qv)} queries in {time.perf_counter() - t0:.1f} s; load average {load_avg()}", flush=True)
        variants = []
        for kind in args.kinds:
            base = {"index": kind, "flat_max": args.flat_max}
            if kind == "hnsw":
                variants += [{**base, "hnsw_m": m, "hnsw_ef_construction": args.ef_construction,
                              "hnsw_ef_search": ef} for m in args.hnsw_m for ef in args.ef_search]
            elif kind == "ivf":
                variants += [{**base, "ivf_nprobe": p} for p in args.nprobe]
            else:
                variants.append(base)
        built: dict[str, dict] = {}
        for fc in variants:
            build_key = json.dumps({k: v for k, v in fc.items() if k not in ("hnsw_ef_search", "ivf_nprobe")},
                                   sort_keys=True)
            folder = work / f"idx-{size}-{abs(hash(build_key)) % 10**8}"
            if build_key not in built:
                print(f"building {fc['index']} {build_key} ... (load average {load_avg()})", flush=True)
                folder.mkdir(parents=True, exist_ok=True)
                for p in folder.iterdir():
                    p.unlink()
                built[build_key] = run_child(["build", str(work), str(size), str(folder), json.dumps(fc)])
            b = built[build_key]
            s = run_child(["serve", str(work), str(folder), json.dumps(fc), str(args.searches), str(args.k)])
            got = s.pop("ids")
            hits = sum(len(set(g) & set(e)) for g, e in zip(got, ex_i.tolist()))
            recall = hits / (10 * len(qv))
            # score recall: results whose exact score reaches the exact 10th score (ties count as right)
            score_hits = 0
            for qi, g in enumerate(got):
                g = np.asarray(g, dtype=np.int64)
                if g.size:
                    sc = np.asarray(vecs[np.sort(g)]) @ qv[qi]
                    score_hits += int((sc >= ex_s[qi, -1] - 1e-6).sum())
            row = {"size": size, "config": fc, "build": b, "serve": s, "recall@10": recall,
                   "score_recall@10": score_hits / (10 * len(qv)), "load_average": load_avg()}
            results.append(row)
            rl, ra = s["rss_loaded"], s["rss_after"]
            desc = b["describe"]
            files = " + ".join(f"{n} {mb:.0f}" for n, mb in b["files_mb"].items())
            setting = (f"M={fc['hnsw_m']} efC={fc['hnsw_ef_construction']} efS={fc['hnsw_ef_search']}"
                       if fc["index"] == "hnsw" else f"nlist={desc.get('nlist')} nprobe={fc['ivf_nprobe']}"
                       if fc["index"] == "ivf" else "exact")
            print(f"{desc['type']:>5} {desc.get('codes', '-'):>5} {setting:<28} build {b['build_s']:6.1f} s "
                  f"(peak {b['hwm_mb']:.0f} MB) | files MB {files} | load {s['load_s']:.2f} s, "
                  f"RSS +{rl['VmRSS'] - s['rss_before']['VmRSS']:.0f} MB loaded, "
                  f"+{ra['VmRSS'] - s['rss_before']['VmRSS']:.0f} MB after {s['searches']} searches "
                  f"(anon +{ra['RssAnon'] - s['rss_before']['RssAnon']:.0f}, "
                  f"file +{ra['RssFile'] - s['rss_before']['RssFile']:.0f}) | recall@10 {recall:.3f} "
                  f"(score {row['score_recall@10']:.3f}) | ms/query k=10 {s['ms_10']:.3f} "
                  f"(p95 {s['ms_10_p95']:.3f}), k={args.k} {s['ms_k'] or float('nan'):.3f} "
                  f"(p95 {s['ms_k_p95'] or float('nan'):.3f}) | load average {row['load_average']}", flush=True)
            print(f"      (np.memmap instead of preadv: RssFile +{s['rss_memmap']['RssFile'] - ra['RssFile']:.0f} MB "
                  f"more after {len(qv)} searches of k={args.k})", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        kind, *rest = sys.argv[2:]
        if kind == "build":
            child_build(Path(rest[0]), int(rest[1]), Path(rest[2]), json.loads(rest[3]))
        else:
            child_serve(Path(rest[0]), Path(rest[1]), json.loads(rest[2]), int(rest[3]), int(rest[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/dense_scale")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--size", type=int, default=1_000_000)
    p.add_argument("--train", type=int, default=100_000, help="passages the builtin model is trained on")
    p.add_argument("--queries", type=int, default=1000)
    r = sub.add_parser("run")
    r.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    r.add_argument("--kinds", nargs="+", default=["hnsw", "ivf"], choices=["flat", "hnsw", "ivf"])
    r.add_argument("--flat-max", type=int, default=50_000)
    r.add_argument("--hnsw-m", type=int, nargs="+", default=[32])
    r.add_argument("--ef-construction", type=int, default=80)
    r.add_argument("--ef-search", type=int, nargs="+", default=[64])
    r.add_argument("--nprobe", type=int, nargs="+", default=[16])
    r.add_argument("--searches", type=int, default=1000, help="searches in the serving child, at least")
    r.add_argument("--k", type=int, default=100, help="k of the timed searches (the bot asks for 100)")
    r.add_argument("--json")
    args = ap.parse_args()
    if args.cmd == "prepare":
        prepare(Path(args.workdir), args.size, args.train, args.queries)
    else:
        run(args)


if __name__ == "__main__":
    main()
