"""References to cite: a document's reference with its section and status, and the name people use for it."""

from __future__ import annotations

from bot import messages
from bot.documents import docnumbers, vietnamese
from bot.models import Document, Reference

NOT_IN_FORCE = "hết hiệu lực"


def reference(doc: Document, section: str = "", page: int = 0) -> Reference:
    """The reference of a passage of `doc` at `section` (and PDF page), with the document's status."""
    if page:  # PDF documents: the page goes with the section ("II. Nhiệm vụ · trang 3")
        section = f"{section} · {messages.PAGE.format(page=page)}" if section \
            else messages.PAGE.format(page=page).capitalize()
    replaced_by = getattr(doc, "replaced_by", "") or ""
    status = NOT_IN_FORCE if replaced_by or _not_in_force(doc) else ""
    if replaced_by and docnumbers.doc_key(replaced_by):  # "06-HD/TW" -> "Hướng dẫn 06-HD/TW"
        replaced_by = docnumbers.describe_canonical(replaced_by)
    return Reference(doc_id=doc.doc_id, title=doc.title, doc_number=doc.doc_number, doc_type=doc.doc_type,
                     issuer=doc.issuer, issued=doc.issued, section=section, source_url=doc.source_url,
                     status=status, replaced_by=replaced_by)


def in_force(doc: Document) -> bool:
    """False for a document known to be replaced or repealed."""
    return not (getattr(doc, "replaced_by", "") or _not_in_force(doc))


def _not_in_force(doc: Document) -> bool:
    return vietnamese.fold(getattr(doc, "status", "") or "").lower().strip() == "het hieu luc"


def type_code(doc_type: str) -> str:
    """"Quy định" / "quy-dinh" / "Quy dinh" -> "quy-dinh" (the codes of messages.DOC_TYPE_NAMES)."""
    return "-".join(vietnamese.fold(vietnamese.normalize(doc_type or "")).lower().replace("-", " ").split())


def document_name(doc: Document) -> str:
    """"Quy định 294-QĐ/TW"; a document without a number by its title ("Điều lệ Đảng Cộng sản Việt Nam")."""
    if doc.doc_number:
        kind = messages.DOC_TYPE_NAMES.get(type_code(doc.doc_type), "")
        return f"{kind} {doc.doc_number}".strip()
    return doc.title


def is_charter(doc: Document) -> bool:
    """The Điều lệ Đảng (the document Quy định / Hướng dẫn "thi hành Điều lệ Đảng" carry out)."""
    return type_code(doc.doc_type) == "dieu-le" or \
        vietnamese.fold(doc.title).lower().startswith("dieu le dang")
