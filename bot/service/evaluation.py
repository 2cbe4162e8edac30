"""Retrieval evaluation: Recall@k, MRR@10 per kind of question, found/not-found rates, latency."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.service.answering import AnswerService

MODES = {"hybrid": (None, None), "lexical": (1.0, 0.0), "dense": (0.0, 1.0)}


@dataclass
class EvalQuestion:
    id: str
    text: str
    relevant: list[str]
    kind: str = "all"


@dataclass
class EvalResult:
    mode: str
    n: int = 0
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # kind -> metric -> value
    negatives: int = 0
    negatives_rejected: float = 0.0
    answered: float = 0.0  # share of questions with relevant documents that got "found"
    latency_ms: dict[str, float] = field(default_factory=dict)
    misses: list[dict] = field(default_factory=list)


def read_questions(path: Path) -> list[EvalQuestion]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                out.append(EvalQuestion(str(d["id"]), d["text"], list(d.get("relevant", [])),
                                        d.get("kind", "all")))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: not a question line ({exc})") from None
    return out


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def evaluate(service: AnswerService, questions: list[EvalQuestion], mode: str = "hybrid") -> EvalResult:
    """Rank documents for each question (one passage per document) and score the ranking."""
    wl, wd = MODES[mode]
    result = EvalResult(mode=mode)
    per_kind: dict[str, list[tuple[int | None, bool]]] = defaultdict(list)
    latencies: list[float] = []
    negatives = rejected = answered = 0
    for q in questions:
        t0 = time.perf_counter()
        ranked = service.search(q.text, limit=10, max_per_document=1, lexical_weight=wl, dense_weight=wd)
        answer = service.answer(q.text)
        latencies.append((time.perf_counter() - t0) * 1000)
        if not q.relevant:
            negatives += 1
            rejected += answer.status != "found"
            continue
        answered += answer.status == "found"
        docs = [m.passage.doc_id for m in ranked]
        rank = next((i + 1 for i, d in enumerate(docs) if d in q.relevant), None)
        per_kind[q.kind].append((rank, answer.status == "found"))
        per_kind["all"].append((rank, answer.status == "found"))
        if rank != 1:
            result.misses.append({"id": q.id, "text": q.text, "rank": rank, "top": docs[:3],
                                  "relevant": q.relevant[:3]})
    for kind, ranks in sorted(per_kind.items()):
        n = len(ranks)
        m = {"n": n}
        for k in (1, 5, 10):
            m[f"recall@{k}"] = sum(1 for r, _ in ranks if r is not None and r <= k) / n
        m["mrr@10"] = sum(1 / r for r, _ in ranks if r is not None and r <= 10) / n
        result.metrics[kind] = m
    result.n = len(per_kind.get("all", []))
    result.negatives = negatives
    result.negatives_rejected = rejected / negatives if negatives else 0.0
    result.answered = answered / result.n if result.n else 0.0
    result.latency_ms = {"p50": _percentile(latencies, 50), "p95": _percentile(latencies, 95)}
    return result


def format_result(result: EvalResult) -> str:
    lines = [f"mode: {result.mode}   questions: {result.n}",
             f"{'kind':<12} {'n':>4} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7}"]
    for kind, m in result.metrics.items():
        lines.append(f"{kind:<12} {m['n']:>4} {m['recall@1']:>6.3f} {m['recall@5']:>6.3f} "
                     f"{m['recall@10']:>6.3f} {m['mrr@10']:>7.3f}")
    lines.append(f"answered (status found): {result.answered:.3f}")
    if result.negatives:
        lines.append(f"off-topic rejected: {result.negatives_rejected:.3f} of {result.negatives}")
    lines.append(f"latency per question (search + answer) ms: p50 {result.latency_ms['p50']:.1f}  "
                 f"p95 {result.latency_ms['p95']:.1f}")
    return "\n".join(lines)
