"""The short answer: the one or two sentences of the best passages that answer the question, quoted as they
are ("Trả lời ngắn: … — Quy định 294-QĐ/TW, mục 1.1.1"); no sentence convincing enough, no short answer."""

from __future__ import annotations

import re
from typing import Callable

from bot.documents import vietnamese
from bot.documents.chunking import split_sentences
from bot.models import Hit, ShortAnswer
from bot.retrieval.query import QueryTerms

MIN_SHARE = 0.5  # IDF-weighted share of the question's words (and pairs) a sentence must hold
MIN_MATCHED = 2  # content words of the question the sentence must hold
MIN_PAIR_SHARE = 0.2  # and of its word pairs, when it has three or more (calibrated: docs/benchmarks.md)
MIN_WORDS = 6  # shorter sentences (headings) are never an answer on their own
MAX_WORDS = 70
RANK_PENALTY = 0.08  # a sentence of the second passage must be this much better (per rank) to win
# question words an answer never holds ("bao lâu", "mấy", "thế nào"): left out of the coverage (folded)
_ASKING_PAIRS = frozenset({"bao_lau", "bao_nhieu", "khi_nao", "the_nao", "nhu_the", "ra_sao", "vi_sao",
                           "tai_sao", "la_gi", "lam_gi", "o_dau", "nao_thi", "thi_sao"})
_ASKING_WORDS = frozenset({"gi", "ntn", "bn", "may", "nao"})
_NUMBERING = re.compile(r"^\s*(?:\d{1,2}(?:\.\d{1,2})*\.?|[a-zđ]\)|[-–•+])\s+")
# "bao lâu", "bao nhiêu", "mấy": the answer is an amount ("mười hai tháng", "đủ 18 tuổi", "3 tháng"), so among
# sentences that cover the question, one holding an amount is preferred by QUANTITY_BONUS (folded text)
_ASKING_AMOUNT_PAIRS = frozenset({"bao_lau", "bao_nhieu"})
_ASKING_AMOUNT_WORDS = frozenset({"may", "bn"})
_AMOUNT = re.compile(r"\b(?:\d+|mot|hai|ba|bon|tu|nam|sau|bay|tam|chin|muoi|muoi|tram|nua)\s+"
                     r"(?:thang|nam|ngay|tuan|tuoi|gio|lan|nguoi|dang vien|phan tram)\b|\d\s*%")
QUANTITY_BONUS = 0.15


def sentences(text: str) -> list[str]:
    """The passage's sentences, line by line (a numbered line is a sentence even without a full stop)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            out.extend(split_sentences(line))
    return out


def pick(terms: QueryTerms, hits: list[Hit], idf: Callable[[str], float], *, max_hits: int = 3
         ) -> ShortAnswer | None:
    """The best-covering sentence of the first passages (plus the next one when it is a lead-in)."""
    words, pairs = _question_tokens(terms)
    if len(words) < 2:
        return None
    amount = _asks_amount(terms)
    best: tuple[float, Hit, int, list[str]] | None = None
    for rank, hit in enumerate(hits[:max_hits]):
        parts = sentences(hit.text)
        for i, sentence in enumerate(parts):
            if len(sentence.split()) < MIN_WORDS:
                continue
            share, matched, pair_share = _coverage(sentence, words, pairs, idf)
            if matched < MIN_MATCHED or share < MIN_SHARE or (len(pairs) >= 3 and pair_share < MIN_PAIR_SHARE):
                continue
            score = share * (1 - RANK_PENALTY * rank)
            if amount and _AMOUNT.search(vietnamese.fold(sentence).lower()):
                score += QUANTITY_BONUS
            if best is None or score > best[0]:
                best = (score, hit, i, parts)
    if best is None:
        return None
    _score, hit, i, parts = best
    text = parts[i]
    if (text.rstrip().endswith(":") or len(text.split()) < 12) and i + 1 < len(parts):
        text = f"{text} {parts[i + 1]}"
    words_out = text.split()
    if len(words_out) > MAX_WORDS:
        text = " ".join(words_out[:MAX_WORDS]) + " …"
    return ShortAnswer(text=_NUMBERING.sub("", text, count=1).strip(), passage_id=hit.passage_id,
                       reference=hit.reference)


def best_sentence(terms: QueryTerms, text: str, idf: Callable[[str], float]) -> float:
    """How well the passage's best sentence covers the question, in [0, 1] (re-ranking the answer)."""
    words, pairs = _question_tokens(terms)
    if len(words) < 2:
        return 0.0
    return max((_coverage(s, words, pairs, idf)[0] for s in sentences(text) if len(s.split()) >= MIN_WORDS),
               default=0.0)


def _asks_amount(terms: QueryTerms) -> bool:
    """Whether the question asks how long or how many ("bao lâu", "bao nhiêu", "mấy")."""
    tokens = set(terms.relevance_tokens or terms.folded_tokens)
    return bool(tokens & _ASKING_AMOUNT_PAIRS or tokens & _ASKING_AMOUNT_WORDS)


def _question_tokens(terms: QueryTerms) -> tuple[list[str], list[str]]:
    tokens = terms.relevance_tokens or tuple(terms.folded_tokens)
    asking = {w for pair in tokens if pair in _ASKING_PAIRS for w in pair.split("_")} | _ASKING_WORDS
    words = [t for t in dict.fromkeys(tokens) if "_" not in t and t not in vietnamese.FOLDED_STOPWORDS
             and t not in asking]
    pairs = [t for t in dict.fromkeys(tokens) if "_" in t and not set(t.split("_")) & asking]
    return words, pairs


def _coverage(sentence: str, words: list[str], pairs: list[str], idf: Callable[[str], float]
              ) -> tuple[float, int, float]:
    """(the weighted share of the question's words and pairs the sentence holds, words held, pair share)"""
    have = set(vietnamese.search_tokens(sentence, folded=True))
    total = got = 0.0
    matched = 0
    for t in words:
        w = idf(t)
        total += w
        if t in have:
            got += w
            matched += 1
    unigram = got / total if total else 0.0
    if not pairs:
        return unigram, matched, 0.0
    ptotal = pgot = 0.0
    for t in pairs:
        w = idf(t)
        ptotal += w
        pgot += w if t in have else 0.0
    pair_share = pgot / ptotal if ptotal else 0.0
    return (2 * unigram + pair_share) / 3, matched, pair_share
