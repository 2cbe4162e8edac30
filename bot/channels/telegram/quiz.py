"""Telegram study quizzes: /ontap posts native quiz polls drawn from the official texts; each poll carries
"Xem điều khoản" (the whole clause) and "Chia sẻ" (a compact card to forward) buttons.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import random
import socket

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputPollOption, Poll, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, PollAnswerHandler

from bot import messages
from bot.channels.quiztext import share_item
from bot.channels.telegram import render
from bot.channels.telegram.state import CHANNEL, deps
from bot.service.quiz import QuizService, explanation, parse_count
from bot.service.quizscores import QuizScores, StoredQuizScores
from bot.service.quizschedule import EVERY_DAY, QuizSchedules, Schedule, ScheduleError, parse_schedule
from bot.service.quizrules import QuizItem

log = logging.getLogger(__name__)

_QUIZ_KEY = "quiz"
_SCHEDULES_KEY = "quiz_schedules"
_SCORES_KEY = "quiz_scores"  # the polls posted and who answered them right, for /ketqua
_REMOVE = ("xoá", "xóa", "xoa", "huỷ", "hủy", "huy")
SYNC_SECONDS = 60.0
_HOLDER = f"{socket.gethostname()}:{os.getpid()}"  # this worker, for claiming a run of a series


def register(application: Application) -> None:
    """/ontap, /lichontap and the quiz buttons (before any catch-all button handler); the saved schedules
    are put back on the job queue as soon as the application runs."""
    application.add_handler(CommandHandler("ontap", ontap))
    application.add_handler(CommandHandler("lichontap", lichontap))
    application.add_handler(CommandHandler("ketqua", ketqua))
    application.add_handler(PollAnswerHandler(poll_answer))
    if application.job_queue is not None:
        application.job_queue.run_once(restore_schedules, when=0, name="quiz-restore")
    else:
        log.warning("telegram: no job queue (install python-telegram-bot[job-queue]): quiz schedules are off")
    application.add_handler(CallbackQueryHandler(clause_button, pattern=r"^qclause:[0-9a-f]{6,32}$"))
    application.add_handler(CallbackQueryHandler(share_button, pattern=r"^qshare:[0-9a-f]{6,32}$"))


def quiz_service(context: ContextTypes.DEFAULT_TYPE) -> QuizService:
    data = context.application.bot_data
    if _QUIZ_KEY not in data:
        data[_QUIZ_KEY] = QuizService(deps(context).service)
    return data[_QUIZ_KEY]


def scores(application: Application) -> QuizScores:
    """The polls posted and their answers: in the shared state store (every worker counts and shows the
    same), in this process's memory only when the application has no store."""
    data = application.bot_data
    if _SCORES_KEY not in data:
        store = getattr(getattr(data.get("deps"), "querylog", None), "store", None)
        data[_SCORES_KEY] = QuizScores() if store is None else StoredQuizScores(store, CHANNEL)
    return data[_SCORES_KEY]


def keyboard(item: QuizItem) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(messages.TG_QUIZ_BUTTON_CLAUSE, callback_data=f"qclause:{item.item_id}"),
        InlineKeyboardButton(messages.TG_BUTTON_SHARE, callback_data=f"qshare:{item.item_id}")]])


async def post_items(bot, chat_id: int, items: list[QuizItem], polls: QuizScores | None = None) -> None:
    """One native quiz poll per item, in order; their ids are noted (in `polls`) to count answers."""
    for item in items:
        # plain text everywhere: the application's default HTML parse mode must not apply to clause text
        options = [InputPollOption(o, text_parse_mode=None) for o in item.options]
        sent = await bot.send_poll(chat_id, item.question, options, type=Poll.QUIZ,
                                   correct_option_ids=[item.correct], explanation=explanation(item),
                                   explanation_parse_mode=None, question_parse_mode=None, is_anonymous=False,
                                   reply_markup=keyboard(item))
        if polls is not None and sent.poll is not None:
            await asyncio.to_thread(polls.note_poll, sent.poll.id, chat_id, item.correct)


async def ontap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ontap [N] [chủ đề hoặc văn bản]: a quiz poll (or N) on the topic, from the official texts."""
    count, topic = parse_count(" ".join(context.args or []))
    quiz = quiz_service(context)
    # the first draw of an index version builds its pool: off the event loop
    items = await asyncio.to_thread(quiz.draw, topic, count=count, seed=random.SystemRandom().randrange(2 ** 32))
    if not items:
        text = messages.QUIZ_NO_TOPIC.format(topic=topic) if topic and quiz.pool().items else messages.QUIZ_NO_ITEMS
        await update.effective_message.reply_html(render.escape(text))
        return
    await post_items(context.bot, update.effective_chat.id, items, scores(context.application))


async def poll_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A member answered one of our quiz polls: count it for /ketqua (Telegram itself shows right/wrong)."""
    answer = update.poll_answer
    if answer.user is None or not answer.option_ids:
        return  # an anonymous answer, or a vote taken back: nothing to count
    await asyncio.to_thread(scores(context.application).count, answer.poll_id, answer.user.id,
                            answer.user.full_name, answer.option_ids[0])


