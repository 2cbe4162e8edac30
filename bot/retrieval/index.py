"""Index versions on disk: build one from knowledge/, verify it, switch to it atomically, find the current one.

Layout of the index folder:
    CURRENT                 name of the version being served (replaced atomically)
    versions/<version>/     one complete, verified version: manifest.json, documents.jsonl,
                            passages.jsonl, store.npz, numbers.json (bot/store.py), lexical_accented/,
                            lexical_folded/ (bm25s), dense.faiss + vectors.f32 (bot/dense.py), model/,
                            passage_hashes.txt, understanding.json
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
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from tqdm import tqdm

from bot.documents import vietnamese
from bot.documents.chunking import chunk_document
from bot.config import Config
from bot.documents.loading import load_knowledge
from bot.models import Document, Failure, IndexReport, Passage
from bot.retrieval.understanding import BUILTIN_PATH as UNDERSTANDING_BUILTIN
from bot.retrieval.understanding import QueryUnderstanding

ADMIN_LISTS = "_understanding.yaml"  # in knowledge/: admins' abbreviations and synonyms (docs/understanding.md)

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: passages and documents read from disk on demand (bot/store.py)
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


def current_format(root: Path) -> int | None:
    """The layout format of the current version (None when there is none or it cannot be read)."""
    try:
        return json.loads((current_dir(root) / MANIFEST).read_text(encoding="utf-8")).get("format")
    except (IndexUnavailable, OSError, ValueError, AttributeError):
        return None


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


def damaged_file(folder: Path, manifest: dict) -> str | None:
    """The first file of a version that is missing, truncated or corrupted (against the sizes and
    SHA-256 its manifest records), as a message; None when every file is intact."""
    for name, meta in manifest.get("files", {}).items():
        path = Path(folder) / name
        if not path.is_file():
            return f"index file {path} is missing"
        if path.stat().st_size != meta["size"] or file_digest(path) != meta["sha256"]:
            return f"index file {path} is truncated or corrupted"
    return None


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
    """Content hash of a document: its text and metadata (not where the file lives)."""
    payload = json.dumps([doc.doc_id, doc.title, doc.text, doc.doc_number, doc.doc_type, doc.issuer, doc.issued,
                          doc.source_url, doc.complete], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


# ------------------------------------------------------------------ build

# The builtin model is trained on the corpus; later builds reuse it (embedding only new passages)
# until this share of the passages was not seen in training, then it is retrained.
RETRAIN_SHARE = 0.2


def _previous_manifest(root: Path) -> tuple[Path, dict] | None:
    try:
        folder = current_dir(root)
        return folder, json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (IndexUnavailable, OSError, ValueError):
        return None


def build_index(config: Config, *, progress: Progress | None = None, show_progress: bool = False,
                full: bool = False) -> IndexReport:
    """Build a new version from config.knowledge.dir, verify it, make it current. Returns the summary.

    Only new or changed passages are embedded (unless `full` or the embedding settings changed);
    the current version keeps serving until the new one is complete and verified.
    """
    say = progress or (lambda _msg: None)
    root = Path(config.index.dir)
    started = time.perf_counter()
    with build_lock(root):
        say(f"Reading documents in {config.knowledge.dir}")
        loaded = load_knowledge(Path(config.knowledge.dir), max_file_mb=config.knowledge.max_file_mb)
        if not loaded.documents:
            reasons = "; ".join(f"{f.path}: {f.reason}" for f in loaded.failures[:5]) or "the folder is empty"
            raise BuildError(f"nothing to index in {config.knowledge.dir} ({reasons})")
        previous = _previous_manifest(root)
        version = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        vroot = versions_dir(root)
        tmp = vroot / f".building-{version}"
        try:
            vroot.mkdir(parents=True, exist_ok=True)
            for stale in vroot.glob(".building-*"):
                shutil.rmtree(stale, ignore_errors=True)
            tmp.mkdir()
            reuse_from, why_all = (None, "full rebuild requested") if full else (previous, "")
            problem = damaged_file(*reuse_from) if reuse_from is not None else None
            if problem:  # nothing is taken from a damaged version: everything is built again
                say(f"The current version is damaged ({problem}): rebuilding everything")
                reuse_from, why_all = None, f"the current version is damaged ({problem})"
            report, now = _write_version(config, tmp, version, loaded.documents, loaded.failures, say,
                                         show_progress, reuse_from, why_all)
            _verify(config, tmp)
            os.replace(tmp, vroot / version)
            _fsync_path(vroot)
            write_atomic(root / CURRENT, version + "\n")
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            where = exc.filename or tmp
            raise BuildError(f"cannot write the new index version ({exc.strerror or exc} : {where}); "
                             "the current index is unchanged and still serving") from None
        except (BuildError, KeyboardInterrupt):
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        except Exception as exc:  # e.g. the model writer's own I/O errors
            shutil.rmtree(tmp, ignore_errors=True)
            raise BuildError(f"the new index version could not be built ({type(exc).__name__}: {exc}); "
                             "the current index is unchanged and still serving") from exc
        _prune(root, keep=config.index.keep_versions)

    before = previous[1].get("doc_hashes", {}) if previous else {}
    report.added = sorted(k for k in now if k not in before)
    report.changed = sorted(k for k in now if k in before and before[k] != now[k])
    report.removed = sorted(k for k in before if k not in now)
    report.unchanged = sorted(k for k in now if before.get(k) == now[k])
    report.failed = list(loaded.failures)
    report.warnings = list(loaded.warnings)
    report.seconds = time.perf_counter() - started
    say(f"Index version {version} is now current")
    return report


def _passage_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


# passages tokenized at a time: their token lists become integer ids before the next chunk
TOKEN_CHUNK = 4096
LEXICAL_DIRS = ("lexical_accented", "lexical_folded")  # the two token streams of search_token_streams
REUSED_CHUNK = 65536  # unchanged passages copied from the previous version at a time


def tokenizer_version() -> str:
    """Identifies the tokenization (bot/vietnamese.py): the previous version's tokens are reused only
    when it is the same."""
    return hashlib.sha256(Path(vietnamese.__file__).read_bytes()).hexdigest()[:16]


def _previous_positions(previous: tuple[Path, dict] | None, hashes: list[str]) -> np.ndarray | None:
    """For each passage, its position in the current version by content hash (-1: new or changed);
    None without a usable current version."""
    if previous is None or previous[1].get("format") != FORMAT_VERSION:
        return None
    try:
        old = (previous[0] / "passage_hashes.txt").read_text(encoding="utf-8").split()
    except OSError:
        return None
    where = {h: i for i, h in enumerate(old)}
    return np.fromiter((where.get(h, -1) for h in hashes), dtype=np.int64, count=len(hashes))


def _lexical_reusable(previous: tuple[Path, dict] | None, positions: np.ndarray | None) -> bool:
    """Whether the current version's lexical runs can be reused, and it saves work: same tokenization,
    token counts kept, and at least half the passages unchanged (new passages are tokenized once per
    stream when runs are reused)."""
    if previous is None or positions is None or previous[1].get("tokenizer") != tokenizer_version():
        return False
    from bot.retrieval.lexical import LENGTHS

    if not all((previous[0] / name / LENGTHS).is_file() for name in LEXICAL_DIRS):
        return False
    return int((positions >= 0).sum()) * 2 >= len(positions) > 0


def _build_lexical_reusing(out: Path, old: Path, positions: np.ndarray, texts: list[str], stream: int) -> None:
    """One lexical index: the previous version's runs for unchanged passages, new tokens for the rest."""
    from bot.retrieval.lexical import LexicalBuilder, read_runs

    try:
        vocab, matrix, lengths = read_runs(old)
    except (OSError, ValueError, KeyError) as exc:
        raise BuildError(f"cannot reuse the current index's tokens ({exc}); run `directive-bot index --full`") \
            from None
    builder = LexicalBuilder(vocab)
    n, start = len(positions), 0
    while start < n:
        reused = positions[start] >= 0
        end = start + 1
        limit = min(n, start + (REUSED_CHUNK if reused else TOKEN_CHUNK))
        while end < limit and (positions[end] >= 0) == reused:
            end += 1
        if reused:
            rows = positions[start:end]
            part = matrix[rows]
            builder.add_runs(part.indices, part.data, np.diff(part.indptr), lengths[rows])
        else:
            builder.add([vietnamese.search_token_streams(t)[stream] for t in texts[start:end]])
        start = end
    del matrix
    _save_lexical(builder, out)


