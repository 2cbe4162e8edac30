"""The SQLite log of questions and feedback, shared by every channel (for /thongke).

No user or chat id is stored: only a salted hash of it. The salt comes from DIRECTIVE_BOT_SALT or,
when that is not set, from a random file created beside the database (never from the repository).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.models import Answer

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
    index_version TEXT NOT NULL DEFAULT '',
    chat_type TEXT NOT NULL DEFAULT '',
    doc_ids TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS buttons (
    key TEXT PRIMARY KEY,
    expires REAL NOT NULL,
    payload TEXT NOT NULL
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


SALT_ENV = "DIRECTIVE_BOT_SALT"


def _salt(path: Path) -> str:
    salt = os.environ.get(SALT_ENV)
    if salt:
        return salt
    salt_file = path.with_name(path.name + ".salt")
    try:
        return salt_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        salt = secrets.token_hex(16)
        fd = os.open(salt_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(salt)
        return salt


class QueryLog:
    """Append-only log; safe to share between threads of one process and between processes."""

    def __init__(self, path: Path, salt: str | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._salt = salt or _salt(self.path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        # a statistics log: a crash may lose the last few rows, never corrupt the file; no fsync per question
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(questions)")}
        for name, ddl in (("chat_type", "TEXT NOT NULL DEFAULT ''"), ("doc_ids", "TEXT NOT NULL DEFAULT '[]'")):
            if name not in columns:  # a log made by an earlier version
                self._db.execute(f"ALTER TABLE questions ADD COLUMN {name} {ddl}")
        self._db.commit()

    def anonymous(self, value: str | int) -> str:
        """The salted hash stored instead of a user or chat id."""
        return hashlib.sha256(f"{self._salt}:{value}".encode()).hexdigest()[:16]

    def record(self, *, channel: str, user_id: str | int, chat_id: str | int, question: str,
               found: bool, top_doc_id: str = "", index_version: str = "", chat_type: str = "",
               doc_ids: list[str] | tuple[str, ...] = ()) -> int:
        """Store one question (ids hashed); returns its id (for feedback)."""
        doc_ids = list(doc_ids) or ([top_doc_id] if top_doc_id else [])
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO questions (at, channel, user_id, chat_id, question, found, top_doc_id, index_version,"
                " chat_type, doc_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), channel, self.anonymous(user_id), self.anonymous(chat_id), question, int(found),
                 top_doc_id or (doc_ids[0] if doc_ids else ""), index_version, chat_type,
                 json.dumps(doc_ids)),
            )
            self._db.commit()
            return int(cur.lastrowid)

    def record_answer(self, *, channel: str, user_id: str | int, chat_id: str | int, chat_type: str,
                      answer: Answer) -> int | None:
        """The one place an answer is logged, for every channel: its id, or None when the log failed
        (the answer matters more than its log line, so this never raises)."""
        try:
            return self.record(channel=channel, user_id=user_id, chat_id=chat_id, chat_type=chat_type,
                               question=answer.question, found=answer.found,
                               doc_ids=[h.doc_id for h in answer.hits], index_version=answer.index_version)
        except Exception:
            log.exception("could not record a question in the query log")
            return None

    def feedback_once(self, *, channel: str, user_id: str | int, useful: bool, question_id: int | None,
                      passage_id: str) -> bool:
        """Store a vote unless this user already voted on this answer; True when stored."""
        with self._lock:
            seen = self._db.execute(
                "SELECT 1 FROM feedback WHERE user_id = ? AND question_id IS ? AND passage_id = ? LIMIT 1",
                (self.anonymous(user_id), question_id, passage_id)).fetchone()
            if seen is None:
                self._db.execute(
                    "INSERT INTO feedback (at, channel, user_id, question_id, passage_id, useful)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (time.time(), channel, self.anonymous(user_id), question_id, passage_id, int(useful)))
                self._db.commit()
        return seen is None

    def feedback(self, *, channel: str, user_id: str | int, useful: bool,
                 question_id: int | None = None, passage_id: str = "") -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO feedback (at, channel, user_id, question_id, passage_id, useful) VALUES (?, ?, ?, ?, ?, ?)",
                (time.time(), channel, self.anonymous(user_id), question_id, passage_id, int(useful)),
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


class ButtonPayloads:
    """Server-side payloads of chat buttons (callback data carries only a short key), kept in the query-log
    database so that a button pressed after a restart still works. Keys expire after `ttl` seconds."""

    def __init__(self, querylog: QueryLog, ttl: float = 2 * 24 * 3600, max_entries: int = 200_000):
        self._log = querylog
        self.ttl = ttl
        self.max_entries = max_entries
        self._puts = 0

    def put(self, payload: dict) -> str:
        key = secrets.token_urlsafe(6)  # 8 characters
        db = self._log
        with db._lock:
            db._db.execute("INSERT OR REPLACE INTO buttons (key, expires, payload) VALUES (?, ?, ?)",
                           (key, time.time() + self.ttl, json.dumps(payload, ensure_ascii=False)))
            self._puts += 1
            if self._puts % 1000 == 0:  # now and then: drop the expired and the oldest beyond the cap
                db._db.execute("DELETE FROM buttons WHERE expires < ?", (time.time(),))
                db._db.execute("DELETE FROM buttons WHERE key NOT IN (SELECT key FROM buttons "
                               "ORDER BY expires DESC LIMIT ?)", (self.max_entries,))
            db._db.commit()
        return key

    def get(self, key: str) -> dict | None:
        """The payload, or None for an unknown or expired key."""
        db = self._log
        with db._lock:
            row = db._db.execute("SELECT expires, payload FROM buttons WHERE key = ?", (key,)).fetchone()
        if row is None or row[0] < time.time():
            return None
        try:
            payload = json.loads(row[1])
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None
