"""/ketqua scores kept in the shared state store: a poll posted by one worker is counted by any other,
answers racing on two workers all count, and scores expire after a month without answers."""

from __future__ import annotations

import json
import threading

import sqlalchemy as sa

import bot.service.state.schema as t
from bot.service.quizscores import SCORE_SECONDS, Score, StoredQuizScores
from bot.service.state import StateStore

GROUP = -100777


def _pair(state_url, clock=None):
    kwargs = {"clock": clock} if clock else {}
    a, b = StateStore(state_url, salt="s", **kwargs), StateStore(state_url, salt="s", **kwargs)
    return (a, b), (StoredQuizScores(a, "telegram"), StoredQuizScores(b, "telegram"))


def test_a_poll_noted_on_one_worker_is_counted_on_another_and_shown_on_a_third(state_url):
    (a, b), (on_a, on_b) = _pair(state_url)
    c = StateStore(state_url, salt="s")
    try:
        on_a.note_poll("poll-1", GROUP, correct=2)
        on_a.note_poll("poll-2", GROUP, correct=0)
        assert on_b.count("poll-1", 1001, "Cán bộ", 2) and on_b.count("poll-2", 1001, "Cán bộ", 1)
        assert on_b.count("poll-1", 2002, "Bí thư", 2)
        assert not on_b.count("someone-elses-poll", 2002, "Bí thư", 0)
        assert StoredQuizScores(c, "telegram").board(GROUP) == [Score("Bí thư", 1, 1), Score("Cán bộ", 1, 2)]
        assert on_a.board(-100888) == []  # another chat: nobody answered there
    finally:
        for store in (a, b, c):
            store.close()


def test_a_stored_score_holds_only_the_name_and_the_counts_under_hashed_ids(state_url):
    (a, b), (on_a, _) = _pair(state_url)
    try:
        on_a.note_poll("poll-1", GROUP, correct=1)
        on_a.count("poll-1", 1001, "Cán bộ", 1)
        with a.engine.connect() as c:
            rows = c.execute(sa.select(t.sessions.c.channel, t.sessions.c.chat_key, t.sessions.c.payload)).all()
        assert len(rows) == 2  # the poll and one score
        for channel, chat_key, payload in rows:
            assert "100777" not in channel + chat_key + payload and "1001" not in chat_key + payload
            assert "poll-1" not in chat_key + payload
        [score] = [json.loads(p) for channel, _, p in rows if channel.startswith("telegram-score:")]
        assert score == {"name": "Cán bộ", "right": 1, "answered": 1}
    finally:
        a.close()
        b.close()


def test_answers_of_one_member_racing_on_two_workers_both_count(state_url):
    """While worker A holds the member's row, worker B's answer waits for it instead of overwriting it."""
    (a, b), (on_a, on_b) = _pair(state_url)
    try:
        on_a.note_poll("poll-1", GROUP, correct=0)
        on_a.note_poll("poll-2", GROUP, correct=0)
        on_b.count("poll-1", 1001, "Cán bộ", 0)
        racer = threading.Thread(target=on_b.count, args=("poll-2", 1001, "Cán bộ", 1))
        change = a.change_session

        def change_while_b_answers(channel, chat_id, fn, ttl):
            def slow(old):
                racer.start()
                racer.join(timeout=0.5)  # time enough for B to read and write the row, were it not held
                return fn(old)

            return change(channel, chat_id, slow, ttl)

        a.change_session = change_while_b_answers
        on_a.count("poll-2", 1001, "Cán bộ", 0)
        racer.join(timeout=30)
        assert not racer.is_alive()
        assert on_b.board(GROUP) == [Score("Cán bộ", 2, 3)]
    finally:
        a.close()
        b.close()


def test_many_answers_from_several_members_on_two_workers_are_all_counted(state_url):
    (a, b), (on_a, on_b) = _pair(state_url)
    try:
        for n in range(3):
            on_a.note_poll(f"poll-{n}", GROUP, correct=0)

        def answer(scores, user):
            for n in range(3):
                scores.count(f"poll-{n}", user, f"Đảng viên {user}", n % 2)

        threads = [threading.Thread(target=answer, args=(on_a if i % 2 else on_b, 1000 + i % 3)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        board = on_a.board(GROUP)
        assert sorted(s.name for s in board) == [f"Đảng viên {u}" for u in (1000, 1001, 1002)]
        assert all((s.right, s.answered) == (4, 6) for s in board)  # two threads each: 2 right of 3, twice
    finally:
        a.close()
        b.close()


def test_scores_and_polls_expire_a_month_after_their_last_answer(state_url):
    now = [1_800_000_000.0]
    (a, b), (on_a, on_b) = _pair(state_url, clock=lambda: now[0])
    try:
        on_a.note_poll("poll-1", GROUP, correct=0)
        on_a.note_poll("poll-2", GROUP, correct=0)
        on_b.count("poll-1", 1001, "Cán bộ", 0)
        on_b.count("poll-1", 2002, "Bí thư", 0)
        now[0] += SCORE_SECONDS - 60
        on_b.count("poll-2", 1001, "Cán bộ", 0)  # still known; this member's score lives on
        now[0] += 120
        assert on_a.board(GROUP) == [Score("Cán bộ", 2, 2)]  # Bí thư's month without an answer is over
        assert not on_a.count("poll-1", 2002, "Bí thư", 0)  # the poll was last used a month ago
        now[0] += SCORE_SECONDS
        assert on_a.board(GROUP) == []
    finally:
        a.close()
        b.close()


def test_a_score_written_by_another_release_is_ignored_not_fatal(state_url):
    (a, b), (on_a, _) = _pair(state_url)
    try:
        a.put_session("telegram-poll", "poll-1", {"chat_id": GROUP}, SCORE_SECONDS)  # another layout
        assert not on_a.count("poll-1", 1001, "Cán bộ", 0)
        on_a.note_poll("poll-2", GROUP, correct=0)
        a.put_session(f"telegram-score:{a.anonymous(GROUP)}", 1001, {"points": 3}, SCORE_SECONDS)
        assert on_a.board(GROUP) == []
        assert on_a.count("poll-2", 1001, "Cán bộ", 0)
        assert on_a.board(GROUP) == [Score("Cán bộ", 1, 1)]
    finally:
        a.close()
        b.close()


def test_without_a_store_polls_and_scores_stay_in_memory_and_old_polls_are_forgotten():
    from bot.service.quizscores import QuizScores

    scores = QuizScores(max_polls=2)
    for n in range(3):
        scores.note_poll(f"poll-{n}", GROUP, correct=1)
    assert not scores.count("poll-0", 1001, "Cán bộ", 1)  # beyond the last two polls
    assert scores.count("poll-1", 1001, "Cán bộ", 1) and scores.count("poll-2", 1001, "Cán bộ", 0)
    assert scores.count("poll-2", 2002, "Bí thư", 1)
    assert scores.board(GROUP) == [Score("Bí thư", 1, 1), Score("Cán bộ", 1, 2)] and scores.board(-1) == []
