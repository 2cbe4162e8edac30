"""Quiz items as plain text (Zalo, the terminal, a printable sheet) and the shareable answer card."""

from __future__ import annotations

from bot import messages
from bot.models import Hit
from bot.service.quizrules import QuizItem

SHARE_LIMIT = 1500  # one forwarded message stays readable (Zalo allows 2,000 characters)


def format_item(item: QuizItem, number: int = 0, total: int = 0) -> str:
    """The question and its numbered options ("1. 12 tháng")."""
    head = messages.QUIZ_NUMBERED.format(number=number, total=total, question=item.question) if total > 1 \
        else item.question
    options = "\n".join(f"{n}. {option}" for n, option in enumerate(item.options, 1))
    hint = messages.QUIZ_REPLY_HINT.format(first=1, last=len(item.options))
    return f"{head}\n{options}\n{hint}"


def format_sheet(items: list[QuizItem]) -> str:
    """A printable quiz sheet: the questions, then the answer key with each clause and its reference."""
    blocks = []
    for n, item in enumerate(items, 1):
        options = "\n".join(f"   {chr(ord('A') + k)}. {o}" for k, o in enumerate(item.options))
        blocks.append(f"{n}. {item.question}\n{options}")
    key = [f"{n}. {chr(ord('A') + item.correct)} — {item.reference}: “{item.clause}”" for n, item in
           enumerate(items, 1)]
    return "\n\n".join(blocks) + f"\n\n{messages.QUIZ_SHEET_ANSWERS}\n" + "\n".join(key)


def format_result(item: QuizItem, choice: int) -> str:
    """Right or wrong, then the clause with its reference (choice counts from 0)."""
    verdict = messages.QUIZ_RIGHT if choice == item.correct else \
        messages.QUIZ_WRONG.format(option=f"{item.correct + 1}. {item.options[item.correct]}")
    clause = messages.QUIZ_CLAUSE.format(reference=item.reference, clause=item.clause)
    return f"{verdict}\n{clause}\n{messages.QUIZ_SHARE_HINT}"


def _card(short: str, clause: str, reference: str, source_url: str) -> str:
    parts = [messages.QUIZ_SHORT_ANSWER.format(answer=short)] if short else []
    if len(clause) > SHARE_LIMIT:
        clause = clause[:SHARE_LIMIT].rsplit(" ", 1)[0] + " …"
    parts += [f"“{clause}”", f"— {reference}"]
    if source_url:
        parts.append(messages.QUIZ_SOURCE.format(url=source_url))
    return "\n".join(parts)


def share_item(item: QuizItem) -> str:
    """One compact message about a quiz item that reads well when forwarded into a group."""
    short = item.answer if item.kind == "cloze" else item.options[item.correct]
    if item.kind == "true_false" and item.correct == 1:
        short = f"{short} ({item.answer})"
    return _card(short, item.clause, item.reference, item.source_url)


def share_hit(hit: Hit, short: str = "") -> str:
    """The same card for an answer passage: its short answer when there is one, the passage, the reference."""
    ref = hit.reference
    name = " ".join(x for x in (messages.DOC_TYPE_NAMES.get(ref.doc_type, ""), ref.doc_number) if x) \
        if ref.doc_number else ref.title
    where = f"{name}, {ref.section}" if ref.section else name
    return _card(short, hit.text, where, ref.source_url)
