"""The SQLite log of questions and feedback, shared by every channel (for /thongke)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    channel TEXT NOT NULL,
    user_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    question TEXT NOT NULL,
    found INTEGER NOT NULL,
    top_doc_id TEXT NOT NULL DEFAULT '',
    index_version TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    channel TEXT NOT NULL,
    user_id TEXT NOT NULL,
    question_id INTEGER,
    passage_id TEXT NOT NULL DEFAULT '',
    useful INTEGER NOT NULL
);
"""


@dataclass
class QueryStats:
    questions: int = 0
    not_found: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    top_unanswered: list[tuple[str, int]] = field(default_factory=list)
    feedback_up: int = 0
    feedback_down: int = 0

    @property
    def not_found_share(self) -> float:
        return self.not_found / self.questions if self.questions else 0.0


class QueryLog:
    """Append-only log; safe to share between threads of one process and between processes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._db.commit()

    def record(self, *, channel: str, user_id: str | int, chat_id: str | int, question: str,
               found: bool, top_doc_id: str = "", index_version: str = "") -> int:
        """Store one question; returns its id (for feedback)."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO questions (at, channel, user_id, chat_id, question, found, top_doc_id, index_version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), channel, str(user_id), str(chat_id), question, int(found), top_doc_id, index_version),
            )
            self._db.commit()
            return int(cur.lastrowid)

    def feedback(self, *, channel: str, user_id: str | int, useful: bool,
                 question_id: int | None = None, passage_id: str = "") -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO feedback (at, channel, user_id, question_id, passage_id, useful) VALUES (?, ?, ?, ?, ?, ?)",
                (time.time(), channel, str(user_id), question_id, passage_id, int(useful)),
            )
            self._db.commit()

    def stats(self, top: int = 5) -> QueryStats:
        with self._lock:
            q = self._db.execute("SELECT COUNT(*), COALESCE(SUM(1 - found), 0) FROM questions").fetchone()
            by_channel = dict(self._db.execute("SELECT channel, COUNT(*) FROM questions GROUP BY channel"))
            unanswered = self._db.execute(
                "SELECT lower(trim(question)) AS q, COUNT(*) AS n FROM questions WHERE found = 0"
                " GROUP BY q ORDER BY n DESC, MAX(at) DESC LIMIT ?", (top,)).fetchall()
            fb = self._db.execute(
                "SELECT COALESCE(SUM(useful), 0), COALESCE(SUM(1 - useful), 0) FROM feedback").fetchone()
        return QueryStats(questions=q[0], not_found=q[1], by_channel=by_channel,
                          top_unanswered=[(t, n) for t, n in unanswered],
                          feedback_up=fb[0], feedback_down=fb[1])

    def close(self) -> None:
        with self._lock:
            self._db.close()
