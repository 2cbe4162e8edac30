"""The shared query log: what /thongke counts, and no raw user or chat id on disk."""

from __future__ import annotations

import sqlite3

from bot.service.querylog import QueryLog


def test_questions_and_feedback_are_counted_and_ids_are_stored_only_as_salted_hashes(tmp_path, monkeypatch):
    monkeypatch.delenv("DIRECTIVE_BOT_SALT", raising=False)
    log = QueryLog(tmp_path / "q.sqlite")
    qid = log.record(channel="telegram", user_id=123456789, chat_id=-100987654321, chat_type="group",
                     question="Kết luận 21", found=True, doc_ids=["a", "b"])
    log.record(channel="zalo", user_id="u-42", chat_id="c-42", question="giá vàng", found=False)
    log.record(channel="zalo", user_id="u-42", chat_id="c-42", question="Giá vàng ", found=False)
    log.feedback(channel="telegram", user_id=123456789, useful=True, question_id=qid, passage_id="a#0")
    stats = log.stats()
    assert (stats.questions, stats.not_found, stats.feedback_up, stats.feedback_down) == (3, 2, 1, 0)
    assert stats.by_channel == {"telegram": 1, "zalo": 2}
    assert stats.top_unanswered == [("giá vàng", 2)]
    log.close()
    raw = (tmp_path / "q.sqlite").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("q.sqlite-"))
    for secret in (b"123456789", b"987654321", b"u-42", b"c-42"):
        assert secret not in raw
    row = sqlite3.connect(tmp_path / "q.sqlite").execute(
        "SELECT chat_type, doc_ids FROM questions WHERE id = ?", (qid,)).fetchone()
    assert row == ("group", '["a", "b"]')
    # the salt lives beside the database, so the same user hashes the same after a restart
    again = QueryLog(tmp_path / "q.sqlite")
    assert again.anonymous(123456789) == QueryLog(tmp_path / "q.sqlite").anonymous(123456789)
    assert (tmp_path / "q.sqlite.salt").exists()
