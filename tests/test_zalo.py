"""The Zalo channel end to end: the real AnswerService over a small index, against a fake Zalo Bot API."""

from __future__ import annotations

import asyncio
import dataclasses
import socket

import httpx
import pytest

from bot import messages as msg
from bot.channels import followups
from bot.channels.zalo import app, render, webhook
from bot.config import Config, QueryLogConfig, WebhookConfig, ZaloConfig, load_config
from bot.service.querylog import QueryLog
from bot.service.answering import AnswerService
from conftest import make_workspace
from fake_zalo import FakeZalo, text_update, wrapped

DOCUMENTS = [
    "ct-03-tw-2011.md",
    "tin-laodongthudo-ban-hanh-ct05-2016.md",
    "tin-btgcp-hoi-nghi-toan-quoc-so-ket-5-nam-ct05-2021.md",
    "tin-backan-day-manh-xay-dung-chinh-don-dang-2022.md",
    "tin-quangtri-so-ket-3-nam-ct05.md",
]
# six relevant passages in the test corpus: a long first page and a second page of three
QUESTION = "học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh"
TOKEN = "4242:fake-token"
SECRET = "webhook-secret-123"
ADMIN = "admin-1"


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> AnswerService:
    """The real service over an index of DOCUMENTS, built once for this file.

    It replaces conftest's shared `service`: the questions below rely on these documents.
    """
    return AnswerService(load_config(make_workspace(tmp_path_factory.mktemp("zalo"), docs=DOCUMENTS)))


@pytest.fixture
def fake():
    server = FakeZalo(token=TOKEN, max_poll_wait=0.3).start()
    yield server
    server.stop()


@pytest.fixture
def config(service, fake, tmp_path) -> Config:
    """The service's config, pointed at the fake API, with its own query log."""
    return dataclasses.replace(
        service.config, querylog=QueryLogConfig(path=tmp_path / "querylog.sqlite"),
        zalo=ZaloConfig(api_base_url=fake.base_url, mode="polling", admin_ids=[ADMIN], polling_timeout=1,
                        bot_name="Hỏi đáp văn bản"))


class Running:
    """`zalo.run` (the body of `directive-bot serve zalo`) in a background task."""

    def __init__(self, config: Config, service: AnswerService, secret: str = ""):
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(app.run(config, TOKEN, secret, stop=self.stop, service=service))

    async def __aenter__(self) -> Running:
        return self

    async def __aexit__(self, *exc) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=30)


async def polling(fake: FakeZalo, config: Config, service: AnswerService) -> Running:
    running = Running(config, service)
    await fake.until(lambda: fake.calls("getUpdates"), "the first getUpdates")
    return running


def ask(fake: FakeZalo, text: str, message_id: str, **kwargs) -> None:
    fake.queue_update(text_update(text, message_id=message_id, **kwargs))


def answers_in(texts: list[str]) -> int:
    return sum(text.startswith("Kết quả 1–") for text in texts)


# ---------------------------------------------------------------------------- polling


@pytest.mark.asyncio
async def test_polling_answers_a_question_once_after_408s_and_a_duplicate_update(fake, config, service):
    async with await polling(fake, config, service):
        # nothing queued yet: the fake answers 408 and the bot keeps polling
        await fake.until(lambda: len(fake.calls("getUpdates")) >= 3, "polls answered 408")
        ask(fake, QUESTION, "m-1")
        ask(fake, QUESTION, "m-1")  # getUpdates has no offset: the same update can come twice
        ask(fake, "/help", "m-2")
        await fake.until(lambda: any(msg.ZALO_HELP in t for t in fake.sent()), "the /help reply")

    sent = fake.sent("chat-1")
    assert answers_in(sent) == 1
    expected = service.answer(QUESTION)
    assert f"[1] {render.reference_line(expected.hits[0].reference)}" in sent[0]
    assert expected.hits[0].text[:60] in sent[0]
    assert fake.calls("sendChatAction")[0].params == {"chat_id": "chat-1", "action": "typing"}
    log = QueryLog(config.querylog.path)
    assert log.stats().by_channel == {"zalo": 1}
    log.close()


@pytest.mark.asyncio
async def test_a_long_answer_is_split_below_2000_characters_at_passage_boundaries(fake, config, service):
    async with await polling(fake, config, service):
        ask(fake, QUESTION, "m-1")
        await fake.until(lambda: any(msg.ZALO_MORE_HINT in t for t in fake.sent()), "the whole answer")

    sent = fake.sent()
    expected = service.answer(QUESTION)
    assert len(sent) >= 2, "three long passages do not fit in one message"
    assert all(len(text) <= 2000 for text in sent)
    for n, hit in enumerate(expected.hits, start=1):
        # the reference line and its passage travel in the same message
        holding = [text for text in sent if f"[{n}] " in text]
        assert len(holding) == 1
        assert f"[{n}] {render.reference_line(hit.reference)}\n{hit.text[:80]}" in holding[0]
    assert sent[-1].endswith(msg.ZALO_FULL_HINT.format(choices="“1”, “2” hoặc “3”"))


