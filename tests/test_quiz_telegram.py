"""/ontap in Telegram: the real Application posts native quiz polls to the fake Bot API server."""

from __future__ import annotations

import shutil

import pytest

from bot import messages
from bot.config import load_config
from bot.service.answering import AnswerService
from bot.service.quizfacts import in_text
from tests.conftest import KNOWLEDGE, write_config
from tests.fake_telegram import GROUP
from tests.test_quiz import EXCERPTS
from tests.test_telegram import button, buttons, running


@pytest.fixture(scope="module")
def quiz_service(tmp_path_factory) -> AnswerService:
    folder = tmp_path_factory.mktemp("tgquiz")
    (folder / "knowledge").mkdir()
    for path in EXCERPTS:
        shutil.copy(path, folder / "knowledge" / path.name)
    shutil.copy(KNOWLEDGE / "tin-quangtri-so-ket-3-nam-ct05.md", folder / "knowledge")
    return AnswerService(load_config(write_config(folder)))


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


def test_ontap_is_registered_as_a_public_command(bot):
    [call] = [c for c in bot.fake.wait_for("setMyCommands") if "scope" not in c.params]
    assert "ontap" in [c["command"] for c in call.params["commands"]]
