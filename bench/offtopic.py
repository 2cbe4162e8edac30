"""Calibrating the "nothing relevant" threshold (retrieval.min_relevance and its scaling) on several collections.

For each collection a throwaway index is built with the project's own pipeline, then every question is
asked through AnswerService. Printed per collection, rule and threshold:
  answered  - share of in-domain questions whose answer is `found`;
  hidden    - share of in-domain questions whose right document ranks first but whose answer is
              "nothing relevant" (the threshold hid a right answer);
  rejected  - share of off-topic questions answered "nothing relevant".
Rules: `fixed` compares the share of the question a passage covers with the threshold; `scaled` (the
config's `relevance_question_words` / `relevance_passage_words`, bot/retrieval/query.py Scaling) reads the
share against the question's and the passage's size. Other refusals (the domain check, English) count
for both.

Collections:
  ours        knowledge/ of this repository; tests/data/questions.jsonl + chat_questions.jsonl against
              tests/data/offtopic.jsonl
  uit         UIT-ViQuAD 1.0, ../shared/bench/uit_viquad1 (research-only licence: read there, never copied)
              against tests/data/offtopic_wiki.jsonl (everyday questions no encyclopedia paragraph answers)
  devqa       question -> passage pairs of ../shared/train/dev.jsonl (health, university, Wikipedia)
              against tests/data/offtopic_wiki.jsonl
  devnews     news title -> lead pairs of dev.jsonl (no off-topic set: news covers everything)
  health, regulation, wikiqa
              500 pairs (seed 1) of ../shared/train/pairs.jsonl: patient and citizen questions -> doctors' and
              the Ministry of Health's answers (dica, pubhealthqa); students' questions -> university
              regulations (uit-handcrafted); Wikipedia questions (zalo2019-wiki, xquad-vi); against
              tests/data/offtopic_wiki.jsonl

--calibrate C1 C2 ... picks the scaling (reference sizes and exponents, on a grid) that hides the fewest
right first documents on those collections (the worst one first) without rejecting fewer off-topic
questions than the fixed threshold on --keep (ours, uit: the short questions the bot is asked, with
hand-made off-topic sets) and at most --allow (0) fewer on the others, then checks it on the other
collections given (held out). --cross C asks every collection 150 questions of C as off-topic ones (long
patient questions asked of an encyclopaedia: rejected by the fixed bar, less often by the scaled one).

    python bench/offtopic.py [--thresholds 0.25 0.3] [--collections ours uit devqa devnews]
    python bench/offtopic.py --thresholds 0.3 --collections ours uit devqa devnews health regulation wikiqa \
        --calibrate ours uit devqa devnews
    python bench/offtopic.py --thresholds 0.3 --collections ours uit regulation wikiqa --cross health devnews
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.config import load_config  # noqa: E402
from bot.documents import vietnamese  # noqa: E402
from bot.retrieval.build import build_index  # noqa: E402
from bot.retrieval.query import Scaling  # noqa: E402
from bot.retrieval.search import Retriever  # noqa: E402
from bot.retrieval.version import index_text  # noqa: E402
from bot.service.answering import AnswerService  # noqa: E402
from bot.service.evaluation import EvalQuestion, read_questions  # noqa: E402
from bench.uit_viquad import read_bench  # noqa: E402

SHARED = next((p / "shared" for p in REPO.parents if (p / "shared" / "bench").is_dir()), REPO.parent / "shared")
DATA = REPO / "tests" / "data"
THRESHOLDS = [0.2, 0.25, 0.3, 0.35]
FIXED = Scaling(0, 0)


@dataclass
class Collection:
    name: str
    corpus: list[dict] | None  # None: the repository's own knowledge/
    questions: list[EvalQuestion]  # in-domain (relevant doc ids) and off-topic (no relevant)


@dataclass
class Outcome:
    offtopic: bool
    first_is_right: bool
    blocked: bool  # rejected whatever the threshold (English, invalid, the domain check)
    words: int  # the question's content words (Scaling)
    # (boosted, share of the question covered, passage words, question word pairs in the passage)
    candidates: list[tuple[bool, float, int, int]]

    def answered(self, threshold: float, scaling: Scaling) -> bool:
        return not self.blocked and any(boosted or scaling.relevance(share, self.words, size, pairs) >= threshold
                                        for boosted, share, size, pairs in self.candidates)


def ours() -> Collection:
    questions = read_questions(DATA / "questions.jsonl") + read_questions(DATA / "chat_questions.jsonl")
    questions += [EvalQuestion(q.id, q.text, [], "offtopic") for q in read_questions(DATA / "offtopic.jsonl")]
    return Collection("ours", None, questions)


def uit(folder: Path, offtopic: Path) -> Collection:
    corpus, questions = read_bench(folder)  # the same reading as bench/uit_viquad.py
    questions += [EvalQuestion(q.id, q.text, [], "offtopic") for q in read_questions(offtopic)]
    return Collection("UIT-ViQuAD", corpus, questions)


def pairs(pack: Path, offtopic: Path, name: str, sources: set[str], n: int = 500) -> Collection:
    """`n` pairs (seed 1) of the training pack's sources as a collection of its own (held-out checks)."""
    rows = [r for r in map(json.loads, open(pack / "pairs.jsonl", encoding="utf-8")) if r["source"] in sources]
    random.Random(1).shuffle(rows)
    return _paired(name, rows[:n], offtopic)


