"""A fake Telegram Bot API server on 127.0.0.1 for channel tests: serves injected updates, records requests.

Point python-telegram-bot at it with `base_url=fake.base_url, base_file_url=fake.base_file_url`.
It speaks the same HTTP as the real API (form-encoded POSTs to /bot<token>/<method>, JSON replies,
file downloads from /file/bot<token>/<path>), so the real `Application` runs unchanged.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

TOKEN = "123456:TEST-token-for-the-fake-server"
BOT = {"id": 123456, "is_bot": True, "first_name": "Trợ lý văn bản", "username": "vanban_test_bot",
       "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": True}
USER = {"id": 1001, "is_bot": False, "first_name": "Cán bộ", "language_code": "vi"}
ADMIN = {"id": 9001, "is_bot": False, "first_name": "Quản trị", "language_code": "vi"}
GROUP = {"id": -100777, "type": "supergroup", "title": "Chi bộ thử nghiệm"}

# parameters that PTB sends JSON-encoded inside the form body
_JSON_PARAMS = {"options", "correct_option_ids", "reply_markup", "results", "commands", "scope", "reply_parameters", "link_preview_options",
                "entities", "allowed_updates", "button", "caption_entities"}


@dataclass
class Call:
    """One recorded Bot API request and the result the fake sent back."""

    method: str
    params: dict[str, Any]
    result: Any = None
    at: float = field(default_factory=time.monotonic)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class PollRejected(Exception):
    """sendPoll parameters outside the Bot API's limits."""


