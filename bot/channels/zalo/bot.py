"""The Zalo bot: turns Zalo updates (from polling or the webhook) into service calls and plain-text replies.

Zalo has no buttons, so each answer ends with typed follow-ups ("thêm", "1", "2", "3") that read the chat's
follow-up state. Admin work (reindex, statistics) goes through bot.service.admin, as on Telegram.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot import messages as msg
from bot.channels import followups, text
from bot.channels.followups import Session, Sessions, StoredSessions
from bot.channels.quizflow import QuizChats, StoredQuizChats, is_share
from bot.channels.zalo import render
from bot.channels.zalo.client import ZaloApiError, ZaloClient, ZaloQuotaExceeded
from bot.config import Config
from bot.service.admin import Admin
from bot.service.querylog import QueryLog
from bot.service.quiz import QuizService
from bot.service.state.gate import OK, UpdateGate

if TYPE_CHECKING:
    from bot.service.answering import AnswerService

log = logging.getLogger(__name__)

CHANNEL = "zalo"
SEEN_MESSAGE_IDS = 10_000
TEXT_EVENT = "message.text.received"
# documented events that carry something the bot cannot read: a short "send text" reply in private chats
EXPLAINED_EVENTS = {
    "message.image.received": msg.ZALO_IMAGE,
    "message.sticker.received": msg.ZALO_STICKER,
    "message.voice.received": msg.ZALO_VOICE,
}
# carries no content at all: nothing to answer
SILENT_EVENTS = frozenset({"message.unsupported.received"})
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\S+)?(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Chat:
    """Where a message came from and who sent it."""

    chat_id: str
    user_id: str
    group: bool


@dataclass
class SeenIds:
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


def message_key(update: object) -> str:
    """The Zalo `message_id` of an update ("" when it has none): the key of exactly-once handling."""
    unwrapped = unwrap(update)
    message = unwrapped.get("message") if unwrapped is not None else None
    return str(message.get("message_id") or "") if isinstance(message, dict) else ""


def unwrap(update: object) -> dict | None:
    """The update itself, whether Zalo delivered it bare or inside {"ok": true, "result": {...}}."""
    if isinstance(update, dict) and "event_name" not in update and isinstance(update.get("result"), dict):
        update = update["result"]
    if isinstance(update, dict) and ("event_name" in update or "message" in update):
        return update
    return None


class ZaloBot:
    """One bot token: routes each update to a command, a follow-up or a question, and replies."""

    def __init__(self, service: AnswerService | None, client: ZaloClient, config: Config,
                 querylog: QueryLog | None = None, *, sessions: Sessions | None = None):
        self.config = config
        self.client = client
        self.sessions = sessions or Sessions()
        self.admin_ids = {str(a) for a in config.zalo.admin_ids}
        self.names: list[str] = []
        self.service: AnswerService | None = None
        self.querylog: QueryLog | None = None
        self.admin: Admin | None = None
        self._seen = SeenIds()
        self.gate: UpdateGate | None = None  # set when a state store is shared (app.run): exactly-once
        self.store = None  # the shared StateStore (share_state): follow-ups and quiz series live there
        self._tasks: set[asyncio.Task] = set()
        self._chat_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._commands: dict[str, Callable[[Chat, str], Awaitable[None]]] = {
            "start": self.cmd_start, "help": self.cmd_help, "hoi": self.cmd_hoi,
            "vanban": self.cmd_vanban, "danhsach": self.cmd_danhsach,
            "reindex": self.cmd_reindex, "thongke": self.cmd_thongke, "ontap": self.cmd_ontap,
        }
        self._quizzes: QuizChats | None = None
        if service is not None:
            self.attach(service, querylog)

    def attach(self, service: AnswerService, querylog: QueryLog | None) -> None:
        """Serve answers from `service` (loaded once the token is known to work)."""
        self.service, self.querylog = service, querylog
        self.admin = Admin(service, self.config, querylog)

    def share_state(self, store, holder: str | None = None) -> None:
        """Keep the chat state in `store` (a StateStore shared by the workers): a follow-up or a quiz reply
        is understood by whichever worker gets it, and each message_id is answered once (`holder`: this
        worker's name in the update claims)."""
        self.store = store
        self.sessions = StoredSessions(store, CHANNEL)
        self._quizzes = None
        self.gate = UpdateGate(store, CHANNEL, holder=holder)

    async def start(self) -> dict:
        """Check the token with getMe; raises ZaloApiError (`.fatal` for 401)."""
        me = await self.client.get_me() or {}
        names = [self.config.zalo.bot_name] + [me.get(k) for k in ("display_name", "account_name", "name")]
        self.names = [n for n in dict.fromkeys(names) if isinstance(n, str) and n.strip()]
        return me

    async def close(self) -> None:
        """Let the replies in progress finish."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=30)
        if self.gate is not None:
            await self.gate.close()

    def dispatch(self, update: object) -> None:
        """Handle a polled update in the background (replies to one chat stay in order)."""
        task = asyncio.get_running_loop().create_task(self.process(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def process(self, update: object) -> int:
        """Handle one update exactly once; returns the HTTP status the webhook answers.

        With a gate (a shared state store), the update's message_id is claimed first: 200 once the reply is
        sent and recorded, or at once when it was answered before (no second reply); 503 while another
        worker handles it; 500 when the reply could not be sent (the claim is released for a redelivery).
        Without one, duplicates are only caught within this process.
        """
        key = message_key(update)
        if self.gate is None or not key:
            await self.handle_update(update)
            return OK
        return await self.gate.run(key, lambda: self._reply(update))

    # ------------------------------------------------------------------ one update

    async def handle_update(self, update: object) -> None:
        """Reply to one update unless this process saw its message_id before. Never raises."""
        key = message_key(update)
        if key and not self._seen.add(key):
            log.info("duplicate update %s ignored", key)
            return
        await self._reply(update)

    async def _reply(self, update: object) -> bool:
        """Reply to one update; False only when the reply could not be sent (the platform may deliver the
        update again). Never raises: a failure is logged and the user told, the bot keeps running."""
        try:
            parsed = self._parse(update)
        except Exception:
            log.warning("malformed update ignored", exc_info=True)
            return True
        if parsed is None:
            return True
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
                return False
            except Exception:
                log.exception("handling message %s in chat %s failed", message_id, chat.chat_id)
                try:
                    await self.send(chat, [msg.SERVICE_UNAVAILABLE])
                except Exception as exc:  # the API itself may be what failed
                    log.error("could not tell chat %s about the failure: %s", chat.chat_id, exc)
                    return False
        return True

    def _parse(self, update: object) -> tuple[Chat, str, str, dict] | None:
        """(chat, event, message id, message), or None for an update to skip (duplicate, from a bot, ...)."""
        unwrapped = unwrap(update)
        if unwrapped is None:
            log.warning("ignoring a webhook/poll body that is not a Zalo update (keys: %s)",
                        sorted(update)[:8] if isinstance(update, dict) else type(update).__name__)
            return None
        message = unwrapped.get("message")
        if not isinstance(message, dict):
            log.debug("ignoring an update without a message")
            return None
        message_id = str(message.get("message_id") or "")
        where = message.get("chat") if isinstance(message.get("chat"), dict) else {}
        sender = message.get("from") if isinstance(message.get("from"), dict) else {}
        chat_id = str(where.get("id") or "")
        if not chat_id or sender.get("is_bot"):
            return None
        chat = Chat(chat_id=chat_id, user_id=str(sender.get("id") or ""),
                    group=str(where.get("chat_type") or "").upper() == "GROUP")
        return chat, str(unwrapped.get("event_name") or ""), message_id, message

    async def _route(self, chat: Chat, event: str, message: dict) -> None:
        if event == TEXT_EVENT or (not event and isinstance(message.get("text"), str)):
            # the documented getUpdates sample carries no event_name: a message with text is a text message
            await self.on_text(chat, message["text"] if not event else str(message.get("text") or ""))
        elif event in EXPLAINED_EVENTS:
            await self.send(chat, [EXPLAINED_EVENTS[event]])
        elif event in SILENT_EVENTS:
            log.debug("unsupported message (no content) in chat %s: no reply", chat.chat_id)
        else:
            log.info("ignoring event %r", event[:60])

    async def on_text(self, chat: Chat, content: str) -> None:
        """Zalo delivers a group message only when it mentions the bot or replies to it: every delivered
        message is addressed to the bot, so a leading @name is only dropped."""
        content = content.strip()
        if chat.group:
            content = self._strip_mention(content)
        if not content:
            await self.send(chat, [msg.ZALO_HELP])
            return
        command = _COMMAND.match(content)
        if command:
            name = command.group(1).lower()
            handler = self._commands.get(name)
            if handler is None:
                await self.send(chat, [msg.ZALO_UNKNOWN_COMMAND.format(command="/" + name)])
            else:
                await handler(chat, (command.group(2) or "").strip())
        elif text.is_more(content):
            await self.more(chat)
        elif (number := followups.choice(content)) is not None and self.quizzes.pending(chat.chat_id):
            await self.send(chat, [self.quizzes.answer(chat.chat_id, number)])
        elif is_share(content):
            await self.send(chat, [self.quizzes.share(chat.chat_id) or msg.QUIZ_NOTHING_TO_SHARE])
        elif (number := followups.choice(content)) is not None:
            await self.full(chat, number)
        elif (step := followups.unit_step(self._unit(chat), content)) is not None:
            await self.unit(chat, step)
        elif followups.is_official_word(content):
            await self.official(chat)
        else:
            await self.ask(chat, content)

    def _strip_mention(self, content: str) -> str:
        """Drop a leading "@name". getMe's documented answer has no display name, so an unknown "@..." is
        dropped up to the follow-up or command that comes after it ("@Hỏi đáp văn bản thêm" -> "thêm"),
        else only its first word (a question keeps its meaning with a stray word or two)."""
        lowered = content.lower()
        for name in sorted(self.names, key=len, reverse=True):
            tag = "@" + name.lower()
            if lowered.startswith(tag):
                return content[len(tag):].strip(" ,:\n")
        if not content.startswith("@"):
            return content
        words = content[1:].split()
        for skip in range(1, min(len(words), 6)):
            tail = " ".join(words[skip:])
            if text.is_more(tail) or followups.choice(tail) is not None or tail.startswith("/"):
                return tail
        return " ".join(words[1:])

    # ------------------------------------------------------------------ questions and follow-ups

    async def ask(self, chat: Chat, question: str) -> None:
        await self._typing(chat)
        answer = await asyncio.to_thread(self.service.answer, question)
        if self.querylog is not None:
            await asyncio.to_thread(self.querylog.record_answer, channel=CHANNEL, user_id=chat.user_id,
                                    chat_id=chat.chat_id, chat_type="group" if chat.group else "private",
                                    answer=answer)
        self.sessions.remember(chat.chat_id, answer)
        self.quizzes.remember_answer(chat.chat_id, answer)
        await self.send(chat, await self._render(answer, chat))

    async def _render(self, answer, chat: Chat) -> list[str]:
        """An article lookup's unit whole; else the result list, with the "chính thức" word when news led."""
        if answer.unit is not None and answer.found:
            return render.render_unit(answer, self._mention(chat))
        official = followups.news_first(answer) and await asyncio.to_thread(followups.official_offered,
                                                                            self.service, answer)
        return render.render_answer(answer, self._mention(chat), official)

    def _unit(self, chat: Chat):
        session = self.sessions.get(chat.chat_id)
        return session.unit if session is not None else None

    async def unit(self, chat: Chat, path: str) -> None:
        """"trước" / "sau" / "toàn điều" after an article lookup: that unit, whole."""
        unit = self._unit(chat)
        if unit is None or not path:
            await self.send(chat, [followups.unit_hint(unit) if unit else msg.CHAT_NO_UNIT])
            return
        await self._typing(chat)
        answer = await asyncio.to_thread(self.service.unit, unit.doc_id, path)
        if not answer.found:
            await self.send(chat, [answer.message or msg.NOT_FOUND])
            return
        self.sessions.remember(chat.chat_id, answer)
        await self.send(chat, render.render_unit(answer, self._mention(chat)))

    async def official(self, chat: Chat) -> None:
        """"chính thức": the last question again, over official texts only ("thêm" keeps that)."""
        session = self.sessions.get(chat.chat_id)
        if session is None:
            await self.send(chat, [msg.CHAT_NO_QUESTION_FOR_OFFICIAL])
            return
        await self._typing(chat)
        answer = await asyncio.to_thread(self.service.answer, session.question, doc_filter=followups.OFFICIAL_ONLY)
        self.sessions.remember(chat.chat_id, answer, official_only=True)
        await self.send(chat, render.render_answer(answer, self._mention(chat)))

    async def more(self, chat: Chat) -> None:
        session = self.sessions.get(chat.chat_id)
        if session is None:
            await self.send(chat, [msg.NOTHING_TO_CONTINUE])
            return
        if not session.has_more:
            await self.send(chat, [msg.ZALO_NO_MORE])
            return
        await self._typing(chat)
        offset = session.offset + len(session.passage_ids)
        only = followups.OFFICIAL_ONLY if session.official_only else None
        answer = await asyncio.to_thread(self.service.answer, session.question, offset=offset, doc_filter=only)
        if not answer.found:
            session.has_more = False
            await self.send(chat, [msg.ZALO_NO_MORE])
            return
        self.sessions.remember(chat.chat_id, answer, official_only=only is not None)
        await self.send(chat, render.render_answer(answer, self._mention(chat)))

    async def full(self, chat: Chat, choice: int) -> None:
        session = self.sessions.get(chat.chat_id)
        if session is None:
            await self.send(chat, [msg.NOTHING_TO_CONTINUE])
            return
        if not 1 <= choice <= len(session.passage_ids):
            await self.send(chat, [msg.CHOICE_OUT_OF_RANGE.format(count=len(session.passage_ids))])
            return
        hit = await asyncio.to_thread(self.service.passage, session.passage_ids[choice - 1])
        if hit is None:  # the index changed since the list was shown
            await self.send(chat, [msg.ZALO_PASSAGE_GONE])
            return
        await self.send(chat, render.render_full(choice, hit))

    # ------------------------------------------------------------------ commands

    @property
    def quizzes(self) -> QuizChats:
        if self._quizzes is None:
            quiz = QuizService(self.service)
            self._quizzes = QuizChats(quiz) if self.store is None else StoredQuizChats(quiz, self.store, CHANNEL)
        return self._quizzes

    async def cmd_ontap(self, chat: Chat, arg: str) -> None:
        """/ontap [N] [chủ đề]: a question with numbered options; the reply "1"-"4" answers it."""
        await self.send(chat, [await asyncio.to_thread(self.quizzes.start, chat.chat_id, arg)])

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
        await self.send(chat, render.render_card(card, self._mention(chat)))

    async def cmd_danhsach(self, chat: Chat, arg: str) -> None:
        refs = await asyncio.to_thread(self.service.documents)
        await self.send(chat, render.render_documents(refs))

    async def cmd_reindex(self, chat: Chat, arg: str) -> None:
        if not await self._admin(chat, "/reindex"):
            return
        if self.admin.busy:
            await self.send(chat, [msg.ZALO_REINDEX_BUSY])
            return
        await self.send(chat, [msg.ZALO_REINDEX_STARTED])
        outcome = await self.admin.reindex()
        if outcome.busy:
            await self.send(chat, [msg.reindex_busy(msg.ZALO_REINDEX_BUSY, outcome.holder)])
        elif outcome.error:
            await self.send(chat, [msg.ZALO_REINDEX_ERROR.format(reason=outcome.error)])
        else:
            await self.send(chat, render.render_report(outcome.report))

    async def cmd_thongke(self, chat: Chat, arg: str) -> None:
        if not await self._admin(chat, "/thongke"):
            return
        stats = await asyncio.to_thread(self.admin.stats)
        notes = []
        if self.client.quota_exceeded_since is not None:
            since = time.strftime("%d/%m/%Y %H:%M", time.localtime(self.client.quota_exceeded_since))
            notes.append(msg.ZALO_STATS_QUOTA.format(since=since))
        await self.send(chat, render.render_stats(stats.queries, stats.index, notes))

    async def _admin(self, chat: Chat, command: str) -> bool:
        if chat.user_id in self.admin_ids:
            return True
        log.warning("user %s is not an admin: %s refused", chat.user_id, command)
        await self.send(chat, [msg.ZALO_ADMIN_ONLY.format(command=command)])
        return False

    def _with_admin_help(self, chat: Chat, content: str) -> str:
        return f"{content}\n\n{msg.ZALO_HELP_ADMIN}" if chat.user_id in self.admin_ids else content

    def _mention(self, chat: Chat) -> str | None:
        return self.names[0] if chat.group and self.names else None

    # ------------------------------------------------------------------ sending

    async def send(self, chat: Chat, texts: Sequence[str]) -> None:
        """Send messages in order. Once the monthly quota is spent, the rest of the reply is dropped
        (the client has logged it; /thongke shows it)."""
        for part in texts:
            if part:
                try:
                    await self.client.send_message(chat.chat_id, part[:render.MESSAGE_LIMIT])
                except ZaloQuotaExceeded:
                    return

    async def _typing(self, chat: Chat) -> None:
        try:
            await self.client.send_chat_action(chat.chat_id, "typing")
        except ZaloApiError as exc:
            log.debug("typing indicator not sent: %s", exc)
