"""Exactly-once handling of webhook updates across workers: an update is acknowledged (HTTP 200) only
once its reply is sent and recorded; an update already recorded is acknowledged without a second reply.

A worker that dies between sending a reply and recording it leaves the update claimed; when its lease
runs out (LEASE_SECONDS, renewed while a worker is alive and working), the platform's next delivery is
handled by another worker, which sends the reply again: at most one duplicate, never a loss.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable

from bot.service.state.store import BUSY, DONE, NEW, StateStore

log = logging.getLogger(__name__)

LEASE_SECONDS = 20.0
RENEW_EVERY_SECONDS = 5.0

OK, RETRY_LATER, FAILED = 200, 503, 500


def worker_name() -> str:
    """host:pid:random - unique among the workers sharing a database."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class UpdateGate:
    """Wraps the handling of one update: claim it, handle it, record it; returns the HTTP status to answer.

    `handle` returns True when the reply went out (or none was due), False when it could not be sent
    (the update is released, and the platform delivers it again).
    """

    def __init__(self, store: StateStore, channel: str, holder: str | None = None,
                 lease: float = LEASE_SECONDS, renew_every: float = RENEW_EVERY_SECONDS):
        self.store = store
        self.channel = channel
        self.holder = holder or worker_name()
        self.lease = lease
        self.renew_every = renew_every
        self._working: set[str] = set()
        self._renewer: asyncio.Task | None = None

    async def run(self, update_id: str | int, handle: Callable[[], Awaitable[bool]]) -> int:
        key = str(update_id)
        if key in self._working:  # a duplicate delivered to this worker while it is still handling the first
            log.info("%s update %s is being handled by this worker: asking for a redelivery", self.channel, key)
            return RETRY_LATER
        self._working.add(key)  # before the claim: the same worker claiming twice would take it over
        try:
            claim = await asyncio.to_thread(self.store.claim_update, self.channel, key, self.holder, self.lease)
        except Exception:
            self._working.discard(key)
            log.exception("%s update %s: the state database is unavailable; asking for a redelivery", self.channel, key)
            return RETRY_LATER
        if claim != NEW:
            self._working.discard(key)
        if claim == DONE:
            log.info("%s update %s was answered before: acknowledged without a second reply", self.channel, key)
            return OK
        if claim == BUSY:
            log.info("%s update %s is being handled by another worker: asking for a redelivery", self.channel, key)
            return RETRY_LATER
        self._ensure_renewer()
        try:
            return await self._handle(key, handle)
        finally:  # only once the outcome is recorded: a duplicate meanwhile must not be taken over
            self._working.discard(key)

    async def _handle(self, key: str, handle: Callable[[], Awaitable[bool]]) -> int:
        try:
            sent = await handle()
        except Exception:
            log.exception("%s update %s: handling failed", self.channel, key)
            sent = False
        try:
            if sent:
                await asyncio.to_thread(self.store.finish_update, self.channel, key)
                return OK
            await asyncio.to_thread(self.store.release_update, self.channel, key, self.holder)
        except Exception:
            log.exception("%s update %s: could not record the outcome", self.channel, key)
        return FAILED

    def _ensure_renewer(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        while self._working:
            await asyncio.sleep(self.renew_every)
            try:
                await asyncio.to_thread(self.store.renew_updates, self.channel, list(self._working),
                                        self.holder, self.lease)
            except Exception:
                log.warning("%s: renewing the leases of updates in progress failed", self.channel, exc_info=True)

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
