"""Messages that are not questions: greetings and thanks get a reply of their own, short input a request."""

from __future__ import annotations

import pytest

from bot import messages
from bot.service.intake import classify


@pytest.mark.parametrize("text", ["xin chào", "Xin chào bot!", "chào bạn", "hi", "Chao ca nha"])
def test_greetings_get_a_friendly_reply_with_an_example_and_no_passages(service, text):
    answer = service.answer(text)
    assert answer.status == "invalid" and not answer.hits
    assert answer.message == messages.GREETING and "ví dụ" in answer.message


@pytest.mark.parametrize("text", ["cảm ơn", "Cảm ơn nhiều nhé", "thanks", "cam on ban"])
def test_thanks_get_a_short_reply_and_no_passages(service, text):
    answer = service.answer(text)
    assert answer.status == "invalid" and not answer.hits and answer.message == messages.THANKS


@pytest.mark.parametrize("text", ["1", "2024", "đảng", "3 ."])
def test_a_number_or_a_single_word_asks_for_a_whole_question(service, text):
    answer = service.answer(text)
    assert answer.status == "invalid" and not answer.hits and answer.message == messages.TOO_SHORT


@pytest.mark.parametrize("text", ["Chỉ thị 05", "CT05", "QĐ 37", "Điều 8", "chào, cho hỏi chỉ thị 05 yêu cầu gì",
                                  "cảm ơn, vậy Kết luận 21 nói gì?", "kết nạp"])
def test_questions_and_document_numbers_are_still_searched(text):
    assert classify(text) == ""


def test_a_greeting_followed_by_a_question_is_answered(service):
    assert service.answer("chào bot, chỉ thị 05 yêu cầu gì").found


@pytest.mark.parametrize("text,expected", [
    ("QĐ 294", True), ("Quy định 294-QĐ/TW nói gì?", True), ("chi thi 05 la gi", True),
    ("Kết luận 01 gồm những nội dung gì", True), ("Chỉ thị 05 yêu cầu gì?", False),
    ("Quy định 294 về đảng viên dự bị", False), ("Điều 8 Điều lệ", False), ("xin chào", False),
])
def test_a_question_that_is_only_a_document_number(text, expected):
    from bot.service.intake import only_document_number

    assert only_document_number(text) is expected
