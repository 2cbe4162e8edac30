"""Hostile documents built by the tests: small on disk, huge when expanded (zip bomb .docx, YAML alias bomb,
20,000-page PDF, deeply nested HTML), and a subprocess that reads one and reports its peak memory."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_MB = 1024 * 1024


# ---------------------------------------------------------------- zip bomb .docx

def _raw_deflate(data: bytes, finish: bool) -> bytes:
    """`data` as a self-contained piece of a raw deflate stream (no back-references out of it)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FINISH if finish else zlib.Z_FULL_FLUSH)


def _write_zip(path: Path, entries: list[tuple[str, bytes, int, int, int]]) -> None:
    """entries: (name, deflated bytes, crc32, uncompressed size to declare, real uncompressed size)."""
    out = bytearray()
    central = bytearray()
    for name, deflated, crc, declared, _real in entries:
        raw = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(deflated), declared, len(raw), 0)
        out += raw + deflated
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(deflated),
                               declared, len(raw), 0, 0, 0, 0, 0, offset) + raw
    cd_offset = len(out)
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                                 cd_offset, 0)
    path.write_bytes(bytes(out))


def write_zip_bomb_docx(path: Path, inflated_mb: int = 1200, declared_mb: float | None = None) -> None:
    """A real .docx whose word/document.xml holds `inflated_mb` MB of blanks inside <w:body> (about 1 KB
    compressed per MB). With `declared_mb`, the archive lies about that part's size."""
    import docx

    small = path.with_suffix(".small.docx")
    document = docx.Document()
    document.add_paragraph("Chỉ thị về chuyển đổi số trong các cơ quan đảng.")
    document.save(str(small))
    import zipfile

    with zipfile.ZipFile(small) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    small.unlink()
    entries = []
    for name, data in parts.items():
        if name != "word/document.xml":
            entries.append((name, _raw_deflate(data, True), zlib.crc32(data), len(data), len(data)))
            continue
        head, tail = data.split(b"<w:body>", 1)
        prefix, suffix, blanks = head + b"<w:body>", tail, b" " * _MB
        deflated = _raw_deflate(prefix, False) + _raw_deflate(blanks, False) * inflated_mb + _raw_deflate(suffix, True)
        crc = zlib.crc32(prefix)
        for _ in range(inflated_mb):
            crc = zlib.crc32(blanks, crc)
        crc = zlib.crc32(suffix, crc)
        real = len(prefix) + inflated_mb * _MB + len(suffix)
        declared = int(declared_mb * _MB) if declared_mb is not None else real
        entries.append((name, deflated, crc, declared, real))
    _write_zip(path, entries)


# ---------------------------------------------------------------- YAML alias bomb

