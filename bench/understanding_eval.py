"""Query understanding, before and after: MRR@10 per kind of chat question, and the existing question set.

Builds a throwaway index of knowledge/ in a temporary folder (builtin model, offline), then ranks documents
(one passage per document, as `directive-bot eval` does) for each question of tests/data/chat_questions.jsonl:

  original   the question as typed
  full       the same question written out in full (the "full" field): the target
  rewritten  the rewritten question alone at full weight (naive replacement, for reference)
  expanded   the original tokens at full weight + the tokens the expansion adds (new words of `rewritten`
             and `extra_terms`) at weight w; the dense part and the relevance test use `rewritten`

The expansion is simulated without changing bot/search.py: bm25s scores add up over query tokens, so the
added tokens' scores times w are added to the folded lexical score through a thin wrapper around the
retriever's bm25s index. It also checks that tests/data/questions.jsonl does not get worse.

    python bench/understanding_eval.py [--weights 0.25,0.5,0.75,1] [--show-misses]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import yaml  # noqa: E402

from bot import vietnamese  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.retrieval.build import build_index  # noqa: E402
from bot.retrieval.search import QueryTerms, Retriever  # noqa: E402
from bot.service.answering import AnswerService  # noqa: E402
from bot.retrieval.understanding import BUILTIN_PATH, Expansion, QueryUnderstanding, added_tokens  # noqa: E402


class _WeightedLexical:
    """Stands in for the folded bm25s index: the question's own scores plus w x the added tokens' scores."""

    def __init__(self, folded, accented, extra_folded: list[str], extra_accented: list[str], weight: float):
        self.folded, self.accented = folded, accented
        self.extra_folded, self.extra_accented, self.weight = extra_folded, extra_accented, weight

    def get_scores(self, tokens):
        scores = self.folded.get_scores(tokens)
        if self.weight > 0 and self.extra_folded:
            scores = scores + self.weight * self.folded.get_scores(self.extra_folded)
        if self.weight > 0 and self.extra_accented:
            scores = scores + self.weight * self.accented.get_scores(self.extra_accented)
        return scores

    def document_frequency(self, token: str) -> int:
        return self.folded.document_frequency(token)


@contextlib.contextmanager
def weighted(r: Retriever, exp: Expansion, weight: float):
    """The same version searched with `_WeightedLexical` as its folded lexical index."""
    accented = added_tokens(exp, folded=False) if vietnamese.has_diacritics(
        exp.rewritten + " ".join(exp.extra_terms)) else []
    parts = r.parts
    lexical = _WeightedLexical(parts.lexical_folded, parts.lexical_accented, added_tokens(exp, folded=True),
                               accented, weight)
    yield Retriever(dataclasses.replace(parts, lexical_folded=lexical), r.settings, r.index_version)


def expanded_terms(r: Retriever, exp: Expansion, dense_text: str) -> QueryTerms:
    """The original question's tokens (full weight); dense vector and doc numbers from `dense_text`."""
    base = r.terms(exp.original)
    return QueryTerms(vietnamese.normalize(dense_text), base.folded_tokens, base.accented_tokens,
                      base.words, r.terms(exp.rewritten).doc_keys)


def rank(r: Retriever, query, relevant: list[str]) -> tuple[int | None, list[str]]:
    ranked = r.search(query, limit=10, max_per_document=1)
    docs = [m.passage.doc_id for m in ranked]
    return next((i + 1 for i, d in enumerate(docs) if d in relevant), None), docs


def answered(r: Retriever, terms: QueryTerms, query) -> bool:
    """Would the service show a passage (top result boosted or above min_relevance)? Relevance is
    measured against `terms`' words."""
    if not isinstance(query, QueryTerms):
        query = r.terms(query)
    query = dataclasses.replace(query, relevance_tokens=terms.relevance_tokens or tuple(terms.folded_tokens))
    ranked = r.search(query, limit=1)
    if not ranked:
        return False
    top = ranked[0].scores
    return top.boosted or top.relevance >= r.settings.min_relevance


def mrr(ranks: list[int | None]) -> float:
    return sum(1 / k for k in ranks if k is not None and k <= 10) / len(ranks) if ranks else 0.0


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def build(folder: Path) -> AnswerService:
    knowledge = folder / "knowledge"
    knowledge.mkdir(parents=True)
    for path in (REPO / "knowledge").iterdir():
        if path.is_file() and not path.name.startswith(("README", "_")):
            shutil.copy(path, knowledge / path.name)
    cfg = {"knowledge": {"dir": "knowledge"}, "index": {"dir": "index"},
           "querylog": {"path": "var/querylog.sqlite"}}
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    config = load_config(folder / "config.yaml")
    build_index(config)
    return AnswerService(config, build_if_missing=False)