def _save_lexical(builder, out: Path) -> None:
    from bot.retrieval.lexical import LENGTHS, LexicalIndex

    bm25 = LexicalIndex.from_builder(builder)
    bm25.save(str(out))
    np.save(out / LENGTHS, builder.lengths)


def _write_version(config: Config, out: Path, version: str, docs: list[Document], failures: list[Failure],
                   say: Progress, show_progress: bool, previous: tuple[Path, dict] | None,
                   why_all: str = "") -> tuple[IndexReport, dict[str, str]]:
    """Write a complete version into `out`; returns its summary and the documents' content hashes.

    Documents are chunked and written one by one, their texts released as they go (`docs` is emptied):
    what stays in memory for the whole build is each passage's index text, and the lexical index as
    integer ids.
    """
    import faiss  # noqa: F401  (imported before the model thread starts)

    from bot.retrieval.embedding import Embedder, build_builtin_model
    from bot.retrieval.lexical import LexicalBuilder
    from bot.retrieval.store import StoreWriter

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import

    writer = StoreWriter(out)
    texts: list[str] = []
    doc_hashes: dict[str, str] = {}
    n_docs = len(docs)
    try:
        for i in tqdm(range(n_docs), desc="chunking", unit="doc", disable=not show_progress, leave=False):
            doc, docs[i] = docs[i], None  # the passages hold the text from here on
            doc_hashes[doc.doc_id] = _doc_hash(doc)
            passages = chunk_document(doc, min_words=config.chunking.min_words,
                                      max_words=config.chunking.max_words)
            doc = dataclasses.replace(doc, text="")
            writer.add(doc, passages)
            texts.extend(index_text(doc, p) for p in passages)
    finally:
        writer.close()
    del docs[:]
    say(f"{n_docs} documents, {len(texts)} passages, {len(failures)} failed")
    hashes = [_passage_hash(t) for t in texts]
    (out / "passage_hashes.txt").write_text("\n".join(hashes) + "\n", encoding="utf-8")
    # the query-understanding lists this version answers with: built-in plus the admins' file
    try:
        understanding = QueryUnderstanding.load([UNDERSTANDING_BUILTIN, Path(config.knowledge.dir) / ADMIN_LISTS])
    except ValueError as exc:
        raise BuildError(f"query-understanding lists: {exc}") from None
    (out / "understanding.json").write_text(json.dumps(understanding.to_dict(), ensure_ascii=False),
                                            encoding="utf-8")

    # where each passage was in the current version (-1: new or changed), read once for both reuses
    positions = _previous_positions(previous, hashes)
    # which vectors can be reused from the current version
    emb = config.embedding
    reuse_vectors = False
    untrained = 0  # passages embedded by a builtin model that was not trained on them
    reason = ""
    if previous is None:
        reason = why_all or ("first build" if not list_versions(Path(config.index.dir)) else "full rebuild requested")
    else:
        prev = previous[1]
        if prev.get("model") != emb.model or prev.get("model_settings") != emb.settings():
            reason = (f"embedding settings changed (model '{prev.get('model')}' dim {prev.get('dim')} -> "
                      f"'{emb.model}'): every passage is embedded again")
        elif prev.get("format") != FORMAT_VERSION:
            reason = "index format changed"
        elif positions is None:
            reason = "the current version has no passage hashes"
        else:
            untrained = int(prev.get("untrained_passages", 0)) + int((positions < 0).sum())
            if emb.model == "builtin" and untrained > RETRAIN_SHARE * len(texts):
                reason = (f"builtin model retrained: {untrained} of {len(texts)} passages were not "
                          f"seen when it was trained (more than {RETRAIN_SHARE:.0%})")
            else:
                reuse_vectors = True
    if reason:
        untrained = 0

    model_dir = out / "model"
    training = None  # the builtin model trains in a thread while the lexical index is built:
    # its work (the Rust tokenizer, BLAS) runs outside the GIL, so the two cores are both busy
    if emb.model == "builtin":
        if reuse_vectors:
            shutil.copytree(previous[0] / "model", model_dir)
        else:
            from bot.retrieval.embedding import TRAIN_SAMPLE

            say(f"Training the builtin embedding model on {min(len(texts), TRAIN_SAMPLE)} of {len(texts)} passages")
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="builtin-model")
            training = pool.submit(build_builtin_model, texts, model_dir, dim=emb.dim)
            pool.shutdown(wait=False)

    try:
        say("Building the lexical index")
        if _lexical_reusable(previous, positions):  # unchanged passages keep their tokens
            for stream, name in enumerate(LEXICAL_DIRS):
                _build_lexical_reusing(out / name, previous[0] / name, positions, texts, stream)
        else:
            builders = (LexicalBuilder(), LexicalBuilder())  # accented, folded
            streams: list = []
            for start in tqdm(range(0, len(texts), TOKEN_CHUNK), desc="tokens", unit="chunk",
                              disable=not show_progress, leave=False):
                streams = [vietnamese.search_token_streams(t) for t in texts[start:start + TOKEN_CHUNK]]
                builders[0].add([pair[0] for pair in streams])
                builders[1].add([pair[1] for pair in streams])
            del streams
            for builder, name in zip(builders, LEXICAL_DIRS):
                _save_lexical(builder, out / name)
            del builders
    finally:
        if training is not None:
            wait([training])  # never leave the thread writing into a folder being removed

    # vectors of every passage, when the builtin model was just trained on them
    trained = training.result() if training is not None else None
    embedder = Embedder.load(emb, model_dir)
    from bot.retrieval.dense import DenseIndex

    todo = np.flatnonzero(positions < 0) if reuse_vectors else np.arange(len(texts))
    say(f"Embedding {len(todo)} passages ({len(texts) - len(todo)} reused)")
    dim = embedder.dim
    if trained is not None:
        vectors, todo_encode = trained, todo[:0]
    else:
        vectors, todo_encode = np.zeros((len(texts), dim), dtype=np.float32), todo
    if reuse_vectors:
        kept = np.flatnonzero(positions >= 0)
        if kept.size:
            with DenseIndex.load(previous[0], config.faiss) as old_index:
                vectors[kept] = old_index.vectors(positions[kept])
    if todo_encode.size:
        vectors[todo_encode] = embedder.encode_passages([texts[i] for i in todo_encode], show_progress=show_progress)
    del texts

    dense = DenseIndex.build(vectors, config.faiss, out)  # flat, or approximate above faiss.flat_max
    del vectors

    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        files[str(path.relative_to(out))] = {"size": path.stat().st_size, "sha256": file_digest(path)}
    manifest = {
        "format": FORMAT_VERSION,
        "version": version,
        "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": emb.model,
        "model_settings": emb.settings(),
        "dim": int(dim),
        "documents": n_docs,
        "passages": len(hashes),
        "untrained_passages": untrained,
        "faiss_index": dense,
        "tokenizer": tokenizer_version(),
        "corpus_hash": hashlib.sha256("".join(sorted(doc_hashes.values())).encode()).hexdigest(),
        "doc_hashes": doc_hashes,
        "failed": [dataclasses.asdict(f) for f in failures],
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    _fsync_tree(out)
    return IndexReport(version=version, documents=n_docs, passages=len(hashes),
                       embedded_passages=len(todo), reused_passages=len(hashes) - len(todo),
                       rebuilt_reason=reason), doc_hashes


def rollback(config: Config) -> str:
    """Make the version before the current one current again; returns its name."""
    from bot.retrieval.search import Retriever

    root = Path(config.index.dir)
    with build_lock(root):
        current = current_version(root)
        older = [n for n in list_versions(root) if current is None or n < current]
        if not older:
            raise BuildError(f"no earlier index version in {versions_dir(root)} to roll back to")
        target = older[-1]
        try:
            Retriever.load(versions_dir(root) / target, config)
        except IndexUnavailable as exc:
            raise BuildError(f"cannot roll back to {target}: {exc}") from None
        write_atomic(root / CURRENT, target + "\n")
        return target


def _verify(config: Config, folder: Path) -> None:
    """Load the new version the way the service will and ask it one question."""
    from bot.retrieval.search import Retriever

    retriever = Retriever.load(folder, config, verify_files=False)  # checksums were just computed
    if retriever.size == 0:
        raise BuildError("verification failed: the new index has no passages")
    probe = " ".join(retriever.passages[0].text.split()[:12])
    if not retriever.search(probe, limit=5):
        raise BuildError("verification failed: a probe query found nothing in the new index")


def _prune(root: Path, keep: int) -> None:
    """Remove old versions beyond `keep` (renamed away first, so none is ever seen half-deleted)."""
    current = current_version(root)
    names = [n for n in list_versions(root) if n != current]
    for name in names[: max(0, len(names) - (keep - 1))]:
        trash = versions_dir(root) / f".trash-{name}"
        try:
            os.replace(versions_dir(root) / name, trash)
        except OSError as exc:
            log.warning("could not remove old index version %s: %s", name, exc)
            continue
        shutil.rmtree(trash, ignore_errors=True)
    for trash in versions_dir(root).glob(".trash-*"):
        shutil.rmtree(trash, ignore_errors=True)
