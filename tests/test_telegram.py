"""The Telegram channel end to end: the real PTB Application over HTTP against a fake Bot API server,
answering from a small real index built in a temporary folder."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot import messages
from bot.channels.telegram import render
from bot.channels.telegram.app import StartupError, build_application, serve, webhook_options
from bot.channels.telegram.state import QuestionLimiter
from bot.service.admin import safe_filename
from bot.config import WebhookConfig, load_config
from bot.documents.loading import SUPPORTED_EXTENSIONS
from bot.models import Failure, IndexReport
from bot.service.querylog import QueryLog
from bot.service.answering import AnswerService
from conftest import SAMPLE_DOCS, make_workspace
from fake_telegram import ADMIN, BOT, GROUP, USER, FakeTelegram

MORE_DOCS = [
    "tin-vov-bo-chinh-tri-ban-hanh-ct03-2011.md",
    "tin-ninhthuan-quan-triet-kl21-qd37-2022.md",
    "tin-kontum-thuc-hien-quy-dinh-08-neu-guong.md",
    "tin-dantri-quy-dinh-144-chuan-muc-dao-duc-2024.md",
    "tin-danviet-27-bieu-hien-suy-thoai-nq04.md",
    "tin-laodongthudo-ban-hanh-ct05-2016.md",
]

ESCAPE_DOC = """---
id: qd-99-thu-nghiem-ky-tu
title: Quy định số 99-QĐ/TU về kiểm tra ký tự <đặc biệt> & an toàn thông tin (văn bản thử nghiệm)
doc_number: "99-QĐ/TU"
doc_type: quy-dinh
issuer: Ban Thường vụ Tỉnh ủy thử nghiệm
issued: 2024-02-03
source_url: https://example.org/van-ban?so=99&loai=qd
---

Cán bộ phụ trách cổng thông tin điện tử phải rà soát mã độc trong bài đăng, ví dụ đoạn mã <script>alert("x")</script>
chèn vào trang, và báo cáo kết quả cho Văn phòng & Ban Tuyên giáo trong vòng ba ngày làm việc. Việc rà soát
mã độc được thực hiện định kỳ hằng tháng; mọi mã độc phát hiện được phải được gỡ bỏ ngay, lập biên bản và lưu hồ sơ.
Đơn vị quản trị hệ thống phối hợp với cơ quan chuyên môn để xác định nguồn gốc mã độc, đánh giá mức độ ảnh hưởng,
khắc phục hậu quả và đề xuất biện pháp phòng ngừa lâu dài, bảo đảm an toàn thông tin trên môi trường mạng.
"""


def long_document() -> str:
    """Three sections of about 225 words, each full of "tiết kiệm, chống lãng phí": a long answer."""
    sections = []
    for roman, name in (("I", "Mục tiêu"), ("II", "Nhiệm vụ"), ("III", "Tổ chức thực hiện")):
        sentences = [f"Cơ quan, đơn vị số {n} thuộc mục {roman} phải thực hành tiết kiệm, chống lãng phí trong sử "
                     "dụng ngân sách, tài sản công và thời gian lao động; người đứng đầu chịu trách nhiệm kiểm tra, "
                     "đôn đốc việc tiết kiệm, chống lãng phí và báo cáo kết quả hằng quý với cấp ủy cấp trên."
                     for n in range(1, 6)]
        sections.append(f"{roman}. {name}\n\n" + " ".join(sentences))
    return ("---\nid: kh-88-tiet-kiem-thu-nghiem\n"
            "title: Kế hoạch số 88-KH/TU về thực hành tiết kiệm, chống lãng phí (văn bản thử nghiệm)\n"
            "doc_number: \"88-KH/TU\"\ndoc_type: ke-hoach\nissuer: Tỉnh ủy thử nghiệm\nissued: 2023-03-01\n---\n\n"
            + "\n\n".join(sections) + "\n")


UPLOADED_DOC = """---
id: hd-77-thu-nghiem-ong-mat
title: Hướng dẫn số 77-HD/TU về nuôi ong mật trong khu dân cư (văn bản thử nghiệm)
doc_number: "77-HD/TU"
doc_type: huong-dan
issuer: Ban Tuyên giáo Tỉnh ủy thử nghiệm
issued: 2025-01-10
---

Các chi bộ khu dân cư hướng dẫn hội viên nuôi ong mật đúng kỹ thuật: đặt thùng ong xa nhà ở, trồng thêm cây
có hoa quanh vườn, không phun thuốc trừ sâu vào mùa hoa và ghi chép sản lượng mật ong hằng tháng. Tổ hợp tác
nuôi ong mật được hỗ trợ tập huấn, giới thiệu đầu ra cho sản phẩm mật ong và nhân rộng mô hình trong toàn xã.
"""


CT05_HEADER = ["BAN CHẤP HÀNH TRUNG ƯƠNG", "*", "Số 05-CT/TW", "ĐẢNG CỘNG SẢN VIỆT NAM",
               "Hà Nội, ngày 15 tháng 5 năm 2016", "CHỈ THỊ", "CỦA BỘ CHÍNH TRỊ",
               "về đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh", "-----"]
CT05_PARAGRAPHS = [
    "Sau 5 năm thực hiện, việc học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh đã trở thành việc "
    "làm thường xuyên của các cấp ủy, tổ chức đảng. Bộ Chính trị yêu cầu các cấp ủy, tổ chức đảng tiếp tục đẩy "
    "mạnh việc học tập, gắn với chức trách, nhiệm vụ của từng cán bộ, đảng viên.",
    "I. Nhiệm vụ trọng tâm",
    "1. Mỗi chi bộ xây dựng sổ tay nêu gương, trong đó từng đảng viên ghi cam kết tu dưỡng, rèn luyện hằng năm; "
    "bí thư chi bộ kiểm tra sổ tay nêu gương mỗi quý và nhận xét trong sinh hoạt chi bộ thường kỳ.",
    "2. Người đứng đầu cơ quan, đơn vị phải gương mẫu, đi trước làm gương về đạo đức, lối sống, nói đi đôi "
    "với làm; cán bộ cấp trên nêu gương cho cấp dưới.",
    "T/M BỘ CHÍNH TRỊ", "TỔNG BÍ THƯ",
]


def ct05_docx() -> bytes:
    """Chỉ thị 05-CT/TW as an admin receives it: a .docx with the standard header, made with python-docx."""
    import io

    import docx

    document = docx.Document()
    for text in CT05_HEADER + CT05_PARAGRAPHS:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- fixtures

def _make_telegram_workspace(folder: Path, docs: list[str]) -> Path:
    cfg = make_workspace(folder, docs=docs, retrieval={"max_per_document": 3},
                         telegram={"admin_ids": [ADMIN["id"]], "max_upload_mb": 1})
    (folder / "knowledge" / "qd-99-thu-nghiem-ky-tu.md").write_text(ESCAPE_DOC, encoding="utf-8")
    (folder / "knowledge" / "kh-88-tiet-kiem-thu-nghiem.md").write_text(long_document(), encoding="utf-8")
    return cfg


@pytest.fixture(scope="module")
def tg_service(tmp_path_factory) -> AnswerService:
    """16 documents (two pages of /danhsach), indexed once for the module; tests only read it."""
    cfg = _make_telegram_workspace(tmp_path_factory.mktemp("telegram"), SAMPLE_DOCS + MORE_DOCS)
    return AnswerService(load_config(cfg))


@pytest.fixture
def own_service(tmp_path) -> AnswerService:
    """A small index of its own, for tests that add documents or reindex."""
    return AnswerService(load_config(_make_telegram_workspace(tmp_path, SAMPLE_DOCS[:3])))


@dataclasses.dataclass
class Harness:
    fake: FakeTelegram
    service: AnswerService
    querylog: QueryLog
    application: object = None

    def wait_reindex_released(self, timeout: float = 10.0) -> None:
        """Wait until no reindex or upload holds the bot's lock. The summary is sent just before the
        lock is released, so a second upload pushed right after it may otherwise be told "busy"."""
        admin = self.application.bot_data["deps"].admin
        deadline = time.monotonic() + timeout
        while admin.busy:
            assert time.monotonic() < deadline, "the reindex lock was not released"
            time.sleep(0.01)

    def ask(self, text: str, **kwargs) -> dict:
        start = self.fake.mark()
        message = self.fake.message(text, **kwargs)
        message["_mark"] = start
        return message

    def replies(self, message: dict, count: int = 1, timeout: float = 15.0) -> list:
        """The bot's sendMessage calls after `message` was pushed, once `count` of them arrived."""
        return self.fake.wait_for("sendMessage", count=count, after=message["_mark"], timeout=timeout)

    def keyboard_reply(self, message: dict) -> object:
        """The reply to `message` that carries the inline keyboard (the last part of an answer)."""
        return self.fake.wait_for("sendMessage", lambda c: "reply_markup" in c.params, after=message["_mark"])[0]


