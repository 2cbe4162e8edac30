"""Answer evaluation: does what a user sees first hold the answer? (document MRR, phrase in passages/short answer)

A question line names the documents that answer it and a short phrase (or several) of the text that holds
the answer; the answer the service gives is checked for that phrase in its first passage, its first three
and its short answer. Phrases are compared case- and diacritics-folded, spaces collapsed.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bot.documents import vietnamese


@dataclass
class PhraseQuestion:
    id: str
    text: str
    relevant: list[str]
    kind: str = "all"
    phrases: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)  # expected structural path ("dieu:4", "khoan:2")
    section: str = ""


@dataclass
class AnswerEvalResult:
    n: int = 0
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # kind -> metric -> value
    misses: list[dict] = field(default_factory=list)


def has_phrases(path: Path) -> bool:
    """Whether a question file carries answer phrases (then `eval` also measures the answers)."""
    with open(path, encoding="utf-8") as fh:
        return any('"phrase"' in line for line in fh)


def read_phrase_questions(path: Path) -> list[PhraseQuestion]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                phrase = d.get("phrase", [])
                phrases = [phrase] if isinstance(phrase, str) else [str(p) for p in phrase]
                out.append(PhraseQuestion(str(d["id"]), d["text"], list(d.get("relevant", [])),
                                          d.get("kind", "all"), phrases, list(d.get("units", [])),
                                          d.get("section", "")))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: not a question line ({exc})") from None
    return out


def _folded(text: str) -> str:
    return re.sub(r"\s+", " ", vietnamese.fold(vietnamese.normalize(text)).casefold()).strip()


def contains_phrase(text: str, phrases: list[str]) -> bool:
    """Whether `text` holds any of the phrases (case, diacritics and spacing ignored)."""
    have = _folded(text or "")
    return any(_folded(p) in have for p in phrases if p.strip())


def evaluate_answers(service, questions: list[PhraseQuestion], top_k: int = 10) -> AnswerEvalResult:
    """Ask each question through the service and score what it shows."""
    rows: dict[str, list[tuple[float, bool, bool, bool]]] = defaultdict(list)
    result = AnswerEvalResult()
    for q in questions:
        if not q.relevant:
            continue
        answer = service.answer(q.text, top_k=top_k)
        docs = list(dict.fromkeys(h.doc_id for h in answer.hits))
        rank = next((i + 1 for i, d in enumerate(docs[:10]) if d in q.relevant), None)
        first = bool(answer.hits) and contains_phrase(answer.hits[0].text, q.phrases)
        top3 = any(contains_phrase(h.text, q.phrases) for h in answer.hits[:3])
        short = getattr(answer, "short", None)
        in_short = short is not None and contains_phrase(short.text, q.phrases)
        row = (1 / rank if rank else 0.0, first, top3, in_short)
        rows[q.kind].append(row)
        rows["all"].append(row)
        if not first:
            result.misses.append({"id": q.id, "text": q.text, "doc_rank": rank, "top3": top3,
                                  "first": answer.hits[0].passage_id if answer.hits else None,
                                  "want": q.section})
    for kind, values in sorted(rows.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        n = len(values)
        result.metrics[kind] = {"n": n,
                                "doc_mrr@10": sum(v[0] for v in values) / n,
                                "first_has_phrase": sum(v[1] for v in values) / n,
                                "top3_has_phrase": sum(v[2] for v in values) / n,
                                "short_has_phrase": sum(v[3] for v in values) / n}
    result.n = len(rows.get("all", []))
    return result


def format_answer_result(result: AnswerEvalResult) -> str:
    lines = [f"answers: {result.n} questions with phrases",
             f"{'kind':<12} {'n':>4} {'docMRR':>7} {'first':>6} {'top3':>6} {'short':>6}"]
    for kind, m in result.metrics.items():
        lines.append(f"{kind:<12} {m['n']:>4} {m['doc_mrr@10']:>7.3f} {m['first_has_phrase']:>6.3f} "
                     f"{m['top3_has_phrase']:>6.3f} {m['short_has_phrase']:>6.3f}")
    return "\n".join(lines)
