"""Telegram handlers: each reads an update, calls the service (or the admin flow) and replies in HTML.

No retrieval or document logic here: answers come from AnswerService, admin work from bot.service.admin.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import messages
from bot.channels import followups, text
from bot.channels.telegram import keyboards, render
from bot.channels.telegram.state import CHANNEL, Deps, deps as _deps
from bot.models import Answer
from bot.service.admin import ReindexOutcome, UploadOutcome, supported_extensions

log = logging.getLogger(__name__)

TYPING_AFTER_SECONDS = 0.3
INLINE_RESULTS = 10
PROGRESS_EVERY_SECONDS = 1.5
MAX_READ_MESSAGES = 8


# ---------------------------------------------------------------- small helpers

async def _send(message: Message, texts: list[str], markup: InlineKeyboardMarkup | None = None,
                quote: bool = False) -> None:
    """Send HTML messages in order; the keyboard goes on the last one, the quote on the first."""
    for i, part in enumerate(texts):
        last = i == len(texts) - 1
        await message.reply_html(part, reply_markup=markup if last else None, do_quote=quote and i == 0)


async def _say(update: Update, plain: str, quote: bool | None = None) -> None:
    """One plain-text message (escaped), quoting the user's message in groups."""
    quote = _is_group(update) if quote is None else quote
    await update.effective_message.reply_html(render.escape(plain), do_quote=quote)


def _is_group(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type != "private"


def _accepted_extensions() -> str:
    return ", ".join(supported_extensions())


def _answer_keyboard(deps: Deps, answer: Answer, question_id: int | None, can_inline: bool,
                     official: bool = False, official_only: bool = False) -> InlineKeyboardMarkup:
    """Toàn văn per passage; Xem thêm and Chia sẻ; Chỉ văn bản chính thức (`official`); 👍 / 👎; an article
    lookup gets its own (keyboards.unit_keyboard). Callback data is "action:key" (13 bytes)."""
    if answer.unit is not None and not answer.offset:
        return keyboards.unit_keyboard(deps, answer, question_id)
    single = len(answer.hits) == 1
    rows = [[InlineKeyboardButton(
        messages.TG_BUTTON_FULL if single else messages.TG_BUTTON_FULL_N.format(n=answer.offset + i + 1),
        callback_data=f"full:{deps.buttons.put({'pid': hit.passage_id})}") for i, hit in enumerate(answer.hits)]]
    second = []
    if answer.has_more:
        key = deps.buttons.put({"q": answer.question, "offset": answer.offset + len(answer.hits),
                                "qid": question_id, "official": official_only})
        second.append(InlineKeyboardButton(messages.TG_BUTTON_MORE, callback_data=f"more:{key}"))
    if can_inline:
        second.append(InlineKeyboardButton(messages.TG_BUTTON_SHARE, switch_inline_query=answer.question[:256]))
    if second:
        rows.append(second)
    if official:
        rows.append(keyboards.official_row(deps, answer, question_id))
    key = deps.buttons.put({"qid": question_id, "pid": answer.hits[0].passage_id})
    rows.append([InlineKeyboardButton(messages.TG_BUTTON_UP, callback_data=f"up:{key}"),
                 InlineKeyboardButton(messages.TG_BUTTON_DOWN, callback_data=f"down:{key}")])
    return InlineKeyboardMarkup(rows)


def _strip_mentions(message: Message, username: str, bot_id: int) -> tuple[str, bool]:
    """The message text without mentions of this bot, and whether the bot was mentioned."""
    content = message.text or ""
    mentioned = False
    entities = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    for entity, value in entities.items():
        if (entity.type == MessageEntity.MENTION and value.lower() == f"@{username}".lower()) or (
                entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id):
            mentioned = True
            content = content.replace(value, " ", 1)
    return " ".join(content.split()), mentioned


# ---------------------------------------------------------------- questions

async def _answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str,
                           offset: int = 0) -> None:
    deps = _deps(context)
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if not deps.is_admin(user.id) and (wait := deps.limiter.wait_seconds(user.id, str(update.update_id))):
        await _say(update, messages.TG_RATE_LIMITED.format(seconds=wait))
        return
    notes = []
    limit = deps.config.retrieval.max_question_chars
    if len(question) > limit:
        question = question[:limit]
        notes.append(messages.TG_QUESTION_CUT.format(limit=limit))
    # one trip to a worker thread: answer, log and render there, the event loop only sends
    answering = asyncio.get_running_loop().run_in_executor(
        None, _answer_logged, deps, question, offset, notes, user.id, chat.id, chat.type, str(update.update_id))
    done, _pending = await asyncio.wait({answering}, timeout=TYPING_AFTER_SECONDS)
    if not done:  # "typing…" only when the user would otherwise wait: one request less per question
        try:
            await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
        except TelegramError as exc:  # only a courtesy: the answer matters
            log.info("telegram: chat action failed: %s", exc)
    answer, question_id, texts = await answering
    deps.followups.remember(str(chat.id), answer)
    markup = None
    if answer.found and answer.hits:
        official = keyboards.news_first(answer) and await asyncio.to_thread(keyboards.official_offered, deps, answer)
        markup = _answer_keyboard(deps, answer, question_id, bool(context.bot.supports_inline_queries), official)
    await _send(message, texts, markup, _is_group(update))


