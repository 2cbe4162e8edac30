"""/ontap in Telegram: the real Application posts native quiz polls to the fake Bot API server."""

from __future__ import annotations

import datetime as dt
import shutil
import time

import pytest

from bot import messages
from bot.config import load_config
from bot.service.answering import AnswerService
from bot.service.quizfacts import in_text
from tests.conftest import KNOWLEDGE, write_config
from tests.fake_telegram import GROUP, USER
from tests.test_quiz import EXCERPTS
from tests.test_telegram import button, buttons, running


TRAINER = {"id": 2002, "is_bot": False, "first_name": "Bí thư", "language_code": "vi"}


@pytest.fixture(scope="module")
def quiz_service(tmp_path_factory) -> AnswerService:
    folder = tmp_path_factory.mktemp("tgquiz")
    (folder / "knowledge").mkdir()
    for path in EXCERPTS:
        shutil.copy(path, folder / "knowledge" / path.name)
    shutil.copy(KNOWLEDGE / "tin-quangtri-so-ket-3-nam-ct05.md", folder / "knowledge")
    return AnswerService(load_config(write_config(folder, telegram={"trainer_ids": [TRAINER["id"]]})))


@pytest.fixture
def bot(quiz_service, tmp_path):
    with running(quiz_service, tmp_path) as harness:
        yield harness


def _polls(bot, message, count=1):
    return bot.fake.wait_for("sendPoll", count=count, after=message["_mark"])


def test_ontap_in_a_group_posts_a_quiz_poll_naming_its_clause(bot):
    message = bot.ask("/ontap", chat=GROUP)
    [poll] = _polls(bot, message)
    params, sent = poll.params, poll.result["poll"]
    assert params["type"] == "quiz" and int(params["chat_id"]) == GROUP["id"]
    options = [o["text"] for o in sent["options"]]
    assert params["correct_option_ids"] == [sent["correct_option_id"]]
    correct = options[sent["correct_option_id"]]
    assert 2 <= len(options) <= 10 and len(params["question"]) <= 300
    explanation = params["explanation"]
    assert len(explanation) <= 200 and explanation.startswith(("Điều lệ Đảng", "Quy định 294-QĐ/TW"))
    assert [b["text"] for b in buttons(poll)] == [messages.TG_QUIZ_BUTTON_CLAUSE, messages.TG_BUTTON_SHARE]
    if correct not in (messages.QUIZ_TRUE, messages.QUIZ_FALSE):
        assert correct.lower() in explanation.lower() or explanation.endswith("…”")


def test_ontap_with_a_count_and_a_document_posts_a_series_from_that_document(bot):
    message = bot.ask("/ontap 3 Điều lệ")
    polls = _polls(bot, message, count=3)
    assert len(polls) == 3
    assert all(p.params["explanation"].startswith("Điều lệ Đảng") for p in polls)
    assert len({p.params["question"] for p in polls}) == 3


def test_ontap_on_a_topic_draws_from_the_clauses_about_it(bot):
    message = bot.ask("/ontap đảng viên dự bị")
    [poll] = _polls(bot, message)
    pressed = bot.fake.mark()
    bot.fake.press(poll, button(poll, messages.TG_QUIZ_BUTTON_CLAUSE)["callback_data"])
    [clause] = bot.fake.wait_for("sendMessage", after=pressed)
    assert "dự bị" in clause.params["text"]


def test_xem_dieu_khoan_shows_the_whole_clause_with_its_reference_and_source(bot):
    message = bot.ask("/ontap Quy định 294")
    [poll] = _polls(bot, message)
    pressed = bot.fake.mark()
    bot.fake.press(poll, button(poll, messages.TG_QUIZ_BUTTON_CLAUSE)["callback_data"])
    [reply] = bot.fake.wait_for("sendMessage", after=pressed)
    text = reply.params["text"]
    assert text.startswith("Điều khoản (Quy định 294-QĐ/TW, mục ") and "quydinh294.pdf" in text
    assert bot.fake.wait_for("answerCallbackQuery", after=pressed)


