"""Zalo plain-text rendering: answers, cards, lists and reports as messages of at most 2,000 characters.

Zalo has no buttons, so each answer ends with the typed follow-ups ("thêm", "1", "2", "3") it accepts.
Dates, the citation line and packing come from bot/channels/text.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import messages as msg
from bot.channels import followups, text
from bot.channels.zalo.client import MAX_TEXT_CHARS
from bot.models import Answer, DocumentCard, Hit, IndexInfo, IndexReport, Reference
from bot.service.querylog import QueryStats

MESSAGE_LIMIT = MAX_TEXT_CHARS
EXCERPT_CHARS = 700  # a passage in the result list; "1"/"2"/"3" shows it in full


def reference_line(ref: Reference, number: int | None = None, *, section: bool = True) -> str:
    return text.citation_line(ref, number, with_section=section)


def pack(blocks: Sequence[str], limit: int = MESSAGE_LIMIT, sep: str = "\n\n") -> list[str]:
    return text.pack(blocks, limit, sep)


def _choices(count: int) -> str:
    quoted = [f"“{i}”" for i in range(1, count + 1)]
    if len(quoted) == 1:
        return quoted[0]
    return f"{', '.join(quoted[:-1])} {msg.ZALO_CHOICES_OR} {quoted[-1]}"


def _footer(answer: Answer, mention: str | None, official: bool = False) -> str:
    lines = [msg.CHAT_OFFICIAL_HINT] if official else []
    if answer.has_more:
        lines.append(msg.ZALO_MORE_HINT)
    if answer.hits:
        lines.append(msg.ZALO_FULL_HINT.format(choices=_choices(len(answer.hits))))
    if lines and mention:
        lines.append(msg.ZALO_GROUP_HINT.format(name=mention))
    return "\n".join(lines)


def _not_found(message: str, suggestions: Sequence[str]) -> list[str]:
    blocks = [message or msg.NOT_FOUND]
    if suggestions:
        blocks.append("\n".join([msg.ZALO_SUGGESTIONS, *(f"• {s}" for s in suggestions)]))
    return pack(blocks)


def render_answer(answer: Answer, mention: str | None = None, official: bool = False) -> list[str]:
    """Messages for one Answer: numbered passages (citation line first), then the follow-up hints (with
    "chính thức" when `official`: news led and official texts exist)."""
    if not answer.found:
        return _not_found(answer.message, answer.suggestions)
    first = answer.offset + 1
    question = answer.question if len(answer.question) <= 120 else answer.question[:119] + "…"
    blocks = [msg.ZALO_RESULTS_HEADER.format(first=first, last=answer.offset + len(answer.hits),
                                             question=question)]
    if answer.message and answer.offset == 0:  # "Kho chưa có toàn văn 05-CT/TW; dưới đây là…"
        blocks.append(answer.message)
    if answer.short is not None:
        blocks.append(text.short_answer_line(answer))
    for n, hit in enumerate(answer.hits, start=1):
        links = "".join(f"\n{line}" for line in text.link_lines(hit))
        blocks.append(f"{reference_line(hit.reference, n)}{links}\n{text.excerpt(hit.text, EXCERPT_CHARS)}")
    blocks.append(_footer(answer, mention, official))
    return pack(blocks)


def render_unit(answer: Answer, mention: str | None = None, notes: Sequence[str] = ()) -> list[str]:
    """An article lookup ("Điều 8 Điều lệ Đảng"): every passage of the unit in full and in order, its citation
    line once above the passages it covers, then the follow-up words ("trước", "sau", "toàn điều")."""
    blocks = list(notes) + ([answer.message] if answer.message else [])
    shown = None
    for hit in answer.hits:
        head = ""
        if hit.reference != shown:
            shown = hit.reference
            head = "\n".join([reference_line(hit.reference)] + text.link_lines(hit)) + "\n"
        blocks.append(head + hit.text)
    hint = followups.unit_hint(answer.unit) if answer.unit is not None else ""
    if hint and mention:
        hint += "\n" + msg.ZALO_GROUP_HINT.format(name=mention)
    blocks.append(hint)
    return pack(blocks)


def render_full(choice: int, hit: Hit) -> list[str]:
    """One passage in full, after its citation line; a passage too long for one message is cut at sentences."""
    return pack([msg.ZALO_FULL_HEADER.format(choice=choice), f"{reference_line(hit.reference)}\n{hit.text}"])


def render_card(card: DocumentCard, mention: str | None = None) -> list[str]:
    """What /vanban knows about a number: the document(s) themselves, then articles that cite it."""
    if not card.documents and not card.mentions:
        return [msg.DOCUMENT_UNKNOWN.format(number=card.doc_number)]
    blocks = []
    if card.documents:
        blocks.append(msg.ZALO_DOCUMENT_HEADER.format(number=card.doc_number))
        blocks.extend(reference_line(ref, section=False) for ref in card.documents)
    if card.mentions:
        blocks.append(msg.ZALO_MENTIONS_HEADER.format(number=card.doc_number) if card.documents
                      else msg.DOCUMENT_NOT_INDEXED.format(number=card.doc_number))
        for n, hit in enumerate(card.mentions, start=1):
            blocks.append(f"{reference_line(hit.reference, n)}\n{text.excerpt(hit.text, EXCERPT_CHARS)}")
        blocks.append(msg.ZALO_FULL_HINT.format(choices=_choices(len(card.mentions))))
        if mention:
            blocks[-1] += "\n" + msg.ZALO_GROUP_HINT.format(name=mention)
    return pack(blocks)


def render_documents(refs: Sequence[Reference]) -> list[str]:
    if not refs:
        return [msg.ZALO_DOCUMENTS_EMPTY]
    lines = [msg.ZALO_DOCUMENTS_HEADER.format(count=len(refs))]
    for ref in refs:
        kind = msg.DOC_TYPE_NAMES.get(ref.doc_type, "")
        head = ref.doc_number or kind
        date = f" ({text.format_date(ref.issued)})" if ref.issued else ""
        lines.append(f"• {head + ': ' if head else ''}{ref.title}{date}")
    return pack(lines, sep="\n")


def render_report(report: IndexReport) -> list[str]:
    if report.unchanged_collection:  # no new version was made
        blocks = [msg.INDEX_UNCHANGED.format(version=report.version, documents=report.documents,
                                             passages=report.passages)]
    else:
        blocks = [msg.ZALO_REINDEX_DONE.format(
            version=report.version, documents=report.documents, passages=report.passages,
            added=len(report.added), changed=len(report.changed), removed=len(report.removed),
            unchanged=len(report.unchanged), seconds=report.seconds)]
    if report.failed:
        blocks.append("\n".join([msg.ZALO_REINDEX_FAILURES.format(count=len(report.failed)),
                                 *(f"• {f.path}: {f.reason}" for f in report.failed[:20])]))
    return pack(blocks)


def render_stats(stats: QueryStats, info: IndexInfo | None, notes: Sequence[str] = ()) -> list[str]:
    channels = ", ".join(f"{name} {count}" for name, count in sorted(stats.by_channel.items())) or "0"
    if info is None:
        info = IndexInfo(version="-", built_at="-", documents=0, passages=0, model="-", dim=0, size_bytes=0)
    blocks = [msg.ZALO_STATS.format(
        questions=stats.questions, not_found=stats.not_found, share=stats.not_found_share,
        channels=channels, up=stats.feedback_up, down=stats.feedback_down, version=info.version,
        built_at=info.built_at, documents=info.documents, passages=info.passages, model=info.model)]
    if stats.top_unanswered:
        blocks.append("\n".join([msg.ZALO_STATS_UNANSWERED,
                                 *(f"• {q} ({n})" for q, n in stats.top_unanswered)]))
    blocks.extend(notes)
    return pack(blocks)