def test_a_passage_longer_than_a_message_is_cut_at_sentence_ends():
    sentence = "Các cấp ủy, tổ chức đảng quán triệt và thực hiện nghiêm Chỉ thị số 05-CT/TW. "
    passage = sentence * 60  # about 4,700 characters

    parts = render.pack(["[1] Số hiệu: 05-CT/TW\n" + passage, "Gõ “thêm” để xem thêm kết quả."])

    assert len(parts) == 3
    assert all(len(part) <= 2000 for part in parts)
    assert all(part.rstrip().endswith(".") for part in parts)
    assert "".join(parts).count("Chỉ thị số 05-CT/TW.") == 60


@pytest.mark.asyncio
async def test_them_shows_the_next_results_and_a_number_shows_that_passage_in_full(fake, config, service):
    page1 = service.answer(QUESTION)
    page2 = service.answer(QUESTION, offset=3)
    assert len(page2.hits) >= 2, "the test corpus must have at least five relevant passages"
    assert len(page1.hits[0].text) > render.EXCERPT_CHARS, "the list must show an excerpt of passage 1"

    def shown(since: int = 0) -> str:
        return " ".join(" ".join(fake.sent()[since:]).split())

    async with await polling(fake, config, service):
        ask(fake, QUESTION, "m-1")
        await fake.until(lambda: any(msg.ZALO_MORE_HINT in t for t in fake.sent()), "the first page")
        assert " ".join(page1.hits[0].text.split()) not in shown()
        ask(fake, "1", "m-2")
        await fake.until(lambda: " ".join(page1.hits[0].text.split()) in shown(), "passage 1 in full")
        ask(fake, "thêm", "m-3")
        await fake.until(lambda: any(t.startswith("Kết quả 4–6") for t in fake.sent()), "the second page")
        await fake.until(lambda: sum("đoạn tương ứng." in t for t in fake.sent()) == 2, "its hints")
        before = len(fake.sent())
        ask(fake, "2", "m-4")  # "2" now means the second passage of the second page
        await fake.until(lambda: " ".join(page2.hits[1].text.split()) in shown(before), "passage 5 in full")

    full = "\n".join(fake.sent()[before:])
    assert full.startswith(msg.ZALO_FULL_HEADER.format(choice=2))
    assert render.reference_line(page2.hits[1].reference) in full


@pytest.mark.asyncio
@pytest.mark.parametrize("typed", ["thêm", "1", "tiếp"])
async def test_follow_ups_without_a_recent_question_explain_the_session_expired(fake, config, service, typed):
    async with await polling(fake, config, service):
        ask(fake, typed, "m-1")
        await fake.sent_eventually(1)
    assert fake.sent() == [msg.NOTHING_TO_CONTINUE]


def test_a_chat_session_expires_after_its_time_to_live():
    now = [1000.0]
    sessions = followups.Sessions(ttl=60, clock=lambda: now[0])
    sessions.put("chat-1", followups.Session(question=QUESTION, passage_ids=["a#0", "b#1"]))

    now[0] += 59
    assert sessions.get("chat-1") is not None  # and using it keeps it alive
    now[0] += 59
    assert sessions.get("chat-1") is not None
    now[0] += 61
    assert sessions.get("chat-1") is None


def test_sessions_beyond_the_limit_drop_the_least_recently_used_chat():
    sessions = followups.Sessions(ttl=60, max_size=2)
    for chat in ("a", "b"):
        sessions.put(chat, followups.Session(question=QUESTION, passage_ids=["a#0"]))
    assert sessions.get("a") is not None  # "a" used last: "b" goes first
    sessions.put("c", followups.Session(question=QUESTION, passage_ids=["a#0"]))
    assert sessions.get("b") is None and sessions.get("a") is not None and sessions.get("c") is not None


# ---------------------------------------------------------------------------- commands and events


@pytest.mark.asyncio
async def test_reindex_from_a_non_admin_is_refused_and_an_admin_gets_statistics(fake, config, service):
    version = service.info().version
    async with await polling(fake, config, service):
        ask(fake, "/reindex", "m-1", user_id="user-1")
        await fake.sent_eventually(1)
        ask(fake, "/thongke", "m-2", user_id=ADMIN, chat_id="chat-admin")
        await fake.sent_eventually(1, chat_id="chat-admin")

    assert fake.sent("chat-1") == [msg.ZALO_ADMIN_ONLY.format(command="/reindex")]
    assert service.info().version == version
    assert f"Chỉ mục {version}" in fake.sent("chat-admin")[0]