class FakeTelegram:
    """Start with `with FakeTelegram() as fake:`; inject updates with the helpers, assert on `calls`."""

    def __init__(self, token: str = TOKEN, bot: dict | None = None):
        self.token = token
        self.bot = dict(bot or BOT)
        self.calls: list[Call] = []
        self.files: dict[str, bytes] = {}
        self._updates: list[tuple[int, Any]] = []  # (the id Telegram would confirm it by, the JSON sent)
        self.polls = 0  # every getUpdates call, answered with updates or not
        self._failures: dict[str, list[tuple[int, dict]]] = {}
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(5000)
        self._sent: dict[tuple[int, int], dict] = {}
        self._closed = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-telegram", daemon=True)

    # ------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/file/bot"

    def __enter__(self) -> "FakeTelegram":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------ injecting updates

    def push(self, update: dict) -> dict:
        with self._cond:
            update = {"update_id": next(self._ids), **update}
            self._updates.append((update["update_id"], update))
            self._cond.notify_all()
        return update

    def push_raw(self, payload: Any) -> int:
        """Queue exactly this JSON as one update of the next batch, however malformed (no update_id, a
        date that is not a number, ...). Like the real server, the fake keeps sending it until a getUpdates
        offset beyond its place in the queue confirms it. Returns that place."""
        with self._cond:
            seq = next(self._ids)
            self._updates.append((seq, payload))
            self._cond.notify_all()
        return seq

    def message(self, text: str, user: dict = USER, chat: dict | None = None, reply_to: dict | None = None,
                **extra: Any) -> dict:
        """Push a text message; commands and @mentions get their entities as Telegram would add them."""
        update = self.text_update(text, user, chat, reply_to, **extra)
        self.push(update)
        return update["message"]

    def text_update(self, text: str, user: dict = USER, chat: dict | None = None, reply_to: dict | None = None,
                    **extra: Any) -> dict:
        """A text message update as Telegram would deliver it, without queueing it (webhook tests POST it)."""
        message = self._new_message(user, chat, text=text, **extra)
        entities = []
        if text.startswith("/"):
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(text.split()[0])})
        for word in text.split():
            if word.startswith("@") and len(word) > 1:
                start = text.find(word)
                entities.append({"type": "mention", "offset": utf16_len(text[:start]), "length": utf16_len(word)})
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        with self._cond:
            return {"update_id": next(self._ids), "message": message}

    def document(self, file_name: str, content: bytes, user: dict = USER, mime_type: str = "text/plain",
                 file_size: int | None = None) -> dict:
        """Push a message carrying a file; `file_size` overrides the size Telegram announces."""
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = content
        doc = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name,
               "mime_type": mime_type, "file_size": len(content) if file_size is None else file_size}
        message = self._new_message(user, None, document=doc)
        self.push({"message": message})
        return message

    def sticker(self, user: dict = USER) -> dict:
        sticker = {"file_id": "sticker-1", "file_unique_id": "s1", "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}
        message = self._new_message(user, None, sticker=sticker)
        self.push({"message": message})
        return message

    def press(self, call: Call, data: str, user: dict = USER) -> dict:
        """Press an inline button (its callback_data) under the bot's message recorded in `call`."""
        query = {"id": f"cq-{next(self._ids)}", "from": user, "chat_instance": "ci-1", "data": data,
                 "message": call.result}
        return self.push({"callback_query": query})

    def inline(self, query: str, user: dict = USER) -> dict:
        return self.push({"inline_query": {"id": f"iq-{next(self._ids)}", "from": user, "query": query,
                                           "offset": "", "chat_type": "sender"}})

    def fail_next(self, method: str, times: int = 1, retry_after: int = 1, status: int = 429,
                  description: str = "") -> None:
        """The next `times` calls of `method` fail: by default 429 Too Many Requests with retry_after."""
        if status == 429:
            payload = {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry_after}",
                       "parameters": {"retry_after": retry_after}}
        else:
            payload = {"ok": False, "error_code": status, "description": description or "Bad Request: failed"}
        with self._cond:
            self._failures.setdefault(method, []).extend([(status, payload)] * times)

    def _new_message(self, user: dict, chat: dict | None, **content: Any) -> dict:
        chat = chat or {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        return {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat, "from": user,
                **content}

    # ------------------------------------------------------------ assertions

    def requests(self, method: str | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if method is None or c.method == method]

    def wait_for(self, method: str, predicate: Callable[[Call], bool] = lambda c: True,
                 count: int = 1, timeout: float = 30.0, after: int = 0) -> list[Call]:
        """Wait (bounded) until `count` recorded calls of `method` (from index `after`) match."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                found = [c for c in self.calls[after:] if c.method == method and predicate(c)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, str(c.params.get("text", ""))[:80]) for c in self.calls[after:]]
                    raise AssertionError(f"no {count} x {method} within {timeout}s; recorded: {seen}")
                self._cond.wait(min(left, 0.05))

    def mark(self) -> int:
        """The number of calls so far: pass it as `after=` to look only at what comes next."""
        with self._cond:
            return len(self.calls)

    # ------------------------------------------------------------ the Bot API

    def _dispatch(self, method: str, params: dict[str, Any]) -> tuple[int, dict]:
        with self._cond:
            pending = self._failures.get(method)
            if pending:
                status, payload = pending.pop(0)
                self.calls.append(Call(method, params, result=payload))
                self._cond.notify_all()
                return status, payload
        if method == "getUpdates":
            result = self._get_updates(params)
        else:
            handler = getattr(self, f"_api_{method}", None)
            if handler is None and method not in _TRUE_METHODS:
                return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
            try:
                result = handler(params) if handler else True
            except PollRejected as exc:
                with self._cond:
                    self.calls.append(Call(method, params, result=None))
                    self._cond.notify_all()
                return 400, {"ok": False, "error_code": 400, "description": str(exc)}
        with self._cond:
            if method != "getUpdates" or result:
                self.calls.append(Call(method, params, result))
            self._cond.notify_all()
        return 200, {"ok": True, "result": result}

    def _get_updates(self, params: dict) -> list[Any]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 2.0)
        with self._cond:
            self.polls += 1
            while True:
                self._updates = [(seq, u) for seq, u in self._updates if seq >= offset]
                if self._updates or self._closed or time.monotonic() >= deadline:
                    return [u for _seq, u in self._updates]
                self._cond.wait(min(0.1, max(0.0, deadline - time.monotonic())))

    def _api_getMe(self, params: dict) -> dict:
        return self.bot

    def _bot_message(self, params: dict, **content: Any) -> dict:
        chat_id = int(params["chat_id"])
        chat = GROUP if chat_id == GROUP["id"] else {"id": chat_id, "type": "private", "first_name": "Cán bộ"}
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                   "from": {k: v for k, v in self.bot.items() if k in ("id", "is_bot", "first_name", "username")},
                   **content}
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        self._sent[(chat_id, message["message_id"])] = message
        return message

    def _api_sendMessage(self, params: dict) -> dict:
        return self._bot_message(params, text=params["text"])

    def _api_sendPoll(self, params: dict) -> dict:
        """A native poll, checked against the documented limits (a violation is the 400 Telegram sends)."""
        options = params["options"]
        options = json.loads(options) if isinstance(options, str) else options
        texts = [o["text"] if isinstance(o, dict) else o for o in options]
        explanation = params.get("explanation", "")
        # Bot API 9.6: correct_option_ids (a list); correct_option_id before it
        ids = params.get("correct_option_ids")
        ids = json.loads(ids) if isinstance(ids, str) else ids
        correct = ids[0] if ids else params.get("correct_option_id")
        problems = [not 1 <= len(params["question"]) <= 300, not 2 <= len(texts) <= 10,
                    any(not 1 <= len(t) <= 100 for t in texts), len(explanation) > 200,
                    explanation.count("\n") > 2,
                    params.get("type") == "quiz" and (correct is None or not 0 <= int(correct) < len(texts))]
        if any(problems):
            raise PollRejected(f"Bad Request: poll parameters out of range ({problems})")
        poll = {"id": f"poll{next(self._message_ids)}", "question": params["question"],
                "options": [{"persistent_id": f"opt-{i}", "text": t, "voter_count": 0} for i, t in enumerate(texts)],
                "total_voter_count": 0, "is_closed": False,
                "is_anonymous": params.get("is_anonymous", True) not in (False, "false"),
                "type": params.get("type", "regular"), "allows_multiple_answers": False, "allows_revoting": False,
                "members_only": False}
        if correct is not None:
            poll["correct_option_id"] = int(correct)
        if explanation:
            poll["explanation"] = explanation
        return self._bot_message(params, poll=poll)

    def poll_answer(self, poll_id: str, option_ids: list[int], user: dict = USER) -> dict:
        """A user answers a non-anonymous poll (the update Telegram sends to the bot)."""
        return self.push({"poll_answer": {"poll_id": poll_id, "user": user, "option_ids": option_ids,
                                          "option_persistent_ids": [f"opt-{i}" for i in option_ids]}})

    def _api_editMessageText(self, params: dict) -> dict | bool:
        if "inline_message_id" in params:
            return True
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = dict(self._sent.get(key) or self._bot_message(params))
        message.update(text=params["text"], edit_date=int(time.time()))
        message.pop("reply_markup", None)
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        self._sent[key] = message
        return message

    def _api_getFile(self, params: dict) -> dict:
        file_id = params["file_id"]
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(self.files[file_id]),
                "file_path": f"documents/{file_id}"}

    # ------------------------------------------------------------ HTTP

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: PTB reuses its connections
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                # status line, headers and body leave in one write, as a real web server sends them: with
                # two writes Nagle's algorithm held the body back until the client's delayed ACK, about
                # 40 ms per request on a kept-alive connection, and the client read every reply twice
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self._headers_buffer.append(b"\r\n")
                self._headers_buffer.append(body)
                try:
                    self.flush_headers()
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (shutdown)
                    self.close_connection = True

            def _route(self) -> tuple[str, str] | None:
                path = urllib.parse.unquote(self.path.split("?")[0])  # PTB quotes the token in file URLs
                for prefix, kind in ((f"/file/bot{fake.token}/", "file"), (f"/bot{fake.token}/", "api")):
                    if path.startswith(prefix):
                        return kind, path[len(prefix):]
                return None

            def do_GET(self) -> None:
                route = self._route()
                if route and route[0] == "file":
                    content = fake.files.get(route[1].rsplit("/", 1)[-1])
                    if content is not None:
                        self._reply(200, content, "application/octet-stream")
                        return
                    self._reply(404, b"not found", "text/plain")
                    return
                self._reply(401, json.dumps({"ok": False, "error_code": 401,
                                             "description": "Unauthorized"}).encode())

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                route = self._route()
                if not route or route[0] != "api":
                    self._reply(401, json.dumps({"ok": False, "error_code": 401,
                                                 "description": "Unauthorized"}).encode())
                    return
                status, payload = fake._dispatch(route[1], _parse_params(self.headers, body))
                self._reply(status, json.dumps(payload).encode())

        return Handler


_TRUE_METHODS = {"deleteWebhook", "setWebhook", "setMyCommands", "deleteMyCommands", "answerCallbackQuery",
                 "answerInlineQuery", "sendChatAction", "deleteMessage", "close", "logOut",
                 "editMessageReplyMarkup"}


def _parse_params(headers: Any, body: bytes) -> dict[str, Any]:
    content_type = headers.get("Content-Type", "")
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return json.loads(body)
    if content_type.startswith("application/x-www-form-urlencoded"):
        params: dict[str, Any] = {}
        for key, value in urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True):
            params[key] = json.loads(value) if key in _JSON_PARAMS else value
        return params
    return {"_raw": body, "_content_type": content_type}
