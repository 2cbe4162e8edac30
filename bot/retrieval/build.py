"""Building an index version from knowledge/, as small steps: read the documents, write the passage store,
build the lexical indexes, embed, build the dense index, seal the manifest, verify, switch.

Only new or changed passages are embedded and tokenized when the current version can be reused; the
current version keeps serving until the new one is complete and verified (bot/retrieval/versions.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from tqdm import tqdm

from bot.config import Config
from bot.documents import vietnamese
from bot.documents.chunking import chunk_document
from bot.documents.loading import load_knowledge
from bot.models import Document, IndexReport
from bot.retrieval.understanding import BUILTIN_PATH as UNDERSTANDING_BUILTIN
from bot.retrieval.understanding import QueryUnderstanding
from bot.retrieval.version import (FORMAT, LEXICAL_DIRS, MODEL_DIR, PASSAGE_HASHES, UNDERSTANDING,
                                   IndexVersion, Manifest, index_text)
from bot.retrieval.versions import BuildError, build_lock, current, new_build_folder, prune, switch_to

ADMIN_LISTS = "_understanding.yaml"  # in knowledge/: admins' abbreviations and synonyms (docs/understanding.md)

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

# The builtin model is trained on the corpus; later builds reuse it (embedding only new passages)
# until this share of the passages was not seen in training, then it is retrained.
RETRAIN_SHARE = 0.2
# the code that turns documents into a version: a change to any of it makes the next build a real one
_HERE = Path(__file__).resolve().parent
_BUILD_CODE = (_HERE / "build.py", _HERE / "version.py", _HERE / "store.py", _HERE / "lexical.py",
               _HERE / "dense.py", _HERE / "embedding.py", _HERE / "adapt.py", _HERE / "classifier.py",
               _HERE / "domain.py",
               _HERE / "data" / "general_windows.json.gz",
               _HERE.parent / "documents" / "chunking.py",
               _HERE.parent / "documents" / "vietnamese.py", _HERE.parent / "documents" / "docnumbers.py",
               _HERE.parent / "documents" / "structure.py", _HERE.parent / "documents" / "status.py")
# passages tokenized at a time: their token lists become integer ids before the next chunk
TOKEN_CHUNK = 4096
REUSED_CHUNK = 65536  # unchanged passages copied from the previous version at a time


@dataclass
class _Job:
    """One build: its settings, where it writes, and what it may reuse from the current version."""

    config: Config
    out: Path
    name: str
    say: Progress
    show_progress: bool
    reuse: IndexVersion | None  # the current version, when nothing forbids reusing it
    why_all: str = ""  # why nothing is reused ("" when `reuse` is given or there is no version)


@dataclass
class _Plan:
    """Which vectors the build embeds: all (with the reason) or only the new and changed passages."""

    reuse_vectors: bool
    reason: str = ""
    untrained: int = 0  # passages embedded by a builtin model that was not trained on them
    positions: np.ndarray | None = None  # each passage's position in the reused version (-1: new)


@dataclass
class _Written:
    texts: list[str]
    hashes: list[str]
    doc_hashes: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------ the build

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
        loaded = load_knowledge(Path(config.knowledge.dir), max_file_mb=config.knowledge.max_file_mb,
                                limits=config.knowledge)
        if not loaded.documents:
            reasons = "; ".join(f"{f.path}: {f.reason}" for f in loaded.failures[:5]) or "the folder is empty"
            raise BuildError(f"nothing to index in {config.knowledge.dir} ({reasons})")
        previous = current(root, keep_doc_hashes=True)
        lists = _understanding_lists(config)
        hashes = [_doc_hash(doc) for doc in loaded.documents]
        key = inputs_key(config, hashes, loaded.failures, lists, loaded.numbers)
        if not full and _unchanged(previous, key):  # no new version: the rollback points stay as they are
            return _unchanged_report(previous, loaded, time.perf_counter() - started)
        name = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        out = root / "versions" / f".building-{name}"
        with _removed_on_failure(out):
            out = new_build_folder(root, name)
            job = _job(config, out, name, say, show_progress, previous, full)
            report, doc_hashes = _write_version(job, loaded.documents, hashes, loaded.failures, lists, key,
                                                loaded.numbers)
            _verify(config, out)
            switch_to(root, out, name)
        prune(root, keep=config.index.keep_versions)
    _compare(report, previous.manifest.doc_hashes if previous else {}, doc_hashes)
    report.failed = list(loaded.failures)
    report.warnings = list(loaded.warnings)
    report.seconds = time.perf_counter() - started
    say(f"Index version {name} is now current")
    return report


@contextmanager
def _removed_on_failure(out: Path) -> Iterator[None]:
    """Remove a half-built version on any failure; report it as a BuildError saying the old one serves."""
    try:
        yield
    except OSError as exc:
        shutil.rmtree(out, ignore_errors=True)
        where = exc.filename or out
        raise BuildError(f"cannot write the new index version ({exc.strerror or exc} : {where}); "
                         "the current index is unchanged and still serving") from None
    except (BuildError, KeyboardInterrupt):
        shutil.rmtree(out, ignore_errors=True)
        raise
    except Exception as exc:  # e.g. the model writer's own I/O errors
        shutil.rmtree(out, ignore_errors=True)
        raise BuildError(f"the new index version could not be built ({type(exc).__name__}: {exc}); "
                         "the current index is unchanged and still serving") from exc


def _job(config: Config, out: Path, name: str, say: Progress, show_progress: bool,
         previous: IndexVersion | None, full: bool) -> _Job:
    job = _Job(config, out, name, say, show_progress, reuse=None)
    if previous is None:
        job.why_all = "first build"
    elif full:
        job.why_all = "full rebuild requested"
    elif problem := previous.damaged_file():  # nothing is taken from a damaged version
        say(f"The current version is damaged ({problem}): rebuilding everything")
        job.why_all = f"the current version is damaged ({problem})"
    else:
        job.reuse = previous
    return job


def inputs_key(config: Config, doc_hashes: list[str], failures: list, lists: QueryUnderstanding,
               numbers: dict[str, dict] | None = None) -> str:
    """A hash of everything a version is built from: the documents, the files that failed, the settings
    that shape passages, tokens, vectors and the dense index, the query-understanding lists, and the
    code that turns them into an index. Equal keys: a new build would make the same version."""
    h = hashlib.sha256()
    settings = [FORMAT, dataclasses.asdict(config.chunking), config.embedding.model, config.embedding.settings(),
                dataclasses.asdict(config.faiss), lists.to_dict(), [dataclasses.asdict(f) for f in failures],
                numbers or {}, config.retrieval.domain_classifier]
    h.update(json.dumps(settings, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8"))
    for path in sorted(_BUILD_CODE):
        h.update(path.read_bytes())
    for doc_hash in doc_hashes:
        h.update(doc_hash.encode("ascii"))
    return h.hexdigest()


def _unchanged(previous: IndexVersion | None, key: str) -> bool:
    """Whether the current version was built from exactly these inputs and is intact."""
    return (previous is not None and previous.manifest.inputs_key == key and previous.manifest.format == FORMAT
            and previous.damaged_file() is None)


def _unchanged_report(previous: IndexVersion, loaded, seconds: float) -> IndexReport:
    m = previous.manifest
    return IndexReport(version=m.version, documents=m.documents, passages=m.passages,
                       unchanged=sorted(m.doc_hashes), failed=list(loaded.failures),
                       warnings=list(loaded.warnings), reused_passages=m.passages, seconds=seconds,
                       unchanged_collection=True)


def _compare(report: IndexReport, before: dict[str, str], now: dict[str, str]) -> None:
    report.added = sorted(k for k in now if k not in before)
    report.changed = sorted(k for k in now if k in before and before[k] != now[k])
    report.removed = sorted(k for k in before if k not in now)
    report.unchanged = sorted(k for k in now if before.get(k) == now[k])


def _write_version(job: _Job, docs: list[Document], doc_hashes: list[str], failures: list,
                   lists: QueryUnderstanding, key: str,
                   numbers: dict[str, dict] | None = None) -> tuple[IndexReport, dict[str, str]]:
    """Write a complete version into job.out; returns its summary and the documents' content hashes."""
    import faiss  # noqa: F401  (imported before the model thread starts)

    n_docs = len(docs)
    written = _write_store(job, docs, doc_hashes, numbers)
    job.say(f"{n_docs} documents, {len(written.texts)} passages, {len(failures)} failed")
    (job.out / PASSAGE_HASHES).write_text("\n".join(written.hashes) + "\n", encoding="utf-8")
    (job.out / UNDERSTANDING).write_text(json.dumps(lists.to_dict(), ensure_ascii=False), encoding="utf-8")
    plan = _vector_plan(job, written.hashes)
    training = _prepare_model(job, plan, written.texts)
    try:
        job.say("Building the lexical index")
        _build_lexical(job, plan.positions, written.texts)
    finally:
        if training is not None:
            wait([training])  # never leave the thread writing into a folder being removed
    if job.config.retrieval.domain_classifier:
        _train_classifier(job, written.texts, [d.title for d in docs])
    _domain_floor(job, written.texts)
    vectors, embedded, dim = _vectors(job, plan, written.texts, training)
    written.texts.clear()
    from bot.retrieval.dense import DenseIndex

    dense = DenseIndex.build(vectors, job.config.faiss, job.out)  # flat, or approximate above faiss.flat_max
    del vectors
    _seal(job, written, n_docs, dim, plan.untrained, dense, failures, key)
    n = len(written.hashes)
    return IndexReport(version=job.name, documents=n_docs, passages=n, embedded_passages=embedded,
                       reused_passages=n - embedded, rebuilt_reason=plan.reason), written.doc_hashes


