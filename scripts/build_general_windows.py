"""Build bot/retrieval/data/general_windows.json.gz: the domain classifier's general-text negatives
(bot/retrieval/classifier.py).

6,000 short windows (5-16 words) of the training pack's texts (../shared/train/pairs.jsonl): 3,000 from
question-answer passages (the UIT handcrafted set, Zalo 2019 wiki QA, DICA, PubHealthQA; XQuAD left out,
share-alike), 2,000 from news leads and 1,000 news titles, seed 7. Stored as bags of folded search tokens
that are in the domain check's background table, as ids into that vocabulary: no text. Passages that
bench/offtopic.py uses as its health, regulation and wikiqa collections are left out.

    python scripts/build_general_windows.py [--pack ../shared/train/pairs.jsonl]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.documents import vietnamese  # noqa: E402
from bot.retrieval import domain  # noqa: E402
from bot.retrieval.classifier import GENERAL  # noqa: E402

NEWS = {"vietnews-title-abstract", "baomoi-title-body"}
BENCH = ({"dica", "pubhealthqa"}, {"uit-handcrafted"}, {"zalo2019-wiki", "xquad-vi"})  # bench/offtopic.py pairs()


def main() -> None:
    ap = argparse.ArgumentParser()
    shared = next((p / "shared" for p in REPO.parents if (p / "shared" / "train").is_dir()), REPO.parent / "shared")
    ap.add_argument("--pack", type=Path, default=shared / "train" / "pairs.jsonl")
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(args.pack, encoding="utf-8")]
    bench = set()
    for sources in BENCH:
        chosen = [r for r in rows if r["source"] in sources]
        random.Random(1).shuffle(chosen)
        bench |= {r["positive"] for r in chosen[:500]}
    rng = random.Random(7)
    rng.shuffle(rows)

    def window(text: str) -> str:
        words = text.split()
        size = rng.randint(5, 16)
        start = rng.randint(0, max(0, len(words) - size))
        return " ".join(words[start:start + size])

    qa = [window(r["positive"]) for r in rows if r["source"] not in NEWS | {"xquad-vi"} and r["positive"] not in bench]
    news = [window(r["positive"]) for r in rows if r["source"] in NEWS]
    titles = [r["query"] for r in rows if r["source"] in NEWS][3000:4000]
    known = domain.background().df
    vocab: dict[str, int] = {}
    bags = []
    for text in qa[:3000] + news[:2000] + titles:
        tokens = vietnamese.search_tokens(vietnamese.normalize(text), folded=True)
        bag = sorted({vocab.setdefault(t, len(vocab)) for t in domain.content_tokens(tokens) if t in known})
        if bag:
            bags.append(bag)
    with gzip.open(GENERAL, "wt", encoding="utf-8") as fh:
        json.dump({"vocab": list(vocab), "windows": bags}, fh, separators=(",", ":"))
    print(f"{len(bags)} windows, {len(vocab)} tokens -> {GENERAL}")


if __name__ == "__main__":
    main()
