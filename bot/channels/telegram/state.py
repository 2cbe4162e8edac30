"""What the Telegram handlers share: the service, the admin flow, button payloads, follow-ups, rate limits.

Each piece of per-process state sits behind its own small object, so it can move to a shared store.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telegram.ext import ContextTypes

from bot.channels.followups import Sessions
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


@dataclass
class Deps:
    """What the handlers need, kept in application.bot_data["deps"]."""

    config: Config
    service: AnswerService
    querylog: QueryLog
    admin: Admin = field(init=False)
    buttons: ButtonPayloads = field(init=False)
    limiter: QuestionLimiter = field(init=False)
    followups: Sessions = field(default_factory=Sessions)

    def __post_init__(self) -> None:
        self.admin = Admin(self.service, self.config, self.querylog)
        self.buttons = ButtonPayloads(self.querylog, ttl=BUTTON_TTL_SECONDS)
        self.limiter = QuestionLimiter(self.config.telegram.questions_per_minute)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.config.telegram.admin_ids


def deps(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    return context.application.bot_data["deps"]
