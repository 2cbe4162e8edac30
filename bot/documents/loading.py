"""Reading knowledge/: files -> Document values; bad files are reported with a reason and skipped."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.documents import docnumbers, formats, status
from bot.documents.limits import DEFAULT, MAX_METADATA_BYTES, Limits, bound_runs, over_chars
from bot.documents.metadata import MetadataError, check_fields, load_yaml
from bot.models import Document, Failure

log = logging.getLogger(__name__)

TEXT_EXTENSIONS = (".md", ".markdown", ".txt", ".jsonl")  # read as UTF-8 text; the others by bot/documents/formats
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS + (".docx", ".pdf", ".html", ".htm")
# name.yaml beside name.docx (or any single-document file) sets or overrides its metadata
SIDECAR_EXTENSIONS = (".yaml", ".yml")
_SIDECAR_TARGETS = tuple(e for e in SUPPORTED_EXTENSIONS if e != ".jsonl")
_ID_RE = re.compile(r"^[\w][\w.\-]*$")
_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_KNOWN_FIELDS = ("id", "title", "doc_number", "doc_type", "issuer", "issued", "source_url", "complete")


class DocumentError(Exception):
    """One document cannot be used; `reason` says why in one line."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)  # skipped files
    # indexed files with something an admin should fix: metadata not found in the text, scanned pages, ...
    warnings: list[Failure] = field(default_factory=list)
    # status by canonical number (documents held and numbers only cited): replaces, replaced_by, status, ...
    numbers: dict[str, dict] = field(default_factory=dict)


def is_document_file(path: Path) -> bool:
    """Files that are not documents: hidden ones, README*, names starting with '_' (lists, notes)."""
    name = path.name
    return not (name.startswith(".") or name.startswith("_") or name.upper().startswith("README"))


def load_knowledge(root: Path, *, max_file_mb: float = 20.0, limits: Limits | object = DEFAULT) -> LoadResult:
    """Load every document under `root` (recursively, in path order); `limits` (Limits, or the KnowledgeConfig
    holding them) bound what one file may cost."""
    limits = limits if isinstance(limits, Limits) else Limits.from_config(limits)
    root = Path(root)
    result = LoadResult()
    if not root.is_dir():
        raise DocumentError(str(root), "knowledge folder not found")
    seen: dict[str, str] = {}
    files = sorted(p for p in root.rglob("*") if p.is_file())
    documents = {(p.parent, p.stem) for p in files if p.suffix.lower() in _SIDECAR_TARGETS}
    for path in files:
        rel_parts = path.relative_to(root).parts
        if any(part.startswith(".") for part in rel_parts) or not is_document_file(path):
            continue
        rel = str(path.relative_to(root))
        if path.suffix.lower() in SIDECAR_EXTENSIONS:
            if (path.parent, path.stem) not in documents:
                reason = (f"metadata file without a document: expected {path.stem}.docx (or .pdf, .html, .md, "
                          ".txt) beside it")
                result.failures.append(Failure(rel, reason))
                log.warning("skipped %s: %s", rel, reason)
            continue
        warnings: list[Failure] = []
        try:
            docs = load_file(path, rel=rel, max_file_mb=max_file_mb, warnings=warnings, limits=limits)
        except DocumentError as exc:
            result.failures.append(Failure(exc.path, exc.reason))
            log.warning("skipped %s: %s", exc.path, exc.reason)
            continue
        for doc, where in docs:
            if isinstance(doc, Failure):
                result.failures.append(doc)
                log.warning("skipped %s: %s", doc.path, doc.reason)
                continue
            if doc.doc_id in seen:
                reason = f"duplicate id '{doc.doc_id}' (already used by {seen[doc.doc_id]})"
                result.failures.append(Failure(where, reason))
                log.warning("skipped %s: %s", where, reason)
                continue
            seen[doc.doc_id] = where
            result.documents.append(doc)
        for warning in warnings:
            log.warning("%s: %s", warning.path, warning.reason)
        result.warnings.extend(warnings)
    # links between documents: replaced_by on a replaced document, the id of the document implemented;
    # knowledge/_status.yaml gives the status of numbers the collection only cites
    notes, problems = status.load_notes(root)
    result.failures.extend(Failure(status.STATUS_FILE, p.split(": ", 1)[1]) for p in problems)
    result.documents = status.link(result.documents, notes)
    result.numbers = status.number_status(result.documents, notes)
    return result