def test_chia_se_gives_one_compact_card_with_answer_clause_reference_and_source(bot):
    message = bot.ask("/ontap Điều lệ")
    [poll] = _polls(bot, message)
    pressed = bot.fake.mark()
    bot.fake.press(poll, button(poll, messages.TG_BUTTON_SHARE)["callback_data"])
    [card] = bot.fake.wait_for("sendMessage", after=pressed)
    lines = card.params["text"].split("\n")
    assert lines[0].startswith("Trả lời: ") and lines[1].startswith("“")
    assert lines[2].startswith("— Điều lệ Đảng Cộng sản Việt Nam, Điều ") and lines[3].startswith("Nguồn: https://")
    answer = lines[0].removeprefix("Trả lời: ").split(" (")[0]
    if answer not in (messages.QUIZ_TRUE, messages.QUIZ_FALSE):
        assert in_text(answer, lines[1])


def test_ontap_on_a_topic_no_clause_covers_says_so(bot):
    message = bot.ask("/ontap giá vé máy bay Tết")
    [reply] = bot.replies(message)
    assert "giá vé máy bay Tết" in reply.params["text"] and not bot.fake.requests("sendPoll")


def _noted(application, polls) -> None:
    """Wait until the bot noted the polls' ids (once Telegram's reply to sendPoll reaches it)."""
    from bot.channels.telegram.quiz import scores

    deadline = time.monotonic() + 10
    while not all(scores(application).knows(p.result["poll"]["id"]) for p in polls):
        assert time.monotonic() < deadline, "the polls were not noted"
        time.sleep(0.02)


def _counted(application, chat_id: int, answers: int) -> None:
    """Wait until `answers` answers in the chat are counted (poll answers get no reply)."""
    from bot.channels.telegram.quiz import scores

    deadline = time.monotonic() + 10
    while sum(s.answered for s in scores(application).board(chat_id)) < answers:
        assert time.monotonic() < deadline, "the poll answers were not counted"
        time.sleep(0.02)


def _answer_all(fake, polls) -> None:
    """USER answers every poll right, TRAINER every poll wrong; one answer to a poll that is not ours."""
    for poll in polls:
        correct = poll.result["poll"]["correct_option_id"]
        fake.poll_answer(poll.result["poll"]["id"], [correct], user=USER)
        fake.poll_answer(poll.result["poll"]["id"], [(correct + 1) % 2], user=TRAINER)
    fake.poll_answer("someone-elses-poll", [0], user=TRAINER)  # not ours: not counted


def _ketqua_lines(bot) -> list[str]:
    message = bot.ask("/ketqua", chat=GROUP)
    return bot.replies(message)[0].params["text"].splitlines()[1:]


def test_answers_to_the_polls_are_counted_for_ketqua(bot):
    message = bot.ask("/ontap 2 Điều lệ", chat=GROUP)
    polls = _polls(bot, message, count=2)
    _noted(bot.application, polls)
    _answer_all(bot.fake, polls)
    _counted(bot.application, GROUP["id"], 4)
    assert _ketqua_lines(bot) == [f"• {USER['first_name']}: 2/2", f"• {TRAINER['first_name']}: 0/2"]


def test_polls_posted_by_one_worker_are_counted_by_another_and_ketqua_shows_them_anywhere(quiz_service, tmp_path,
                                                                                         state_url):
    """Two applications (webhook workers) on one state database: the polls /ontap posts on the first are
    answered on the second; /ketqua on either, and after both restarted, lists who answered them."""
    from bot.service.state import StateStore

    store_a, store_b = StateStore(state_url, salt="s"), StateStore(state_url, salt="s")
    try:
        with running(quiz_service, tmp_path, store_a) as a, running(quiz_service, tmp_path, store_b) as b:
            message = a.ask("/ontap 2 Điều lệ", chat=GROUP)
            polls = _polls(a, message, count=2)
            _noted(a.application, polls)
            _answer_all(b.fake, polls)  # Telegram sends the answers to whichever worker nginx picks
            _counted(b.application, GROUP["id"], 4)
            expected = [f"• {USER['first_name']}: 2/2", f"• {TRAINER['first_name']}: 0/2"]
            assert _ketqua_lines(b) == expected
            assert _ketqua_lines(a) == expected
            other = a.ask("/ketqua", chat={"id": -100888, "type": "supergroup", "title": "Chi bộ khác"})
            assert a.replies(other)[0].params["text"].startswith("Chưa có ai trả lời")
        store_b.close()
        store_b = StateStore(state_url, salt="s")
        with running(quiz_service, tmp_path, store_b) as restarted:  # a new process, the same database
            assert _ketqua_lines(restarted) == expected
    finally:
        store_a.close()
        store_b.close()


def test_ketqua_before_any_answer_says_so(bot):
    scores = bot.ask("/ketqua", chat=GROUP)
    assert bot.replies(scores)[0].params["text"].startswith("Chưa có ai trả lời")


