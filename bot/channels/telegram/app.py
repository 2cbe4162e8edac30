"""Telegram channel: python-telegram-bot handlers that read an update, call AnswerService and reply in HTML.

`serve(config)` runs the bot (long polling, or a webhook when telegram.webhook.url is set);
`build_application(...)` wires every handler and, with `webhook_options(...)`, is what the tests drive.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dtm
import hashlib
import logging
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
import unicodedata
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot import messages
from bot.channels.telegram import render
from bot.config import Config
# only the list of accepted extensions: reading and checking documents goes through the service
from bot.documents.loading import SUPPORTED_EXTENSIONS
from bot.models import Answer, Document, Failure, IndexReport
from bot.service.querylog import QueryLog

log = logging.getLogger(__name__)

CHANNEL = "telegram"
TYPING_AFTER_SECONDS = 0.3
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
WEBHOOK_SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"
INLINE_RESULTS = 10
BUTTON_TTL_SECONDS = 2 * 24 * 3600
PROGRESS_EVERY_SECONDS = 1.5
# formats whose bytes must be UTF-8 text (the others are read by bot/formats.py)
TEXT_EXTENSIONS = (".md", ".markdown", ".txt", ".jsonl")
MAX_READ_MESSAGES = 8
# Telegram accepts 1-256 characters of A-Z a-z 0-9 _ -; fewer than 16 is too easy to guess
WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
MIN_WEBHOOK_SECRET_CHARS = 16


class StartupError(Exception):
    """The channel cannot start with this configuration; the message is one line for the operator."""


# ---------------------------------------------------------------- state shared by the handlers

class ButtonStore:
    """Server-side payloads for inline buttons: callback data carries only "action:key" (< 64 bytes).

    Keys expire after `ttl` seconds and the oldest are dropped beyond `max_entries`; an expired button
    gets a polite "ask again".
    """

    def __init__(self, ttl: float = BUTTON_TTL_SECONDS, max_entries: int = 50_000):
        self.ttl = ttl
        self.max_entries = max_entries
        self._items: collections.OrderedDict[str, tuple[float, dict]] = collections.OrderedDict()

    def put(self, payload: dict) -> str:
        self._expire()
        key = secrets.token_urlsafe(6)  # 8 characters
        self._items[key] = (time.monotonic() + self.ttl, payload)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)
        return key

    def get(self, key: str) -> dict | None:
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def _expire(self) -> None:
        now = time.monotonic()
        while self._items:
            key, (expires, _) = next(iter(self._items.items()))
            if expires >= now:
                break
            del self._items[key]


class QuestionLimiter:
    """At most `per_minute` questions per user in any 60 seconds."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._seen: dict[int, collections.deque[float]] = collections.defaultdict(collections.deque)

    def wait_seconds(self, user_id: int) -> int:
        """0 when the user may ask now (and counts the question), else the seconds to wait."""
        now = time.monotonic()
        seen = self._seen[user_id]
        while seen and seen[0] <= now - 60:
            seen.popleft()
        if len(seen) >= self.per_minute:
            return max(1, int(seen[0] + 60 - now) + 1)
        seen.append(now)
        return 0


class RetryingRateLimiter(BaseRateLimiter[None]):
    """Flood control without extra dependencies: waits out `RetryAfter` and retries network errors.

    Requests are not throttled up front (PTB's "react only if necessary" approach); at most
    `max_concurrent` requests are in flight, so a burst of answers queues instead of tripping limits.
    """

    def __init__(self, max_retries: int = 3, max_concurrent: int = 8, backoff: float = 1.0):
        self.max_retries = max_retries
        self.backoff = backoff
        self._slots = asyncio.Semaphore(max_concurrent)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: None) -> Any:
        attempt = 0
        while True:
            try:
                async with self._slots:
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= self.max_retries:
                    raise
                delay = _retry_after_seconds(exc)
                log.warning("telegram: %s hit flood control, retrying in %.0f s", endpoint, delay)
                await asyncio.sleep(delay)
            except BadRequest:
                raise  # the request itself is wrong: sending it again cannot help
            except NetworkError as exc:
                if attempt >= self.max_retries:
                    raise
                delay = self.backoff * 2 ** attempt
                log.warning("telegram: %s failed (%s), retrying in %.0f s", endpoint, exc, delay)
                await asyncio.sleep(delay)
            attempt += 1


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


