"""Flood control for the Telegram channel: throttling before Telegram does, pauses per chat on `RetryAfter`,
careful retries."""

from __future__ import annotations

import asyncio
import collections
import datetime as dtm
import time
import logging
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)


class _Window:
    """At most `limit` events per `period` seconds: `wait()` returns when one more may start."""

    def __init__(self, limit: int, period: float):
        self.limit, self.period = limit, period
        self.times: collections.deque[float] = collections.deque()

    async def wait(self) -> None:
        while True:
            now = time.monotonic()
            while self.times and self.times[0] <= now - self.period:
                self.times.popleft()
            if len(self.times) < self.limit:
                self.times.append(now)
                return
            await asyncio.sleep(self.times[0] + self.period - now)


class RetryingRateLimiter(BaseRateLimiter[None]):
    """Flood control as python-telegram-bot's "Avoiding flood limits" asks, without extra dependencies.

    Throttles before Telegram does: about 30 messages a second overall and 20 a minute per group. A
    `RetryAfter` pauses sending to that chat for the time Telegram asks, then the request is sent again.
    Network errors before a request left are retried; a `TimedOut` on a send is not, because the message
    may have been delivered (sent twice is worse than a reply the user can ask for again).
    """

    def __init__(self, max_retries: int = 3, max_concurrent: int = 8, backoff: float = 1.0,
                 per_second: int = 30, per_group_minute: int = 20):
        self.max_retries = max_retries
        self.backoff = backoff
        self._slots = asyncio.Semaphore(max_concurrent)
        self._overall = _Window(per_second, 1.0)
        self._per_group_minute = per_group_minute
        self._groups: dict[str, _Window] = {}
        self.paused_until: dict[str, float] = {}  # chat id -> time.monotonic() when sending may resume

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def _throttle(self, chat: str, endpoint: str) -> None:
        pause = self.paused_until.get(chat, 0.0) - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        if endpoint.startswith(("send", "copy", "forward")):
            if chat.startswith("-"):  # a group or channel
                window = self._groups.setdefault(chat, _Window(self._per_group_minute, 60.0))
                await window.wait()
            await self._overall.wait()

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: None) -> Any:
        chat = str(data.get("chat_id", "")) if isinstance(data, dict) else ""
        attempt = 0
        while True:
            await self._throttle(chat, endpoint)
            try:
                async with self._slots:
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= self.max_retries:
                    raise
                delay = _retry_after_seconds(exc)
                self.paused_until[chat] = time.monotonic() + delay
                log.warning("telegram: %s hit flood control, chat paused for %.0f s", endpoint, delay)
            except BadRequest:
                raise  # the request itself is wrong: sending it again cannot help
            except TimedOut:
                if endpoint != "getUpdates" and not endpoint.startswith("get"):
                    log.warning("telegram: %s timed out; not sent again (it may have been delivered)", endpoint)
                    raise
                if attempt >= self.max_retries:
                    raise
                await asyncio.sleep(self.backoff * 2 ** attempt)
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