@contextlib.contextmanager
def running(service: AnswerService, tmp_path: Path, store=None):
    """The real Application, long polling the fake server from a thread of its own; its state store is
    `store` when given (a StateStore other applications share, left open), else tmp_path/querylog.sqlite."""
    with FakeTelegram() as fake:
        telegram = dataclasses.replace(service.config.telegram, api_base_url=fake.base_url,
                                       api_base_file_url=fake.base_file_url)
        config = dataclasses.replace(service.config, telegram=telegram)
        querylog = QueryLog(store if store is not None else tmp_path / "querylog.sqlite")
        application = build_application(config, service, fake.token, querylog)
        with in_thread(application, querylog, lambda app: app.run_polling(
                poll_interval=0, timeout=1, stop_signals=None, close_loop=False)):
            fake.wait_for("getMe")
            yield Harness(fake, service, querylog, application)


@contextlib.contextmanager
def in_thread(application, querylog: QueryLog, run_app):
    """Run the Application (`run_app(application)`) on an event loop in a thread; stop it on exit."""
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        run_app(application)

    thread = threading.Thread(target=run, name="telegram-app", daemon=True)
    thread.start()
    try:
        yield
    finally:
        def stop() -> None:
            # stop_running() does nothing between post_init and the start of polling (PTB documents
            # it): a test that ends right after setMyCommands would leave the application running
            if application.running:
                application.stop_running()
            else:
                loop.call_later(0.01, stop)

        loop.call_soon_threadsafe(stop)
        thread.join(timeout=15)
        loop.close()
        querylog.close()
    assert not thread.is_alive(), "the application did not stop"


@pytest.fixture
def bot(tg_service, tmp_path):
    with running(tg_service, tmp_path) as harness:
        yield harness


# ---------------------------------------------------------------- helpers