@dataclass
class Deps:
    """What the handlers need, kept in application.bot_data["deps"]."""

    config: Config
    service: Any  # bot.service.answering.AnswerService
    querylog: QueryLog
    buttons: ButtonStore = field(default_factory=ButtonStore)
    limiter: QuestionLimiter = field(init=False)
    # one index build or upload at a time; a second one is told to wait
    reindex_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.limiter = QuestionLimiter(self.config.telegram.questions_per_minute)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.config.telegram.admin_ids


def _deps(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    return context.application.bot_data["deps"]


# ---------------------------------------------------------------- small helpers

async def _send(message: Message, texts: list[str], markup: InlineKeyboardMarkup | None = None,
                quote: bool = False) -> None:
    """Send HTML messages in order; the keyboard goes on the last one, the quote on the first."""
    for i, text in enumerate(texts):
        last = i == len(texts) - 1
        await message.reply_html(text, reply_markup=markup if last else None, do_quote=quote and i == 0)


def _is_group(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type != "private"


def _question_limit(deps: Deps) -> int:
    return deps.config.retrieval.max_question_chars


def _answer_keyboard(deps: Deps, answer: Answer, question_id: int, bot_can_inline: bool) -> InlineKeyboardMarkup:
    """Toàn văn per passage; Xem thêm and Chia sẻ; 👍 / 👎. Callback data is "action:key" (13 bytes)."""
    rows = []
    single = len(answer.hits) == 1
    rows.append([InlineKeyboardButton(
        messages.TG_BUTTON_FULL if single else messages.TG_BUTTON_FULL_N.format(n=answer.offset + i + 1),
        callback_data=f"full:{deps.buttons.put({'pid': hit.passage_id})}") for i, hit in enumerate(answer.hits)])
    second = []
    if answer.has_more:
        key = deps.buttons.put({"q": answer.question, "offset": answer.offset + len(answer.hits),
                                "qid": question_id})
        second.append(InlineKeyboardButton(messages.TG_BUTTON_MORE, callback_data=f"more:{key}"))
    if bot_can_inline:
        second.append(InlineKeyboardButton(messages.TG_BUTTON_SHARE, switch_inline_query=answer.question[:256]))
    if second:
        rows.append(second)
    key = deps.buttons.put({"qid": question_id, "pid": answer.hits[0].passage_id, "voters": set()})
    rows.append([InlineKeyboardButton(messages.TG_BUTTON_UP, callback_data=f"up:{key}"),
                 InlineKeyboardButton(messages.TG_BUTTON_DOWN, callback_data=f"down:{key}")])
    return InlineKeyboardMarkup(rows)


def _strip_mentions(message: Message, username: str, bot_id: int) -> tuple[str, bool]:
    """The message text without mentions of this bot, and whether the bot was mentioned."""
    text = message.text or ""
    mentioned = False
    entities = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    for entity, value in entities.items():
        if (entity.type == MessageEntity.MENTION and value.lower() == f"@{username}".lower()) or (
                entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id):
            mentioned = True
            text = text.replace(value, " ", 1)
    return " ".join(text.split()), mentioned


def _safe_filename(name: str) -> str:
    """A file name the indexer reads, without folders: "Chỉ thị 05.DOCX" -> "Chi-thi-05.docx".

    ASCII only; no leading '.' or '_' (the indexer skips those) and no README prefix (skipped too);
    the extension is kept, in lower case. "" when nothing usable is left.
    """
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = base.replace("đ", "d").replace("Đ", "D")
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = ext, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:100].rstrip("-._")
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext).lower()
    if not ext:
        return ""
    if not stem or stem.upper().startswith("README"):
        stem = f"van-ban-{stem}" if stem else "van-ban"
    return f"{stem}.{ext}"


