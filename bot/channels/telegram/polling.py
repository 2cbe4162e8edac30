"""Long polling that never stalls: unreadable updates are skipped, repeated failures back off, and a polling
loop that ends takes the process down with one clear line (a supervisor restarts it).

python-telegram-bot reads a whole getUpdates batch at once: one update it cannot parse (an older self-hosted
Bot API server leaves out fields, a broken proxy mangles one) fails the batch, the offset does not move and
the Updater asks again at once, for ever; an update_id that is not a number ends polling altogether.
`UpdatesRequest` (the Application's `get_updates_request`) checks each update of a batch before the library
sees it; `watch_polling` notices when the polling task ended while the Application still runs.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging

from telegram import Update
from telegram.ext import Application
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0
WATCH_EVERY_SECONDS = 1.0
_REPORTED = 1000  # ids of skipped updates remembered, so each is logged once


class UpdatesRequest(HTTPXRequest):
    """The getUpdates connection: every update in a batch is checked the way the library will read it.

    An unreadable update with a numeric update_id becomes an empty update with that id, so the offset moves
    past it and the next poll confirms it; one without a usable id is dropped. When a batch held nothing
    usable, the next poll waits a growing pause, so a server that keeps sending it is not hammered.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("connection_pool_size", 1)
        super().__init__(*args, **kwargs)
        self._reported: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._streak = 0
        self._had_bad = False

    async def do_request(self, *args, **kwargs) -> tuple[int, bytes]:
        if self._streak:  # the last batch held only updates that cannot be read: do not ask again at once
            await asyncio.sleep(min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** (self._streak - 1)))
        code, payload = await super().do_request(*args, **kwargs)
        if code != 200:
            return code, payload
        try:
            body = json.loads(payload)
        except ValueError:
            return code, payload  # the library reports a body that is not JSON itself
        if not isinstance(body, dict) or not body.get("ok") or "result" not in body:
            return code, payload
        body["result"], usable = self._checked(body["result"])
        self._streak = 0 if usable or not self._had_bad else self._streak + 1
        return code, json.dumps(body).encode()

    def _checked(self, result: object) -> tuple[list, bool]:
        """(the batch with every update readable, whether anything in it was usable as it came)."""
        self._had_bad = False
        if not isinstance(result, list):
            self._report("the whole batch", f"result is {type(result).__name__}, not a list")
            self._had_bad = True
            return [], False
        checked, usable = [], False
        for item in result:
            update_id = _update_id(item)
            problem = _problem(item, update_id)
            if problem is None:
                checked.append({**item, "update_id": update_id})
                usable = True
                continue
            self._had_bad = True
            self._report(str(update_id) if update_id is not None else _describe(item), problem)
            if update_id is not None:
                checked.append({"update_id": update_id})  # confirmed by the next poll, never handled
                usable = True
        return checked, usable

    def _report(self, key: str, problem: str) -> None:
        if key in self._reported:
            log.debug("telegram: update %s skipped again (%s)", key, problem)
            return
        self._reported[key] = None
        while len(self._reported) > _REPORTED:
            self._reported.popitem(last=False)
        log.warning("telegram: skipped update %s that cannot be read: %s", key, problem)


def _update_id(item: object) -> int | None:
    value = item.get("update_id") if isinstance(item, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _problem(item: object, update_id: int | None) -> str | None:
    """Why the library could not read this update, or None."""
    if not isinstance(item, dict):
        return f"not an object ({type(item).__name__})"
    if update_id is None:
        return f"update_id is missing or not a number ({item.get('update_id')!r:.40})"
    try:
        Update.de_json({**item, "update_id": update_id}, None)
    except Exception as exc:  # whatever the library would raise on it
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return None


def _describe(item: object) -> str:
    text = json.dumps(item, ensure_ascii=False, sort_keys=True, default=str) if item is not None else "null"
    return f"without an id ({text[:80]})"


def _polling_task(application: Application) -> asyncio.Task | None:
    """The Updater's polling task. python-telegram-bot keeps it private (pinned: >=22,<23; the tests fail
    loudly if it moves); a finished task is no longer in asyncio.all_tasks(), so it is read from there."""
    return getattr(application.updater, "_Updater__polling_task", None)


async def watch_polling(application: Application) -> None:
    """Stop the Application when its polling task ends on its own; the reason goes to bot_data."""
    while True:
        await asyncio.sleep(WATCH_EVERY_SECONDS)
        if not application.running or application.updater is None or not application.updater.running:
            continue
        task = _polling_task(application)
        if task is None or not task.done():
            continue
        error = None if task.cancelled() else task.exception()
        reason = f"{type(error).__name__}: {error}" if error is not None else "the polling loop returned"
        application.bot_data["polling_stopped"] = reason
        log.critical("telegram: polling stopped (%s); stopping the bot so that it can be restarted", reason)
        application.stop_running()
        return
