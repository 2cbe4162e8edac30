"""What a message is before it is searched: a greeting, thanks, too short to search, or a question."""

from __future__ import annotations

import re

from bot.documents import docnumbers, vietnamese

# Whole messages (folded: no diacritics, lower case) that greet or thank rather than ask.
_GREETING_WORDS = frozenset(
    "xin chao chao hello hi hey alo a lo ban bot anh chi em ad admin moi nguoi buoi sang trua chieu toi "
    "ca nha a u nhe nha oi".split())
_GREETING_HEADS = ("xin chao", "chao", "hello", "hi", "hey", "alo", "a lo")
_THANKS_WORDS = frozenset(
    "cam on thank thanks you tks thanks ok oke okay vang da duoc roi nhieu nhe nha ban bot anh chi em ad "
    "rat a hay qua tot".split())
_THANKS_HEADS = ("cam on", "thank", "thanks", "tks", "ok cam on", "vang cam on", "da cam on")
_MAX_SMALLTALK_WORDS = 6
# words that make a single word a question about structure ("Điều 8", "khoản 2") rather than too short
_UNIT_WORDS = frozenset("dieu khoan diem muc chuong phan".split())


def classify(text: str) -> str:
    """"greeting", "thanks", "too_short" or "" (a question to search)."""
    folded = " ".join(vietnamese.syllables(vietnamese.fold(text or "")))
    words = folded.split()
    if not words:
        return ""
    if len(words) <= _MAX_SMALLTALK_WORDS:
        if _is_smalltalk(folded, words, _THANKS_HEADS, _THANKS_WORDS):
            return "thanks"
        if _is_smalltalk(folded, words, _GREETING_HEADS, _GREETING_WORDS):
            return "greeting"
    if docnumbers.find_doc_numbers(text) or docnumbers.loose_doc_numbers(text):
        return ""  # "HD 06" may name a document the collection holds
    if all(w.isdigit() for w in words):
        return "too_short"
    letters = [w for w in words if not w.isdigit()]
    if len(letters) == 1 and len(words) <= 2 and letters[0] not in _UNIT_WORDS:
        return "too_short"
    return ""


def _is_smalltalk(folded: str, words: list[str], heads: tuple[str, ...], vocabulary: frozenset[str]) -> bool:
    return any(re.match(rf"{re.escape(h)}\b", folded) for h in heads) and all(w in vocabulary for w in words)


# what a question may add to a document's number and still ask for the document itself ("QĐ 294 nói gì?")
_ABOUT_DOCUMENT = frozenset(
    "noi gi la ve cua gom co nhung nhung cai the nao sao noi dung toan van tom tat chinh so hieu van ban "
    "cho toi xem doc tra cuu tim hoi biet ve gi nao ay do nay kia ne vay a xin hay tai lieu".split())


def only_document_number(text: str) -> bool:
    """Whether a question is one or more document numbers and nothing to look for in them ("QĐ 294",
    "Quy định 294-QĐ/TW nói gì?"): the answer is then the document itself, from its beginning."""
    found = docnumbers.find_doc_numbers(text or "") or docnumbers.loose_doc_numbers(text or "")
    if not found:
        return False
    rest = text
    for n in sorted(found, key=lambda n: -n.span[0]):
        rest = rest[:n.span[0]] + " " + rest[n.span[1]:]
    words = vietnamese.syllables(vietnamese.fold(rest))
    return all(w in _ABOUT_DOCUMENT or not w.isalnum() for w in words)
