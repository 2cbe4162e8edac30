"""Terminal rendering of answers (ask, chat) and the interactive chat loop."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

from bot import messages
from bot.channels import followups, text
from bot.channels.followups import unit_hint, unit_step
from bot.channels.quizflow import QuizChats, text_reply
from bot.channels.text import citation_line, link_lines, short_answer_line
from bot.models import Answer, Hit
from bot.service.quiz import QuizService

if TYPE_CHECKING:
    from bot.service.answering import AnswerService

BOLD, RESET = "\033[1m", "\033[0m"
CONSOLE_CHAT = "console"


def highlight(text: str, spans, start: str, end: str) -> str:
    out, pos = [], 0
    for a, b in spans:
        out.append(text[pos:a])
        out.append(start + text[a:b] + end)
        pos = b
    out.append(text[pos:])
    return "".join(out)


def use_color(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def render_hit(n: int, hit: Hit, color: bool) -> str:
    start, end = (BOLD, RESET) if color else ("**", "**")
    head = citation_line(hit.reference, n, with_source=False)
    lines = [start + head + end if color else head]
    if hit.reference.source_url:
        lines.append(f"    {messages.LABEL_SOURCE}: {hit.reference.source_url}")
    lines.extend(f"    {line}" for line in link_lines(hit))
    body = highlight(hit.text, hit.highlights, start, end)
    lines.extend("    " + line for line in body.splitlines())
    return "\n".join(lines)


def render_answer(answer: Answer, color: bool = False) -> str:
    out: list[str] = []
    if answer.understood:
        out.append(messages.UNDERSTOOD.format(question=answer.understood))
    card = answer.document
    if card is not None:
        for ref in card.documents:
            out.append(f"{messages.DOCUMENT_HEADER}: {citation_line(ref, with_section=False)}")
    if answer.message:
        out.append(answer.message)
    if answer.short is not None:
        out.append(short_answer_line(answer))
    for n, hit in enumerate(answer.hits, answer.offset + 1):
        out.append(render_hit(n, hit, color))
    if answer.suggestions:
        out.append(messages.SUGGESTIONS + ", ".join(answer.suggestions))
    return "\n\n".join(out)


def chat(service: AnswerService, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Interactive loop: one question a line; "thêm" shows the next results, a number that passage in full."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    info = service.info()
    print(messages.CHAT_WELCOME.format(documents=info.documents, passages=info.passages), file=stdout)
    color = use_color(stdout)
    session = followups.Sessions()
    quizzes = QuizChats(QuizService(service))
    state: dict = {}  # the unit an article lookup showed last ("trước", "sau", "toàn điều")
    interactive = stdin.isatty()
    while True:
        if interactive:
            print(messages.CHAT_PROMPT, end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        typed = line.strip()
        if typed.lower() in ("thoát", "thoat", "exit", "quit"):
            break
        step = unit_step(state.get("unit"), typed)
        if step is not None:
            print(_unit_reply(service, state, step, color), file=stdout)
        else:
            quiz = text_reply(quizzes, CONSOLE_CHAT, typed)
            print(quiz if quiz is not None else _reply(service, session, typed, color, state, quizzes), file=stdout)
        print(file=stdout, flush=True)
    print(messages.CHAT_BYE, file=stdout)
    return 0


def _unit_reply(service: AnswerService, state: dict, path: str, color: bool) -> str:
    """"trước" / "sau" / "toàn điều" after an article lookup: that unit, whole."""
    unit = state.get("unit")
    if unit is None or not path:
        return messages.CHAT_NO_UNIT
    answer = service.unit(unit.doc_id, path)
    state["unit"] = answer.unit or unit
    rendered = render_answer(answer, color)
    hint = unit_hint(answer.unit) if answer.unit else ""
    return f"{rendered}\n{hint}" if hint else rendered


def _reply(service: AnswerService, sessions: followups.Sessions, typed: str, color: bool,
           state: dict | None = None, quizzes: QuizChats | None = None) -> str:
    """The text for one line typed in `chat`: an answer, the next results, one passage, or a notice."""
    is_more, number = text.is_more(typed), followups.choice(typed)
    last = sessions.get("console")
    if (is_more or number is not None) and last is None:
        return messages.NOTHING_TO_CONTINUE
    if number is not None:
        if not 1 <= number <= len(last.passage_ids):
            return messages.CHOICE_OUT_OF_RANGE.format(count=len(last.passage_ids))
        hit = service.passage(last.passage_ids[number - 1])
        return render_hit(last.offset + number, hit, color) if hit else messages.ZALO_PASSAGE_GONE
    if is_more:
        if not last.has_more:
            return messages.NO_MORE
        answer = service.answer(last.question, offset=last.offset + len(last.passage_ids))
    else:
        answer = service.answer(typed)
    sessions.remember("console", answer)
    if quizzes is not None:
        quizzes.remember_answer(CONSOLE_CHAT, answer)
    rendered = render_answer(answer, color)
    if state is not None and not is_more:
        state["unit"] = answer.unit
        if answer.unit is not None and unit_hint(answer.unit):
            rendered = f"{rendered}\n{unit_hint(answer.unit)}"
    return f"{rendered}\n{messages.CHAT_MORE_HINT}" if answer.has_more else rendered
