"""Study quizzes: items drawn from the official documents being served, chosen by topic or document.

The items come from bot/service/quizrules.py (the clause's own words, nothing written); this module keeps
the pool of the index version being served, reads a topic ("đảng viên dự bị", "Điều lệ", "Quy định 294")
and picks a series deterministically from a seed. No chat library here.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot import messages
from bot.documents.vietnamese import fold
from bot.models import Document
from bot.service.quizfacts import document_values
from bot.service.quizrules import QuizItem, is_official, passage_items

if TYPE_CHECKING:
    from bot.service.answering import AnswerService

MAX_SERIES = 10  # questions in one series (/ontap 5)
EXPLANATION_LIMIT = 200  # Telegram sendPoll: explanation 0-200 characters, at most 2 line feeds
_TOPIC_PASSAGES = 20  # a topic draws from its most relevant passages
_TOPIC_SHARE = 0.6  # ... that cover at least this share of what the best passage covers
_TYPE_WORDS = {"dieu le": ("dieu-le", "dieu le"), "quy dinh": ("quy-dinh", "quy dinh"),
               "huong dan": ("huong-dan", "huong dan"), "chi thi": ("chi-thi", "chi thi"),
               "nghi quyet": ("nghi-quyet", "nghi quyet"), "ket luan": ("ket-luan", "ket luan"),
               "quyet dinh": ("quyet-dinh", "quyet dinh"), "quy che": ("quy-che", "quy che")}


@dataclass
class Pool:
    """Every item of one index version, with why the other candidates were discarded."""

    version: str
    items: list[QuizItem] = field(default_factory=list)
    by_id: dict[str, QuizItem] = field(default_factory=dict)
    documents: list[Document] = field(default_factory=list)
    rejected: Counter = field(default_factory=Counter)


class QuizService:
    """Quiz items from the official documents of the index version the answering service serves."""

    def __init__(self, answers: AnswerService):
        self.answers = answers
        self._pool: Pool | None = None
        self._lock = threading.Lock()

    def pool(self) -> Pool:
        """The items of the version being served (built once per version)."""
        r = self.answers.retriever
        with self._lock:
            if self._pool is None or self._pool.version != r.version:
                self._pool = _build_pool(r)
            return self._pool

    def item(self, item_id: str) -> QuizItem | None:
        return self.pool().by_id.get(item_id)

    def draw(self, topic: str = "", *, doc: str = "", count: int = 1, seed: int | None = None,
             fill: bool = False) -> list[QuizItem]:
        """Up to `count` items on the topic (a subject, a document, or both); [] when none fits.

        `doc` restricts to the official documents it names (id, number, or type: "294", "Điều lệ"); `fill`
        (a long printed sheet) allows the second item of a fact once every fact has one.
        """
        pool = self.pool()
        candidates = self._candidates(pool, topic or "")
        if doc:
            allowed = self.documents_named(doc)
            candidates = [i for i in candidates if i.doc_id in allowed]
        return pick(candidates, count, seed, ranked=bool(_rest_words(topic or "", pool.documents)[1]), fill=fill)

    def documents_named(self, name: str) -> set[str]:
        """Ids of the official documents a name points at ("dieu-le-dang-2011", "294", "Hướng dẫn 06")."""
        documents = self.pool().documents
        exact = {d.doc_id for d in documents if d.doc_id == name.strip()}
        chosen, _rest = _rest_words(name, documents)
        return exact or (chosen or set())

    def _candidates(self, pool: Pool, topic: str) -> list[QuizItem]:
        doc_ids, rest = _rest_words(topic, pool.documents)
        items = [i for i in pool.items if doc_ids is None or i.doc_id in doc_ids]
        if not rest.strip():
            return items
        r = self.answers.retriever
        min_relevance = self.answers.config.retrieval.min_relevance
        wanted = {i.passage_id for i in items}
        ranked: list[str] = []
        best = 0.0
        for match in r.search(rest, limit=200, max_per_document=200):
            pid, relevance = match.passage.passage_id, match.scores.relevance or 0.0
            best = max(best, relevance)
            # passages covering the topic about as well as the best one (not those sharing one word of it)
            if pid in wanted and pid not in ranked and relevance >= max(min_relevance, best * _TOPIC_SHARE):
                ranked.append(pid)
            if len(ranked) == _TOPIC_PASSAGES:
                break
        order = {pid: n for n, pid in enumerate(ranked)}
        return sorted((i for i in items if i.passage_id in order), key=lambda i: (order[i.passage_id], i.item_id))

    def clause_text(self, item: QuizItem) -> str:
        """The whole clause (passage) the item comes from, as indexed; the sentence when it is gone."""
        hit = self.answers.passage(item.passage_id)
        return hit.text if hit is not None else item.clause


def explanation(item: QuizItem, limit: int = EXPLANATION_LIMIT) -> str:
    """The reference and the clause sentence, cut at a word to Telegram's limit (no line feeds)."""
    text = messages.QUIZ_EXPLANATION.format(reference=item.reference, clause=item.clause).replace("\n", " ")
    if len(text) <= limit:
        return text
    head = text[: limit - 2].rsplit(" ", 1)[0]
    return head + "…”"


