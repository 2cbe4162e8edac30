"""What the Telegram handlers share: the service, the admin flow, button payloads, follow-ups, rate limits.

Each piece of per-process state sits behind its own small object, so it can move to a shared store.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telegram.ext import ContextTypes

from bot.channels.followups import Sessions, StoredSessions
from bot.config import Config
from bot.service.admin import Admin
from bot.service.querylog import ButtonPayloads, QueryLog

if TYPE_CHECKING:
    from bot.service.answering import AnswerService

CHANNEL = "telegram"
BUTTON_TTL_SECONDS = 2 * 24 * 3600


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


class StoredLimiter(QuestionLimiter):
    """The same limit kept in the state store: a user landing on another worker is still counted.
    A redelivered update (the same key) is counted once."""

    def __init__(self, store, per_minute: int):
        self.store = store  # bot.service.state.StateStore
        self.per_minute = per_minute

    def wait_seconds(self, user_id: int, key: str | None = None) -> int:
        return self.store.rate_wait(CHANNEL, user_id, self.per_minute, event_key=key)


@dataclass
class Deps:
    """What the handlers need, kept in application.bot_data["deps"]."""

    config: Config
    service: AnswerService
    querylog: QueryLog
    admin: Admin = field(init=False)
    buttons: ButtonPayloads = field(init=False)
    limiter: QuestionLimiter = field(init=False)
    followups: Sessions = field(init=False)

    def __post_init__(self) -> None:
        self.admin = Admin(self.service, self.config, self.querylog)
        self.buttons = ButtonPayloads(self.querylog, ttl=BUTTON_TTL_SECONDS)
        # shared by every worker through the state store (the query log's database)
        self.limiter = StoredLimiter(self.querylog.store, self.config.telegram.questions_per_minute)
        self.followups = StoredSessions(self.querylog.store, CHANNEL)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.config.telegram.admin_ids


def deps(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    return context.application.bot_data["deps"]
