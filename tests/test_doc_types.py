"""One table of document types (bot/messages.py): document numbers, headers and channels read the same names."""

from __future__ import annotations

from bot import messages
from bot.documents import docnumbers
from bot.documents.formats import header


def test_every_reader_of_document_types_uses_the_one_table():
    assert docnumbers.TYPE_NAMES is messages.TYPE_NAMES_BY_CODE
    for word, (doc_type, name) in header.DOC_TYPES.items():
        assert messages.DOC_TYPE_NAMES[doc_type] == name and word == name.upper()
    for code, word in header._TYPE_BY_CODE.items():
        assert header.DOC_TYPES[word][0] == messages.DOC_TYPE_BY_CODE[code]
    assert docnumbers.describe_canonical("05-CT/TW") == "Chỉ thị 05-CT/TW"
    assert messages.DOC_TYPE_NAMES["quy-dinh"] == messages.TYPE_NAMES_BY_CODE["QĐi"] == "Quy định"