def test_ontap_is_registered_as_a_public_command(bot):
    [call] = [c for c in bot.fake.wait_for("setMyCommands") if "scope" not in c.params]
    assert "ontap" in [c["command"] for c in call.params["commands"]]


# ---------------------------------------------------------------- schedules

def test_schedules_are_read_in_vietnamese_with_day_time_count_and_topic():
    from bot.service.quizschedule import EVERY_DAY, ScheduleError, parse_schedule

    assert parse_schedule("thứ 5 19:30 5 câu Quy định 294") == (3, 19 * 60 + 30, 5, "Quy định 294")
    assert parse_schedule("chủ nhật 8h 3 câu") == (6, 480, 3, "")
    assert parse_schedule("hằng ngày 7:05 đảng viên dự bị") == (EVERY_DAY, 425, 1, "đảng viên dự bị")
    assert parse_schedule("thu 2 20:00 40 cau") == (0, 1200, 10, "")
    with pytest.raises(ScheduleError):
        parse_schedule("ngày mai 7h")
    with pytest.raises(ScheduleError):
        parse_schedule("thứ 5 25:00")


def test_only_trainers_and_admins_schedule_a_series(bot):
    message = bot.ask("/lichontap thứ 5 19:30 5 câu Quy định 294", chat=GROUP, user=USER)
    [reply] = bot.replies(message)
    assert reply.params["text"] == render_escape(messages.QUIZ_TRAINERS_ONLY)
    assert not bot.application.job_queue.jobs() or all(
        not j.name.startswith("quiz-schedule-") for j in bot.application.job_queue.jobs())


def render_escape(text: str) -> str:
    from bot.channels.telegram.render import escape

    return escape(text)


def _jobs(application, name: str, present: bool = True, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = application.job_queue.get_jobs_by_name(name)
        if bool(jobs) == present:
            return jobs
        time.sleep(0.02)
    raise AssertionError(f"job {name} {'missing' if present else 'still there'}")


def test_a_schedule_survives_a_restart_and_posts_its_series_on_time(quiz_service, tmp_path):
    with running(quiz_service, tmp_path) as bot:
        message = bot.ask("/lichontap thứ 5 19:30 3 câu Quy định 294", chat=GROUP, user=TRAINER)
        [reply] = bot.replies(message)
        assert reply.params["text"].startswith("Đã đặt lịch ôn tập #")
        schedule_id = int(reply.params["text"].split("#")[1].split(":")[0])
        [job] = _jobs(bot.application, f"quiz-schedule-{schedule_id}")
        when = job.next_t.astimezone(dt.timezone(dt.timedelta(hours=7)))
        assert (when.weekday(), when.hour, when.minute) == (3, 19, 30)
        listing = bot.ask("/lichontap", chat=GROUP, user=TRAINER)
        assert "thứ Năm lúc 19:30, 3 câu, Quy định 294" in bot.replies(listing)[0].params["text"]
    with running(quiz_service, tmp_path) as bot:  # a new process on the same database
        [job] = _jobs(bot.application, f"quiz-schedule-{schedule_id}")
        start = bot.fake.mark()
        job.job.modify(next_run_time=dt.datetime.now(dt.timezone.utc))  # 19:30 on Thursday is now
        polls = bot.fake.wait_for("sendPoll", count=3, after=start)
        assert {int(p.params["chat_id"]) for p in polls} == {GROUP["id"]}
        assert all(p.params["explanation"].startswith("Quy định 294-QĐ/TW") for p in polls)
        removed = bot.ask(f"/lichontap xoá {schedule_id}", chat=GROUP, user=TRAINER)
        assert bot.replies(removed)[0].params["text"] == f"Đã xoá lịch ôn tập #{schedule_id}."
        _jobs(bot.application, f"quiz-schedule-{schedule_id}", present=False)
    with running(quiz_service, tmp_path) as bot:
        listing = bot.ask("/lichontap", chat=GROUP, user=TRAINER)
        assert bot.replies(listing)[0].params["text"].startswith("Nhóm này chưa có lịch ôn tập nào.")


def test_a_schedule_that_cannot_be_read_gets_the_pattern_to_follow(bot):
    message = bot.ask("/lichontap tối mai nhé", chat=GROUP, user=TRAINER)
    assert "/lichontap thứ 5 19:30 5 câu Quy định 294" in bot.replies(message)[0].params["text"]
