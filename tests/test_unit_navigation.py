"""Article lookups in the chat channels: the real Telegram Application pressing "◀ / ▶ / Toàn điều" and
"Chỉ văn bản chính thức" against the fake Bot API, and the Zalo bot answering "trước", "sau", "toàn điều",
"chính thức" against the fake Zalo API; a unit longer than one message arrives whole, over several."""

from __future__ import annotations

import dataclasses
import html

import pytest

from bot import messages
from bot.channels.followups import OFFICIAL_ONLY
from bot.channels.telegram import render as tg_render
from bot.channels.zalo import render as zalo_render
from bot.config import QueryLogConfig, ZaloConfig
from fake_zalo import FakeZalo, text_update
from test_official_answers import DL, official_workspace, svc  # noqa: F401 (shared session fixtures)
from test_telegram import assert_balanced, button, buttons, running
from test_zalo import TOKEN, Running

NEWS_LED = "đảng viên không được làm gì"  # the news article on Quy định 37 comes first, the Điều lệ after it


def _flat(text: str) -> str:
    return " ".join(html.unescape(text).split())


def _sent_after(bot, start: int, count: int = 1) -> list:
    bot.fake.wait_for("answerCallbackQuery", after=start)
    return bot.fake.wait_for("sendMessage", lambda c: "reply_markup" in c.params, count=count, after=start)


# ---------------------------------------------------------------- Telegram

def test_telegram_lookup_buttons_open_the_next_unit_and_the_whole_article(svc, tmp_path):
    with running(svc, tmp_path) as bot:
        reply = bot.keyboard_reply(bot.ask("khoan 2 dieu 4 dieu le"))
        labels = [b["text"] for b in buttons(reply)]
        assert labels[:3] == ["◀ khoản 1 Điều 4", "khoản 3 Điều 4 ▶", messages.TG_BUTTON_UNIT_ARTICLE]
        assert not any(label.startswith(messages.TG_BUTTON_FULL) for label in labels)
        assert all(len(b["callback_data"].encode()) <= 64 for b in buttons(reply) if "callback_data" in b)

        start = bot.fake.mark()
        bot.fake.press(reply, button(reply, "khoản 3 Điều 4 ▶")["callback_data"])
        [following] = _sent_after(bot, start)
        assert "3. Trách nhiệm của chi bộ và cấp uỷ" in _flat(following.params["text"])
        assert "2. Người giới thiệu phải" not in _flat(following.params["text"])
        assert "Điều 4 › khoản 3" in _flat(following.params["text"])
        assert [b["text"] for b in buttons(following)][:2] == ["◀ khoản 2 Điều 4", "khoản 4 Điều 4 ▶"]

        start = bot.fake.mark()
        bot.fake.press(reply, button(reply, messages.TG_BUTTON_UNIT_ARTICLE)["callback_data"])
        [whole] = _sent_after(bot, start)
        shown = _flat(whole.params["text"])
        for part in ("1. Người vào Đảng phải", "2. Người giới thiệu phải", "3. Trách nhiệm của chi bộ"):
            assert part in shown
        # the whole Điều 4 goes on to Điều 3 / Điều 5, and has no "Toàn điều" of its own
        assert [b["text"] for b in buttons(whole)][:2] == ["◀ Điều 3", "Điều 5 ▶"]
        assert messages.TG_BUTTON_UNIT_ARTICLE not in [b["text"] for b in buttons(whole)]


def test_telegram_long_unit_arrives_whole_over_several_messages(svc, tmp_path):
    answer = svc.answer("Chương II Điều lệ Đảng")
    assert answer.unit is not None and len(answer.hits) > 3  # more than the usual top three
    with running(svc, tmp_path) as bot:
        question = bot.ask("Chương II Điều lệ Đảng")
        last = bot.keyboard_reply(question)
        sent = [c for c in bot.fake.requests()[question["_mark"]:] if c.method == "sendMessage"]
        sent = sent[:sent.index(last) + 1]
    texts = [c.params["text"] for c in sent]
    assert len(texts) >= 2
    for part in texts:
        assert tg_render.size(part) <= 4096
        assert_balanced(part)
    joined = _flat("\n".join(texts))
    for hit in answer.hits:
        assert _flat(tg_render.escape(hit.text))[:120] in joined
    assert joined.count("Mục: Chương II") == 1  # the reference once, above the passages it covers
    assert [b["text"] for b in buttons(last)][:2] == ["◀ Chương I", "Chương III ▶"]


def test_telegram_unit_button_still_works_after_a_restart(svc, tmp_path):
    with running(svc, tmp_path) as bot:
        reply = bot.keyboard_reply(bot.ask("Điều 8 Điều lệ Đảng"))
        data = button(reply, "Điều 9 ▶")["callback_data"]
    with running(svc, tmp_path) as bot:  # a new Application over the same state store
        start = bot.fake.mark()
        bot.fake.press(reply, data)
        [nine] = _sent_after(bot, start)
        assert "Mục: Chương II › Điều 9" in _flat(nine.params["text"])


