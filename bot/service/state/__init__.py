"""The state store: what must outlive a process or be shared by workers, in SQLite or PostgreSQL."""

from bot.service.state.engine import (DATABASE_URL_ENV, SchemaTooNewError, StateError, code_revision,
                                      configured_url, mask, sqlite_url)
from bot.service.state.store import BUSY, DONE, NEW, QueryStats, StateStore

__all__ = ["BUSY", "DATABASE_URL_ENV", "DONE", "NEW", "QueryStats", "SchemaTooNewError", "StateError",
           "StateStore", "code_revision", "configured_url", "mask", "open_store", "sqlite_url"]


def open_store(config) -> StateStore:
    """The store a bot.config.Config names: DIRECTIVE_BOT_DATABASE_URL, database.url, or the SQLite file."""
    return StateStore(configured_url(config.database.url, config.querylog.path))
