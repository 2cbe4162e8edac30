"""A quiz series scheduled with /lichontap is posted once per run, whichever worker runs it first."""

from __future__ import annotations

from bot.service.quizschedule import QuizSchedules
from bot.service.state import StateStore


def test_one_run_of_a_series_is_posted_by_one_worker_only_and_not_after_removal(state_url):
    a, b = StateStore(state_url, salt="s"), StateStore(state_url, salt="s")
    try:
        on_a, on_b = QuizSchedules(a), QuizSchedules(b)
        schedule = on_a.add(channel="telegram", chat_id=-100, weekday=3, minute=19 * 60 + 30, count=5,
                            topic="Quy định 294", created_by=7)
        assert on_a.claim_run(schedule, "2026-12-03T12:30", "worker-a")
        assert not on_b.claim_run(schedule, "2026-12-03T12:30", "worker-b")  # the same run: skipped
        assert on_b.claim_run(schedule, "2026-12-10T12:30", "worker-b")  # next week's run: whoever is first
        assert on_b.remove("telegram", -100, schedule.schedule_id)
        assert not on_a.claim_run(schedule, "2026-12-17T12:30", "worker-a")  # removed on another worker
    finally:
        a.close()
        b.close()