def load_file(path: Path, *, rel: str | None = None, max_file_mb: float = 20.0,
              warnings: list[Failure] | None = None, limits: Limits = DEFAULT) -> list[tuple[Document | Failure, str]]:
    """Load one file; returns (document or per-line failure, where) pairs. Raises DocumentError.

    Problems that do not stop the file from being indexed (metadata not found, scanned pages) are
    appended to `warnings` when given.
    """
    warnings = warnings if warnings is not None else []
    rel = rel or path.name
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise DocumentError(rel, f"unsupported file type '{ext or path.name}' "
                                 f"(accepted: {', '.join(SUPPORTED_EXTENSIONS)})")
    size = path.stat().st_size
    if size > max_file_mb * 1024 * 1024:
        raise DocumentError(rel, f"file is {size / 1048576:.1f} MB, larger than knowledge.max_file_mb "
                                 f"({max_file_mb:g} MB)")
    if ext == ".jsonl":
        return _load_jsonl(_decode(path.read_bytes(), rel), rel, limits)
    sidecar = _read_sidecar(path, rel)
    if ext in formats.EXTRACTORS:
        return [(_load_extracted(path, rel, sidecar, warnings, limits), rel)]
    text = _decode(path.read_bytes(), rel)
    if not text.strip():
        raise DocumentError(rel, "empty file (no text)")
    if len(text) > limits.max_chars:
        raise DocumentError(rel, over_chars(len(text), limits))
    if ext == ".txt":
        return [(_load_txt(text, rel, path.stem, sidecar, warnings), rel)]
    return [(_load_markdown(text, rel, path.stem, sidecar, warnings), rel)]


