"""Tests for bot.documents.vietnamese: normalisation, folding, search tokens and match spans."""

from __future__ import annotations

import unicodedata

import pytest

from bot.documents import vietnamese as vi

# Real sentences from /work/shared/corpus.
KL21_SENTENCE = (
    "Tiếp đó, hội nghị đã nghe đồng chí Lâm Đông, UVTV Tỉnh ủy, Trưởng Ban Tổ chức Tỉnh ủy quán triệt "
    "Quy định số 37-QĐ/TW ngày 25-10-2021 về những điều đảng viên không được làm."
)
NQ04_SENTENCE = (
    "Tổng Bí thư Nguyễn Phú Trọng vừa ký ban hành Nghị quyết Trung ương 04 (khóa XII) về tăng cường xây dựng, "
    "chỉnh đốn Đảng; ngăn chặn, đẩy lùi sự suy thoái về tư tưởng chính trị, đạo đức, lối sống, những biểu hiện "
    "“tự diễn biến”, “tự chuyển hóa” trong nội bộ."
)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# --- normalize -------------------------------------------------------------------------------------------


def test_tone_placement_hoa_and_thuy_normalise_to_one_form() -> None:
    assert vi.normalize("hoà") == vi.normalize("hòa") == "hòa"
    assert vi.normalize("thuỷ") == vi.normalize("thủy") == "thủy"
    assert vi.normalize("khoẻ") == vi.normalize("khỏe") == "khỏe"
    assert vi.normalize("tự chuyển hoá") == vi.normalize("tự chuyển hóa")
    assert vi.normalize("khoá XII") == vi.normalize("khóa XII")


def test_misplaced_tone_on_qu_and_gi_moves_to_the_main_vowel() -> None:
    assert vi.normalize("qúy") == "quý"
    assert vi.normalize("quý") == "quý"
    assert vi.normalize("gìa") == "già"
    assert vi.normalize("giữ gìn") == "giữ gìn"
    assert vi.normalize("quốc") == "quốc"


def test_tone_goes_on_the_vowel_with_a_quality_mark_or_before_a_final_consonant() -> None:
    for word in ["người", "rượu", "thuở", "muốn", "khuyến", "quyển", "cứu", "toán", "hoàng", "ngoài", "khuỷu",
                 "mùa", "nghĩa", "giải", "xoáy", "hoặc"]:
        assert vi.normalize(word) == word
    assert vi.normalize("ngừơi") == "người"
    assert vi.normalize("tóan") == "toán"


def test_decomposed_and_windows_1258_style_input_equals_precomposed() -> None:
    assert vi.normalize(nfd("Đảng viên không được làm")) == "Đảng viên không được làm"
    # Windows-1258 keeps the quality mark precomposed and adds the tone as a combining mark.
    assert vi.normalize("ngươ\u0300i") == "người"
    assert vi.normalize("hoa\u0300") == "hòa"
    # A tone typed after the final consonant composes onto it; it still lands on the vowel.
    assert vi.normalize("hoan\u0300") == "hoàn"


def test_normalize_keeps_case_and_leaves_words_without_tone_alone() -> None:
    assert vi.normalize("HOÀ BÌNH") == "HÒA BÌNH"
    assert vi.normalize("Hoà Bình") == "Hòa Bình"
    assert vi.normalize("Facebook online TW") == "Facebook online TW"


def test_normalize_unifies_quotes_dashes_and_whitespace() -> None:
    assert vi.normalize("  “tự diễn biến”\u00a0–  ‘tự chuyển hóa’ —\n\n2016 ") == (
        "\"tự diễn biến\" - 'tự chuyển hóa' - 2016"
    )
    assert vi.normalize("Ðảng") == "Đảng"  # legacy eth instead of Đ


def test_normalize_of_a_real_sentence_only_changes_quotes() -> None:
    assert vi.normalize(NQ04_SENTENCE) == NQ04_SENTENCE.replace("“", '"').replace("”", '"')


