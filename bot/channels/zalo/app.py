"""`directive-bot serve zalo`: check the token, load the index, then long-poll or serve the webhook.

Whatever ends the polling loop or the webhook server ends the process with one clear line and a non-zero
exit status, so a supervisor restarts it: a process that lives on without receiving is the worst outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import sys
import urllib.parse
from typing import TYPE_CHECKING

from bot.channels.zalo.bot import ZaloBot
from bot.channels.zalo.client import ZaloApiError, ZaloClient
from bot.channels.zalo.webhook import WebhookServer
from bot.config import Config
from bot.service.querylog import QueryLog

if TYPE_CHECKING:
    from bot.service.answering import AnswerService

log = logging.getLogger(__name__)

TOKEN_ENV = "ZALO_BOT_TOKEN"
SECRET_ENV = "ZALO_WEBHOOK_SECRET"
INDEX_CHECK_SECONDS = 60.0
MAX_POLL_BACKOFF = 60.0


class ZaloStartupError(Exception):
    """The bot cannot start or had to stop: the message is one line for the operator."""


def serve(config: Config, verbose: bool = False) -> int:
    """Run until SIGINT/SIGTERM. Returns the process exit status (2: configuration, 1: stopped by an error);
    the reason is one line on stderr (with --verbose the log above it has the details)."""
    try:
        token, secret = _secrets(config)
    except ZaloStartupError as exc:
        print(f"directive-bot serve zalo: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(run(config, token, secret))
    except ZaloStartupError as exc:
        print(f"directive-bot serve zalo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _secrets(config: Config) -> tuple[str, str]:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ZaloStartupError(f"{TOKEN_ENV} is not set. Create a bot in the Zalo Bot Creator and export "
                               f"its token: export {TOKEN_ENV}=... (see docs/zalo.md)")
    secret = ""
    if config.zalo.mode == "webhook":
        secret = os.environ.get(SECRET_ENV, "").strip()
        if not 8 <= len(secret) <= 256:
            raise ZaloStartupError(f"zalo.mode is webhook: set {SECRET_ENV} to a random string of 8-256 "
                                   f"characters (got {len(secret)})")
        check_webhook_url(config.zalo.webhook.url)
    return token, secret


def check_webhook_url(url: str) -> None:
    """Zalo calls only a public HTTPS address; refuse at start-up what it would refuse at setWebhook."""
    if not url:
        return  # served here, registered by someone else (behind a proxy): nothing to check
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host:
        raise ZaloStartupError(f"zalo.webhook.url must be a public https:// address, got {url!r}")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host == "localhost" or host.endswith((".local", ".localhost", ".internal")) or (
            address is not None and not address.is_global):
        raise ZaloStartupError(f"zalo.webhook.url must be a public address Zalo can reach, got {url!r}")


async def run(config: Config, token: str, secret: str = "", stop: asyncio.Event | None = None,
              service: AnswerService | None = None) -> None:
    """Check the token, load the index, then poll or serve the webhook until `stop` is set."""
    if stop is None:
        stop = asyncio.Event()
        _on_signals(stop)
    async with ZaloClient(token, config.zalo.api_base_url) as client:
        bot = ZaloBot(None, client, config)
        try:
            await bot.start()
        except ZaloApiError as exc:
            if exc.fatal:
                raise ZaloStartupError(f"Zalo refused the bot token (error {exc.error_code}: {exc.description}); "
                                       f"check {TOKEN_ENV}") from None
            raise ZaloStartupError(f"cannot reach the Zalo Bot API at {config.zalo.api_base_url}: {exc}") from None
        if service is None:
            from bot.service.answering import AnswerService  # loading the index is slow: only once the token works

            service = await asyncio.to_thread(AnswerService, config)
        from bot.service.state import StateError, open_store

        try:
            store = open_store(config)  # shared with other workers: query log, follow-ups, quizzes
        except StateError as exc:
            raise ZaloStartupError(str(exc)) from None
        querylog = QueryLog(store)
        bot.share_state(store)  # follow-ups, quiz series and exactly-once replies, whichever worker gets them
        bot.attach(service, querylog)
        watcher = asyncio.create_task(_watch_index(service, stop))
        log.info("Zalo bot %s started (%s)", bot.names[0] if bot.names else "", config.zalo.mode)
        try:
            if config.zalo.mode == "webhook":
                await _serve_webhook(bot, config, secret, stop)
            else:
                await run_polling(bot, config, stop)
        except ZaloApiError as exc:
            if exc.fatal:
                raise ZaloStartupError(f"Zalo refused the bot token while running (error {exc.error_code}: "
                                       f"{exc.description}); check {TOKEN_ENV}") from None
            raise ZaloStartupError(f"stopped receiving updates: {exc}") from None
        except Exception as exc:  # whatever ends receiving ends the process, with one line
            log.debug("receiving updates stopped", exc_info=True)
            raise ZaloStartupError(f"stopped receiving updates after an unexpected error: "
                                   f"{type(exc).__name__}: {exc}") from None
        finally:
            watcher.cancel()
            await bot.close()
            store.close()
            log.info("Zalo bot stopped")


async def run_polling(bot: ZaloBot, config: Config, stop: asyncio.Event) -> None:
    """Long-poll getUpdates until `stop` is set; raises ZaloApiError when the token stops working (401).

    Other errors (403, 429, 5xx, the network) are retried with a growing pause, logged once per streak.
    """
    await _drop_webhook(bot.client)
    failures = 0
    while not stop.is_set():
        poll = asyncio.ensure_future(bot.client.get_updates(config.zalo.polling_timeout))
        stopped = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({poll, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if poll not in done:
            poll.cancel()
            break
        stopped.cancel()
        try:
            updates = poll.result()
        except ZaloApiError as exc:
            if exc.fatal:
                raise
            failures += 1
            wait = min(MAX_POLL_BACKOFF, 2.0 ** min(failures, 6))
            (log.warning if failures == 1 else log.info)(
                "getUpdates failed (%s); polling again in %.0f s", exc, wait)
            await _sleep_unless(stop, wait)
            continue
        if failures:
            log.warning("getUpdates works again after %d failures", failures)
        failures = 0
        for update in updates:
            bot.dispatch(update)


async def _drop_webhook(client: ZaloClient) -> None:
    """getUpdates does not deliver while a webhook is registered."""
    try:
        info = await client.get_webhook_info()
    except ZaloApiError as exc:
        if exc.fatal:
            raise
        log.warning("could not check the webhook before polling: %s", exc)
        return
    if isinstance(info, dict) and info.get("url"):
        log.info("a webhook is registered; deleting it to use long polling")
        await client.delete_webhook()


async def _serve_webhook(bot: ZaloBot, config: Config, secret: str, stop: asyncio.Event) -> None:
    hook = config.zalo.webhook
    server = WebhookServer(hook.path, secret, bot.process)
    port = server.start(hook.listen, hook.port)
    log.info("webhook listening on %s:%d%s", hook.listen, port, hook.path)
    try:
        if hook.url:
            await bot.client.set_webhook(hook.url, secret)
            log.info("webhook registered with Zalo")
        else:
            log.warning("zalo.webhook.url is empty: the webhook is not registered with Zalo by this process")
        await stop.wait()
    finally:
        await server.close()


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _watch_index(service: AnswerService, stop: asyncio.Event) -> None:
    """Pick up an index version switched in by another process (e.g. `directive-bot index`)."""
    while not stop.is_set():
        await _sleep_unless(stop, INDEX_CHECK_SECONDS)
        try:
            await asyncio.to_thread(service.reload_if_changed)
        except Exception:
            log.exception("checking for a new index version failed")


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread, or Windows
            loop.add_signal_handler(sig, stop.set)
