"""A question as the index sees it (`QueryTerms`), and how much of it a passage covers (`Relevance`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from bot.documents import docnumbers, vietnamese
from bot.retrieval.understanding import QueryUnderstanding, added_tokens


@dataclass(frozen=True)
class QueryTerms:
    """The question as the index sees it."""

    normalized: str
    folded_tokens: list[str]
    accented_tokens: list[str]  # empty when the question has no diacritics
    words: list[str]  # unigrams to highlight
    doc_keys: list[str]  # docnumbers keys named in the question
    # query understanding (bot/retrieval/understanding.py): the question with shorthand written out, and
    # the tokens it adds, searched at retrieval.expansion_weight
    rewritten: str = ""
    added_folded: tuple[str, ...] = ()
    added_accented: tuple[str, ...] = ()
    relevance_tokens: tuple[str, ...] = ()  # folded tokens of the rewritten question
    # numbers a common name in the question means ("19 điều cấm" -> Quy định 37): they steer the ranking,
    # but the question does not name them (no document card, no way past the relevance checks)
    implied_keys: tuple[str, ...] = ()
    # common names found: (the folded tokens of their words in the question, the folded tokens of each
    # phrase they add): a passage with the name's wording covers those words (Relevance)
    alternatives: tuple[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]], ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.rewritten) and self.rewritten != self.normalized


def analyse(query: str, understanding: QueryUnderstanding) -> QueryTerms:
    """Tokens, document numbers and understood shorthand of a question."""
    normalized = vietnamese.normalize(query)
    folded = vietnamese.search_tokens(normalized, folded=True)
    accented = vietnamese.search_tokens(normalized, folded=False) \
        if vietnamese.has_diacritics(normalized) else []
    words = [t for t in (accented or folded) if "_" not in t]
    exp = understanding.expand(normalized)
    rewritten = vietnamese.normalize(exp.rewritten) if exp.changed else normalized
    keys = _doc_keys(rewritten)
    implied = tuple(k for k in _doc_keys(" ; ".join(exp.extra_terms)) if k not in keys)
    alternatives = tuple((tuple(vietnamese.search_tokens(name, folded=True)),
                          tuple(tuple(vietnamese.search_tokens(p, folded=True)) for p in phrases))
                         for name, phrases in exp.named)
    if not exp.changed and not exp.extra_terms:
        return QueryTerms(normalized, folded, accented, words, keys, relevance_tokens=tuple(folded),
                          implied_keys=implied)
    added_text = exp.rewritten + " " + " ".join(exp.extra_terms)
    added_accented = tuple(added_tokens(exp, folded=False)) if vietnamese.has_diacritics(added_text) else ()
    new_words = [t for t in vietnamese.search_tokens(rewritten, folded=not accented and
                                                     not vietnamese.has_diacritics(rewritten))
                 if "_" not in t and t not in words]
    return QueryTerms(normalized, folded, accented, words + new_words, keys, rewritten=rewritten,
                      added_folded=tuple(added_tokens(exp, folded=True)), added_accented=added_accented,
                      relevance_tokens=tuple(vietnamese.search_tokens(rewritten, folded=True)),
                      implied_keys=implied, alternatives=alternatives)


def _doc_keys(text: str) -> list[str]:
    keys: list[str] = []
    for n in docnumbers.find_doc_numbers(text):
        keys.append(n.key)
        resolution = docnumbers.PLENUM_RESOLUTIONS.get(n.canonical)
        if resolution:  # "NQ TW4 khóa XII" also names 04-NQ/TW
            keys.append(docnumbers.doc_key(resolution) or "")
    return [k for k in dict.fromkeys(keys) if k]


@dataclass(frozen=True)
class Scaling:
    """How the share a passage covers is read against the size of the question and of the passage.

    The share of a question found in one passage is naturally smaller for a long question (a patient's
    54-word story) and for a short passage (a headline against a 36-word lead), for right answers and
    chance matches alike. A passage that holds at least `min_pairs` of the question's word pairs (evidence
    that does not shrink with the question's length) has its share read against the expected fall:
    divided by (question_words / words)^question_exponent beyond `question_words` content words and by
    (passage words / passage_words)^passage_exponent under `passage_words` words, never by less than
    `min_factor` (so the bar never falls under half of min_relevance). Other passages keep the share
    itself. Sizes, exponents and pairs were calibrated on four collections and checked on three held out
    (bench/offtopic.py --calibrate; docs/benchmarks.md, section 1).
    """

    question_words: int = 12  # 0: no scaling by the question's length
    passage_words: int = 120  # 0: no scaling by the passage's length
    question_exponent: float = 1.0
    passage_exponent: float = 0.5
    min_pairs: int = 2
    min_factor: float = 0.5

    def factor(self, words: int, passage_words: int) -> float:
        """What share of the reference bar a question of `words` content words and a passage of
        `passage_words` words need, in [min_factor, 1]."""
        f = 1.0
        if self.question_words and words > self.question_words:
            f *= (self.question_words / words) ** self.question_exponent
        if self.passage_words and passage_words < self.passage_words:
            f *= (max(1, passage_words) / self.passage_words) ** self.passage_exponent
        return max(self.min_factor, f)

    def relevance(self, share: float, words: int, passage_words: int, pairs_found: int) -> float:
        """The share read against the sizes (capped at 1), when the passage has enough of the pairs."""
        if pairs_found < self.min_pairs:
            return share
        return min(1.0, share / self.factor(words, passage_words))


class Relevance:
    """How much of a question a passage covers, in [0, 1]: comparable across questions.

    The mean of two IDF-weighted shares of the question found in the passage: its words, and its
    adjacent word pairs. Pairs keep off-topic questions that share a few scattered words with the
    corpus below the threshold (calibrated on tests/data: see docs/benchmarks.md). With a `Scaling`,
    the share is read against the question's and the passage's size (see there).
    """

    def __init__(self, idf: Callable[[str], float], passage_text: Callable[[int], str],
                 scaling: Scaling | None = None, passage_words: Callable[[int], int] | None = None) -> None:
        self._idf = idf  # folded token -> idf over the version's passages
        self._passage_text = passage_text  # position -> the passage's index text
        self._scaling = scaling
        # position -> words of the passage's own text (without the title and section the index adds)
        self._passage_words = passage_words or (lambda position: len(self._passage_text(position).split()))
        self._token_cache: dict[int, tuple[frozenset[str], int]] = {}  # passage -> folded tokens, words
        self._idf_cache: dict[str, float] = {}

    def __call__(self, terms: QueryTerms, position: int) -> float:
        have, passage_words = self._passage_tokens(position)
        tokens = terms.relevance_tokens or terms.folded_tokens
        words = [t for t in dict.fromkeys(tokens) if "_" not in t]
        pairs = [t for t in dict.fromkeys(tokens) if "_" in t]
        if not words:
            return 0.0
        credit = self._credit(terms, have)
        unigram = self._share(words, have, credit)
        share = (unigram + (self._share(pairs, have, credit) if pairs else unigram)) / 2
        if self._scaling is None:
            return share
        return self._scaling.relevance(share, len(words), passage_words, sum(1 for t in pairs if t in have))

    def _credit(self, terms: QueryTerms, have: frozenset[str]) -> dict[str, float]:
        """A common name's words in the question count as found, in the share of its wording the passage
        has ("27 biểu hiện" <- "biểu hiện suy thoái về tư tưởng chính trị, …"). Synonyms only steer the
        ranking: "kết nạp … vào câu lạc bộ" is not about "vào Đảng"."""
        credit: dict[str, float] = {}
        for name, phrases in terms.alternatives:
            best = 0.0
            for phrase in phrases:
                words = [t for t in dict.fromkeys(phrase) if "_" not in t]
                pairs = [t for t in dict.fromkeys(phrase) if "_" in t]
                if words:
                    unigram = self._share(words, have)
                    best = max(best, (unigram + (self._share(pairs, have) if pairs else unigram)) / 2)
            for t in name:
                credit[t] = max(credit.get(t, 0.0), best)
        return credit

    def _token_idf(self, token: str) -> float:
        weight = self._idf_cache.get(token)
        if weight is None:
            if len(self._idf_cache) > 100_000:
                self._idf_cache.clear()
            weight = self._idf_cache[token] = self._idf(token)
        return weight

    def _share(self, tokens: list[str], have: frozenset[str], credit: dict[str, float] | None = None) -> float:
        total = matched = 0.0
        for t in tokens:
            weight = self._token_idf(t)
            total += weight
            if t in have:
                matched += weight
            elif credit:
                matched += weight * credit.get(t, 0.0)
        return matched / total if total else 0.0

    def _passage_tokens(self, position: int) -> tuple[frozenset[str], int]:
        cached = self._token_cache.get(position)
        if cached is None:
            cached = (frozenset(vietnamese.search_tokens(self._passage_text(position), folded=True)),
                      self._passage_words(position) if self._scaling is not None else 0)
            if len(self._token_cache) > 4096:  # a few KB each: keep it small
                self._token_cache.clear()
            self._token_cache[position] = cached
        return cached
