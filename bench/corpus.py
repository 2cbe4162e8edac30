"""Deterministic synthetic corpora at any size, made from the sentences of knowledge/ (for benchmarks)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from bot.documents.chunking import split_sentences
from bot.documents.loading import load_knowledge

REPO = Path(__file__).resolve().parents[1]

_NUMBERS = ["05-CT/TW", "21-KL/TW", "01-KL/TW", "37-QĐ/TW", "08-QĐi/TW", "03-CT/TW", "04-NQ/TW"]
_TYPES = {"CT": "chi-thi", "KL": "ket-luan", "QĐ": "quy-dinh", "QĐi": "quy-dinh", "NQ": "nghi-quyet"}


def sentences() -> list[str]:
    docs = load_knowledge(REPO / "knowledge").documents
    out = []
    for d in docs:
        for para in d.text.split("\n"):
            out.extend(s for s in split_sentences(para) if 6 <= len(s.split()) <= 60)
    return out


def write_corpus(path: Path, passages: int, seed: int = 0, words: tuple[int, int] = (120, 220)) -> int:
    """Write a .jsonl knowledge file of single-passage documents; returns the number written."""
    rng = random.Random(seed)
    pool = sentences()
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(passages):
            target = rng.randint(*words)
            body, n = [], 0
            while n < target:
                s = rng.choice(pool)
                body.append(s)
                n += len(s.split())
            rec = {"id": f"syn-{i:07d}", "title": " ".join(rng.choice(pool).split()[:12]), "text": " ".join(body),
                   "doc_type": "tin-tuc", "issuer": f"Báo tổng hợp {i % 50}",
                   "issued": f"20{rng.randint(16, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"}
            if i % 97 == 0:
                number = rng.choice(_NUMBERS)
                code = number.split("-")[1].split("/")[0]
                rec.update(doc_number=f"{rng.randint(1, 999):02d}-{code}/TW", doc_type=_TYPES[code])
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return passages


def queries(n: int, seed: int = 0) -> list[str]:
    """Mixed questions: accented, unaccented, document numbers (from tests/data and variations)."""
    from bot.documents.vietnamese import fold

    rng = random.Random(seed)
    base = [json.loads(x)["text"] for x in open(REPO / "tests" / "data" / "questions.jsonl", encoding="utf-8")]
    forms = ["Chỉ thị 05", "CT05", "KL 21", "Kết luận 21-KL/TW", "QĐ 37", "Quy định 08-QĐi/TW", "05/CT-TW",
             "NQ TW4 khóa XII", "chi thi 05 yeu cau gi", "ket luan 01"]
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            out.append(rng.choice(base))
        elif kind == 1:
            out.append(fold(rng.choice(base)))
        else:
            out.append(rng.choice(forms))
    return out