async def ketqua(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ketqua: who answered the chat's quiz polls and how many right, best first."""
    board = await asyncio.to_thread(scores(context.application).board, update.effective_chat.id)
    if not board:
        await update.effective_message.reply_html(render.escape(messages.QUIZ_NO_SCORES))
        return
    lines = [messages.QUIZ_SCORE_LINE.format(name=s.name, right=s.right, answered=s.answered) for s in board[:30]]
    await update.effective_message.reply_html(render.escape(messages.QUIZ_SCORES.format(lines="\n".join(lines))))


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


# ---------------------------------------------------------------- schedules (/lichontap)

def schedules(application: Application) -> QuizSchedules:
    data = application.bot_data
    if _SCHEDULES_KEY not in data:
        data[_SCHEDULES_KEY] = QuizSchedules(data["deps"].querylog.store)
    return data[_SCHEDULES_KEY]


def _job_name(schedule_id: int) -> str:
    return f"quiz-schedule-{schedule_id}"


def add_job(application: Application, schedule: Schedule) -> None:
    """Run the series at its time; PTB counts days from Sunday (0), the schedule from Monday (0)."""
    days = tuple(range(7)) if schedule.weekday == EVERY_DAY else ((schedule.weekday + 1) % 7,)
    application.job_queue.run_daily(scheduled_series, time=schedule.time, days=days,
                                    name=_job_name(schedule.schedule_id), data=schedule,
                                    chat_id=int(schedule.chat_id))


async def restore_schedules(context: ContextTypes.DEFAULT_TYPE) -> None:
    saved = await asyncio.to_thread(schedules(context.application).all, CHANNEL)
    for schedule in saved:
        add_job(context.application, schedule)
    log.info("telegram: %d quiz schedule(s) restored", len(saved))
    context.application.job_queue.run_repeating(sync_schedules, interval=SYNC_SECONDS, first=SYNC_SECONDS,
                                                name="quiz-sync")


async def sync_schedules(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Other workers add and remove schedules in the shared store: follow them (once a minute)."""
    saved = {s.schedule_id: s for s in await asyncio.to_thread(schedules(context.application).all, CHANNEL)}
    queue = context.application.job_queue
    running = {job.name: job for job in queue.jobs() if job.name and job.name.startswith("quiz-schedule-")}
    for schedule_id, schedule in saved.items():
        if _job_name(schedule_id) not in running:
            add_job(context.application, schedule)
    for name, job in running.items():
        if int(name.rsplit("-", 1)[1]) not in saved:
            job.schedule_removal()


async def scheduled_series(context: ContextTypes.DEFAULT_TYPE) -> None:
    schedule: Schedule = context.job.data
    slot = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M")
    if not await asyncio.to_thread(schedules(context.application).claim_run, schedule, slot, _HOLDER):
        log.info("telegram: quiz schedule %s at %s: posted by another worker, or removed", schedule.schedule_id, slot)
        return
    items = await asyncio.to_thread(quiz_service(context).draw, schedule.topic, count=schedule.count,
                                    seed=random.SystemRandom().randrange(2 ** 32))
    if not items:
        log.warning("telegram: quiz schedule %s drew no item (topic %r)", schedule.schedule_id, schedule.topic)
        return
    await post_items(context.bot, int(schedule.chat_id), items, scores(context.application))


async def lichontap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/lichontap thứ 5 19:30 5 câu Quy định 294 (trainers); /lichontap lists; /lichontap xoá N removes."""
    d = deps(context)
    user = update.effective_user
    chat_id = update.effective_chat.id
    reply = update.effective_message.reply_html
    if user is None or not (user.id in d.config.telegram.trainer_ids or d.is_admin(user.id)):
        await reply(render.escape(messages.QUIZ_TRAINERS_ONLY))
        return
    if context.application.job_queue is None:
        await reply(render.escape(messages.QUIZ_SCHEDULING_OFF))
        return
    store = schedules(context.application)
    words = list(context.args or [])
    if not words:
        lines = "\n".join(s.describe() for s in store.all(CHANNEL, chat_id))
        await reply(render.escape(messages.QUIZ_SCHEDULES.format(lines=lines) if lines else
                                  messages.QUIZ_NO_SCHEDULES))
        return
    if words[0].lower() in _REMOVE and len(words) == 2 and words[1].lstrip("#").isdigit():
        schedule_id = int(words[1].lstrip("#"))
        removed = store.remove(CHANNEL, chat_id, schedule_id)
        for job in context.application.job_queue.get_jobs_by_name(_job_name(schedule_id)):
            job.schedule_removal()
        text = messages.QUIZ_SCHEDULE_REMOVED if removed else messages.QUIZ_SCHEDULE_UNKNOWN
        await reply(render.escape(text.format(id=schedule_id)))
        return
    try:
        weekday, minute, count, topic = parse_schedule(" ".join(words))
    except ScheduleError as exc:
        await reply(render.escape(str(exc)))
        return
    schedule = store.add(channel=CHANNEL, chat_id=chat_id, weekday=weekday, minute=minute, count=count,
                         topic=topic, created_by=user.id)
    add_job(context.application, schedule)
    await reply(render.escape(messages.QUIZ_SCHEDULED.format(line=schedule.describe())))
