"""The Zalo webhook endpoint, served by tornado (the HTTP server python-telegram-bot's webhook extra brings).

POST <path> with the right X-Bot-Api-Secret-Token header: the update is handed to `dispatch`, whose status is
answered (200 once the reply is sent and recorded, 503/500 to have it delivered again: bot.ZaloBot.process);
a wrong or missing secret -> 403, another path -> 404, another method -> 405, a body over the limit -> 413,
a body that is not a JSON object -> 400.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler, stream_request_body

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_WEBHOOK_BODY = 256 * 1024


class _NotFound(RequestHandler):
    def prepare(self) -> None:
        self._reply(404)

    def _reply(self, status: int) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"ok": status == 200}))


@stream_request_body
class _Hook(_NotFound):
    """Checks the secret before reading the body, counts the body as it arrives."""

    def initialize(self, secret: bytes, dispatch: Callable[[dict], Awaitable[int]], limit: int) -> None:
        self.secret = secret
        self.dispatch = dispatch
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0

    def prepare(self) -> None:
        if self.request.method != "POST":
            self._reply(405)
            return
        given = self.request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self.secret):
            log.warning("webhook request without the right %s header refused", SECRET_HEADER)
            self._reply(403)
            return
        try:
            declared = int(self.request.headers.get("Content-Length") or 0)
        except ValueError:
            declared = 0
        if declared > self.limit:
            self._reply(413)

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        self.size += len(chunk)
        if self.size > self.limit:  # a chunked body has no Content-Length to check up front
            self._reply(413)
            return
        self.chunks.append(chunk)

    async def post(self) -> None:
        if self._finished:
            return
        try:
            update = json.loads(b"".join(self.chunks) or b"null")
        except ValueError:
            update = None
        if not isinstance(update, dict):
            log.info("webhook body is not a JSON object: refused with 400")
            self._reply(400)
            return
        self._reply(await self.dispatch(update))


class WebhookServer:
    """Serve the hook on `listen:port` (port 0 picks a free one) until `close()`."""

    def __init__(self, path: str, secret: str, dispatch: Callable[[dict], Awaitable[int]], limit: int = MAX_WEBHOOK_BODY):
        hook = (path, _Hook, {"secret": secret.encode("utf-8"), "dispatch": dispatch, "limit": limit})
        app = Application([hook], default_handler_class=_NotFound)
        # the hard cap sits above the limit, so the handler answers 413 itself rather than tornado a bare 400
        self._server = HTTPServer(app, max_body_size=limit * 4, idle_connection_timeout=60, body_timeout=15)
        self.port = 0

    def start(self, listen: str, port: int) -> int:
        sockets = bind_sockets(port, listen)
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        self._server.stop()
        await self._server.close_all_connections()