# --- fold / has_diacritics / syllables -----------------------------------------------------------------


def test_fold_removes_all_diacritics_and_d_bar() -> None:
    assert vi.fold("Đẩy mạnh học tập và làm theo tư tưởng") == "Day manh hoc tap va lam theo tu tuong"
    assert vi.fold(nfd("Đảng ủy")) == "Dang uy"
    assert vi.fold("hoà") == vi.fold("hòa") == "hoa"


def test_has_diacritics_sees_tones_quality_marks_and_d_bar() -> None:
    assert vi.has_diacritics("chỉ thị")
    assert vi.has_diacritics("ơ")
    assert vi.has_diacritics("đ")
    assert vi.has_diacritics(nfd("à"))
    assert not vi.has_diacritics("chi thi 05")


def test_syllables_split_document_numbers_and_dates_on_punctuation() -> None:
    assert vi.syllables("Chỉ thị 05-CT/TW, ngày 15-5-2016") == [
        "chỉ", "thị", "05", "ct", "tw", "ngày", "15", "5", "2016",
    ]
    assert vi.syllables("NQ TW4 khoá XII") == ["nq", "tw", "4", "khóa", "xii"]


# --- search_tokens --------------------------------------------------------------------------------------


def test_search_tokens_drop_stopwords_but_keep_negation() -> None:
    tokens = vi.search_tokens("Những điều đảng viên không được làm", folded=False)
    assert "không" in tokens
    assert "những" not in tokens and "được" not in tokens
    # Bigrams with one stopword survive: they carry the phrase.
    assert {"không_được", "được_làm", "những_điều", "đảng_viên"} <= set(tokens)


def test_question_words_are_dropped_as_unigrams() -> None:
    tokens = vi.search_tokens("Quy định 37 nói gì? Bao nhiêu điều, như thế nào, ntn", folded=False)
    for word in ("gì", "bao", "nhiêu", "nào", "ntn"):
        assert word not in tokens
    assert "bao_nhiêu" not in tokens  # both are stopwords
    assert "37" in tokens and "quy_định" in tokens


def test_bigrams_do_not_cross_punctuation() -> None:
    tokens = vi.search_tokens("tư tưởng, đạo đức; lối sống", folded=False)
    assert "tư_tưởng" in tokens and "đạo_đức" in tokens and "lối_sống" in tokens
    assert "tưởng_đạo" not in tokens and "đức_lối" not in tokens


def test_keep_stopwords_keeps_every_unigram_and_bigram() -> None:
    tokens = vi.search_tokens("của các đảng viên", folded=False, keep_stopwords=True)
    assert tokens.count("của") == 1 and "của_các" in tokens
    assert "của_các" not in vi.search_tokens("của các đảng viên", folded=False)


def test_folded_tokens_of_accented_and_unaccented_queries_are_equal() -> None:
    accented = vi.search_tokens("Những điều đảng viên không được làm là gì?", folded=True)
    plain = vi.search_tokens("nhung dieu dang vien khong duoc lam la gi", folded=True)
    assert accented == plain
    assert "dang_vien" in plain


def test_folded_stopwords_keep_folds_that_are_also_content_words() -> None:
    # "dang" is also Đảng, "thi" is thị in "chỉ thị", "tu" is tư in "tư tưởng", "neu" is nêu in "nêu gương".
    for ambiguous in ("dang", "thi", "tu", "neu", "trong", "co"):
        assert ambiguous not in vi.FOLDED_STOPWORDS
    assert "thi" in vi.search_tokens("chi thi 05", folded=True)
    assert "va" in vi.FOLDED_STOPWORDS and "và" in vi.STOPWORDS


def test_old_and_new_tone_style_give_the_same_search_tokens() -> None:
    old = vi.search_tokens("“tự chuyển hóa”, khóa XII, hòa bình", folded=False)
    new = vi.search_tokens("“tự chuyển hoá”, khoá XII, hoà bình", folded=False)
    assert old == new