def _read_sidecar(path: Path, rel: str) -> dict:
    """Fields from name.yaml beside the file ({} when there is none)."""
    for ext in SIDECAR_EXTENSIONS:
        side = path.with_suffix(ext)
        if not side.is_file():
            continue
        size = side.stat().st_size
        if size > MAX_METADATA_BYTES:
            raise DocumentError(rel, f"invalid metadata file {side.name}: {size:,} bytes, more than "
                                     f"{MAX_METADATA_BYTES:,}")
        try:
            return load_yaml(side.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise DocumentError(rel, f"invalid metadata file {side.name}: not UTF-8 text ({exc.reason})") from None
        except MetadataError as exc:
            raise DocumentError(rel, f"invalid metadata file {side.name}: {exc}") from None
    return {}


def _load_extracted(path: Path, rel: str, sidecar: dict, warnings: list[Failure], limits: Limits) -> Document:
    """.docx, .pdf, .html: text from bot/documents/formats, metadata from the format and the header (read by
    formats.extract before the signature block is dropped), then the sidecar."""
    try:
        extraction = formats.extract(path, limits)
    except formats.FormatError as exc:
        raise DocumentError(rel, str(exc)) from None
    warnings.extend(Failure(rel, note) for note in extraction.notes)
    found = extraction.meta
    doc = _with_found_metadata({"id": formats.file_id(path.stem)}, found, sidecar, extraction.text, rel,
                               warnings)
    if extraction.page_starts:
        shift = len(extraction.text) - len(extraction.text.lstrip("\n"))  # _make_document strips these
        doc = dataclasses.replace(doc, page_starts=tuple(max(0, o - shift) for o in extraction.page_starts))
    return doc


def _with_found_metadata(base: dict, found: dict, sidecar: dict, body: str, rel: str,
                         warnings: list[Failure], fallback_title: str = "") -> Document:
    """A document whose metadata was read from its text: the sidecar wins; what is still missing is
    reported as a warning (the document is indexed anyway)."""
    meta = {**base, **found, **sidecar}
    if not meta.get("title"):
        first = fallback_title or next((ln.lstrip("#").strip() for ln in body.splitlines() if ln.strip()), "")
        meta["title"] = " ".join(first.split()[:25])
        if "title" not in sidecar:
            warnings.append(Failure(rel, f"title not found in the document; using its first line "
                                         f"'{meta['title'][:60]}'"))
    missing = formats.missing_fields(meta)
    if missing:
        stem = Path(rel).stem
        warnings.append(Failure(rel, f"metadata not found in the document: {', '.join(missing)} "
                                     f"(indexed without; set them in {stem}.yaml beside the file)"))
    return _make_document(meta, body, rel)


def _decode(data: bytes, rel: str) -> str:
    if b"\x00" in data[:8192]:
        raise DocumentError(rel, "binary file (contains NUL bytes), not a text document")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(rel, f"not UTF-8 text (undecodable byte at offset {exc.start}); "
                                 "save the file as UTF-8") from None


def _load_markdown(text: str, rel: str, stem: str, sidecar: dict | None = None,
                   warnings: list[Failure] | None = None) -> Document:
    meta: dict = {}
    body = text
    if text.startswith("---"):
        match = _FRONT_MATTER_RE.match(text)
        if not match:
            raise DocumentError(rel, "front matter starts with '---' but has no closing '---' line")
        try:
            meta = load_yaml(match.group(1), line_offset=2)
        except MetadataError as exc:
            reason = str(exc)
            reason = reason.replace("invalid YAML", "invalid YAML front matter", 1) \
                if reason.startswith("invalid YAML") else f"front matter {reason}"
            raise DocumentError(rel, reason) from None
        if "id" not in meta:
            raise DocumentError(rel, "front matter has no 'id'")
        body = text[match.end():]
    else:
        # no front matter: the document's own header says what it is (read before the signature goes)
        heading = re.search(r"^#\s+(.+)$", body, re.M)
        found = formats.extract_header_metadata(body)
        return _with_found_metadata({"id": stem}, found, sidecar or {}, formats.drop_boilerplate(body)[0],
                                    rel, warnings if warnings is not None else [],
                                    heading.group(1).strip() if heading else "")
    if not meta.get("title"):
        heading = re.search(r"^#\s+(.+)$", body, re.M)
        if heading:
            meta["title"] = heading.group(1).strip()
    return _make_document({**meta, **(sidecar or {})}, body, rel)


def _load_txt(text: str, rel: str, stem: str, sidecar: dict | None = None,
              warnings: list[Failure] | None = None) -> Document:
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise DocumentError(rel, "empty file")
    found = formats.extract_header_metadata(text)
    if found.get("title"):  # a standard header: the whole text is the body, without the signature block
        body = formats.drop_boilerplate("\n".join(lines))[0]
    else:  # otherwise the first line is the title
        found["title"], body = lines[0].strip(), "\n".join(lines[1:])
    return _with_found_metadata({"id": stem}, found, sidecar or {}, body, rel,
                                warnings if warnings is not None else [])


def _load_jsonl(text: str, rel: str, limits: Limits) -> list[tuple[Document | Failure, str]]:
    out: list[tuple[Document | Failure, str]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{rel}:{lineno}"
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise DocumentError(where, "a line must be a JSON object with id, title and text")
            if "id" not in record:
                raise DocumentError(where, "no 'id'")
            meta = {k: v for k, v in record.items() if k != "text"}
            check_fields(meta)
            body = record.get("text") or ""
            if not isinstance(body, str):
                raise DocumentError(where, f"'text' must be text, got {type(body).__name__}")
            if len(body) > limits.max_chars:
                raise DocumentError(where, over_chars(len(body), limits))
            out.append((_make_document(meta, body, where), where))
        except json.JSONDecodeError as exc:
            out.append((Failure(where, f"invalid JSON: {exc.msg} at column {exc.colno}"), where))
        except DocumentError as exc:
            out.append((Failure(exc.path, exc.reason), where))
        except MetadataError as exc:
            out.append((Failure(where, str(exc)), where))
    if not out:
        raise DocumentError(rel, "empty file")
    return out


def _text_field(meta: dict, name: str, rel: str) -> str:
    value = meta.get(name)
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value).strip()
    raise DocumentError(rel, f"field '{name}' must be text, got {type(value).__name__}")


def _make_document(meta: dict, body: str, rel: str) -> Document:
    doc_id = _text_field(meta, "id", rel)
    if not doc_id:
        raise DocumentError(rel, "empty 'id'")
    if not _ID_RE.match(doc_id):
        raise DocumentError(rel, f"id '{doc_id}' may hold only letters, digits, '.', '_' and '-'")
    title = _text_field(meta, "title", rel)
    if not title:
        raise DocumentError(rel, "missing title")
    if not body.strip():
        raise DocumentError(rel, "empty body (no text after the front matter)")
    raw_number = _text_field(meta, "doc_number", rel)
    doc_number = (docnumbers.canonical(raw_number) or raw_number) if raw_number else ""
    issued = _text_field(meta, "issued", rel)
    if issued and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", issued):
        raise DocumentError(rel, f"issued '{issued}' is not a date like 2016-05-15")
    complete = meta.get("complete")
    if complete is not None and not isinstance(complete, bool):
        complete = str(complete).strip().lower() in ("yes", "true", "1")
    try:
        in_force = status.status_fields(meta)
    except status.StatusError as exc:
        raise DocumentError(rel, str(exc)) from None
    doc = Document(
        doc_id=doc_id,
        title=title,
        text=bound_runs(body.strip("\n")),  # no passage longer than limits.MAX_RUN_CHARS, punctuated or not
        doc_number=doc_number,
        doc_type=status.doc_type_code(_text_field(meta, "doc_type", rel)),
        issuer=_text_field(meta, "issuer", rel),
        issued=issued,
        source_url=_text_field(meta, "source_url", rel),
        complete=complete,
        path=rel,
        **in_force,
    )
    return status.read_from_text(doc)
