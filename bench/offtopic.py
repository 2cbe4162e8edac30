"""Calibrating the "nothing relevant" threshold (retrieval.min_relevance) on more than one collection.

For each collection a throwaway index is built with the project's own pipeline, then every question is
asked through AnswerService. Printed per collection and threshold:
  answered  - share of in-domain questions whose answer is `found`;
  hidden    - share of in-domain questions whose right document ranks first but whose answer is
              "nothing relevant" (the threshold hid a right answer);
  rejected  - share of off-topic questions answered "nothing relevant".

Collections:
  ours        knowledge/ of this repository; tests/data/questions.jsonl + chat_questions.jsonl against
              tests/data/offtopic.jsonl
  UIT-ViQuAD  ../shared/bench/uit_viquad1 (research-only licence: read there, never copied) against
              tests/data/offtopic_wiki.jsonl (everyday questions no encyclopedia paragraph answers)
  dev QA      question -> passage pairs of ../shared/train/dev.jsonl (health, university, Wikipedia)
              against tests/data/offtopic_wiki.jsonl
  dev news    news title -> lead pairs of dev.jsonl (no off-topic set: news covers everything)

    python bench/offtopic.py [--thresholds 0.2 0.25 0.3] [--collections ours uit]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.config import load_config  # noqa: E402
from bot.retrieval.build import build_index  # noqa: E402
from bot.service.answering import AnswerService  # noqa: E402
from bot.service.evaluation import EvalQuestion, read_questions  # noqa: E402

SHARED = next((p / "shared" for p in REPO.parents if (p / "shared" / "bench").is_dir()), REPO.parent / "shared")
DATA = REPO / "tests" / "data"
THRESHOLDS = [0.15, 0.2, 0.25, 0.3, 0.35, 0.4]


@dataclass
class Collection:
    name: str
    corpus: list[dict] | None  # None: the repository's own knowledge/
    questions: list[EvalQuestion]  # in-domain (relevant doc ids) and off-topic (no relevant)


@dataclass
class Outcome:
    offtopic: bool
    first_is_right: bool
    best: float  # the highest relevance among the candidates (inf: a document number points to one)
    blocked: bool  # rejected whatever the threshold (English, invalid)


def ours() -> Collection:
    questions = read_questions(DATA / "questions.jsonl") + read_questions(DATA / "chat_questions.jsonl")
    questions += [EvalQuestion(q.id, q.text, [], "offtopic") for q in read_questions(DATA / "offtopic.jsonl")]
    return Collection("ours", None, questions)


def uit(folder: Path, offtopic: Path) -> Collection:
    corpus = [json.loads(line) for line in open(folder / "corpus.jsonl", encoding="utf-8")]
    queries = {q["id"]: q["text"] for q in map(json.loads, open(folder / "queries.jsonl", encoding="utf-8"))}
    qrels: dict[str, list[str]] = {}
    for line in open(folder / "qrels.tsv", encoding="utf-8"):
        qid, cid = line.rstrip("\n").split("\t")[:2]
        qrels.setdefault(qid, []).append(cid)
    questions = [EvalQuestion(qid, text, qrels[qid], "uit") for qid, text in queries.items() if qid in qrels]
    questions += [EvalQuestion(q.id, q.text, [], "offtopic") for q in read_questions(offtopic)]
    return Collection("UIT-ViQuAD", corpus, questions)


def dev(pack: Path, offtopic: Path | None, news: bool) -> Collection:
    news_sources = {"vietnews-title-abstract", "baomoi-title-body"}
    rows = [json.loads(line) for line in open(pack / "dev.jsonl", encoding="utf-8")]
    rows = [r for r in rows if (r["source"] in news_sources) == news]
    ids: dict[str, str] = {}
    for r in rows:
        ids.setdefault(r["positive"], f"p{len(ids)}")
    corpus = [{"id": i, "title": "", "text": text} for text, i in ids.items()]
    questions = [EvalQuestion(f"q{n}", r["query"], [ids[r["positive"]]], r["source"]) for n, r in enumerate(rows)]
    if offtopic:
        questions += [EvalQuestion(q.id, q.text, [], "offtopic") for q in read_questions(offtopic)]
    return Collection("dev news" if news else "dev QA", corpus, questions)


def service_for(collection: Collection, folder: Path) -> AnswerService:
    cfg = load_config(REPO / "config.yaml")
    if collection.corpus is not None:
        (folder / "knowledge").mkdir()
        with open(folder / "knowledge" / "bench.jsonl", "w", encoding="utf-8") as fh:
            for c in collection.corpus:
                fh.write(json.dumps({"id": c["id"], "title": c["title"] or c["text"][:60], "text": c["text"],
                                     "doc_type": "bench"}, ensure_ascii=False) + "\n")
        cfg.knowledge.dir = folder / "knowledge"
    cfg.index.dir = folder / "index"
    build_index(cfg)
    return AnswerService(cfg, build_if_missing=False)


def outcomes(service: AnswerService, questions: list[EvalQuestion]) -> list[Outcome]:
    """What the answer would be at any threshold: the best relevance among the candidates it weighs."""
    r = service.retriever
    service.config.retrieval.min_relevance = 0.0  # only non-threshold rejections remain
    out = []
    for q in questions:
        blocked = service.answer(q.text).status != "found"
        terms = r.terms(q.text)
        ranked = r.search(terms, limit=10, with_relevance=True)
        best = max((float("inf") if m.scores.boosted else m.scores.relevance for m in ranked), default=0.0)
        first = r.search(q.text, limit=1, max_per_document=1)
        right = bool(q.relevant) and bool(first) and first[0].passage.doc_id in q.relevant
        out.append(Outcome(not q.relevant, right, best, blocked))
    return out


def table(name: str, results: list[Outcome], thresholds: list[float]) -> list[dict]:
    inside = [o for o in results if not o.offtopic]
    outside = [o for o in results if o.offtopic]
    firsts = [o for o in inside if o.first_is_right]
    rows = []
    for t in thresholds:
        found = [not o.blocked and o.best >= t for o in inside]
        hidden = sum(1 for o in firsts if o.blocked or o.best < t)
        rejected = sum(1 for o in outside if o.blocked or o.best < t)
        rows.append({"collection": name, "threshold": t, "in_domain": len(inside), "answered": sum(found),
                     "right_first": len(firsts), "hidden": hidden, "offtopic": len(outside), "rejected": rejected})
        print(f"{name:11s} {t:6.3f} {sum(found):5d}/{len(inside):<5d} {sum(found) / max(1, len(inside)):6.3f}"
              f" {hidden:5d}/{len(firsts):<5d} {hidden / max(1, len(firsts)):6.3f}"
              f" {rejected:4d}/{len(outside):<4d}", flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--thresholds", type=float, nargs="*", default=THRESHOLDS)
    ap.add_argument("--collections", nargs="*", default=["ours", "uit", "devqa", "devnews"])
    ap.add_argument("--bench", type=Path, default=SHARED / "bench" / "uit_viquad1")
    ap.add_argument("--pack", type=Path, default=SHARED / "train")
    ap.add_argument("--offtopic", type=Path, default=DATA / "offtopic_wiki.jsonl",
                    help="off-topic questions for the external collections")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()
    makers = {"ours": ours, "uit": lambda: uit(args.bench, args.offtopic),
              "devqa": lambda: dev(args.pack, args.offtopic, news=False),
              "devnews": lambda: dev(args.pack, None, news=True)}
    print(f"{'collection':11s} {'min_rel':>6s} {'answered':>18s} {'right first hidden':>18s} {'off-topic rejected':>9s}")
    rows = []
    for key in args.collections:
        collection = makers[key]()
        with tempfile.TemporaryDirectory() as tmp:
            results = outcomes(service_for(collection, Path(tmp)), collection.questions)
        rows += table(collection.name, results, args.thresholds)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
