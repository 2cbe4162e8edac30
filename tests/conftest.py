"""Shared fixtures: a small real index built in a temporary folder from real documents."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "knowledge"

# A handful of real documents that cover the document numbers the tests ask about.
SAMPLE_DOCS = [
    "ct-03-tw-2011.md",
    "tin-quangtri-so-ket-3-nam-ct05.md",
    "tin-tpth-tiep-tuc-quan-triet-ct05-2021.md",
    "tin-quochoitv-quan-triet-kl21.md",
    "tin-noichinh-quy-dinh-moi-dang-vien-khong-duoc-lam-2022.md",
    "tin-anh-son-bieu-duong-43-dien-hinh-ct05.md",
    "tin-khanhhoa-thuc-hien-nghiem-quy-dinh-08-2019.md",
    "tin-tan-hong-so-ket-1-nam-kl01-2022.md",
]


def write_config(folder: Path, **sections) -> Path:
    """A config.yaml in `folder` whose knowledge/ and index/ live in that folder."""
    import yaml

    data = {"knowledge": {"dir": "knowledge"}, "index": {"dir": "index"},
            "querylog": {"path": "var/querylog.sqlite"}}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def make_workspace(folder: Path, docs=SAMPLE_DOCS, **sections) -> Path:
    """knowledge/ with copies of real documents plus a config.yaml; returns the config path."""
    (folder / "knowledge").mkdir(parents=True, exist_ok=True)
    for name in docs:
        shutil.copy(KNOWLEDGE / name, folder / "knowledge" / name)
    return write_config(folder, **sections)


@pytest.fixture(scope="session")
def built_workspace(tmp_path_factory) -> Path:
    """A workspace whose index is built once for the whole session (read-only for tests)."""
    from bot.config import load_config
    from bot.retrieval.build import build_index

    folder = tmp_path_factory.mktemp("workspace")
    cfg_path = make_workspace(folder)
    build_index(load_config(cfg_path))
    return cfg_path


@pytest.fixture(scope="session")
def service(built_workspace):
    from bot.config import load_config
    from bot.service.answering import AnswerService

    return AnswerService(load_config(built_workspace), build_if_missing=False)


@pytest.fixture
def workspace(tmp_path) -> Path:
    """A fresh workspace (no index yet) that a test may change."""
    return make_workspace(tmp_path)


# ---------------------------------------------------------------- state store: both engines

PG_URL_ENV = "DIRECTIVE_BOT_TEST_DATABASE_URL"


def postgres_missing(reason: str) -> None:
    """Skip a PostgreSQL test locally; under CI (CI=true) the server must be there, so fail instead."""
    message = (f"needs PostgreSQL: {reason}. Start one with `bash .ci/postgres.sh start /tmp/pg` and "
               f"export {PG_URL_ENV}=<the URL it prints>")
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(message + " (CI never skips these)")
    pytest.skip(message)


@pytest.fixture
def postgres_url():
    """The URL of a fresh, empty PostgreSQL database, dropped after the test."""
    import uuid

    admin_url = os.environ.get(PG_URL_ENV, "").strip()
    if not admin_url:
        postgres_missing(f"{PG_URL_ENV} is not set")
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    name = "directive_test_" + uuid.uuid4().hex[:12]
    try:
        with engine.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        postgres_missing(f"cannot connect to {admin.render_as_string(hide_password=True)}: {exc.orig}")
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request, tmp_path):
    """Every state-store test runs against both engines: an SQLite file and a PostgreSQL database."""
    if request.param == "sqlite":
        from bot.service.state import sqlite_url

        return sqlite_url(tmp_path / "state.sqlite")
    return request.getfixturevalue("postgres_url")
