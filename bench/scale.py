"""Retrieval at scale, 1k to 1M passages, side by side with the plain alternatives (issue 7).

    python bench/scale.py                          # 1k, 10k, 100k, 1M passages; 1,000 queries
    python bench/scale.py --quick                  # 1k and 10k: under 5 minutes
    python bench/scale.py --sizes 10000 --adapt    # with embedding.adapt (index-time adaptation)
    python bench/scale.py --sizes 100000 --faiss-index ivf --json out.json --plot docs/latency_vs_size.png
    python bench/scale.py --plot-only a.json b.json --plot docs/latency_vs_size.png

For each size a deterministic corpus (bench/corpus.py) is indexed with the project's pipeline
(`build_index`, builtin model) in a child process, whose stages, time and peak memory are recorded
(and which is stopped beyond --build-timeout / --build-max-gb). Then:
  - serving memory: a second child loads the index as the bot does and answers the queries; its peak
    RSS (VmHWM) is what one bot process needs;
  - latency, in this process, over the same mixed queries (accented, unaccented, document numbers):
    the project's full answer (AnswerService.answer) and its retrieval alone (Retriever.search, top 10),
    against (a) plain bm25s (get_scores + argpartition) over lower-cased whitespace tokens of the same
    passage texts and (b) the
    naive dense pipeline: the same model's vectors in a faiss IndexFlatIP, top 10;
  - recall@10 of the served dense index against exact search (b) and, for the hybrid top 10, the
    overlap between the served index and an exact one swapped in; a sweep of efSearch / nprobe.
Library import time is excluded everywhere. One FAISS thread when serving, as bot/runtime.py sets it.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GB = 1024 ** 3
QUICK_SIZES = [1000, 10000]
FULL_SIZES = [1000, 10000, 100000, 1000000]
TARGETS = "p95 <= 30 ms at 10k, <= 100 ms at 1M; recall@10 >= 0.95 vs exact; serving RSS <= 2 GB at 1M"


# ---------------------------------------------------------------- small helpers

def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))] if s else float("nan")


def proc_status(pid: int | str = "self") -> dict[str, float]:
    """VmRSS, VmHWM (peak RSS) and RSS by kind (RssAnon: the process's own memory; RssFile: pages of
    memory-mapped files, which the kernel may drop and re-read; RssShmem) in MB, from /proc."""
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:", "RssShmem:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return out


ADAPT_ENV = "SCALE_BENCH_ADAPT"  # set by --adapt, read by the child processes


def bench_config(work: Path, faiss_index: str):
    from bot.config import load_config

    cfg = load_config(REPO / "config.yaml")
    cfg.knowledge.dir, cfg.index.dir = work / "knowledge", work / "index"
    cfg.querylog.path = work / "querylog.sqlite"
    cfg.faiss.index = faiss_index
    cfg.knowledge.max_file_mb = 1e6  # one .jsonl file holds the whole synthetic corpus
    if os.environ.get(ADAPT_ENV):  # --adapt: the builtin model adapted to the corpus at index time
        cfg.embedding.adapt = True
    return cfg


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def human(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else (
        f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n))


def emit(record: dict) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


# ---------------------------------------------------------------- child processes

def child_build(work: Path, faiss_index: str) -> None:
    """Build the index; one JSON line per pipeline stage (time, RSS), then the totals."""
    import faiss  # noqa: F401  imported before the clock starts
    import sentence_transformers  # noqa: F401

    from bot.retrieval.build import build_index

    cfg = bench_config(work, faiss_index)
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        emit({"stage": msg, "t": round(time.perf_counter() - t0, 2), "rss_mb": round(proc_status()["VmRSS"])})

    report = build_index(cfg, progress=say)
    emit({"done": True, "seconds": time.perf_counter() - t0, "passages": report.passages,
          "hwm_mb": proc_status()["VmHWM"]})


def child_serve(work: Path, faiss_index: str, n_queries: int) -> None:
    """Load the index as the bot does and answer the queries: the memory one bot process needs."""
    import resource

    import faiss  # noqa: F401
    import sentence_transformers  # noqa: F401

    from bench.corpus import queries
    from bot.service.answering import AnswerService

    cfg = bench_config(work, faiss_index)
    baseline = proc_status()["VmRSS"]
    t0 = time.perf_counter()
    service = AnswerService(cfg, build_if_missing=False)
    load = time.perf_counter() - t0
    loaded = proc_status()["VmRSS"]
    for q in queries(n_queries):
        service.answer(q)
    end = proc_status()
    emit({"load_s": load, "libs_mb": baseline, "loaded_mb": loaded, "hwm_mb": end["VmHWM"],
          "rss_mb": end["VmRSS"], "anon_mb": end.get("RssAnon"), "file_mb": end.get("RssFile"),
          "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def run_child(args: list[str], timeout: float, max_gb: float, label: str) -> tuple[list[dict], dict]:
    """Run `python bench/scale.py --child ...`, watching its RSS; returns its JSON lines and a summary.

    The child is stopped (its process id only) beyond `timeout` seconds or `max_gb` of RSS, so that a
    corpus too big for this machine is reported instead of taking the machine down.
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env=os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                                              "TOKENIZERS_PARALLELISM": "true"})
    lines: list[dict] = []
    err: list[str] = []

    def read_out() -> None:
        for line in proc.stdout:
            if line.startswith("{"):
                lines.append(json.loads(line))
                if "stage" in lines[-1]:
                    print(f"    [{label} {lines[-1]['t']:>7.1f} s, {lines[-1]['rss_mb']:>6} MB] "
                          f"{lines[-1]['stage']}", flush=True)

    def read_err() -> None:
        err.extend(proc.stderr.readlines())

    readers = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
    for t in readers:
        t.start()
    started, peak, stopped = time.monotonic(), 0.0, ""
    while proc.poll() is None:
        peak = max(peak, proc_status(proc.pid).get("VmRSS", 0.0))
        elapsed = time.monotonic() - started
        if elapsed > timeout or peak > max_gb * 1024:
            stopped = (f"stopped after {elapsed:.0f} s at {peak / 1024:.1f} GB RSS "
                       f"(limits {timeout:.0f} s, {max_gb:.0f} GB)")
            proc.kill()
            break
        time.sleep(0.25)
    proc.wait()
    for t in readers:
        t.join(timeout=5)
    summary = {"returncode": proc.returncode, "stopped": stopped, "seconds": time.monotonic() - started,
               "polled_peak_mb": peak}
    if proc.returncode != 0 and not stopped:
        summary["error"] = (err[-1].strip() if err else f"exit code {proc.returncode}")
    return lines, summary


