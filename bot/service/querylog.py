"""The log of questions and feedback, shared by every channel (for /thongke), and the button payloads;
both kept in the state store (bot/service/state), so every worker sees the same.

No user or chat id is stored: only a salted hash of it. The salt comes from DIRECTIVE_BOT_SALT or,
when that is not set, from a random file beside an SQLite database (never from the repository) or a
row of a PostgreSQL one.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from bot.service.state import QueryStats, StateStore, sqlite_url

if TYPE_CHECKING:
    from bot.models import Answer

log = logging.getLogger(__name__)

__all__ = ["ButtonPayloads", "QueryLog", "QueryStats"]


class QueryLog:
    """Append-only log; safe to share between threads of one process and between processes.

    `QueryLog(path)` opens (and migrates) an SQLite state database; `QueryLog(store)` is a view of
    an open StateStore, which the caller closes.
    """

    def __init__(self, where: Path | str | StateStore, salt: str | None = None):
        if isinstance(where, StateStore):
            self.store, self._owned, self.path = where, False, None
        else:
            self.path = Path(where)
            self.store, self._owned = StateStore(sqlite_url(self.path), salt=salt), True

    def anonymous(self, value: str | int) -> str:
        """The salted hash stored instead of a user or chat id."""
        return self.store.anonymous(value)

    def record(self, *, channel: str, user_id: str | int, chat_id: str | int, question: str,
               found: bool, top_doc_id: str = "", index_version: str = "", chat_type: str = "",
               doc_ids: list[str] | tuple[str, ...] = (), update_key: str | None = None) -> int:
        """Store one question (ids hashed); returns its id (for feedback). One row per `update_key`."""
        return self.store.record_question(
            channel=channel, user_id=user_id, chat_id=chat_id, question=question, found=found,
            top_doc_id=top_doc_id, index_version=index_version, chat_type=chat_type, doc_ids=doc_ids,
            update_key=update_key)

    def record_answer(self, *, channel: str, user_id: str | int, chat_id: str | int, chat_type: str,
                      answer: Answer, update_key: str | None = None) -> int | None:
        """The one place an answer is logged, for every channel: its id, or None when the log failed
        (the answer matters more than its log line, so this never raises). A redelivered update
        (the same `update_key`) is logged once."""
        try:
            return self.record(channel=channel, user_id=user_id, chat_id=chat_id, chat_type=chat_type,
                               question=answer.question, found=answer.found,
                               doc_ids=[h.doc_id for h in answer.hits], index_version=answer.index_version,
                               update_key=update_key)
        except Exception:
            log.exception("could not record a question in the query log")
            return None

    def feedback_once(self, *, channel: str, user_id: str | int, useful: bool, question_id: int | None,
                      passage_id: str) -> bool:
        """Store a vote unless this user already voted on this answer (on any worker); True when stored."""
        vote_key = hashlib.sha256(f"{question_id}:{passage_id}".encode()).hexdigest()[:32]
        if not self.store.vote(vote_key, user_id):
            return False
        self.feedback(channel=channel, user_id=user_id, useful=useful, question_id=question_id,
                      passage_id=passage_id)
        return True

    def feedback(self, *, channel: str, user_id: str | int, useful: bool,
                 question_id: int | None = None, passage_id: str = "") -> None:
        self.store.record_feedback(channel=channel, user_id=user_id, useful=useful, question_id=question_id,
                                   passage_id=passage_id)

    def stats(self, top: int = 5) -> QueryStats:
        return self.store.stats(top)

    def close(self) -> None:
        if self._owned:
            self.store.close()


class ButtonPayloads:
    """Server-side payloads of chat buttons (callback data carries only a short key), kept in the state
    store: a button pressed after a restart, or answered by another worker, still works. Keys expire
    after `ttl` seconds."""

    def __init__(self, querylog: QueryLog, ttl: float = 2 * 24 * 3600):
        self.store = querylog.store
        self.ttl = ttl

    def put(self, payload: dict) -> str:
        return self.store.put_button(payload, self.ttl)

    def get(self, key: str) -> dict | None:
        """The payload, or None for an unknown or expired key."""
        payload = self.store.get_button(key)
        return payload if isinstance(payload, dict) else None
