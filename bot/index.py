"""Index versions on disk: build one from knowledge/, verify it, switch to it atomically, find the current one.

Layout of the index folder:
    CURRENT                 name of the version being served (replaced atomically)
    versions/<version>/     one complete, verified version: manifest.json, documents.jsonl,
                            passages.jsonl, lexical_accented/, lexical_folded/, df.json, dense.faiss, model/
    versions/.building-*    a build in progress (ignored by readers, removed by the next build)
    .lock                   held while a build runs
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from bot import vietnamese
from bot.chunking import chunk_document
from bot.config import Config
from bot.documents import load_knowledge
from bot.models import Document, Failure, IndexReport, Passage

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG through its own handler

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CURRENT = "CURRENT"

Progress = Callable[[str], None]


class IndexUnavailable(Exception):
    """No usable index: missing, corrupted, or built with other settings. The message says what to do."""


class BuildError(Exception):
    """A build could not complete; the current index (if any) is untouched."""


# ------------------------------------------------------------------ locating versions

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


def list_versions(root: Path) -> list[str]:
    vdir = versions_dir(root)
    if not vdir.is_dir():
        return []
    return sorted(p.name for p in vdir.iterdir() if p.is_dir() and not p.name.startswith("."))


# ------------------------------------------------------------------ durable writes

def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            _fsync_path(Path(dirpath) / name)
        _fsync_path(Path(dirpath))


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` so readers see the old content or the new, never a mix."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_path(path.parent)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """One build at a time per index folder; a second one fails at once naming the first."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / ".lock"
    fh = open(path, "a+", encoding="utf-8")
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


# ------------------------------------------------------------------ what gets indexed

def index_text(doc: Document, passage: Passage) -> str:
    """The text the search sees for a passage: its title and section path give context words."""
    return "\n".join(x for x in (doc.title, passage.section, passage.text) if x)


def _doc_hash(doc: Document) -> str:
    payload = json.dumps(dataclasses.asdict(doc) | {"path": ""}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _previous_doc_hashes(root: Path) -> dict[str, str]:
    try:
        manifest = json.loads((current_dir(root) / MANIFEST).read_text(encoding="utf-8"))
        return dict(manifest.get("doc_hashes", {}))
    except (IndexUnavailable, OSError, ValueError):
        return {}


# ------------------------------------------------------------------ build

def build_index(config: Config, *, progress: Progress | None = None, show_progress: bool = False
                ) -> IndexReport:
    """Build a new version from config.knowledge.dir, verify it, make it current. Returns the summary."""
    say = progress or (lambda _msg: None)
    root = Path(config.index.dir)
    started = time.perf_counter()
    with build_lock(root):
        say(f"Reading documents in {config.knowledge.dir}")
        loaded = load_knowledge(Path(config.knowledge.dir), max_file_mb=config.knowledge.max_file_mb)
        if not loaded.documents:
            reasons = "; ".join(f"{f.path}: {f.reason}" for f in loaded.failures[:5]) or "the folder is empty"
            raise BuildError(f"nothing to index in {config.knowledge.dir} ({reasons})")
        docs = loaded.documents
        passages: list[Passage] = []
        for doc in docs:
            passages.extend(chunk_document(doc, min_words=config.chunking.min_words,
                                           max_words=config.chunking.max_words))
        say(f"{len(docs)} documents, {len(passages)} passages, {len(loaded.failures)} failed")

        previous = _previous_doc_hashes(root)
        version = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        vroot = versions_dir(root)
        vroot.mkdir(parents=True, exist_ok=True)
        for stale in vroot.glob(".building-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = vroot / f".building-{version}"
        tmp.mkdir()
        try:
            _write_version(config, tmp, version, docs, passages, loaded.failures, say, show_progress)
            _verify(config, tmp)
            final = vroot / version
            os.replace(tmp, final)
            _fsync_path(vroot)
            write_atomic(root / CURRENT, version + "\n")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _prune(root, keep=config.index.keep_versions)

    current = {d.doc_id: _doc_hash(d) for d in docs}
    report = IndexReport(
        version=version, documents=len(docs), passages=len(passages),
        added=sorted(k for k in current if k not in previous),
        changed=sorted(k for k in current if k in previous and previous[k] != current[k]),
        removed=sorted(k for k in previous if k not in current),
        unchanged=sorted(k for k in current if previous.get(k) == current[k]),
        failed=list(loaded.failures), embedded_passages=len(passages),
        seconds=time.perf_counter() - started,
        rebuilt_reason="" if previous else "first build",
    )
    say(f"Index version {version} is now current")
    return report


def _write_version(config: Config, out: Path, version: str, docs: list[Document],
                   passages: list[Passage], failures: list[Failure], say: Progress,
                   show_progress: bool) -> None:
    import bm25s
    import faiss

    from bot.embedding import Embedder, build_builtin_model

    by_id = {d.doc_id: d for d in docs}
    texts = [index_text(by_id[p.doc_id], p) for p in passages]

    with open(out / "documents.jsonl", "w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps(dataclasses.asdict(d) | {"text": ""}, ensure_ascii=False) + "\n")
    with open(out / "passages.jsonl", "w", encoding="utf-8") as fh:
        for p in passages:
            fh.write(json.dumps(dataclasses.asdict(p), ensure_ascii=False) + "\n")

    say("Building the lexical index")
    df: Counter[str] = Counter()
    for folded in (False, True):
        tokens = [vietnamese.search_tokens(t, folded=folded) for t in texts]
        if folded:
            for toks in tokens:
                df.update(set(toks))
        bm25 = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
        bm25.index(tokens, show_progress=False)
        bm25.save(str(out / ("lexical_folded" if folded else "lexical_accented")))
    (out / "df.json").write_text(json.dumps({"n": len(passages), "df": df}, ensure_ascii=False),
                                 encoding="utf-8")

    emb = config.embedding
    model_dir = out / "model"
    if emb.model == "builtin":
        say(f"Training the builtin embedding model on {len(texts)} passages")
        build_builtin_model(texts, model_dir, dim=emb.dim)
    say("Embedding passages")
    embedder = Embedder.load(emb, model_dir)
    vectors = embedder.encode_passages(texts, show_progress=show_progress)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    faiss.write_index(index, str(out / "dense.faiss"))

    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        files[str(path.relative_to(out))] = {"size": path.stat().st_size, "sha256": file_digest(path)}
    manifest = {
        "format": FORMAT_VERSION,
        "version": version,
        "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": emb.model,
        "model_settings": emb.settings(),
        "dim": int(vectors.shape[1]),
        "documents": len(docs),
        "passages": len(passages),
        "corpus_hash": hashlib.sha256("".join(sorted(_doc_hash(d) for d in docs)).encode()).hexdigest(),
        "doc_hashes": {d.doc_id: _doc_hash(d) for d in docs},
        "failed": [dataclasses.asdict(f) for f in failures],
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    _fsync_tree(out)


def _verify(config: Config, folder: Path) -> None:
    """Load the new version the way the service will and ask it one question."""
    from bot.search import Retriever

    retriever = Retriever.load(folder, config)
    if retriever.size == 0:
        raise BuildError("verification failed: the new index has no passages")
    probe = " ".join(retriever.passages[0].text.split()[:12])
    if not retriever.search(probe, limit=5):
        raise BuildError("verification failed: a probe query found nothing in the new index")


def _prune(root: Path, keep: int) -> None:
    current = current_version(root)
    names = [n for n in list_versions(root) if n != current]
    for name in names[: max(0, len(names) - (keep - 1))]:
        shutil.rmtree(versions_dir(root) / name, ignore_errors=True)
