"""StateStore: everything workers share - query log, buttons, follow-up sessions, rate limits,
updates already handled and locks - in one database (SQLite by default, PostgreSQL for several workers)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

import bot.service.state.schema as t
from bot.service.state.engine import StateError, create_engine, mask, migrate

log = logging.getLogger(__name__)

SALT_ENV = "DIRECTIVE_BOT_SALT"
PRUNE_EVERY_SECONDS = 600.0
# Telegram keeps an unacknowledged update for 24 hours: a record of it is kept twice as long
HANDLED_KEEP_SECONDS = 2 * 24 * 3600

NEW, DONE, BUSY = "new", "done", "busy"


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


class StateStore:
    """One database for all workers; every method is one short transaction, safe from any thread.

    Times are wall-clock seconds (workers on several machines compare them), from `clock`.
    """

    def __init__(self, url: str, *, salt: str | None = None, clock: Callable[[], float] = time.time):
        self.url = mask(url)
        self.clock = clock
        self.engine = create_engine(url)
        self.revision = migrate(self.engine, self.url)
        self.dialect = self.engine.dialect.name
        self._salt = salt or os.environ.get(SALT_ENV) or self._stored_salt()
        self._pruned_at = 0.0
        self._prune_lock = threading.Lock()
        log.info("state database %s (schema %s)", self.url, self.revision)

    # ------------------------------------------------------------------ plumbing

    def _tx(self):
        try:
            return self.engine.begin()
        except SQLAlchemyError as exc:
            raise StateError(f"state database {self.url}: {exc.__class__.__name__}") from exc

    def _insert(self, table: sa.Table):
        """INSERT with ON CONFLICT support in either dialect."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    def _stored_salt(self) -> str:
        """The salt of the hashed ids: a file beside an SQLite database (as earlier releases kept it),
        or a row in the database, shared by every worker of every machine."""
        if self.dialect == "sqlite":
            return _salt_file(Path(self.engine.url.database))
        with self._tx() as c:
            c.execute(self._insert(t.meta).values(name="salt", value=secrets.token_hex(16))
                      .on_conflict_do_nothing(index_elements=["name"]))
            return c.execute(sa.select(t.meta.c.value).where(t.meta.c.name == "salt")).scalar_one()

    def anonymous(self, value: str | int) -> str:
        """The salted hash stored instead of a user or chat id."""
        return hashlib.sha256(f"{self._salt}:{value}".encode()).hexdigest()[:16]

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ query log and feedback

    def record_question(self, *, channel: str, user_id: str | int, chat_id: str | int, question: str,
                        found: bool, top_doc_id: str = "", index_version: str = "", chat_type: str = "",
                        doc_ids: list[str] | tuple[str, ...] = (), update_key: str | None = None) -> int:
        """Store one question (ids hashed); returns its id. The same `update_key` is stored once."""
        doc_ids = list(doc_ids) or ([top_doc_id] if top_doc_id else [])
        row = dict(at=self.clock(), channel=channel, user_id=self.anonymous(user_id),
                   chat_id=self.anonymous(chat_id), question=question, found=int(found),
                   top_doc_id=top_doc_id or (doc_ids[0] if doc_ids else ""), index_version=index_version,
                   chat_type=chat_type, doc_ids=json.dumps(doc_ids), update_key=update_key)
        q = t.questions.c
        with self._tx() as c:
            if update_key is not None:
                existing = c.execute(sa.select(q.id).where(q.channel == channel, q.update_key == update_key)).first()
                if existing is not None:
                    return int(existing[0])
            return int(c.execute(t.questions.insert().values(**row).returning(q.id)).scalar_one())

    def record_feedback(self, *, channel: str, user_id: str | int, useful: bool,
                        question_id: int | None = None, passage_id: str = "") -> None:
        with self._tx() as c:
            c.execute(t.feedback.insert().values(at=self.clock(), channel=channel, user_id=self.anonymous(user_id),
                                                 question_id=question_id, passage_id=passage_id, useful=int(useful)))

    def stats(self, top: int = 5) -> QueryStats:
        q, f = t.questions.c, t.feedback.c
        folded = sa.func.lower(sa.func.trim(q.question)).label("q")
        with self._tx() as c:
            total, not_found = c.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(1 - q.found), 0))).one()
            by_channel = dict(c.execute(sa.select(q.channel, sa.func.count()).group_by(q.channel)).all())
            count = sa.func.count().label("n")
            unanswered = c.execute(sa.select(folded, count).where(q.found == 0).group_by(folded)
                                   .order_by(count.desc(), sa.func.max(q.at).desc()).limit(top)).all()
            up, down = c.execute(sa.select(sa.func.coalesce(sa.func.sum(f.useful), 0),
                                           sa.func.coalesce(sa.func.sum(1 - f.useful), 0))).one()
        return QueryStats(questions=int(total), not_found=int(not_found), by_channel=by_channel,
                          top_unanswered=[(text, int(n)) for text, n in unanswered],
                          feedback_up=int(up), feedback_down=int(down))

    # ------------------------------------------------------------------ button payloads

    def put_button(self, payload: dict, ttl: float) -> str:
        """Keep a button's payload for `ttl` seconds; returns its key (8 URL-safe characters)."""
        self.maybe_prune()
        key = secrets.token_urlsafe(6)
        with self._tx() as c:
            c.execute(t.buttons.insert().values(key=key, expires_at=self.clock() + ttl, payload=json.dumps(payload)))
        return key

    def put_buttons(self, payloads: list[dict], ttl: float) -> list[str]:
        """Several payloads in one transaction (the buttons of one answer)."""
        self.maybe_prune()
        keys = [secrets.token_urlsafe(6) for _ in payloads]
        expires = self.clock() + ttl
        with self._tx() as c:
            c.execute(t.buttons.insert(), [dict(key=k, expires_at=expires, payload=json.dumps(p))
                                           for k, p in zip(keys, payloads)])
        return keys

    def get_button(self, key: str) -> dict | None:
        """The payload, or None when the key is unknown or expired."""
        b = t.buttons.c
        with self._tx() as c:
            payload = c.execute(sa.select(b.payload).where(b.key == key, b.expires_at >= self.clock())).scalar()
        return None if payload is None else json.loads(payload)

    def vote(self, key: str, user_id: str | int) -> bool:
        """Record one user's vote on a button; False when that user already voted on it."""
        with self._tx() as c:
            added = c.execute(self._insert(t.button_votes).values(
                key=key, user_key=self.anonymous(user_id), at=self.clock()).on_conflict_do_nothing()
                .returning(t.button_votes.c.key)).first()
        return added is not None

    # ------------------------------------------------------------------ follow-up sessions per chat

    def get_session(self, channel: str, chat_id: str | int, ttl: float) -> dict | None:
        """The chat's session, its life extended by `ttl`; None when there is none or it expired."""
        s = t.sessions.c
        where = (s.channel == channel, s.chat_key == self.anonymous(chat_id))
        now = self.clock()
        with self._tx() as c:
            payload = c.execute(sa.select(s.payload).where(*where, s.expires_at > now)).scalar()
            if payload is not None:
                c.execute(t.sessions.update().where(*where).values(expires_at=now + ttl))
        return None if payload is None else json.loads(payload)

    def put_session(self, channel: str, chat_id: str | int, payload: dict, ttl: float) -> None:
        values = dict(channel=channel, chat_key=self.anonymous(chat_id), expires_at=self.clock() + ttl,
                      payload=json.dumps(payload))
        with self._tx() as c:
            c.execute(self._insert(t.sessions).values(**values).on_conflict_do_update(
                index_elements=["channel", "chat_key"],
                set_={"expires_at": values["expires_at"], "payload": values["payload"]}))

    def replace_session(self, channel: str, chat_id: str | int, expected: dict, payload: dict, ttl: float) -> bool:
        """Write `payload` only if the session is still `expected` (as get_session returned it, unexpired):
        False when another worker changed it in between."""
        s = t.sessions.c
        now = self.clock()
        with self._tx() as c:
            done = c.execute(t.sessions.update().where(
                s.channel == channel, s.chat_key == self.anonymous(chat_id), s.payload == json.dumps(expected),
                s.expires_at > now).values(payload=json.dumps(payload), expires_at=now + ttl))
            return done.rowcount == 1

    def change_session(self, channel: str, chat_id: str | int, change: Callable[[dict | None], dict],
                       ttl: float) -> dict:
        """Read, change and write one session in one transaction holding its row: `change` gets the
        payload (None when there is none or it expired) and returns the new one, kept for `ttl` seconds.
        Two workers changing the same session at once both count: the second waits for the first."""
        s = t.sessions.c
        key = self.anonymous(chat_id)
        where = (s.channel == channel, s.chat_key == key)
        now = self.clock()
        with self._tx() as c:
            c.execute(self._insert(t.sessions).values(channel=channel, chat_key=key, expires_at=now, payload="null")
                      .on_conflict_do_nothing())
            row = c.execute(sa.select(s.payload, s.expires_at).where(*where).with_for_update()).one()
            payload = change(json.loads(row.payload) if row.expires_at > now else None)
            c.execute(t.sessions.update().where(*where).values(payload=json.dumps(payload), expires_at=now + ttl))
        return payload

    def list_sessions(self, channel: str) -> list[dict]:
        """The payloads of every unexpired session under `channel` (read only: their expiry stays)."""
        s = t.sessions.c
        with self._tx() as c:
            rows = c.execute(sa.select(s.payload).where(s.channel == channel, s.expires_at > self.clock())
                             .order_by(s.chat_key)).scalars().all()
        return [json.loads(p) for p in rows]

    def drop_session(self, channel: str, chat_id: str | int) -> None:
        s = t.sessions.c
        with self._tx() as c:
            c.execute(t.sessions.delete().where(s.channel == channel, s.chat_key == self.anonymous(chat_id)))

    # ------------------------------------------------------------------ rate limits per user

    def rate_wait(self, scope: str, user_id: str | int, limit: int, window: float = 60.0,
                  event_key: str | None = None) -> int:
        """0 when the user may go ahead now (and counts it), else the seconds to wait.

        At most `limit` events per user in any `window` seconds, over all workers. An event counted
        before under the same `event_key` (a redelivered update) is let through without counting again.
        """
        r = t.rate_limits.c
        user_key = self.anonymous(user_id)
        now = self.clock()
        with self._tx() as c:
            c.execute(self._insert(t.rate_limits).values(scope=scope, user_key=user_key, updated_at=now, stamps="[]")
                      .on_conflict_do_nothing())
            stamps = json.loads(c.execute(sa.select(r.stamps).where(r.scope == scope, r.user_key == user_key)
                                          .with_for_update()).scalar_one())
            stamps = [s for s in stamps if s[0] > now - window]
            if event_key is not None and any(s[1] == event_key for s in stamps):
                return 0
            wait = 0
            if len(stamps) >= limit:
                wait = max(1, int(stamps[0][0] + window - now) + 1)
            else:
                stamps.append([now, event_key])
            c.execute(t.rate_limits.update().where(r.scope == scope, r.user_key == user_key)
                      .values(stamps=json.dumps(stamps), updated_at=now))
        return wait

    # ------------------------------------------------------------------ updates handled exactly once

    def claim_update(self, channel: str, update_id: str | int, holder: str, lease: float) -> str:
        """NEW: this worker now handles the update (for `lease` seconds unless renewed); DONE: it was
        answered before; BUSY: another live worker is handling it (try again later)."""
        u = t.handled_updates.c
        where = (u.channel == channel, u.update_id == str(update_id))
        now = self.clock()
        with self._tx() as c:
            inserted = c.execute(self._insert(t.handled_updates).values(
                channel=channel, update_id=str(update_id), status="working", holder=holder,
                lease_until=now + lease, attempts=1, updated_at=now).on_conflict_do_nothing()
                .returning(u.update_id)).first()
            if inserted is not None:
                return NEW
            row = c.execute(sa.select(u.status, u.holder, u.lease_until).where(*where).with_for_update()).one()
            if row.status == "done":
                return DONE
            if row.lease_until > now and row.holder != holder:
                return BUSY
            # the worker that had it died (or this one lost track of it): take it over
            c.execute(t.handled_updates.update().where(*where).values(
                holder=holder, lease_until=now + lease, attempts=u.attempts + 1, updated_at=now))
            if row.holder != holder:
                log.warning("%s update %s: taking over from %s, whose lease ran out", channel, update_id, row.holder)
            return NEW

    def renew_updates(self, channel: str, update_ids: list[str | int], holder: str, lease: float) -> None:
        """Extend the lease of updates this worker is still handling."""
        if not update_ids:
            return
        u = t.handled_updates.c
        with self._tx() as c:
            c.execute(t.handled_updates.update().where(
                u.channel == channel, u.update_id.in_([str(i) for i in update_ids]), u.holder == holder,
                u.status == "working").values(lease_until=self.clock() + lease))

    def finish_update(self, channel: str, update_id: str | int) -> None:
        """The reply is sent: a redelivery of this update is acknowledged without a second reply."""
        u = t.handled_updates.c
        with self._tx() as c:
            c.execute(t.handled_updates.update().where(u.channel == channel, u.update_id == str(update_id))
                      .values(status="done", updated_at=self.clock()))

    def release_update(self, channel: str, update_id: str | int, holder: str) -> None:
        """Handling failed before a reply went out: the next delivery may be handled at once."""
        u = t.handled_updates.c
        with self._tx() as c:
            c.execute(t.handled_updates.delete().where(u.channel == channel, u.update_id == str(update_id),
                                                       u.holder == holder, u.status == "working"))

    def update_attempts(self, channel: str) -> dict[str, int]:
        """Update id -> how many workers started it (more than 1: taken over after a crash)."""
        u = t.handled_updates.c
        with self._tx() as c:
            return {k: int(n) for k, n in c.execute(sa.select(u.update_id, u.attempts).where(u.channel == channel))}

    # ------------------------------------------------------------------ locks between machines

    def acquire_lock(self, name: str, holder: str, lease: float) -> str | None:
        """None when `holder` now has the lock (for `lease` seconds unless renewed), else who has it."""
        k = t.locks.c
        now = self.clock()
        with self._tx() as c:
            c.execute(self._insert(t.locks).values(name=name, holder=holder, lease_until=now + lease)
                      .on_conflict_do_update(index_elements=["name"], set_={"holder": holder, "lease_until": now + lease},
                                             where=sa.or_(k.lease_until < now, k.holder == holder)))
            current = c.execute(sa.select(k.holder).where(k.name == name)).scalar_one()
        return None if current == holder else current

    def renew_lock(self, name: str, holder: str, lease: float) -> bool:
        k = t.locks.c
        with self._tx() as c:
            done = c.execute(t.locks.update().where(k.name == name, k.holder == holder)
                             .values(lease_until=self.clock() + lease))
            return done.rowcount == 1

    def release_lock(self, name: str, holder: str) -> None:
        k = t.locks.c
        with self._tx() as c:
            c.execute(t.locks.delete().where(k.name == name, k.holder == holder))

    # ------------------------------------------------------------------ housekeeping

    def maybe_prune(self) -> None:
        """Every few minutes: drop expired buttons, sessions, rate windows and old update records."""
        now = self.clock()
        if now - self._pruned_at < PRUNE_EVERY_SECONDS or not self._prune_lock.acquire(blocking=False):
            return
        try:
            self._pruned_at = now
            self.prune(now)
        except StateError:
            log.warning("pruning the state database failed; trying again later", exc_info=True)
        finally:
            self._prune_lock.release()

    def prune(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        with self._tx() as c:
            gone = c.execute(sa.select(t.buttons.c.key).where(t.buttons.c.expires_at < now)).scalars().all()
            c.execute(t.buttons.delete().where(t.buttons.c.expires_at < now))
            if gone:
                c.execute(t.button_votes.delete().where(t.button_votes.c.key.in_(gone)))
            c.execute(t.sessions.delete().where(t.sessions.c.expires_at < now))
            c.execute(t.rate_limits.delete().where(t.rate_limits.c.updated_at < now - 3600))
            c.execute(t.handled_updates.delete().where(t.handled_updates.c.updated_at < now - HANDLED_KEEP_SECONDS))


def _salt_file(path: Path) -> str:
    salt_file = path.with_name(path.name + ".salt")
    try:
        return salt_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        salt = secrets.token_hex(16)
        try:
            fd = os.open(salt_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            return salt_file.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(salt)
        return salt
