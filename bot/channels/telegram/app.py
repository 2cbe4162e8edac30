"""Telegram channel wiring: `build_application(...)` builds the python-telegram-bot Application with every
handler (bot/channels/telegram/handlers.py); `serve(config)` runs it (long polling, or a webhook when
telegram.webhook.url is set). `webhook_options(...)` is what the tests drive in webhook mode.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from typing import TYPE_CHECKING, Any

from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import messages
from bot.channels.telegram import handlers as h, navigation, quiz
from bot.channels.telegram.flood import RetryingRateLimiter
from bot.channels.telegram.polling import UpdatesRequest, watch_polling
from bot.channels.telegram.state import Deps
from bot.config import Config
from bot.service.querylog import QueryLog

if TYPE_CHECKING:
    from bot.service.answering import AnswerService

log = logging.getLogger(__name__)

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
WEBHOOK_SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"
# several workers on one machine: each listens on its own port (docs/deploy.md)
WEBHOOK_PORT_ENV = "DIRECTIVE_BOT_WEBHOOK_PORT"
# Telegram accepts 1-256 characters of A-Z a-z 0-9 _ -; fewer than 16 is too easy to guess
WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
MIN_WEBHOOK_SECRET_CHARS = 16


class StartupError(Exception):
    """The channel cannot start with this configuration; the message is one line for the operator."""


# library loggers whose retries and tracebacks, while the bot connects, say what the one line says
_STARTUP_LOGGERS = ("telegram", "bot.channels.telegram.flood")


def _quiet_until_started() -> None:
    for name in _STARTUP_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.CRITICAL))
        logger.quiet_until_started = True  # type: ignore[attr-defined]


def _speak_again() -> None:
    for name in _STARTUP_LOGGERS:
        logger = logging.getLogger(name)
        if getattr(logger, "quiet_until_started", False):
            logger.setLevel(logging.NOTSET)
            logger.quiet_until_started = False  # type: ignore[attr-defined]


async def _start(application: Application) -> None:
    _speak_again()  # connected: from now on retries and errors are worth logging
    watcher = asyncio.get_running_loop().create_task(watch_polling(application), name="polling-watch")
    application.bot_data["polling_watch"] = watcher
    await _register_commands(application)


async def _stop(application: Application) -> None:
    watcher = application.bot_data.pop("polling_watch", None)
    if watcher is not None:
        watcher.cancel()


async def _register_commands(application: Application) -> None:
    """Everyone sees the public commands; each admin also sees /reindex and /thongke."""
    deps: Deps = application.bot_data["deps"]
    public = [BotCommand(name, text) for name, text in messages.TG_COMMANDS.items()]
    await application.bot.set_my_commands(public)
    admin = public + [BotCommand(name, text) for name, text in messages.TG_ADMIN_COMMANDS.items()]
    for admin_id in deps.config.telegram.admin_ids:
        try:
            await application.bot.set_my_commands(admin, scope=BotCommandScopeChat(admin_id))
        except TelegramError as exc:  # the admin has not opened a chat with the bot yet
            log.warning("telegram: could not set admin commands for %s: %s", admin_id, exc)


def build_application(config: Config, service: AnswerService, token: str, querylog: QueryLog) -> Application:
    """The bot with every handler wired; run it with run_polling / run_webhook."""
    application = (
        Application.builder()
        .token(token)
        .base_url(config.telegram.api_base_url)
        .base_file_url(config.telegram.api_base_file_url)
        .local_mode(config.telegram.local_mode)  # a self-hosted Bot API server started with --local
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(RetryingRateLimiter())
        .concurrent_updates(True)  # a reindex or a slow answer must not hold up other users
        .get_updates_request(UpdatesRequest())  # skips unreadable updates instead of re-polling them
        .post_init(_start)
        .post_shutdown(_stop)
        .build()
    )
    application.bot_data["deps"] = Deps(config=config, service=service, querylog=querylog)
    new_messages = filters.UpdateType.MESSAGE
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    text = filters.TEXT & ~filters.COMMAND

    for name, callback in (("start", h.start), ("help", h.help_command), ("hoi", h.hoi), ("vanban", h.vanban),
                           ("danhsach", h.danhsach), ("reindex", h.reindex), ("thongke", h.thongke)):
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(CallbackQueryHandler(h.more_button, pattern=r"^more:"))
    application.add_handler(CallbackQueryHandler(h.full_button, pattern=r"^full:"))
    application.add_handler(CallbackQueryHandler(h.feedback_button, pattern=r"^(up|down):"))
    application.add_handler(CallbackQueryHandler(h.read_button, pattern=r"^read:"))
    application.add_handler(CallbackQueryHandler(h.list_button, pattern=r"^list:\d{1,6}$"))
    quiz.register(application)
    navigation.register(application)
    application.add_handler(CallbackQueryHandler(h.unknown_button))  # anything else is still answered
    application.add_handler(InlineQueryHandler(h.inline_query))
    application.add_handler(MessageHandler(new_messages & private & filters.Document.ALL, h.upload))
    application.add_handler(MessageHandler(new_messages & private & text, h.private_text))
    application.add_handler(MessageHandler(new_messages & groups & text, h.group_text))
    application.add_handler(MessageHandler(
        new_messages & private & ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL, h.non_text))
    application.add_error_handler(h.on_error)
    return application


def webhook_options(config: Config, secret: str | None) -> dict[str, Any] | None:
    """Keyword arguments for `Application.run_webhook`, or None when telegram.webhook.url is not set
    (long polling). Raises StartupError for a missing, short or malformed secret token."""
    webhook = config.telegram.webhook
    if webhook is None or not webhook.url:
        return None
    secret = (secret or "").strip()
    hint = ("a random string of 16-256 characters from A-Z, a-z, 0-9, _ and -, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    if not secret:
        raise StartupError(f"webhook mode needs {WEBHOOK_SECRET_ENV}: {hint}")
    if len(secret) < MIN_WEBHOOK_SECRET_CHARS:
        raise StartupError(f"{WEBHOOK_SECRET_ENV} is too short ({len(secret)} characters): use {hint}")
    if not WEBHOOK_SECRET_RE.fullmatch(secret):
        raise StartupError(f"{WEBHOOK_SECRET_ENV} is not a secret Telegram accepts (only A-Z, a-z, 0-9, _ "
                           f"and -, at most 256 characters): use {hint}")
    if not webhook.url.startswith("https://"):
        raise StartupError(f"telegram.webhook.url must be an https:// address (Telegram only calls HTTPS), "
                           f"got {webhook.url!r}")
    path = "/" + webhook.path.strip("/")
    # telegram.webhook.url is the public base URL; the path is appended unless already there
    url = webhook.url if webhook.url.rstrip("/").endswith(path) else webhook.url.rstrip("/") + path
    return {"listen": webhook.listen, "port": webhook.port, "url_path": path.lstrip("/"), "webhook_url": url,
            "secret_token": secret, "allowed_updates": Update.ALL_TYPES}


def serve(config: Config, verbose: bool = False) -> int:
    """`directive-bot serve telegram`: long polling, or a webhook when telegram.webhook.url is set.

    Returns the exit status: 2 for configuration, 1 when the bot could not start or stopped receiving
    updates (one line on stderr; the traceback only with --verbose), 0 after a normal stop.
    """
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        return _fail(f"set {TOKEN_ENV} to the bot token from @BotFather (see docs/telegram.md)", 2)
    try:
        webhook = webhook_options(config, os.environ.get(WEBHOOK_SECRET_ENV))
    except StartupError as exc:
        return _fail(str(exc), 2)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from bot.service.answering import AnswerService  # imported here: the channel module loads without torch

    from bot.service.state import StateError, open_store

    try:
        store = open_store(config)
    except StateError as exc:
        print(f"directive-bot serve telegram: {exc}", file=sys.stderr)
        return 2
    service = AnswerService(config)
    querylog = QueryLog(store)
    application = build_application(config, service, token, querylog)
    if not verbose:
        _quiet_until_started()
    asyncio.set_event_loop(asyncio.new_event_loop())  # run_polling/run_webhook run on it and close it
    try:
        if webhook is not None:
            status = _serve_webhook(application, store, webhook)
            if status:
                return status
        else:
            log.info("telegram: long polling")
            application.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        if verbose:
            raise
        return _fail(f"Telegram refused the bot token: check {TOKEN_ENV}", 1)
    except TelegramError as exc:
        if verbose:
            raise
        return _fail(f"cannot reach the Telegram Bot API at {config.telegram.api_base_url.rstrip('/')}: "
                     f"{type(exc).__name__}: {str(exc).replace(token, '<token>')} (run with --verbose for details)", 1)
    finally:
        _speak_again()
        store.close()
    stopped = application.bot_data.get("polling_stopped")
    if stopped:
        return _fail(f"polling stopped ({stopped}); exiting so that a supervisor restarts the bot", 1)
    return 0


def _serve_webhook(application, store, webhook: dict) -> int:
    """Run this worker's webhook endpoint (its port from DIRECTIVE_BOT_WEBHOOK_PORT when set); 2 for a bad port."""
    from bot.channels.telegram.webhook import serve_webhook

    port_text = os.environ.get(WEBHOOK_PORT_ENV, "").strip()
    if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        print(f"directive-bot serve telegram: {WEBHOOK_PORT_ENV} must be a port number, got {port_text!r}",
              file=sys.stderr)
        return 2
    port = int(port_text or webhook["port"])
    log.info("telegram: webhook worker on %s:%s/%s, state in %s", webhook["listen"], port,
             webhook["url_path"], store.url)
    asyncio.run(serve_webhook(application, store, **(webhook | {"port": port})))
    return 0


def _fail(reason: str, status: int) -> int:
    print(f"directive-bot serve telegram: {reason}", file=sys.stderr)
    return status
