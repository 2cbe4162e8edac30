"""Index builds and rollback as the entry point asks for them, and the errors the service may raise."""

from __future__ import annotations

from typing import Callable

from bot.config import Config
from bot.documents.loading import DocumentError
from bot.models import IndexReport
from bot.retrieval.build import build_index
from bot.retrieval.embedding import EmbeddingError
from bot.retrieval.version import IndexUnavailable
from bot.retrieval.versions import BuildError, rollback

__all__ = ["SERVICE_ERRORS", "BuildError", "IndexUnavailable", "build", "roll_back"]

# what the service raises for an operator to read as one line: no index, a failed build, a bad
# document given by path, an embedding model that cannot be loaded
SERVICE_ERRORS: tuple[type[Exception], ...] = (IndexUnavailable, BuildError, DocumentError, EmbeddingError)


def build(config: Config, *, progress: Callable[[str], None] | None = None, show_progress: bool = False,
          full: bool = False) -> IndexReport:
    """Build a new index version from config.knowledge.dir and make it current (bot/retrieval/build.py)."""
    return build_index(config, progress=progress, show_progress=show_progress, full=full)


def roll_back(config: Config) -> str:
    """Make the version before the current one current again; returns its name."""
    return rollback(config)
