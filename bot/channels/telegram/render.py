"""Telegram HTML rendering: answers, references, cards and reports as messages under 4,096 characters.

Dates and the citation come from bot/channels/text.py, as in every channel; here they are marked up.

Every piece of document or user text goes through `escape`; each returned message is balanced HTML
on its own, because long content is split before it is marked up, never after.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

from bot import messages
from bot.channels import text
from bot.channels.quiztext import share_hit
from bot.channels.text import format_date, reference_details, reference_title
from bot.models import Answer, DocumentCard, Hit, IndexInfo, IndexReport, Reference
from bot.service.querylog import QueryStats

MESSAGE_LIMIT = 4096
# room for the Telegram client's own counting quirks; a message is always a little below the limit
SAFE_LIMIT = MESSAGE_LIMIT - 96
DOCUMENTS_PER_PAGE = 15
REPORT_ITEMS = 30  # failures or warnings listed in a summary; the rest are counted (all are in the log)
_CUTS = ("\n\n", "\n", ". ", "; ", ", ", " ")


def escape(text: str) -> str:
    return html.escape(text or "", quote=False)


def size(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def highlight(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Escape `text` and wrap the (start, end) spans in <b>; overlapping spans are merged."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(escape(text[pos:start]))
        out.append(f"<b>{escape(text[start:end])}</b>")
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def link(url: str, label: str) -> str:
    if url.startswith(("http://", "https://")):
        return f'<a href="{html.escape(url, quote=True)}">{escape(label)}</a>'
    return escape(f"{label}: {url}") if url else ""


def reference_html(ref: Reference, number: int | None = None, with_section: bool = True) -> str:
    """The bold reference lines above a passage."""
    title = reference_title(ref)
    if number is not None:
        title = f"{number}. {title}"
    lines = [f"<b>{escape(title)}</b>"]
    details = reference_details(ref, with_section)
    if details:
        lines.append(f"<b>{escape(details)}</b>")
    return "\n".join(lines)


def pack(blocks: Sequence[str], limit: int = SAFE_LIMIT) -> list[str]:
    """Join blocks (each balanced HTML within the limit) into as few messages as fit."""
    return text.pack(blocks, limit, size=size)


def _cut_before(text: str, start: int, limit: int) -> int:
    """The last natural break (paragraph, line, sentence, clause, word) in the second half of
    text[start:limit], else `limit`."""
    for sep in _CUTS:
        at = text.rfind(sep, start + (limit - start) // 2, limit)
        if at != -1:
            return at + len(sep)
    return limit


def _render_range(text: str, spans: Sequence[tuple[int, int]], start: int, end: int) -> str:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    offset = start + lead
    return highlight(piece.strip(), [(s - offset, e - offset) for s, e in spans if e > start and s < end])


def _text_pieces(text: str, spans: Sequence[tuple[int, int]], budget: int) -> list[str]:
    """Highlighted HTML of `text` in as few pieces as fit the budget, cut at natural breaks."""
    pieces, start = [], 0
    while start < len(text):
        window = len(text) - start
        while True:
            end = len(text) if start + window >= len(text) else _cut_before(text, start, start + window)
            rendered = _render_range(text, spans, start, end)
            if size(rendered) <= budget or end - start <= 1:
                break
            window = max(1, (end - start) * 3 // 4)  # escaping and <b> tags made it too long: try less
        if rendered:
            pieces.append(rendered)
        start = end
    return pieces


def passage_blocks(text: str, spans: Sequence[tuple[int, int]], header: str = "", footer: str = "",
                   limit: int = SAFE_LIMIT) -> list[str]:
    """Header, highlighted text and footer as one block, or several when too long for one message."""
    head = f"{header}\n" if header else ""
    foot = f"\n{footer}" if footer else ""
    budget = max(200, limit - size(head) - size(foot))
    pieces = _text_pieces(text, spans, budget) or [""]
    pieces[0] = head + pieces[0]
    pieces[-1] = pieces[-1] + foot
    return [p for p in pieces if p]


def hit_blocks(hit: Hit, number: int | None = None, limit: int = SAFE_LIMIT) -> list[str]:
    footer = link(hit.reference.source_url, messages.LABEL_SOURCE)
    header = "\n".join([reference_html(hit.reference, number)] + [f"<i>{escape(line)}</i>"
                                                                  for line in text.link_lines(hit)])
    return passage_blocks(hit.text, hit.highlights, header, footer, limit)


def answer_messages(answer: Answer, notes: Sequence[str] = (), limit: int = SAFE_LIMIT) -> list[str]:
    """The messages for one Answer: how the question was understood, notes, the service's message,
    numbered passages, suggestions. An article lookup's unit is shown whole (unit_messages)."""
    if answer.unit is not None and answer.hits and not answer.offset:
        return unit_messages(answer, notes, limit)
    blocks = []
    if answer.understood:
        blocks.append(escape(messages.UNDERSTOOD.format(question=answer.understood)))
    blocks.extend(escape(n) for n in notes if n)
    if answer.offset and answer.hits:
        blocks.append(escape(messages.TG_MORE_HEADER.format(
            first=answer.offset + 1, last=answer.offset + len(answer.hits))))
    if answer.message:
        blocks.append(escape(answer.message))
    if answer.short is not None:
        blocks.append(escape(text.short_answer_line(answer)))
    for i, hit in enumerate(answer.hits):
        blocks.extend(hit_blocks(hit, answer.offset + i + 1, limit))
    if answer.suggestions:
        lines = [escape(messages.SUGGESTIONS.strip())] + [f"• {escape(s)}" for s in answer.suggestions]
        blocks.append("\n".join(lines))
    return pack(blocks, limit)


