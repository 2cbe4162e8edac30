"""The state store shared by workers, on both engines (an SQLite file and a real PostgreSQL database)."""

from __future__ import annotations

import sqlite3
import threading

import pytest
import sqlalchemy as sa

from bot.config import ConfigError, load_config
from bot.service.state import (BUSY, DATABASE_URL_ENV, DONE, NEW, SchemaTooNewError, StateError, StateStore,
                               code_revision, configured_url, open_store)
from bot.service.state.engine import create_engine, migrate


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def two_workers(state_url):
    """Two stores on one database, as two worker processes would open it."""
    clock = Clock()
    a, b = StateStore(state_url, salt="s", clock=clock), StateStore(state_url, salt="s", clock=clock)
    yield a, b, clock
    a.close()
    b.close()


def test_questions_are_counted_once_per_update_and_feedback_is_counted(two_workers):
    a, b, _ = two_workers
    qid = a.record_question(channel="telegram", user_id=1, chat_id=1, question="Kết luận 21", found=True,
                            doc_ids=["kl-21"], update_key="100")
    # the same update redelivered to the other worker after a crash: one row, same id
    assert b.record_question(channel="telegram", user_id=1, chat_id=1, question="Kết luận 21", found=True,
                             update_key="100") == qid
    b.record_question(channel="zalo", user_id="u", chat_id="c", question="giá vàng", found=False, update_key="100")
    b.record_question(channel="zalo", user_id="u", chat_id="c", question=" Giá vàng", found=False)
    a.record_feedback(channel="telegram", user_id=1, useful=True, question_id=qid, passage_id="kl-21#0")
    b.record_feedback(channel="telegram", user_id=2, useful=False, question_id=qid)
    stats = a.stats()
    assert (stats.questions, stats.not_found, stats.feedback_up, stats.feedback_down) == (3, 2, 1, 1)
    assert stats.by_channel == {"telegram": 1, "zalo": 2}
    assert stats.top_unanswered == [("giá vàng", 2)]


def test_a_button_made_on_one_worker_works_on_another_until_it_expires(two_workers):
    a, b, clock = two_workers
    key = a.put_button({"q": "chỉ thị 05", "offset": 3}, ttl=60)
    (k1, k2) = a.put_buttons([{"pid": "x#1"}, {"pid": "y#2"}], ttl=60)
    assert b.get_button(key) == {"q": "chỉ thị 05", "offset": 3}
    assert (b.get_button(k1), b.get_button(k2)) == ({"pid": "x#1"}, {"pid": "y#2"})
    assert len({key, k1, k2}) == 3 and all(len(k) == 8 for k in (key, k1, k2))
    assert b.get_button("nosuchkey") is None
    clock.now += 61
    assert b.get_button(key) is None


def test_each_user_votes_once_on_an_answer_whichever_worker_they_reach(two_workers):
    a, b, _ = two_workers
    key = a.put_button({"qid": 1}, ttl=60)
    assert a.vote(key, 7) is True
    assert b.vote(key, 7) is False
    assert b.vote(key, 8) is True


def test_follow_up_sessions_are_shared_extended_on_use_and_forgotten(two_workers):
    a, b, clock = two_workers
    a.put_session("zalo", "chat-1", {"question": "kl 21", "passage_ids": ["a", "b"]}, ttl=100)
    clock.now += 90
    assert b.get_session("zalo", "chat-1", ttl=100)["passage_ids"] == ["a", "b"]
    clock.now += 90  # 180 s after it was made, but 90 s after its last use
    assert a.get_session("zalo", "chat-1", ttl=100) is not None
    assert a.get_session("telegram", "chat-1", ttl=100) is None
    b.put_session("zalo", "chat-1", {"question": "ct 05", "passage_ids": []}, ttl=100)
    assert a.get_session("zalo", "chat-1", ttl=100)["question"] == "ct 05"
    clock.now += 101
    assert a.get_session("zalo", "chat-1", ttl=100) is None
    b.put_session("zalo", "chat-2", {"question": "x"}, ttl=100)
    a.drop_session("zalo", "chat-2")
    assert b.get_session("zalo", "chat-2", ttl=100) is None


