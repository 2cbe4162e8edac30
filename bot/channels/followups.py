"""Per-chat follow-up state: the last result list shown in a chat, so that "thêm" (the next results) and
"1"/"2"/"3" (that passage in full) know what they refer to. Kept behind this one small object so that it
can move to a shared store without touching the channels."""

from __future__ import annotations

import dataclasses
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot import messages
from bot.models import Answer, UnitNav
from bot.service.scope import DocFilter, type_code

NEWS = "tin-tuc"
OFFICIAL_ONLY = DocFilter(exclude_types=(NEWS,))  # "Chỉ văn bản chính thức" / "chính thức"
SESSION_SECONDS = 30 * 60
MAX_SESSIONS = 10_000
T = TypeVar("T")
_CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")


def choice(text: str) -> int | None:
    """The number in "2", "2." or "2)" (a passage to show in full), else None."""
    match = _CHOICE.match(text)
    return int(match.group(1)) if match else None


@dataclass
class Session:
    """The last result list shown in a chat."""

    question: str
    passage_ids: list[str]
    offset: int = 0
    has_more: bool = False
    unit: UnitNav | None = None  # the unit an article lookup showed ("trước", "sau", "toàn điều")
    official_only: bool = False  # the answer was restricted to official texts ("thêm" keeps that)


class ExpiringChats(Generic[T]):
    """Chat id -> a value, in this process's memory: forgotten `ttl` seconds after its last use, and the
    least recently used beyond `max_size` chats (follow-up sessions, text-channel quizzes)."""

    def __init__(self, ttl: float, max_size: int, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_size = max_size
        self.clock = clock
        self._items: OrderedDict[str, tuple[float, T]] = OrderedDict()

    def get(self, chat_id: str) -> T | None:
        """The chat's value, its life extended by `ttl`; None when there is none or it expired."""
        entry = self._items.get(chat_id)
        if entry is None:
            return None
        if entry[0] <= self.clock():
            del self._items[chat_id]
            return None
        self.put(chat_id, entry[1])
        return entry[1]

    def put(self, chat_id: str, value: T) -> None:
        self._items[chat_id] = (self.clock() + self.ttl, value)
        self._items.move_to_end(chat_id)
        while len(self._items) > self.max_size:
            self._items.popitem(last=False)

    def drop(self, chat_id: str) -> None:
        self._items.pop(chat_id, None)


class Sessions:
    """Chat id -> Session, forgotten after `ttl` seconds without use (and beyond `max_size` chats)."""

    def __init__(self, ttl: float = SESSION_SECONDS, max_size: int = MAX_SESSIONS,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._items: ExpiringChats[Session] = ExpiringChats(ttl, max_size, clock)

    def get(self, chat_id: str) -> Session | None:
        return self._items.get(chat_id)

    def put(self, chat_id: str, session: Session) -> None:
        self._items.put(chat_id, session)

    def drop(self, chat_id: str) -> None:
        self._items.drop(chat_id)

    def remember(self, chat_id: str, answer: Answer, *, official_only: bool = False) -> None:
        """After an answer: its passages become what "thêm" and the numbers refer to (and "trước" / "sau" /
        "toàn điều" after an article lookup); `official_only`: it was asked over official texts only."""
        if answer.found and answer.hits:
            self.put(chat_id, Session(question=answer.question, passage_ids=[h.passage_id for h in answer.hits],
                                      offset=answer.offset, has_more=answer.has_more, unit=answer.unit,
                                      official_only=official_only))
        elif answer.offset == 0:
            self.drop(chat_id)


class StoredSessions(Sessions):
    """The same sessions kept in the state store, so a follow-up reaching another worker (or this one
    after a restart) still knows the chat's last answer."""

    def __init__(self, store, channel: str, ttl: float = SESSION_SECONDS):
        self.store = store  # bot.service.state.StateStore
        self.channel = channel
        self.ttl = ttl

    def get(self, chat_id: str) -> Session | None:
        data = self.store.get_session(self.channel, chat_id, self.ttl)
        if not isinstance(data, dict):
            return None
        try:
            unit = data.get("unit")
            return Session(question=str(data["question"]), passage_ids=list(data["passage_ids"]),
                           offset=int(data.get("offset", 0)), has_more=bool(data.get("has_more", False)),
                           unit=UnitNav(**unit) if isinstance(unit, dict) else None,
                           official_only=bool(data.get("official_only", False)))
        except (KeyError, TypeError, ValueError):
            return None  # written by another release: as if it had expired

    def put(self, chat_id: str, session: Session) -> None:
        self.store.put_session(self.channel, chat_id, {
            "question": session.question, "passage_ids": list(session.passage_ids), "offset": session.offset,
            "has_more": session.has_more, "official_only": session.official_only,
            "unit": dataclasses.asdict(session.unit) if session.unit is not None else None}, self.ttl)

    def drop(self, chat_id: str) -> None:
        self.store.drop_session(self.channel, chat_id)


def unit_step(unit: UnitNav | None, typed: str) -> str | None:
    """The unit path a follow-up word asks for ("" when there is none that way); None when `typed` is not
    one of the words ("trước", "sau", "toàn điều")."""
    word = typed.lower().strip(" .!?")
    if word in messages.CHAT_WORDS_PREV:
        return unit.prev if unit else ""
    if word in messages.CHAT_WORDS_NEXT:
        return unit.next if unit else ""
    if word in messages.CHAT_WORDS_ARTICLE:
        return unit.article if unit else ""
    return None


def unit_hint(unit: UnitNav) -> str:
    """"(Gõ “trước” (Điều 7), “sau” (Điều 9) để đọc tiếp.)" ("" when there is nowhere to go)."""
    words = []
    if unit.prev:
        words.append(messages.CHAT_UNIT_WORD_PREV.format(label=unit.prev_label))
    if unit.next:
        words.append(messages.CHAT_UNIT_WORD_NEXT.format(label=unit.next_label))
    if unit.article and unit.article != unit.path:
        words.append(messages.CHAT_UNIT_WORD_ARTICLE.format(label=unit.article_label))
    return messages.CHAT_UNIT_HINT.format(words=", ".join(words)) if words else ""


def is_official_word(typed: str) -> bool:
    """Whether a message asks to repeat the last question over official texts only ("chính thức")."""
    return typed.lower().strip(" .!?") in messages.CHAT_WORDS_OFFICIAL


def news_first(answer: Answer) -> bool:
    """Whether a news article leads an answer the user did not restrict to a scope of their own."""
    return bool(answer.found and answer.hits and not answer.scope and not answer.offset
                and type_code(answer.hits[0].reference.doc_type) == NEWS)


def official_offered(service, answer: Answer) -> bool:
    """(Blocking: call in a worker thread.) Whether to offer the question again over official texts only:
    news came first and the index holds official texts."""
    return news_first(answer) and any(type_code(ref.doc_type) not in ("", NEWS) for ref in service.documents())