def _train_classifier(job: _Job, texts: list[str], titles: list[str]) -> None:
    """The domain classifier of this collection (bot/retrieval/classifier.py), when it has one."""
    from bot.retrieval import classifier
    from bot.retrieval.lexical import LexicalIndex, bm25_idf

    folded = LexicalIndex.load(str(job.out / LEXICAL_DIRS[1]))
    n = len(texts)
    model = classifier.fit(n, texts.__getitem__, titles, folded.document_frequency,
                           lambda t: float(bm25_idf(max(1, n), folded.document_frequency(t))))
    if model is not None:
        job.say(f"Domain classifier trained (separation {model.separation:.2f})")
        model.save(job.out / classifier.CLASSIFIER)


def _domain_floor(job: _Job, texts: list[str]) -> None:
    """The domain check's collection median (bot/retrieval/domain.py), measured once here rather than
    in every serving process's first question."""
    from bot.retrieval import domain
    from bot.retrieval.lexical import LexicalIndex, bm25_idf

    folded = LexicalIndex.load(str(job.out / LEXICAL_DIRS[1]))
    n = len(texts)
    check = domain.DomainCheck(folded.document_frequency, n,
                               lambda t: float(bm25_idf(max(1, n), folded.document_frequency(t))), texts.__getitem__)
    check.save_median(job.out / domain.MEDIAN_FILE)