def test_telegram_offers_official_texts_only_when_news_came_first(svc, tmp_path):
    led = svc.answer(NEWS_LED)
    assert led.hits[0].reference.doc_type == "tin-tuc"
    with running(svc, tmp_path) as bot:
        reply = bot.keyboard_reply(bot.ask(NEWS_LED))
        start = bot.fake.mark()
        bot.fake.press(reply, button(reply, messages.TG_BUTTON_OFFICIAL)["callback_data"])
        [official] = _sent_after(bot, start)
        text = _flat(official.params["text"])
        assert messages.SCOPE_UNDERSTOOD.format(scope=messages.SCOPE_OFFICIAL) in text
        assert "Điều lệ Đảng" in text and _flat(tg_render.escape(led.hits[0].reference.title)) not in text
        assert messages.TG_BUTTON_OFFICIAL not in [b["text"] for b in buttons(official)]
        # an answer led by an official text has no such button
        lookup = bot.keyboard_reply(bot.ask("đảng viên dự bị có những quyền gì"))
        assert svc.answer("đảng viên dự bị có những quyền gì").hits[0].reference.doc_type != "tin-tuc"
        assert messages.TG_BUTTON_OFFICIAL not in [b["text"] for b in buttons(lookup)]


# ---------------------------------------------------------------- Zalo

@pytest.fixture
def zalo(svc, tmp_path):
    fake = FakeZalo(token=TOKEN, max_poll_wait=0.3).start()
    config = dataclasses.replace(
        svc.config, querylog=QueryLogConfig(path=tmp_path / "querylog.sqlite"),
        zalo=ZaloConfig(api_base_url=fake.base_url, mode="polling", polling_timeout=1, bot_name="Hỏi đáp"))
    yield fake, config
    fake.stop()


async def _say(fake: FakeZalo, text: str, message_id: str, until) -> str:
    """Send `text`, wait until the replies since then satisfy `until`, return them joined."""
    before = len(fake.sent())
    fake.queue_update(text_update(text, message_id=message_id))
    await fake.until(lambda: until(fake.sent()[before:]), f"the reply to {text!r}")
    return "\n".join(fake.sent()[before:])


def _hinted(texts: list[str]) -> bool:
    return any(t.rstrip().endswith("để đọc tiếp.)") for t in texts)


@pytest.mark.asyncio
async def test_zalo_follow_up_words_step_through_units_and_show_them_whole(svc, zalo):
    fake, config = zalo
    chapter = svc.answer("Chương II Điều lệ Đảng")
    async with Running(config, svc):
        await fake.until(lambda: fake.calls("getUpdates"), "the first getUpdates")
        clause = await _say(fake, "khoan 2 dieu 4 dieu le", "m-1", _hinted)
        assert "2. Người giới thiệu phải" in clause and "“sau” (khoản 3 Điều 4)" in clause
        following = await _say(fake, "sau", "m-2", _hinted)
        assert "3. Trách nhiệm của chi bộ và cấp uỷ" in following and "Điều 4 › khoản 3" in following
        back = await _say(fake, "trước", "m-3", _hinted)
        assert "2. Người giới thiệu phải" in back
        whole = await _say(fake, "toàn điều", "m-4", _hinted)
        assert "1. Người vào Đảng phải" in whole and "“sau” (Điều 5)" in whole
        long = await _say(fake, "Chương II Điều lệ Đảng", "m-5", _hinted)
    parts = [t for t in fake.sent() if t in long]
    assert len(parts) >= 3 and all(len(t) <= 2000 for t in fake.sent())
    flat = " ".join(long.split())
    for hit in chapter.hits:  # every passage of the chapter, in full (not the 700-character excerpt)
        assert " ".join(hit.text.split()) in flat


@pytest.mark.asyncio
async def test_zalo_chinh_thuc_repeats_the_question_over_official_texts(svc, zalo):
    fake, config = zalo
    led, expected = svc.answer(NEWS_LED), svc.answer(NEWS_LED, doc_filter=OFFICIAL_ONLY)
    async with Running(config, svc):
        await fake.until(lambda: fake.calls("getUpdates"), "the first getUpdates")
        first = await _say(fake, "chính thức", "m-0", lambda t: bool(t))
        assert messages.CHAT_NO_QUESTION_FOR_OFFICIAL in first
        news = await _say(fake, NEWS_LED, "m-1", lambda t: any(messages.CHAT_OFFICIAL_HINT in x for x in t))
        assert "[1] " in news
        official = await _say(fake, "chính thức", "m-2", lambda t: any("đoạn tương ứng" in x for x in t))
        assert f"[1] {zalo_render.reference_line(expected.hits[0].reference)}" in official
        assert expected.hits[0].doc_id == DL and led.hits[0].reference.title not in official
        assert messages.CHAT_OFFICIAL_HINT not in official
        nothing = await _say(fake, "sau", "m-3", lambda t: bool(t))
        assert messages.CHAT_NO_UNIT in nothing


def test_stored_follow_ups_keep_the_unit_and_the_official_flag_for_another_worker(svc, tmp_path):
    from bot.channels.followups import StoredSessions, unit_step
    from bot.service.querylog import QueryLog

    lookup = svc.answer("khoan 2 dieu 4 dieu le")
    one, two = QueryLog(tmp_path / "state.sqlite"), QueryLog(tmp_path / "state.sqlite")
    try:
        StoredSessions(one.store, "zalo").remember("chat-9", lookup)
        read = StoredSessions(two.store, "zalo").get("chat-9")  # another worker, same store
        assert read.unit == lookup.unit and unit_step(read.unit, "sau") == "dieu:4/khoan:3"
        StoredSessions(one.store, "zalo").remember("chat-9", svc.answer(NEWS_LED, doc_filter=OFFICIAL_ONLY),
                                                   official_only=True)
        read = StoredSessions(two.store, "zalo").get("chat-9")
        assert read.official_only and read.unit is None
    finally:
        one.close()
        two.close()
