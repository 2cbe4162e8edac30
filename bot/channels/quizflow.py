"""Quizzes in text channels (Zalo, the terminal): /ontap shows a question with numbered options, the reply
"1"-"4" gets right or wrong with the clause, the next question of a series follows; "chia sẻ" gives the
compact card of the last quiz answer or of the last answer to a question.
"""

from __future__ import annotations

import random
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from bot import messages
from bot.channels.quiztext import format_item, format_result, share_hit, share_item
from bot.models import Answer
from bot.service.quiz import QuizService, parse_count
from bot.service.quizrules import QuizItem

QUIZ_SECONDS = 30 * 60
MAX_CHATS = 10_000
_SHARE_WORDS = {"chia sẻ", "chia se", "chiase", "share"}


def is_share(typed: str) -> bool:
    return unicodedata.normalize("NFC", typed or "").lower().strip(" .!?") in _SHARE_WORDS


@dataclass
class _Chat:
    items: list[QuizItem] = field(default_factory=list)  # the series; items[position] waits for a reply
    position: int = 0
    share: str = ""  # the card "chia sẻ" sends
    expires: float = 0.0

    @property
    def waiting(self) -> QuizItem | None:
        return self.items[self.position] if self.position < len(self.items) else None


class QuizChats:
    """Per-chat quiz state for text channels (forgotten after `ttl` seconds without use)."""

    def __init__(self, quiz: QuizService, ttl: float = QUIZ_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.quiz = quiz
        self.ttl = ttl
        self.clock = clock
        self._chats: OrderedDict[str, _Chat] = OrderedDict()

    def _get(self, chat_id: str, create: bool = False) -> _Chat | None:
        chat = self._chats.get(chat_id)
        if chat is not None and chat.expires <= self.clock():
            del self._chats[chat_id]
            chat = None
        if chat is None and create:
            chat = self._chats[chat_id] = _Chat()
        if chat is not None:
            chat.expires = self.clock() + self.ttl
            self._chats.move_to_end(chat_id)
            while len(self._chats) > MAX_CHATS:
                self._chats.popitem(last=False)
        return chat

    def start(self, chat_id: str, arg: str, seed: int | None = None) -> str:
        """/ontap [N] [chủ đề]: the first question of a series (or why there is none)."""
        count, topic = parse_count(arg)
        seed = random.SystemRandom().randrange(2 ** 32) if seed is None else seed
        items = self.quiz.draw(topic, count=count, seed=seed)
        if not items:
            return messages.QUIZ_NO_TOPIC.format(topic=topic) if topic and self.quiz.pool().items \
                else messages.QUIZ_NO_ITEMS
        chat = self._get(chat_id, create=True)
        chat.items, chat.position = items, 0
        return format_item(items[0], 1, len(items))

    def pending(self, chat_id: str) -> bool:
        chat = self._get(chat_id)
        return chat is not None and chat.waiting is not None

    def answer(self, chat_id: str, choice: int) -> str:
        """Right or wrong with the clause (choice counts from 1), then the next question of the series."""
        chat = self._get(chat_id)
        item = chat.waiting if chat is not None else None
        if item is None:
            return messages.QUIZ_NO_PENDING
        if not 1 <= choice <= len(item.options):
            return messages.QUIZ_REPLY_HINT.format(first=1, last=len(item.options))
        chat.position += 1
        chat.share = share_item(item)
        reply = format_result(item, choice - 1)
        if chat.waiting is not None:
            reply += "\n\n" + format_item(chat.waiting, chat.position + 1, len(chat.items))
        return reply

    def remember_answer(self, chat_id: str, answer: Answer) -> None:
        """After an answer to a question: "chia sẻ" shares its best passage; a quiz in progress ends."""
        chat = self._get(chat_id, create=True)
        chat.items, chat.position = [], 0
        if answer.found and answer.hits:
            short = answer.short.text if getattr(answer, "short", None) else ""
            chat.share = share_hit(answer.hits[0], short)

    def share(self, chat_id: str) -> str | None:
        chat = self._get(chat_id)
        return chat.share if chat is not None and chat.share else None


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