def _seal(job: _Job, written: _Written, n_docs: int, dim: int, untrained: int, dense: dict,
          failures: list, key: str) -> IndexVersion:
    emb = job.config.embedding
    manifest = Manifest(
        version=job.name, format=FORMAT, model=emb.model, model_settings=emb.settings(), dim=int(dim),
        documents=n_docs, passages=len(written.hashes), untrained_passages=untrained, faiss_index=dense,
        tokenizer=tokenizer_version(),
        corpus_hash=hashlib.sha256("".join(sorted(written.doc_hashes.values())).encode()).hexdigest(),
        inputs_key=key, doc_hashes=written.doc_hashes, failed=[dataclasses.asdict(f) for f in failures])
    return IndexVersion.seal(job.out, manifest)


# ------------------------------------------------------------------ documents and passages

def _doc_hash(doc: Document) -> str:
    """Content hash of a document: its text and metadata (not where the file lives)."""
    payload = json.dumps([doc.doc_id, doc.title, doc.text, doc.doc_number, doc.doc_type, doc.issuer, doc.issued,
                          doc.source_url, doc.complete, doc.replaces, doc.replaced_by, doc.status, doc.effective,
                          doc.implements], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _passage_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _write_store(job: _Job, docs: list[Document], doc_hashes: list[str],
                 numbers: dict[str, dict] | None = None) -> _Written:
    """Chunk the documents and write them one by one, their texts released as they go (`docs` is
    emptied): what stays in memory for the whole build is each passage's index text."""
    from bot.retrieval.store import StoreWriter

    chunking = job.config.chunking
    writer = StoreWriter(job.out, number_status=numbers)
    written = _Written(texts=[], hashes=[])
    try:
        for i in tqdm(range(len(docs)), desc="chunking", unit="doc", disable=not job.show_progress, leave=False):
            doc, docs[i] = docs[i], None  # the passages hold the text from here on
            written.doc_hashes[doc.doc_id] = doc_hashes[i]
            passages = chunk_document(doc, min_words=chunking.min_words, max_words=chunking.max_words)
            doc = dataclasses.replace(doc, text="")
            writer.add(doc, passages)
            written.texts.extend(index_text(doc, p) for p in passages)
    finally:
        writer.close()
    del docs[:]
    written.hashes = [_passage_hash(t) for t in written.texts]
    return written


def _understanding_lists(config: Config) -> QueryUnderstanding:
    """The query-understanding lists a version answers with: built-in plus the admins' file."""
    try:
        return QueryUnderstanding.load([UNDERSTANDING_BUILTIN, Path(config.knowledge.dir) / ADMIN_LISTS])
    except ValueError as exc:
        raise BuildError(f"query-understanding lists: {exc}") from None


def tokenizer_version() -> str:
    """Identifies the tokenization (bot/documents/vietnamese.py): the previous version's tokens are
    reused only when it is the same."""
    return hashlib.sha256(Path(vietnamese.__file__).read_bytes()).hexdigest()[:16]


def _previous_positions(reuse: IndexVersion | None, hashes: list[str]) -> np.ndarray | None:
    """For each passage, its position in the reused version by content hash (-1: new or changed);
    None without a usable version."""
    if reuse is None or reuse.manifest.format != FORMAT:
        return None
    old = reuse.passage_hashes()
    if old is None:
        return None
    where = {h: i for i, h in enumerate(old)}
    return np.fromiter((where.get(h, -1) for h in hashes), dtype=np.int64, count=len(hashes))


# ------------------------------------------------------------------ lexical indexes

def _lexical_reusable(reuse: IndexVersion | None, positions: np.ndarray | None) -> bool:
    """Whether the reused version's lexical runs can be reused, and it saves work: same tokenization,
    token counts kept, and at least half the passages unchanged (new passages are tokenized once per
    stream when runs are reused)."""
    if reuse is None or positions is None or reuse.manifest.tokenizer != tokenizer_version():
        return False
    from bot.retrieval.lexical import LENGTHS

    if not all((reuse.path(name) / LENGTHS).is_file() for name in LEXICAL_DIRS):
        return False
    return int((positions >= 0).sum()) * 2 >= len(positions) > 0


def _build_lexical(job: _Job, positions: np.ndarray | None, texts: list[str]) -> None:
    if _lexical_reusable(job.reuse, positions):  # unchanged passages keep their tokens
        for stream, name in enumerate(LEXICAL_DIRS):
            _build_lexical_reusing(job.out / name, job.reuse.path(name), positions, texts, stream)
        return
    from bot.retrieval.lexical import LexicalBuilder

    builders = (LexicalBuilder(), LexicalBuilder())  # accented, folded
    for start in tqdm(range(0, len(texts), TOKEN_CHUNK), desc="tokens", unit="chunk",
                      disable=not job.show_progress, leave=False):
        streams = [vietnamese.search_token_streams(t) for t in texts[start:start + TOKEN_CHUNK]]
        builders[0].add([pair[0] for pair in streams])
        builders[1].add([pair[1] for pair in streams])
    for builder, name in zip(builders, LEXICAL_DIRS):
        _save_lexical(builder, job.out / name)


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


# ------------------------------------------------------------------ vectors

def _vector_plan(job: _Job, hashes: list[str]) -> _Plan:
    """Which vectors can be reused from the current version, and why not when they cannot."""
    positions = _previous_positions(job.reuse, hashes)
    emb, n = job.config.embedding, len(hashes)
    if job.reuse is None:
        return _Plan(False, job.why_all, positions=positions)
    prev = job.reuse.manifest
    if prev.model != emb.model or prev.model_settings != emb.settings():
        return _Plan(False, f"embedding settings changed (model '{prev.model}' dim {prev.dim} -> "
                            f"'{emb.model}'): every passage is embedded again", positions=positions)
    if prev.format != FORMAT:
        return _Plan(False, "index format changed", positions=positions)
    if positions is None:
        return _Plan(False, "the current version has no passage hashes", positions=positions)
    untrained = int(prev.untrained_passages) + int((positions < 0).sum())
    if emb.model == "builtin" and untrained > RETRAIN_SHARE * n:
        return _Plan(False, f"builtin model retrained: {untrained} of {n} passages were not seen when it "
                            f"was trained (more than {RETRAIN_SHARE:.0%})", positions=positions)
    return _Plan(True, untrained=untrained, positions=positions)


def _prepare_model(job: _Job, plan: _Plan, texts: list[str]) -> Future | None:
    """The builtin model: copied when vectors are reused, else trained in a thread while the lexical
    index is built (its work, the Rust tokenizer and BLAS, runs outside the GIL: both cores are busy)."""
    if job.config.embedding.model != "builtin":
        return None
    if plan.reuse_vectors:
        shutil.copytree(job.reuse.path(MODEL_DIR), job.out / MODEL_DIR)
        return None
    from bot.retrieval.embedding import TRAIN_SAMPLE, build_builtin_model

    job.say(f"Training the builtin embedding model on {min(len(texts), TRAIN_SAMPLE)} of {len(texts)} passages")
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="builtin-model")
    emb = job.config.embedding
    adapt = None
    if emb.adapt:
        from bot.retrieval.adapt import AdaptSettings

        adapt = AdaptSettings(pairs=emb.adapt_pairs, epochs=emb.adapt_epochs)
        job.say(f"Adapting it to the collection: up to {emb.adapt_pairs} pairs, {emb.adapt_epochs} epochs")
    training = pool.submit(build_builtin_model, texts, job.out / MODEL_DIR, dim=emb.dim,
                           pretrained=emb.pretrained or None, pretrained_share=emb.pretrained_share, adapt=adapt,
                           saturation=emb.passage_saturation)
    pool.shutdown(wait=False)
    return training