def unit_messages(answer: Answer, notes: Sequence[str] = (), limit: int = SAFE_LIMIT) -> list[str]:
    """An article lookup ("Điều 8 Điều lệ Đảng"): every passage of the unit in order, its reference (and
    cross-reference lines) once above the passages it covers, the source link at the end; as many
    messages as the unit needs."""
    blocks = [escape(messages.UNDERSTOOD.format(question=answer.understood))] if answer.understood else []
    blocks.extend(escape(n) for n in notes if n)
    if answer.message:
        blocks.append(escape(answer.message))
    shown = None
    for hit in answer.hits:
        header = ""
        if hit.reference != shown:
            shown = hit.reference
            header = "\n".join([reference_html(hit.reference)] + [f"<i>{escape(line)}</i>"
                                                                  for line in text.link_lines(hit)])
        blocks.extend(passage_blocks(hit.text, hit.highlights, header, limit=limit))
    source = link(answer.hits[0].reference.source_url, messages.LABEL_SOURCE)
    if source:
        blocks.append(source)
    return pack(blocks, limit)


def section_messages(hits: Sequence[Hit], limit: int = SAFE_LIMIT) -> list[str]:
    """A whole section ("Toàn văn"): the reference once, then every passage, source link at the end."""
    if not hits:
        return []
    first = hits[0].reference
    blocks = [reference_html(first)]
    for hit in hits:
        blocks.extend(passage_blocks(hit.text, hit.highlights, limit=limit))
    source = link(first.source_url, messages.LABEL_SOURCE)
    if source:
        blocks.append(source)
    return pack(blocks, limit)