# ---------------------------------------------------------------- in-process measurements

def time_each(fn, items) -> list[float]:
    out = []
    for x in items:
        t = time.perf_counter()
        fn(x)
        out.append((time.perf_counter() - t) * 1000)
    return out


def lat(values: list[float]) -> dict:
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "p99": percentile(values, 99),
            "mean": sum(values) / len(values)}


def measure_serving(work: Path, faiss_index: str, qs: list[str], sweep: bool) -> dict:
    """Latency of the project and of the two baselines on the same passages and queries; recall@10."""
    import numpy as np

    from bot.retrieval.search import Retriever
    from bot.retrieval.version import index_text
    from bot.service.answering import AnswerService

    cfg = bench_config(work, faiss_index)
    service = AnswerService(cfg, build_if_missing=False)
    r = service.retriever
    n = r.size
    out: dict = {"faiss_index": r.index_version.manifest.faiss_index or {"type": "flat"}}
    for q in qs[:20]:
        service.answer(q)
    out["answer"] = lat(time_each(service.answer, qs))
    out["search"] = lat(time_each(lambda q: r.search(q, limit=10), qs))

    # (a) plain bm25s: lower-cased whitespace tokens of the very texts the project indexes. The index
    # is built with bot.retrieval.lexical's bulk builder (the same BM25 scores as bm25s.index, tested; bm25s's
    # own build needs tens of GB of Python token lists at 1M); scoring is bm25s's get_scores.
    from bot.retrieval.lexical import LexicalBuilder, LexicalIndex

    t = time.perf_counter()
    builder, chunk = LexicalBuilder(), []
    for p in r.passages():
        chunk.append(index_text(r.document(p.doc_id), p).lower().split())
        if len(chunk) == 4096:
            builder.add(chunk)
            chunk = []
    if chunk:
        builder.add(chunk)
    plain = LexicalIndex.from_builder(builder)
    vocab = plain.vocab_dict
    del builder, chunk
    out["plain_bm25_build_s"] = time.perf_counter() - t

    def plain_search(q: str):
        tokens = [w for w in q.lower().split() if w in vocab]
        if not tokens:
            return None
        scores = plain.get_scores(tokens)
        top = np.argpartition(-scores, min(10, n - 1))[:10]
        return top[np.argsort(-scores[top])]

    for q in qs[:20]:
        plain_search(q)
    out["plain_bm25"] = lat(time_each(plain_search, qs))

    # (b) naive dense: the same model's vectors (read back from the index: identical to encoding the
    # texts again with it) in an exact IndexFlatIP; also the exact reference for recall
    exact = ExactDense(r.parts.dense.vectors(np.arange(n)))
    embedder = r.parts.embedder

    def naive_search(q: str):
        return exact.index.search(embedder.encode_queries([q]), 10)

    for q in qs[:20]:
        naive_search(q)
    out["naive_dense"] = lat(time_each(naive_search, qs))

    # recall@10 of the served dense index against exact search (questions with a non-zero vector)
    qv = embedder.encode_queries(qs)
    qv = qv[np.abs(qv).sum(axis=1) > 0]
    _, truth = exact.index.search(qv, 10)

    def dense_recall(dense) -> tuple[float, float]:
        """Recall@10 of a DenseIndex (the served one: approximate candidates re-ranked exactly)."""
        t0 = time.perf_counter()
        got = [dense.search(q[None, :], 10) for q in qv]
        ms = (time.perf_counter() - t0) * 1000 / len(qv)
        hits = sum(len(set(a.tolist()) & set(b[b >= 0].tolist())) for a, b in zip(got, truth))
        return hits / max(1, int((truth >= 0).sum())), ms

    served = r.parts.dense
    exact_ranked = None

    def with_dense(dense) -> Retriever:
        """The served version's retriever with another dense index in its place."""
        return Retriever(dataclasses.replace(r.parts, dense=dense), cfg.retrieval, r.index_version)

    def hybrid_with(dense) -> tuple[float, dict | None]:
        """Top-10 overlap of the hybrid ranking with `dense` vs with exact search, and its latency."""
        nonlocal exact_ranked
        other = with_dense(dense)
        ranked = [[m.passage.passage_id for m in other.search(q, limit=10)] for q in qs]
        if exact_ranked is None:
            exact_ranked = [[m.passage.passage_id for m in with_dense(exact).search(q, limit=10)] for q in qs]
        times = lat(time_each(lambda q: other.search(q, limit=10), qs)) if dense is not served else None
        same = sum(len(set(a) & set(b)) for a, b in zip(ranked, exact_ranked))
        return same / max(1, sum(len(b) for b in exact_ranked)), times

    out["dense_recall@10"], out["dense_search_ms"] = dense_recall(served)
    out["hybrid_top10_overlap"], _ = hybrid_with(served)
    if sweep:
        # both approximate types over the same vectors, built as the index build does (bot.retrieval.dense)
        from bot.retrieval.dense import DenseIndex

        out["sweep"] = []
        for kind in ("hnsw", "ivf"):
            if served.describe()["type"] == kind:
                dense, built = served, None
            else:
                folder = Path(tempfile.mkdtemp(prefix=f"dense-{kind}-", dir=work))
                t0 = time.perf_counter()
                DenseIndex.build(exact.vectors_all, dataclasses.replace(cfg.faiss, index=kind), folder)
                built = time.perf_counter() - t0
                dense = DenseIndex.load(folder, cfg.faiss)
            knob, values = (("efSearch", [32, 64, 128, 256, 512]) if kind == "hnsw" else ("nprobe", [16, 64, 256]))
            raw = dense.index
            keep = raw.hnsw.efSearch if kind == "hnsw" else raw.nprobe
            for v in values:
                if kind == "hnsw":
                    raw.hnsw.efSearch = v
                else:
                    raw.nprobe = min(v, raw.nlist)
                rec, ms = dense_recall(dense)
                out["sweep"].append({"index": kind, "knob": knob, "value": v, "recall@10": rec, "ms": ms,
                                     "default": v == keep})
            if kind == "hnsw":
                raw.hnsw.efSearch = keep
            else:
                raw.nprobe = keep
            overlap, times = hybrid_with(dense)
            out.setdefault("alternatives", []).append(
                {"index": kind, "build_s": built, "hybrid_top10_overlap": overlap,
                 "search": times or out["search"]})
            if dense is not served:
                dense.close()
                shutil.rmtree(folder, ignore_errors=True)
        rec, ms = dense_recall(exact)
        out["sweep"].append({"index": "flat", "knob": "exact", "value": 0, "recall@10": rec, "ms": ms,
                             "default": served.describe()["type"] == "flat"})
        out.setdefault("alternatives", []).append(
            {"index": "flat", "build_s": None, "hybrid_top10_overlap": 1.0,
             "search": hybrid_with(exact)[1] if served.describe()["type"] != "flat" else out["search"]})
    return out


