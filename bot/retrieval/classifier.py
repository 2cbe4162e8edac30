"""The domain classifier: a second, discriminative opinion on whether a question is about the collection.

The domain check (bot/retrieval/domain.py) compares each word's share of the collection with its share of
general text, word by word. This classifier learns, at index time, which words and word pairs tell the
collection's own text from general text together: an L2 logistic regression over hashed folded syllables
and syllable pairs (content tokens only, so that the question's form does not count), positives = short
windows (5-16 words) of a sample of the collection's passages and its titles, negatives = short windows of
general Vietnamese text (bot/retrieval/data/general_windows.json.gz, built by
scripts/build_general_windows.py: bags of token ids, no text) minus those whose words are as typical of
this collection as its own text (so a collection of news or encyclopaedia text does not learn its own kind
as "general"). Both sides are windows of running text, so patient questions, headlines and Party questions
are judged by their words, not their register.

It is used as a veto only where the words are in doubt (bot/service/answering.py): a question whose best
passage covers it weakly (relevance under RELEVANCE) and that the classifier scores under FLOOR. A
collection whose own held-out windows the classifier does not clearly tell from general text (the median
held-out logit less than SEPARATION above the 90th percentile of the negatives: a mixed or general
collection) gets no classifier; nor does one under MIN_PASSAGES passages.

Deterministic (fixed seeds, full-batch AdaGrad), numpy only; trained in a few seconds on at most SAMPLES
passages whatever the collection's size; saved as CLASSIFIER in the index version.
"""

from __future__ import annotations

import functools
import gzip
import json
import random
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from bot.documents import vietnamese
from bot.retrieval import domain

GENERAL = Path(__file__).with_name("data") / "general_windows.json.gz"
CLASSIFIER = "domain_classifier.npz"  # in the index version
DIM = 1 << 18  # hashed feature space
SAMPLES = 3000  # passages sampled for positives (4 windows each; every 5th passage held out)
MIN_PASSAGES = 200
FLOOR = -0.5  # logit under which a weakly covered question is off-topic
RELEVANCE = 0.38  # ... when its best passage covers less than this (the relevance share)
SEPARATION = 1.5  # median held-out logit minus the negatives' 90th percentile needed to use it


def features(tokens: Iterable[str]) -> np.ndarray:
    """Hashed ids of the question's content tokens (folded syllables and syllable pairs)."""
    return np.array(sorted({zlib.crc32(t.encode()) % DIM for t in domain.content_tokens(list(tokens))}),
                    dtype=np.int64)


def _tokens(text: str) -> list[str]:
    return vietnamese.search_tokens(vietnamese.normalize(text), folded=True)


def train(rows: list[np.ndarray], y: np.ndarray, l2: float = 1e-4, iters: int = 300,
          rate: float = 0.5) -> tuple[np.ndarray, float]:
    """Class-balanced L2 logistic regression (rows of feature ids, each row scaled to unit length) by
    full-batch AdaGrad: weights over DIM and a bias."""
    lens = np.array([len(r) for r in rows])
    ids = np.concatenate(rows)
    row_of = np.repeat(np.arange(len(rows)), lens)
    value = (1 / np.sqrt(np.maximum(lens, 1)))[row_of]
    w, b = np.zeros(DIM), 0.0
    weight = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean())) / len(y)
    g2, gb2 = np.full(DIM, 1e-8), 1e-8
    for _ in range(iters):
        z = np.bincount(row_of, weights=w[ids] * value, minlength=len(rows)) + b
        residual = (1 / (1 + np.exp(-z)) - y) * weight
        g = np.bincount(ids, weights=residual[row_of] * value, minlength=DIM) + l2 * w
        gb = float(residual.sum())
        g2 += g * g
        gb2 += gb * gb
        w -= rate * g / np.sqrt(g2)
        b -= rate * gb / np.sqrt(gb2)
    return w, b


@functools.lru_cache(maxsize=1)
def general_windows() -> tuple[tuple[str, ...], ...]:
    with gzip.open(GENERAL, "rt", encoding="utf-8") as fh:
        raw = json.load(fh)
    vocab = raw["vocab"]
    return tuple(tuple(vocab[i] for i in bag) for bag in raw["windows"])


@dataclass
class DomainClassifier:
    weights: np.ndarray  # float32 over DIM
    bias: float
    separation: float

    def logit(self, tokens: Iterable[str]) -> float | None:
        """Log-odds that the question's words are the collection's rather than general text's (None:
        no content word)."""
        f = features(tokens)
        return self.logit_of(f) if len(f) else None

    def logit_of(self, f: np.ndarray) -> float:
        return float(self.weights[f].sum() / np.sqrt(len(f)) + self.bias)

    def save(self, path: Path) -> None:
        nonzero = np.flatnonzero(self.weights).astype(np.int32)
        np.savez_compressed(path, ids=nonzero, values=self.weights[nonzero].astype(np.float32),
                            bias=np.float64(self.bias), separation=np.float64(self.separation))

    @classmethod
    def load(cls, path: Path) -> "DomainClassifier":
        with np.load(path) as z:
            weights = np.zeros(DIM, dtype=np.float32)
            weights[z["ids"]] = z["values"]
            return cls(weights, float(z["bias"]), float(z["separation"]))


def fit(passages: int, passage_text: Callable[[int], str], titles: Iterable[str], df: Callable[[str], int],
        idf: Callable[[str], float]) -> DomainClassifier | None:
    """Train on the collection (None: too small, or its text not clearly apart from general text)."""
    if passages < MIN_PASSAGES:
        return None
    rng = random.Random(0)
    own, held = [], []
    for n, i in enumerate(sorted(rng.sample(range(passages), min(passages, SAMPLES)))):
        words = passage_text(i).split()
        for _ in range(4):
            size = rng.randint(5, 16)
            start = rng.randint(0, max(0, len(words) - size))
            (held if n % 5 == 4 else own).append(features(_tokens(" ".join(words[start:start + size]))))
    own += [features(_tokens(t)) for t in titles]
    check = domain.DomainCheck(df, passages, idf, passage_text)
    median = check.median()
    negatives = []
    for bag in general_windows():
        score = check.specificity(bag)
        if score is None or score < median:  # as typical of the collection as its own text: not a negative
            negatives.append(features(bag))
    own = [f for f in own if len(f)]
    negatives = [f for f in negatives if len(f)]
    if not own or not negatives:
        return None
    w, b = train(own + negatives, np.array([1.0] * len(own) + [0.0] * len(negatives)))
    model = DomainClassifier(w.astype(np.float32), b, 0.0)
    held_logits = [model.logit_of(f) for f in held if len(f)]
    neg_logits = [model.logit_of(f) for f in negatives]
    model.separation = float(np.median(held_logits) - np.percentile(neg_logits, 90)) if held_logits else 0.0
    return model if model.separation >= SEPARATION else None
