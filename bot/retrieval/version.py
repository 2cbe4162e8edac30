"""One index version on disk: its folder layout, its manifest (read and written only here), its checksums.

A version folder holds:
    manifest.json           what was built, how, and the size and SHA-256 of every other file
    documents.jsonl, passages.jsonl, store.npz, numbers.json      bot/retrieval/store.py
    lexical_accented/, lexical_folded/                              bot/retrieval/lexical.py (bm25s)
    dense.faiss, vectors.f32                                        bot/retrieval/dense.py
    model/                                                          bot/retrieval/embedding.py
    passage_hashes.txt      content hash of each passage's index text (reuse by the next build)
    understanding.json      the query-understanding lists this version answers with

`index_text` is what the search sees of a passage: changing it changes FORMAT.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from bot.models import Document, Passage

# 2: passages and documents read from disk on demand (bot/retrieval/store.py)
# 3: structural units and status fields; a passage's index text carries its document's number, issuer, date
FORMAT = 3
MANIFEST = "manifest.json"
PASSAGE_HASHES = "passage_hashes.txt"
UNDERSTANDING = "understanding.json"
MODEL_DIR = "model"
LEXICAL_DIRS = ("lexical_accented", "lexical_folded")  # the two token streams of search_token_streams


class IndexUnavailable(Exception):
    """No usable index: missing, corrupted, or built with other settings. The message says what to do."""


def index_text(doc: Document, passage: Passage) -> str:
    """The text the search sees for a passage: its document's title, number, issuer and date, and its
    section path, give context words ("Bắc Kạn" in an issuer finds the passages of its documents)."""
    head = " · ".join(x for x in (doc.doc_number, doc.issuer, _date_words(doc.issued)) if x)
    return "\n".join(x for x in (doc.title, head, passage.section, passage.text) if x)


def _date_words(issued: str) -> str:
    """"2016-05-15" -> "15/5/2016", as dates are written in the documents; anything else as it is."""
    try:
        day = dt.date.fromisoformat(issued)
    except (TypeError, ValueError):
        return issued or ""
    return f"{day.day}/{day.month}/{day.year}"


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fsync_path(Path(dirpath) / name)
        fsync_path(Path(dirpath))


@dataclass
class Manifest:
    """What manifest.json records about a version."""

    version: str
    format: int = FORMAT
    built_at: str = ""
    model: str = ""
    model_settings: dict = field(default_factory=dict)
    dim: int = 0
    documents: int = 0
    passages: int = 0
    untrained_passages: int = 0  # passages embedded by a builtin model that was not trained on them
    faiss_index: dict = field(default_factory=dict)
    tokenizer: str = ""
    corpus_hash: str = ""
    # what the build read (documents, settings, lists): an equal key on the next build means nothing changed
    inputs_key: str = ""
    doc_hashes: dict[str, str] = field(default_factory=dict)
    failed: list[dict] = field(default_factory=list)
    files: dict[str, dict] = field(default_factory=dict)  # relative path -> {"size", "sha256"}

    @classmethod
    def from_dict(cls, data: dict) -> "Manifest":
        if not isinstance(data, dict) or not isinstance(data.get("version"), str):
            raise ValueError("not an index manifest")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class IndexVersion:
    """One version folder and its manifest. `open` reads a finished version; `seal` finishes one."""

    def __init__(self, folder: Path, manifest: Manifest) -> None:
        self.folder = Path(folder)
        self.manifest = manifest

    @property
    def name(self) -> str:
        return self.manifest.version

    def path(self, name: str) -> Path:
        return self.folder / name

    @classmethod
    def open(cls, folder: Path, *, keep_doc_hashes: bool = False) -> "IndexVersion":
        """Read a version's manifest (IndexUnavailable when missing or unreadable). The per-document
        content hashes are only for the next build (a million at 1M documents): dropped unless asked for."""
        folder = Path(folder)
        try:
            manifest = Manifest.from_dict(json.loads((folder / MANIFEST).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise IndexUnavailable(f"{folder}: {MANIFEST} is missing; run `directive-bot index`") from None
        except (OSError, ValueError, TypeError) as exc:
            raise IndexUnavailable(f"{folder}/{MANIFEST} is unreadable ({exc}); run `directive-bot index`") from None
        if not keep_doc_hashes:
            manifest.doc_hashes = {}
        return cls(folder, manifest)

    @classmethod
    def seal(cls, folder: Path, manifest: Manifest) -> "IndexVersion":
        """Record the size and SHA-256 of every file in `folder`, write the manifest, flush it all to disk."""
        folder = Path(folder)
        manifest.files = {str(p.relative_to(folder)): {"size": p.stat().st_size, "sha256": file_digest(p)}
                          for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}
        manifest.built_at = manifest.built_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        (folder / MANIFEST).write_text(json.dumps(manifest.to_dict(), ensure_ascii=False, indent=1),
                                       encoding="utf-8")
        fsync_tree(folder)
        return cls(folder, manifest)

    def damaged_file(self) -> str | None:
        """The first file that is missing, truncated or corrupted (against the manifest's sizes and
        SHA-256), as a message; None when every file is intact."""
        for name, meta in self.manifest.files.items():
            path = self.folder / name
            if not path.is_file():
                return f"index file {path} is missing"
            if path.stat().st_size != meta["size"] or file_digest(path) != meta["sha256"]:
                return f"index file {path} is truncated or corrupted"
        return None

    def check_usable(self, model: str, model_settings: dict, *, verify_files: bool = True) -> None:
        """IndexUnavailable unless this release can serve the version with these embedding settings."""
        m = self.manifest
        if m.format != FORMAT:
            raise IndexUnavailable(f"{self.folder}: index format {m.format} is not {FORMAT}; "
                                   "run `directive-bot index` to rebuild")
        if m.model != model or m.model_settings != model_settings:
            raise IndexUnavailable(
                f"the index was built with embedding model '{m.model}' (dim {m.dim}), but config.yaml asks "
                f"for '{model}' with other settings; run `directive-bot index` to rebuild it")
        problem = self.damaged_file() if verify_files else None
        if problem:
            raise IndexUnavailable(f"{problem}; run `directive-bot index` to rebuild")

    def passage_hashes(self) -> list[str] | None:
        """The content hash of each passage, in index order (None when the file cannot be read)."""
        try:
            return self.path(PASSAGE_HASHES).read_text(encoding="utf-8").split()
        except OSError:
            return None

    def understanding_lists(self) -> dict | None:
        """The stored query-understanding lists (None for a version without them)."""
        path = self.path(UNDERSTANDING)
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    @property
    def size_bytes(self) -> int:
        return sum(int(f["size"]) for f in self.manifest.files.values())