class ExactDense:
    """Exact search over float vectors in memory, with DenseIndex's interface (the reference)."""

    def __init__(self, vectors):
        import faiss

        self.vectors_all = vectors
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)
        self.ntotal, self.d = vectors.shape

    def search(self, qvec, k: int):
        _, ids = self.index.search(qvec.reshape(1, -1), k)
        return ids[0][ids[0] >= 0]

    def vectors(self, ids):
        return self.vectors_all[ids]

    def describe(self) -> dict:
        return {"type": "flat"}


# ---------------------------------------------------------------- one size

def run_size(size: int, args, qs: list[str], root: Path) -> dict:
    work = root / f"scale-{size}-{args.faiss_index}"
    saved = work / "build.json"
    if args.reuse and saved.exists():  # an index kept by an earlier run with --workdir
        res = json.loads(saved.read_text(encoding="utf-8"))
        print(f"  {human(size)}: reusing the index built {res.get('built_on', '?')} in {work}", flush=True)
    else:
        res = build_size(size, args, work)
        if "build_failed" in res:
            return res
        saved.write_text(json.dumps(res | {"built_on": dt.date.today().isoformat()}), encoding="utf-8")
    lines, summary = run_child(["serve", str(work), args.faiss_index, str(len(qs))], args.build_timeout,
                               args.build_max_gb, f"serve {human(size)}")
    served = next((x for x in lines if "hwm_mb" in x), None)
    if served is None:
        res["serve_failed"] = summary.get("stopped") or summary.get("error", "failed")
        print(f"  {human(size)}: serving child failed: {res['serve_failed']}", flush=True)
    else:
        res["serve"] = served
    print(f"  {human(size)}: latency in-process", flush=True)
    try:
        res.update(measure_serving(work, args.faiss_index, qs, sweep=size >= args.sweep_from))
    except Exception as exc:  # a long run keeps the other sizes' figures
        res["serve_failed"] = f"{type(exc).__name__}: {exc}"
        print(f"  {human(size)}: in-process measurement failed: {res['serve_failed']}", flush=True)
    return res


