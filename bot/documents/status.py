"""Whether a document is in force: status fields from front matter / sidecar, what the text itself says
("… thay thế Hướng dẫn số 01-HD/TW …", "có hiệu lực thi hành từ ngày 01/7/2025"), the document it carries
out ("thi hành Điều lệ Đảng"), and the links between the documents of one collection."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

import yaml

from bot.documents import docnumbers
from bot.documents.metadata import NoAliasLoader
from bot.documents.vietnamese import fold
from bot.models import Document

IN_FORCE = "còn hiệu lực"
NOT_IN_FORCE = "hết hiệu lực"
_STATUS_FORMS = {"con hieu luc": IN_FORCE, "het hieu luc": NOT_IN_FORCE}
_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
_TYPE_WORDS = (r"Quy định|Hướng dẫn|Chỉ thị|Nghị quyết|Kết luận|Quyết định|Thông tư|Nghị định|Quy chế|Kế hoạch|"
               r"Thông báo|Văn bản|Điều lệ")
# "Hướng dẫn này có hiệu lực … và thay thế Hướng dẫn số 01-HD/TW, ngày 28/9/2021 …": up to the sentence end
_REPLACES = re.compile(rf"(?:{_TYPE_WORDS})\s+này\b[^.]*?\bthay\s+thế\b([^.]*)", re.U | re.I)
_EFFECTIVE = re.compile(rf"(?:{_TYPE_WORDS})\s+này\b[^.]*?\bcó\s+hiệu\s+lực(?:\s+thi\s+hành)?\s+(?:kể\s+)?từ\s+"
                        r"(ngày\s+ký|ngày\s+(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4}))", re.U | re.I)
# "… thi hành Điều lệ Đảng", "hướng dẫn thực hiện Chỉ thị số 05-CT/TW"
_IMPLEMENTS = re.compile(rf"\b(?:thi\s+hành|thực\s+hiện)\s+((?:{_TYPE_WORDS})\b.*)", re.U | re.I)
_CHARTER = "Điều lệ Đảng"
# knowledge/_status.yaml: status of documents by number, for those the collection only cites
STATUS_FILE = "_status.yaml"
_MAX_STATUS_FILE = 1_000_000


class StatusError(ValueError):
    """A status field with a value the loader cannot use; the message names the field."""


def status_fields(meta: dict) -> dict:
    """`replaces`, `replaced_by`, `status`, `effective` from front matter / sidecar values, checked and in
    canonical form. Raises StatusError."""
    out: dict = {}
    raw = meta.get("replaces")
    if raw is not None:
        items = [raw] if isinstance(raw, (str, int)) else raw
        if not isinstance(items, list) or not all(isinstance(x, (str, int)) for x in items):
            raise StatusError("field 'replaces' must be a document number or a list of numbers")
        out["replaces"] = tuple(dict.fromkeys(_number(str(x)) for x in items if str(x).strip()))
    if meta.get("replaced_by") is not None:
        if not isinstance(meta["replaced_by"], (str, int)):
            raise StatusError("field 'replaced_by' must be a document number")
        out["replaced_by"] = _number(str(meta["replaced_by"]))
    if meta.get("status") is not None:
        value = " ".join(fold(str(meta["status"])).lower().split())
        if value and value not in _STATUS_FORMS:
            raise StatusError(f"status '{meta['status']}' must be '{IN_FORCE}' or '{NOT_IN_FORCE}'")
        out["status"] = _STATUS_FORMS.get(value, "")
    effective = meta.get("effective")
    if effective is not None:
        value = effective.isoformat()[:10] if isinstance(effective, (dt.date, dt.datetime)) else str(effective)
        if value.strip() and not _DATE.fullmatch(value.strip()):
            raise StatusError(f"effective '{value}' is not a date like 2025-07-01")
        out["effective"] = value.strip()
    return out


def _number(raw: str) -> str:
    raw = raw.strip()
    return docnumbers.canonical(raw) or raw


def doc_type_code(raw: str) -> str:
    """"Quy định" -> "quy-dinh", "Điều lệ" -> "dieu-le"; codes ("chi-thi", "tin-tuc") are kept."""
    return "-".join(fold(raw).lower().replace("_", " ").split())


def read_from_text(doc: Document) -> Document:
    """Fill what the document says about itself and is not set yet: the numbers it replaces, the date it
    takes effect, the document it carries out."""
    changes: dict = {}
    if not doc.replaces:
        found: list[str] = []
        for m in _REPLACES.finditer(doc.text):
            found.extend(n.canonical for n in docnumbers.find_doc_numbers(m.group(1)))
        own = docnumbers.doc_key(doc.doc_number) if doc.doc_number else None
        numbers = tuple(dict.fromkeys(n for n in found if docnumbers.doc_key(n) != own))
        if numbers:
            changes["replaces"] = numbers
    if not doc.effective:
        m = _EFFECTIVE.search(doc.text)
        if m and m.group(2):
            changes["effective"] = f"{int(m.group(4)):04d}-{int(m.group(3)):02d}-{int(m.group(2)):02d}"
        elif m and doc.issued:  # "kể từ ngày ký": the day it was signed
            changes["effective"] = doc.issued
    if not doc.implements and doc.doc_type != "tin-tuc":
        implemented = implemented_name(doc.title)
        if implemented:
            changes["implements"] = implemented
    return dataclasses.replace(doc, **changes) if changes else doc


def implemented_name(title: str) -> str:
    """What a title says the document carries out: "Điều lệ Đảng", or a canonical number; "" otherwise."""
    m = _IMPLEMENTS.search(title)
    if not m:
        return ""
    target = m.group(1)
    if fold(target).lower().startswith(fold(_CHARTER).lower()):
        return _CHARTER
    found = docnumbers.find_doc_numbers(target)
    return found[0].canonical if found else ""


def _is_charter(doc: Document) -> bool:
    return fold(doc.title).lower().startswith(fold(_CHARTER).lower()) or doc.doc_type == "dieu-le"


def load_notes(root: Path) -> tuple[dict[str, dict], list[str]]:
    """Status fields by canonical number from knowledge/_status.yaml ({} when there is none), and the
    problems found (one line each; a wrong entry is left out, the others are used)."""
    path = Path(root) / STATUS_FILE
    if not path.is_file():
        return {}, []
    if path.stat().st_size > _MAX_STATUS_FILE:
        return {}, [f"{STATUS_FILE}: larger than {_MAX_STATUS_FILE} bytes, not read"]
    try:
        data = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=NoAliasLoader)  # noqa: S506 - no aliases
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return {}, [f"{STATUS_FILE}: not valid YAML ({getattr(exc, 'problem', None) or exc})"]
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        return {}, [f"{STATUS_FILE}: must map document numbers to fields (47-QĐ/TW: {{replaced_by: ...}})"]
    notes: dict[str, dict] = {}
    problems: list[str] = []
    for raw, fields in data.items():
        number = docnumbers.canonical(str(raw))
        if not number or not isinstance(fields, dict):
            problems.append(f"{STATUS_FILE}: '{raw}' must be a document number with fields under it")
            continue
        try:
            notes[number] = status_fields(fields)
        except StatusError as exc:
            problems.append(f"{STATUS_FILE}: {number}: {exc}")
    return notes, problems


def number_status(documents: Iterable[Document], notes: dict[str, dict] | None = None) -> dict[str, dict]:
    """Status by canonical number for every number whose status is known: the documents' own fields, the
    notes, and the links between them ("24-QĐ/TW" -> {"replaced_by": "294-QĐ/TW", "status": "hết hiệu lực"}
    when the collection holds Quy định 294, which replaces it)."""
    out: dict[str, dict] = {n: dict(f) for n, f in (notes or {}).items()}
    for doc in documents:
        if doc.doc_number:
            own = {k: v for k, v in (("replaces", doc.replaces), ("replaced_by", doc.replaced_by),
                                     ("status", doc.status), ("effective", doc.effective)) if v}
            out[doc.doc_number] = {**{k: v for k, v in out.get(doc.doc_number, {}).items() if v}, **own}
    for number, fields in list(out.items()):
        for old in fields.get("replaces", ()):
            entry = out.setdefault(old, {})
            entry.setdefault("replaced_by", number)
            entry.setdefault("status", NOT_IN_FORCE)
    return {n: f for n, f in out.items() if f}


def link(documents: Iterable[Document], notes: dict[str, dict] | None = None) -> list[Document]:
    """The collection with its links filled in: a document replaced by another one of the collection (or
    by a number in `notes`) gets `replaced_by` (and status "hết hiệu lực" unless set); fields the notes give
    for its number fill what the document does not set; `implements` becomes the id of the implemented
    document when the collection holds it. Values set in front matter or a sidecar are kept."""
    docs = list(documents)
    by_key: dict[str, list[int]] = {}
    for i, doc in enumerate(docs):
        key = docnumbers.doc_key(doc.doc_number) if doc.doc_number else None
        if key:
            by_key.setdefault(key, []).append(i)
    for number, fields in (notes or {}).items():
        for i in by_key.get(docnumbers.doc_key(number) or "", []):
            unset = {k: v for k, v in fields.items() if v and not getattr(docs[i], k)}
            docs[i] = dataclasses.replace(docs[i], **unset) if unset else docs[i]
    replacing = [(d.doc_number or d.doc_id, d.doc_id, d.replaces) for d in docs]
    replacing += [(number, "", f.get("replaces", ())) for number, f in (notes or {}).items()]
    for new_number, new_id, replaced in replacing:
        for number in replaced:
            for i in by_key.get(docnumbers.doc_key(number) or "", []):
                old = docs[i]
                if old.doc_id == new_id:
                    continue
                docs[i] = dataclasses.replace(old, replaced_by=old.replaced_by or new_number,
                                              status=old.status or NOT_IN_FORCE)
    charter = next((d.doc_id for d in docs if _is_charter(d)), "")
    for i, doc in enumerate(docs):
        if not doc.implements:
            continue
        if doc.implements == _CHARTER and charter and charter != doc.doc_id:
            docs[i] = dataclasses.replace(doc, implements=charter)
            continue
        targets = by_key.get(docnumbers.doc_key(doc.implements) or "", [])
        if targets and docs[targets[0]].doc_id != doc.doc_id:
            docs[i] = dataclasses.replace(doc, implements=docs[targets[0]].doc_id)
    return docs
