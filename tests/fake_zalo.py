"""A fake Zalo Bot API server on 127.0.0.1 for tests: queues updates, injects errors, records every request."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# getMe as documented: no display name, so a group mention cannot be matched against one
BOT_INFO = {"id": "bot-4242", "account_name": "bot.hoidapvanban", "account_type": "BASIC", "can_join_groups": True}


@dataclass
class Recorded:
    """One request as the server saw it (the token is checked, not kept)."""

    method: str
    params: dict
    delivered: bool = False  # sendMessage accepted
    at: float = field(default_factory=time.monotonic)


def text_update(text: str, *, message_id: str, chat_id: str = "chat-1", user_id: str = "user-1",
                group: bool = False, event: str = "message.text.received") -> dict:
    """An update shaped like the Zalo Bot API's (`event=""` leaves event_name out, as the documentation's
    getUpdates sample does)."""
    message = {
        "from": {"id": user_id, "display_name": "Nguyễn Văn A", "is_bot": False},
        "chat": {"id": chat_id, "chat_type": "GROUP" if group else "PRIVATE"},
        "message_id": message_id,
        "date": int(time.time() * 1000),
    }
    if event in ("message.text.received", ""):
        message["text"] = text
    if event == "message.voice.received":
        message["voice_url"] = "https://example.org/voice.aac"
    return {"event_name": event, "message": message} if event else {"message": message}


def wrapped(update: dict) -> dict:
    """The update inside the envelope the documentation's sample and its SDK use."""
    return {"ok": True, "result": update}


class FakeZalo:
    """Serves `/bot<token>/<method>` like bot-api.zaloplatforms.com.

    - getUpdates long-polls for a queued update and answers 408 when none arrives in time;
    - `fail(method, code, times)` makes the next calls of a method fail (429, 401, ...);
    - sendMessage enforces the 1-2,000 character limit;
    - `requests` records every call, in order.
    """

    def __init__(self, token: str = "4242:fake-token", max_poll_wait: float = 1.0):
        self.token = token
        self.max_poll_wait = max_poll_wait
        self.requests: list[Recorded] = []
        self.webhook: dict = {}
        self._updates: deque[dict] = deque()
        self._failures: dict[str, deque[int]] = {}
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ control

    def start(self) -> FakeZalo:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server naming)
                fake._serve(self)

            do_GET = do_POST

            def log_message(self, *args):  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._cond.notify_all()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def queue_update(self, update: dict) -> None:
        with self._cond:
            self._updates.append(update)
            self._cond.notify_all()

    def fail(self, method: str, error_code: int, times: int = 1) -> None:
        """The next `times` calls fail with `error_code`. 429 comes with retry_after (a short burst); 4290
        is sent as HTTP 429 "Quota exceeded" without retry_after, as Zalo answers once the monthly quota is
        spent."""
        with self._cond:
            self._failures.setdefault(method, deque()).extend([error_code] * times)

    def calls(self, method: str) -> list[Recorded]:
        with self._cond:
            return [r for r in self.requests if r.method == method]

    def sent(self, chat_id: str | None = None) -> list[str]:
        """Texts of the successful sendMessage calls, in order."""
        with self._cond:
            return [r.params["text"] for r in self.requests if r.method == "sendMessage"
                    and r.delivered and (chat_id is None or r.params["chat_id"] == chat_id)]

    async def until(self, predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        """Wait (without blocking the event loop the bot runs on) until `predicate()` holds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; "
                                     f"calls: {[r.method for r in self.requests]}; sent: {self.sent()!r}")
            await asyncio.sleep(0.02)

    async def sent_eventually(self, count: int, chat_id: str | None = None, timeout: float = 10.0) -> list[str]:
        """The delivered messages once there are at least `count` of them (to `chat_id`)."""
        await self.until(lambda: len(self.sent(chat_id)) >= count, f"{count} messages", timeout)
        return self.sent(chat_id)

    # ------------------------------------------------------------------ the API

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        prefix = "/bot"
        path = handler.path.split("?", 1)[0]
        token, _, method = path[len(prefix):].partition("/") if path.startswith(prefix) else ("", "", "")
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            params = json.loads(raw) if raw else {}
        except ValueError:
            params = {}
        record = Recorded(method, params)
        with self._cond:
            self.requests.append(record)
        if token != self.token:
            return self._reply(handler, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        with self._cond:
            queue = self._failures.get(method)
            code = queue.popleft() if queue else None
        if code == 4290:
            return self._reply(handler, 429, {"ok": False, "error_code": 429, "description": "Quota exceeded"})
        if code is not None:
            body = {"ok": False, "error_code": code, "description": f"injected error {code}"}
            if code == 429:
                body["description"] = "Too many requests: quota exceeded"
                body["parameters"] = {"retry_after": 0.1}
            return self._reply(handler, code, body)
        status, body = self._handle(method, params, record)
        self._reply(handler, status, body)

    def _handle(self, method: str, params: dict, record: Recorded) -> tuple[int, dict]:
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_INFO}
        if method == "getUpdates":
            wait = min(float(params.get("timeout") or 0), self.max_poll_wait)
            deadline = time.monotonic() + wait
            with self._cond:
                while not self._updates and time.monotonic() < deadline:
                    self._cond.wait(deadline - time.monotonic())
                if self._updates:
                    return 200, {"ok": True, "result": self._updates.popleft()}
            # an idle long poll, as measured on a real bot: HTTP 408 without an error_code in the body
            return 408, {"ok": False, "description": "Request timeout"}
        if method == "sendMessage":
            text = params.get("text")
            if not params.get("chat_id") or not isinstance(text, str) or not 1 <= len(text) <= 2000:
                return 400, {"ok": False, "error_code": 400, "description": "text must be 1-2000 characters"}
            with self._cond:
                record.delivered = True
                self._cond.notify_all()
            return 200, {"ok": True, "result": {"message_id": f"sent-{len(self.requests)}",
                                               "date": int(time.time() * 1000)}}
        if method == "sendChatAction":
            return 200, {"ok": True, "result": True}
        if method == "setWebhook":
            secret = params.get("secret_token") or ""
            if not params.get("url") or not 8 <= len(secret) <= 256:
                return 400, {"ok": False, "error_code": 400, "description": "url and secret_token required"}
            self.webhook = {"url": params["url"], "secret_token": secret}
            return 200, {"ok": True, "result": {"url": params["url"]}}
        if method == "deleteWebhook":
            self.webhook = {}
            return 200, {"ok": True, "result": True}
        if method == "getWebhookInfo":
            if not self.webhook:  # a bot without a webhook: 404, as measured on a real bot
                return 404, {"ok": False, "description": "Not Found"}
            return 200, {"ok": True, "result": {"url": self.webhook["url"], "updated_at": 1749633372026}}
        return 404, {"ok": False, "error_code": 404, "description": f"unknown method {method}"}

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (long poll cancelled at shutdown)
