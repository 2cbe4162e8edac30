"""Whether a question is about what the collection is about: the domain check.

Word overlap alone (the relevance share, bot/retrieval/query.py) lets through off-topic questions that
share a phrase with some passage ("Thời tiết Hà Nội", "quán cà phê ở Thủ Dầu Một"). The domain check
asks a different question: are the words carrying the question's meaning typical of this collection,
or of Vietnamese text in general?

For each content token (folded syllables and syllable pairs, as the lexical index holds them) its
log-odds compares the share of the collection's passages containing it with the share of general
Vietnamese texts containing it (the background table, bot/retrieval/data/background.json.gz, built by
scripts/build_background.py). The question's specificity is the mean of the clipped log-odds,
weighted by each token's IDF in the collection (rare and missing words carry the meaning). Both
sides are document frequencies, so the check adapts to whatever collection is loaded: its own
statistics come from the lexical index.
"""

from __future__ import annotations

import functools
import gzip
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bot.documents import vietnamese

BACKGROUND = Path(__file__).with_name("data") / "background.json.gz"
MEDIAN_FILE = "domain_median.json"  # in an index version: the collection's median, measured by the build
CLIP = 3.0  # a token's log-odds counts at most this much either way


@dataclass(frozen=True)
class Background:
    """How many general texts contain each frequent token (df), out of `texts`; tokens below `floor`
    were not kept."""

    texts: int
    floor: int
    df: dict[str, int]

    @classmethod
    def load(cls, path: Path = BACKGROUND) -> "Background":
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            raw = json.load(fh)
        return cls(int(raw["texts"]), int(raw["floor"]), {k: int(v) for k, v in raw["df"].items()})

    def share(self, token: str) -> float | None:
        """Share of general texts containing the token; None when it is below the table's floor."""
        df = self.df.get(token)
        return None if df is None else df / self.texts


@functools.lru_cache(maxsize=1)
def background() -> Background:
    return Background.load()


def token_log_odds(token: str, df: int, passages: int, bg: Background) -> float | None:
    """Log of (share of passages containing the token) / (share of general texts containing it),
    smoothed and clipped to ±CLIP; None when neither side has seen it (a typo, a name: no evidence)."""
    general = bg.share(token)
    if df == 0 and general is None:
        return None
    here = (df + 0.5) / (passages + 1.0)
    if general is None:  # rarer in general text than the table keeps
        general = bg.floor / 2.0 / bg.texts
    general = max(general, 0.5 / (bg.texts + 1.0))
    return max(-CLIP, min(CLIP, math.log(here / general)))


def content_tokens(tokens: list[str] | tuple[str, ...]) -> list[str]:
    """The question's tokens that can carry meaning: no stopwords, no bare numbers, each once."""
    out = []
    for t in dict.fromkeys(tokens):
        parts = t.split("_")
        if all(p.isdigit() for p in parts) or all(p in vietnamese.STOPWORDS for p in parts):
            continue
        out.append(t)
    return out


def specificity(tokens: list[str] | tuple[str, ...], df: Callable[[str], int], passages: int,
                idf: Callable[[str], float], bg: Background | None = None) -> float | None:
    """IDF-weighted mean log-odds of the question's content tokens (None: no evidence either way)."""
    bg = bg or background()
    total = weight_sum = 0.0
    for t in content_tokens(tokens):
        score = token_log_odds(t, df(t), passages, bg)
        if score is None:
            continue
        w = idf(t)
        total += w * score
        weight_sum += w
    return total / weight_sum if weight_sum > 0 else None


class DomainCheck:
    """The domain check of one index version: the question's specificity against a floor read off the
    collection itself, so that it adapts to whatever collection is loaded.

    The floor is `factor` times the median specificity of short windows of the collection's own passages
    (each scored as if its passage were not in the collection): a collection of Party texts, whose words
    are far from general text, gets a high floor; a collection of general text (news, encyclopaedia)
    gets a floor near zero and rejects almost nothing on this ground.
    """

    WINDOW = 15  # words per sampled window (a question's length)
    SAMPLES = 300  # passages sampled

    def __init__(self, df: Callable[[str], int], passages: int, idf: Callable[[str], float],
                 passage_text: Callable[[int], str], bg: Background | None = None) -> None:
        self._df, self._n, self._idf, self._text = df, passages, idf, passage_text
        self._bg = bg
        self._median: float | None = None

    def specificity(self, tokens: list[str] | tuple[str, ...]) -> float | None:
        return specificity(tokens, self._df, self._n, self._idf, self._bg)

    def median(self) -> float:
        """Median specificity of windows of the collection's passages (computed once, ~0.1 s)."""
        if self._median is None:
            values = []
            for position in range(0, self._n, max(1, self._n // self.SAMPLES)):
                words = self._text(position).split()
                own = set()
                for start in range(0, min(len(words), 60), 20):
                    toks = vietnamese.search_tokens(vietnamese.normalize(" ".join(words[start:start + self.WINDOW])),
                                                    folded=True)
                    own = set(vietnamese.search_tokens(vietnamese.normalize(" ".join(words)), folded=True)) \
                        if not own else own
                    score = specificity(toks, lambda t: max(0, self._df(t) - (t in own)), self._n, self._idf,
                                        self._bg)
                    if score is not None:
                        values.append(score)
            values.sort()
            self._median = values[len(values) // 2] if values else 0.0
        return self._median

    def save_median(self, path: Path) -> None:
        path.write_text(json.dumps({"median": self.median()}), encoding="utf-8")

    def load_median(self, path: Path) -> None:
        """Use the median the build measured (an older version has none: it is measured at first use)."""
        try:
            self._median = float(json.loads(path.read_text(encoding="utf-8"))["median"])
        except (OSError, ValueError, KeyError, TypeError):
            self._median = None

    def off_topic(self, tokens: list[str] | tuple[str, ...], factor: float) -> bool:
        """Whether the question's words are too little typical of the collection (no evidence: False)."""
        score = self.specificity(tokens)
        return score is not None and score < factor * max(0.0, self.median())