def _accepted_extensions() -> str:
    return ", ".join(SUPPORTED_EXTENSIONS)


# ---------------------------------------------------------------- questions

async def _answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    deps = _deps(context)
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    quote = _is_group(update)
    if not deps.is_admin(user.id):
        wait = deps.limiter.wait_seconds(user.id)
        if wait:
            await message.reply_html(render.escape(messages.TG_RATE_LIMITED.format(seconds=wait)), do_quote=quote)
            return
    notes = []
    limit = _question_limit(deps)
    if len(question) > limit:
        question = question[:limit]
        notes.append(messages.TG_QUESTION_CUT.format(limit=limit))
    # one trip to a worker thread: answer, log and render there, the event loop only sends
    answering = asyncio.get_running_loop().run_in_executor(
        None, _answer_logged, deps, question, notes, user.id, chat.id, chat.type)
    done, _pending = await asyncio.wait({answering}, timeout=TYPING_AFTER_SECONDS)
    if not done:  # "typing…" only when the user would otherwise wait: one request less per question
        try:
            await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
        except TelegramError as exc:  # only a courtesy: the answer matters
            log.info("telegram: chat action failed: %s", exc)
    answer, question_id, texts = await answering
    markup = None
    if answer.found and answer.hits:
        markup = _answer_keyboard(deps, answer, question_id, bool(context.bot.supports_inline_queries))
    await _send(message, texts, markup, quote)


def _answer_logged(deps: Deps, question: str, notes: list[str], user_id: int, chat_id: int,
                   chat_type: str) -> tuple[Answer, int, list[str]]:
    """In a worker thread: the answer, its query-log id and its HTML messages."""
    answer: Answer = deps.service.answer(question)
    question_id = deps.querylog.record(
        channel=CHANNEL, user_id=user_id, chat_id=chat_id, chat_type=chat_type, question=question,
        found=answer.found, doc_ids=[h.doc_id for h in answer.hits], index_version=answer.index_version)
    return answer, question_id, render.answer_messages(answer, notes)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a private chat every text message is a question."""
    await _answer_question(update, context, update.effective_message.text)


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups: only mentions of the bot and replies to its own messages are questions."""
    message = update.effective_message
    question, mentioned = _strip_mentions(message, context.bot.username, context.bot.id)
    replied = message.reply_to_message
    if not mentioned and not (replied and replied.from_user and replied.from_user.id == context.bot.id):
        return
    if not question:
        await message.reply_html(render.escape(messages.TG_HOI_USAGE), do_quote=True)
        return
    await _answer_question(update, context, question)


