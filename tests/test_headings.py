"""Heading classification (issue 14): a date line or a cut-off sentence is not a section label."""

from __future__ import annotations

import pytest

from bot.documents.headings import is_date_line, is_section_heading


@pytest.mark.parametrize("line", ["16/05/2018 - 17:11", "16-5-2018", "17:11 16/05/2018", "Thứ Hai, 16/05/2018 17:11",
                                  "16/05/2018 17:11 (GMT+7)"])
def test_a_date_or_time_line_is_not_a_heading(line):
    assert is_date_line(line)
    assert not is_section_heading(line)


@pytest.mark.parametrize("line", [
    "Điều 2 Quy định số 37-QĐ/TW là Điều quy định những việc đảng viên không được làm",
    "Điều 2 Quy định số 37-QĐ/TW là Điều …",
    "Khoản 3 Điều lệ Đảng quy định",
    "1. Các cấp ủy, tổ chức đảng tiếp tục quán triệt sâu sắc, thực hiện nghiêm túc, có hiệu quả Chỉ thị số 05",
    "2. Tiếp tục đẩy mạnh việc học tập và làm theo tư tưởng.",
])
def test_a_sentence_or_a_cited_article_is_not_a_heading(line):
    assert not is_section_heading(line)


@pytest.mark.parametrize("line", ["Điều 2. Nội dung nêu gương", "I. MỤC ĐÍCH, YÊU CẦU", "1. Mục đích", "Chương II",
                                  "a) Đối với cán bộ lãnh đạo", "Điều 2."])
def test_real_headings_are_headings(line):
    assert is_section_heading(line)
    assert not is_date_line(line)
