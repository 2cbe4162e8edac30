"""Vietnamese text normalisation and the tokens the lexical index uses.

Owns: one canonical spelling per syllable (NFC, one tone-mark placement), diacritic folding, stopwords,
unigram + bigram search tokens, and finding the spans of matched words in the original text.

Tone-mark placement: the "old"/traditional style is the canonical one (hòa, thủy, khỏe, quý, hóa, khóa).
For a two-vowel nucleus without a final consonant the mark sits on the FIRST vowel (mùa, hài, hòa, thủy);
with a final consonant on the second (toán, hoàng); a vowel carrying a quality mark (ă â ê ô ơ ư) always
takes it (ơ in ươ); a three-vowel nucleus takes it on the middle vowel (ngoài, khuỷu). "qu" and "gi" before
another vowel are onsets (quý, già). Set _TONE_ON_SECOND_VOWEL_IN_OA_OE_UY to True for the other style
(hoà, thuỷ, khoẻ) — and rebuild every index, since indexed tokens change.

Stopwords and bigrams: stopwords are dropped as unigrams only; a bigram is formed from every two adjacent
syllables of a phrase (punctuation ends a phrase), including bigrams with one stopword ("không_được",
"được_làm", "những_điều"), except when BOTH syllables are stopwords ("của_các", "là_gì"). In folded mode the
stopword test runs on folded syllables against FOLDED_STOPWORDS, which leaves out folds that are also
content words ("dang" = đang/Đảng, "thi" = thì/thị, "tu" = từ/tư), so index and queries decide the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "STOPWORDS",
    "FOLDED_STOPWORDS",
    "normalize",
    "fold",
    "has_diacritics",
    "syllables",
    "search_tokens",
    "match_spans",
    "pyvi_tokens",
]

# Flip to True for the "new style" placement (hoà, thuỷ, khoẻ). One style, used everywhere.
_TONE_ON_SECOND_VOWEL_IN_OA_OE_UY = False

# The five tone marks as combining characters: huyền, sắc, ngã, hỏi, nặng.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_VOWELS = frozenset("aăâeêioôơuưy")
_QUALITY_VOWELS = frozenset("ăâêôơư")

# Letters (including stray combining marks, e.g. a tone typed after a final consonant) or digits.
_SYLLABLE_RE = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f])+|\d+")
# Inside a whitespace-free chunk: a syllable (group 1), or a run of anything that is neither a word character
# nor whitespace — punctuation ends a phrase, so bigrams never cross it.
_PIECE_RE = re.compile(r"((?:[^\W\d_]|[\u0300-\u036f])+|\d+)|[^\w\u0300-\u036f]+|_+")
_DIACRITIC_RE = re.compile(r"[\u0300-\u036fđĐÐð]")


def _build_punctuation_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for ch in "“”„‟«»″":
        table[ord(ch)] = '"'
    for ch in "‘’‚‛′":
        table[ord(ch)] = "'"
    for ch in "‐‑‒–—―−":
        table[ord(ch)] = "-"
    for cp in [0x00A0, 0x202F, 0x3000, *range(0x2000, 0x200B)]:
        table[cp] = " "
    for cp in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD):
        table[cp] = ""
    table[ord("…")] = "..."
    # Legacy encodings often put the Icelandic eth where Đ belongs.
    table[ord("Ð")] = "Đ"
    table[ord("ð")] = "đ"
    return table


_PUNCTUATION_TABLE = _build_punctuation_table()
_FOLD_DELETE_TABLE: dict[int, str | None] = {cp: None for cp in range(0x0300, 0x0370)}
_FOLD_DELETE_TABLE.update({ord("đ"): "d", ord("Đ"): "D", ord("Ð"): "D", ord("ð"): "d"})


def _build_toned_chars() -> str:
    """Every precomposed Latin letter whose decomposition carries a tone mark (ò, ấ, ǹ, ...)."""
    chars = []
    for cp in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]:
        ch = chr(cp)
        if any(c in _TONE_MARKS for c in unicodedata.normalize("NFD", ch)):
            chars.append(ch)
    return "".join(chars)


# A word needs a tone-placement check only when it holds a toned letter or a loose tone mark.
_TONED_WORD_RE = re.compile(
    r"(?:[^\W\d_]|[\u0300-\u036f])*[" + _build_toned_chars() + r"\u0300\u0301\u0303\u0309\u0323\u0340\u0341]"
    r"(?:[^\W\d_]|[\u0300-\u036f])*"
)

STOPWORDS: frozenset[str] = frozenset(
    {
        # function words
        "và", "của", "là", "các", "những", "được", "cho", "với", "trong", "có", "thì", "mà", "này",
        "đó", "ấy", "nên", "cũng", "đã", "đang", "sẽ", "để", "từ", "tại", "về", "như", "một", "hay",
        "hoặc", "rằng", "thế", "vậy", "bị", "nhưng", "còn", "lại", "rất", "ở", "khi", "nếu", "vì",
        "ra", "vào", "lên", "đến", "tới", "đều",
        # question words and chat filler ("... là gì", "bao nhiêu", "như thế nào", "cho em hỏi ạ")
        "gì", "nào", "ntn", "bao", "nhiêu", "sao", "đâu", "ạ", "à", "ơi", "nhé", "nhỉ", "hả", "vâng",
        "tôi", "em", "xin", "hỏi",
    }
)
# "không" and "chưa" are deliberately NOT stopwords: "những điều đảng viên không được làm".

# Folds of stopwords that are also the fold of a content word; kept as unigrams in folded mode.
_AMBIGUOUS_FOLDS = frozenset(
    {
        "cho",  # chợ, chỗ, chở
        "trong",  # trọng (quan trọng, tôn trọng)
        "co",  # cơ (cơ quan), cô, cố
        "thi",  # thị (chỉ thị)
        "ma",  # mã
        "do",  # độ, đồ, đỏ
        "nen",  # nền (nền tảng)
        "cung",  # cùng, cung (cung cấp)
        "da",  # đa, dạ
        "dang",  # Đảng
        "se",  # sẻ (chia sẻ)
        "de",  # đề (vấn đề)
        "tu",  # tư (tư tưởng), tự
        "tai",  # tài, tái
        "nhu",  # nhu (nhu cầu)
        "the",  # thể (cụ thể), thẻ
        "vay",  # vay
        "bi",  # bí (bí thư)
        "con",  # con, cồn
        "lai",  # lãi, lái
        "o",  # ô, ổ
        "khi",  # khí
        "neu",  # nêu (nêu gương)
        "vi",  # vị (đơn vị), vi (vi phạm)
        "den",  # đền, đèn
        "toi",  # tội
        "bao",  # bảo (bảo đảm)
        "nhieu",  # nhiều
        "dau",  # đầu (đứng đầu)
        "nhi",  # nhi (thiếu nhi)
        "ha",  # Hà
        "vang",  # vàng, vắng
        "hoi",  # hội
        "nhe",  # nhẹ
    }
)


def _fold_text(text: str) -> str:
    return unicodedata.normalize("NFD", text).translate(_FOLD_DELETE_TABLE)


FOLDED_STOPWORDS: frozenset[str] = frozenset(_fold_text(w) for w in STOPWORDS) - _AMBIGUOUS_FOLDS


@lru_cache(maxsize=200_000)
def _place_tone(word: str) -> str:
    """Return an NFC word with its tone mark on the canonical vowel (case preserved)."""
    decomposed = unicodedata.normalize("NFD", word)
    tone = next((c for c in decomposed if c in _TONE_MARKS), None)
    if tone is None:
        return unicodedata.normalize("NFC", word)
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    lower = base.lower()
    n = len(lower)
    if len(base) != n:  # exotic case mapping; leave the word alone
        return unicodedata.normalize("NFC", word)
    start = 0
    while start < n and lower[start] not in _VOWELS:
        start += 1
    if start >= n:
        return unicodedata.normalize("NFC", word)
    # "qu" + vowel and "gi" + vowel: the u / i belongs to the onset (quý, quốc, già, giữ).
    if start > 0 and start + 1 < n and lower[start + 1] in _VOWELS:
        if (lower[start - 1] == "q" and lower[start] == "u") or (lower[start - 1] == "g" and lower[start] == "i"):
            start += 1
    end = start
    while end < n and lower[end] in _VOWELS:
        end += 1
    if any(c in _VOWELS for c in lower[end:]):
        return unicodedata.normalize("NFC", word)  # not a Vietnamese syllable
    nucleus = lower[start:end]
    has_final = end < n
    marked = [i for i, c in enumerate(nucleus) if c in _QUALITY_VOWELS]
    if marked:
        pos = marked[-1]
    elif len(nucleus) == 1:
        pos = 0
    elif len(nucleus) == 2:
        if has_final:
            pos = 1
        elif nucleus in ("oa", "oe", "uy"):
            pos = 1 if _TONE_ON_SECOND_VOWEL_IN_OA_OE_UY else 0
        else:
            pos = 0
    elif len(nucleus) == 3:
        pos = 1
    else:
        return unicodedata.normalize("NFC", word)
    k = start + pos
    return base[:k] + unicodedata.normalize("NFC", base[k] + tone) + base[k + 1 :]


@lru_cache(maxsize=300_000)
def _normalize_chunk(chunk: str) -> str:
    """One whitespace-free chunk ("“Hoà", "05-CT/TW,") with every toned word fixed."""
    return _TONED_WORD_RE.sub(_fix_match, chunk)


def _fix_match(match: re.Match[str]) -> str:
    return _place_tone(match.group())


def normalize(text: str) -> str:
    """NFC, canonical tone placement, plain quotes and dashes, single spaces. Case is kept."""
    text = unicodedata.normalize("NFC", text).translate(_PUNCTUATION_TABLE)
    # Splitting on whitespace collapses it too; chunks repeat a lot, so the cache does most of the work.
    return " ".join(map(_normalize_chunk, text.split()))


def fold(text: str) -> str:
    """Remove every diacritic; đ/Đ become d/D. Works on normalized or raw text."""
    return unicodedata.normalize("NFC", _fold_text(text))


def has_diacritics(text: str) -> bool:
    """True when the text holds any Vietnamese diacritic (tone or quality mark) or đ."""
    return _DIACRITIC_RE.search(unicodedata.normalize("NFD", text)) is not None


@lru_cache(maxsize=200_000)
def _canonical_syllable(raw: str) -> str:
    """One raw syllable as found in text -> normalized, lower-cased syllable."""
    return _place_tone(unicodedata.normalize("NFC", raw).translate(_PUNCTUATION_TABLE).lower())


@lru_cache(maxsize=200_000)
def _folded_syllable(raw: str) -> str:
    return _fold_text(_canonical_syllable(raw))


def _prepare(text: str) -> str:
    return unicodedata.normalize("NFC", text).translate(_PUNCTUATION_TABLE).lower()


def syllables(text: str) -> list[str]:
    """Lower-cased normalized syllables (letter runs and digit runs); punctuation dropped.

    "Chỉ thị 05-CT/TW" -> ["chỉ", "thị", "05", "ct", "tw"]; "TW4" -> ["tw", "4"].
    """
    canon = _canonical_syllable
    return [canon(s) for s in _SYLLABLE_RE.findall(_prepare(text))]


@lru_cache(maxsize=300_000)
def _chunk_syllables(chunk: str) -> tuple[str | None, ...]:
    """A lower-cased whitespace-free chunk -> its canonical syllables, None where punctuation breaks a phrase."""
    pieces: list[str | None] = []
    for m in _PIECE_RE.finditer(chunk):
        raw = m.group(1)
        pieces.append(_canonical_syllable(raw) if raw else None)
    return tuple(pieces)


@lru_cache(maxsize=300_000)
def _chunk_folded(chunk: str) -> tuple[str | None, ...]:
    return tuple(None if p is None else _fold_text(p) for p in _chunk_syllables(chunk))


def search_tokens(text: str, *, folded: bool, keep_stopwords: bool = False) -> list[str]:
    """Unigrams plus "_"-joined bigrams of adjacent syllables within a phrase, lower-cased.

    folded=True gives the same tokens on the diacritic-free form. Stopwords are dropped as unigrams;
    bigrams are kept unless both syllables are stopwords (see the module docstring).
    keep_stopwords=True keeps every unigram and every bigram.
    """
    chunk_pieces = _chunk_folded if folded else _chunk_syllables
    stopwords = FOLDED_STOPWORDS if folded else STOPWORDS
    out: list[str] = []
    append = out.append
    prev: str | None = None
    prev_stop = False
    for chunk in _prepare(text).split():
        for syl in chunk_pieces(chunk):
            if syl is None:
                prev = None
                continue
            stop = syl in stopwords
            if keep_stopwords or not stop:
                append(syl)
            if prev is not None and (keep_stopwords or not (stop and prev_stop)):
                append(prev + "_" + syl)
            prev = syl
            prev_stop = stop
    return out


@lru_cache(maxsize=300_000)
def _chunk_both(chunk: str) -> tuple[tuple[str, str, bool, bool] | None, ...]:
    """Per syllable of a chunk: (accented, folded, accented is a stopword, folded is a stopword)."""
    return tuple(None if a is None else (a, f, a in STOPWORDS, f in FOLDED_STOPWORDS)
                 for a, f in zip(_chunk_syllables(chunk), _chunk_folded(chunk)))


def search_token_streams(text: str, pairs: dict[tuple[str, str], str] | None = None
                         ) -> tuple[list[str], list[str]]:
    """The tokens of `search_tokens(text, folded=False)` and `search_tokens(text, folded=True)`, in one
    pass (index builds); the same multisets, in another order (unigrams first, then pairs).

    `pairs`, shared across a build, makes every occurrence of a word pair the same string object:
    token lists then hold pointers, not a new string per occurrence (a 1M-passage build needs that).
    """
    seq: list = []
    for chunk in _prepare(text).split():
        seq.extend(_chunk_both(chunk))
    adjacent = [(a, b) for a, b in zip(seq, seq[1:]) if a is not None and b is not None]
    accented = [c[0] for c in seq if c is not None and not c[2]]
    folded = [c[1] for c in seq if c is not None and not c[3]]
    if pairs is None:
        accented += [a[0] + "_" + b[0] for a, b in adjacent if not (a[2] and b[2])]
        folded += [a[1] + "_" + b[1] for a, b in adjacent if not (a[3] and b[3])]
        return accented, folded
    for a, b in adjacent:
        if not (a[2] and b[2]):
            accented.append(_shared_pair(pairs, a[0], b[0]))
        if not (a[3] and b[3]):
            folded.append(_shared_pair(pairs, a[1], b[1]))
    return accented, folded


def _shared_pair(pairs: dict[tuple[str, str], str], first: str, second: str) -> str:
    token = pairs.get((first, second))
    if token is None:
        token = pairs[(first, second)] = first + "_" + second
    return token


def match_spans(text: str, query_terms: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans in the ORIGINAL text of syllables that match a query term, merged when adjacent.

    A term with diacritics matches the normalized lower-case syllable ("hòa" matches "Hoà");
    a term without diacritics matches on the folded form ("dang" matches "Đảng" and "đang").
    Bigram terms ("học_tập") are split into their syllables. Spans separated only by whitespace merge.
    """
    exact: set[str] = set()
    loose: set[str] = set()
    for term in query_terms:
        for part in term.split("_"):
            for syl in syllables(part):
                if has_diacritics(syl):
                    exact.add(syl)
                else:
                    loose.add(syl)
    if not exact and not loose:
        return []
    spans: list[tuple[int, int]] = []
    for m in _SYLLABLE_RE.finditer(text):
        raw = m.group()
        if _canonical_syllable(raw) in exact or (loose and _folded_syllable(raw) in loose):
            start, end = m.span()
            if spans and (spans[-1][1] == start or text[spans[-1][1] : start].isspace()):
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
    return spans