def snippet(text: str, spans: Sequence[tuple[int, int]] = (), width: int = 160) -> str:
    """Plain text around the first highlighted word, at most `width` characters."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    start = 0
    if spans:
        first = min(s for s, _ in spans)
        # offsets refer to `text`; whitespace folding shifts them a little, which is fine for a preview
        start = max(0, min(first - width // 4, len(flat) - width))
        space = flat.rfind(" ", 0, start + 1)
        start = space + 1 if space > 0 else start
    cut = flat[start:start + width - 1]
    cut = cut[:cut.rfind(" ")] if " " in cut else cut
    return ("…" if start else "") + cut + "…"


def inline_message_html(hit: Hit, limit: int = SAFE_LIMIT) -> str:
    """The message an inline result posts: the reference, the passage and the source (one message)."""
    # a passage too long for one message keeps its reference and first part
    return hit_blocks(hit, None, limit)[0]


def share_card_html(hit: Hit, short: str = "") -> str:
    """"Chia sẻ" (an inline result chosen in another chat): the compact card that reads well forwarded -
    the short answer when there is one, the clause, the reference and the source - its labels in bold."""
    lines = share_hit(hit, short).split("\n")
    out = []
    for line in lines:
        label, sep, rest = line.partition(": ")
        if sep and (line.startswith(messages.QUIZ_SHORT_ANSWER.split(":")[0])
                    or line.startswith(messages.QUIZ_SOURCE.split(":")[0])):
            out.append(f"<b>{escape(label)}:</b> {escape(rest)}")
        elif line.startswith("— "):
            out.append(f"<b>{escape(line)}</b>")
        else:
            out.append(escape(line))
    return "\n".join(out)


def card_messages(card: DocumentCard, sections: dict[str, list[str]] | None = None,
                  limit: int = SAFE_LIMIT) -> list[str]:
    """/vanban: each document with this number (reference, source, sections), then mentions."""
    sections = sections or {}
    blocks = []
    for ref in card.documents:
        lines = [reference_html(ref, with_section=False)]
        source = link(ref.source_url, messages.LABEL_SOURCE)
        if source:
            lines.append(source)
        names = sections.get(ref.doc_id) or []
        if names:
            lines.append(escape(messages.TG_CARD_SECTIONS))
            lines.extend(f"• {escape(name)}" for name in names)
        blocks.append("\n".join(lines))
    if card.mentions:
        if not card.documents:
            blocks.append(escape(messages.DOCUMENT_NOT_INDEXED.format(number=card.doc_number)))
        else:
            blocks.append(escape(messages.TG_CARD_MENTIONS))
        for hit in card.mentions:
            blocks.append(f"{reference_html(hit.reference, with_section=False)}\n"
                          f"{escape(snippet(hit.text, hit.highlights))}")
    return pack(blocks, limit)


def _type_order(doc_type: str) -> int:
    names = list(messages.DOC_TYPE_NAMES)
    return names.index(doc_type) if doc_type in names else len(names)


def sort_documents(refs: Iterable[Reference]) -> list[Reference]:
    """By type (as listed in messages.DOC_TYPE_NAMES), newest first within a type."""
    by_date = sorted(refs, key=lambda r: (r.issued or "", r.doc_number, r.title), reverse=True)
    return sorted(by_date, key=lambda r: _type_order(r.doc_type))


def document_page(refs: Sequence[Reference], page: int,
                  per_page: int = DOCUMENTS_PER_PAGE) -> tuple[str, int, int]:
    """(/danhsach HTML for one page, the page shown, number of pages); refs already sorted."""
    if not refs:
        return escape(messages.TG_DOCUMENT_LIST_EMPTY), 0, 0
    pages = math.ceil(len(refs) / per_page)
    page = min(max(page, 0), pages - 1)
    lines = [f"<b>{escape(messages.TG_DOCUMENT_LIST.format(count=len(refs), page=page + 1, pages=pages))}</b>"]
    current = None
    for ref in refs[page * per_page:(page + 1) * per_page]:
        if ref.doc_type != current:
            current = ref.doc_type
            lines.append("")
            lines.append(f"<b>{escape(messages.DOC_TYPE_NAMES.get(current, messages.TG_DOC_TYPE_OTHER))}</b>")
        number = f"<b>{escape(ref.doc_number)}</b> " if ref.doc_number else ""
        date = f"({escape(format_date(ref.issued))}) " if ref.issued else ""
        title = ref.title or ref.doc_id
        title = title if len(title) <= 180 else title[:179] + "…"  # a page of 15 stays one message
        lines.append(f"• {number}{date}{escape(title)}")
    return "\n".join(lines), page, pages


def report_messages(report: IndexReport, limit: int = SAFE_LIMIT) -> list[str]:
    """/reindex and upload summary: added / changed / removed, failed with reasons, warnings."""
    if report.unchanged_collection:  # no new version was made
        head = messages.INDEX_UNCHANGED.format(version=report.version, documents=report.documents,
                                               passages=report.passages)
    else:
        head = messages.TG_REPORT_DONE.format(version=report.version, documents=report.documents,
                                              passages=report.passages, seconds=report.seconds)
    lines = [escape(head)]
    if report.rebuilt_reason:
        lines.append(escape(messages.TG_REPORT_REBUILT.format(reason=report.rebuilt_reason)))
    for label, ids in ((messages.TG_REPORT_ADDED, report.added), (messages.TG_REPORT_CHANGED, report.changed),
                       (messages.TG_REPORT_REMOVED, report.removed)):
        if ids:
            lines.append(f"<b>{escape(label.format(count=len(ids)))}</b>")
            lines.extend(f"• {escape(i)}" for i in ids)
    for label, items in ((messages.TG_REPORT_FAILED, report.failed), (messages.TG_REPORT_WARNINGS, report.warnings)):
        if items:
            lines.append(f"<b>{escape(label.format(count=len(items)))}</b>")
            lines.extend(f"• {escape(f.path)}: {escape(f.reason)}" for f in items[:REPORT_ITEMS])
            if len(items) > REPORT_ITEMS:
                lines.append(escape(messages.TG_REPORT_MORE.format(count=len(items) - REPORT_ITEMS)))
    lines.append(escape(messages.TG_REPORT_UNCHANGED.format(count=len(report.unchanged))))
    return pack(_line_blocks(lines, limit), limit)


def _line_blocks(lines: Sequence[str], limit: int) -> list[str]:
    """Group whole lines into blocks within the limit (each line is balanced on its own)."""
    blocks: list[str] = []
    for line in lines:
        line = line if size(line) <= limit else line[: limit // 2]  # only a pathological reason is cut
        if blocks and size(blocks[-1]) + 1 + size(line) <= limit:
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    return blocks


def _human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""  # pragma: no cover


def stats_html(stats: QueryStats, info: IndexInfo | None) -> str:
    """/thongke: questions, share not found, top unanswered, feedback, index version and size."""
    lines = [f"<b>{escape(messages.TG_STATS_TITLE)}</b>",
             escape(messages.TG_STATS_QUESTIONS.format(questions=stats.questions)),
             escape(messages.TG_STATS_NOT_FOUND.format(not_found=stats.not_found, share=stats.not_found_share))]
    if stats.by_channel:
        channels = ", ".join(f"{k}: {v}" for k, v in sorted(stats.by_channel.items()))
        lines.append(escape(messages.TG_STATS_CHANNELS.format(channels=channels)))
    if stats.top_unanswered:
        lines.append(escape(messages.TG_STATS_UNANSWERED))
        lines.extend(f"• {escape(q[:200])} ({n})" for q, n in stats.top_unanswered)
    lines.append(escape(messages.TG_STATS_FEEDBACK.format(up=stats.feedback_up, down=stats.feedback_down)))
    if info is None:
        lines.append(escape(messages.TG_STATS_NO_INDEX))
    else:
        lines.append(escape(messages.TG_STATS_INDEX.format(
            version=info.version, built_at=info.built_at, documents=info.documents, passages=info.passages,
            size=_human_size(info.size_bytes), model=info.model, dim=info.dim)))
    return "\n".join(lines)
