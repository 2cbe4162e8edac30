"""Flood control for the Telegram channel: requests wait out `RetryAfter` and retry network errors."""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)


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
