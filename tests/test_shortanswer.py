"""The short answer (bot/service/shortanswer.py): quoted from the passages; a question asking how long or
how many prefers, among sentences that cover it, one that holds an amount."""

from __future__ import annotations

from bot.models import Hit, Reference
from bot.retrieval.query import analyse
from bot.retrieval.understanding import QueryUnderstanding
from bot.service import shortanswer

PASSAGE = ("Khi hết thời kỳ dự bị, chi bộ xét công nhận đảng viên dự bị thành đảng viên chính thức từng "
           "người một.\nĐảng viên dự bị phải trải qua thời kỳ dự bị mười hai tháng, tính từ ngày chi bộ tổ "
           "chức lễ kết nạp.")


def _pick(question: str):
    hit = Hit(passage_id="dl#0", doc_id="dl", text=PASSAGE, reference=Reference(doc_id="dl", title="Điều lệ"),
              score=1.0)
    terms = analyse(question, QueryUnderstanding([]))
    return shortanswer.pick(terms, [hit], lambda t: 1.0)


def test_how_long_prefers_the_sentence_with_an_amount():
    short = _pick("Đảng viên dự bị thời kỳ dự bị bao lâu?")
    assert short is not None and "mười hai tháng" in short.text


def test_without_asking_an_amount_the_best_covering_sentence_wins():
    short = _pick("Khi hết thời kỳ dự bị chi bộ xét công nhận đảng viên dự bị thế nào?")
    assert short is not None and short.text.startswith("Khi hết thời kỳ dự bị")
