"""Quizzes in Zalo and the terminal: numbered options, "1"-"4" answers with the clause, "chia sẻ" cards."""

from __future__ import annotations

import dataclasses
import io
import shutil

import pytest
import sqlalchemy as sa

import bot.service.state.schema as state_schema
from bot import messages as msg
from bot.channels.console import chat
from bot.channels.quizflow import QUIZ_SECONDS, QuizChats, StoredQuizChats
from bot.config import QueryLogConfig, ZaloConfig, load_config
from bot.service.answering import AnswerService
from bot.service.quiz import QuizService
from bot.service.state import StateStore
from conftest import KNOWLEDGE, write_config
from fake_zalo import FakeZalo, text_update
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
    item = quizzes._load("c1").items[0]
    right = quizzes.answer("c1", item.correct + 1)
    assert right.startswith(msg.QUIZ_RIGHT) and item.clause in right and "Câu 2/2." in right
    second = quizzes._load("c1").items[1]
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


# ---------------------------------------------------------------- several Zalo webhook workers, one state store


def _posted(fake: FakeZalo, before: int) -> str:
    sent = fake.sent()
    assert len(sent) == before + 1, sent[before:]
    return sent[-1]


def _item_shown(service, question: str, number: int, total: int):
    """The pool item whose numbered text is `question` (found without reading the bot's state)."""
    from bot.channels.quiztext import format_item

    return next(i for i in QuizService(service).pool().items if format_item(i, number, total) == question)


async def _say(http, fake: FakeZalo, worker, text: str, message_id: str) -> str:
    from test_zalo_workers import HEADERS

    before = len(fake.sent())
    response = await http.post(worker.url, json=text_update(text, message_id=message_id), headers=HEADERS)
    assert response.status_code == 200
    return _posted(fake, before)


@pytest.fixture
async def two_workers(service, fake, state_url):
    """Two webhook workers (their own bot and store connection) on one database, with one settable clock."""
    from test_zalo_workers import Worker

    now = [1_800_000_000.0]
    pair = [Worker(name, service, fake, state_url, clock=lambda: now[0]) for name in ("worker-a", "worker-b")]
    yield pair, now
    for worker in pair:
        await worker.close()


@pytest.mark.asyncio
async def test_a_quiz_started_on_one_worker_is_answered_and_shared_on_another(service, fake, two_workers):
    import httpx

    (a, b), _ = two_workers
    async with httpx.AsyncClient(timeout=60) as http:
        question = await _say(http, fake, a, "/ontap 2 Điều lệ", "m-1")
        first = _item_shown(service, question, 1, 2)
        verdict = await _say(http, fake, b, str(first.correct + 1), "m-2")  # the reply reaches worker b
        assert verdict.startswith(msg.QUIZ_RIGHT) and first.clause in verdict and first.reference in verdict
        next_question = verdict.split("\n\n", 1)[1]
        second = _item_shown(service, next_question, 2, 2)
        assert second.item_id != first.item_id
        wrong = (second.correct + 1) % len(second.options) + 1
        verdict = await _say(http, fake, a, str(wrong), "m-3")
        assert verdict.startswith("❌ Chưa đúng. Đáp án: ") and second.clause in verdict
        assert "Câu " not in verdict  # the series is over
        card = await _say(http, fake, b, "chia sẻ", "m-4")
        assert second.clause in card and second.reference in card and card.startswith("Trả lời: ")
        # the series is over on every worker: a number now asks for a result list, which there is none of
        assert await _say(http, fake, b, "1", "m-5") == msg.NOTHING_TO_CONTINUE
    with a.store.engine.connect() as c:
        rows = c.execute(sa.select(state_schema.sessions)).all()
    assert [r.channel for r in rows] == ["zalo-quiz"]
    assert "chat-1" not in repr(rows) and rows[0].chat_key == a.store.anonymous("chat-1")  # the id is hashed


@pytest.mark.asyncio
async def test_a_quiz_expires_after_thirty_minutes_without_use_on_every_worker(service, fake, two_workers):
    import httpx

    (a, b), now = two_workers
    async with httpx.AsyncClient(timeout=60) as http:
        first = _item_shown(service, await _say(http, fake, a, "/ontap 3 Điều lệ", "m-1"), 1, 3)
        now[0] += QUIZ_SECONDS - 60  # used within 30 minutes: still there, and its life starts again
        verdict = await _say(http, fake, b, str(first.correct + 1), "m-2")
        assert verdict.startswith(msg.QUIZ_RIGHT) and "Câu 2/3." in verdict
        now[0] += QUIZ_SECONDS - 60
        assert "Câu 3/3." in await _say(http, fake, a, "1", "m-3")
        now[0] += QUIZ_SECONDS + 1  # then forgotten
        assert await _say(http, fake, b, "1", "m-4") == msg.NOTHING_TO_CONTINUE
        assert await _say(http, fake, a, "chia sẻ", "m-5") == msg.QUIZ_NOTHING_TO_SHARE


def test_stored_quiz_state_from_another_release_counts_as_none(service, state_url):
    store = StateStore(state_url, salt="s")
    try:
        quizzes = StoredQuizChats(QuizService(service), store, "zalo")
        store.put_session("zalo-quiz", "c9", {"items": [{"question": "?"}], "position": 0}, 60)
        assert not quizzes.pending("c9") and quizzes.answer("c9", 1) == msg.QUIZ_NO_PENDING
        assert quizzes.start("c9", "Điều lệ", seed=2).startswith("Theo Điều lệ") and quizzes.pending("c9")
        assert StoredQuizChats(QuizService(service), store, "zalo").pending("c9")  # another worker sees it
        assert not StoredQuizChats(QuizService(service), store, "telegram").pending("c9")  # per channel
    finally:
        store.close()


def test_replies_racing_on_two_workers_each_answer_one_question_as_on_one_worker(service, state_url):
    stores = [StateStore(state_url, salt="s"), StateStore(state_url, salt="s")]
    try:
        a, b = (StoredQuizChats(QuizService(service), store, "zalo") for store in stores)
        first = a.start("c7", "3 Điều lệ", seed=4)
        items = [_item_shown(service, first, 1, 3)]
        read = stores[0].get_session
        raced: list[str] = []

        def read_then_race(*args):  # worker b answers between worker a's read and its write
            data = read(*args)
            if not raced:
                raced.append(b.answer("c7", 1))
            return data

        stores[0].get_session = read_then_race
        late = a.answer("c7", 1)
        assert items[0].clause in raced[0] and "Câu 2/3." in raced[0]
        second = _item_shown(service, raced[0].split("\n\n", 1)[1], 2, 3)
        # a's reply went to the question waiting after b's, not to the first one a second time
        assert second.clause in late and "Câu 3/3." in late
        third = _item_shown(service, late.split("\n\n", 1)[1], 3, 3)
        assert third.clause in b.answer("c7", 2) and not a.pending("c7") and not b.pending("c7")
    finally:
        for store in stores:
            store.close()
