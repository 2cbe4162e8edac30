"""Passages and documents of an index version on disk, read on demand.

A serving process keeps only small arrays in memory (where each record starts, which document each
passage belongs to, hashes of document ids) and reads a passage or document record when an answer
needs it, through a small cache. At a million passages the texts stay on disk (1.4 GB there) instead
of 2–3 GB of Python objects.

Files of a version (written by `StoreWriter` during a build):
    passages.jsonl    one passage per line, in index order (a document's passages are contiguous)
    documents.jsonl   one document per line (without its text: the passages hold it)
    store.npz         offsets of both files' lines, passage -> document, document -> first passage,
                      sorted hashes of document ids (lookup by id)
    numbers.json      document numbers: which documents carry each, which passages mention it
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Iterator

import numpy as np

from bot.documents import docnumbers
from bot.models import Document, Passage

PASSAGES = "passages.jsonl"
DOCUMENTS = "documents.jsonl"
ARRAYS = "store.npz"
NUMBERS = "numbers.json"
CACHE = 8192  # records kept decoded per store (an answer reads a few dozen)


def id_hash(doc_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest(), "little")


# ------------------------------------------------------------------ writing


class StoreWriter:
    """Writes documents and their passages as a build produces them, then the lookup arrays."""

    def __init__(self, folder: Path, number_status: dict[str, dict] | None = None) -> None:
        self.folder = Path(folder)
        # status by document key ("qd-47": {"number": "47-QĐ/TW", "replaced_by": "37-QĐ/TW", ...})
        self.number_status = {key: {"number": number, **fields} for number, fields in (number_status or {}).items()
                              if (key := docnumbers.doc_key(number))}
        self._passages = open(self.folder / PASSAGES, "wb")
        self._documents = open(self.folder / DOCUMENTS, "wb")
        self._p_offsets = [0]
        self._d_offsets = [0]
        self._doc_first = [0]
        self._doc_hashes: list[int] = []
        self.doc_keys: dict[str, list[str]] = {}
        self.number_names: dict[str, str] = {}
        self.mentions: dict[str, list[int]] = {}
        self.passages = 0

    def add(self, doc: Document, passages: list[Passage]) -> None:
        line = (json.dumps(dataclasses.asdict(doc), ensure_ascii=False) + "\n").encode("utf-8")
        self._documents.write(line)
        self._d_offsets.append(self._d_offsets[-1] + len(line))
        self._doc_hashes.append(id_hash(doc.doc_id))
        key = docnumbers.doc_key(doc.doc_number) if doc.doc_number else None
        if key:
            self.doc_keys.setdefault(key, []).append(doc.doc_id)
            self.number_names[key] = doc.doc_number
        for p in passages:
            line = (json.dumps({"passage_id": p.passage_id, "doc_id": p.doc_id, "ordinal": p.ordinal,
                                "section": p.section, "text": p.text, "doc_numbers": p.doc_numbers,
                                "page": p.page, "units": p.units, "implements": p.implements},
                               ensure_ascii=False) + "\n").encode("utf-8")
            self._passages.write(line)
            self._p_offsets.append(self._p_offsets[-1] + len(line))
            for number in p.doc_numbers:
                key = docnumbers.doc_key(number)
                if key:
                    self.mentions.setdefault(key, []).append(self.passages)
                    self.number_names.setdefault(key, number)
            self.passages += 1
        self._doc_first.append(self.passages)

    def close(self) -> None:
        self._passages.close()
        self._documents.close()
        docs = len(self._doc_hashes)
        hashes = np.asarray(self._doc_hashes, dtype=np.uint64)
        order = np.argsort(hashes, kind="stable")
        first = np.asarray(self._doc_first, dtype=np.int64)
        passage_docs = np.repeat(np.arange(docs, dtype=np.int32), np.diff(first))
        np.savez(self.folder / ARRAYS,
                 passage_offsets=np.asarray(self._p_offsets, dtype=np.int64),
                 document_offsets=np.asarray(self._d_offsets, dtype=np.int64),
                 passage_docs=passage_docs, doc_first=first,
                 doc_hashes=hashes[order], doc_hash_rows=order.astype(np.int32))
        (self.folder / NUMBERS).write_text(json.dumps({
            "doc_keys": self.doc_keys, "number_names": self.number_names, "mentions": self.mentions,
            "number_status": self.number_status,
        }, ensure_ascii=False), encoding="utf-8")
        self._p_offsets = self._d_offsets = self._doc_first = []
        self._doc_hashes = []


# ------------------------------------------------------------------ reading


class _Lines:
    """Line i of a file of JSON lines, by byte offset (thread-safe: pread, no shared position)."""

    def __init__(self, path: Path, offsets: np.ndarray) -> None:
        self._file = open(path, "rb")  # an old version's files stay readable after it is pruned
        size = os.fstat(self._file.fileno()).st_size
        if offsets.ndim != 1 or offsets.size == 0 or int(offsets[-1]) != size:
            raise ValueError(f"{path.name}: size {size} does not match its offsets")
        self._offsets = offsets

    def __len__(self) -> int:
        return self._offsets.size - 1

    def read(self, i: int) -> dict:
        start, end = int(self._offsets[i]), int(self._offsets[i + 1])
        return json.loads(os.pread(self._file.fileno(), end - start, start))

    def scan(self) -> Iterator[dict]:
        """Every record in order, read through the open file (still there if the version was pruned)."""
        fd, position, size, rest = self._file.fileno(), 0, int(self._offsets[-1]), b""
        while position < size:
            block = os.pread(fd, min(1 << 20, size - position), position)
            if not block:
                raise OSError(f"{self._file.name}: file shrank while being read")
            position += len(block)
            lines = (rest + block).split(b"\n")
            rest = lines.pop()
            for line in lines:
                yield json.loads(line)
        if rest:
            yield json.loads(rest)


class PassageStore(Sequence):
    """The passages of a version, by index position (a read-only sequence of `Passage`)."""

    def __init__(self, lines: _Lines) -> None:
        self._lines = lines
        self._get = functools.lru_cache(maxsize=CACHE)(self._read)

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"passage {i} out of range")
        return self._get(i)

    def _read(self, i: int) -> Passage:
        data = self._lines.read(i)
        for name in ("doc_numbers", "units", "implements"):
            data[name] = tuple(data.get(name, ()))
        return Passage(**data)


def _document(data: dict) -> Document:
    data["page_starts"] = tuple(data.get("page_starts", ()))
    data["replaces"] = tuple(data.get("replaces", ()))
    return Document(**data)


class DocumentStore(Mapping):
    """The documents of a version by id (a read-only mapping doc_id -> `Document`, texts left out)."""

    def __init__(self, lines: _Lines, hashes: np.ndarray, rows: np.ndarray) -> None:
        self._lines = lines
        self._hashes = hashes
        self._rows = rows
        self.by_row = functools.lru_cache(maxsize=CACHE)(self._read)

    def _read(self, row: int) -> Document:
        return _document(self._lines.read(row))

    def row(self, doc_id: str) -> int | None:
        """Position of a document in the version, or None."""
        h = np.uint64(id_hash(doc_id))
        lo = int(np.searchsorted(self._hashes, h, side="left"))
        hi = int(np.searchsorted(self._hashes, h, side="right"))
        for j in range(lo, hi):  # a 64-bit hash collision is unlikely, not impossible
            row = int(self._rows[j])
            if self.by_row(row).doc_id == doc_id:
                return row
        return None

    def __getitem__(self, doc_id: str) -> Document:
        row = self.row(doc_id) if isinstance(doc_id, str) else None
        if row is None:
            raise KeyError(doc_id)
        return self.by_row(row)

    def __contains__(self, doc_id) -> bool:
        return isinstance(doc_id, str) and self.row(doc_id) is not None

    def __len__(self) -> int:
        return len(self._lines)

    def __iter__(self) -> Iterator[str]:
        return (d["doc_id"] for d in self._lines.scan())

    def values(self):  # one pass over the file, not a lookup per id
        return [_document(d) for d in self._lines.scan()]


class DocPassages:
    """doc_id -> positions of its passages (a range: a document's passages are contiguous)."""

    def __init__(self, documents: DocumentStore, first: np.ndarray) -> None:
        self._documents = documents
        self._first = first

    def get(self, doc_id: str, default=()):
        row = self._documents.row(doc_id)
        if row is None:
            return default
        return range(int(self._first[row]), int(self._first[row + 1]))

    def __getitem__(self, doc_id: str) -> range:
        found = self.get(doc_id, None)
        if found is None:
            raise KeyError(doc_id)
        return found


class PassageIds:
    """passage_id ("<doc_id>#<ordinal>") -> position, without a dictionary of every id."""

    def __init__(self, passages: PassageStore, doc_passages: DocPassages) -> None:
        self._passages = passages
        self._doc_passages = doc_passages

    def get(self, passage_id: str, default=None):
        doc_id, sep, ordinal = str(passage_id).rpartition("#")
        if not sep or not ordinal.isdigit():
            return default
        span = self._doc_passages.get(doc_id, ())
        guess = span.start + int(ordinal) if span else -1
        if guess in span and self._passages[guess].passage_id == passage_id:
            return guess
        for i in span:
            if self._passages[i].passage_id == passage_id:
                return i
        return default


@dataclasses.dataclass
class Store:
    """Everything `open_store` loads for a version."""

    passages: PassageStore
    documents: DocumentStore
    doc_passages: DocPassages
    passage_ids: PassageIds
    passage_docs: np.ndarray  # passage position -> document row
    doc_keys: dict[str, list[str]]
    number_names: dict[str, str]
    mentions: dict[str, np.ndarray]
    # status of document numbers, held or only cited, by doc_key: {"number", "replaces", "replaced_by",
    # "status", "effective"} (knowledge/_status.yaml and the documents' own fields, linked)
    number_status: dict[str, dict] = dataclasses.field(default_factory=dict)


def open_store(folder: Path) -> Store:
    """Open the passage and document files of a version (ValueError/OSError/KeyError when unusable)."""
    folder = Path(folder)
    with np.load(folder / ARRAYS) as arrays:
        a = {k: arrays[k] for k in arrays.files}
    passages = PassageStore(_Lines(folder / PASSAGES, a["passage_offsets"]))
    documents = DocumentStore(_Lines(folder / DOCUMENTS, a["document_offsets"]), a["doc_hashes"],
                              a["doc_hash_rows"])
    if a["passage_docs"].size != len(passages) or a["doc_first"].size != len(documents) + 1:
        raise ValueError(f"{ARRAYS} does not match {PASSAGES} and {DOCUMENTS}")
    numbers = json.loads((folder / NUMBERS).read_text(encoding="utf-8"))
    doc_passages = DocPassages(documents, a["doc_first"])
    return Store(passages=passages, documents=documents, doc_passages=doc_passages,
                 passage_ids=PassageIds(passages, doc_passages), passage_docs=a["passage_docs"],
                 doc_keys=numbers["doc_keys"], number_names=numbers["number_names"],
                 mentions={k: np.asarray(v, dtype=np.int64) for k, v in numbers["mentions"].items()},
                 number_status=numbers.get("number_status", {}))
