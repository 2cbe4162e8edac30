"""Quiz items drawn from the clauses of official documents, and the rules that discard items reading badly.

Pure functions on Document and Passage values: nothing is written beyond the question frame in
bot/messages.py; the correct option is always the clause's own words.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from dataclasses import dataclass

from bot import messages
from bot.documents.chunking import split_sentences
from bot.models import Document, Passage
from bot.service.quizfacts import DocumentValues, Fact, distractors, document_values, find_facts, in_text, replace

MAX_QUESTION = 300  # Telegram sendPoll: question 1-300 characters
MAX_OPTION = 100  # each option 1-100 characters
MIN_WORDS, MAX_WORDS = 8, 60  # a clause sentence shorter reads as a heading, longer does not fit a poll
MIN_CONTEXT_WORDS = 6  # words of the sentence left around the blank
_OFFICIAL_TYPES = ("quy-dinh", "quy dinh", "huong-dan", "huong dan", "dieu-le", "dieu le", "nghi-quyet",
                   "nghi quyet", "chi-thi", "chi thi", "ket-luan", "ket luan", "quyet-dinh", "quyet dinh",
                   "quy-che", "quy che", "luat")
_MARKER = re.compile(r"^\s*(?:[-+•*]\s+|(\d{1,2}(?:\.\d{1,2})*)\s*[.)]\s+|([a-zđ])\)\s+|(Điều|ĐIỀU)\s+(\d+)[a-z]?\s*[.:]?\s*"
                     r"|(?:Chương|CHƯƠNG)\s+([IVXLC]+|\d+)\b\s*)")
_CONJUNCTIONS = {"và", "hoặc", "nhưng", "thì", "mà", "còn", "của", "để", "với", "là", "các", "những"}
# the sentence points at text around it ("diện nêu trên", "như sau đây"): it cannot stand alone in a poll
_ELSEWHERE = re.compile(r"(?<!\w)(?:nêu trên|nói trên|trên đây|như trên|dưới đây|sau đây|nêu tại điểm này)(?!\w)",
                        re.I)
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


@dataclass(frozen=True)
class QuizItem:
    """One question with its options, the clause it comes from and its reference."""

    item_id: str
    kind: str  # "cloze" (fill the blank) or "true_false"
    fact: str  # duration | age | count | threshold | authority
    question: str
    options: tuple[str, ...]
    correct: int  # index into options
    answer: str  # the clause's own words for the fact asked about
    distractors: tuple[str, ...]  # values offered (or swapped in) that the clause does not state
    clause: str  # the clause sentence, as written in the document
    reference: str  # "Quy định 294-QĐ/TW, mục 1.1.1"
    section: str  # the passage's full section path
    passage_id: str
    doc_id: str
    doc_number: str = ""
    title: str = ""
    source_url: str = ""


def is_official(doc: Document) -> bool:
    """Documents with a structure to cite: a number and a normative type, or the Điều lệ itself."""
    kind = _fold(doc.doc_type)
    if any(kind.startswith(t) for t in _OFFICIAL_TYPES):
        return bool(doc.doc_number) or kind.startswith(("dieu-le", "dieu le"))
    return False


def _fold(text: str) -> str:
    from bot.documents.vietnamese import fold
    return fold(text or "").strip().lower()


def document_name(doc: Document) -> str:
    """"Quy định 294-QĐ/TW", or the title when the document has no number ("Điều lệ Đảng Cộng sản Việt Nam")."""
    if doc.doc_number:
        kind = messages.DOC_TYPE_NAMES.get(doc.doc_type, doc.doc_type if doc.doc_type[:1].isupper() else "")
        return f"{kind} {doc.doc_number}".strip()
    return doc.title


def units_from_section(section: str) -> tuple[str, ...]:
    """Structural units read from a section path when the passage carries none."""
    units: list[str] = []
    for part in section.split(" > ") if section else ():
        _, units = _apply_marker(part, units)
    return tuple(units)


def _roman(text: str) -> int:
    if text.isdigit():
        return int(text)
    total = 0
    for a, b in zip(text, text[1:] + " "):
        v = _ROMAN.get(a, 0)
        total += -v if _ROMAN.get(b, 0) > v else v
    return total


def _apply_marker(line: str, units: list[str]) -> tuple[str, list[str]]:
    """(line without its numbering, units updated by that numbering)."""
    m = _MARKER.match(line)
    if not m or not m.group(0).strip():
        return line, units
    rest = line[m.end():]
    number, letter, article, chapter = m.group(1), m.group(2), m.group(4), m.group(5)
    if chapter:
        return rest, [f"chuong:{_roman(chapter)}"]
    if article:
        return rest, [u for u in units if u.startswith("chuong:")] + [f"dieu:{article}"]
    if letter:
        return rest, [u for u in units if not u.startswith("diem:")] + [f"diem:{letter}"]
    if number and any(u.startswith("dieu:") for u in units) and "." not in number:
        return rest, [u for u in units if u.split(":")[0] in ("chuong", "dieu")] + [f"khoan:{number}"]
    if number:
        parts = number.split(".")
        outline = [f"muc:{'.'.join(parts[:i + 1])}" for i in range(len(parts))]
        return rest, [u for u in units if not u.startswith(("muc:", "diem:"))] + outline
    return rest, units  # a bullet


def unit_label(units: tuple[str, ...]) -> str:
    """("chuong:1", "dieu:5", "khoan:1") -> "Điều 5 khoản 1"; ("muc:3", "muc:3.2") -> "mục 3.2"."""
    names = {"chuong": messages.QUIZ_UNIT_CHAPTER, "dieu": messages.QUIZ_UNIT_ARTICLE,
             "khoan": messages.QUIZ_UNIT_CLAUSE, "diem": messages.QUIZ_UNIT_POINT, "muc": messages.QUIZ_UNIT_ITEM}
    keys = dict(u.split(":", 1) for u in units if ":" in u)  # the last "muc" is the deepest
    if "dieu" in keys:
        keys.pop("chuong", None)
    return " ".join(names[k].format(v) for k, v in keys.items() if k in names)


def clause_sentences(passage: Passage) -> list[tuple[str, tuple[str, ...]]]:
    """The passage's sentences, each with the units of the clause it stands in."""
    units = list(passage.units or units_from_section(passage.section))
    out = []
    for line in passage.text.split("\n"):
        rest, units = _apply_marker(line.strip(), units)
        for sentence in split_sentences(rest):
            out.append((sentence, tuple(units)))
    return out