def build_size(size: int, args, work: Path) -> dict:
    from bench.corpus import write_corpus

    (work / "knowledge").mkdir(parents=True, exist_ok=True)
    shutil.rmtree(work / "index", ignore_errors=True)  # a fresh build, not an incremental one
    res: dict = {"size": size}
    t = time.perf_counter()
    write_corpus(work / "knowledge" / "synthetic.jsonl", size)
    res["corpus_s"] = time.perf_counter() - t
    print(f"  {human(size)}: corpus written in {res['corpus_s']:.0f} s; building", flush=True)
    lines, summary = run_child(["build", str(work), args.faiss_index], args.build_timeout, args.build_max_gb,
                               f"build {human(size)}")
    res["build_stages"] = [x for x in lines if "stage" in x]
    done = next((x for x in lines if x.get("done")), None)
    if done is None:
        res["build_failed"] = summary.get("stopped") or summary.get("error", "failed")
        res["build_peak_mb"] = summary["polled_peak_mb"]
        print(f"  {human(size)}: build did not finish: {res['build_failed']}", flush=True)
        return res
    res.update(passages=done["passages"], build_s=done["seconds"], build_peak_mb=done["hwm_mb"])
    from bot.retrieval.versions import current_dir

    res["disk_mb"] = folder_bytes(current_dir(work / "index")) / 1e6
    print(f"  {human(size)}: built {done['passages']} passages in {done['seconds']:.1f} s; serving child",
          flush=True)
    return res


