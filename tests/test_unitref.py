"""Unit references typed in questions -> canonical unit keys."""

from bot.documents.unitref import parse_unit_query, unit_label
from bot.messages import UNIT_NAMES


def test_article_clause_and_point_in_any_order_and_spelling():
    assert parse_unit_query("khoan 2 dieu 4 dieu le").keys == ("dieu:4", "khoan:2")
    assert parse_unit_query("Điểm b khoản 1 Điều 36").keys == ("dieu:36", "khoan:1", "diem:b")
    assert parse_unit_query("k2 đ4 điều lệ").keys == ("dieu:4", "khoan:2")
    assert parse_unit_query("Chương II Điều lệ").keys == ("chuong:2",)


def test_outline_numbers_and_the_rest_of_the_question():
    q = parse_unit_query("mục 3.2 quy định 294")
    assert q.keys == ("muc:3", "muc:3.2") and q.rest == "quy dinh 294"
    assert parse_unit_query("điểm c mục 6.3.1 QĐ 294").keys == ("muc:6", "muc:6.3", "muc:6.3.1", "diem:c")
    assert parse_unit_query("Điểm 3.6 Hướng dẫn 06").keys == ("muc:3", "muc:3.6")


def test_questions_without_a_unit_are_not_lookups():
    assert parse_unit_query("theo Điều lệ đảng viên có quyền gì") is None
    assert parse_unit_query("đảng viên dự bị bao lâu thì chuyển chính thức") is None
    assert parse_unit_query("khoản 1 và khoản 2 điều 4") is None  # two clauses: a comparison


def test_labels_read_as_people_say_them():
    assert unit_label(("chuong:1", "dieu:4", "khoan:2"), UNIT_NAMES) == "khoản 2 Điều 4"
    assert unit_label(("muc:3", "muc:3.2"), UNIT_NAMES) == "mục 3.2"
    assert unit_label(("chuong:2",), UNIT_NAMES) == "Chương II"