def test_search_tokens_of_a_real_sentence_contain_the_key_phrases() -> None:
    tokens = vi.search_tokens(KL21_SENTENCE, folded=False)
    assert {"quy_định", "37", "qđ", "tw", "đảng_viên", "không_được"} <= set(tokens)
    folded = vi.search_tokens(KL21_SENTENCE, folded=True)
    assert {"quy_dinh", "qd", "dang_vien", "khong_duoc"} <= set(folded)


# --- match_spans ----------------------------------------------------------------------------------------


def test_match_spans_return_original_offsets_for_accented_and_folded_terms() -> None:
    text = KL21_SENTENCE
    spans = vi.match_spans(text, ["đảng", "vien", "làm"])
    assert [text[a:b] for a, b in spans] == ["đảng viên", "làm"]


def test_folded_term_matches_every_accented_form() -> None:
    text = "Đảng viên đang công tác"
    assert [text[a:b] for a, b in vi.match_spans(text, ["dang"])] == ["Đảng", "đang"]
    assert [text[a:b] for a, b in vi.match_spans(text, ["đang"])] == ["đang"]


def test_match_spans_merge_adjacent_words_but_not_across_punctuation() -> None:
    text = "tư tưởng, đạo đức"
    spans = vi.match_spans(text, ["tư", "tưởng", "đạo", "đức"])
    assert [text[a:b] for a, b in spans] == ["tư tưởng", "đạo đức"]


def test_match_spans_work_on_decomposed_text_and_other_tone_style() -> None:
    text = nfd("Hoà bình và thủy lợi")
    spans = vi.match_spans(text, ["hòa", "thuỷ"])
    assert [unicodedata.normalize("NFC", text[a:b]) for a, b in spans] == ["Hoà", "thủy"]


def test_match_spans_split_bigram_terms_and_ignore_empty_terms() -> None:
    text = "Đẩy mạnh học tập và làm theo"
    assert [text[a:b] for a, b in vi.match_spans(text, ["học_tập"])] == ["học tập"]
    assert vi.match_spans(text, []) == []
    assert vi.match_spans(text, ["?"]) == []


# --- pyvi -----------------------------------------------------------------------------------------------


def test_pyvi_tokens_join_compound_words() -> None:
    pytest.importorskip("pyvi")
    tokens = vi.pyvi_tokens("Đẩy mạnh học tập và làm theo tư tưởng, đạo đức")
    assert "học_tập" in tokens
    assert "," not in tokens


def test_both_token_streams_in_one_pass_equal_the_separate_calls():
    from bot.documents.vietnamese import search_token_streams, search_tokens

    for text in ["Chỉ thị 05-CT/TW, ngày 15/5/2016 của Bộ Chính trị về “Đẩy mạnh học tập và làm theo”.",
                 "Quy định những điều đảng viên không được làm; 19 điều cấm!", "TW4 khóa XII", ""]:
        for shared in (None, {}):
            accented, folded = search_token_streams(text, shared)
            assert sorted(accented) == sorted(search_tokens(text, folded=False))
            assert sorted(folded) == sorted(search_tokens(text, folded=True))


def test_highlighting_prefers_word_pairs_over_loose_unaccented_syllables():
    from bot.documents.vietnamese import highlight_spans, search_tokens

    text = "Hồ Chí Minh, ngày 20/05/2016: Chỉ thị 05 yêu cầu cán bộ nêu gương."
    tokens = search_tokens("chi thi 05 yeu cau gi", folded=True)
    words = [t for t in tokens if "_" not in t]
    pairs = [t for t in tokens if "_" in t]
    marked = [text[a:b] for a, b in highlight_spans(text, words, pairs)]
    assert marked == ["Chỉ thị 05 yêu cầu"]
    # a single word of the question is marked wherever it stands
    assert [text[a:b] for a, b in highlight_spans(text, ["gương"], [])] == ["gương"]