def alias_bomb_yaml(levels: int = 8, fanout: int = 10) -> str:
    """"a0: &a0 [lol, ...]; a1: &a1 [*a0, *a0, ...]; ...": `fanout ** levels` strings once expanded."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * fanout)}]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * fanout)}]")
    lines.append(f"complete: *a{levels - 1}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- many-page PDF

def _letters(n: int) -> str:
    out = ""
    for _ in range(4):
        n, r = divmod(n, 26)
        out += chr(ord("a") + r)
    return out


def write_many_page_pdf(path: Path, pages: int, line: str = "khong co dau cham nao ca " * 4,
                        unique: bool = False) -> None:
    """A PDF of `pages` pages of text without punctuation. By default every page draws one shared content
    stream (20,000 pages in a few MB); `unique` gives each page its own five lines, so that nothing repeats
    like a running header and the text runs on from page to page."""
    if unique:
        streams = []
        for page_no in range(pages):
            ops = " ".join(f"1 0 0 1 30 {800 - 14 * i} Tm ({line}{_letters(page_no * 5 + i)}) Tj" for i in range(5))
            streams.append(f"BT /F1 9 Tf {ops} ET".encode("latin-1"))
    else:
        streams = [f"BT /F1 9 Tf 30 800 Td ({line}) Tj ET".encode("latin-1")]
    first_page = 4 + len(streams)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    objects += [b"<< /Length %d >>\nstream\n" % len(st) + st + b"\nendstream" for st in streams]
    kids = " ".join(f"{first_page + i} 0 R" for i in range(pages))
    objects[1] = f"<< /Type /Pages /Count {pages} /Kids [{kids}] >>".encode()
    for page_no in range(pages):
        content = 4 + (page_no if unique else 0)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> "
                       b">> /Contents %d 0 R >>" % content)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def write_pdf_stream_bomb(path: Path, inflated_mb: int = 1000) -> None:
    """A one-page PDF whose content stream (FlateDecode) unpacks to `inflated_mb` MB: about 1 KB per MB."""
    head = b"BT /F1 9 Tf 30 800 Td (Chi thi ve chuyen doi so) Tj ET\n"
    deflated = _raw_deflate(head, False) + _raw_deflate(b" " * _MB, False) * inflated_mb + _raw_deflate(b"\n", True)
    c = zlib.compressobj(9)  # a zlib header and checksum around the raw stream, as FlateDecode expects
    header = c.compress(b"")[:2] or b"\x78\xda"
    adler = zlib.adler32(head)
    for _ in range(inflated_mb):
        adler = zlib.adler32(b" " * _MB, adler)
    stream = header + deflated + struct.pack(">I", zlib.adler32(b"\n", adler))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Count 1 /Kids [5 0 R] >>",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
               b"/Contents 4 0 R >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


# ---------------------------------------------------------------- nested HTML

def nested_html(depth: int, repeat: int = 1, text: str = "Nội dung văn bản") -> str:
    """`repeat` chains of `depth` nested <div>, each holding a line of text at the bottom."""
    chain = "<div>" * depth + f"<p>{text}</p>" + "</div>" * depth
    return "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Trang</title></head><body>" \
        + chain * repeat + "</body></html>"


# ---------------------------------------------------------------- reading in a measured subprocess

_SCRIPT = r"""
import json, resource, sys
from pathlib import Path
import docx, pdfplumber, lxml.etree, yaml  # imported before the baseline: reading a file may need them
from bot.documents.chunking import chunk_document
from bot.documents.limits import Limits
from bot.documents.loading import DocumentError, load_file
from bot.models import Failure

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

path, limits, cap_mb = Path(sys.argv[1]), Limits(**json.loads(sys.argv[2])), int(sys.argv[3])
size_kb = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmSize:"))
room = size_kb * 1024 + cap_mb * 1024 * 1024  # a runaway read fails here instead of eating the machine
resource.setrlimit(resource.RLIMIT_AS, (room, room))
base = peak_mb()
out = {"documents": 0, "failures": [], "passages": 0, "longest_passage": 0}
try:
    for doc, _where in load_file(path, rel=path.name, limits=limits, max_file_mb=1000):
        if isinstance(doc, Failure):
            out["failures"].append(doc.reason)
            continue
        out["documents"] += 1
        passages = chunk_document(doc)
        out["passages"] += len(passages)
        out["longest_passage"] = max([out["longest_passage"]] + [len(p.text) for p in passages])
except DocumentError as exc:
    out["failures"].append(exc.reason)
except MemoryError:
    out["failures"].append("MemoryError")
out["growth_mb"] = peak_mb() - base
print(json.dumps(out))
"""


def read_in_subprocess(path: Path, limits: dict | None = None, timeout: float = 120,
                       memory_cap_mb: int = 1500) -> dict:
    """Load one file in a fresh interpreter (address space capped so a runaway read fails instead of eating
    the machine); returns documents, failures (reasons), passages, longest passage and peak memory growth."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(path), json.dumps(limits or {}), str(memory_cap_mb)],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=str(REPO))
    if done.returncode != 0:
        raise AssertionError(f"reading {path.name} crashed (exit {done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