@lru_cache(maxsize=512)  # about 50 KB a passage
def _syllable_forms(text: str) -> tuple[tuple[int, int, tuple[int, str], tuple[int, str], bool], ...]:
    """Per syllable of a passage: span, folded and accented forms, and whether only spaces follow it
    before the next syllable. Cached: the same passages come back in answer after answer."""
    found = [(m.start(), m.end(), m.group()) for m in _SYLLABLE_RE.finditer(text)]
    out = []
    for i, (start, end, raw) in enumerate(found):
        space_after = i + 1 < len(found) and text[end:found[i + 1][0]].isspace()
        out.append((start, end, (0, _folded_syllable(raw)), (1, _canonical_syllable(raw)), space_after))
    return tuple(out)


def highlight_spans(text: str, words: Iterable[str], pairs: Iterable[str] = ()) -> list[tuple[int, int]]:
    """Spans of `text` to show in bold for a question: its word pairs ("chỉ_thị") where two adjacent
    syllables of the text match them, and its single words that belong to no pair.

    Preferring pairs keeps "chi thi 05" from lighting up every "chí" and "05" of a passage (a word typed
    without diacritics matches every accented form of it); a word alone is marked wherever it occurs.
    A term with diacritics matches the normalized syllable, one without matches the folded form.
    """
    def key(term: str) -> tuple[int, str]:  # (1, accented) or (0, folded): compared with a syllable's forms
        return (1, term) if has_diacritics(term) else (0, term)

    pair_keys = {(key(a), key(b)) for a, b in (p.split("_", 1) for p in pairs if "_" in p)}
    firsts = {a for a, _b in pair_keys}
    in_pairs = {k for pair in pair_keys for k in pair}
    alone = {key(w) for w in words} - in_pairs
    found = _syllable_forms(text)
    marked = [False] * len(found)
    last = len(found) - 1
    for i, (_start, end, folded_form, exact_form, space_after) in enumerate(found):
        if folded_form in alone or exact_form in alone:
            marked[i] = True
        if i < last and space_after and (folded_form in firsts or exact_form in firsts):
            nxt = found[i + 1]
            if ((folded_form, nxt[2]) in pair_keys or (folded_form, nxt[3]) in pair_keys
                    or (exact_form, nxt[2]) in pair_keys or (exact_form, nxt[3]) in pair_keys):
                marked[i] = marked[i + 1] = True
    spans: list[tuple[int, int]] = []
    for (start, end, *_forms), on in zip(found, marked):
        if not on:
            continue
        if spans and (spans[-1][1] == start or text[spans[-1][1]:start].isspace()):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def pyvi_tokens(text: str) -> list[str]:
    """Word-segmented lower-case tokens from pyvi ("học_tập"), for comparison with bigrams.

    pyvi is imported lazily: it is slower and only needed when measuring the alternative.
    """
    from pyvi import ViTokenizer  # imported here so the module loads without pyvi

    segmented = ViTokenizer.tokenize(normalize(text))
    return [tok.lower() for tok in segmented.split() if any(ch.isalnum() for ch in tok)]
