"""Telegram buttons that open another answer: "◀ Điều 7" / "Điều 9 ▶" / "Toàn điều" after an article lookup
(AnswerService.unit), and "Chỉ văn bản chính thức" (the same question over official texts only)."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot import messages
from bot.channels.telegram import handlers as h, keyboards, render
from bot.channels.telegram.state import deps as _deps
from bot.models import Answer

log = logging.getLogger(__name__)


def register(application: Application) -> None:
    """The navigation buttons (before any catch-all button handler)."""
    application.add_handler(CallbackQueryHandler(unit_button, pattern=r"^unit:"))
    application.add_handler(CallbackQueryHandler(official_button, pattern=r"^official:"))


async def _send_answer(update: Update, context: ContextTypes.DEFAULT_TYPE, answer: Answer, markup) -> None:
    texts = render.answer_messages(answer)
    for i, part in enumerate(texts):
        await context.bot.send_message(update.effective_chat.id, part,
                                       reply_markup=markup if i == len(texts) - 1 else None)


async def unit_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"◀ Điều 7", "Điều 9 ▶", "Toàn điều": that unit, whole, with its own navigation buttons."""
    deps, query = _deps(context), update.callback_query
    payload = await h._button_payload(deps, query)
    if payload is None:
        return
    await query.answer()
    answer: Answer = await asyncio.to_thread(deps.service.unit, payload["doc"], payload["path"])
    deps.followups.remember(str(update.effective_chat.id), answer)
    if not answer.found or not answer.hits:  # the index changed since the button was made
        await context.bot.send_message(update.effective_chat.id, render.escape(answer.message or
                                                                               messages.TG_PASSAGE_GONE))
        return
    await _send_answer(update, context, answer, keyboards.unit_keyboard(deps, answer, None))


async def official_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"Chỉ văn bản chính thức": the question again, news articles left out."""
    deps, query = _deps(context), update.callback_query
    payload = await h._button_payload(deps, query)
    if payload is None:
        return
    await query.answer()
    answer: Answer = await asyncio.to_thread(deps.service.answer, payload["q"], doc_filter=keyboards.OFFICIAL_ONLY)
    deps.followups.remember(str(update.effective_chat.id), answer, official_only=True)
    markup = None
    if answer.found and answer.hits:
        markup = h._answer_keyboard(deps, answer, payload.get("qid"), bool(context.bot.supports_inline_queries),
                                    official_only=True)
    await _send_answer(update, context, answer, markup)
