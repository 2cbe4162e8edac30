"""Index-time adaptation of a static embedding model to the collection it will search.

The collection gives training pairs for free: a passage's heading (its document's title, the first line
of its index text) -> the rest of it, and inverse-cloze pairs (one sentence of a passage -> the passage
without that sentence). A static model (a token vector table, mean-pooled) is trained further on them
with in-batch negatives (sentence-transformers' MultipleNegativesRankingLoss), so that words the
collection uses together, and the way a sentence is phrased against its context, pull together.

Capped: at most `pairs` pairs from a deterministic sample of passages, so a million-passage build pays the
same as a ten-thousand-passage one. torch is imported here only (at index time); the result is a plain
weight matrix, saved as an ordinary StaticEmbedding folder and encoded in NumPy at query time.
Deterministic given the seed and the number of torch threads (tested).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
MIN_SENTENCE_WORDS = 4  # shorter "sentences" (numbering, headings) say too little to be a query
MIN_REST_WORDS = 8  # the rest of the passage must still be a passage
MAX_ROUNDS = 8  # a small collection gives at most this many pairs per passage


@dataclass
class AdaptSettings:
    pairs: int = 20_000  # at most this many training pairs (a deterministic sample of passages)
    epochs: int = 3
    lr: float = 0.05  # Adam learning rate, relative to the root-mean-square of the token vectors
    batch: int = 512
    scale: float = 20.0  # MultipleNegativesRankingLoss scale (1/temperature)
    heading_share: float = 0.25  # share of the pairs that are heading -> passage (the rest inverse cloze)
    seed: int = 0


def _sentences(text: str) -> list[str]:
    return [s for s in SENTENCE_END.split(text) if len(s.split()) >= MIN_SENTENCE_WORDS]


def collection_pairs(texts: list[str], settings: AdaptSettings) -> list[tuple[str, str]]:
    """(query, positive) pairs from a deterministic sample of `texts` (index texts: heading lines first).

    Heading pairs: the first line (a document title) -> the remaining lines. Inverse-cloze pairs: one
    sentence of the body -> the index text without it. Passages too short for a pair give none.
    """
    rng = np.random.default_rng(settings.seed)
    wanted = max(0, settings.pairs)
    if wanted == 0 or not texts:
        return []
    pairs: list[tuple[str, str]] = []
    for i in _passage_order(len(texts), wanted, rng):
        text = texts[i]
        lines = text.split("\n")
        if len(lines) > 1 and rng.random() < settings.heading_share:
            rest = "\n".join(lines[1:])
            if lines[0].strip() and len(rest.split()) >= MIN_REST_WORDS:
                pairs.append((lines[0], rest))
        else:
            body = lines[-1]
            sentences = _sentences(body)
            if len(sentences) >= 2:
                chosen = sentences[int(rng.integers(len(sentences)))]
                rest = text.replace(chosen, " ", 1)
                if len(rest.split()) >= MIN_REST_WORDS:
                    pairs.append((chosen, rest))
        if len(pairs) >= wanted:
            break
    return pairs


def _passage_order(n: int, wanted: int, rng: np.random.Generator):
    """Passages to draw pairs from: a small collection is gone through several times (another sentence
    each time), a large one sampled (at most a few times `wanted` passages are ever looked at)."""
    if n > 4 * wanted:
        yield from rng.choice(n, 4 * wanted, replace=False).tolist()
        return
    for _ in range(MAX_ROUNDS):
        yield from rng.permutation(n).tolist()


def _batches(pairs: list[tuple[str, str]], size: int, rng: np.random.Generator):
    """Shuffled batches without a repeated query or positive (a repeat would be a false negative)."""
    batch: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i in rng.permutation(len(pairs)).tolist():
        query, positive = pairs[i]
        if query in seen or positive in seen:
            continue
        batch.append(pairs[i])
        seen.update((query, positive))
        if len(batch) == size:
            yield batch
            batch, seen = [], set()
    if len(batch) > 1:
        yield batch


def adapt_weights(tokenizer, weights: np.ndarray, texts: list[str], settings: AdaptSettings,
                  frozen: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """The token vectors after training on the collection's pairs, and what was done (pairs, loss).

    `frozen` marks tokens whose vectors stay as they are (punctuation and [UNK], zero in the builtin
    model). Returns `weights` unchanged (a copy) when the collection gives fewer than two pairs.
    """
    pairs = collection_pairs(texts, settings)
    about = {"pairs": len(pairs), "epochs": settings.epochs, "lr": settings.lr, "batch": settings.batch,
             "seed": settings.seed}
    if len(pairs) < 2 or settings.epochs <= 0:
        return np.array(weights, dtype=np.float32, copy=True), about
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import losses
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    from bot import runtime

    runtime.limit_torch_threads()
    torch.manual_seed(settings.seed)
    moving = np.abs(weights).sum(axis=1) > 0 if frozen is None else ~frozen
    rms = float(np.sqrt(np.mean(weights[moving] ** 2))) if moving.any() else 1.0
    model = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=weights.copy())],
                                device="cpu")  # a copy: torch would share, and train, the caller's array
    table = list(model)[0].embedding.weight
    keep = torch.from_numpy(~moving)
    table.register_hook(lambda grad: grad.masked_fill(keep[:, None], 0.0))
    loss_fn = losses.MultipleNegativesRankingLoss(model, scale=settings.scale)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr * (rms or 1.0))
    rng = np.random.default_rng(settings.seed + 1)
    losses_seen: list[float] = []
    model.train()
    for _ in range(settings.epochs):
        for batch in _batches(pairs, settings.batch, rng):
            features = [model.preprocess([q for q, _ in batch]), model.preprocess([p for _, p in batch])]
            loss = loss_fn(features, torch.zeros(len(batch)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses_seen.append(float(loss.detach()))
    model.eval()
    about |= {"steps": len(losses_seen), "first_loss": losses_seen[0] if losses_seen else None,
              "last_loss": losses_seen[-1] if losses_seen else None}
    adapted = table.detach().cpu().numpy().astype(np.float32)
    adapted[~moving] = weights[~moving]
    log.info("embedding adapted to the collection: %d pairs, %d steps, loss %.3f -> %.3f", len(pairs),
             len(losses_seen), about["first_loss"] or 0, about["last_loss"] or 0)
    return np.ascontiguousarray(adapted), about