class TagChecker(HTMLParser):
    """Collects the tags of a Telegram HTML message; fails on a tag closed out of order or left open."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.seen: set[str] = set()
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)
        self.seen.add(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unexpected </{tag}>")


def assert_balanced(text: str) -> None:
    checker = TagChecker()
    checker.feed(text)
    checker.close()
    assert not checker.errors and not checker.stack, (checker.errors, checker.stack, text[:200])
    assert checker.seen <= {"b", "a"}, checker.seen


def buttons(call) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def button(call, text_start: str) -> dict:
    return next(b for b in buttons(call) if b["text"].startswith(text_start))


def escaped(text: str) -> str:
    return html.escape(text, quote=False)


# ---------------------------------------------------------------- private chat answers

def test_private_question_is_answered_with_bold_reference_and_bold_matched_words(bot):
    question = bot.ask("Chỉ thị 03 mục đích là gì?")
    reply = bot.replies(question)[0]
    text = reply.params["text"]
    assert reply.params["parse_mode"] == "HTML"
    assert "<b>1. Chỉ thị số 03-CT/TW" in text
    assert "<b>Số hiệu: 03-CT/TW · Ngày: 14/05/2011 · Cơ quan: Bộ Chính trị · Mục: 1-Mục đích</b>" in text
    assert '<a href="https://phuyen.gov.vn/' in text
    hit = bot.service.answer("Chỉ thị 03 mục đích là gì?").hits[0]
    start, end = hit.highlights[0]
    assert f"<b>{escaped(hit.text[start:end])}</b>" in text
    assert_balanced(text)


def test_typing_is_shown_only_while_an_answer_takes_time(bot, monkeypatch):
    import bot.channels.telegram.handlers as channel

    answer = bot.service.answer

    def slow_answer(*args, **kwargs):
        time.sleep(0.3)
        return answer(*args, **kwargs)

    monkeypatch.setattr(channel, "TYPING_AFTER_SECONDS", 0.05)
    monkeypatch.setattr(bot.service, "answer", slow_answer)  # this answer takes longer than that
    bot.replies(bot.ask("Kết luận 21"))
    assert bot.fake.requests("sendChatAction")


def test_answer_keyboard_has_more_full_text_feedback_and_share_within_64_bytes(bot):
    reply = bot.replies(bot.ask("Chỉ thị 03 mục đích là gì?"))[0]
    labels = [b["text"] for b in buttons(reply)]
    assert {"Toàn văn 1", messages.TG_BUTTON_MORE, messages.TG_BUTTON_SHARE, "👍", "👎"} <= set(labels)
    assert button(reply, messages.TG_BUTTON_SHARE)["switch_inline_query"] == "Chỉ thị 03 mục đích là gì?"
    for b in buttons(reply):
        if "callback_data" in b:
            assert len(b["callback_data"].encode("utf-8")) <= 64


def test_an_expanded_question_shows_how_it_was_understood_first(bot):
    text = bot.replies(bot.ask("BCT ban hành CT03 khi nào"))[0].params["text"]
    understood = escaped(messages.UNDERSTOOD.format(question="Bộ Chính trị ban hành Chỉ thị 03 khi nào"))
    assert text.startswith(understood + "\n\n")
    assert "03-CT/TW" in text
    plain = bot.replies(bot.ask("Chỉ thị 03 mục đích là gì?"))[0].params["text"]
    assert "Hiểu câu hỏi là" not in plain


def test_understood_line_is_escaped():
    from bot.models import Answer

    answer = Answer(question="x", status="not_found", understood="a <b> & c", message="m")
    assert render.answer_messages(answer)[0].startswith(escaped(messages.UNDERSTOOD.format(question="a <b> & c")))


def test_question_without_diacritics_finds_the_same_directive(bot):
    reply = bot.replies(bot.ask("chi thi 03 muc dich la gi"))[0]
    assert "03-CT/TW" in reply.params["text"]


def test_document_text_with_script_tag_and_ampersand_is_escaped(bot):
    reply = bot.replies(bot.ask("rà soát mã độc trên cổng thông tin điện tử"))[0]
    text = reply.params["text"]
    assert "&lt;script&gt;alert(\"x\")&lt;/script&gt;" in text
    assert "Văn phòng &amp; Ban Tuyên giáo" in text
    assert "ký tự &lt;đặc biệt&gt; &amp; an toàn" in text
    assert 'href="https://example.org/van-ban?so=99&amp;loai=qd"' in text
    assert "<script>" not in text
    assert_balanced(text)


def test_not_found_question_says_so_and_suggests_document_numbers(bot):
    reply = bot.replies(bot.ask("giá vé máy bay Hà Nội đi Đà Nẵng"))[0]
    text = reply.params["text"]
    assert escaped(messages.NOT_FOUND) in text
    assert "Chỉ thị 05-CT/TW" in text
    assert "reply_markup" not in reply.params


def test_long_answer_is_split_below_4096_characters_with_balanced_tags(bot):
    question = bot.ask("thực hành tiết kiệm chống lãng phí ngân sách tài sản công")
    replies = bot.replies(question, count=2)
    texts = [r.params["text"] for r in replies]
    assert all(len(t) < 4096 for t in texts)
    for t in texts:
        assert_balanced(t)
    assert "88-KH/TU" in texts[0] and "<b>3." in "".join(texts)
    assert "reply_markup" not in replies[0].params and buttons(replies[-1])


def test_question_over_the_limit_is_cut_with_a_note(bot):
    reply = bot.replies(bot.ask("Chỉ thị 03 mục đích là gì? " + "xin hỏi thêm " * 120))[0]
    assert escaped(messages.TG_QUESTION_CUT.format(limit=1000)) in reply.params["text"]


def test_sticker_gets_a_short_explanation(bot):
    start = bot.fake.mark()
    bot.fake.sticker()
    reply = bot.fake.wait_for("sendMessage", after=start)[0]
    assert reply.params["text"] == escaped(messages.TG_NON_TEXT)


@pytest.mark.parametrize("typed", ["thêm", "1", "tiếp"])
def test_a_follow_up_with_no_earlier_question_says_there_is_nothing_to_continue(bot, typed):
    reply = bot.replies(bot.ask(typed))[0]
    assert reply.params["text"] == escaped(messages.NOTHING_TO_CONTINUE)


# ---------------------------------------------------------------- buttons

def test_xem_them_sends_the_next_results(bot):
    reply = bot.keyboard_reply(bot.ask("Chỉ thị 05 học tập và làm theo tư tưởng đạo đức"))
    start = bot.fake.mark()
    bot.fake.press(reply, button(reply, messages.TG_BUTTON_MORE)["callback_data"])
    bot.fake.wait_for("answerCallbackQuery", after=start)
    more = bot.fake.wait_for("sendMessage", after=start)[0]
    assert "Kết quả tiếp theo (4–" in more.params["text"]
    assert "<b>4. " in more.params["text"]


def test_toan_van_sends_the_whole_section(bot):
    reply = bot.replies(bot.ask("Chỉ thị 03 mục đích là gì?"))[0]
    start = bot.fake.mark()
    bot.fake.press(reply, button(reply, "Toàn văn 1")["callback_data"])
    full = bot.fake.wait_for("sendMessage", after=start)[0].params["text"]
    section = bot.service.section(bot.service.answer("Chỉ thị 03 mục đích là gì?").hits[0].passage_id)
    for hit in section:
        assert escaped(hit.text.strip()[:60]) in full
    assert_balanced(full)


def test_toan_van_sends_a_bounded_number_of_messages_then_offers_the_next_part(bot, monkeypatch):
    import bot.channels.telegram.handlers as handlers
    from bot.channels.telegram import render as tg_render

    real = tg_render.section_messages
    monkeypatch.setattr(tg_render, "section_messages", lambda hits: [f"phần {i}" for i in range(7)] + real(hits))
    monkeypatch.setattr(handlers, "MAX_READ_MESSAGES", 3)
    reply = bot.replies(bot.ask("Chỉ thị 03 mục đích là gì?"))[0]
    start = bot.fake.mark()
    bot.fake.press(reply, button(reply, "Toàn văn 1")["callback_data"])
    first = bot.fake.wait_for("sendMessage", lambda c: "reply_markup" in c.params, after=start)[0]
    sent = [c.params["text"] for c in bot.fake.requests("sendMessage")[-3:]]
    assert sent == ["phần 0", "phần 1", "phần 2"]  # three messages, not eight or more
    more = button(first, messages.TG_BUTTON_READ_ON.format(parts=5))
    start = bot.fake.mark()
    bot.fake.press(first, more["callback_data"])
    nxt = bot.fake.wait_for("sendMessage", lambda c: "reply_markup" in c.params, after=start)[0]
    assert nxt.params["text"] == "phần 5" and button(nxt, messages.TG_BUTTON_READ_ON.format(parts=2))


def test_thumbs_up_is_stored_in_the_query_log_once_per_user(bot):
    reply = bot.replies(bot.ask("Chỉ thị 03 mục đích là gì?"))[0]
    data = button(reply, "👍")["callback_data"]
    start = bot.fake.mark()
    bot.fake.press(reply, data)
    bot.fake.press(reply, data)
    thanks = bot.fake.wait_for("answerCallbackQuery", count=2, after=start)
    assert all(c.params.get("text") == messages.TG_FEEDBACK_THANKS for c in thanks)
    stats = bot.querylog.stats()
    assert (stats.questions, stats.feedback_up, stats.feedback_down) == (1, 1, 0)


def test_expired_button_is_answered_with_ask_again(bot):
    reply = bot.replies(bot.ask("Chỉ thị 03 mục đích là gì?"))[0]
    start = bot.fake.mark()
    bot.fake.press(reply, "more:gone1234")
    answer = bot.fake.wait_for("answerCallbackQuery", after=start)[0]
    assert answer.params["text"] == messages.TG_BUTTON_EXPIRED


# ---------------------------------------------------------------- commands

def test_commands_are_registered_for_everyone_and_admin_commands_for_admins(bot):
    calls = bot.fake.wait_for("setMyCommands", count=2)
    public = [c for c in calls if "scope" not in c.params][0]
    assert [c["command"] for c in public.params["commands"]] == ["start", "help", "hoi", "vanban", "danhsach", "ontap"]
    admin = [c for c in calls if c.params.get("scope", {}).get("chat_id") == ADMIN["id"]][0]
    assert {"reindex", "thongke"} <= {c["command"] for c in admin.params["commands"]}


def test_start_greets_with_the_document_count_and_example_questions(bot):
    reply = bot.replies(bot.ask("/start"))[0]
    assert f"Kho hiện có {bot.service.info().documents} văn bản" in reply.params["text"]
    assert "Chỉ thị 05 yêu cầu gì?" in reply.params["text"]


def test_help_explains_groups_and_inline_mode(bot):
    text = bot.replies(bot.ask("/help"))[0].params["text"]
    assert "/hoi" in text and f"@{BOT['username']}" in text
    assert "/reindex" not in text


def test_vanban_shows_the_document_card_and_its_read_button_sends_the_text(bot):
    reply = bot.replies(bot.ask("/vanban 03-CT/TW"))[0]
    text = reply.params["text"]
    assert "<b>Chỉ thị số 03-CT/TW" in text and "Số hiệu: 03-CT/TW" in text and "1-Mục đích" in text
    start = bot.fake.mark()
    bot.fake.press(reply, button(reply, messages.TG_BUTTON_READ)["callback_data"])
    document = bot.fake.wait_for("sendMessage", after=start)[0].params["text"]
    assert "Phát huy kết quả đã đạt được" in document


def test_vanban_for_a_document_only_mentioned_in_articles_says_so(bot):
    text = bot.replies(bot.ask("/vanban 05-CT/TW"))[0].params["text"]
    assert escaped(messages.DOCUMENT_NOT_INDEXED.format(number="05-CT/TW")) in text


def test_danhsach_lists_documents_by_type_and_pages_forward(bot):
    reply = bot.replies(bot.ask("/danhsach"))[0]
    assert "trang 1/2" in reply.params["text"] and "<b>Chỉ thị</b>" in reply.params["text"]
    start = bot.fake.mark()
    bot.fake.press(reply, button(reply, messages.TG_BUTTON_NEXT)["callback_data"])
    edited = bot.fake.wait_for("editMessageText", after=start)[0]
    assert "trang 2/2" in edited.params["text"]
    assert int(edited.params["message_id"]) == reply.result["message_id"]


# ---------------------------------------------------------------- groups

def test_group_message_without_mention_is_ignored_and_hoi_is_answered_as_a_reply(bot):
    ignored = bot.ask("Chỉ thị 03 mục đích là gì?", chat=GROUP)
    asked = bot.ask("/hoi@vanban_test_bot Chỉ thị 03 mục đích là gì?", chat=GROUP)
    reply = bot.replies(asked)[0]
    assert reply.params["reply_parameters"]["message_id"] == asked["message_id"]
    assert "03-CT/TW" in reply.params["text"]
    # a positive event instead of a pause: a later mention is answered, so the earlier message was handled
    probe = bot.ask(f"@{BOT['username']} Chỉ thị 03 mục đích là gì?", chat=GROUP)
    assert bot.replies(probe)[0].params["reply_parameters"]["message_id"] == probe["message_id"]
    replied_to = [c.params.get("reply_parameters", {}).get("message_id")
                  for c in bot.fake.requests("sendMessage")]
    assert ignored["message_id"] not in replied_to
    assert len(bot.fake.requests("sendMessage")) == 2


def test_group_mention_and_reply_to_the_bot_are_answered_as_replies(bot):
    mention = bot.ask(f"@{BOT['username']} chỉ thị 03 mục đích là gì", chat=GROUP)
    first = bot.replies(mention)[0]
    assert first.params["reply_parameters"]["message_id"] == mention["message_id"]
    follow_up = bot.ask("còn quy định 08 về nêu gương thì sao", chat=GROUP, reply_to=first.result)
    second = bot.replies(follow_up)[0]
    assert second.params["reply_parameters"]["message_id"] == follow_up["message_id"]
    assert "08" in second.params["text"]


# ---------------------------------------------------------------- inline mode

def test_inline_query_returns_articles_titled_by_reference_with_html_passages(bot):
    start = bot.fake.mark()
    bot.fake.inline("chỉ thị 05 học tập làm theo")
    call = bot.fake.wait_for("answerInlineQuery", after=start)[0]
    results = call.params["results"]
    assert 1 <= len(results) <= 10
    assert all(r["type"] == "article" for r in results)
    first = results[0]
    assert first["description"]
    content = first["input_message_content"]
    assert content["parse_mode"] == "HTML" and content["message_text"].startswith("<b>")
    assert len(content["message_text"]) < 4096
    assert_balanced(content["message_text"])


def test_share_posts_a_compact_card_with_the_short_answer_clause_reference_and_source(bot):
    question = "Chỉ thị 03 mục đích là gì?"
    answer = bot.service.answer(question)
    start = bot.fake.mark()
    bot.fake.inline(question)  # what the "Chia sẻ" button (switch_inline_query) opens in the chosen chat
    results = bot.fake.wait_for("answerInlineQuery", after=start)[0].params["results"]
    card = results[0]["input_message_content"]["message_text"]
    lines = card.split("\n")
    hit = answer.hits[0]
    if answer.short and answer.short.passage_id == hit.passage_id:
        assert lines[0].startswith("<b>Trả lời:</b>")
    assert any(line.startswith("“") for line in lines)  # the clause, quoted as it is
    assert any(line.startswith("<b>— ") and "03-CT/TW" in line for line in lines)  # the reference
    assert lines[-1].startswith("<b>Nguồn:</b> https://")
    assert len(card) <= 2000 and "Số hiệu:" not in card  # compact: not the full answer block
    assert_balanced(card)


# ---------------------------------------------------------------- admins

def test_non_admin_reindex_thongke_and_upload_are_refused_and_nothing_changes(bot):
    version = bot.service.info().version
    folder = Path(bot.service.config.knowledge.dir)
    files = sorted(p.name for p in folder.iterdir())
    assert escaped(messages.TG_ADMIN_ONLY) == bot.replies(bot.ask("/reindex"))[0].params["text"]
    assert escaped(messages.TG_ADMIN_ONLY) == bot.replies(bot.ask("/thongke"))[0].params["text"]
    start = bot.fake.mark()
    bot.fake.document("ong-mat.md", UPLOADED_DOC.encode(), user=USER)
    refusal = bot.fake.wait_for("sendMessage", after=start)[0]
    assert refusal.params["text"] == escaped(messages.TG_UPLOAD_ADMIN_ONLY)
    assert not bot.fake.requests("getFile")
    assert bot.service.info().version == version
    assert sorted(p.name for p in folder.iterdir()) == files


def test_admin_thongke_shows_questions_not_found_share_feedback_and_index(bot):
    bot.replies(bot.ask("giá vé máy bay Hà Nội đi Đà Nẵng"))
    text = bot.replies(bot.ask("/thongke", user=ADMIN))[0].params["text"]
    assert "Số câu hỏi: 1" in text and "Không tìm thấy: 1 (100%)" in text
    assert "• giá vé máy bay" in text  # the most frequent unanswered question
    assert bot.service.info().version in text


def test_admin_upload_indexes_a_new_document_and_the_next_question_finds_it(own_service, tmp_path):
    with running(own_service, tmp_path) as bot:
        assert not bot.service.answer("nuôi ong mật trong khu dân cư").found
        start = bot.fake.mark()
        bot.fake.document("Hướng dẫn ong mật.md", UPLOADED_DOC.encode(), user=ADMIN)
        summary = bot.fake.wait_for("sendMessage", lambda c: "Thêm mới (1)" in c.params["text"], after=start)[0]
        assert "hd-77-thu-nghiem-ong-mat" in summary.params["text"]
        assert bot.fake.wait_for("editMessageText", after=start)  # progress
        assert (Path(bot.service.config.knowledge.dir) / "Huong-dan-ong-mat.md").exists()
        answer = bot.replies(bot.ask("nuôi ong mật trong khu dân cư"))[0]
        assert "77-HD/TU" in answer.params["text"]


def test_admin_reindex_reports_the_summary(own_service, tmp_path):
    with running(own_service, tmp_path) as bot:
        version = bot.service.info().version
        question = bot.ask("/reindex", user=ADMIN)  # nothing changed: no new version
        bot.fake.wait_for("sendMessage", lambda c: c.params["text"].startswith("Không có thay đổi"),
                          after=question["_mark"])
        assert bot.service.info().version == version
        changed = sorted(Path(bot.service.config.knowledge.dir).glob("*.md"))[0]
        changed.write_text(changed.read_text(encoding="utf-8") + "\nĐoạn bổ sung về việc nêu gương.\n",
                           encoding="utf-8")
        question = bot.ask("/reindex", user=ADMIN)
        summary = bot.fake.wait_for("sendMessage", lambda c: "Đã lập chỉ mục phiên bản" in c.params["text"],
                                    after=question["_mark"])[0]
        assert "Không đổi: 4 văn bản." in summary.params["text"] and changed.stem in summary.params["text"]
        assert bot.service.info().version != version
        progress = [c.params["text"] for c in bot.fake.requests("editMessageText")]
        assert progress[-1] == escaped(f"{messages.TG_REINDEX_STARTED}\n{messages.TG_PROGRESS_DONE}")
        # the indexer's English progress lines ("Reading documents in …") never reach the admin
        assert not any(word in text for text in progress for word in ("Reading", "Embedding", "passages"))


@pytest.mark.parametrize("name, content, expected", [
    ("cai-dat.exe", b"MZ\x90\x00binary", messages.TG_UPLOAD_BAD_TYPE),
    ("bang-tinh.xlsx", b"PK\x03\x04", messages.TG_UPLOAD_BAD_TYPE),
    ("van-ban.md", b"\xff\xfe\xfa not utf-8 \xc3\x28", messages.TG_UPLOAD_NOT_TEXT),
])
def test_bad_upload_is_rejected_with_a_clear_vietnamese_message(bot, name, content, expected):
    folder = Path(bot.service.config.knowledge.dir)
    files = sorted(p.name for p in folder.iterdir())
    start = bot.fake.mark()
    bot.fake.document(name, content, user=ADMIN)
    reply = bot.fake.wait_for("sendMessage", after=start)[0]
    assert reply.params["text"] == escaped(expected.format(name=name, extensions=", ".join(SUPPORTED_EXTENSIONS)))
    assert sorted(p.name for p in folder.iterdir()) == files


def test_upload_the_indexer_would_skip_is_rejected_with_its_reason(bot):
    folder = Path(bot.service.config.knowledge.dir)
    files = sorted(p.name for p in folder.iterdir())
    start = bot.fake.mark()
    bot.fake.document("thieu-tieu-de.md", "---\nid: thieu-tieu-de\n---\n\nNội dung không có tiêu đề.\n".encode(),
                      user=ADMIN)
    reply = bot.fake.wait_for("sendMessage", after=start)[0]
    assert reply.params["text"] == escaped(messages.TG_UPLOAD_INVALID.format(name="thieu-tieu-de.md",
                                                                            reason="missing title"))
    assert sorted(p.name for p in folder.iterdir()) == files


def test_admin_uploads_a_docx_and_a_question_finds_it_with_its_reference(own_service, tmp_path):
    with running(own_service, tmp_path) as bot:
        assert not bot.service.document_card("05-CT/TW").documents  # only articles citing it so far
        start = bot.fake.mark()
        bot.fake.document("Chỉ thị 05-CT_TW (bản gửi).docx", ct05_docx(), user=ADMIN,
                          mime_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        summary = bot.fake.wait_for("sendMessage", lambda c: "Thêm mới (1)" in c.params["text"], after=start)[0]
        assert "Chi-thi-05-CT_TW-ban-gui" in summary.params["text"]
        saved = Path(bot.service.config.knowledge.dir) / "Chi-thi-05-CT_TW-ban-gui.docx"
        assert saved.read_bytes()[:2] == b"PK"  # the raw .docx, not extracted text
        progress = [c.params["text"] for c in bot.fake.requests("editMessageText")]
        assert progress[-1] == escaped(messages.TG_UPLOAD_SAVED.format(name=saved.name) + "\n"
                                       + messages.TG_PROGRESS_DONE)
        text = bot.replies(bot.ask("sổ tay nêu gương của chi bộ"))[0].params["text"]
        assert "<b>1. Chỉ thị số 05-CT/TW về đẩy mạnh học tập" in text
        assert "Số hiệu: 05-CT/TW · Ngày: 15/05/2016 · Cơ quan: Bộ Chính trị" in text


def test_upload_over_the_size_limit_is_refused_without_downloading(bot):
    folder = Path(bot.service.config.knowledge.dir)
    files = sorted(p.name for p in folder.iterdir())
    start = bot.fake.mark()
    bot.fake.document("ct05.docx", ct05_docx(), user=ADMIN, file_size=3 * 1024 * 1024)  # the limit is 1 MB
    reply = bot.fake.wait_for("sendMessage", after=start)[0]
    assert reply.params["text"] == escaped(messages.TG_UPLOAD_TOO_BIG.format(name="ct05.docx", size=3.0, limit=1))
    assert not bot.fake.requests("getFile")
    assert sorted(p.name for p in folder.iterdir()) == files


def test_upload_with_the_same_name_updates_and_another_file_reusing_an_id_is_refused(own_service, tmp_path):
    with running(own_service, tmp_path) as bot:
        folder = Path(bot.service.config.knowledge.dir)
        start = bot.fake.mark()
        bot.fake.document("ong-mat.md", UPLOADED_DOC.encode(), user=ADMIN)
        bot.fake.wait_for("sendMessage", lambda c: "Thêm mới (1)" in c.params["text"], after=start)
        bot.wait_reindex_released()
        version = bot.service.info().version

        start = bot.fake.mark()
        bot.fake.document("ong-mat-ban-khac.md", UPLOADED_DOC.encode(), user=ADMIN)
        refusal = bot.fake.wait_for("sendMessage", lambda c: "ong-mat-ban-khac.md" in html.unescape(c.params["text"]),
                                    after=start)[0]
        assert refusal.params["text"] == escaped(messages.TG_UPLOAD_ID_TAKEN.format(
            name="ong-mat-ban-khac.md", ids="hd-77-thu-nghiem-ong-mat"))
        assert not (folder / "ong-mat-ban-khac.md").exists() and bot.service.info().version == version
        bot.wait_reindex_released()

        start = bot.fake.mark()
        bot.fake.document("ong-mat.md", UPLOADED_DOC.replace("mật ong hằng tháng", "mật ong hằng tuần").encode(),
                          user=ADMIN)
        summary = bot.fake.wait_for("sendMessage", lambda c: "Thay đổi (1)" in c.params["text"], after=start)[0]
        assert "hd-77-thu-nghiem-ong-mat" in summary.params["text"]
        assert "hằng tuần" in (folder / "ong-mat.md").read_text(encoding="utf-8")
        assert bot.fake.wait_for("editMessageText", lambda c: messages.TG_UPLOAD_REPLACED.format(
            name="ong-mat.md") in html.unescape(c.params["text"]), after=start)
        assert not [p for p in folder.iterdir() if p.name.startswith(".upload-")]  # staging cleaned up


@pytest.mark.parametrize("sent, saved", [
    ("Chỉ thị 05.DOCX", "Chi-thi-05.docx"),
    ("../../etc/_bí mật.md", "bi-mat.md"),
    ("..\\..\\Quyết định.pdf", "Quyet-dinh.pdf"),
    (".htaccess.html", "htaccess.html"),
    ("README.md", "van-ban-README.md"),
    ("không-đuôi", ""),
])
def test_uploaded_file_names_are_made_safe_for_the_knowledge_folder(sent, saved):
    assert safe_filename(sent) == saved


def test_summary_lists_documents_indexed_with_warnings():
    report = IndexReport(version="v9", documents=1, passages=3, added=["ct05"],
                         warnings=[Failure("ct05.docx", "metadata not found in the document: issuer <b>")])
    text = "\n".join(render.report_messages(report))
    assert f"<b>{escaped(messages.TG_REPORT_WARNINGS.format(count=1))}</b>" in text
    assert "• ct05.docx: metadata not found in the document: issuer &lt;b&gt;" in text


# ---------------------------------------------------------------- robustness

def test_flood_control_429_is_retried_and_the_reply_still_arrives(bot):
    bot.fake.fail_next("sendMessage", retry_after=1)
    question = bot.ask("/start")
    reply = bot.fake.wait_for("sendMessage", lambda c: isinstance(c.result, dict) and "message_id" in c.result,
                              after=question["_mark"])[0]
    assert "Xin chào" in reply.params["text"]
    failed = [c for c in bot.fake.requests("sendMessage") if isinstance(c.result, dict) and not c.result.get("ok", 1)]
    assert failed and failed[0].at < reply.at


def test_a_failing_handler_tells_the_user_and_the_bot_keeps_answering(bot):
    bot.fake.fail_next("sendMessage", status=400, description="Bad Request: message is too long")
    question = bot.ask("Chỉ thị 03 mục đích là gì?")
    notice = bot.fake.wait_for("sendMessage", lambda c: "message_id" in (c.result or {}), after=question["_mark"])
    assert notice[0].params["text"] == escaped(messages.SERVICE_UNAVAILABLE)
    assert "03-CT/TW" in bot.replies(bot.ask("Chỉ thị 03 mục đích là gì?"))[0].params["text"]


@contextlib.contextmanager
def running_webhook(service: AnswerService, tmp_path: Path, secret: str):
    """The real Application in webhook mode on a free local port, with the fake server as Bot API."""
    with FakeTelegram() as fake:
        webhook = WebhookConfig(url="https://bot.example.org", listen="127.0.0.1", port=free_port(),
                                path="/telegram-hook")
        telegram = dataclasses.replace(service.config.telegram, api_base_url=fake.base_url,
                                       api_base_file_url=fake.base_file_url, webhook=webhook)
        config = dataclasses.replace(service.config, telegram=telegram)
        querylog = QueryLog(tmp_path / "querylog.sqlite")
        application = build_application(config, service, fake.token, querylog)
        options = webhook_options(config, secret)
        with in_thread(application, querylog, lambda app: app.run_webhook(
                **options, stop_signals=None, close_loop=False)):
            fake.wait_for("setWebhook")
            deadline = time.monotonic() + 10
            while True:  # the webhook server may start listening just after setWebhook
                try:
                    socket.create_connection(("127.0.0.1", webhook.port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            yield fake, f"http://127.0.0.1:{webhook.port}/telegram-hook"


def post_update(url: str, update: dict, secret: str) -> int:
    """POST an update the way Telegram calls a webhook; returns the HTTP status."""
    import json

    request = urllib.request.Request(url, data=json.dumps(update).encode(), method="POST", headers={
        "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_webhook_mode_answers_updates_with_the_secret_and_refuses_others(tg_service, tmp_path):
    secret = "s3cret-Token_for-the-webhook-test"
    with running_webhook(tg_service, tmp_path, secret) as (fake, url):
        registered = fake.requests("setWebhook")[0].params
        assert registered["url"] == "https://bot.example.org/telegram-hook"
        assert registered["secret_token"] == secret
        intruder = {**USER, "id": 4242, "first_name": "Người lạ"}
        assert post_update(url, fake.text_update("/start", user=intruder), "wrong-secret-value-123") == 403
        start = fake.mark()
        assert post_update(url, fake.text_update("Chỉ thị 03 mục đích là gì?"), secret) == 200
        reply = fake.wait_for("sendMessage", after=start)[0]
        assert "03-CT/TW" in reply.params["text"] and int(reply.params["chat_id"]) == USER["id"]
        # a positive event instead of a pause: the next genuine update is answered after the forged one
        start = fake.mark()
        assert post_update(url, fake.text_update("/help"), secret) == 200
        fake.wait_for("sendMessage", lambda c: "/hoi" in c.params["text"], after=start)
        assert all(int(c.params["chat_id"]) != intruder["id"] for c in fake.requests("sendMessage"))
        assert not fake.requests("getUpdates")


@pytest.mark.parametrize("secret, expected", [
    (None, "webhook mode needs TELEGRAM_WEBHOOK_SECRET"),
    ("short", "TELEGRAM_WEBHOOK_SECRET is too short (5 characters)"),
    ("has spaces and ünicode in it", "TELEGRAM_WEBHOOK_SECRET is not a secret Telegram accepts"),
    ("x" * 257, "TELEGRAM_WEBHOOK_SECRET is not a secret Telegram accepts"),
])
def test_webhook_without_a_proper_secret_stops_with_a_clear_error(tg_service, monkeypatch, capsys, secret, expected):
    webhook = WebhookConfig(url="https://bot.example.org", port=free_port())
    config = dataclasses.replace(tg_service.config,
                                 telegram=dataclasses.replace(tg_service.config.telegram, webhook=webhook))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    if secret is None:
        monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", secret)
    assert serve(config) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1


def test_webhook_url_must_be_https_and_gets_the_path_appended(tg_service):
    def config_with(url: str):
        webhook = WebhookConfig(url=url, port=8443, path="/telegram")
        return dataclasses.replace(tg_service.config,
                                   telegram=dataclasses.replace(tg_service.config.telegram, webhook=webhook))

    secret = "a" * 32
    with pytest.raises(StartupError, match="https://"):
        webhook_options(config_with("http://bot.example.org"), secret)
    assert webhook_options(config_with("https://bot.example.org/"), secret)["webhook_url"] == \
        "https://bot.example.org/telegram"
    assert webhook_options(config_with("https://bot.example.org/telegram"), secret)["url_path"] == "telegram"
    assert webhook_options(tg_service.config, None) is None  # no webhook configured: long polling


def test_questions_per_minute_comes_from_the_config(tg_service, tmp_path):
    telegram = dataclasses.replace(tg_service.config.telegram, questions_per_minute=2)
    config = dataclasses.replace(tg_service.config, telegram=telegram)
    querylog = QueryLog(tmp_path / "querylog.sqlite")
    try:
        application = build_application(config, tg_service, "123:abc", querylog)
        assert application.bot_data["deps"].limiter.per_minute == 2
    finally:
        querylog.close()


def test_missing_token_gives_a_clear_error(tg_service, monkeypatch, capsys):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert serve(tg_service.config) != 0
    err = capsys.readouterr().err
    assert "TELEGRAM_BOT_TOKEN" in err and len(err.strip().splitlines()) == 1


def test_serve_command_answers_start_through_the_configured_api_base_url(tg_service, tmp_path):
    """`directive-bot serve telegram` as a user runs it, with config.yaml pointing at the fake server."""
    import yaml

    source = Path(tg_service.config.source)
    with FakeTelegram() as fake:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        data["knowledge"]["dir"] = str(tg_service.config.knowledge.dir)
        data["index"]["dir"] = str(tg_service.config.index.dir)
        data["querylog"]["path"] = str(tmp_path / "querylog.sqlite")
        data["telegram"].update(api_base_url=fake.base_url, api_base_file_url=fake.base_file_url)
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": fake.token}
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "--config", str(config), "-v", "serve",
                                    "telegram"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        try:
            fake.message("/start")
            reply = fake.wait_for("sendMessage", timeout=40)[0]
            assert "Xin chào" in reply.params["text"]
        finally:
            process.terminate()
            output, _ = process.communicate(timeout=20)
        assert fake.token not in output  # httpx would log request URLs, which carry the token


def test_a_user_asking_faster_than_the_limit_is_told_how_long_to_wait():
    limiter = QuestionLimiter(per_minute=2)
    assert limiter.wait_seconds(USER["id"]) == 0
    assert limiter.wait_seconds(USER["id"]) == 0
    assert 1 <= limiter.wait_seconds(USER["id"]) <= 61
    assert limiter.wait_seconds(ADMIN["id"]) == 0


def test_a_passage_longer_than_a_message_is_cut_into_balanced_pieces_that_keep_every_word():
    sentence = "Cán bộ & đảng viên <phải> nêu gương, tiết kiệm; "
    text = sentence * 250  # about 12,000 characters, markup makes it longer still
    spans = [(i * len(sentence), i * len(sentence) + 6) for i in range(250)]
    pieces = render.passage_blocks(text, spans, header="<b>Tiêu đề</b>", footer='<a href="https://x.vn">Nguồn</a>')
    assert len(pieces) >= 4
    for piece in pieces:
        assert len(piece) < 4096
        assert_balanced(piece)
    words = html.unescape(re.sub(r"</?(b|a)( [^>]*)?>", "", " ".join(pieces))).split()
    assert words[2:-1] == text.split()  # the header's two words first, the link's last


# ---------------------------------------------------------------- hostile input (issue 19)

def _good_message(fake: FakeTelegram, text: str) -> dict:
    return {"message_id": 777, "date": int(time.time()), "text": text,
            "chat": {"id": USER["id"], "type": "private", "first_name": USER["first_name"]}, "from": USER}


MALFORMED = {
    "no date": lambda m: {"update_id": 0, "message": {k: v for k, v in m.items() if k != "date"}},
    "a date that is not a number": lambda m: {"update_id": 0, "message": {**m, "date": "hôm qua"}},
    "entities not a list": lambda m: {"update_id": 0, "message": {**m, "entities": "bold"}},
    "a user without first_name": lambda m: {"update_id": 0, "message": {**m, "from": {"id": 5, "is_bot": False}}},
    "message: []": lambda m: {"update_id": 0, "message": []},
    "no update_id": lambda m: {"message": m},
    "an update_id that is not a number": lambda m: {"update_id": "abc", "message": m},
}


@pytest.mark.parametrize("shape", list(MALFORMED))
def test_a_malformed_update_is_skipped_and_the_good_one_after_it_is_answered(bot, shape, caplog):
    from telegram import Update

    caplog.set_level("WARNING", logger="bot.channels.telegram.polling")
    bad = MALFORMED[shape](_good_message(bot.fake, "Chỉ thị 03 mục đích là gì?"))
    if isinstance(bad.get("update_id"), int):
        bad["update_id"] = bot.fake.push_raw(None)  # a real id, confirmed with the batch
        bot.fake._updates.pop()
    if shape != "an update_id that is not a number":  # the library itself fails on every other shape
        with pytest.raises(Exception):
            Update.de_json(bad, None)
    polls = bot.fake.polls
    bot.fake.push_raw(bad)
    question = bot.ask("/start")
    assert "Xin chào" in bot.replies(question)[0].params["text"]
    assert bot.fake.polls - polls <= 6, "the same batch was polled again and again"
    assert any("skipped update" in r.getMessage() for r in caplog.records)


def test_an_update_that_keeps_coming_back_unreadable_is_polled_with_a_growing_pause(bot, caplog):
    caplog.set_level("WARNING", logger="bot.channels.telegram.polling")
    polls = bot.fake.polls
    bot.fake.push_raw({"message": ["not", "an", "update"]})  # no id: it cannot be confirmed on its own
    deadline = time.monotonic() + 20
    while bot.fake.polls - polls < 3:  # the bot saw it three times
        assert time.monotonic() < deadline, "the bot stopped polling"
        time.sleep(0.02)
    question = bot.ask("/start")  # the good update after it confirms it
    assert "Xin chào" in bot.replies(question)[0].params["text"]
    assert bot.fake.polls - polls <= 6  # without the pause: hundreds of polls by now
    assert sum("skipped update" in r.getMessage() for r in caplog.records) == 1  # logged once


def test_polling_that_ends_stops_the_process_with_one_line_and_a_non_zero_status(tg_service, tmp_path, capsys,
                                                                                monkeypatch):
    with FakeTelegram() as fake:
        telegram = dataclasses.replace(tg_service.config.telegram, api_base_url=fake.base_url,
                                       api_base_file_url=fake.base_file_url)
        querylog = dataclasses.replace(tg_service.config.querylog, path=tmp_path / "querylog.sqlite")
        config = dataclasses.replace(tg_service.config, telegram=telegram, querylog=querylog)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
        fake.fail_next("getUpdates", status=401, times=1000, description="Unauthorized")  # token revoked
        status = serve(config)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    # the watchdog stops the bot; the library may then re-raise why polling ended, or the watchdog says it
    assert len(err) == 1 and ("polling stopped (InvalidToken" in err[0] or "refused the bot token" in err[0]), err


def test_a_network_failure_at_start_is_one_clear_line(tg_service, tmp_path, capsys, monkeypatch):
    telegram = dataclasses.replace(tg_service.config.telegram, api_base_url=f"http://127.0.0.1:{free_port()}/bot")
    querylog = dataclasses.replace(tg_service.config.querylog, path=tmp_path / "querylog.sqlite")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    status = serve(dataclasses.replace(tg_service.config, telegram=telegram, querylog=querylog))
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert len(err) == 1 and "cannot reach the Telegram Bot API" in err[0] and "123:abc" not in err[0], err


@pytest.mark.parametrize("data", ["list:1e9", "list:NaN", "list:99999999999999", "xyz-random", "more:forged123",
                                  "full:", "up:" + "x" * 80, "ü" * 40, ""])
def test_a_button_with_unknown_data_is_always_answered(bot, data, caplog):
    caplog.set_level("DEBUG", logger="bot.channels.telegram.handlers")
    reply = bot.replies(bot.ask("Chỉ thị 03 mục đích là gì?"))[0]
    start = bot.fake.mark()
    bot.fake.press(reply, data)
    answered = bot.fake.wait_for("answerCallbackQuery", after=start)[0]
    assert answered.params["text"] in (messages.TG_BUTTON_UNKNOWN, messages.TG_BUTTON_EXPIRED)
    assert any(r.levelname == "DEBUG" and "unknown" in r.getMessage() for r in caplog.records)


def test_a_heavy_upload_does_not_hold_up_questions_and_a_failure_releases_the_lock(own_service, tmp_path,
                                                                                   monkeypatch):
    checking, release = threading.Event(), threading.Event()

    def slow_failing_check(path, *, max_file_mb=20.0):
        checking.set()
        release.wait(30)  # a hostile file being read
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(own_service, "check_document", slow_failing_check)
    with running(own_service, tmp_path) as bot:
        start = bot.fake.mark()
        bot.fake.document("long-html.html", b"<div>" * 1000, user=ADMIN, mime_type="text/html")
        assert checking.wait(15)
        answer = bot.replies(bot.ask("Chỉ thị 03 mục đích là gì?"))[0]  # answered while the check runs
        assert "03-CT/TW" in answer.params["text"]
        assert bot.application.bot_data["deps"].admin.busy
        release.set()
        refusal = bot.fake.wait_for("sendMessage", lambda c: "long-html.html" in html.unescape(c.params["text"]),
                                    after=start)[0]
        assert "RecursionError" in refusal.params["text"] or "recursion" in refusal.params["text"]
        bot.wait_reindex_released()
        question = bot.ask("/reindex", user=ADMIN)  # the lock was released: a reindex runs, not "busy"
        summary = bot.fake.wait_for("sendMessage", lambda c: "phiên bản" in c.params["text"],
                                    after=question["_mark"])[0]
        assert escaped(messages.TG_REINDEX_BUSY) not in [c.params["text"] for c in bot.fake.requests("sendMessage")]
        assert summary.params["text"]


# ---------------------------------------------------------------- the real platform (issue 15)

def test_a_button_pressed_after_a_restart_still_works(tg_service, tmp_path):
    question = "Chỉ thị 03 mục đích là gì?"
    with running(tg_service, tmp_path) as bot:
        reply = bot.replies(bot.ask(question))[0]
        data = button(reply, "Toàn văn 1")["callback_data"]
    with running(tg_service, tmp_path) as bot:  # a new Application: nothing in memory, the same database
        start = bot.fake.mark()
        bot.fake.press(reply, data)
        answered = bot.fake.wait_for("answerCallbackQuery", after=start)[0]
        assert answered.params.get("text") is None  # not "this button has expired"
        full = bot.fake.wait_for("sendMessage", after=start)[0].params["text"]
    first = tg_service.section(tg_service.answer(question).hits[0].passage_id)[0]
    assert escaped(first.text.strip()[:60]) in full


def test_flood_control_pauses_only_the_chat_telegram_named(bot):
    limiter = bot.application.bot.rate_limiter
    bot.fake.fail_next("sendMessage", retry_after=2)
    question = bot.ask("/start")
    reply = bot.fake.wait_for("sendMessage", lambda c: "message_id" in (c.result or {}), after=question["_mark"])[0]
    assert "Xin chào" in reply.params["text"]
    assert str(USER["id"]) in limiter.paused_until and str(ADMIN["id"]) not in limiter.paused_until


def test_local_mode_for_a_self_hosted_bot_api_server_comes_from_the_config(tg_service, tmp_path):
    telegram = dataclasses.replace(tg_service.config.telegram, local_mode=True,
                                   api_base_url="http://127.0.0.1:8081/bot")
    querylog = QueryLog(tmp_path / "querylog.sqlite")
    try:
        application = build_application(dataclasses.replace(tg_service.config, telegram=telegram), tg_service,
                                        "123:abc", querylog)
        assert application.bot.local_mode and application.bot.base_url.startswith("http://127.0.0.1:8081/bot")
    finally:
        querylog.close()


@pytest.mark.asyncio
async def test_a_send_that_timed_out_is_not_sent_again_but_a_read_is_retried():
    from telegram.error import TimedOut

    from bot.channels.telegram.flood import RetryingRateLimiter

    limiter, calls = RetryingRateLimiter(backoff=0.01), []

    async def timing_out(endpoint):
        calls.append(endpoint)
        raise TimedOut()

    with pytest.raises(TimedOut):
        await limiter.process_request(timing_out, ("sendMessage",), {}, "sendMessage", {"chat_id": 1}, None)
    assert calls == ["sendMessage"]  # it may have been delivered: never twice
    with pytest.raises(TimedOut):
        await limiter.process_request(timing_out, ("getFile",), {}, "getFile", {}, None)
    assert calls.count("getFile") == limiter.max_retries + 1