def pick(candidates: list[QuizItem], count: int, seed: int | None, *, ranked: bool = False,
         fill: bool = False) -> list[QuizItem]:
    """Up to `count` items, varied: one per clause sentence first, then one per fact (a true statement
    would give a cloze of the same fact away), and with `fill` the second item of a fact.

    With `ranked` (a topic) the most relevant items come first: the order is shuffled only within them.
    """
    count = max(0, min(count, len(candidates)))
    rng = random.Random(seed)
    order = list(candidates)
    if ranked:
        head = order[: max(count * 2, 4)]
        rng.shuffle(head)
        order = head + order[len(head):]
    else:
        rng.shuffle(order)
    chosen: list[QuizItem] = []
    taken: set[str] = set()
    keys = [lambda i: i.clause, lambda i: (i.clause, i.answer)] + ([lambda i: i.item_id] if fill else [])
    for key in keys:
        seen = {key(i) for i in chosen}
        for item in order:
            if len(chosen) == count:
                return chosen
            if item.item_id not in taken and key(item) not in seen:
                seen.add(key(item))
                taken.add(item.item_id)
                chosen.append(item)
    return chosen


def parse_count(text: str, default: int = 1) -> tuple[int, str]:
    """"5 Điều lệ" -> (5, "Điều lệ"); a number alone is a count, not a topic."""
    m = re.match(r"^\s*(\d{1,2})(?:\s*câu)?(?:\s+|$)(.*)$", text or "", re.S)
    if m and not re.match(r"^\s*[-/]", m.group(2)):
        return max(1, min(int(m.group(1)), MAX_SERIES)), m.group(2).strip()
    return default, (text or "").strip()


def _rest_words(topic: str, documents: list[Document]) -> tuple[set[str] | None, str]:
    """(documents the topic names, or None for all; the words left for a subject search)."""
    folded = " " + re.sub(r"[^\w/]+", " ", fold(topic).lower()) + " "
    chosen: set[str] = set()
    for doc in documents:
        number = re.match(r"\d+", doc.doc_number or "")
        if number and re.search(rf"\s0*{int(number.group(0))}(?:[\s/-]|$)", folded):
            chosen.add(doc.doc_id)
    named_types = [w for w in _TYPE_WORDS if f" {w} " in folded]
    if named_types and not chosen:
        chosen = {d.doc_id for d in documents
                  if any(fold(d.doc_type).lower().startswith(_TYPE_WORDS[w]) for w in named_types)}
    rest = folded
    for w in named_types:
        rest = re.sub(rf" {w}(?: dang)?(?= )", " ", rest)
    rest = re.sub(r"\s(?:so\s)?\d+[\w/-]*", " ", rest) if chosen else rest
    if not chosen and not named_types:
        return None, topic
    return chosen, rest.strip()


def _build_pool(r) -> Pool:
    pool = Pool(version=r.version)
    for doc in r.documents():
        if not is_official(doc):
            continue
        pool.documents.append(doc)
        passages = r.document_passages(doc.doc_id)
        values = document_values("\n".join(p.text for p in passages))  # the document's text, as indexed
        for passage in passages:
            pool.items.extend(passage_items(doc, passage, values, pool.rejected))
    seen: set[str] = set()
    unique = []
    for item in pool.items:
        if item.question not in seen:
            seen.add(item.question)
            unique.append(item)
    pool.items = unique
    pool.by_id = {i.item_id: i for i in unique}
    return pool