@pytest.mark.asyncio
async def test_vanban_and_danhsach_answer_from_the_index(fake, config, service):
    async with await polling(fake, config, service):
        ask(fake, "/vanban 03-CT/TW", "m-1")
        await fake.sent_eventually(1)
        ask(fake, "/danhsach", "m-2")
        await fake.sent_eventually(2)

    card, listing = fake.sent()
    assert card.startswith(msg.ZALO_DOCUMENT_HEADER.format(number="03-CT/TW"))
    assert "\nChỉ thị số 03-CT/TW của Bộ Chính trị" in card and "· Số hiệu: 03-CT/TW ·" in card and "Ngày: 14/05/2011" in card
    assert listing.startswith(msg.ZALO_DOCUMENTS_HEADER.format(count=len(DOCUMENTS)))


@pytest.mark.asyncio
async def test_an_image_and_a_sticker_get_a_short_explanation(fake, config, service):
    async with await polling(fake, config, service):
        fake.queue_update(text_update("", message_id="m-1", event="message.image.received"))
        fake.queue_update(text_update("", message_id="m-2", event="message.sticker.received"))
        await fake.sent_eventually(2)
    assert fake.sent() == [msg.ZALO_IMAGE, msg.ZALO_STICKER]


@pytest.mark.asyncio
async def test_every_group_message_zalo_delivers_is_answered_and_follow_ups_work_per_group(fake, config, service):
    """Zalo delivers a group message only when it @mentions the bot or replies to one of its messages."""
    page2 = service.answer(QUESTION, offset=3)
    async with await polling(fake, config, service):
        ask(fake, "@Hỏi đáp văn bản " + QUESTION, "m-1", chat_id="group-1", group=True)  # a mention
        await fake.until(lambda: any(msg.ZALO_MORE_HINT in t for t in fake.sent()), "the answer")
        ask(fake, "thêm", "m-2", chat_id="group-1", group=True)  # a reply to the bot: no mention
        await fake.until(lambda: any(t.startswith("Kết quả 4–") for t in fake.sent()), "the next page")
        await fake.until(lambda: sum("đoạn tương ứng." in t for t in fake.sent()) == 2, "its hints")
        before = len(fake.sent())
        ask(fake, "@Hỏi đáp văn bản 2", "m-3", chat_id="group-1", group=True)
        await fake.until(lambda: len(fake.sent()) > before, "passage 2 of the second page")
        ask(fake, "thêm", "m-4", chat_id="group-2", group=True)  # another group asked nothing yet
        await fake.sent_eventually(1, chat_id="group-2")

    sent = fake.sent("group-1")
    assert answers_in(sent) == 1
    assert sent[before].startswith(msg.ZALO_FULL_HEADER.format(choice=2))
    assert " ".join(page2.hits[1].text.split())[:80] in " ".join(" ".join(sent[before:]).split())
    assert fake.sent("group-2") == [msg.NOTHING_TO_CONTINUE]


@pytest.mark.asyncio
async def test_malformed_updates_and_a_failed_reply_do_not_stop_the_bot(fake, config, service):
    async with await polling(fake, config, service) as running:
        fake.fail("sendMessage", 400)  # the reply to /help is rejected
        ask(fake, "/help", "m-help")
        await fake.until(lambda: fake.calls("sendMessage"), "the rejected reply")
        fake.queue_update({"event_name": "message.text.received", "message": ["not", "a", "dict"]})
        fake.queue_update({"event_name": "message.text.received", "message": {"message_id": "m-0"}})
        fake.queue_update({"event_name": "message.text.received", "message": {"chat": ["x"], "text": 5}})
        fake.queue_update(["not", "an", "update"])
        fake.queue_update({"message": {"chat": {"id": "chat-1"}, "from": {"id": "user-1"}, "message_id": "m-1"}})
        ask(fake, QUESTION, "m-2")
        await fake.until(lambda: answers_in(fake.sent()) == 1, "the answer after the bad updates")
        assert not running.task.done()
    assert msg.ZALO_HELP not in fake.sent()


# ---------------------------------------------------------------------------- errors from Zalo


