"""Process-wide settings (FAISS's OpenMP threads, logging levels), set once at start-up, never while serving.

FAISS's thread count belongs to the whole process: changing it around a build inside a running bot
would change it under the questions being answered at the same time. So the entry point chooses it
once: one thread for a process that answers questions (one question at a time gains nothing from
threads), every CPU the process may use for a process that only builds an index.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

# libraries that log every request or step at INFO: warnings only, whatever the verbosity
QUIET_LOGGERS = ("httpx", "httpcore", "urllib3", "sentence_transformers", "faiss.loader")

LOADER_LOGGER = "bot.documents.loading"

_configured: "Settings | None" = None
_torch_limited = False


@dataclass(frozen=True)
class Settings:
    verbose: bool
    faiss_threads: int


def cpu_count() -> int:
    """CPUs this process may run on (containers often report the host's through os.cpu_count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def configure(*, verbose: bool = False, building: bool = False) -> Settings:
    """Set logging and FAISS's threads for this process; called once by the entry point (bot/cli.py).

    `building`: the process builds an index and serves no question (`directive-bot index`), so FAISS
    may use every CPU. A second call keeps the first call's settings.
    """
    global _configured
    if _configured is not None:
        return _configured
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if building and not verbose:
        # an index process ends with its summary, which lists every skipped document and every warning:
        # the loader's own log lines would say each of them twice
        logging.getLogger(LOADER_LOGGER).setLevel(logging.ERROR)
    if not verbose:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    threads = cpu_count() if building else 1
    import faiss

    faiss.omp_set_num_threads(threads)
    _configured = Settings(verbose=verbose, faiss_threads=threads)
    return _configured


def settings() -> Settings | None:
    """What `configure` set (None when the process did not call it, e.g. under tests)."""
    return _configured


def limit_torch_threads() -> None:
    """No more torch threads than the CPUs this process may run on (containers often report the host's).

    Called where a torch model is first needed (torch is imported only for non-static models, so not at
    start-up); it takes effect once per process and is never changed afterwards, not by a later build.
    """
    global _torch_limited
    if _torch_limited:
        return
    import torch

    _torch_limited = True
    if torch.get_num_threads() > cpu_count():
        torch.set_num_threads(cpu_count())
