"""Quizzes in text channels (Zalo, the terminal): /ontap shows a question with numbered options, the reply
"1"-"4" gets right or wrong with the clause, the next question of a series follows; "chia sẻ" gives the
compact card of the last quiz answer or of the last answer to a question.
"""

from __future__ import annotations

import dataclasses
import random
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from bot import messages
from bot.channels.followups import ExpiringChats
from bot.channels.quiztext import format_item, format_result, share_hit, share_item
from bot.models import Answer
from bot.service.quiz import QuizService, parse_count
from bot.service.quizrules import QuizItem

QUIZ_SECONDS = 30 * 60
SWAP_TRIES = 3  # a reply racing another worker's reply of the same chat reads the series again
MAX_CHATS = 10_000
_SHARE_WORDS = {"chia sẻ", "chia se", "chiase", "share"}


def is_share(typed: str) -> bool:
    return unicodedata.normalize("NFC", typed or "").lower().strip(" .!?") in _SHARE_WORDS


@dataclass
class _Chat:
    items: list[QuizItem] = field(default_factory=list)  # the series; items[position] waits for a reply
    position: int = 0
    share: str = ""  # the card "chia sẻ" sends
    stored: dict | None = field(default=None, compare=False)  # the state as read from a store

    @property
    def waiting(self) -> QuizItem | None:
        return self.items[self.position] if self.position < len(self.items) else None


class QuizChats:
    """Per-chat quiz state for text channels, in this process's memory (the terminal, one worker): forgotten
    after `ttl` seconds without use. StoredQuizChats keeps the same state in the shared state store."""

    def __init__(self, quiz: QuizService, ttl: float = QUIZ_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.quiz = quiz
        self.ttl = ttl
        self._chats: ExpiringChats[_Chat] = ExpiringChats(ttl, MAX_CHATS, clock)

    def _load(self, chat_id: str) -> _Chat | None:
        """The chat's state, its life extended by `ttl`; None when there is none or it expired."""
        return self._chats.get(chat_id)

    def _save(self, chat_id: str, chat: _Chat, swap: bool = False) -> bool:
        """Keep the chat's state; `swap`: only if nobody changed it since it was loaded (False if someone did)."""
        self._chats.put(chat_id, chat)
        return True

    def start(self, chat_id: str, arg: str, seed: int | None = None) -> str:
        """/ontap [N] [chủ đề]: the first question of a series (or why there is none)."""
        count, topic = parse_count(arg)
        seed = random.SystemRandom().randrange(2 ** 32) if seed is None else seed
        items = self.quiz.draw(topic, count=count, seed=seed)
        if not items:
            return messages.QUIZ_NO_TOPIC.format(topic=topic) if topic and self.quiz.pool().items \
                else messages.QUIZ_NO_ITEMS
        chat = self._load(chat_id) or _Chat()
        chat.items, chat.position = items, 0
        self._save(chat_id, chat)
        return format_item(items[0], 1, len(items))

    def pending(self, chat_id: str) -> bool:
        chat = self._load(chat_id)
        return chat is not None and chat.waiting is not None

    def answer(self, chat_id: str, choice: int) -> str:
        """Right or wrong with the clause (choice counts from 1), then the next question of the series."""
        for attempt in range(1, SWAP_TRIES + 1):
            chat = self._load(chat_id)
            item = chat.waiting if chat is not None else None
            if item is None:
                return messages.QUIZ_NO_PENDING
            if not 1 <= choice <= len(item.options):
                return messages.QUIZ_REPLY_HINT.format(first=1, last=len(item.options))
            chat.position += 1
            chat.share = share_item(item)
            if self._save(chat_id, chat, swap=attempt < SWAP_TRIES):
                break
        reply = format_result(item, choice - 1)
        if chat.waiting is not None:
            reply += "\n\n" + format_item(chat.waiting, chat.position + 1, len(chat.items))
        return reply

    def remember_answer(self, chat_id: str, answer: Answer) -> None:
        """After an answer to a question: "chia sẻ" shares its best passage; a quiz in progress ends."""
        chat = self._load(chat_id)
        card = None
        if answer.found and answer.hits:
            card = share_hit(answer.hits[0], answer.short.text if getattr(answer, "short", None) else "")
        if chat is None and card is None:
            return  # nothing to end, nothing to share: no state for this chat
        chat = chat or _Chat()
        chat.items, chat.position = [], 0
        if card is not None:
            chat.share = card
        self._save(chat_id, chat)

    def share(self, chat_id: str) -> str | None:
        chat = self._load(chat_id)
        return chat.share if chat is not None and chat.share else None


class StoredQuizChats(QuizChats):
    """The same quiz state kept in the state store (the `sessions` table, under the channel name plus
    "-quiz", chat ids hashed), so a reply reaching another worker, or this one after a restart, continues
    the series. The items are stored whole: the series goes on even if the index changes meanwhile."""

    def __init__(self, quiz: QuizService, store, channel: str, ttl: float = QUIZ_SECONDS):
        super().__init__(quiz, ttl)
        self.store = store  # bot.service.state.StateStore (its clock decides expiry)
        self.namespace = f"{channel}-quiz"

    def _load(self, chat_id: str) -> _Chat | None:
        data = self.store.get_session(self.namespace, chat_id, self.ttl)
        if not isinstance(data, dict):
            return None
        try:
            items = [QuizItem(**{**item, "options": tuple(item["options"]),
                                 "distractors": tuple(item["distractors"])}) for item in data["items"]]
            return _Chat(items=items, position=int(data["position"]), share=str(data.get("share", "")), stored=data)
        except (KeyError, TypeError, ValueError):
            return None  # written by another release: as if it had expired

    def _save(self, chat_id: str, chat: _Chat, swap: bool = False) -> bool:
        payload = {"items": [dataclasses.asdict(item) for item in chat.items], "position": chat.position,
                   "share": chat.share}
        if swap and chat.stored is not None:  # a reply: the series must not have moved on meanwhile
            return self.store.replace_session(self.namespace, chat_id, chat.stored, payload, self.ttl)
        self.store.put_session(self.namespace, chat_id, payload, self.ttl)
        return True


def text_reply(quizzes: QuizChats, chat_id: str, typed: str) -> str | None:
    """The quiz's reply to a line typed in a text channel, or None when the line is not for the quiz:
    "/ontap …", a number while a question waits, "chia sẻ"."""
    from bot.channels.followups import choice

    words = typed.strip().split(maxsplit=1)
    if words and words[0].lower() == "/ontap":
        return quizzes.start(chat_id, words[1] if len(words) > 1 else "")
    number = choice(typed)
    if number is not None and quizzes.pending(chat_id):
        return quizzes.answer(chat_id, number)
    if is_share(typed):
        return quizzes.share(chat_id) or messages.QUIZ_NOTHING_TO_SHARE
    return None