@pytest.mark.asyncio
async def test_a_429_on_send_message_is_retried_and_the_reply_delivered(fake, config, service):
    fake.fail("sendMessage", 429, times=2)
    async with await polling(fake, config, service):
        ask(fake, "/start", "m-1")
        await fake.sent_eventually(1)

    attempts = fake.calls("sendMessage")
    assert len(attempts) == 3
    assert all(a.params["text"] == attempts[0].params["text"] for a in attempts)
    assert fake.sent() == [msg.ZALO_WELCOME]


def test_a_bad_token_makes_startup_fail_clearly(fake, config, monkeypatch, capsys):
    monkeypatch.setenv("ZALO_BOT_TOKEN", "9999:revoked-token")

    status = app.serve(config)

    err = capsys.readouterr().err
    assert status == 1
    assert "Zalo refused the bot token (error 401" in err and "ZALO_BOT_TOKEN" in err
    assert "revoked-token" not in err
    assert [r.method for r in fake.requests] == ["getMe"]


def test_a_missing_token_or_webhook_secret_is_named(config, monkeypatch, capsys):
    monkeypatch.delenv("ZALO_BOT_TOKEN", raising=False)
    assert app.serve(config) == 2
    assert "ZALO_BOT_TOKEN is not set" in capsys.readouterr().err

    monkeypatch.setenv("ZALO_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("ZALO_WEBHOOK_SECRET", "short")
    webhook = dataclasses.replace(config, zalo=dataclasses.replace(config.zalo, mode="webhook"))
    assert app.serve(webhook) == 2
    assert "ZALO_WEBHOOK_SECRET" in capsys.readouterr().err


# ---------------------------------------------------------------------------- webhook


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def webhook_config(config: Config) -> tuple[Config, str]:
    port = free_port()
    hook = WebhookConfig(url="https://bot.example.org/zalo", listen="127.0.0.1", port=port, path="/zalo")
    return dataclasses.replace(config, zalo=dataclasses.replace(config.zalo, mode="webhook", webhook=hook)), \
        f"http://127.0.0.1:{port}/zalo"


@pytest.mark.asyncio
async def test_webhook_answers_the_right_secret_and_refuses_a_wrong_one_with_403(fake, config, service):
    config, url = webhook_config(config)
    forged = text_update("Quy định 37 cấm đảng viên làm gì?", message_id="w-1")
    genuine = text_update(QUESTION, message_id="w-2")

    async with Running(config, service, SECRET), httpx.AsyncClient(timeout=5) as http:
        await fake.until(lambda: fake.webhook.get("url") == "https://bot.example.org/zalo", "setWebhook")
        wrong = await http.post(url, json=forged, headers={webhook.SECRET_HEADER: "not-the-secret"})
        missing = await http.post(url, json=forged)
        right = await http.post(url, json=genuine, headers={webhook.SECRET_HEADER: SECRET})
        await fake.until(lambda: any(msg.ZALO_MORE_HINT in t for t in fake.sent()), "the webhook answer")

    assert (wrong.status_code, missing.status_code, right.status_code) == (403, 403, 200)
    assert fake.webhook["secret_token"] == SECRET
    assert answers_in(fake.sent()) == 1
    assert all("Quy định 37" not in text for text in fake.sent())
    log = QueryLog(config.querylog.path)
    assert log.stats().questions == 1
    log.close()


@pytest.mark.asyncio
async def test_webhook_accepts_the_update_wrapped_or_bare_and_warns_about_anything_else(fake, config, service,
                                                                                     caplog):
    config, url = webhook_config(config)
    headers = {webhook.SECRET_HEADER: SECRET}
    async with Running(config, service, SECRET), httpx.AsyncClient(timeout=5) as http:
        await fake.until(lambda: fake.webhook.get("url"), "setWebhook")
        bare = await http.post(url, json=text_update("/help", message_id="w-1"), headers=headers)
        await fake.sent_eventually(1)
        enveloped = await http.post(url, json=wrapped(text_update("/start", message_id="w-2")), headers=headers)
        await fake.sent_eventually(2)
        odd = await http.post(url, json={"ok": True, "data": {"text": "?"}}, headers=headers)
        undocumented = await http.post(url, json=wrapped(text_update("/help", message_id="w-3", event="")),
                                       headers=headers)
        await fake.sent_eventually(3)
    assert (bare.status_code, enveloped.status_code, odd.status_code, undocumented.status_code) == (200,) * 4
    assert fake.sent() == [msg.ZALO_HELP, msg.ZALO_WELCOME, msg.ZALO_HELP]
    assert any(r.levelname == "WARNING" and "not a Zalo update" in r.getMessage() for r in caplog.records)


@pytest.mark.asyncio
async def test_webhook_server_answers_404_405_413_and_400(fake, config, service):
    config, url = webhook_config(config)
    headers = {webhook.SECRET_HEADER: SECRET}
    async with Running(config, service, SECRET), httpx.AsyncClient(timeout=5) as http:
        await fake.until(lambda: fake.webhook.get("url"), "setWebhook")
        elsewhere = await http.post(url.replace("/zalo", "/other"), json={}, headers=headers)
        get = await http.get(url, headers=headers)
        huge = await http.post(url, content=b"{" + b" " * (webhook.MAX_WEBHOOK_BODY + 10) + b"}",
                               headers={**headers, "Content-Type": "application/json"})
        not_json = await http.post(url, content=b"[1, 2", headers=headers)
        again = await http.post(url, json=text_update("/help", message_id="w-9"), headers=headers)  # keep-alive
        await fake.sent_eventually(1)
    assert (elsewhere.status_code, get.status_code, huge.status_code, not_json.status_code, again.status_code) \
        == (404, 405, 413, 400, 200)


def test_a_webhook_url_zalo_cannot_call_is_refused_at_start(config, monkeypatch, capsys):
    monkeypatch.setenv("ZALO_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("ZALO_WEBHOOK_SECRET", SECRET)
    for url in ("http://bot.example.org/zalo", "https://127.0.0.1/zalo", "https://localhost/zalo",
                "https://192.168.1.10/zalo"):
        hook = WebhookConfig(url=url, port=free_port(), path="/zalo")
        assert app.serve(dataclasses.replace(config, zalo=dataclasses.replace(config.zalo, mode="webhook",
                                                                             webhook=hook))) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "zalo.webhook.url must be a public" in err[0]


# ---------------------------------------------------------------------------- the platform's errors and events


@pytest.mark.asyncio
async def test_a_403_on_get_updates_does_not_stop_polling(fake, config, service):
    fake.fail("getUpdates", 403)
    async with await polling(fake, config, service):
        await fake.until(lambda: len(fake.calls("getUpdates")) >= 2, "polling again after the 403")
        ask(fake, "/help", "m-1")
        await fake.sent_eventually(1)
    assert fake.sent() == [msg.ZALO_HELP]


@pytest.mark.asyncio
async def test_a_401_while_polling_ends_the_run_with_a_clear_reason(fake, config, service):
    running = await polling(fake, config, service)
    fake.fail("getUpdates", 401, times=100)
    with pytest.raises(app.ZaloStartupError, match="refused the bot token while running"):
        await asyncio.wait_for(running.task, timeout=30)


def test_polling_that_ends_ends_the_process_with_one_line_and_status_1(fake, config, monkeypatch, capsys):
    monkeypatch.setenv("ZALO_BOT_TOKEN", TOKEN)
    fake.fail("getUpdates", 401, times=100)  # getMe works, then the token is revoked
    assert app.serve(config) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refused the bot token while running (error 401" in err[0]


@pytest.mark.asyncio
async def test_quota_exceeded_is_not_retried_logged_once_and_the_bot_keeps_receiving(fake, config, service,
                                                                                  caplog):
    fake.fail("sendMessage", 4290, times=2)  # 429 "Quota exceeded" without retry_after
    async with await polling(fake, config, service):
        ask(fake, "/help", "m-1")
        ask(fake, "/start", "m-2", chat_id="chat-2")
        await fake.until(lambda: len(fake.calls("sendMessage")) >= 2, "both replies tried")
        ask(fake, "/help", "m-3", chat_id="chat-3")
        await fake.sent_eventually(1, chat_id="chat-3")
    assert len(fake.calls("sendMessage")) == 3  # each failed reply tried once
    quota_lines = [r for r in caplog.records if "quota" in r.getMessage().lower() and r.levelname == "ERROR"]
    assert len(quota_lines) == 1


@pytest.mark.asyncio
async def test_voice_gets_the_short_reply_and_unsupported_messages_get_none(fake, config, service):
    async with await polling(fake, config, service):
        fake.queue_update(text_update("", message_id="m-1", event="message.voice.received"))
        fake.queue_update(text_update("", message_id="m-2", event="message.unsupported.received"))
        ask(fake, "/help", "m-3")  # a positive event after both
        await fake.sent_eventually(2)
    assert fake.sent() == [msg.ZALO_VOICE, msg.ZALO_HELP]


@pytest.mark.asyncio
async def test_no_webhook_set_is_not_a_warning_when_polling_starts(fake, config, service, caplog):
    async with await polling(fake, config, service):
        pass
    assert fake.calls("getWebhookInfo") and not fake.calls("deleteWebhook")
    assert not [r for r in caplog.records if r.levelname == "WARNING" and "webhook" in r.getMessage()]
