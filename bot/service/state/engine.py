"""Opening the state database (SQLite file or PostgreSQL) and bringing its schema to this code's revision."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "DIRECTIVE_BOT_DATABASE_URL"
MIGRATIONS = Path(__file__).with_name("migrations")
# a number both engines' migrations serialise on (PostgreSQL advisory lock)
MIGRATION_LOCK_ID = 0x0D1EC71B


class StateError(Exception):
    """The state database cannot be used; the message is one line without any password."""


class SchemaTooNewError(StateError):
    """The database was migrated by a newer release than this one."""


def mask(url: str | URL) -> str:
    """The URL as it may appear in a log or an error: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def sqlite_url(path: Path) -> str:
    return URL.create("sqlite", database=str(Path(path))).render_as_string()


def _normalised(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StateError(f"database URL {mask(url)!r} is not a URL like postgresql://user@host/db "
                         "or sqlite:///path") from None
    backend = parsed.drivername.split("+")[0]
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")  # psycopg 3; libpq reads PGPASSWORD too
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise StateError("an SQLite state database must be a file (sqlite:///path): workers share it")
        return parsed.set(drivername="sqlite")
    raise StateError(f"database URL {mask(url)!r}: only postgresql:// and sqlite:/// are supported")


def create_engine(url: str) -> Engine:
    """An engine for the URL; SQLite is set up for several processes (WAL, write transactions up front)."""
    parsed = _normalised(url)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=8, max_overflow=8,
                                connect_args={"connect_timeout": 10, "application_name": "directive-bot"})
    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # transactions are begun below, not by the driver
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        # state for workers: a crash of the machine may lose the last transactions, never corrupt the file
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        # take the write lock at the start: a read-then-write transaction never fails half way with "locked"
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _alembic_config(connection: sa.Connection) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def code_revision() -> str:
    """The newest schema revision this code knows."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def migrate(engine: Engine, url_for_errors: str, target: str = "head") -> str:
    """Bring the schema to `target` (default: this code's newest); returns the revision the database is at.

    Several workers may start at once: on PostgreSQL they queue on an advisory lock, on SQLite on the
    write lock. A database at a revision this code does not know was migrated by a newer release and is
    refused.
    """
    script = ScriptDirectory(str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            current = MigrationContext.configure(connection).get_current_revision()
            if current is not None and not _known(script, current):
                raise SchemaTooNewError(
                    f"state database {url_for_errors} has schema revision {current}, newer than this "
                    f"directive-bot knows (up to {script.get_current_head()}): upgrade directive-bot on this "
                    "machine, or point database.url at another database")
            if current != script.get_current_head() or target != "head":
                log.info("state database %s: migrating schema %s -> %s", url_for_errors, current or "none", target)
                command.upgrade(_alembic_config(connection), target)
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise StateError(f"cannot open the state database {url_for_errors}: {_first_line(exc)}") from None


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def configured_url(config_url: str, sqlite_path: Path) -> str:
    """DIRECTIVE_BOT_DATABASE_URL, else database.url from config.yaml, else the SQLite file."""
    return os.environ.get(DATABASE_URL_ENV, "").strip() or config_url.strip() or sqlite_url(sqlite_path)
