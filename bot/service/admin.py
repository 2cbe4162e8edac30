"""What admins do from a chat: reindex (one at a time), install an uploaded document into knowledge/, statistics.

Both chat channels call this; it knows no chat library. Blocking work runs in worker threads, so a reindex
or a heavy upload never holds up the answers other users are waiting for, and the one lock is always
released, whatever fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot import messages
from bot.config import Config
from bot.documents.loading import SUPPORTED_EXTENSIONS, TEXT_EXTENSIONS
from bot.models import Document, Failure, IndexInfo, IndexReport
from bot.service.querylog import QueryLog, QueryStats

if TYPE_CHECKING:
    from bot.service.answering import AnswerService

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


# the store lock a reindex holds, so that workers on several machines sharing one database build one at a time
STORE_LOCK = "reindex"
STORE_LOCK_LEASE = 60.0
STORE_LOCK_RENEW = 15.0


class ReindexBusy(Exception):
    """Another reindex or upload holds the lock (`holder`: the worker holding the store lock, if known)."""

    def __init__(self, holder: str = ""):
        super().__init__(holder)
        self.holder = holder


@dataclass
class ReindexOutcome:
    """How a reindex ended: a report, or the reason (one line, for the admin) it failed."""

    report: IndexReport | None = None
    error: str = ""
    busy: bool = False
    holder: str = ""  # busy: the worker (host:pid:…) whose reindex holds the store lock


@dataclass
class UploadOutcome:
    """How an upload ended. `problem` is the Vietnamese reason it was refused ("" when installed)."""

    name: str = ""
    problem: str = ""
    busy: bool = False
    holder: str = ""
    replaced: bool = False
    size: int = 0
    reindex: ReindexOutcome | None = None


@dataclass
class AdminStats:
    """/thongke: the query log's figures, the index being served (None when it cannot be read), notes."""

    queries: QueryStats
    index: IndexInfo | None
    notes: list[str] = field(default_factory=list)


def supported_extensions() -> tuple[str, ...]:
    """The file extensions the index build reads (for upload checks and help texts)."""
    return SUPPORTED_EXTENSIONS


def safe_filename(name: str) -> str:
    """A file name the indexer reads, without folders: "Chỉ thị 05.DOCX" -> "Chi-thi-05.docx".

    ASCII only; no leading '.' or '_' (the indexer skips those) and no README prefix (skipped too);
    the extension is kept, in lower case. "" when nothing usable is left.
    """
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = base.replace("đ", "d").replace("Đ", "D")
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = ext, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:100].rstrip("-._")
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext).lower()
    if not ext:
        return ""
    if not stem or stem.upper().startswith("README"):
        stem = f"van-ban-{stem}" if stem else "van-ban"
    return f"{stem}.{ext}"


