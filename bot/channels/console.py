"""Terminal rendering of answers (ask, chat) and the interactive chat loop."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from bot import messages
from bot.models import Answer, Hit, Reference

BOLD, RESET = "\033[1m", "\033[0m"


def format_date(issued: str) -> str:
    """ISO "2016-05-15" -> "15/5/2016"; partial dates as they are."""
    parts = issued.split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{int(parts[2])}/{int(parts[1])}/{parts[0]}"
    return issued


def reference_line(ref: Reference) -> str:
    """Số hiệu · tiêu đề · ngày · cơ quan · mục, leaving out what the document does not have."""
    parts = []
    if ref.doc_number:
        kind = messages.DOC_TYPE_NAMES.get(ref.doc_type, "")
        parts.append(f"{kind} {ref.doc_number}".strip())
    parts.append(ref.title)
    if ref.issued:
        parts.append(f"{messages.LABEL_ISSUED} {format_date(ref.issued)}")
    if ref.issuer:
        parts.append(f"{messages.LABEL_ISSUER}: {ref.issuer}")
    parts.append(f"{messages.LABEL_SECTION}: {ref.section or messages.SECTION_OPENING}")
    return " · ".join(parts)


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
    head = f"[{n}] {reference_line(hit.reference)}"
    lines = [start + head + end if color else head]
    if hit.reference.source_url:
        lines.append(f"    {messages.LABEL_SOURCE}: {hit.reference.source_url}")
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
            out.append(f"{messages.DOCUMENT_HEADER}: {reference_line(ref)}")
    if answer.message:
        out.append(answer.message)
    for n, hit in enumerate(answer.hits, answer.offset + 1):
        out.append(render_hit(n, hit, color))
    if answer.suggestions:
        out.append(messages.SUGGESTIONS + ", ".join(answer.suggestions))
    return "\n\n".join(out)


def chat(service, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Interactive loop: one question a line; "thêm" shows the next results."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    info = service.info()
    print(messages.CHAT_WELCOME.format(documents=info.documents, passages=info.passages), file=stdout)
    color = use_color(stdout)
    last, offset = None, 0
    interactive = stdin.isatty()
    while True:
        if interactive:
            print(messages.CHAT_PROMPT, end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            break
        text = line.strip()
        if text.lower() in ("thoát", "thoat", "exit", "quit"):
            break
        if text.lower() in ("thêm", "them", "xem thêm", "xem them") and last:
            offset += service.config.retrieval.top_k
            answer = service.answer(last, offset=offset)
        else:
            last, offset = text, 0
            answer = service.answer(text)
        print(render_answer(answer, color), file=stdout)
        if answer.has_more:
            print(messages.CHAT_MORE_HINT, file=stdout)
        print(file=stdout, flush=True)
    print(messages.CHAT_BYE, file=stdout)
    return 0
