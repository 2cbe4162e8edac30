"""Train the shipped Vietnamese static embedding model (models/vi-static) from the training pack.

    python scripts/train_embedding.py [--pack ../shared/train] [--out models/vi-static] [--seed 0]

Recipe (each step can be changed by an option; `--help` lists them):
1. a word-level tokenizer over the pack's syllables, normalised like the builtin model (no diacritics,
   lower case, đ -> d), so questions typed without diacritics read the same;
2. token vectors initialised at random (or, --init lsa, by LSA over the pack's passages, the builtin
   model's own recipe: BM25-weighted passage × token matrix, truncated SVD, idf · v · Σ^¼);
3. contrastive training of that sentence-transformers StaticEmbedding on the query -> positive pairs with
   in-batch negatives (MultipleNegativesRankingLoss, optionally wrapped in MatryoshkaLoss);
4. saved as an ordinary sentence-transformers folder with a model card; recall@10 and MRR@10 on the
   pack's held-out dev.jsonl are measured before and after training and written to the card.

Deterministic given --seed (one torch thread by default; the pair order, SVD and initialisation are
seeded). Takes about 5-10 minutes on one core for the whole pack (2 epochs). Never downloads anything.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.retrieval.embedding import (  # noqa: E402
    StaticModel,
    silent_tokens,
    token_counts,
    train_tokenizer,
    word_vectors,
)

# ../shared/train beside the repository (or beside the folder holding a worktree)
DEFAULT_PACK = next((p / "shared" / "train" for p in REPO.parents if (p / "shared" / "train").is_dir()),
                    REPO.parent / "shared" / "train")
DEFAULT_OUT = REPO / "models" / "vi-static"
INFO_FILE = "training.json"
NEWS_SOURCES = {"vietnews-title-abstract", "baomoi-title-body"}
log = logging.getLogger("train_embedding")


@dataclass
class Pair:
    query: str
    positive: str
    source: str
    negative: str = ""  # a hard negative (a passage BM25 ranks high for the query, not its positive)


def read_pairs(path: Path, limit: int = 0) -> list[Pair]:
    pairs = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            pairs.append(Pair(row["query"], row["positive"], row.get("source", "")))
            if limit and len(pairs) >= limit:
                break
    return pairs


def build_tokenizer(pairs: list[Pair], vocabulary: int, min_frequency: int):
    texts = [p.query for p in pairs] + list(dict.fromkeys(p.positive for p in pairs))
    return train_tokenizer(texts, max_vocabulary=vocabulary, min_frequency=min_frequency)


def lsa_vectors(tokenizer, pairs: list[Pair], dim: int, seed: int) -> np.ndarray:
    """Token vectors by the builtin model's LSA recipe over the pack's distinct passages."""
    passages = list(dict.fromkeys(p.positive for p in pairs))
    counts = token_counts(tokenizer, passages)
    weights, rank = word_vectors(counts, dim, seed, ignored=silent_tokens(tokenizer))
    log.info("LSA initialisation: %d passages, rank %d", len(passages), rank)
    return weights


def mine_negatives(tokenizer, pairs: list[Pair], skip: int, seed: int) -> int:
    """Give each pair a hard negative: among the pack's passages that BM25 (over the tokenizer's folded
    syllables) ranks highest for the query, the `skip`-th one that is not its positive (0 = the best)."""
    import bm25s

    passages = list(dict.fromkeys(p.positive for p in pairs))
    vocabulary = tokenizer.get_vocab()
    silent = {t for t in vocabulary if not any(ch.isalnum() for ch in t)}

    def tokens(texts: list[str]) -> list[list[str]]:
        return [[t for t in e.tokens if t not in silent] for e in tokenizer.encode_batch(texts, add_special_tokens=False)]

    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    retriever.index(tokens(passages), show_progress=False)
    queries = tokens([p.query for p in pairs])
    found, _ = retriever.retrieve([q or ["[UNK]"] for q in queries], k=skip + 3, show_progress=False,
                                  n_threads=1)
    mined = 0
    for pair, row in zip(pairs, found):
        others = [passages[i] for i in row if passages[i] != pair.positive]
        if len(others) > skip:
            pair.negative = others[skip]
            mined += 1
    log.info("hard negatives: %d of %d pairs (BM25 over %d passages, skip %d)", mined, len(pairs), len(passages), skip)
    return mined


# --- measuring ---------------------------------------------------------------------------------------


def retrieval_scores(model: StaticModel, pairs: list[Pair]) -> dict[str, float]:
    """Each dev query against every distinct dev positive: recall@1/10 and MRR@10."""
    passages = list(dict.fromkeys(p.positive for p in pairs))
    where = {text: i for i, text in enumerate(passages)}
    gold = np.array([where[p.positive] for p in pairs])
    scores = model.encode([p.query for p in pairs]) @ model.encode(passages).T
    right = scores[np.arange(len(pairs)), gold]
    rank = 1 + (scores > right[:, None]).sum(axis=1)
    return {"recall@1": float((rank <= 1).mean()), "recall@10": float((rank <= 10).mean()),
            "mrr@10": float(np.where(rank <= 10, 1.0 / rank, 0.0).mean())}


# --- training ----------------------------------------------------------------------------------------


def make_model(tokenizer, weights: np.ndarray):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    return SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=weights)], device="cpu")


def make_loss(model, kind: str, matryoshka: list[int], scale: float):
    from sentence_transformers.sentence_transformer import losses

    if kind == "cached":
        loss = losses.CachedMultipleNegativesRankingLoss(model, scale=scale, mini_batch_size=256)
    else:
        loss = losses.MultipleNegativesRankingLoss(model, scale=scale)
    if matryoshka:
        loss = losses.MatryoshkaLoss(model, loss, matryoshka_dims=matryoshka)
    return loss


def batches(pairs: list[Pair], size: int, rng: random.Random):
    """Shuffled batches in which no positive occurs twice (a duplicate would be a false negative)."""
    order = list(range(len(pairs)))
    rng.shuffle(order)
    batch: list[Pair] = []
    seen: set[str] = set()
    for i in order:
        pair = pairs[i]
        texts = (pair.positive, pair.query, pair.negative) if pair.negative else (pair.positive, pair.query)
        if any(t in seen for t in texts):
            continue  # dropped for this epoch only
        batch.append(pair)
        seen.update(texts)
        if len(batch) == size:
            yield batch
            batch, seen = [], set()
    if len(batch) > 1:
        yield batch


def train(model, pairs: list[Pair], args) -> list[float]:
    import torch
    from tqdm import tqdm

    loss_fn = make_loss(model, args.loss, args.matryoshka, args.scale)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = max(1, len(pairs) // args.batch)
    total = steps_per_epoch * args.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / max(1, total // 10)) * max(0.0, 1 - step / total))
    rng = random.Random(args.seed)
    losses_seen: list[float] = []
    model.train()
    with tqdm(total=total, desc="training", unit="batch", disable=args.quiet) as bar:
        for epoch in range(args.epochs):
            for batch in batches(pairs, args.batch, rng):
                features = [model.preprocess([p.query for p in batch]), model.preprocess([p.positive for p in batch])]
                if args.hard_negatives and all(p.negative for p in batch):
                    features.append(model.preprocess([p.negative for p in batch]))
                loss = loss_fn(features, torch.zeros(len(batch)))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                losses_seen.append(float(loss.detach()))
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{losses_seen[-1]:.3f}")
    model.eval()
    return losses_seen


def numpy_model(model) -> StaticModel:
    module = list(model)[0]
    return StaticModel(module.tokenizer, module.embedding.weight.detach().cpu().numpy().astype(np.float32))


# --- saving ------------------------------------------------------------------------------------------


def save(model, out: Path, about: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out), create_model_card=False)
    (out / INFO_FILE).write_text(json.dumps(about, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    card = REPO / "scripts" / "vi_static_card.md"
    if card.is_file():  # the model card: sources, licences, recipe; figures filled in from `about`
        text = card.read_text(encoding="utf-8")
        for key, value in flatten(about).items():
            text = text.replace("{" + key + "}", str(value))
        (out / "README.md").write_text(text, encoding="utf-8")


def flatten(about: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in about.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[prefix + key] = f"{value:.4g}" if isinstance(value, float) else value
    return flat


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pack", type=Path, default=DEFAULT_PACK, help="folder with pairs.jsonl and dev.jsonl")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--vocabulary", type=int, default=60_000, help="largest tokenizer vocabulary")
    ap.add_argument("--min-frequency", type=int, default=3, help="a token must occur this often in the pack")
    ap.add_argument("--init", choices=["lsa", "random"], default="random",
                    help="token vectors before training: random, or LSA over the pack's passages")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=0.2, help="Adam learning rate (warm-up 10%%, then linear decay)")
    ap.add_argument("--scale", type=float, default=20.0, help="MultipleNegativesRankingLoss scale (1/temperature)")
    ap.add_argument("--loss", choices=["mnrl", "cached"], default="mnrl")
    ap.add_argument("--matryoshka", type=int, nargs="*", default=[], help="e.g. 256 128 64")
    ap.add_argument("--qa-repeat", type=int, default=1,
                    help="train on each question -> passage pair (not news) this many times per epoch")
    ap.add_argument("--hard-negatives", action="store_true",
                    help="add a BM25-mined hard negative to each pair (anchor, positive, negative)")
    ap.add_argument("--negative-skip", type=int, default=0,
                    help="take the n-th best non-positive BM25 passage as the hard negative (0 = the best)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training pairs (trials)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    pairs = read_pairs(args.pack / "pairs.jsonl", args.limit)
    dev = read_pairs(args.pack / "dev.jsonl")
    if args.qa_repeat > 1:  # questions are what the bot is asked; news titles are most of the pack
        pairs += [p for p in pairs if p.source not in NEWS_SOURCES] * (args.qa_repeat - 1)
    log.info("%d training pairs, %d dev pairs", len(pairs), len(dev))
    tokenizer = build_tokenizer(pairs, args.vocabulary, args.min_frequency)
    log.info("tokenizer: %d tokens", tokenizer.get_vocab_size())
    if args.hard_negatives:
        mine_negatives(tokenizer, pairs, args.negative_skip, args.seed)
        pairs = [p for p in pairs if p.negative]
    if args.init == "lsa":
        weights = lsa_vectors(tokenizer, pairs, args.dim, args.seed)
    else:
        weights = np.random.default_rng(args.seed).normal(0, 0.1, (tokenizer.get_vocab_size(), args.dim))
    weights = weights.astype(np.float32)
    before = retrieval_scores(StaticModel(tokenizer, weights), dev)
    log.info("dev before training: %s", before)
    model = make_model(tokenizer, weights)
    losses = train(model, pairs, args) if args.epochs else []
    after = retrieval_scores(numpy_model(model), dev)
    log.info("dev after training: %s", after)
    about = {
        # the options that shape the model (not where it was read from or written to)
        "recipe": {k: v for k, v in vars(args).items() if k not in ("pack", "out", "quiet")},
        "training_pairs": len(pairs), "dev_pairs": len(dev), "vocabulary": tokenizer.get_vocab_size(),
        "dev_before": before, "dev_after": after, "final_loss": losses[-1] if losses else None,
        "seconds": round(time.perf_counter() - started, 1),
    }
    save(model, args.out, about)
    log.info("saved to %s in %.0f s", args.out, about["seconds"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