def sentence_problems(sentence: str) -> list[str]:
    """Why a sentence cannot carry a question: it reads as a heading, a fragment, or is too long."""
    words = sentence.split()
    problems = []
    if not MIN_WORDS <= len(words) <= MAX_WORDS:
        problems.append("length")
    if sentence.startswith(("(", "#", "Về ")) or "**" in sentence or sentence.rstrip().endswith(":"):
        problems.append("heading")
    elif not sentence.rstrip().endswith((".", ";")):
        problems.append("incomplete")
    if not sentence[:1].isupper() or words[0].lower() in _CONJUNCTIONS:
        problems.append("fragment")
    if len(words) > 1 and words[-1].rstrip(".;").lower() in _CONJUNCTIONS:
        problems.append("dangling")
    if "…" in sentence or "..." in sentence:
        problems.append("ellipsis")
    if _ELSEWHERE.search(sentence):
        problems.append("needs_context")
    if re.search(r":\s+[A-ZĐÀ-Ỹ]", sentence) and sentence.rstrip().endswith(";"):
        problems.append("list_item")  # "… của các Đảng bộ: Các cơ quan Đảng Trung ương;": one item of a list
    if sentence.count("(") != sentence.count(")") or sentence.count("“") != sentence.count("”") \
            or sentence.count('"') % 2:
        problems.append("unbalanced")
    return problems


def _in_list(fact: Fact, facts: list[Fact], sentence: str) -> bool:
    """Whether the fact is one value of an enumeration ("30 năm, 40 năm, 45 năm", "55, 60, 65 năm"): no
    question there."""
    if re.search(r"\d\s*,\s*$", sentence[: fact.start]) or re.match(r"\s*,\s*\d", sentence[fact.end:]):
        return True
    for other in facts:
        if other is not fact and other.kind == fact.kind:
            gap = sentence[min(fact.end, other.end): max(fact.start, other.start)]
            if gap.strip() in (",", "và", "hoặc", ", và", ", hoặc", "đến", "-", "–"):
                return True
    return False


def item_problems(item: QuizItem, fact: Fact, facts: list[Fact] = ()) -> list[str]:
    """Why a built item cannot be shipped (empty when it reads well)."""
    problems = []
    clause = item.clause
    if _in_list(fact, list(facts), clause):
        problems.append("value_list")
    if len(re.findall(rf"(?<!\w){re.escape(fact.text.lower())}(?!\w)", clause.lower())) != 1:
        problems.append("answer_repeated")
    before, after = clause[: fact.start].split(), clause[fact.end:].split()
    if len(before) + len(after) < MIN_CONTEXT_WORDS or (not before and len(after) < MIN_CONTEXT_WORDS):
        problems.append("blank_context")
    if len(item.options) < (2 if item.kind == "true_false" else 3) or len(item.options) > 10:
        problems.append("options_count")
    if len({o.lower() for o in item.options}) != len(item.options):
        problems.append("options_not_distinct")
    if any(not o or len(o) > MAX_OPTION for o in item.options):
        problems.append("option_length")
    if any(in_text(d, clause) for d in item.distractors):
        problems.append("distractor_in_clause")
    if not in_text(item.answer, clause):
        problems.append("answer_not_in_clause")
    if len(item.question) > MAX_QUESTION:
        problems.append("question_length")
    return problems


