"""Retrieval quality on the external UIT-ViQuAD 1.0 benchmark (research-only licence: read from ../shared).

Builds a throwaway index of the benchmark's 1,008 paragraphs with the project's own pipeline
(builtin model trained on those paragraphs, offline) and prints, side by side: plain bm25s over
lowercased whitespace tokens (the benchmark's baseline), and the project's lexical-only, dense-only
and hybrid retrieval. Nothing from the benchmark is written into the repository.

    python bench/uit_viquad.py [--bench ../shared/bench/uit_viquad1] [--weights 0.6,0.4 ...]
                               [--pretrained models/vi-static [--share 0.5]] [--adapt [PAIRS]]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.config import load_config  # noqa: E402
from bot.service.evaluation import EvalQuestion, evaluate  # noqa: E402
from bot.retrieval.build import build_index  # noqa: E402
from bot.service.answering import AnswerService  # noqa: E402


def read_bench(folder: Path):
    corpus = [json.loads(line) for line in open(folder / "corpus.jsonl", encoding="utf-8")]
    queries = {q["id"]: q["text"] for q in map(json.loads, open(folder / "queries.jsonl", encoding="utf-8"))}
    qrels: dict[str, list[str]] = {}
    for line in open(folder / "qrels.tsv", encoding="utf-8"):
        qid, cid = line.rstrip("\n").split("\t")[:2]
        qrels.setdefault(qid, []).append(cid)
    questions = [EvalQuestion(qid, queries[qid], qrels[qid], "uit") for qid in queries if qid in qrels]
    return corpus, questions


def workspace(folder: Path, corpus: list[dict]):
    """A config whose knowledge/ (one .jsonl of the benchmark's paragraphs) and index/ are in `folder`."""
    (folder / "knowledge").mkdir()
    with open(folder / "knowledge" / "uit.jsonl", "w", encoding="utf-8") as fh:
        for c in corpus:
            fh.write(json.dumps({"id": c["id"], "title": c["title"], "text": c["text"], "doc_type": "wiki"},
                                ensure_ascii=False) + "\n")
    cfg = load_config(REPO / "config.yaml")
    cfg.knowledge.dir = folder / "knowledge"
    cfg.index.dir = folder / "index"
    return cfg


def plain_bm25(corpus, questions, tokens=lambda text: text.lower().split(), k1=1.5) -> float:
    """MRR@10 of bm25s alone over the given tokenization (the benchmark's baseline by default)."""
    import bm25s
    import numpy as np

    ids = [c["id"] for c in corpus]
    retriever = bm25s.BM25(k1=k1, b=0.75, method="lucene")
    retriever.index([tokens(f"{c['title']} {c['text']}") for c in corpus], show_progress=False)
    total = 0.0
    for q in questions:
        scores = retriever.get_scores(tokens(q.text))
        top = np.argsort(-scores)[:10]
        for rank, i in enumerate(top, 1):
            if ids[i] in q.relevant and scores[i] > 0:
                total += 1 / rank
                break
    return total / len(questions)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=str(next((p / "shared" / "bench" / "uit_viquad1" for p in REPO.parents
                                                  if (p / "shared" / "bench").is_dir()), REPO.parent / "shared")))
    ap.add_argument("--weights", nargs="*", default=[], help="extra lexical,dense weight pairs to try")
    ap.add_argument("--tokenizers", action="store_true", help="also compare tokenizations (pyvi is slow)")
    ap.add_argument("--pretrained", help="embedding.pretrained for the builtin model ('' = the corpus alone)")
    ap.add_argument("--share", type=float, help="embedding.pretrained_share")
    ap.add_argument("--adapt", type=int, metavar="PAIRS", nargs="?", const=-1,
                    help="embedding.adapt: train the builtin model on the collection's own pairs "
                         "(optionally at most PAIRS of them)")
    ap.add_argument("--adapt-epochs", type=int, help="embedding.adapt_epochs")
    ap.add_argument("--dim", type=int, help="embedding.dim")
    ap.add_argument("--saturation", type=float, help="embedding.passage_saturation")
    args = ap.parse_args()
    folder = Path(args.bench)
    if not (folder / "corpus.jsonl").exists():
        print(f"benchmark not found in {folder}", file=sys.stderr)
        return 2
    corpus, questions = read_bench(folder)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = workspace(Path(tmp), corpus)
        if args.pretrained is not None:
            cfg.embedding.pretrained = str(Path(args.pretrained).resolve()) if args.pretrained else ""
        if args.share is not None:
            cfg.embedding.pretrained_share = args.share
        if args.dim:
            cfg.embedding.dim = args.dim
        if args.saturation is not None:
            cfg.embedding.passage_saturation = args.saturation
        if args.adapt is not None:
            cfg.embedding.adapt = True
            cfg.embedding.adapt_pairs = args.adapt if args.adapt > 0 else cfg.embedding.adapt_pairs
        if args.adapt_epochs:
            cfg.embedding.adapt_epochs = args.adapt_epochs
        print(f"embedding: {cfg.embedding.model}, pretrained {cfg.embedding.pretrained or 'none'}"
              + (f" (share {cfg.embedding.pretrained_share:g})" if cfg.embedding.pretrained else "")
              + (f", adapted ({cfg.embedding.adapt_pairs} pairs, {cfg.embedding.adapt_epochs} epochs)"
                 if cfg.embedding.adapt else ""))
        t0 = time.perf_counter()
        report = build_index(cfg)
        build_s = time.perf_counter() - t0
        service = AnswerService(cfg, build_if_missing=False)
        print(f"UIT-ViQuAD 1.0: {len(corpus)} paragraphs -> {report.passages} passages, "
              f"{len(questions)} questions; index build {build_s:.2f} s "
              f"({report.passages / build_s:.0f} passages/s)")
        print(f"{'system':<34} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'p50 ms':>7} {'p95 ms':>7}")
        print(f"{'plain bm25s (whitespace tokens)':<34} {'':>6} {'':>6} {'':>6} {plain_bm25(corpus, questions):>7.4f}")
        if args.tokenizers:
            from bot.documents import vietnamese

            variants = {
                "bm25s syllables (normalized)": lambda t: [x for x in vietnamese.search_tokens(t, folded=False)
                                                           if "_" not in x],
                "bm25s syllables + pairs": lambda t: vietnamese.search_tokens(t, folded=False),
                "bm25s folded syllables + pairs": lambda t: vietnamese.search_tokens(t, folded=True),
                "bm25s pyvi words": lambda t: [w for w in vietnamese.pyvi_tokens(vietnamese.normalize(t).lower())
                                               if any(ch.isalnum() for ch in w)],
            }
            for label, fn in variants.items():
                print(f"{label:<34} {'':>6} {'':>6} {'':>6} {plain_bm25(corpus, questions, fn, k1=1.2):>7.4f}")
        runs = [("lexical", None), ("dense", None), ("hybrid", None)]
        for pair in args.weights:
            runs.append(("hybrid", tuple(float(x) for x in pair.split(","))))
        for mode, weights in runs:
            if weights:
                cfg.retrieval.lexical_weight, cfg.retrieval.dense_weight = weights
                label = f"hybrid {weights[0]:g}/{weights[1]:g}"
            else:
                label = f"project {mode}" + (f" {cfg.retrieval.lexical_weight:g}/{cfg.retrieval.dense_weight:g}"
                                             if mode == "hybrid" else "")
            result = evaluate(service, questions, mode)
            res = result.metrics["all"]
            print(f"{label:<34} {res['recall@1']:>6.4f} {res['recall@5']:>6.4f} {res['recall@10']:>6.4f} "
                  f"{res['mrr@10']:>7.4f} {result.latency_ms['p50']:>7.1f} {result.latency_ms['p95']:>7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
