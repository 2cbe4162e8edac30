"""Per-chat follow-up state: the last result list shown in a chat, so that "thêm" (the next results) and
"1"/"2"/"3" (that passage in full) know what they refer to. Kept behind this one small object so that it
can move to a shared store without touching the channels."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bot.models import Answer

SESSION_SECONDS = 30 * 60
MAX_SESSIONS = 10_000
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
    expires: float = 0.0


class Sessions:
    """Chat id -> Session, forgotten after `ttl` seconds without use (and beyond `max_size` chats)."""

    def __init__(self, ttl: float = SESSION_SECONDS, max_size: int = MAX_SESSIONS,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_size = max_size
        self.clock = clock
        self._items: OrderedDict[str, Session] = OrderedDict()

    def get(self, chat_id: str) -> Session | None:
        session = self._items.get(chat_id)
        if session is None:
            return None
        if session.expires <= self.clock():
            del self._items[chat_id]
            return None
        session.expires = self.clock() + self.ttl
        self._items.move_to_end(chat_id)
        return session

    def put(self, chat_id: str, session: Session) -> None:
        session.expires = self.clock() + self.ttl
        self._items[chat_id] = session
        self._items.move_to_end(chat_id)
        while len(self._items) > self.max_size:
            self._items.popitem(last=False)

    def drop(self, chat_id: str) -> None:
        self._items.pop(chat_id, None)

    def remember(self, chat_id: str, answer: Answer) -> None:
        """After an answer: its passages become what "thêm" and the numbers refer to."""
        if answer.found and answer.hits:
            self.put(chat_id, Session(question=answer.question, passage_ids=[h.passage_id for h in answer.hits],
                                      offset=answer.offset, has_more=answer.has_more))
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
            return Session(question=str(data["question"]), passage_ids=list(data["passage_ids"]),
                           offset=int(data.get("offset", 0)), has_more=bool(data.get("has_more", False)))
        except (KeyError, TypeError, ValueError):
            return None  # written by another release: as if it had expired

    def put(self, chat_id: str, session: Session) -> None:
        self.store.put_session(self.channel, chat_id, {
            "question": session.question, "passage_ids": list(session.passage_ids), "offset": session.offset,
            "has_more": session.has_more}, self.ttl)

    def drop(self, chat_id: str) -> None:
        self.store.drop_session(self.channel, chat_id)
