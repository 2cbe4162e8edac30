"""Index build throughput and query latency on synthetic corpora (figures for docs/benchmarks.md).

    python bench/speed.py [--sizes 1000 10000] [--queries 1000]

For each size: a deterministic corpus (bench/corpus.py) is indexed with the project's pipeline and
the builtin model, in a temporary folder; then mixed questions (accented, unaccented, document
numbers) are answered in-process through AnswerService.answer. Library import time is excluded.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import faiss  # noqa: E402,F401  (imported up front: import time is not build time)
import sentence_transformers  # noqa: E402,F401

from bench.corpus import queries, write_corpus  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.retrieval.build import build_index  # noqa: E402
from bot.retrieval.versions import current_dir  # noqa: E402
from bot.service.answering import AnswerService  # noqa: E402


def percentile(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--incremental", action="store_true", help="also time a reindex after a 1%% change")
    args = ap.parse_args()
    from bot import runtime

    runtime.configure()  # as the bot does: FAISS on one thread while answering
    if min(args.sizes) < 10:
        ap.error("--sizes: each size must be at least 10 passages")
    print(f"{'passages':>9} {'build s':>8} {'pass/s':>7} {'CPU s':>6} {'disk MB':>8} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'p99 ms':>7} {'maxRSS MB':>9}")
    qs = queries(args.queries)
    with tempfile.TemporaryDirectory() as tmp:  # warm-up: the first build pays for lazy imports
        tmp = Path(tmp)
        (tmp / "knowledge").mkdir()
        write_corpus(tmp / "knowledge" / "warm.jsonl", 50)
        cfg = load_config(REPO / "config.yaml")
        cfg.knowledge.dir, cfg.index.dir = tmp / "knowledge", tmp / "index"
        build_index(cfg)
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            (tmp / "knowledge").mkdir()
            write_corpus(tmp / "knowledge" / "synthetic.jsonl", size)
            cfg = load_config(REPO / "config.yaml")
            cfg.knowledge.dir, cfg.index.dir = tmp / "knowledge", tmp / "index"
            cfg.knowledge.max_file_mb = 1e6  # one .jsonl file holds the whole synthetic corpus
            t0, c0 = time.perf_counter(), time.process_time()
            report = build_index(cfg)
            build, cpu = time.perf_counter() - t0, time.process_time() - c0
            disk = sum(f.stat().st_size for f in current_dir(cfg.index.dir).rglob("*") if f.is_file())
            if args.incremental:  # 1% of the documents changed, 1% added: only those are embedded
                lines = (tmp / "knowledge" / "synthetic.jsonl").read_text(encoding="utf-8").splitlines()
                step = max(1, len(lines) // max(1, len(lines) // 100))
                for i in range(0, len(lines), step):
                    lines[i] = lines[i].replace('"text": "', '"text": "Bổ sung. ', 1)
                (tmp / "knowledge" / "synthetic.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
                write_corpus(tmp / "knowledge" / "added.jsonl", max(1, size // 100), seed=99)
                text = (tmp / "knowledge" / "added.jsonl").read_text(encoding="utf-8").replace('"syn-', '"new-')
                (tmp / "knowledge" / "added.jsonl").write_text(text, encoding="utf-8")
                t0 = time.perf_counter()
                inc = build_index(cfg)
                print(f"  incremental: {len(inc.added)} added, {len(inc.changed)} changed, "
                      f"{inc.embedded_passages} passages embedded, {inc.reused_passages} reused, "
                      f"{time.perf_counter() - t0:.2f} s (full build {build:.2f} s)", flush=True)
            service = AnswerService(cfg, build_if_missing=False)
            for q in qs[:20]:  # warm-up
                service.answer(q)
            lat = []
            for q in qs:
                t = time.perf_counter()
                service.answer(q)
                lat.append((time.perf_counter() - t) * 1000)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{report.passages:>9} {build:>8.2f} {report.passages / build:>7.0f} {cpu:>6.1f} {disk / 1e6:>8.1f} "
                  f"{percentile(lat, 50):>7.1f} {percentile(lat, 95):>7.1f} {percentile(lat, 99):>7.1f} {rss:>9.0f}",
                  flush=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"queries: {len(qs)} mixed (accented, unaccented, document numbers); CPU s = process time of the build")
    return 0


if __name__ == "__main__":
    sys.exit(main())
