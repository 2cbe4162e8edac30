"""Who answered a chat's quiz polls and how many right (/ketqua in Telegram).

QuizScores keeps the polls posted and the scores in this process's memory (one process, no state store);
StoredQuizScores keeps them in the state store shared by the webhook workers, so an answer reaching any
worker is counted and /ketqua on any worker, or after a restart, shows it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

MAX_POLLS = 5000  # in memory: the most recent polls whose answers are counted
SCORE_SECONDS = 30 * 24 * 3600  # stored: a poll, or a member's score in a chat, kept 30 days after last use


@dataclass(frozen=True)
class Score:
    name: str  # the member's display name when last seen answering
    right: int
    answered: int


def ranked(scores: list[Score]) -> list[Score]:
    """Most right first; then fewer answers (fewer tries for as many right), then by name."""
    return sorted(scores, key=lambda s: (-s.right, s.answered, s.name))


class QuizScores:
    """Polls and scores in memory (polls beyond the last MAX_POLLS are forgotten; scores are not)."""

    def __init__(self, max_polls: int = MAX_POLLS):
        self.max_polls = max_polls
        self._polls: OrderedDict[str, tuple[str, int]] = OrderedDict()  # poll id -> chat, correct option
        self._scores: dict[str, dict[str, Score]] = {}  # chat -> user -> score

    def note_poll(self, poll_id: str, chat_id: str | int, correct: int) -> None:
        """A quiz poll the bot posted in the chat: its answers are counted."""
        self._polls[str(poll_id)] = (str(chat_id), int(correct))
        while len(self._polls) > self.max_polls:
            self._polls.popitem(last=False)

    def knows(self, poll_id: str) -> bool:
        return str(poll_id) in self._polls

    def count(self, poll_id: str, user_id: str | int, name: str, option: int) -> bool:
        """A member chose `option` in a poll: counted in the poll's chat; False when the poll is not ours."""
        known = self._polls.get(str(poll_id))
        if known is None:
            return False
        chat, correct = known
        scores = self._scores.setdefault(chat, {})
        old = scores.get(str(user_id), Score(name, 0, 0))
        scores[str(user_id)] = Score(name, old.right + int(option == correct), old.answered + 1)
        return True

    def board(self, chat_id: str | int) -> list[Score]:
        """The chat's scores, best first (empty when nobody answered)."""
        return ranked(list(self._scores.get(str(chat_id), {}).values()))


class StoredQuizScores(QuizScores):
    """The same in the state store's `sessions` table, no migration needed:

    - a poll under the channel "<channel>-poll", keyed by its (hashed) poll id: the hashed chat and the
      correct option;
    - one row per member and chat under the channel "<channel>-score:<hashed chat>", keyed by the hashed
      user id: display name, right, answered.

    One row per member: members answering at once never touch the same row, and one member's answers
    reaching two workers at once are serialised by StateStore.change_session (the row is held while it is
    read and written), so no answer is lost. A row expires SCORE_SECONDS after the member's last answer
    in the chat, a poll SCORE_SECONDS after it was posted or last answered.
    """

    def __init__(self, store, channel: str, ttl: float = SCORE_SECONDS):
        super().__init__()
        self.store = store  # bot.service.state.StateStore
        self.channel = channel
        self.ttl = ttl

    def _board_channel(self, chat_key: str) -> str:
        return f"{self.channel}-score:{chat_key}"  # within the column's 32 characters for "telegram"

    def note_poll(self, poll_id: str, chat_id: str | int, correct: int) -> None:
        self.store.put_session(f"{self.channel}-poll", str(poll_id),
                               {"chat": self.store.anonymous(chat_id), "correct": int(correct)}, self.ttl)

    def _poll(self, poll_id: str) -> tuple[str, int] | None:
        data = self.store.get_session(f"{self.channel}-poll", str(poll_id), self.ttl)
        try:
            return str(data["chat"]), int(data["correct"])
        except (KeyError, TypeError, ValueError):
            return None  # unknown, expired, or written by another release

    def knows(self, poll_id: str) -> bool:
        return self._poll(poll_id) is not None

    def count(self, poll_id: str, user_id: str | int, name: str, option: int) -> bool:
        known = self._poll(poll_id)
        if known is None:
            return False
        chat_key, correct = known

        def add(old: dict | None) -> dict:
            right, answered = _numbers(old)
            return {"name": name, "right": right + int(option == correct), "answered": answered + 1}

        self.store.change_session(self._board_channel(chat_key), str(user_id), add, self.ttl)
        return True

    def board(self, chat_id: str | int) -> list[Score]:
        rows = self.store.list_sessions(self._board_channel(self.store.anonymous(chat_id)))
        scores = []
        for row in rows:
            right, answered = _numbers(row)
            if answered:
                scores.append(Score(str(row.get("name", "")), right, answered))
        return ranked(scores)


def _numbers(row: dict | None) -> tuple[int, int]:
    """(right, answered) of a stored score; (0, 0) for none or one another release wrote."""
    try:
        return int(row["right"]), int(row["answered"])
    except (KeyError, TypeError, ValueError):
        return 0, 0