def _item_id(passage: Passage, sentence: str, fact: Fact, kind: str) -> str:
    key = f"{passage.passage_id}|{sentence}|{fact.start}|{kind}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def _cloze(base: dict, sentence: str, fact: Fact, others: list[str]) -> QuizItem:
    item_id = _item_id_of(base, sentence, fact, "cloze")
    options = [fact.text, *others]
    if fact.kind == "authority":
        random.Random(item_id).shuffle(options)
    else:  # numbers and shares read best in order
        options.sort(key=lambda o: _order_key(o, fact))
    blank = replace(sentence, fact, messages.QUIZ_BLANK)
    question = messages.QUIZ_CLOZE.format(reference=base["reference"], sentence=blank)
    return QuizItem(item_id=item_id, kind="cloze", fact=fact.kind, question=question, options=tuple(options),
                    correct=options.index(fact.text), answer=fact.text, distractors=tuple(others),
                    clause=sentence, **{k: v for k, v in base.items() if k != "passage"})


def _true_false(base: dict, sentence: str, fact: Fact, others: list[str]) -> QuizItem:
    item_id = _item_id_of(base, sentence, fact, "true_false")
    true = int(item_id, 16) % 2 == 0
    statement = sentence if true else replace(sentence, fact, others[0])
    question = messages.QUIZ_TRUE_FALSE.format(reference=base["reference"], statement=statement)
    options = (messages.QUIZ_TRUE, messages.QUIZ_FALSE)
    return QuizItem(item_id=item_id, kind="true_false", fact=fact.kind, question=question, options=options,
                    correct=0 if true else 1, answer=fact.text, distractors=() if true else (others[0],),
                    clause=sentence, **{k: v for k, v in base.items() if k != "passage"})


def _item_id_of(base: dict, sentence: str, fact: Fact, kind: str) -> str:
    return _item_id(base["passage"], sentence, fact, kind)


def _order_key(option: str, fact: Fact) -> tuple:
    from bot.service.quizfacts import _threshold_value, number_value
    head = option.split()[0] if option.split() else option
    words = option[: len(option) - len(fact.unit)].strip() if fact.unit else option
    value = number_value(words) if fact.unit else None
    if value is None and fact.kind == "threshold":
        m = re.search(r"(một phần ba|một phần tư|một nửa|nửa|hai phần ba|ba phần tư|\d+\s?%|\d/\d)", option)
        value = _threshold_value(m.group(1)) if m else None
    return (value if value is not None else 0, head)


def _views(sentence: str, fact: Fact) -> list[str]:
    """The sentence, then (when it is too long for a poll) its beginning up to the end of the fact's clause
    part (the first ";" after the fact): a shorter text that still starts where the sentence starts."""
    cut = sentence.find(";", fact.end)
    return [sentence] if cut < 0 or cut + 1 >= len(sentence.rstrip()) else [sentence, sentence[: cut + 1]]


def passage_items(doc: Document, passage: Passage, values: DocumentValues | None = None,
                  rejected: Counter | None = None) -> list[QuizItem]:
    """Every item of one passage that passes the rules; `rejected` counts the reasons of the others."""
    values = values if values is not None else document_values(doc.text)
    rejected = rejected if rejected is not None else Counter()
    name = document_name(doc)
    out = []
    for sentence, units in clause_sentences(passage):
        facts = find_facts(sentence)
        label = unit_label(units)
        base = {"reference": f"{name}, {label}" if label else name, "section": passage.section,
                "passage_id": passage.passage_id, "doc_id": doc.doc_id, "doc_number": doc.doc_number,
                "title": doc.title, "source_url": doc.source_url, "passage": passage}
        for fact in facts:
            found, why = _fact_items(base, sentence, fact, facts, values)
            out.extend(found)
            rejected.update(why)
    return out


def _fact_items(base: dict, sentence: str, fact: Fact, facts: list[Fact],
                values: DocumentValues) -> tuple[list[QuizItem], list[str]]:
    """The cloze and true/false items of one fact (in the first view of the sentence that reads well)."""
    others = distractors(fact, sentence, values)  # checked against the whole sentence, not only the view
    if not others:
        return [], ["no_distractors"]
    why: list[str] = []
    for view in _views(sentence, fact):
        problems = sentence_problems(view)
        if problems:
            why = problems[:1]
            continue
        found, why = [], []
        for build in (_cloze, _true_false):
            item = build(base, view, fact, others)
            problems = item_problems(item, fact, [f for f in facts if f.end <= len(view)])
            if problems:
                why.extend(problems[:1])
            else:
                found.append(item)
        if found:
            return found, why
    return [], why
