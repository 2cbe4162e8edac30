"""Text and metadata out of the formats admins receive (.docx, .pdf, .html) and out of a document's own header.

Every extractor returns an `Extraction` whose text is shaped for bot/documents/chunking.py: one heading or
paragraph per line, blank lines between paragraphs, table rows as "cell | cell". Each reads at most what
`Limits` allows (bot/documents/limits.py, docs/limits.md). `extract_header_metadata` reads the standard header
of Party documents ("BỘ CHÍNH TRỊ … Số 05-CT/TW … Hà Nội, ngày … CHỈ THỊ về …").
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from bot.documents.formats.base import Extraction, FormatError
from bot.documents.formats.boilerplate import drop_boilerplate
from bot.documents.formats.header import DOC_TYPES, extract_header_metadata, file_id, missing_fields
from bot.documents.formats.pdf import extract_pdf
from bot.documents.formats.web import extract_html
from bot.documents.formats.word import extract_docx
from bot.documents.limits import DEFAULT, Limits, bound_runs, over_chars
from bot.documents.vietnamese import normalize

__all__ = ["DOC_TYPES", "EXTRACTORS", "Extraction", "FormatError", "drop_boilerplate", "extract",
           "extract_header_metadata", "file_id", "missing_fields", "tidy"]

log = logging.getLogger(__name__)

EXTRACTORS = {".docx": extract_docx, ".pdf": extract_pdf, ".html": extract_html, ".htm": extract_html}


def extract(path: Path, limits: Limits = DEFAULT) -> Extraction:
    """Dispatch on the extension; raises FormatError. Never returns an empty text.

    The meta holds what the format says (core properties, <head>) overridden by what the document's header
    says; the text has no signature block, "Nơi nhận" list or page numbers, and no run longer than
    limits.MAX_RUN_CHARS without a sentence end.
    """
    ext = path.suffix.lower()
    extractor = EXTRACTORS.get(ext)
    if extractor is None:
        raise FormatError(f"no extractor for '{ext}'")
    try:
        result = extractor(path, limits)
    except FormatError:
        raise
    except (MemoryError, RecursionError) as exc:
        raise FormatError(f"the file is too large or too deeply nested to read ({type(exc).__name__})") from None
    except Exception as exc:  # a parser failing on a malformed file must not stop the whole index build
        log.warning("%s: extractor failed", path, exc_info=True)
        raise FormatError(f"could not read the file ({type(exc).__name__}: {exc})") from None
    text = tidy(result.text)
    if len(text) > limits.max_chars:
        raise FormatError(over_chars(len(text), limits))
    result.meta = {**result.meta, **extract_header_metadata(text)}  # before the signature goes
    text, result.page_starts = drop_boilerplate(text, result.page_starts)
    result.text = bound_runs(text)
    log.debug("%s: %d characters, %d page(s)", path.name, len(result.text), len(result.page_starts))
    if not re.search(r"\w", result.text):
        raise FormatError("no text found in the document (nothing to index)")
    return result


def tidy(text: str) -> str:
    """NFC, canonical tone marks and single spaces per line; at most one blank line between paragraphs."""
    lines = [normalize(line) for line in text.replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