def _vectors(job: _Job, plan: _Plan, texts: list[str], training: Future | None) -> tuple[np.ndarray, int, int]:
    """Every passage's vector: (vectors, how many were embedded now, dimension)."""
    from bot.retrieval.dense import DenseIndex
    from bot.retrieval.embedding import Embedder

    trained = training.result() if training is not None else None  # vectors of every passage
    embedder = Embedder.load(job.config.embedding, job.out / MODEL_DIR)
    positions = plan.positions
    todo = np.flatnonzero(positions < 0) if plan.reuse_vectors else np.arange(len(texts))
    job.say(f"Embedding {len(todo)} passages ({len(texts) - len(todo)} reused)")
    if trained is not None:
        vectors, todo_encode = trained, todo[:0]
    else:
        vectors, todo_encode = np.zeros((len(texts), embedder.dim), dtype=np.float32), todo
    kept = np.flatnonzero(positions >= 0) if plan.reuse_vectors else np.zeros(0, dtype=np.int64)
    if kept.size:
        with DenseIndex.load(job.reuse.folder, job.config.faiss) as old_index:
            vectors[kept] = old_index.vectors(positions[kept])
    if todo_encode.size:
        vectors[todo_encode] = embedder.encode_passages([texts[i] for i in todo_encode],
                                                        show_progress=job.show_progress)
    return vectors, len(todo), embedder.dim


# ------------------------------------------------------------------ verification

def _verify(config: Config, folder: Path) -> None:
    """Load the new version the way the service will and ask it one question."""
    from bot.retrieval.search import Retriever

    retriever = Retriever.load(IndexVersion.open(folder), config, verify_files=False)  # checksums just made
    if retriever.size == 0:
        raise BuildError("verification failed: the new index has no passages")
    first = next(retriever.passages())
    probe = " ".join(first.text.split()[:12])
    if not retriever.search(probe, limit=5):
        raise BuildError("verification failed: a probe query found nothing in the new index")