def _answer_logged(deps: Deps, question: str, offset: int, notes: list[str], user_id: int, chat_id: int,
                   chat_type: str, update_key: str) -> tuple[Answer, int | None, list[str]]:
    """In a worker thread: the answer, its query-log id and its HTML messages."""
    answer = deps.service.answer(question, offset=offset)
    question_id = None
    if offset == 0:
        question_id = deps.querylog.record_answer(channel=CHANNEL, user_id=user_id, chat_id=chat_id,
                                                  chat_type=chat_type, answer=answer, update_key=update_key)
    return answer, question_id, render.answer_messages(answer, notes)


async def _question_or_follow_up(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    """"thêm" and "1"/"2"/"3" typed as text continue the chat's last answer; anything else is a question."""
    is_more, number = text.is_more(question), followups.choice(question)
    if not is_more and number is None:
        await _answer_question(update, context, question)
        return
    deps = _deps(context)
    session = deps.followups.get(str(update.effective_chat.id))
    if session is None:
        await _say(update, messages.NOTHING_TO_CONTINUE)
    elif is_more and not session.has_more:
        await _say(update, messages.NO_MORE)
    elif is_more:
        await _answer_question(update, context, session.question, session.offset + len(session.passage_ids))
    elif not 1 <= number <= len(session.passage_ids):
        await _say(update, messages.CHOICE_OUT_OF_RANGE.format(count=len(session.passage_ids)))
    else:
        await _send_section(update, context, session.passage_ids[number - 1])


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a private chat every text message is a question (or "thêm" / a number after one)."""
    await _question_or_follow_up(update, context, update.effective_message.text.strip())


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups: only mentions of the bot and replies to its own messages are questions."""
    message = update.effective_message
    question, mentioned = _strip_mentions(message, context.bot.username, context.bot.id)
    replied = message.reply_to_message
    if not mentioned and not (replied and replied.from_user and replied.from_user.id == context.bot.id):
        return
    if not question:
        await _say(update, messages.TG_HOI_USAGE, quote=True)
        return
    await _question_or_follow_up(update, context, question)


async def hoi(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/hoi <câu hỏi> (the way to ask in a group with privacy mode on)."""
    question = " ".join(context.args)
    if not question:
        await _say(update, messages.TG_HOI_USAGE)
        return
    await _question_or_follow_up(update, context, question)


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice and the like in a private chat."""
    await _say(update, messages.TG_NON_TEXT)


# ---------------------------------------------------------------- buttons

async def _button_payload(deps: Deps, query) -> dict | None:
    """The server-side data behind a button, or None (and a notice) when it expired or never existed."""
    payload = deps.buttons.get((query.data or "").split(":", 1)[-1])
    if payload is None:
        log.debug("telegram: button with unknown or expired data (%d bytes)", len((query.data or "").encode()))
        await query.answer(messages.TG_BUTTON_EXPIRED, show_alert=True)
    return payload


async def more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"Xem thêm": the next page of the same question."""
    deps, query = _deps(context), update.callback_query
    payload = await _button_payload(deps, query)
    if payload is None:
        return
    await query.answer()
    only = keyboards.OFFICIAL_ONLY if payload.get("official") else None
    answer: Answer = await asyncio.to_thread(deps.service.answer, payload["q"], offset=payload["offset"],
                                             doc_filter=only)
    deps.followups.remember(str(update.effective_chat.id), answer)
    markup = None
    if answer.hits:
        markup = _answer_keyboard(deps, answer, payload["qid"], bool(context.bot.supports_inline_queries),
                                  official_only=bool(only))
    texts = render.answer_messages(answer)
    for i, part in enumerate(texts):
        await context.bot.send_message(update.effective_chat.id, part,
                                       reply_markup=markup if i == len(texts) - 1 else None)


async def _send_section(update: Update, context: ContextTypes.DEFAULT_TYPE, passage_id: str,
                        start: int = 0) -> None:
    """At most MAX_READ_MESSAGES messages of the section from part `start`; "Xem tiếp" sends the next ones."""
    deps = _deps(context)
    hits = await asyncio.to_thread(deps.service.section, passage_id)
    if not hits:
        hit = await asyncio.to_thread(deps.service.passage, passage_id)
        hits = [hit] if hit else []
    parts = (render.section_messages(hits) or [render.escape(messages.TG_PASSAGE_GONE)])[start:]
    rest, parts, markup = len(parts) - MAX_READ_MESSAGES, parts[:MAX_READ_MESSAGES], None
    if rest > 0:
        key = await asyncio.to_thread(deps.buttons.put, {"pid": passage_id, "from": start + len(parts)})
        markup = keyboards.one_button(messages.TG_BUTTON_READ_ON.format(parts=rest), f"full:{key}")
    for i, part in enumerate(parts):
        await context.bot.send_message(update.effective_chat.id, part,
                                       reply_markup=markup if i == len(parts) - 1 else None)


async def full_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"Toàn văn": the whole section the passage belongs to."""
    query = update.callback_query
    payload = await _button_payload(_deps(context), query)
    if payload is None:
        return
    await query.answer()
    await _send_section(update, context, payload["pid"], int(payload.get("from", 0)))


async def feedback_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍 / 👎: one vote per user and answer, stored in the query log."""
    deps, query = _deps(context), update.callback_query
    payload = await _button_payload(deps, query)
    if payload is None:
        return
    user_id, qid, pid = update.effective_user.id, payload.get("qid") or None, payload.get("pid", "")
    await asyncio.to_thread(deps.querylog.feedback_once, channel=CHANNEL, user_id=user_id,
                            useful=query.data.startswith("up:"), question_id=qid, passage_id=pid)
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
    for part in texts:
        await context.bot.send_message(update.effective_chat.id, part)


async def list_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/danhsach paging: the page number travels in the callback data itself."""
    query = update.callback_query
    await query.answer()
    page_text, markup = await _document_list(context, int(query.data.split(":", 1)[1]))
    await query.edit_message_text(page_text, reply_markup=markup)


async def unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every other callback query (stale, forged, from an older release): answered, so no button spins."""
    query = update.callback_query
    log.debug("telegram: callback query with unknown data (%d bytes) answered as expired",
              len((query.data or "").encode()))
    await query.answer(messages.TG_BUTTON_UNKNOWN, show_alert=True)


async def _document_list(context: ContextTypes.DEFAULT_TYPE, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    refs = render.sort_documents(await asyncio.to_thread(_deps(context).service.documents))
    page_text, page, pages = render.document_page(refs, page)
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton(messages.TG_BUTTON_PREV, callback_data=f"list:{page - 1}"))
    if page + 1 < pages:
        buttons.append(InlineKeyboardButton(messages.TG_BUTTON_NEXT, callback_data=f"list:{page + 1}"))
    return page_text, InlineKeyboardMarkup([buttons]) if buttons else None


# ---------------------------------------------------------------- commands for everyone

async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    info = await asyncio.to_thread(_deps(context).service.info)
    await _say(update, messages.TG_START.format(documents=info.documents, passages=info.passages), quote=False)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    help_text = messages.TG_HELP.format(username=context.bot.username)
    if _deps(context).is_admin(update.effective_user.id):
        help_text += messages.TG_HELP_ADMIN.format(extensions=_accepted_extensions())
    await _say(update, help_text, quote=False)


async def vanban(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/vanban <số hiệu>: the document card, with a button to read each indexed document."""
    deps, number = _deps(context), " ".join(context.args)
    if not number:
        await _say(update, messages.TG_VANBAN_USAGE, quote=False)
        return
    card = await asyncio.to_thread(deps.service.document_card, number)
    if card is None or not (card.documents or card.mentions):
        await _say(update, messages.DOCUMENT_UNKNOWN.format(number=number), quote=False)
        return
    sections = {}
    for ref in card.documents:
        hits = await asyncio.to_thread(deps.service.document_passages, ref.doc_id)
        sections[ref.doc_id] = [n for n in dict.fromkeys(hit.reference.section for hit in hits) if n]
    buttons = [[InlineKeyboardButton(f"{messages.TG_BUTTON_READ}: {ref.doc_number or ref.doc_id}"[:60],
                                     callback_data=f"read:{deps.buttons.put({'doc': ref.doc_id})}")]
               for ref in card.documents[:5]]
    await _send(update.effective_message, render.card_messages(card, sections),
                InlineKeyboardMarkup(buttons) if buttons else None, _is_group(update))


async def danhsach(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    page_text, markup = await _document_list(context, 0)
    await update.effective_message.reply_html(page_text, reply_markup=markup)


# ---------------------------------------------------------------- admin: reindex, statistics, upload

async def _refuse_unless_admin(update: Update, context: ContextTypes.DEFAULT_TYPE, what: str,
                               refusal: str = messages.TG_ADMIN_ONLY) -> bool:
    """True for anyone but an admin, who gets a polite refusal (and the attempt is logged)."""
    user = update.effective_user
    if _deps(context).is_admin(user.id):
        return False
    log.warning("telegram: refused %s for non-admin user %s", what, user.id)
    await _say(update, refusal)
    return True


class _Progress:
    """One status message that shows the stage of a running reindex (the indexer's lines are English)."""

    def __init__(self, message: Message):
        self.message = message
        self.status: Message | None = None
        self.intro = ""
        self.lines: list[str] = []  # appended from the worker thread; list.append is atomic

    async def begin(self, intro: str) -> None:
        self.intro = intro
        self.status = await self.message.reply_html(render.escape(intro))

    async def show(self, stage: str) -> None:
        try:
            await self.status.edit_text(render.escape(f"{self.intro}\n{stage}"))
        except TelegramError as exc:  # progress is a courtesy; the summary still comes
            log.info("telegram: progress update failed: %s", exc)

    async def follow(self, work: asyncio.Future) -> None:
        """Edit the status while `work` runs (once `begin` has been called)."""
        shown = ""
        while not (await asyncio.wait({work}, timeout=PROGRESS_EVERY_SECONDS))[0]:
            reading = self.lines and self.lines[-1].startswith("Reading")
            stage = messages.TG_PROGRESS_READING if reading else messages.TG_PROGRESS_INDEXING
            if self.status is not None and self.lines and stage != shown:
                shown = stage
                await self.show(stage)

    async def finish(self, outcome: ReindexOutcome) -> None:
        if outcome.error:
            await self.show(messages.TG_PROGRESS_FAILED)
            await self.message.reply_html(render.escape(messages.TG_REINDEX_FAILED.format(reason=outcome.error)))
            return
        await self.show(messages.TG_PROGRESS_DONE)
        for part in render.report_messages(outcome.report):
            await self.message.reply_html(part)


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (admins): build a new index version from knowledge/ and report what changed."""
    if await _refuse_unless_admin(update, context, "/reindex"):
        return
    deps, progress = _deps(context), _Progress(update.effective_message)
    if deps.admin.busy:
        await _say(update, messages.TG_REINDEX_BUSY)
        return
    await progress.begin(messages.TG_REINDEX_STARTED)
    work = asyncio.ensure_future(deps.admin.reindex(progress.lines.append))
    await progress.follow(work)
    outcome = work.result()
    if outcome.busy:
        await _say(update, messages.reindex_busy(messages.TG_REINDEX_BUSY, outcome.holder))
    else:
        await progress.finish(outcome)


async def thongke(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/thongke (admins): the query log's statistics and the index being served."""
    if await _refuse_unless_admin(update, context, "/thongke"):
        return
    stats = await asyncio.to_thread(_deps(context).admin.stats)
    await update.effective_message.reply_html(render.stats_html(stats.queries, stats.index))


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin sends a document: checked, saved into knowledge/, indexed, and the summary returned."""
    if await _refuse_unless_admin(update, context, "document upload", messages.TG_UPLOAD_ADMIN_ONLY):
        return
    deps, document = _deps(context), update.effective_message.document
    progress = _Progress(update.effective_message)

    async def fetch() -> bytes:
        return bytes(await (await document.get_file()).download_as_bytearray())

    async def on_saved(saved: UploadOutcome) -> None:
        log.info("telegram: admin %s uploaded %s (%d bytes%s)", update.effective_user.id, saved.name, saved.size,
                 ", replacing the file of that name" if saved.replaced else "")
        await progress.begin((messages.TG_UPLOAD_REPLACED if saved.replaced else messages.TG_UPLOAD_SAVED)
                             .format(name=saved.name))

    limit = deps.admin.upload_limit_mb(deps.config.telegram.max_upload_mb)
    work = asyncio.ensure_future(deps.admin.upload(document.file_name or "", document.file_size, fetch, limit,
                                                   progress=progress.lines.append, on_saved=on_saved))
    await progress.follow(work)
    outcome = work.result()
    if outcome.busy or outcome.problem:
        await _say(update, messages.reindex_busy(messages.TG_REINDEX_BUSY, outcome.holder) if outcome.busy
                   else outcome.problem)
    elif outcome.reindex is not None:
        await progress.finish(outcome.reindex)


# ---------------------------------------------------------------- inline mode

async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@bot câu hỏi (also what "Chia sẻ" opens): up to 10 passages; choosing one posts its share card."""
    deps, query = _deps(context), update.inline_query
    question = " ".join(query.query.split())[:deps.config.retrieval.max_question_chars]
    if not question:
        await query.answer([], cache_time=300)
        return
    answer: Answer = await asyncio.to_thread(deps.service.answer, question, top_k=INLINE_RESULTS)
    results = []
    for i, hit in enumerate(answer.hits[:INLINE_RESULTS]):
        short = answer.short.text if answer.short and answer.short.passage_id == hit.passage_id else ""
        ref = hit.reference
        title = " · ".join(p for p in (ref.doc_number, text.reference_title(ref)) if p)
        results.append(InlineQueryResultArticle(
            id=f"{i}-{hashlib.sha1(hit.passage_id.encode()).hexdigest()[:20]}",
            title=title[:200],
            description=render.snippet(hit.text, hit.highlights, 200),
            input_message_content=InputTextMessageContent(render.share_card_html(hit, short),
                                                          parse_mode=ParseMode.HTML),
        ))
    await query.answer(results, cache_time=60)


# ---------------------------------------------------------------- errors

async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure and tell the user about a temporary problem; the bot keeps running."""
    log.error("telegram: error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query:
            await update.callback_query.answer(messages.SERVICE_UNAVAILABLE, show_alert=True)
        elif update.effective_chat and update.effective_message:
            await context.bot.send_message(update.effective_chat.id, render.escape(messages.SERVICE_UNAVAILABLE))
    except TelegramError as exc:
        log.warning("telegram: could not report the error to the user: %s", exc)