def test_the_rate_limit_holds_per_user_across_workers_and_counts_a_redelivery_once(two_workers):
    a, b, clock = two_workers
    assert [w.rate_wait("telegram", 5, limit=3, event_key=str(i)) for i, w in enumerate((a, b, a))] == [0, 0, 0]
    assert b.rate_wait("telegram", 5, limit=3, event_key="3") == 61
    assert a.rate_wait("telegram", 6, limit=3) == 0  # another user
    assert b.rate_wait("telegram", 5, limit=3, event_key="1") == 0  # update 1 redelivered: already counted
    clock.now += 30
    assert a.rate_wait("telegram", 5, limit=3) == 31
    clock.now += 31
    assert a.rate_wait("telegram", 5, limit=3) == 0


def test_concurrent_questions_of_one_user_on_two_workers_never_pass_the_limit(two_workers):
    a, b, _ = two_workers
    passed = []

    def ask(store, thread, n):
        for i in range(n):
            if store.rate_wait("telegram", 42, limit=10, event_key=f"{thread}-{i}") == 0:
                passed.append(1)

    threads = [threading.Thread(target=ask, args=(store, n, 8)) for n, store in enumerate((a, b, a, b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(passed) == 10


def test_an_update_is_handled_by_one_worker_and_taken_over_only_when_its_lease_ran_out(two_workers):
    a, b, clock = two_workers
    assert a.claim_update("telegram", 1, "w1", lease=15) == NEW
    assert b.claim_update("telegram", 1, "w2", lease=15) == BUSY
    clock.now += 10
    a.renew_updates("telegram", [1], "w1", lease=15)
    clock.now += 10
    assert b.claim_update("telegram", 1, "w2", lease=15) == BUSY  # renewed: w1 is alive
    a.finish_update("telegram", 1)
    assert b.claim_update("telegram", 1, "w2", lease=15) == DONE
    # w1 dies while handling update 2: after the lease, w2 takes it over
    assert a.claim_update("telegram", 2, "w1", lease=15) == NEW
    clock.now += 16
    assert b.claim_update("telegram", 2, "w2", lease=15) == NEW
    assert a.update_attempts("telegram") == {"1": 1, "2": 2}
    # a failure before any reply releases the update for the next delivery at once
    assert a.claim_update("zalo", 2, "w1", lease=15) == NEW
    a.release_update("zalo", 2, "w1")
    assert b.claim_update("zalo", 2, "w2", lease=15) == NEW


def test_concurrent_deliveries_of_one_update_are_claimed_once(two_workers):
    a, b, _ = two_workers
    results = []
    threads = [threading.Thread(target=lambda s=s, i=i: results.append(s.claim_update("zalo", "m1", f"w{i}", 30)))
               for i, s in enumerate((a, b, a, b, a, b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [BUSY] * 5 + [NEW]


def test_the_reindex_lock_is_held_by_one_worker_and_freed_by_release_or_expiry(two_workers):
    a, b, clock = two_workers
    assert a.acquire_lock("reindex", "host-a:1", lease=60) is None
    assert b.acquire_lock("reindex", "host-b:2", lease=60) == "host-a:1"
    assert a.renew_lock("reindex", "host-a:1", lease=60)
    a.release_lock("reindex", "host-a:1")
    assert b.acquire_lock("reindex", "host-b:2", lease=60) is None
    clock.now += 61  # host-b died holding it
    assert not a.renew_lock("reindex", "host-a:1", lease=60)
    assert a.acquire_lock("reindex", "host-a:1", lease=60) is None


def test_pruning_drops_what_expired_and_keeps_the_rest(two_workers):
    a, b, clock = two_workers
    old = a.put_button({"x": 1}, ttl=10)
    a.vote(old, 1)
    a.put_session("zalo", "c", {"q": 1}, ttl=10)
    a.claim_update("telegram", 9, "w1", lease=10)
    a.finish_update("telegram", 9)
    clock.now += 3 * 24 * 3600
    new = a.put_button({"x": 2}, ttl=10)
    b.prune()
    with a.engine.connect() as c:
        counts = [c.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar()
                  for t in ("buttons", "button_votes", "sessions", "handled_updates")]
    assert counts == [1, 0, 0, 0]
    assert a.get_button(new) == {"x": 2}


def test_ids_are_hashed_with_one_salt_for_every_worker(state_url, monkeypatch):
    monkeypatch.delenv("DIRECTIVE_BOT_SALT", raising=False)
    a, b = StateStore(state_url), StateStore(state_url)
    try:
        assert a.anonymous(123456789) == b.anonymous(123456789) != a.anonymous(123456780)
        a.record_question(channel="telegram", user_id=123456789, chat_id=-100987654321, question="q", found=True)
        with a.engine.connect() as c:
            rows = c.execute(sa.text("SELECT user_id, chat_id FROM questions")).all()
        assert "123456789" not in str(rows) and "987654321" not in str(rows)
    finally:
        a.close()
        b.close()


def test_a_database_at_an_older_schema_is_migrated_and_keeps_its_rows(state_url):
    engine = create_engine(state_url)
    assert migrate(engine, "test", target="0001") == "0001"
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO questions (at, channel, user_id, chat_id, question, found) "
                          "VALUES (1, 'zalo', 'u', 'c', 'giá vàng', 0)"))
    engine.dispose()
    store = StateStore(state_url, salt="s")
    try:
        assert store.revision == code_revision() != "0001"
        assert store.stats().top_unanswered == [("giá vàng", 1)]
        store.put_button({"ok": True}, ttl=60)
    finally:
        store.close()


def test_a_database_at_a_newer_schema_is_refused_with_a_clear_message(state_url):
    StateStore(state_url, salt="s").close()
    engine = create_engine(state_url)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(SchemaTooNewError, match=r"schema revision 0099, newer than this directive-bot knows"):
        StateStore(state_url, salt="s")


def test_a_query_log_of_an_earlier_release_is_migrated_in_place(tmp_path):
    path = tmp_path / "querylog.sqlite"
    db = sqlite3.connect(path)  # the schema as the first releases wrote it, without alembic
    db.executescript("""
        CREATE TABLE questions (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, channel TEXT NOT NULL,
          user_id TEXT NOT NULL, chat_id TEXT NOT NULL, question TEXT NOT NULL, found INTEGER NOT NULL,
          top_doc_id TEXT NOT NULL DEFAULT '', index_version TEXT NOT NULL DEFAULT '');
        CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, channel TEXT NOT NULL,
          user_id TEXT NOT NULL, question_id INTEGER, passage_id TEXT NOT NULL DEFAULT '', useful INTEGER NOT NULL);
        INSERT INTO questions (at, channel, user_id, chat_id, question, found) VALUES (1, 'telegram', 'u', 'c', 'x', 1);
        INSERT INTO feedback (at, channel, user_id, useful) VALUES (1, 'telegram', 'u', 0);
    """)
    db.commit()
    db.close()
    from bot.service.querylog import QueryLog

    log = QueryLog(path, salt="s")
    log.record(channel="zalo", user_id=1, chat_id=1, question="y", found=False, doc_ids=["d"])
    stats = log.stats()
    log.close()
    assert (stats.questions, stats.not_found, stats.feedback_down) == (2, 1, 1)
    assert sqlite3.connect(path).execute("SELECT doc_ids FROM questions ORDER BY id").fetchall() == [("[]",), ('["d"]',)]


def test_a_wrong_postgresql_password_is_one_line_without_the_password(postgres_url):
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url).set(username="nosuchuser", password="Sup3rSecretPw")
    with pytest.raises(StateError) as info:
        StateStore(url.render_as_string(hide_password=False))
    message = str(info.value)
    assert "Sup3rSecretPw" not in message and "***" in message and "\n" not in message
    assert message.startswith("cannot open the state database postgresql")


def test_the_environment_url_wins_and_a_password_in_config_yaml_is_refused(tmp_path, monkeypatch):
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text("database:\n  url: postgresql://bot@db.example.org/directive\n", encoding="utf-8")
    cfg = load_config(cfg_path)
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    assert configured_url(cfg.database.url, cfg.querylog.path) == "postgresql://bot@db.example.org/directive"
    monkeypatch.setenv(DATABASE_URL_ENV, f"sqlite:///{tmp_path}/env.sqlite")
    store = open_store(cfg)
    store.close()
    assert (tmp_path / "env.sqlite").exists()
    monkeypatch.delenv(DATABASE_URL_ENV)
    cfg_path.write_text("database:\n  url: postgresql://bot:hunter2hunter@db/directive\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="contains a password") as info:
        load_config(cfg_path)
    assert "hunter2hunter" not in str(info.value)


def test_without_database_url_the_store_is_the_sqlite_query_log_file(tmp_path, monkeypatch):
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text("querylog:\n  path: var/q.sqlite\n", encoding="utf-8")
    store = open_store(load_config(cfg_path))
    store.put_session("zalo", "c", {"a": 1}, ttl=60)
    store.close()
    assert (tmp_path / "var" / "q.sqlite").is_file()