class Admin:
    """The admin side of the bot over one AnswerService: one reindex or upload at a time."""

    def __init__(self, service: AnswerService, config: Config, querylog: QueryLog | None = None):
        self.service = service
        self.config = config
        self.querylog = querylog
        self._lock = threading.Lock()  # a thread lock: held across worker threads and event loops alike
        # the state store every worker shares (querylog's): its "reindex" lock spans processes and machines
        self.store = getattr(querylog, "store", None)
        self.holder = ""
        self.lease, self.renew_every = STORE_LOCK_LEASE, STORE_LOCK_RENEW

    # -------------------------------------------------------------- the lock

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """Hold the reindex lock, or raise ReindexBusy at once; released on any exit, failure or not.

        With a state store, its "reindex" lock is held too (leased, renewed while the work runs), so a
        worker on another machine sharing the database refuses a second reindex, naming this one.
        """
        if not self._lock.acquire(blocking=False):
            raise ReindexBusy(self.holder)
        try:
            async with self._store_lock():
                yield
        finally:
            self._lock.release()

    @contextlib.asynccontextmanager
    async def _store_lock(self) -> AsyncIterator[None]:
        if self.store is None:
            yield
            return
        from bot.service.state.gate import worker_name

        holder = worker_name()
        try:
            other = await asyncio.to_thread(self.store.acquire_lock, STORE_LOCK, holder, self.lease)
        except Exception as exc:
            log.error("reindex refused: the state database lock is unavailable: %s", _one_line(exc))
            raise ReindexBusy() from None
        if other is not None:
            log.warning("reindex refused: %s holds the %r lock", other, STORE_LOCK)
            raise ReindexBusy(other)
        self.holder = holder
        renewer = asyncio.create_task(self._renew(holder))
        try:
            yield
        finally:
            renewer.cancel()
            self.holder = ""
            try:
                await asyncio.to_thread(self.store.release_lock, STORE_LOCK, holder)
            except Exception as exc:  # its lease runs out by itself
                log.error("could not release the %r lock: %s", STORE_LOCK, _one_line(exc))

    async def _renew(self, holder: str) -> None:
        while True:
            await asyncio.sleep(self.renew_every)
            try:
                if not await asyncio.to_thread(self.store.renew_lock, STORE_LOCK, holder, self.lease):
                    log.error("the %r lock was lost (its lease ran out): another reindex may start", STORE_LOCK)
            except Exception as exc:
                log.warning("renewing the %r lock failed: %s", STORE_LOCK, _one_line(exc))

    # -------------------------------------------------------------- reindex

    async def reindex(self, progress: Progress | None = None) -> ReindexOutcome:
        """Build a new index version from knowledge/ and serve it; the old one serves until then."""
        try:
            async with self.exclusive():
                return await self._reindex_locked(progress)
        except ReindexBusy as busy:
            return ReindexOutcome(busy=True, holder=busy.holder)

    async def _reindex_locked(self, progress: Progress | None) -> ReindexOutcome:
        try:
            report = await asyncio.to_thread(self.service.reindex, progress)
        except Exception as exc:
            log.exception("reindex failed; the previous index version is still served")
            return ReindexOutcome(error=_one_line(exc))
        return ReindexOutcome(report=report)

    # -------------------------------------------------------------- upload

    def upload_limit_mb(self, channel_limit_mb: float) -> float:
        return min(channel_limit_mb, self.config.knowledge.max_file_mb)

    def precheck(self, file_name: str, size: int | None, limit_mb: float) -> UploadOutcome:
        """What can be refused before downloading: the file type and the announced size."""
        name = safe_filename(file_name)
        if not name.endswith(SUPPORTED_EXTENSIONS):
            return UploadOutcome(name, messages.TG_UPLOAD_BAD_TYPE.format(
                name=file_name, extensions=", ".join(SUPPORTED_EXTENSIONS)))
        if (size or 0) > limit_mb * 1024 * 1024:
            return UploadOutcome(name, messages.TG_UPLOAD_TOO_BIG.format(
                name=file_name, size=size / 1048576, limit=limit_mb))
        return UploadOutcome(name)

    async def upload(self, file_name: str, size: int | None, fetch: Callable[[], Awaitable[bytes]],
                     limit_mb: float, *, progress: Progress | None = None,
                     on_saved: Callable[[UploadOutcome], Awaitable[None]] | None = None) -> UploadOutcome:
        """Check an uploaded file, install it into knowledge/ and reindex. knowledge/ changes only when the
        file reads as a document whose ids no other file holds; the lock is released whatever happens."""
        outcome = self.precheck(file_name, size, limit_mb)
        if outcome.problem:
            return outcome
        try:
            async with self.exclusive():
                data = await fetch()
                outcome.size = len(data)
                if len(data) > limit_mb * 1024 * 1024:  # the announced size is optional in the Bot API
                    outcome.problem = messages.TG_UPLOAD_TOO_BIG.format(
                        name=file_name, size=len(data) / 1048576, limit=limit_mb)
                    return outcome
                outcome.problem, outcome.replaced = await asyncio.to_thread(
                    self.install, outcome.name, file_name, data, limit_mb)
                if outcome.problem:
                    return outcome
                if on_saved is not None:
                    await on_saved(outcome)
                outcome.reindex = await self._reindex_locked(progress)
                return outcome
        except ReindexBusy as busy:
            outcome.busy, outcome.holder = True, busy.holder
            return outcome

    def install(self, name: str, shown: str, data: bytes, limit_mb: float) -> tuple[str, bool]:
        """Check the bytes and move them into knowledge/<name> (blocking: run it in a worker thread).

        Returns ("", whether a file of that name was replaced), or (the Vietnamese reason, False) with
        knowledge/ unchanged. The file is checked in a hidden folder inside knowledge/ (the indexer skips
        names starting with '.'), under its final name so that ids taken from the file name come out the
        same, then renamed into place: the index never sees half a file or an unchecked one.
        """
        if name.endswith(TEXT_EXTENSIONS):
            try:
                data.decode("utf-8-sig")
            except UnicodeDecodeError:
                return messages.TG_UPLOAD_NOT_TEXT.format(name=shown), False
        folder = Path(self.config.knowledge.dir)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        with tempfile.TemporaryDirectory(prefix=".upload-", dir=folder) as staging:
            staged = Path(staging) / name
            staged.write_bytes(data)
            for sidecar in (target.with_suffix(".yaml"), target.with_suffix(".yml")):
                if sidecar.is_file():  # metadata the admin keeps beside the document applies to the new one
                    shutil.copy(sidecar, Path(staging) / sidecar.name)
            checked = self._check(staged, limit_mb)
            failures = [item for item in checked if isinstance(item, Failure)]
            if failures or not checked:
                reason = "; ".join(dict.fromkeys(f.reason for f in failures)) or "no document in the file"
                return messages.TG_UPLOAD_INVALID.format(name=shown, reason=reason), False
            clash = self._ids_held_elsewhere(target, [d for d in checked if isinstance(d, Document)])
            if clash:
                return messages.TG_UPLOAD_ID_TAKEN.format(name=shown, ids=", ".join(clash)), False
            replaced = target.exists()
            os.replace(staged, target)
        return "", replaced

    def _check(self, path: Path, limit_mb: float) -> list[Document | Failure]:
        try:
            return self.service.check_document(path, max_file_mb=limit_mb)
        except (Exception, RecursionError, MemoryError) as exc:  # a hostile file must not escape as a crash
            log.warning("uploaded file %s could not be read: %s", path.name, _one_line(exc))
            return [Failure(path.name, _one_line(exc))]

    def _ids_held_elsewhere(self, target: Path, documents: list[Document]) -> list[str]:
        """Ids of the uploaded documents that another file in the index already uses.

        Replacing the file of the same name is an update, so the ids that file holds now are not a clash.
        """
        own: set[str] = set()
        if target.is_file():
            current = self._check(target, self.config.knowledge.max_file_mb)
            own = {d.doc_id for d in current if isinstance(d, Document)}
        return sorted(d.doc_id for d in documents if d.doc_id not in own and self.service.has_document(d.doc_id))

    # -------------------------------------------------------------- statistics

    def stats(self) -> AdminStats:
        """The query log's statistics and the index being served (blocking: run it in a worker thread)."""
        queries = self.querylog.stats() if self.querylog is not None else QueryStats()
        try:
            info = self.service.info()
        except Exception:
            log.exception("index info unavailable")
            info = None
        return AdminStats(queries, info)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:300]
    return text or type(exc).__name__
