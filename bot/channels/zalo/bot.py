"""Zalo channel: long polling or a webhook; answers rendered as plain-text messages of at most 2,000 characters.

Zalo has no buttons, so each answer ends with typed follow-ups ("thêm", "1", "2", "3") that read a
short-lived per-chat session. `serve(config)` is the `directive-bot serve zalo` entry point.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
import signal
import sys
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot import messages as msg
from bot.config import Config, ZaloConfig
from bot.models import Answer, DocumentCard, Hit, IndexInfo, IndexReport, Reference
from bot.service.querylog import QueryLog, QueryStats
from bot.channels.zalo.client import MAX_TEXT_CHARS, ZaloApiError, ZaloClient

log = logging.getLogger(__name__)

TOKEN_ENV = "ZALO_BOT_TOKEN"
SECRET_ENV = "ZALO_WEBHOOK_SECRET"
SECRET_HEADER = "X-Bot-Api-Secret-Token"

MESSAGE_LIMIT = MAX_TEXT_CHARS
EXCERPT_CHARS = 700  # a passage in the result list; "1"/"2"/"3" shows it in full
SESSION_SECONDS = 30 * 60
MAX_SESSIONS = 10_000
SEEN_MESSAGE_IDS = 10_000
MAX_WEBHOOK_BODY = 256 * 1024
INDEX_CHECK_SECONDS = 60.0

TEXT_EVENT = "message.text.received"
EXPLAINED_EVENTS = {
    "message.image.received": msg.ZALO_IMAGE,
    "message.sticker.received": msg.ZALO_STICKER,
    "message.unsupported.received": msg.ZALO_UNSUPPORTED,
}
MORE_WORDS = frozenset({"thêm", "them", "xem thêm", "xem them", "tiếp", "tiep", "xem tiếp", "xem tiep"})
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\S+)?(?:\s+(.*))?$", re.DOTALL)
_CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?…;:])\s+|\n+")


class ZaloStartupError(Exception):
    """The bot cannot start: missing token or secret, or Zalo refused the token."""


# ====================================================================== plain-text rendering


def format_date(iso: str) -> str:
    """"2016-05-15" -> "15/05/2016"; anything else is shown as given."""
    parts = (iso or "").split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{parts[2]}/{parts[1]}/{parts[0]}"
    return iso or ""


def reference_line(ref: Reference, number: int | None = None, *, section: bool = True) -> str:
    """Số hiệu | tiêu đề | ngày | cơ quan | mục | nguồn, on one line."""
    parts = []
    if ref.doc_number:
        parts.append(f"{msg.LABEL_NUMBER}: {ref.doc_number}")
    parts.append(ref.title or ref.doc_id)
    if ref.issued:
        parts.append(f"{msg.LABEL_ISSUED}: {format_date(ref.issued)}")
    if ref.issuer:
        parts.append(f"{msg.LABEL_ISSUER}: {ref.issuer}")
    if section and ref.section:
        parts.append(f"{msg.LABEL_SECTION}: {ref.section}")
    if ref.source_url:
        parts.append(f"{msg.LABEL_SOURCE}: {ref.source_url}")
    prefix = f"[{number}] " if number is not None else ""
    return prefix + " | ".join(parts)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The text, or its first sentences up to `limit` characters followed by "…"."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(cut)]
    end = ends[-1] if ends and ends[-1] >= limit // 2 else (cut.rfind(" ") if cut.rfind(" ") > 0 else limit)
    return text[:end].rstrip() + " …"


def _split_long(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut after sentences (at spaces for an endless sentence)."""
    units, pos, sep = [], 0, ""
    for m in _SENTENCE_END.finditer(text):
        units.append((sep, text[pos:m.start()]))
        sep, pos = ("\n" if "\n" in m.group() else " "), m.end()
    units.append((sep, text[pos:]))
    pieces: list[str] = []
    current = ""
    for sep, sentence in units:
        sentence = sentence.strip()
        if not sentence:
            continue
        while len(sentence) > limit:  # no sentence end in sight: cut at the last space
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:cut].rstrip())
            sentence = sentence[cut:].lstrip()
        candidate = f"{current}{sep}{sentence}" if current else sentence
        if len(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = sentence
    if current:
        pieces.append(current)
    return pieces


def pack(blocks: Sequence[str], limit: int = MESSAGE_LIMIT, sep: str = "\n\n") -> list[str]:
    """Join blocks into as few messages as fit `limit`; a block is split only when it alone is too long."""
    out: list[str] = []
    current = ""
    for block in (b.strip() for b in blocks):
        if not block:
            continue
        pieces = [block] if len(block) <= limit else _split_long(block, limit)
        if len(pieces) > 1 and current:  # a long block starts its own message
            out.append(current)
            current = ""
        for piece in pieces:
            candidate = f"{current}{sep}{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
            else:
                out.append(current)
                current = piece
    if current:
        out.append(current)
    return out


def _choices(count: int) -> str:
    quoted = [f"“{i}”" for i in range(1, count + 1)]
    if len(quoted) == 1:
        return quoted[0]
    return f"{', '.join(quoted[:-1])} {msg.ZALO_CHOICES_OR} {quoted[-1]}"


def _footer(answer: Answer, mention: str | None) -> str:
    lines = []
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


def render_answer(answer: Answer, mention: str | None = None) -> list[str]:
    """Messages for one Answer: numbered passages (reference line first), then the follow-up hints."""
    if not answer.found:
        return _not_found(answer.message, answer.suggestions)
    first = answer.offset + 1
    question = answer.question if len(answer.question) <= 120 else answer.question[:119] + "…"
    blocks = [msg.ZALO_RESULTS_HEADER.format(first=first, last=answer.offset + len(answer.hits),
                                             question=question)]
    if answer.message and answer.offset == 0:  # "Kho chưa có toàn văn 05-CT/TW; dưới đây là…"
        blocks.append(answer.message)
    for n, hit in enumerate(answer.hits, start=1):
        blocks.append(f"{reference_line(hit.reference, n)}\n{excerpt(hit.text)}")
    blocks.append(_footer(answer, mention))
    return pack(blocks)


def render_full(choice: int, hit: Hit) -> list[str]:
    """One passage in full, after its reference line; a passage too long for one message is cut at sentences."""
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
            blocks.append(f"{reference_line(hit.reference, n)}\n{excerpt(hit.text)}")
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
        date = f" ({format_date(ref.issued)})" if ref.issued else ""
        lines.append(f"• {head + ': ' if head else ''}{ref.title}{date}")
    return pack(lines, sep="\n")


def render_report(report: IndexReport) -> list[str]:
    blocks = [msg.ZALO_REINDEX_DONE.format(
        version=report.version, documents=report.documents, passages=report.passages,
        added=len(report.added), changed=len(report.changed), removed=len(report.removed),
        unchanged=len(report.unchanged), seconds=report.seconds)]
    if report.failed:
        blocks.append("\n".join([msg.ZALO_REINDEX_FAILURES.format(count=len(report.failed)),
                                 *(f"• {f.path}: {f.reason}" for f in report.failed[:20])]))
    return pack(blocks)


def render_stats(stats: QueryStats, info: IndexInfo) -> list[str]:
    channels = ", ".join(f"{name} {count}" for name, count in sorted(stats.by_channel.items())) or "0"
    blocks = [msg.ZALO_STATS.format(
        questions=stats.questions, not_found=stats.not_found, share=stats.not_found_share,
        channels=channels, up=stats.feedback_up, down=stats.feedback_down, version=info.version,
        built_at=info.built_at, documents=info.documents, passages=info.passages, model=info.model)]
    if stats.top_unanswered:
        blocks.append("\n".join([msg.ZALO_STATS_UNANSWERED,
                                 *(f"• {q} ({n})" for q, n in stats.top_unanswered)]))
    return pack(blocks)


# ====================================================================== per-chat sessions


@dataclass
class Session:
    """The last result list shown in a chat, so "thêm" and "1"/"2"/"3" know what they refer to."""

    question: str
    passage_ids: list[str]
    offset: int = 0
    has_more: bool = False
    expires: float = 0.0


class Sessions:
    """Chat id -> Session, forgotten after `ttl` seconds without use (and beyond `max_size` chats)."""

    def __init__(self, ttl: float = SESSION_SECONDS, max_size: int = MAX_SESSIONS,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_size = max_size
        self.clock = clock
        self._items: OrderedDict[str, Session] = OrderedDict()

    def get(self, chat_id: str) -> Session | None:
        session = self._items.get(chat_id)
        if session is None:
            return None
        if session.expires <= self.clock():
            del self._items[chat_id]
            return None
        session.expires = self.clock() + self.ttl
        self._items.move_to_end(chat_id)
        return session

    def put(self, chat_id: str, session: Session) -> None:
        session.expires = self.clock() + self.ttl
        self._items[chat_id] = session
        self._items.move_to_end(chat_id)
        while len(self._items) > self.max_size:
            self._items.popitem(last=False)

    def drop(self, chat_id: str) -> None:
        self._items.pop(chat_id, None)


# ====================================================================== the bot


@dataclass(frozen=True)
class Chat:
    """Where a message came from and who sent it."""

    chat_id: str
    user_id: str
    group: bool


@dataclass
class _Seen:
    """The last message ids handled: getUpdates has no offset and webhooks may be delivered twice."""

    size: int = SEEN_MESSAGE_IDS
    ids: OrderedDict = field(default_factory=OrderedDict)

    def add(self, message_id: str) -> bool:
        """False when the id was already seen."""
        if message_id in self.ids:
            return False
        self.ids[message_id] = None
        while len(self.ids) > self.size:
            self.ids.popitem(last=False)
        return True


class ZaloBot:
    """Turns Zalo updates into service calls and plain-text replies; one instance per bot token.

    `service` is an AnswerService (blocking: every call runs in a thread); `querylog` may be None.
    """

    def __init__(self, service: Any, client: ZaloClient, config: ZaloConfig,
                 querylog: QueryLog | None = None, *, sessions: Sessions | None = None):
        self.service = service
        self.client = client
        self.config = config
        self.querylog = querylog
        self.sessions = sessions or Sessions()
        self.admin_ids = {str(a) for a in config.admin_ids}
        self.names: list[str] = []
        self._seen = _Seen()
        self._tasks: set[asyncio.Task] = set()
        self._chat_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._reindexing = asyncio.Lock()
        self._webhook: asyncio.Server | None = None
        self._commands: dict[str, Callable[[Chat, str], Awaitable[None]]] = {
            "start": self.cmd_start, "help": self.cmd_help, "hoi": self.cmd_hoi,
            "vanban": self.cmd_vanban, "danhsach": self.cmd_danhsach,
            "reindex": self.cmd_reindex, "thongke": self.cmd_thongke,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> dict:
        """Check the token with getMe; raises ZaloApiError (`.fatal` for 401/403)."""
        me = await self.client.get_me() or {}
        # the names a group message may mention the bot by
        names = [me.get(k) for k in ("display_name", "account_name", "name")]
        self.names = [n for n in dict.fromkeys(names) if isinstance(n, str) and n.strip()]
        return me

    async def run_polling(self, stop: asyncio.Event) -> None:
        """Long-poll getUpdates until `stop` is set; raises ZaloApiError if the token stops working."""
        await self._drop_webhook()
        failures = 0
        while not stop.is_set():
            poll = asyncio.ensure_future(self.client.get_updates(self.config.polling_timeout))
            stopped = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({poll, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if poll not in done:
                poll.cancel()
                break
            stopped.cancel()
            try:
                updates = poll.result()
                failures = 0
            except ZaloApiError as exc:
                if exc.fatal:
                    raise
                failures += 1
                wait = min(60.0, 2.0 ** min(failures, 6))
                log.warning("getUpdates failed (%s); polling again in %.0f s", exc, wait)
                await _sleep_unless(stop, wait)
                continue
            for update in updates:
                self.dispatch(update)

    async def _drop_webhook(self) -> None:
        # getUpdates does not deliver while a webhook is registered
        try:
            info = await self.client.get_webhook_info()
            if isinstance(info, dict) and info.get("url"):
                log.info("a webhook is registered; deleting it to use long polling")
                await self.client.delete_webhook()
        except ZaloApiError as exc:
            if exc.fatal:
                raise
            log.warning("could not check the webhook before polling: %s", exc)

    async def start_webhook(self, secret: str) -> int:
        """Serve POST <webhook.path> on <listen>:<port>; registers <webhook.url> when set. Returns the port."""
        hook = self.config.webhook
        handler = _WebhookHandler(hook.path, secret, self.dispatch)
        self._webhook = await asyncio.start_server(handler, hook.listen, hook.port, limit=64 * 1024)
        port = self._webhook.sockets[0].getsockname()[1]
        log.info("webhook listening on %s:%d%s", hook.listen, port, hook.path)
        if hook.url:
            await self.client.set_webhook(hook.url, secret)
            log.info("webhook registered with Zalo")
        else:
            log.warning("zalo.webhook.url is empty: the webhook is not registered with Zalo by this process")
        return port

    async def close(self) -> None:
        """Stop the webhook server and let the replies in progress finish."""
        if self._webhook is not None:
            self._webhook.close()
            await self._webhook.wait_closed()
            self._webhook = None
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=30)

    def dispatch(self, update: dict) -> None:
        """Handle an update in the background (replies to one chat stay in order)."""
        task = asyncio.get_running_loop().create_task(self.handle_update(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ one update

    async def handle_update(self, update: dict) -> None:
        """Reply to one update. Never raises: a failure is logged and the user told, the bot keeps running."""
        try:
            parsed = self._parse(update)
        except Exception:
            log.warning("malformed update ignored", exc_info=True)
            return
        if parsed is None:
            return
        chat, event, message_id, message = parsed
        # ids, not text: a user's message is not logged (admins find their id here for zalo.admin_ids)
        log.info("%s from user %s in chat %s", event, chat.user_id, chat.chat_id)
        lock = self._chat_locks.get(chat.chat_id)
        if lock is None:
            lock = self._chat_locks[chat.chat_id] = asyncio.Lock()
        async with lock:
            try:
                await self._route(chat, event, message)
            except ZaloApiError as exc:
                log.error("could not reply to message %s in chat %s: %s", message_id, chat.chat_id, exc)
            except Exception:
                log.exception("handling message %s in chat %s failed", message_id, chat.chat_id)
                try:
                    await self.send(chat, [msg.SERVICE_UNAVAILABLE])
                except Exception as exc:  # the API itself may be what failed
                    log.error("could not tell chat %s about the failure: %s", chat.chat_id, exc)

    def _parse(self, update: dict) -> tuple[Chat, str, str, dict] | None:
        """(chat, event, message id, message), or None for an update to skip (duplicate, from a bot, ...)."""
        message = update.get("message") if isinstance(update, dict) else None
        if not isinstance(message, dict):
            log.debug("ignoring an update without a message")
            return None
        message_id = str(message.get("message_id") or "")
        if message_id and not self._seen.add(message_id):
            log.info("duplicate update %s ignored", message_id)
            return None
        where = message.get("chat") if isinstance(message.get("chat"), dict) else {}
        sender = message.get("from") if isinstance(message.get("from"), dict) else {}
        chat_id = str(where.get("id") or "")
        if not chat_id or sender.get("is_bot"):
            return None
        chat = Chat(chat_id=chat_id, user_id=str(sender.get("id") or ""),
                    group=str(where.get("chat_type") or "").upper() == "GROUP")
        return chat, str(update.get("event_name") or ""), message_id, message

    async def _route(self, chat: Chat, event: str, message: dict) -> None:
        if event == TEXT_EVENT:
            await self.on_text(chat, str(message.get("text") or ""))
        elif event in EXPLAINED_EVENTS:
            if not chat.group:  # in a group, pictures are between people
                await self.send(chat, [EXPLAINED_EVENTS[event]])
        else:
            log.debug("ignoring event %r", event)

    async def on_text(self, chat: Chat, text: str) -> None:
        text = text.strip()
        if chat.group:
            mentioned, text = self._strip_mention(text)
            command = _COMMAND.match(text)
            if not mentioned and not (command and command.group(1).lower() == "hoi"):
                return
        if not text:
            await self.send(chat, [msg.ZALO_HELP])
            return
        command = _COMMAND.match(text)
        if command:
            name = command.group(1).lower()
            handler = self._commands.get(name)
            if handler is None:
                await self.send(chat, [msg.ZALO_UNKNOWN_COMMAND.format(command="/" + name)])
            else:
                await handler(chat, (command.group(2) or "").strip())
        elif text.lower().strip(" .!?") in MORE_WORDS:
            await self.more(chat)
        elif choice := _CHOICE.match(text):
            await self.full(chat, int(choice.group(1)))
        else:
            await self.ask(chat, text)

    def _strip_mention(self, text: str) -> tuple[bool, str]:
        lowered = text.lower()
        for name in self.names:
            tag = "@" + name.lower()
            at = lowered.find(tag)
            if at >= 0:
                return True, (text[:at] + text[at + len(tag):]).strip(" ,:\n")
        return False, text

    # ------------------------------------------------------------------ questions and follow-ups

    async def ask(self, chat: Chat, question: str) -> None:
        await self._typing(chat)
        answer = await asyncio.to_thread(self.service.answer, question)
        await self._log_question(chat, answer)
        self._remember(chat, answer)
        await self.send(chat, render_answer(answer, self._mention(chat)))

    async def more(self, chat: Chat) -> None:
        session = self.sessions.get(chat.chat_id)
        if session is None:
            await self.send(chat, [msg.ZALO_NO_SESSION.format(minutes=int(self.sessions.ttl // 60))])
            return
        if not session.has_more:
            await self.send(chat, [msg.ZALO_NO_MORE])
            return
        await self._typing(chat)
        offset = session.offset + len(session.passage_ids)
        answer = await asyncio.to_thread(self.service.answer, session.question, offset=offset)
        if not answer.found:
            session.has_more = False
            await self.send(chat, [msg.ZALO_NO_MORE])
            return
        self._remember(chat, answer)
        await self.send(chat, render_answer(answer, self._mention(chat)))

    async def full(self, chat: Chat, choice: int) -> None:
        session = self.sessions.get(chat.chat_id)
        if session is None:
            await self.send(chat, [msg.ZALO_NO_SESSION.format(minutes=int(self.sessions.ttl // 60))])
            return
        if not 1 <= choice <= len(session.passage_ids):
            await self.send(chat, [msg.ZALO_BAD_CHOICE.format(count=len(session.passage_ids))])
            return
        hit = await asyncio.to_thread(self.service.passage, session.passage_ids[choice - 1])
        if hit is None:  # the index changed since the list was shown
            await self.send(chat, [msg.ZALO_PASSAGE_GONE])
            return
        await self.send(chat, render_full(choice, hit))

    def _remember(self, chat: Chat, answer: Answer) -> None:
        if answer.found and answer.hits:
            self.sessions.put(chat.chat_id, Session(
                question=answer.question, passage_ids=[h.passage_id for h in answer.hits],
                offset=answer.offset, has_more=answer.has_more))
        elif answer.offset == 0:
            self.sessions.drop(chat.chat_id)

    async def _log_question(self, chat: Chat, answer: Answer) -> None:
        if self.querylog is None:
            return
        try:
            await asyncio.to_thread(
                self.querylog.record, channel="zalo", user_id=chat.user_id, chat_id=chat.chat_id,
                chat_type="group" if chat.group else "private", question=answer.question, found=answer.found,
                doc_ids=[h.doc_id for h in answer.hits], index_version=answer.index_version)
        except Exception:  # the answer matters more than its log line
            log.exception("could not record a question in the query log")

    # ------------------------------------------------------------------ commands

    async def cmd_start(self, chat: Chat, arg: str) -> None:
        await self.send(chat, [self._with_admin_help(chat, msg.ZALO_WELCOME)])

    async def cmd_help(self, chat: Chat, arg: str) -> None:
        await self.send(chat, [self._with_admin_help(chat, msg.ZALO_HELP)])

    async def cmd_hoi(self, chat: Chat, arg: str) -> None:
        if not arg:
            await self.send(chat, [msg.ZALO_HOI_USAGE])
            return
        await self.ask(chat, arg)

    async def cmd_vanban(self, chat: Chat, arg: str) -> None:
        if not arg:
            await self.send(chat, [msg.ZALO_VANBAN_USAGE])
            return
        card = await asyncio.to_thread(self.service.document_card, arg)
        if card is None:
            await self.send(chat, [msg.ZALO_VANBAN_NOT_A_NUMBER.format(text=arg[:80])])
            return
        if card.mentions:
            self.sessions.put(chat.chat_id, Session(question=arg, passage_ids=[h.passage_id for h in card.mentions]))
        await self.send(chat, render_card(card, self._mention(chat)))

    async def cmd_danhsach(self, chat: Chat, arg: str) -> None:
        refs = await asyncio.to_thread(self.service.documents)
        await self.send(chat, render_documents(refs))

    async def cmd_reindex(self, chat: Chat, arg: str) -> None:
        if not await self._admin(chat, "/reindex"):
            return
        if self._reindexing.locked():
            await self.send(chat, [msg.ZALO_REINDEX_BUSY])
            return
        async with self._reindexing:
            await self.send(chat, [msg.ZALO_REINDEX_STARTED])
            try:
                report = await asyncio.to_thread(self.service.reindex)
            except Exception as exc:
                log.exception("reindex requested on Zalo failed")
                await self.send(chat, [msg.ZALO_REINDEX_ERROR.format(reason=str(exc)[:300] or type(exc).__name__)])
                return
            await self.send(chat, render_report(report))

    async def cmd_thongke(self, chat: Chat, arg: str) -> None:
        if not await self._admin(chat, "/thongke"):
            return
        if self.querylog is None:
            stats = QueryStats()
        else:
            stats = await asyncio.to_thread(self.querylog.stats)
        info = await asyncio.to_thread(self.service.info)
        await self.send(chat, render_stats(stats, info))

    async def _admin(self, chat: Chat, command: str) -> bool:
        if chat.user_id in self.admin_ids:
            return True
        log.warning("user %s is not an admin: %s refused", chat.user_id, command)
        await self.send(chat, [msg.ZALO_ADMIN_ONLY.format(command=command)])
        return False

    def _with_admin_help(self, chat: Chat, text: str) -> str:
        return f"{text}\n\n{msg.ZALO_HELP_ADMIN}" if chat.user_id in self.admin_ids else text

    def _mention(self, chat: Chat) -> str | None:
        return self.names[0] if chat.group and self.names else None

    # ------------------------------------------------------------------ sending

    async def send(self, chat: Chat, texts: Sequence[str]) -> None:
        """Send messages in order; the client retries 429 and network errors, so a reply is not dropped."""
        for text in texts:
            if text:
                await self.client.send_message(chat.chat_id, text[:MESSAGE_LIMIT])

    async def _typing(self, chat: Chat) -> None:
        try:
            await self.client.send_chat_action(chat.chat_id, "typing")
        except ZaloApiError as exc:
            log.debug("typing indicator not sent: %s", exc)


class _WebhookHandler:
    """A minimal HTTP/1.1 endpoint: POST <path> with the secret header -> 200 and the update is dispatched."""

    def __init__(self, path: str, secret: str, dispatch: Callable[[dict], None]):
        self.path = path
        self.secret = secret.encode("utf-8")
        self.dispatch = dispatch

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        status = 400
        try:
            async with asyncio.timeout(15):
                status = await self._read(reader)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            log.info("bad webhook request: %s", type(exc).__name__)
            status = 400
        except Exception:
            log.exception("webhook request failed")
            status = 500
        body = json.dumps({"ok": status == 200}).encode()
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
                  405: "Method Not Allowed", 413: "Payload Too Large", 500: "Internal Server Error"}[status]
        try:
            writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    async def _read(self, reader: asyncio.StreamReader) -> int:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if target.split("?", 1)[0] != self.path:
            return 404
        if method != "POST":
            return 405
        given = headers.get(SECRET_HEADER.lower(), "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self.secret):
            log.warning("webhook request without the right %s header refused", SECRET_HEADER)
            return 403
        length = int(headers.get("content-length") or 0)
        if length > MAX_WEBHOOK_BODY:
            return 413
        update = json.loads(await reader.readexactly(length)) if length else None
        if not isinstance(update, dict):
            return 400
        self.dispatch(update)
        return 200


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


# ====================================================================== entry point


def serve(config: Config) -> int:
    """`directive-bot serve zalo`: run until SIGINT/SIGTERM. Returns the process exit status."""
    try:
        token, secret = _secrets(config)
    except ZaloStartupError as exc:  # configuration: exit 2 like every usage or config error
        print(f"directive-bot serve zalo: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(run(config, token, secret))
    except ZaloStartupError as exc:
        print(f"directive-bot serve zalo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _secrets(config: Config) -> tuple[str, str]:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ZaloStartupError(f"{TOKEN_ENV} is not set. Create a bot in the Zalo Bot Creator and export "
                               f"its token: export {TOKEN_ENV}=... (see docs/zalo.md)")
    secret = ""
    if config.zalo.mode == "webhook":
        secret = os.environ.get(SECRET_ENV, "").strip()
        if not 8 <= len(secret) <= 256:
            raise ZaloStartupError(f"zalo.mode is webhook: set {SECRET_ENV} to a random string of 8-256 "
                                   f"characters (got {len(secret)})")
    return token, secret


async def run(config: Config, token: str, secret: str = "", stop: asyncio.Event | None = None,
              service: Any = None) -> None:
    """Check the token, load the index, then poll or serve the webhook until `stop` is set."""
    if stop is None:
        stop = asyncio.Event()
        _on_signals(stop)
    async with ZaloClient(token, config.zalo.api_base_url) as client:
        bot = ZaloBot(service, client, config.zalo)
        try:
            await bot.start()
        except ZaloApiError as exc:
            if exc.fatal:
                raise ZaloStartupError(f"Zalo refused the bot token (error {exc.error_code}: {exc.description}); "
                                       f"check {TOKEN_ENV}") from None
            raise ZaloStartupError(f"cannot reach the Zalo Bot API at {config.zalo.api_base_url}: {exc}") from None
        if service is None:
            from bot.service.answering import AnswerService  # loading the index is slow: only once the token works

            service = await asyncio.to_thread(AnswerService, config)
        bot.service = service
        bot.querylog = querylog = QueryLog(config.querylog.path)
        watcher = asyncio.create_task(_watch_index(service, stop))
        log.info("Zalo bot %s started (%s)", bot.names[0] if bot.names else "", config.zalo.mode)
        try:
            if config.zalo.mode == "webhook":
                await bot.start_webhook(secret)
                await stop.wait()
            else:
                await bot.run_polling(stop)
        except ZaloApiError as exc:
            if exc.fatal:
                raise ZaloStartupError(f"Zalo refused the bot token while running (error {exc.error_code}: "
                                       f"{exc.description}); check {TOKEN_ENV}") from None
            raise
        finally:
            watcher.cancel()
            await bot.close()
            querylog.close()
            log.info("Zalo bot stopped")


async def _watch_index(service: Any, stop: asyncio.Event) -> None:
    """Pick up an index version switched in by another process (e.g. `directive-bot index`)."""
    while not stop.is_set():
        await _sleep_unless(stop, INDEX_CHECK_SECONDS)
        try:
            await asyncio.to_thread(service.reload_if_changed)
        except Exception:
            log.exception("checking for a new index version failed")


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread, or Windows
            loop.add_signal_handler(sig, stop.set)
