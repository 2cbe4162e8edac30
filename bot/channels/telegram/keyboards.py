"""Inline buttons of an article lookup (previous / next unit, the whole article) and of an answer that news
passages lead ("Chỉ văn bản chính thức"). Payloads are kept server-side (ButtonPayloads), so a button still
works after a restart; callback data is "unit:<key>" / "official:<key>".
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import messages
from bot.channels.telegram.state import Deps
from bot.models import Answer, UnitNav
from bot.channels import followups
from bot.channels.followups import OFFICIAL_ONLY, news_first

__all__ = ["OFFICIAL_ONLY", "news_first", "official_offered", "official_row", "unit_keyboard", "unit_rows"]


def unit_rows(deps: Deps, unit: UnitNav) -> list[list[InlineKeyboardButton]]:
    """"◀ Điều 7", "Điều 9 ▶" on one row, "Toàn điều" under them (when the unit is part of an article)."""
    def button(label: str, path: str) -> InlineKeyboardButton:
        key = deps.buttons.put({"doc": unit.doc_id, "path": path})
        return InlineKeyboardButton(label[:60], callback_data=f"unit:{key}")

    rows = []
    steps = [button(messages.TG_BUTTON_UNIT_PREV.format(label=unit.prev_label), unit.prev)] if unit.prev else []
    if unit.next:
        steps.append(button(messages.TG_BUTTON_UNIT_NEXT.format(label=unit.next_label), unit.next))
    if steps:
        rows.append(steps)
    if unit.article and unit.article != unit.path:
        whole = messages.TG_BUTTON_UNIT_ARTICLE if unit.article.split("/")[-1].startswith("dieu:") \
            else messages.TG_BUTTON_UNIT_SECTION
        rows.append([button(whole, unit.article)])
    return rows


def unit_keyboard(deps: Deps, answer: Answer, question_id: int | None) -> InlineKeyboardMarkup:
    """An article lookup's keyboard: the navigation rows, then 👍 / 👎 (the unit is already whole: no
    "Toàn văn" per passage)."""
    rows = unit_rows(deps, answer.unit)
    key = deps.buttons.put({"qid": question_id, "pid": answer.hits[0].passage_id})
    rows.append([InlineKeyboardButton(messages.TG_BUTTON_UP, callback_data=f"up:{key}"),
                 InlineKeyboardButton(messages.TG_BUTTON_DOWN, callback_data=f"down:{key}")])
    return InlineKeyboardMarkup(rows)


def official_offered(deps: Deps, answer: Answer) -> bool:
    """(Blocking: call in a worker thread.) Whether to offer "Chỉ văn bản chính thức"."""
    return followups.official_offered(deps.service, answer)


def official_row(deps: Deps, answer: Answer, question_id: int | None) -> list[InlineKeyboardButton]:
    key = deps.buttons.put({"q": answer.question, "qid": question_id})
    return [InlineKeyboardButton(messages.TG_BUTTON_OFFICIAL, callback_data=f"official:{key}")]


def one_button(label: str, callback_data: str) -> InlineKeyboardMarkup:
    """A keyboard of one button ("Xem tiếp" under a long section)."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=callback_data)]])
