"""Quizzes in Zalo and the terminal: numbered options, "1"-"4" answers with the clause, "chia sẻ" cards."""

from __future__ import annotations

import dataclasses
import io
import shutil

import pytest

from bot import messages as msg
from bot.channels.console import chat
from bot.channels.quizflow import QuizChats
from bot.config import QueryLogConfig, ZaloConfig, load_config
from bot.service.answering import AnswerService
from bot.service.quiz import QuizService
from conftest import KNOWLEDGE, write_config
from fake_zalo import FakeZalo
from test_quiz import EXCERPTS
from test_zalo import TOKEN, ask, polling


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> AnswerService:
    folder = tmp_path_factory.mktemp("quiztext")
    (folder / "knowledge").mkdir()
    for path in EXCERPTS:
        shutil.copy(path, folder / "knowledge" / path.name)
    shutil.copy(KNOWLEDGE / "tin-quangtri-so-ket-3-nam-ct05.md", folder / "knowledge")
    return AnswerService(load_config(write_config(folder)))


def test_a_series_asks_one_question_at_a_time_and_answers_with_the_clause(service):
    quizzes = QuizChats(QuizService(service))
    first = quizzes.start("c1", "2 Điều lệ", seed=5)
    assert first.startswith("Câu 1/2. Theo Điều lệ Đảng Cộng sản Việt Nam, Điều ")
    item = quizzes._chats["c1"].items[0]
    right = quizzes.answer("c1", item.correct + 1)
    assert right.startswith(msg.QUIZ_RIGHT) and item.clause in right and "Câu 2/2." in right
    second = quizzes._chats["c1"].items[1]
    wrong = quizzes.answer("c1", (second.correct + 1) % len(second.options) + 1)
    assert wrong.startswith("❌ Chưa đúng. Đáp án: ") and second.options[second.correct] in wrong
    assert not quizzes.pending("c1") and quizzes.answer("c1", 1) == msg.QUIZ_NO_PENDING
    card = quizzes.share("c1")
    assert second.clause in card and second.reference in card and card.count("\n") <= 4


def test_an_option_number_out_of_range_asks_again(service):
    quizzes = QuizChats(QuizService(service))
    quizzes.start("c2", "Quy định 294", seed=1)
    assert quizzes.answer("c2", 9).startswith("Trả lời bằng số 1–") and quizzes.pending("c2")


def test_the_terminal_chat_runs_a_quiz_and_shares_an_answer(service):
    out = io.StringIO()
    chat(service, stdin=io.StringIO("/ontap Quy định 294\n1\nchia sẻ\nthời kỳ dự bị\nchia sẻ\n"), stdout=out)
    text = out.getvalue()
    assert "Theo Quy định 294-QĐ/TW, mục " in text and "Trả lời bằng số 1–" in text
    assert ("✅ Đúng!" in text) != ("❌ Chưa đúng." in text)
    assert text.count("Nguồn: https://") >= 2 and text.count("— ") >= 2


@pytest.fixture
def fake():
    server = FakeZalo(token=TOKEN, max_poll_wait=0.3).start()
    yield server
    server.stop()


@pytest.mark.asyncio
async def test_zalo_ontap_then_a_number_answers_and_chia_se_gives_the_card(fake, service, tmp_path):
    config = dataclasses.replace(
        service.config, querylog=QueryLogConfig(path=tmp_path / "querylog.sqlite"),
        zalo=ZaloConfig(api_base_url=fake.base_url, mode="polling", polling_timeout=1, bot_name="Hỏi đáp"))
    async with await polling(fake, config, service):
        ask(fake, "/ontap Điều lệ", "q-1")
        await fake.until(lambda: any("Trả lời bằng số 1–" in t for t in fake.sent()), "the question")
        question = next(t for t in fake.sent() if "Trả lời bằng số 1–" in t)
        assert question.startswith("Theo Điều lệ Đảng Cộng sản Việt Nam, Điều ") and "\n1. " in question
        ask(fake, "1", "q-2")
        await fake.until(lambda: any(t.startswith(("✅", "❌")) for t in fake.sent()), "the verdict")
        verdict = next(t for t in fake.sent() if t.startswith(("✅", "❌")))
        assert "Điều khoản (Điều lệ Đảng Cộng sản Việt Nam, Điều " in verdict
        ask(fake, "chia sẻ", "q-3")
        await fake.until(lambda: any(t.startswith("Trả lời: ") for t in fake.sent()), "the card")
    card = next(t for t in fake.sent() if t.startswith("Trả lời: "))
    assert "— Điều lệ Đảng Cộng sản Việt Nam, Điều " in card and "Nguồn: https://" in card