def dev(pack: Path, offtopic: Path | None, news: bool) -> Collection:
    news_sources = {"vietnews-title-abstract", "baomoi-title-body"}
    rows = [json.loads(line) for line in open(pack / "dev.jsonl", encoding="utf-8")]
    rows = [r for r in rows if (r["source"] in news_sources) == news]
    return _paired("dev news" if news else "dev QA", rows, offtopic)


def _paired(name: str, rows: list[dict], offtopic: Path | None) -> Collection:
    ids: dict[str, str] = {}
    for r in rows:
        ids.setdefault(r["positive"], f"p{len(ids)}")
    corpus = [{"id": i, "title": "", "text": text} for text, i in ids.items()]
    questions = [EvalQuestion(f"q{n}", r["query"], [ids[r["positive"]]], r["source"]) for n, r in enumerate(rows)]
    if offtopic:
        questions += [EvalQuestion(q.id, q.text, [], "offtopic") for q in read_questions(offtopic)]
    return Collection(name, corpus, questions)


def foreign(collection: Collection, n: int = 150) -> list[EvalQuestion]:
    """`n` in-domain questions of a collection (seed 2), to ask another collection as off-topic ones."""
    questions = [EvalQuestion(q.id, q.text, [], "offtopic") for q in collection.questions if q.relevant]
    random.Random(2).shuffle(questions)
    return questions[:n]


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
    """What the answer would be under any rule: each candidate's unscaled share and size."""
    service.config.retrieval.min_relevance = 0.0  # only refusals that are not the threshold's remain
    r = service.retriever
    shares = Retriever(r.parts, dataclasses.replace(r.settings, relevance_question_words=0,
                                                     relevance_passage_words=0), r.index_version)
    out = []
    for q in questions:
        blocked = service.answer(q.text).status != "found"
        terms = shares.terms(q.text)
        tokens = set(terms.relevance_tokens or terms.folded_tokens)
        words, pairs = {t for t in tokens if "_" not in t}, {t for t in tokens if "_" in t}
        ranked = shares.search(terms, limit=10)
        candidates = [(m.scores.boosted, m.scores.relevance, len(m.passage.text.split()),
                       len(pairs & set(vietnamese.search_tokens(index_text(m.document, m.passage), folded=True))))
                      for m in ranked]
        first = shares.search(q.text, limit=1, max_per_document=1)
        right = bool(q.relevant) and bool(first) and first[0].passage.doc_id in q.relevant
        out.append(Outcome(not q.relevant, right, blocked, len(words), candidates))
    return out


def counts(results: list[Outcome], threshold: float, scaling: Scaling) -> dict:
    inside = [o for o in results if not o.offtopic]
    outside = [o for o in results if o.offtopic]
    firsts = [o for o in inside if o.first_is_right]
    return {"in_domain": len(inside), "answered": sum(o.answered(threshold, scaling) for o in inside),
            "right_first": len(firsts), "hidden": sum(not o.answered(threshold, scaling) for o in firsts),
            "offtopic": len(outside), "rejected": sum(not o.answered(threshold, scaling) for o in outside)}


def line(name: str, rule: str, threshold: float, c: dict) -> str:
    return (f"{name:11s} {rule:7s} {threshold:6.3f} {c['answered']:5d}/{c['in_domain']:<5d}"
            f" {c['answered'] / max(1, c['in_domain']):6.3f} {c['hidden']:5d}/{c['right_first']:<5d}"
            f" {c['hidden'] / max(1, c['right_first']):6.3f} {c['rejected']:4d}/{c['offtopic']:<4d}")


