"""The reindex lock across workers: two admin flows sharing one state database (SQLite and PostgreSQL), as
workers on two machines would; the second /reindex is refused naming the first while it holds the store lock."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot import messages
from bot.config import Config
from bot.models import IndexReport
from bot.service.admin import STORE_LOCK, Admin
from bot.service.querylog import QueryLog
from bot.service.state import StateStore


class SlowBuild:
    """Stands in for AnswerService.reindex: holds the build until `release` is set, or fails."""

    def __init__(self, fail: bool = False):
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail = fail
        self.builds = 0

    def reindex(self, progress=None) -> IndexReport:
        self.builds += 1
        self.started.set()
        if not self.release.wait(30):
            raise TimeoutError("the test never released the build")
        if self.fail:
            raise RuntimeError("disk full")
        return IndexReport()


def admin_on(state_url: str, service: SlowBuild) -> tuple[Admin, StateStore]:
    store = StateStore(state_url)
    return Admin(service, Config(), QueryLog(store)), store


async def started(build: SlowBuild) -> None:
    for _ in range(1500):
        if build.started.is_set():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the build did not start")


@pytest.mark.asyncio
async def test_a_second_reindex_on_another_worker_is_refused_naming_the_holder_until_released(state_url):
    first_build, second_build = SlowBuild(), SlowBuild()
    first, store_a = admin_on(state_url, first_build)
    second, store_b = admin_on(state_url, second_build)
    first.lease, first.renew_every = 0.6, 0.1  # the build outlasts the lease: only renewal keeps the lock
    try:
        running = asyncio.create_task(first.reindex())
        await started(first_build)
        await asyncio.sleep(1.0)
        refused = await second.reindex()
        assert refused.busy and refused.holder == first.holder != ""
        assert second_build.builds == 0
        text = messages.reindex_busy(messages.ZALO_REINDEX_BUSY, refused.holder)
        assert refused.holder in text
        first_build.release.set()
        assert (await running).report is not None
        second_build.release.set()
        after = await second.reindex()
        assert not after.busy and after.report is not None and second_build.builds == 1
        assert store_a.acquire_lock(STORE_LOCK, "probe", 5.0) is None  # nobody holds it any more
    finally:
        first_build.release.set()
        second_build.release.set()
        store_a.close()
        store_b.close()


@pytest.mark.asyncio
async def test_a_failed_build_releases_the_store_lock(state_url):
    failing, fine = SlowBuild(fail=True), SlowBuild()
    first, store_a = admin_on(state_url, failing)
    second, store_b = admin_on(state_url, fine)
    try:
        failing.release.set()
        fine.release.set()
        outcome = await first.reindex()
        assert outcome.error == "disk full" and not outcome.busy
        assert not (await second.reindex()).busy and fine.builds == 1
    finally:
        store_a.close()
        store_b.close()


@pytest.mark.asyncio
async def test_a_lock_held_elsewhere_refuses_an_upload_too(state_url, tmp_path):
    build = SlowBuild()
    admin, store = admin_on(state_url, build)
    try:
        assert store.acquire_lock(STORE_LOCK, "host2:4242:abc", 60.0) is None
        outcome = await admin.upload("chi-thi.md", 10, lambda: asyncio.sleep(0, b"# x"), 5.0)
        assert outcome.busy and outcome.holder == "host2:4242:abc"
        assert (await admin.reindex()).holder == "host2:4242:abc" and build.builds == 0
    finally:
        store.close()
