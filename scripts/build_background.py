"""Rebuild bot/retrieval/data/background.json.gz: how common each word and word pair is in general
Vietnamese text (the domain check's background, bot/retrieval/domain.py).

Reads the query -> positive pairs of the training pack (../shared/train/pairs.jsonl: news, health and
general Q&A; its README names the sources and their licences), takes every `step`-th pair, counts in
how many texts (queries and passages, each a text) each folded search token occurs, and keeps the
`keep` most frequent. Only these counts are written; no text of the pack.

    python scripts/build_background.py [--pack ../shared/train/pairs.jsonl] [--step 2] [--keep 40000]
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.documents import vietnamese  # noqa: E402

OUT = REPO / "bot" / "retrieval" / "data" / "background.json.gz"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", type=Path, default=REPO.parent.parent / "shared" / "train" / "pairs.jsonl")
    ap.add_argument("--step", type=int, default=2, help="take every step-th pair")
    ap.add_argument("--keep", type=int, default=40000, help="tokens kept (the most frequent)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    if not args.pack.is_file():
        ap.error(f"{args.pack}: training pack not found")
    df: collections.Counter[str] = collections.Counter()
    texts = 0
    seen: set[int] = set()
    with open(args.pack, encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n % args.step:
                continue
            row = json.loads(line)
            for text in (row["query"], row["positive"]):
                if hash(text) in seen:
                    continue
                seen.add(hash(text))
                df.update(set(vietnamese.search_tokens(vietnamese.normalize(text), folded=True)))
                texts += 1
    kept = dict(sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))[:args.keep])
    floor = min(kept.values()) if kept else 1
    table = {"source": "shared/train/pairs.jsonl (see bot/retrieval/data/README.md)", "texts": texts,
             "floor": floor, "df": kept}
    with gzip.open(args.out, "wt", encoding="utf-8", compresslevel=9) as fh:
        json.dump(table, fh, ensure_ascii=False, separators=(",", ":"))
    print(f"{texts} texts, {len(df)} distinct tokens, kept {len(kept)} (df >= {floor}): "
          f"{args.out} ({args.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
