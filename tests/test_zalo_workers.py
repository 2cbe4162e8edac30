"""Several Zalo webhook workers sharing one state database (SQLite and PostgreSQL): a message_id is answered
exactly once, whichever worker Zalo (or a load balancer) hands it to, and a failed reply is answered on
redelivery."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest

from bot import messages as msg
from bot.channels.zalo.bot import ZaloBot
from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.webhook import SECRET_HEADER, WebhookServer
from bot.config import ZaloConfig
from bot.service.querylog import QueryLog
from bot.service.state import StateStore
from fake_zalo import FakeZalo, text_update, wrapped

TOKEN = "4242:fake-token"
SECRET = "webhook-secret-123"
HEADERS = {SECRET_HEADER: SECRET}


class Worker:
    """One `serve zalo` webhook worker: its own bot, client, HTTP endpoint and connection to the shared store."""

    def __init__(self, name: str, service, fake: FakeZalo, state_url: str, clock=None):
        config = dataclasses.replace(service.config, zalo=ZaloConfig(api_base_url=fake.base_url))
        self.store = StateStore(state_url) if clock is None else StateStore(state_url, clock=clock)
        self.client = ZaloClient(TOKEN, fake.base_url, retries=0)
        self.bot = ZaloBot(service, self.client, config, QueryLog(self.store))
        self.bot.share_state(self.store, holder=name)  # as app.run does
        self.server = WebhookServer("/zalo", SECRET, self.bot.process)
        self.url = f"http://127.0.0.1:{self.server.start('127.0.0.1', 0)}/zalo"

    async def close(self) -> None:
        await self.server.close()
        await self.bot.close()
        await self.client.aclose()
        self.store.close()


@pytest.fixture
def fake():
    server = FakeZalo(token=TOKEN, max_poll_wait=0.3).start()
    yield server
    server.stop()


@pytest.fixture
async def workers(service, fake, state_url):
    pair = [Worker("worker-a", service, fake, state_url), Worker("worker-b", service, fake, state_url)]
    yield pair
    for worker in pair:
        await worker.close()


@pytest.mark.asyncio
async def test_the_same_update_posted_to_two_workers_gets_one_reply_and_a_redelivery_none(fake, workers):
    a, b = workers
    update = wrapped(text_update("/help", message_id="m-1"))
    async with httpx.AsyncClient(timeout=30) as http:
        first, second = await asyncio.gather(http.post(a.url, json=update, headers=HEADERS),
                                             http.post(b.url, json=update, headers=HEADERS))
        statuses = sorted([first.status_code, second.status_code])
        assert statuses in ([200, 200], [200, 503])  # 503: the other worker still had it: Zalo may try again
        again = [await http.post(w.url, json=update, headers=HEADERS) for w in (a, b)]
        bare_again = await http.post(b.url, json=text_update("/help", message_id="m-1"), headers=HEADERS)
    assert [r.status_code for r in again] == [200, 200] and bare_again.status_code == 200
    assert fake.sent() == [msg.ZALO_HELP]  # one reply in all


@pytest.mark.asyncio
async def test_an_update_another_worker_holds_gets_503_and_no_reply_until_it_is_released(fake, workers):
    a, b = workers
    update = text_update("/start", message_id="m-2")
    assert a.store.claim_update("zalo", "m-2", "worker-a", 20.0) == "new"  # worker a is answering it
    async with httpx.AsyncClient(timeout=30) as http:
        busy = await http.post(b.url, json=update, headers=HEADERS)
        await asyncio.sleep(0.2)
        assert busy.status_code == 503 and fake.sent() == []
        a.store.release_update("zalo", "m-2", "worker-a")  # worker a could not send it
        redelivered = await http.post(b.url, json=update, headers=HEADERS)
    assert redelivered.status_code == 200
    assert fake.sent() == [msg.ZALO_WELCOME]


@pytest.mark.asyncio
async def test_a_failed_send_answers_500_and_the_redelivery_is_answered_once(fake, workers):
    a, b = workers
    update = wrapped(text_update("/help", message_id="m-3"))
    fake.fail("sendMessage", 502)
    async with httpx.AsyncClient(timeout=30) as http:
        failed = await http.post(a.url, json=update, headers=HEADERS)
        assert failed.status_code == 500 and fake.sent() == []
        redelivered = await http.post(b.url, json=update, headers=HEADERS)  # the claim was released
        third = await http.post(a.url, json=update, headers=HEADERS)
    assert (redelivered.status_code, third.status_code) == (200, 200)
    assert fake.sent() == [msg.ZALO_HELP]


@pytest.mark.asyncio
async def test_a_question_answered_by_one_worker_is_logged_once_and_skipped_by_a_polling_bot(fake, workers):
    a, b = workers
    question = text_update("Chỉ thị 05 về học tập và làm theo tư tưởng Hồ Chí Minh", message_id="m-4")
    async with httpx.AsyncClient(timeout=60) as http:
        answered = await http.post(a.url, json=question, headers=HEADERS)
    assert answered.status_code == 200
    replies = len(fake.sent())
    assert replies >= 1
    # the polling path (bot.dispatch -> process) consults the same gate: a message_id done is skipped
    assert await b.bot.process(wrapped(question)) == 200
    assert len(fake.sent()) == replies
    assert a.store.stats().questions == 1