def table(title: str, columns: list[str], rows: dict[str, dict[str, list]]) -> None:
    print(f"\n{title}")
    print(f"{'kind':<16} {'n':>3} " + " ".join(f"{c:>14}" for c in columns))
    for kind, cols in rows.items():
        n = len(next(iter(cols.values())))
        print(f"{kind:<16} {n:>3} " + " ".join(f"{mrr(cols[c]):>14.3f}" for c in columns))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chat", type=Path, default=REPO / "tests/data/chat_questions.jsonl")
    ap.add_argument("--questions", type=Path, default=REPO / "tests/data/questions.jsonl")
    ap.add_argument("--lists", type=Path, nargs="*", default=[BUILTIN_PATH])
    ap.add_argument("--weights", default="0.25,0.5,0.75,1")
    ap.add_argument("--weight", type=float, default=0.5, help="the recommended weight, for the checks below")
    ap.add_argument("--uit", type=Path, nargs="?", const=REPO.parent / "shared/bench/uit_viquad1",
                    help="also check the UIT-ViQuAD 1.0 figure (research-only data, read from ../shared)")
    ap.add_argument("--show-misses", action="store_true", help="chat questions not ranked first, per variant")
    args = ap.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    qu = QueryUnderstanding.load(args.lists)

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        service = build(Path(tmp))
        r = service.retriever
        print(f"index: {r.document_count()} documents, {r.size} passages, built in {time.perf_counter() - t0:.0f} s")
        print(f"lists: {qu.counts()}")

        chat = read(args.chat)
        variants = ["original", "full", "rewritten"] + [f"w={w:g}" for w in weights] + \
                   [f"w={w:g} dense=orig" for w in weights]
        per_kind: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        misses: dict[str, list[str]] = defaultdict(list)
        found: dict[str, int] = defaultdict(int)
        t_expand = 0.0
        for q in chat:
            t = time.perf_counter()
            exp = qu.expand(q["text"])
            t_expand += time.perf_counter() - t
            results = {
                "original": rank(r, q["text"], q["relevant"]),
                "full": rank(r, q["full"], q["relevant"]),
                "rewritten": rank(r, " ".join([exp.rewritten, *exp.extra_terms]), q["relevant"]),
            }
            for w in weights:
                for dense, suffix in ((exp.rewritten, ""), (exp.original, " dense=orig")):
                    with weighted(r, exp, w) as rw:
                        results[f"w={w:g}{suffix}"] = rank(rw, expanded_terms(r, exp, dense), q["relevant"])
            found["original"] += answered(r, r.terms(q["text"]), q["text"])
            found["full"] += answered(r, r.terms(q["full"]), q["full"])
            with weighted(r, exp, args.weight) as rw:
                found["expanded"] += answered(rw, r.terms(exp.rewritten), expanded_terms(r, exp, exp.original))
            for name in variants:
                k, docs = results[name]
                per_kind[q["kind"]][name].append(k)
                per_kind["all"][name].append(k)
                if k != 1:
                    misses[name].append(f"{q['id']} rank {k}: {q['text']!r} -> top {docs[:2]}")
        print(f"expansion: {1000 * t_expand / len(chat):.2f} ms per question")
        table(f"chat questions ({args.chat.name}): MRR@10", variants[:3] + [f"w={w:g}" for w in weights],
              per_kind)
        table("same, dense part on the ORIGINAL text instead of the rewritten one (recommended)",
              [f"w={w:g} dense=orig" for w in weights], per_kind)
        print(f"\nanswered (top passage passes min_relevance): original {found['original']}/{len(chat)}, "
              f"expanded (w={args.weight:g}, dense on original, relevance on rewritten) "
              f"{found['expanded']}/{len(chat)}, full {found['full']}/{len(chat)}")
        if args.show_misses:
            for name in variants:
                print(f"\nmisses, {name}:")
                for line in misses[name]:
                    print("  " + line)

        base = read(args.questions)
        rows: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        changed = 0
        worse: list[str] = []
        for q in base:
            exp = qu.expand(q["text"])
            changed += exp.changed or bool(exp.extra_terms)
            k0, _ = rank(r, q["text"], q["relevant"])
            cols = {"original": k0}
            for w in weights:
                with weighted(r, exp, w) as rw:
                    cols[f"w={w:g}"], _ = rank(rw, expanded_terms(r, exp, exp.original), q["relevant"])
            for name, k in cols.items():
                rows[q.get("kind", "all")][name].append(k)
                rows["all"][name].append(k)
            with weighted(r, exp, args.weight) as rw:
                mid, _ = rank(rw, expanded_terms(r, exp, exp.original), q["relevant"])
            if (mid or 99) > (k0 or 99):
                worse.append(f"{q['id']} rank {k0} -> {mid}: {q['text']!r} extra={list(exp.extra_terms)[:4]}")
        table(f"existing questions ({args.questions.name}, {changed} of {len(base)} touched by the "
              "expansion; dense part on the original text): MRR@10", ["original"] + [f"w={w:g}" for w in weights], rows)
        if worse:
            print(f"\nworse at w={args.weight:g}:")
            for line in worse:
                print("  " + line)
    if args.uit:
        uit(args.uit, qu, args.weight)
    return 0


def uit(folder: Path, qu: QueryUnderstanding, weight: float) -> None:
    """MRR@10 on UIT-ViQuAD 1.0 (general Wikipedia questions) with and without the expansion."""
    from uit_viquad import read_bench, workspace  # bench/uit_viquad.py

    corpus, questions = read_bench(folder)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = workspace(Path(tmp), corpus)
        build_index(cfg)
        r = AnswerService(cfg, build_if_missing=False).retriever
        before, after, touched = [], [], 0
        for q in questions:
            exp = qu.expand(q.text)
            touched += exp.changed or bool(exp.extra_terms)
            before.append(rank(r, q.text, q.relevant)[0])
            with weighted(r, exp, weight) as rw:
                after.append(rank(rw, expanded_terms(r, exp, exp.original), q.relevant)[0])
        print(f"\nUIT-ViQuAD 1.0 ({len(questions)} questions, {touched} touched by the expansion): "
              f"MRR@10 original {mrr(before):.4f}, expanded (w={weight:g}) {mrr(after):.4f}")


if __name__ == "__main__":
    raise SystemExit(main())