def table(name: str, results: list[Outcome], thresholds: list[float], scaled: Scaling) -> list[dict]:
    rows = []
    for t in thresholds:
        for rule, scaling in (("fixed", FIXED), ("scaled", scaled)):
            c = counts(results, t, scaling)
            rows.append({"collection": name, "rule": rule, "threshold": t, **c})
            print(line(name, rule, t, c), flush=True)
    return rows


GRID = {"question_words": [8, 10, 12, 15, 20], "question_exponent": [0.25, 0.5, 0.75, 1.0],
        "passage_words": [80, 120, 200], "passage_exponent": [0.0, 0.2, 0.33, 0.5], "min_pairs": [0, 1, 2, 3]}


def calibrate(results: dict[str, list[Outcome]], names: list[str], threshold: float, keep: list[str],
              allow: int) -> Scaling:
    """The scaling on GRID hiding the fewest right first documents on `names` (worst collection first,
    then the total) among those rejecting as many off-topic questions as the fixed threshold on `keep`,
    and at most `allow` fewer on the other collections of `names`."""
    floor = {n: counts(results[n], threshold, FIXED)["rejected"] - (0 if n in keep else allow) for n in names}
    best: tuple | None = None
    for values in itertools.product(*GRID.values()):
        scaling = Scaling(**dict(zip(GRID, values)))
        c = {n: counts(results[n], threshold, scaling) for n in names}
        if any(c[n]["rejected"] < floor[n] for n in names):
            continue
        shares = [c[n]["hidden"] / max(1, c[n]["right_first"]) for n in names]
        key = (max(shares), sum(shares))
        if best is None or key < best[0]:
            best = (key, scaling)
    return best[1] if best else FIXED


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--thresholds", type=float, nargs="*", default=THRESHOLDS)
    ap.add_argument("--collections", nargs="*", default=["ours", "uit", "devqa", "devnews"])
    ap.add_argument("--calibrate", nargs="*", default=[], help="collections to calibrate the scaling on")
    ap.add_argument("--keep", nargs="*", default=["ours", "uit"],
                    help="calibration collections whose off-topic rejection must not fall")
    ap.add_argument("--allow", type=int, default=0,
                    help="off-topic rejections the other calibration collections may lose")
    ap.add_argument("--bench", type=Path, default=SHARED / "bench" / "uit_viquad1")
    ap.add_argument("--pack", type=Path, default=SHARED / "train")
    ap.add_argument("--offtopic", type=Path, default=DATA / "offtopic_wiki.jsonl",
                    help="off-topic questions for the external collections")
    ap.add_argument("--cross", nargs="*", default=[],
                    help="also ask each collection 150 questions of these collections, as off-topic")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()
    makers = {"ours": ours, "uit": lambda: uit(args.bench, args.offtopic),
              "devqa": lambda: dev(args.pack, args.offtopic, news=False),
              "devnews": lambda: dev(args.pack, None, news=True),
              "health": lambda: pairs(args.pack, args.offtopic, "health", {"dica", "pubhealthqa"}),
              "regulation": lambda: pairs(args.pack, args.offtopic, "regulation", {"uit-handcrafted"}),
              "wikiqa": lambda: pairs(args.pack, args.offtopic, "wikiqa", {"zalo2019-wiki", "xquad-vi"})}
    rc = load_config(REPO / "config.yaml").retrieval
    scaled = Scaling(rc.relevance_question_words, rc.relevance_passage_words)
    print(f"scaled: {scaled}")
    print(f"{'collection':11s} {'rule':7s} {'min_rel':>6s} {'answered':>18s} {'right first hidden':>18s}"
          f" {'off-topic rejected':>9s}")
    rows, results = [], {}
    strangers = {k: foreign(makers[k]()) for k in args.cross}
    for key in dict.fromkeys(args.collections + args.calibrate):
        collection = makers[key]()
        with tempfile.TemporaryDirectory() as tmp:
            service = service_for(collection, Path(tmp))
            results[key] = outcomes(service, collection.questions)
            rows += table(key, results[key], args.thresholds, scaled)
            for other, questions in strangers.items():
                if other != key:
                    rows += table(f"{key}<-{other}", outcomes(service, questions), args.thresholds, scaled)
    if args.calibrate:
        threshold = rc.min_relevance
        chosen = calibrate(results, args.calibrate, threshold, args.keep, args.allow)
        print(f"\ncalibrated on {' '.join(args.calibrate)} at {threshold}: {chosen}")
        for key in results:
            before, after = counts(results[key], threshold, FIXED), counts(results[key], threshold, chosen)
            print(f"{'calibration' if key in args.calibrate else 'held out':11s}", line(key, "fixed", threshold, before))
            print(f"{'':11s}", line(key, "chosen", threshold, after))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
