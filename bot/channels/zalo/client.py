"""A small async client for the Zalo Bot API: one method per call, typed errors, careful retries.

What the platform does (docs/zalo.md has the sources): 401 is a bad or revoked token; an idle long poll ends
with HTTP 408; 429 "Quota exceeded" without retry_after means the monthly message quota is spent, which no
retry fixes; sendMessage has no idempotency key, so a send whose request left is never retried blindly.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import httpx

log = logging.getLogger(__name__)

# httpx logs every request URL at INFO, and Zalo puts the bot token in the URL.
logging.getLogger("httpx").setLevel(logging.WARNING)

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
MAX_TEXT_CHARS = 2000  # sendMessage accepts 1-2,000 characters

# the one error code that means the token is wrong or revoked (403 is a refused call, not a bad token)
FATAL_CODES = frozenset({401})
# "nothing new" on getUpdates
NO_UPDATES_CODE = 408
RETRY_CODES = frozenset({429, 500, 502, 503, 504})
# calls that change something on Zalo's side: sent twice, the user sees the answer twice
NOT_IDEMPOTENT = frozenset({"sendMessage", "sendPhoto", "sendSticker"})
# network errors raised before the request left: retrying cannot duplicate anything
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class ZaloApiError(Exception):
    """The API answered ok=false (or a non-2xx status): `error_code` and `description` as Zalo sent them."""

    def __init__(self, error_code: int, description: str, method: str = "",
                 retry_after: float | None = None):
        self.error_code = error_code
        self.description = description
        self.method = method
        self.retry_after = retry_after  # seconds the server asked us to wait (429), when it said
        where = f"{method}: " if method else ""
        super().__init__(f"{where}Zalo API error {error_code}: {description}")

    @property
    def fatal(self) -> bool:
        """True when the token is bad or revoked: no retry will help."""
        return self.error_code in FATAL_CODES


class ZaloQuotaExceeded(ZaloApiError):
    """429 without retry_after: the monthly quota is spent; replies fail until it resets."""


class ZaloNetworkError(ZaloApiError):
    """The API could not be reached (or kept failing) after every retry."""

    def __init__(self, description: str, method: str = ""):
        super().__init__(0, description, method)


class ZaloClient:
    """Calls `<base_url>/bot<token>/<method>` with a JSON body; returns `result` or raises ZaloApiError.

    429, 5xx and network errors are retried with exponential backoff (honouring `retry_after` when the
    server sends one), so a reply is not lost to a short quota burst or a dropped connection.
    """

    def __init__(self, token: str, base_url: str = DEFAULT_BASE_URL, *, retries: int = 6,
                 backoff: float = 1.0, max_backoff: float = 30.0, request_timeout: float = 15.0):
        if not token:
            raise ValueError("a Zalo bot token is required")
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.request_timeout = request_timeout
        self._http = httpx.AsyncClient(timeout=request_timeout)
        self.quota_exceeded_since: float | None = None  # time.time() of the first "Quota exceeded"

    def __repr__(self) -> str:  # never show the token
        return f"ZaloClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> ZaloClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ API methods

    async def get_me(self) -> dict:
        return await self.call("getMe", retry=False)

    async def get_updates(self, timeout: int = 30) -> list[dict]:
        """Long-poll for new updates; [] when none arrived within `timeout` seconds (error 408)."""
        try:
            # the HTTP read timeout must outlast the server's long poll
            result = await self.call("getUpdates", {"timeout": str(timeout)},
                                     read_timeout=timeout + self.request_timeout)
        except ZaloApiError as exc:
            if exc.error_code == NO_UPDATES_CODE:
                return []
            raise
        if not result:
            return []
        # the API returns one update; accept a list too in case a deployment batches them
        return [u for u in (result if isinstance(result, list) else [result]) if isinstance(u, dict)]

    async def send_message(self, chat_id: str, text: str) -> dict:
        if not 1 <= len(text) <= MAX_TEXT_CHARS:
            raise ValueError(f"sendMessage text must be 1-{MAX_TEXT_CHARS} characters, got {len(text)}")
        return await self.call("sendMessage", {"chat_id": str(chat_id), "text": text})

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> Any:
        # a typing indicator is worth one try, not a retry loop that delays the reply
        return await self.call("sendChatAction", {"chat_id": str(chat_id), "action": action}, retry=False)

    async def set_webhook(self, url: str, secret_token: str) -> Any:
        if not 8 <= len(secret_token) <= 256:
            raise ValueError("the webhook secret_token must be 8-256 characters")
        return await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> Any:
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict:
        """The registered webhook, or {} when none is set (Zalo answers 404 then)."""
        try:
            return await self.call("getWebhookInfo") or {}
        except ZaloApiError as exc:
            if exc.error_code == 404:
                return {}
            raise

    # ------------------------------------------------------------------ transport

    async def call(self, method: str, params: dict | None = None, *, retry: bool = True,
                   read_timeout: float | None = None) -> Any:
        """One API call with retries; raises ZaloApiError (fatal or not), ZaloQuotaExceeded or ZaloNetworkError."""
        attempts = self.retries + 1 if retry else 1
        url = f"{self.base_url}/bot{self._token}/{method}"
        timeout = httpx.Timeout(self.request_timeout, read=read_timeout or self.request_timeout)
        last: ZaloApiError | None = None
        for attempt in range(attempts):
            delay = None
            try:
                response = await self._http.post(url, json=params or {}, timeout=timeout)
                result = self._result(method, response)
                if method in NOT_IDEMPOTENT:
                    self.quota_exceeded_since = None
                return result
            except ZaloApiError as exc:
                if exc.error_code == 429 and exc.retry_after is None:
                    raise self._quota_exceeded(exc) from None
                if exc.error_code not in RETRY_CODES:
                    raise
                last, delay = exc, exc.retry_after
            except httpx.TransportError as exc:
                # the exception text may include the URL, hence the token: keep only its type
                last = ZaloNetworkError(f"network error ({type(exc).__name__})", method)
                if method in NOT_IDEMPOTENT and not isinstance(exc, _NOT_SENT):
                    log.error("%s: the request was sent but no answer came (%s); not retried, so the user may "
                              "miss this message rather than get it twice", method, type(exc).__name__)
                    raise last from None
            if attempt + 1 < attempts:
                wait = delay if delay is not None else self._backoff(attempt)
                log.warning("%s; retrying in %.1f s (attempt %d of %d)", last, wait, attempt + 2, attempts)
                await asyncio.sleep(wait)
        assert last is not None
        raise last

    def _quota_exceeded(self, exc: ZaloApiError) -> ZaloQuotaExceeded:
        if self.quota_exceeded_since is None:  # once, not once per reply
            self.quota_exceeded_since = time.time()
            log.error("Zalo refused %s: %s (HTTP 429 without retry_after: the monthly message quota is spent). "
                      "Replies fail until the quota resets; updates are still received.", exc.method,
                      exc.description)
        return ZaloQuotaExceeded(exc.error_code, exc.description, exc.method)

    def _backoff(self, attempt: int) -> float:
        base = min(self.max_backoff, self.backoff * 2 ** attempt)
        return base * random.uniform(0.8, 1.2)

    def _result(self, method: str, response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ZaloApiError(response.status_code if response.is_error else 502,
                               f"unexpected response (HTTP {response.status_code}, not JSON)", method)
        if body.get("ok") and not response.is_error:
            return body.get("result")
        code = body.get("error_code") or response.status_code
        try:
            code = int(code)
        except (TypeError, ValueError):
            code = response.status_code
        if code == 200:  # ok=false with no error code
            code = 500
        description = str(body.get("description") or body.get("message") or response.reason_phrase)
        params = body.get("parameters")
        retry_after = params.get("retry_after") if isinstance(params, dict) else None
        if not (isinstance(retry_after, (int, float)) and 0 <= retry_after <= 300):
            retry_after = None
        raise ZaloApiError(code, description.replace(self._token, "<token>"), method, retry_after)
