"""The index folder's versions: which one is current, one build at a time, switching, pruning, rollback.

Layout of the index folder:
    CURRENT                 name of the version being served (replaced atomically)
    versions/<version>/     one complete, verified version (bot/retrieval/version.py)
    versions/.building-*    a build in progress (ignored by readers, removed by the next build)
    .lock                   held while a build or a rollback runs
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bot.config import Config
from bot.retrieval.version import IndexUnavailable, IndexVersion, fsync_path

log = logging.getLogger(__name__)

CURRENT = "CURRENT"


class BuildError(Exception):
    """A build could not complete; the current index (if any) is untouched."""


def versions_dir(root: Path) -> Path:
    return Path(root) / "versions"


def current_version(root: Path) -> str | None:
    try:
        name = (Path(root) / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexUnavailable(f"{root}/{CURRENT}: cannot read: {exc}") from None
    return name or None


def current_dir(root: Path) -> Path:
    """The folder of the version being served, or IndexUnavailable."""
    name = current_version(root)
    if name is None:
        raise IndexUnavailable(f"no index in {root}: run `directive-bot index` first")
    path = versions_dir(root) / name
    if not path.is_dir():
        raise IndexUnavailable(f"{root}/{CURRENT} names version {name}, which is missing: "
                               "run `directive-bot index` again")
    return path


def current(root: Path, *, keep_doc_hashes: bool = False) -> IndexVersion | None:
    """The current version with its manifest, or None when there is none or it cannot be read."""
    try:
        return IndexVersion.open(current_dir(root), keep_doc_hashes=keep_doc_hashes)
    except IndexUnavailable:
        return None


def current_format(root: Path) -> int | None:
    """The layout format of the current version (None when there is none or it cannot be read)."""
    found = current(root)
    return found.manifest.format if found is not None else None


def list_versions(root: Path) -> list[str]:
    vdir = versions_dir(root)
    if not vdir.is_dir():
        return []
    return sorted(p.name for p in vdir.iterdir() if p.is_dir() and not p.name.startswith("."))


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` so readers see the old content or the new, never a mix."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_path(path.parent)


@contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """One build at a time per index folder; a second one fails at once naming the first."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    fh = open(root / ".lock", "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise BuildError(f"another reindex is running ({holder}); wait for it to finish") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {dt.datetime.now().isoformat(timespec='seconds')}")
        fh.flush()
        yield
    finally:
        fh.close()


def new_build_folder(root: Path, version: str) -> Path:
    """An empty folder to build `version` in (left-overs of interrupted builds are removed first)."""
    vroot = versions_dir(root)
    vroot.mkdir(parents=True, exist_ok=True)
    for stale in vroot.glob(".building-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = vroot / f".building-{version}"
    tmp.mkdir()
    return tmp


def switch_to(root: Path, built: Path, version: str) -> None:
    """Move a finished, verified build into place and make it current (two atomic renames)."""
    vroot = versions_dir(root)
    os.replace(built, vroot / version)
    fsync_path(vroot)
    write_atomic(Path(root) / CURRENT, version + "\n")


def prune(root: Path, keep: int) -> None:
    """Remove old versions beyond `keep` (renamed away first, so none is ever seen half-deleted)."""
    name = current_version(root)
    names = [n for n in list_versions(root) if n != name]
    for old in names[: max(0, len(names) - (keep - 1))]:
        trash = versions_dir(root) / f".trash-{old}"
        try:
            os.replace(versions_dir(root) / old, trash)
        except OSError as exc:
            log.warning("could not remove old index version %s: %s", old, exc)
            continue
        shutil.rmtree(trash, ignore_errors=True)
    for trash in versions_dir(root).glob(".trash-*"):
        shutil.rmtree(trash, ignore_errors=True)


def rollback(config: Config) -> str:
    """Make the version before the current one current again; returns its name."""
    from bot.retrieval.search import Retriever

    root = Path(config.index.dir)
    with build_lock(root):
        name = current_version(root)
        older = [n for n in list_versions(root) if name is None or n < name]
        if not older:
            raise BuildError(f"no earlier index version in {versions_dir(root)} to roll back to")
        target = older[-1]
        try:
            Retriever.load(IndexVersion.open(versions_dir(root) / target), config)
        except IndexUnavailable as exc:
            raise BuildError(f"cannot roll back to {target}: {exc}") from None
        write_atomic(root / CURRENT, target + "\n")
        return target
