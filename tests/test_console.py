"""The terminal channel: answers as text, follow-ups in `chat`, the date and citation shared with the chats."""

from __future__ import annotations

import io

from bot import messages
from bot.channels import console, text
from bot.models import Hit, Reference


def chat_lines(service, *lines: str) -> str:
    out = io.StringIO()
    assert console.chat(service, stdin=io.StringIO("".join(f"{line}\n" for line in lines)), stdout=out) == 0
    return out.getvalue()


def test_them_before_any_question_says_there_is_nothing_to_continue(service):
    out = chat_lines(service, "thêm")
    assert messages.NOTHING_TO_CONTINUE in out
    assert "[1] " not in out


def test_a_number_before_any_question_says_there_is_nothing_to_continue(service):
    out = chat_lines(service, "1")
    assert messages.NOTHING_TO_CONTINUE in out
    assert "[1] " not in out


def test_a_number_after_a_question_shows_that_passage_in_full(service):
    answer = service.answer("Kết luận 21")
    out = chat_lines(service, "Kết luận 21", "2")
    full = out.split(messages.CHAT_MORE_HINT)[-1] if answer.has_more else out
    assert " ".join(answer.hits[1].text.split())[:200] in " ".join(full.split())


def test_the_console_prints_dates_and_citations_as_the_chats_do():
    ref = Reference(doc_id="ct-05", title="Chỉ thị số 05-CT/TW", doc_number="05-CT/TW", doc_type="chi-thi",
                    issuer="Bộ Chính trị", issued="2016-05-15", section="I. Nhiệm vụ",
                    source_url="https://example.org/ct05")
    hit = Hit(passage_id="ct-05#0", doc_id="ct-05", text="Nội dung.", reference=ref, score=1.0, lexical=1.0,
              dense=1.0)
    lines = console.render_hit(1, hit, color=False).splitlines()
    assert lines[0] == ("[1] Chỉ thị số 05-CT/TW · Số hiệu: 05-CT/TW · Ngày: 15/05/2016 · "
                        "Cơ quan: Bộ Chính trị · Mục: I. Nhiệm vụ")  # 15/05/2016, not 15/5/2016
    assert lines[1].strip() == "Nguồn: https://example.org/ct05"
    assert lines[0][4:] == text.citation_line(ref, with_source=False)
