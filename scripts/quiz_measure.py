"""Figures for docs/quiz.md from `directive-bot quiz --count N --json` output.

    directive-bot quiz --count 200 --json > quiz.json
    python scripts/quiz_measure.py quiz.json [--config config.yaml] [--sample 30 --seed 1]

Prints: items, distinct items and facts, duplicates, the share whose correct option occurs in the cited
clause (and whose clause occurs in the indexed passage), the share whose distractors do not answer it, the
kinds, and a numbered sample to read by hand.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.service.quizfacts import in_text  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("json_file")
    p.add_argument("--config", default=None)
    p.add_argument("--sample", type=int, default=30)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    items = json.loads(Path(args.json_file).read_text(encoding="utf-8"))["items"]

    from bot.config import load_config
    from bot.service.answering import AnswerService

    service = AnswerService(load_config(args.config), build_if_missing=False)
    n = len(items)
    answer_in_clause = sum(in_text(i["answer"], i["clause"]) for i in items)
    clause_in_passage = 0
    for i in items:
        hit = service.passage(i["passage_id"])
        clause_in_passage += hit is not None and " ".join(i["clause"].split()) in " ".join(hit.text.split())
    clean = sum(not any(in_text(d, i["clause"]) for d in i["distractors"]) for i in items)
    cloze_ok = sum(i["options"][i["correct"]] == i["answer"] for i in items if i["kind"] == "cloze")
    cloze = sum(i["kind"] == "cloze" for i in items)
    print(f"items: {n}; distinct ids: {len({i['item_id'] for i in items})}; "
          f"distinct questions: {len({i['question'] for i in items})}; "
          f"distinct facts (clause, answer): {len({(i['clause'], i['answer']) for i in items})}")
    print(f"correct option / stated fact occurs in the cited clause: {answer_in_clause}/{n}; "
          f"cloze correct option is the clause's words: {cloze_ok}/{cloze}")
    print(f"clause sentence occurs in the indexed passage it cites: {clause_in_passage}/{n}")
    print(f"distractors never occur in the clause: {clean}/{n}")
    print("kinds:", dict(Counter((i["kind"], i["fact"]) for i in items)))
    print("documents:", dict(Counter(i["doc_id"] for i in items)))
    sample = random.Random(args.seed).sample(items, min(args.sample, n))
    for k, i in enumerate(sample, 1):
        opts = " | ".join(("*" if j == i["correct"] else "") + o for j, o in enumerate(i["options"]))
        print(f"\n[{k}] {i['item_id']} {i['kind']}/{i['fact']}\n{i['question']}\n  {opts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
