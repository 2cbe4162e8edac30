"""The Telegram webhook endpoint for one of several workers: an update is acknowledged (HTTP 200) only after
python-telegram-bot has handled it and its reply is sent and recorded in the state store.

PTB's own `run_webhook` answers 200 as soon as an update is queued, so a worker killed while answering
would lose it; here Telegram keeps an update until a worker has really answered it, and delivers it again
(to any worker) otherwise. Several workers behind a load balancer share one state database (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from contextlib import suppress

from telegram import Update
from telegram.error import NetworkError, RetryAfter
from telegram.ext import Application, ContextTypes
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application as TornadoApp, RequestHandler

from bot.service.state import StateStore
from bot.service.state.gate import UpdateGate

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024
CHANNEL = "telegram"


class ExactlyOnce:
    """Feeds webhook updates to `application.process_update` through an UpdateGate."""

    def __init__(self, application: Application, store: StateStore, holder: str | None = None):
        self.application = application
        self.gate = UpdateGate(store, CHANNEL, holder)
        self._errors: dict[int, BaseException] = {}
        application.add_error_handler(self._note_error, block=True)

    async def _note_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update):
            self._errors[id(update)] = context.error

    async def handle(self, data: dict) -> int:
        """The HTTP status for one webhook body."""
        update = Update.de_json(data, self.application.bot)
        if update is None or not isinstance(update.update_id, int):
            return 400

        async def process() -> bool:
            await self.application.process_update(update)
            error = self._errors.pop(id(update), None)
            # the reply could not reach Telegram: let Telegram deliver the update again later
            return not isinstance(error, (NetworkError, RetryAfter))

        return await self.gate.run(update.update_id, process)


class _Hook(RequestHandler):
    def initialize(self, secret: bytes, target: ExactlyOnce) -> None:
        self.secret = secret
        self.target = target

    def _reply(self, status: int) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"ok": status == 200}))

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self.secret):
            log.warning("telegram webhook request without the right secret header refused")
            self._reply(403)
            return
        try:
            data = json.loads(self.request.body or b"null")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            self._reply(400)
            return
        self._reply(await self.target.handle(data))


async def serve_webhook(application: Application, store: StateStore, *, listen: str, port: int, url_path: str,
                        webhook_url: str, secret_token: str, allowed_updates: list[str],
                        register: bool = True, stop: asyncio.Event | None = None) -> None:
    """Run one webhook worker until SIGTERM/SIGINT (or `stop`)."""
    stop = stop or _stop_on_signals()
    target = ExactlyOnce(application, store)
    app = TornadoApp([("/" + url_path.strip("/"), _Hook, {"secret": secret_token.encode(), "target": target})])
    server = HTTPServer(app, max_body_size=MAX_BODY, idle_connection_timeout=75, xheaders=True)
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    await application.start()
    try:
        if register:  # every worker registers the same address: harmless, and any one may start first
            await application.bot.set_webhook(webhook_url, secret_token=secret_token,
                                              allowed_updates=allowed_updates, max_connections=40)
        sockets = bind_sockets(port, listen)
        server.add_sockets(sockets)
        log.info("telegram: webhook worker %s on %s:%d/%s", target.gate.holder, listen,
                 sockets[0].getsockname()[1], url_path.strip("/"))
        await stop.wait()
    finally:
        server.stop()
        with suppress(Exception):
            await asyncio.wait_for(server.close_all_connections(), 30)
        await target.gate.close()
        await application.stop()
        await application.shutdown()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    return stop