# ---------------------------------------------------------------- report

def print_report(results: list[dict], n_queries: int) -> None:
    def f(x, fmt=".1f"):
        return "-" if x is None else format(x, fmt)

    print(f"\nBuild (builtin model, {os.cpu_count()} cores)")
    print(f"{'size':>6} {'passages':>9} {'build s':>8} {'pass/s':>7} {'peak GB':>8} {'disk MB':>8}  note")
    for r in results:
        ps = r.get("passages")
        print(f"{human(r['size']):>6} {f(ps, 'd'):>9} {f(r.get('build_s')):>8} "
              f"{f(ps / r['build_s'] if ps else None, '.0f'):>7} {f(r.get('build_peak_mb', 0) / 1024, '.2f'):>8} "
              f"{f(r.get('disk_mb')):>8}  {r.get('build_failed', '')}")
    print(f"\nServing: one process, {n_queries} mixed queries (ms; MB: peak RSS, and at the end its anonymous "
          "part and its part in mapped files)")
    print(f"{'size':>6} {'index':>5} {'load s':>6} {'RSS':>6} {'anon':>6} {'file':>6} {'answer p50':>10} {'p95':>6} "
          f"{'p99':>6} {'search p50':>10} {'p95':>6} {'p99':>6} {'recall@10':>9} {'hyb top10':>9}")
    for r in results:
        if "answer" not in r:
            print(f"{human(r['size']):>6}  not measured: {r.get('build_failed') or r.get('serve_failed')}")
            continue
        s = r.get("serve", {})
        a, se = r["answer"], r["search"]
        print(f"{human(r['size']):>6} {r['faiss_index']['type']:>5} {f(s.get('load_s')):>6} "
              f"{f(s.get('hwm_mb'), '.0f'):>6} {f(s.get('anon_mb'), '.0f'):>6} {f(s.get('file_mb'), '.0f'):>6} "
              f"{a['p50']:>10.1f} {a['p95']:>6.1f} {a['p99']:>6.1f} "
              f"{se['p50']:>10.1f} {se['p95']:>6.1f} {se['p99']:>6.1f} {r['dense_recall@10']:>9.3f} "
              f"{r['hybrid_top10_overlap']:>9.3f}")
    print("\nSide by side (ms; ratio = project / baseline, >1 means the project is slower)")
    print(f"{'size':>6} {'project search p50/p95':>22} {'plain bm25 p50/p95':>19} {'ratio p50/p95':>14} "
          f"{'naive dense p50/p95':>20} {'ratio p50/p95':>14}")
    for r in results:
        if "answer" not in r:
            continue
        se, pb, nd = r["search"], r["plain_bm25"], r["naive_dense"]
        print(f"{human(r['size']):>6} {se['p50']:>10.2f} / {se['p95']:>8.2f} {pb['p50']:>8.2f} / {pb['p95']:>8.2f} "
              f"{se['p50'] / pb['p50']:>6.1f} / {se['p95'] / pb['p95']:>5.1f} {nd['p50']:>9.2f} / {nd['p95']:>8.2f} "
              f"{se['p50'] / nd['p50']:>6.1f} / {se['p95'] / nd['p95']:>5.1f}")
    for r in (r for r in results if r.get("sweep")):
        print(f"\nDense index types at {human(r['size'])} (same vectors): recall@10 vs exact, ms per query, 1 thread")
        for x in r["sweep"]:
            label = "flat (exact)" if x["knob"] == "exact" else f"{x['index']} {x['knob']} {x['value']}"
            print(f"  {label:>18}: recall@10 {x['recall@10']:.3f}  {x['ms']:7.3f} ms{'  (configured)' if x['default'] else ''}")
        print("  hybrid retrieval (top 10) with each type: p50 / p95 ms, top-10 overlap with exact")
        for a in r.get("alternatives", []):
            built = f", built in {a['build_s']:.1f} s" if a.get("build_s") else ""
            print(f"  {a['index']:>18}: {a['search']['p50']:6.1f} / {a['search']['p95']:6.1f}  overlap "
                  f"{a['hybrid_top10_overlap']:.3f}{built}")
    print(f"\ntargets: {TARGETS}")


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted((r for r in results if "search" in r), key=lambda r: r["size"])
    sizes = [r["passages"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    series = [("answer", "directive-bot: full answer", "C0", "-"),
              ("search", "directive-bot: hybrid retrieval", "C0", "--"),
              ("plain_bm25", "plain bm25s, whitespace tokens", "C1", "-"),
              ("naive_dense", "naive: same model + IndexFlatIP", "C2", "-")]
    for key, label, color, style in series:
        ax.plot(sizes, [r[key]["p95"] for r in rows], style, color=color, marker="o", label=f"{label} (p95)")
        ax.plot(sizes, [r[key]["p50"] for r in rows], style, color=color, marker=".", alpha=0.35, linewidth=1)
    ax.axhline(100, color="grey", linewidth=0.8, linestyle=":")
    ax.axhline(30, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passages in the index")
    ax.set_ylabel("query latency, ms (p95 bold, p50 faint)")
    ax.set_title(f"Query latency vs corpus size ({os.cpu_count()} cores, 1 FAISS thread)")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    print(f"plot: {path}")


# ---------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} (under 5 minutes)")
    ap.add_argument("--sizes", type=int, nargs="+", help=f"default {FULL_SIZES}")
    ap.add_argument("--queries", type=int, default=1000, help="mixed queries per size (default 1000)")
    ap.add_argument("--faiss-index", default="auto", choices=["auto", "flat", "hnsw", "ivf"])
    ap.add_argument("--sweep-from", type=int, default=100_000, help="efSearch/nprobe sweep from this size")
    ap.add_argument("--build-timeout", type=float, default=3600, help="seconds per child process")
    ap.add_argument("--build-max-gb", type=float, default=20, help="RSS at which a child is stopped")
    ap.add_argument("--workdir", type=Path, help="keep corpora and indexes here (default: a temporary folder)")
    ap.add_argument("--reuse", action="store_true", help="with --workdir: serve indexes an earlier run built there")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--plot", type=Path, help="write a PNG of latency against size here")
    ap.add_argument("--plot-only", type=Path, nargs="+", metavar="JSON", help="plot saved results and stop")
    ap.add_argument("--adapt", action="store_true", help="embedding.adapt: adapt the builtin model at index time")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.sizes and min(args.sizes) < 10:
        ap.error("--sizes: each size must be at least 10 passages")
    if args.queries < 1:
        ap.error("--queries must be at least 1")

    from bot import runtime

    if args.adapt:
        os.environ[ADAPT_ENV] = "1"
    # as the bot's entry point does: a build process uses every CPU, a serving one FAISS on one thread
    runtime.configure(building=bool(args.child) and args.child[0] == "build")
    if args.child:
        kind, work, faiss_index, *rest = args.child
        if kind == "build":
            child_build(Path(work), faiss_index)
        else:
            child_serve(Path(work), faiss_index, int(rest[0]))
        return 0
    if args.plot_only:
        results = [r for p in args.plot_only for r in json.loads(p.read_text(encoding="utf-8"))["results"]]
        print_report(results, n_queries=0)
        if args.plot:
            plot(results, args.plot)
        return 0

    import faiss  # noqa: F401  (imported up front: import time is not measured)
    import sentence_transformers  # noqa: F401

    from bench.corpus import queries

    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    qs = queries(args.queries)
    started = time.perf_counter()
    meta = {"date": dt.date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GB:.0f} GB RAM, {platform.platform()}",
            "command": " ".join([Path(sys.executable).name, *sys.argv]), "queries": len(qs)}
    print(f"{meta['machine']}; {len(qs)} mixed queries; sizes {sizes}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        root = args.workdir or Path(tmp)
        for size in sizes:
            results.append(run_size(size, args, qs, root))
            if args.json:  # after every size: a long run keeps what it measured
                args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=1), encoding="utf-8")
    meta["seconds"] = time.perf_counter() - started
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=1), encoding="utf-8")
    print_report(results, len(qs))
    if args.plot:
        plot(results, args.plot)
    print(f"total {meta['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