async def hoi(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/hoi <câu hỏi> (the way to ask in a group with privacy mode on)."""
    question = " ".join(context.args)
    if not question:
        await update.effective_message.reply_html(render.escape(messages.TG_HOI_USAGE), do_quote=_is_group(update))
        return
    await _answer_question(update, context, question)


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice and the like in a private chat."""
    await update.effective_message.reply_html(render.escape(messages.TG_NON_TEXT))


# ---------------------------------------------------------------- buttons

async def more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"Xem thêm": the next page of the same question."""
    deps, query = _deps(context), update.callback_query
    payload = await _button_payload(deps, query)
    if payload is None:
        return
    await query.answer()
    answer: Answer = await asyncio.to_thread(deps.service.answer, payload["q"], offset=payload["offset"])
    markup = None
    if answer.hits:
        markup = _answer_keyboard(deps, answer, payload["qid"], bool(context.bot.supports_inline_queries))
    for i, text in enumerate(texts := render.answer_messages(answer)):
        await context.bot.send_message(update.effective_chat.id, text,
                                       reply_markup=markup if i == len(texts) - 1 else None)


async def _button_payload(deps, query) -> dict | None:
    """The server-side data behind a button, or None (and a notice) when it expired."""
    payload = deps.buttons.get(query.data.split(":", 1)[1])
    if payload is None:
        await query.answer(messages.TG_BUTTON_EXPIRED, show_alert=True)
    return payload


async def full_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"Toàn văn": the whole section the passage belongs to."""
    deps, query = _deps(context), update.callback_query
    payload = await _button_payload(deps, query)
    if payload is None:
        return
    await query.answer()
    hits = await asyncio.to_thread(deps.service.section, payload["pid"])
    if not hits:
        hit = await asyncio.to_thread(deps.service.passage, payload["pid"])
        hits = [hit] if hit else []
    texts = render.section_messages(hits) or [render.escape(messages.TG_PASSAGE_GONE)]
    for text in texts:
        await context.bot.send_message(update.effective_chat.id, text)


async def feedback_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍 / 👎: one vote per user and answer, stored in the query log."""
    deps, query = _deps(context), update.callback_query
    action = query.data.split(":", 1)[0]
    payload = await _button_payload(deps, query)
    if payload is None:
        return
    voter = deps.querylog.anonymous(update.effective_user.id)
    if voter not in payload["voters"]:
        payload["voters"].add(voter)
        deps.querylog.feedback(channel=CHANNEL, user_id=update.effective_user.id, useful=action == "up",
                               question_id=payload["qid"] or None, passage_id=payload["pid"])
    await query.answer(messages.TG_FEEDBACK_THANKS)


async def read_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"Đọc văn bản" on a /vanban card: the document's passages in order."""
    deps, query = _deps(context), update.callback_query
    payload = await _button_payload(deps, query)
    if payload is None:
        return
    await query.answer()
    hits = await asyncio.to_thread(deps.service.document_passages, payload["doc"])
    texts = render.section_messages(hits) or [render.escape(messages.TG_PASSAGE_GONE)]
    if len(texts) > MAX_READ_MESSAGES:  # a long document is not worth a flood of messages
        texts = texts[:MAX_READ_MESSAGES] + [render.escape(messages.TG_READ_TRUNCATED)]
    for text in texts:
        await context.bot.send_message(update.effective_chat.id, text)


async def list_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/danhsach paging: the page number travels in the callback data itself."""
    query = update.callback_query
    await query.answer()
    text, markup = await _document_list(context, int(query.data.split(":", 1)[1]))
    await query.edit_message_text(text, reply_markup=markup)


async def _document_list(context: ContextTypes.DEFAULT_TYPE, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    refs = render.sort_documents(await asyncio.to_thread(_deps(context).service.documents))
    text, page, pages = render.document_page(refs, page)
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton(messages.TG_BUTTON_PREV, callback_data=f"list:{page - 1}"))
    if page + 1 < pages:
        buttons.append(InlineKeyboardButton(messages.TG_BUTTON_NEXT, callback_data=f"list:{page + 1}"))
    return text, InlineKeyboardMarkup([buttons]) if buttons else None


# ---------------------------------------------------------------- commands for everyone

async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    info = await asyncio.to_thread(_deps(context).service.info)
    text = messages.TG_START.format(documents=info.documents, passages=info.passages)
    await update.effective_message.reply_html(render.escape(text))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = messages.TG_HELP.format(username=context.bot.username)
    if _deps(context).is_admin(update.effective_user.id):
        text += messages.TG_HELP_ADMIN.format(extensions=_accepted_extensions())
    await update.effective_message.reply_html(render.escape(text))


async def vanban(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/vanban <số hiệu>: the document card, with a button to read each indexed document."""
    deps, message = _deps(context), update.effective_message
    number = " ".join(context.args)
    if not number:
        await message.reply_html(render.escape(messages.TG_VANBAN_USAGE))
        return
    card = await asyncio.to_thread(deps.service.document_card, number)
    if card is None or not (card.documents or card.mentions):
        await message.reply_html(render.escape(messages.DOCUMENT_UNKNOWN.format(number=number)))
        return
    sections = {}
    for ref in card.documents:
        hits = await asyncio.to_thread(deps.service.document_passages, ref.doc_id)
        names = [hit.reference.section for hit in hits]
        sections[ref.doc_id] = [n for n in dict.fromkeys(names) if n]
    buttons = [[InlineKeyboardButton(f"{messages.TG_BUTTON_READ}: {ref.doc_number or ref.doc_id}"[:60],
                                     callback_data=f"read:{deps.buttons.put({'doc': ref.doc_id})}")]
               for ref in card.documents[:5]]
    await _send(message, render.card_messages(card, sections), InlineKeyboardMarkup(buttons) if buttons else None,
                _is_group(update))


async def danhsach(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text, markup = await _document_list(context, 0)
    await update.effective_message.reply_html(text, reply_markup=markup)


# ---------------------------------------------------------------- admin: reindex, statistics, upload

async def _refuse_unless_admin(update: Update, context: ContextTypes.DEFAULT_TYPE, what: str,
                               refusal: str = messages.TG_ADMIN_ONLY) -> bool:
    """True for an admin; anyone else gets a polite refusal and the attempt is logged."""
    user = update.effective_user
    if _deps(context).is_admin(user.id):
        return False
    log.warning("telegram: refused %s for non-admin user %s", what, user.id)
    await update.effective_message.reply_html(render.escape(refusal), do_quote=_is_group(update))
    return True


def _progress_stage(line: str) -> str:
    """The Vietnamese stage for one of the indexer's progress lines (those are English, for the logs)."""
    return messages.TG_PROGRESS_READING if line.startswith("Reading") else messages.TG_PROGRESS_INDEXING


async def _reindex_with_progress(message: Message, context: ContextTypes.DEFAULT_TYPE,
                                 intro: str) -> IndexReport | None:
    """Run the blocking reindex in a worker thread; one status message shows the stage, then the summary
    follows. The caller holds deps.reindex_lock."""
    deps = _deps(context)
    status = await message.reply_html(render.escape(intro))

    async def show(stage: str) -> None:
        try:
            await status.edit_text(render.escape(f"{intro}\n{stage}"))
        except TelegramError as exc:  # progress is a courtesy; the summary still comes
            log.info("telegram: progress update failed: %s", exc)

    lines: list[str] = []  # appended from the worker thread; list.append is atomic
    task = asyncio.ensure_future(asyncio.to_thread(deps.service.reindex, lines.append))
    shown = ""
    while True:
        done, _ = await asyncio.wait({task}, timeout=PROGRESS_EVERY_SECONDS)
        if done:
            break
        stage = _progress_stage(lines[-1]) if lines else ""
        if stage and stage != shown:
            shown = stage
            await show(stage)
    try:
        report = task.result()
    except Exception as exc:
        log.exception("telegram: reindex failed")
        await show(messages.TG_PROGRESS_FAILED)
        await message.reply_html(render.escape(messages.TG_REINDEX_FAILED.format(reason=exc)))
        return None
    await show(messages.TG_PROGRESS_DONE)
    for text in render.report_messages(report):
        await message.reply_html(text)
    return report


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (admins): build a new index version from knowledge/ and report what changed."""
    if await _refuse_unless_admin(update, context, "/reindex"):
        return
    deps, message = _deps(context), update.effective_message
    if deps.reindex_lock.locked():
        await message.reply_html(render.escape(messages.TG_REINDEX_BUSY))
        return
    async with deps.reindex_lock:
        await _reindex_with_progress(message, context, messages.TG_REINDEX_STARTED)


async def thongke(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/thongke (admins): the query log's statistics and the index being served."""
    if await _refuse_unless_admin(update, context, "/thongke"):
        return
    deps = _deps(context)
    stats = await asyncio.to_thread(deps.querylog.stats)
    try:
        info = await asyncio.to_thread(deps.service.info)
    except Exception:
        log.exception("telegram: index info unavailable")
        info = None
    await update.effective_message.reply_html(render.stats_html(stats, info))


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin sends a document (.docx, .pdf, .html, .md, .txt, .jsonl): checked, saved into knowledge/,
    indexed, and the summary returned. knowledge/ changes only when the file reads as a document."""
    if await _refuse_unless_admin(update, context, "document upload", messages.TG_UPLOAD_ADMIN_ONLY):
        return
    deps, message, document = _deps(context), update.effective_message, update.effective_message.document
    shown = document.file_name or ""
    name = _safe_filename(shown)
    if not name.endswith(SUPPORTED_EXTENSIONS):
        await message.reply_html(render.escape(messages.TG_UPLOAD_BAD_TYPE.format(
            name=shown, extensions=_accepted_extensions())))
        return
    limit_mb = min(deps.config.telegram.max_upload_mb, deps.config.knowledge.max_file_mb)
    if (document.file_size or 0) > limit_mb * 1024 * 1024:  # refused before downloading anything
        await message.reply_html(render.escape(messages.TG_UPLOAD_TOO_BIG.format(
            name=shown, size=document.file_size / 1048576, limit=limit_mb)))
        return
    if deps.reindex_lock.locked():
        await message.reply_html(render.escape(messages.TG_REINDEX_BUSY))
        return
    async with deps.reindex_lock:
        data = bytes(await (await document.get_file()).download_as_bytearray())
        if len(data) > limit_mb * 1024 * 1024:  # file_size is optional in the Bot API
            await message.reply_html(render.escape(messages.TG_UPLOAD_TOO_BIG.format(
                name=shown, size=len(data) / 1048576, limit=limit_mb)))
            return
        problem, replaced = await asyncio.to_thread(_install_upload, deps, name, shown, data, limit_mb)
        if problem:
            await message.reply_html(render.escape(problem))
            return
        log.info("telegram: admin %s uploaded %s (%d bytes%s)", update.effective_user.id, name, len(data),
                 ", replacing the file of that name" if replaced else "")
        intro = (messages.TG_UPLOAD_REPLACED if replaced else messages.TG_UPLOAD_SAVED).format(name=name)
        await _reindex_with_progress(message, context, intro)


def _install_upload(deps: Deps, name: str, shown: str, data: bytes, limit_mb: float) -> tuple[str, bool]:
    """Check the uploaded bytes and move them into knowledge/<name>.

    Returns ("", whether a file of that name was replaced), or (the Vietnamese reason, False) with
    knowledge/ unchanged. The file is checked in a hidden folder inside knowledge/ (the indexer skips
    names starting with '.'), under its final name so that ids taken from the file name come out the
    same, and then renamed into place: the index never sees half a file or an unchecked one.
    """
    if name.endswith(TEXT_EXTENSIONS):
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return messages.TG_UPLOAD_NOT_TEXT.format(name=shown), False
    folder = Path(deps.config.knowledge.dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    with tempfile.TemporaryDirectory(prefix=".upload-", dir=folder) as staging:
        staged = Path(staging) / name
        staged.write_bytes(data)
        for sidecar in (target.with_suffix(".yaml"), target.with_suffix(".yml")):
            if sidecar.is_file():  # metadata the admin keeps beside the document applies to the new one
                shutil.copy(sidecar, Path(staging) / sidecar.name)
        checked = deps.service.check_document(staged, max_file_mb=limit_mb)
        failures = [item for item in checked if isinstance(item, Failure)]
        if failures or not checked:
            reason = "; ".join(dict.fromkeys(f.reason for f in failures)) or "no document in the file"
            return messages.TG_UPLOAD_INVALID.format(name=shown, reason=reason), False
        clash = _ids_held_elsewhere(deps, target, [d for d in checked if isinstance(d, Document)])
        if clash:
            return messages.TG_UPLOAD_ID_TAKEN.format(name=shown, ids=", ".join(clash)), False
        replaced = target.exists()
        os.replace(staged, target)
    return "", replaced


def _ids_held_elsewhere(deps: Deps, target: Path, documents: list[Document]) -> list[str]:
    """Ids of the uploaded documents that another file in the index already uses.

    Replacing the file of the same name is an update, so the ids that file holds now are not a clash.
    """
    own: set[str] = set()
    if target.is_file():
        current = deps.service.check_document(target, max_file_mb=deps.config.knowledge.max_file_mb)
        own = {d.doc_id for d in current if isinstance(d, Document)}
    return sorted(d.doc_id for d in documents if d.doc_id not in own and deps.service.has_document(d.doc_id))


# ---------------------------------------------------------------- inline mode

async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@bot câu hỏi: up to 10 passages; choosing one posts it with its reference."""
    deps, query = _deps(context), update.inline_query
    question = " ".join(query.query.split())[:_question_limit(deps)]
    if not question:
        await query.answer([], cache_time=300)
        return
    answer: Answer = await asyncio.to_thread(deps.service.answer, question, top_k=INLINE_RESULTS)
    results = []
    for i, hit in enumerate(answer.hits[:INLINE_RESULTS]):
        ref = hit.reference
        title = " · ".join(p for p in (ref.doc_number, render.reference_title(ref)) if p)
        results.append(InlineQueryResultArticle(
            id=f"{i}-{hashlib.sha1(hit.passage_id.encode()).hexdigest()[:20]}",
            title=title[:200],
            description=render.snippet(hit.text, hit.highlights, 200),
            input_message_content=InputTextMessageContent(render.inline_message_html(hit),
                                                          parse_mode=ParseMode.HTML),
        ))
    await query.answer(results, cache_time=60)


# ---------------------------------------------------------------- errors and wiring

async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure and tell the user about a temporary problem; the bot keeps running."""
    log.error("telegram: error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    text = render.escape(messages.SERVICE_UNAVAILABLE)
    try:
        if update.callback_query:
            await update.callback_query.answer(messages.SERVICE_UNAVAILABLE, show_alert=True)
        elif update.effective_chat and update.effective_message:
            await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError as exc:
        log.warning("telegram: could not report the error to the user: %s", exc)


async def _register_commands(application: Application) -> None:
    """Everyone sees the public commands; each admin also sees /reindex and /thongke."""
    deps: Deps = application.bot_data["deps"]
    public = [BotCommand(name, text) for name, text in messages.TG_COMMANDS.items()]
    await application.bot.set_my_commands(public)
    admin = public + [BotCommand(name, text) for name, text in messages.TG_ADMIN_COMMANDS.items()]
    for admin_id in deps.config.telegram.admin_ids:
        try:
            await application.bot.set_my_commands(admin, scope=BotCommandScopeChat(admin_id))
        except TelegramError as exc:  # the admin has not opened a chat with the bot yet
            log.warning("telegram: could not set admin commands for %s: %s", admin_id, exc)


def build_application(config: Config, service: Any, token: str, querylog: QueryLog) -> Application:
    """The bot with every handler wired; run it with run_polling / run_webhook."""
    application = (
        Application.builder()
        .token(token)
        .base_url(config.telegram.api_base_url)
        .base_file_url(config.telegram.api_base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(RetryingRateLimiter())
        .concurrent_updates(True)  # a reindex or a slow answer must not hold up other users
        .post_init(_register_commands)
        .build()
    )
    application.bot_data["deps"] = Deps(config=config, service=service, querylog=querylog)
    new_messages = filters.UpdateType.MESSAGE
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS

    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("hoi", hoi))
    application.add_handler(CommandHandler("vanban", vanban))
    application.add_handler(CommandHandler("danhsach", danhsach))
    application.add_handler(CommandHandler("reindex", reindex))
    application.add_handler(CommandHandler("thongke", thongke))
    application.add_handler(CallbackQueryHandler(more_button, pattern=r"^more:"))
    application.add_handler(CallbackQueryHandler(full_button, pattern=r"^full:"))
    application.add_handler(CallbackQueryHandler(feedback_button, pattern=r"^(up|down):"))
    application.add_handler(CallbackQueryHandler(read_button, pattern=r"^read:"))
    application.add_handler(CallbackQueryHandler(list_button, pattern=r"^list:\d+$"))
    application.add_handler(InlineQueryHandler(inline_query))
    application.add_handler(MessageHandler(new_messages & private & filters.Document.ALL, upload))
    application.add_handler(MessageHandler(new_messages & private & filters.TEXT & ~filters.COMMAND, private_text))
    application.add_handler(MessageHandler(new_messages & groups & filters.TEXT & ~filters.COMMAND, group_text))
    application.add_handler(MessageHandler(
        new_messages & private & ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL, non_text))
    application.add_error_handler(on_error)
    return application


def webhook_options(config: Config, secret: str | None) -> dict[str, Any] | None:
    """Keyword arguments for `Application.run_webhook`, or None when telegram.webhook.url is not set
    (long polling). Raises StartupError for a missing, short or malformed secret token."""
    webhook = config.telegram.webhook
    if webhook is None or not webhook.url:
        return None
    secret = (secret or "").strip()
    hint = ("a random string of 16-256 characters from A-Z, a-z, 0-9, _ and -, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    if not secret:
        raise StartupError(f"webhook mode needs {WEBHOOK_SECRET_ENV}: {hint}")
    if len(secret) < MIN_WEBHOOK_SECRET_CHARS:
        raise StartupError(f"{WEBHOOK_SECRET_ENV} is too short ({len(secret)} characters): use {hint}")
    if not WEBHOOK_SECRET_RE.fullmatch(secret):
        raise StartupError(f"{WEBHOOK_SECRET_ENV} is not a secret Telegram accepts (only A-Z, a-z, 0-9, _ "
                           f"and -, at most 256 characters): use {hint}")
    if not webhook.url.startswith("https://"):
        raise StartupError(f"telegram.webhook.url must be an https:// address (Telegram only calls HTTPS), "
                           f"got {webhook.url!r}")
    path = "/" + webhook.path.strip("/")
    # telegram.webhook.url is the public base URL; the path is appended unless already there
    url = webhook.url if webhook.url.rstrip("/").endswith(path) else webhook.url.rstrip("/") + path
    return {"listen": webhook.listen, "port": webhook.port, "url_path": path.lstrip("/"), "webhook_url": url,
            "secret_token": secret, "allowed_updates": Update.ALL_TYPES}


def serve(config: Config) -> int:
    """`directive-bot serve telegram`: long polling, or a webhook when telegram.webhook.url is set."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        print(f"directive-bot serve telegram: set {TOKEN_ENV} to the bot token from @BotFather "
              "(see docs/telegram.md)", file=sys.stderr)
        return 2
    try:
        webhook = webhook_options(config, os.environ.get(WEBHOOK_SECRET_ENV))
    except StartupError as exc:
        print(f"directive-bot serve telegram: {exc}", file=sys.stderr)
        return 2
    # httpx logs every request URL at INFO, and Bot API URLs contain the token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from bot.service.answering import AnswerService  # imported here: the channel module loads without torch

    service = AnswerService(config)
    querylog = QueryLog(config.querylog.path)
    application = build_application(config, service, token, querylog)
    try:
        if webhook is not None:
            log.info("telegram: webhook on %s:%s/%s", webhook["listen"], webhook["port"], webhook["url_path"])
            application.run_webhook(**webhook)
        else:
            log.info("telegram: long polling")
            application.run_polling(allowed_updates=Update.ALL_TYPES)
    finally:
        querylog.close()
    return 0
