"""Telegram study quizzes: /ontap posts native quiz polls drawn from the official texts; each poll carries
"Xem điều khoản" (the whole clause) and "Chia sẻ" (a compact card to forward) buttons.
"""

from __future__ import annotations

import logging
import random

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputPollOption, Poll, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot import messages
from bot.channels.quiztext import share_item
from bot.channels.telegram import render
from bot.channels.telegram.state import deps
from bot.service.quiz import QuizService, explanation, parse_count
from bot.service.quizrules import QuizItem

log = logging.getLogger(__name__)

_QUIZ_KEY = "quiz"


def register(application: Application) -> None:
    """/ontap and the quiz buttons (register before any catch-all button handler)."""
    application.add_handler(CommandHandler("ontap", ontap))
    application.add_handler(CallbackQueryHandler(clause_button, pattern=r"^qclause:[0-9a-f]{6,32}$"))
    application.add_handler(CallbackQueryHandler(share_button, pattern=r"^qshare:[0-9a-f]{6,32}$"))


def quiz_service(context: ContextTypes.DEFAULT_TYPE) -> QuizService:
    data = context.application.bot_data
    if _QUIZ_KEY not in data:
        data[_QUIZ_KEY] = QuizService(deps(context).service)
    return data[_QUIZ_KEY]


def keyboard(item: QuizItem) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(messages.TG_QUIZ_BUTTON_CLAUSE, callback_data=f"qclause:{item.item_id}"),
        InlineKeyboardButton(messages.TG_BUTTON_SHARE, callback_data=f"qshare:{item.item_id}")]])


async def post_items(bot, chat_id: int, items: list[QuizItem]) -> None:
    """One native quiz poll per item, in order."""
    for item in items:
        # plain text everywhere: the application's default HTML parse mode must not apply to clause text
        options = [InputPollOption(o, text_parse_mode=None) for o in item.options]
        await bot.send_poll(chat_id, item.question, options, type=Poll.QUIZ, correct_option_ids=[item.correct],
                            explanation=explanation(item), explanation_parse_mode=None, question_parse_mode=None,
                            is_anonymous=False, reply_markup=keyboard(item))


async def ontap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ontap [N] [chủ đề hoặc văn bản]: a quiz poll (or N) on the topic, from the official texts."""
    count, topic = parse_count(" ".join(context.args or []))
    quiz = quiz_service(context)
    items = quiz.draw(topic, count=count, seed=random.SystemRandom().randrange(2 ** 32))
    if not items:
        text = messages.QUIZ_NO_TOPIC.format(topic=topic) if topic and quiz.pool().items else messages.QUIZ_NO_ITEMS
        await update.effective_message.reply_html(render.escape(text))
        return
    await post_items(context.bot, update.effective_chat.id, items)


async def clause_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"Xem điều khoản": the whole clause the question comes from, with its reference and source."""
    query = update.callback_query
    quiz = quiz_service(context)
    item = quiz.item(query.data.split(":", 1)[1])
    await query.answer()
    if item is None:
        await query.message.reply_html(render.escape(messages.TG_QUIZ_GONE))
        return
    text = messages.QUIZ_CLAUSE.format(reference=item.reference, clause=quiz.clause_text(item))
    if item.source_url:
        text += "\n" + messages.QUIZ_SOURCE.format(url=item.source_url)
    await query.message.reply_html(render.escape(text[:4000]))


async def share_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"Chia sẻ": one compact message (answer, clause, reference, source) that reads well forwarded."""
    query = update.callback_query
    item = quiz_service(context).item(query.data.split(":", 1)[1])
    await query.answer()
    text = share_item(item) if item is not None else messages.TG_QUIZ_GONE
    await query.message.reply_html(render.escape(text))
