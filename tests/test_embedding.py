"""The embedding model: the builtin static model built from the corpus, and local transformer models, offline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.config import EmbeddingConfig
from bot.retrieval.embedding import Embedder, EmbeddingError, build_builtin_model

# Paragraphs from knowledge/ (public news articles and Chỉ thị 03), verbatim (cut short, or two paragraphs joined); one topic each.
PASSAGES = [
    # 0: Chỉ thị 05
    "Bộ Chính trị vừa ban hành Chỉ thị 05-CT/TW về “Đẩy mạnh học tập và làm theo tư tưởng, đạo đức, phong "
    "cách Hồ Chí Minh”. Cụ thể, tại Chỉ thị 05 – CT/TW của Bộ Chính trị yêu cầu đưa việc học tập, làm theo "
    "tư tưởng, đạo đức của Hồ Chí Minh lên một tầm mới và nội dung hết sức cụ thể.",
    # 1: Chỉ thị 03
    "Thực hiện Nghị quyết Đại hội đại biểu toàn quốc lần thứ X của Đảng, Bộ Chính trị (khóa X) đã ban hành "
    "Chỉ thị 06-CT/TW, ngày 07-11-2006 về “Tổ chức cuộc vận động “Học tập và làm theo tấm gương đạo đức Hồ "
    "Chí Minh”. Hơn 4 năm qua, với sự chỉ đạo thường xuyên, chặt chẽ của các cấp ủy và tổ chức đảng; sự tham "
    "gia tích cực của cán bộ, đảng viên và nhân dân, cuộc vận động đã đạt được kết quả bước đầu, góp phần "
    "vào công tác xây dựng, chỉnh đốn Đảng và thực hiện thắng lợi Nghị quyết Đại hội X của Đảng.",
    # 2: Quy định 37
    "Mới đây, thay mặt Ban Chấp hành Trung ương, Tổng Bí thư Nguyễn Phú Trọng đã ký ban hành Quy định "
    "37-QĐ/TW (Quy định 37) về những điều đảng viên không được làm. Trước đó, ngày 1/11/2011, Ban Chấp hành "
    "Trung ương đã có Quy định số 47-QĐ/TW. So với Quy định 47, quy định mới – Quy định 37 cũng gồm 19 điều "
    "nhưng đã được bổ sung thêm những việc mà đảng viên không được làm.",
    # 3: Quy định 08
    "Ngày 10/6/2019, Tỉnh ủy Khánh Hòa đã ban hành Văn bản số 2777-CV/TU yêu cầu các cấp ủy Đảng, chính "
    "quyền địa phương, cơ quan, đơn vị trong toàn Đảng bộ tỉnh lãnh đạo, chỉ đạo và thực hiện nghiêm Quy định "
    "số 08-QĐ/TW của Ban Chấp hành Trung ương Đảng về trách nhiệm nêu gương của cán bộ, đảng viên, trước hết "
    "là Ủy viên Bộ Chính trị, Ủy viên Ban Bí thư, Ủy viên Ban chấp hành Trung ương.",
    # 4: Nghị quyết Trung ương 4 khóa XII
    "Căn cứ lý luận và qua tổng kết thực tiễn, Nghị quyết Trung ương 4 khoá XII, về tăng cường xây dựng, "
    "chỉnh đốn Đảng; ngăn chặn, đẩy lùi sự suy thoái về tư tưởng chính trị, đạo đức, lối sống, và biểu hiện "
    "\"tự diễn biến\", \"tự chuyển hoá\" trong nội bộ đã chỉ ra những biểu hiện để nhận diện các hành vi này. "
    "(1) Phai nhạt lý tưởng cách mạng; dao động, giảm sút niềm tin vào mục tiêu độc lập dân tộc và chủ nghĩa "
    "xã hội; hoài nghi, thiếu tin tưởng vào chủ nghĩa Mác - Lênin, tư tưởng Hồ Chí Minh.",
    # 5: Kết luận 01 (mentions Chỉ thị 05 too)
    "Ngày 16-5, Tỉnh ủy Hà Tĩnh tổ chức hội nghị sơ kết 3 năm thực hiện Kết luận số 01 ngày 18-5-2021 của Bộ "
    "Chính trị về tiếp tục thực hiện Chỉ thị số 05 ngày 15-5-2016 của Bộ Chính trị khóa XII. Hà Tĩnh vinh danh "
    "các tập thể, cá nhân tiêu biểu có thành tích xuất sắc trong học tập và làm theo tư tưởng, đạo đức, phong "
    "cách Hồ Chí Minh, giai đoạn 2021 - 2024.",
    # 6: Kết luận 21
    "Sáng 20/5, tại Nhà Quốc hội, Đảng đoàn Quốc hội và Đảng ủy cơ quan Văn phòng Quốc hội tổ chức Hội nghị "
    "nghiên cứu, học tập, quán triệt và triển khai thực hiện Kết luận số 21 và Kết luận, Quy định của Hội nghị "
    "lần thứ tư Ban Chấp hành Trung ương Đảng (khóa XIII). Phó Chủ tịch Quốc hội Nguyễn Khắc Định dự Hội nghị.",
    # 7: Quy định 144
    "Tổng Bí thư Nguyễn Phú Trọng đã thay mặt Bộ Chính trị ký ban hành quy định số 144 Quy định chuẩn mực đạo "
    "đức cách mạng của cán bộ, đảng viên giai đoạn mới. Với quy định về \"yêu nước, tôn trọng nhân dân, tuyệt "
    "đối trung thành với Đảng, với Tổ quốc\", Bộ Chính trị nêu rõ cán bộ, đảng viên cần nêu cao tinh thần yêu "
    "nước, lòng tự hào dân tộc, tuyệt đối trung thành với Tổ quốc, với sự nghiệp cách mạng của Đảng; hết lòng, "
    "hết sức phụng sự Tổ quốc, phục vụ nhân dân.",
]
DIRECTIVE_05 = 0


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def builtin_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("builtin") / "model"
    build_builtin_model(PASSAGES, path, dim=64, seed=0)
    return path


@pytest.fixture(scope="module")
def builtin(builtin_dir) -> Embedder:
    return Embedder.load(EmbeddingConfig(model="builtin", dim=64), builtin_dir)


# --- the builtin model -------------------------------------------------------------------------------


def test_builtin_model_folder_loads_with_plain_sentence_transformers(builtin_dir):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(builtin_dir), device="cpu")
    vectors = model.encode(PASSAGES)
    assert vectors.shape == (len(PASSAGES), 64)
    assert np.linalg.norm(vectors, axis=1).min() > 0


def test_query_without_diacritics_finds_directive_05(builtin):
    passages = builtin.encode_passages(PASSAGES)
    query = builtin.encode_queries(["chi thi 05 yeu cau gi"])[0]
    assert int(np.argmax(passages @ query)) == DIRECTIVE_05


def test_accented_and_unaccented_queries_give_the_same_vector(builtin):
    pairs = [
        ("Chỉ thị 05 yêu cầu gì?", "chi thi 05 yeu cau gi"),
        ("ĐẢNG VIÊN không được làm gì", "dang vien khong duoc lam gi"),
    ]
    for accented, bare in pairs:
        a, b = builtin.encode_queries([accented, bare])
        assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_query_of_unknown_words_is_a_zero_vector_not_nan(builtin):
    vectors = builtin.encode_queries(["xyzzy qwfp", "", "?!"])
    assert vectors.dtype == np.float32
    assert not np.isnan(vectors).any()
    assert np.all(vectors == 0)


def test_builtin_passage_vectors_are_unit_float32_rows_of_the_configured_dimension(builtin):
    vectors = builtin.encode_passages(PASSAGES)
    assert builtin.dim == 64 and builtin.name == "builtin"
    assert vectors.shape == (len(PASSAGES), 64) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_tiny_corpus_keeps_the_requested_dimension_and_records_its_rank(tmp_path):
    build_builtin_model(PASSAGES[:3], tmp_path / "tiny", dim=128)
    embedder = Embedder.load(EmbeddingConfig(dim=128), tmp_path / "tiny")
    about = json.loads((tmp_path / "tiny" / "builtin_model.json").read_text(encoding="utf-8"))
    assert embedder.dim == 128
    assert embedder.encode_passages(PASSAGES[:3]).shape == (3, 128)
    assert 1 <= about["rank"] <= 3


def test_same_corpus_and_seed_build_the_same_model(tmp_path, builtin):
    build_builtin_model(PASSAGES, tmp_path / "again", dim=64, seed=0)
    again = Embedder.load(EmbeddingConfig(dim=64), tmp_path / "again")
    np.testing.assert_allclose(again.encode_passages(PASSAGES), builtin.encode_passages(PASSAGES), atol=1e-5)


def test_building_from_no_passages_is_refused(tmp_path):
    with pytest.raises(EmbeddingError, match="no passages"):
        build_builtin_model([], tmp_path / "empty")


# --- external models, offline ------------------------------------------------------------------------

TOKENIZER_SENTENCES = [
    "query: học_sinh giỏi",
    "passage: học sinh giỏi được khen thưởng",
    "Chỉ_thị 05 yêu_cầu gì",
    "đảng_viên không được làm gì",
    "Bộ Chính_trị ban_hành Chỉ thị về học_tập và làm theo tư_tưởng Hồ_Chí_Minh",
]


@pytest.fixture(scope="module")
def tiny_transformer_dir(tmp_path_factory) -> Path:
    """A 2-layer BERT with random weights and a WordPiece tokenizer trained here, saved as an ST folder."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from tokenizers.trainers import WordPieceTrainer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    root = tmp_path_factory.mktemp("external")
    raw = root / "raw"
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(TOKENIZER_SENTENCES, WordPieceTrainer(vocab_size=300, special_tokens=specials))
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tokenizer.token_to_id("[CLS]")), ("[SEP]", tokenizer.token_to_id("[SEP]"))],
    )
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    ).save_pretrained(str(raw))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(str(raw))
    model = SentenceTransformer(modules=[Transformer(str(raw)), Pooling(32, "mean")], device="cpu")
    model.save(str(root / "model"), create_model_card=False)
    return root / "model"


def external_config(path: Path, **changes) -> EmbeddingConfig:
    settings = dict(query_prefix="query: ", passage_prefix="passage: ", segment_words=True, max_seq_length=64)
    return EmbeddingConfig(model=str(path), **(settings | changes))


def test_local_transformer_folder_encodes_unit_rows_of_its_dimension(tiny_transformer_dir, tmp_path):
    embedder = Embedder.load(external_config(tiny_transformer_dir), tmp_path / "unused-builtin")
    queries = embedder.encode_queries(["Chỉ thị 05 yêu cầu gì", "đảng viên không được làm gì"])
    passages = embedder.encode_passages(["học sinh giỏi được khen thưởng"], show_progress=False)
    assert embedder.dim == 32 and embedder.name == str(tiny_transformer_dir)
    assert queries.shape == (2, 32) and passages.shape == (1, 32)
    assert queries.dtype == np.float32 and passages.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(np.vstack([queries, passages]), axis=1), 1.0, atol=1e-5)


def test_prefixes_and_word_segmentation_are_applied_before_encoding(tiny_transformer_dir, tmp_path):
    configured = Embedder.load(external_config(tiny_transformer_dir), tmp_path)
    plain = Embedder.load(
        external_config(tiny_transformer_dir, query_prefix="", passage_prefix="", segment_words=False), tmp_path
    )
    text = "học sinh giỏi"
    np.testing.assert_allclose(
        configured.encode_queries([text]), plain.encode_queries(["query: học_sinh giỏi"]), atol=1e-5
    )
    np.testing.assert_allclose(
        configured.encode_passages([text]), plain.encode_queries(["passage: học_sinh giỏi"]), atol=1e-5
    )
    # without segmentation the same text is another input
    assert not np.allclose(configured.encode_queries([text]), plain.encode_queries(["query: học sinh giỏi"]))


def test_max_seq_length_is_applied_and_capped_at_what_the_model_takes(tiny_transformer_dir, tmp_path):
    assert Embedder.load(external_config(tiny_transformer_dir), tmp_path).max_seq_length == 64
    capped = Embedder.load(external_config(tiny_transformer_dir, max_seq_length=1000), tmp_path)
    assert capped.max_seq_length == 128
    assert capped.encode_passages(["học sinh giỏi " * 300]).shape == (1, 32)


# --- failures ----------------------------------------------------------------------------------------


def test_missing_model_folder_raises_a_clear_error(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(EmbeddingError) as caught:
        Embedder.load(EmbeddingConfig(model=str(missing)), tmp_path)
    message = str(caught.value)
    assert str(missing) in message and "no such folder" in message and "\n" not in message


def test_broken_model_folder_raises_a_clear_error(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "modules.json").write_text("not json", encoding="utf-8")
    with pytest.raises(EmbeddingError) as caught:
        Embedder.load(EmbeddingConfig(model=str(broken)), tmp_path)
    message = str(caught.value)
    assert message.startswith(f"embedding.model '{broken}': cannot load:") and "\n" not in message


def test_missing_builtin_model_says_to_rebuild_the_index(tmp_path):
    with pytest.raises(EmbeddingError, match="rebuild the index"):
        Embedder.load(EmbeddingConfig(model="builtin"), tmp_path / "index" / "builtin")


def test_index_built_with_a_local_transformer_model_answers_and_switching_back_rebuilds(
        tiny_transformer_dir, tmp_path):
    import json

    from conftest import make_workspace

    from bot.config import load_config
    from bot.retrieval.build import build_index
    from bot.retrieval.versions import current_dir
    from bot.service.answering import AnswerService

    cfg_path = make_workspace(tmp_path, embedding={
        "model": str(tiny_transformer_dir), "query_prefix": "query: ", "passage_prefix": "passage: ",
        "segment_words": True, "max_seq_length": 64})
    cfg = load_config(cfg_path)
    report = build_index(cfg)
    manifest = json.loads((current_dir(cfg.index.dir) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"] == str(tiny_transformer_dir) and manifest["dim"] == 32
    assert not (current_dir(cfg.index.dir) / "model").exists()  # external models are not copied
    answer = AnswerService(cfg, build_if_missing=False).answer("Kết luận 21")
    assert answer.found and answer.hits[0].doc_id == "tin-quochoitv-quan-triet-kl21"
    assert report.embedded_passages == report.passages

    builtin = load_config(cfg_path)
    builtin.embedding = EmbeddingConfig()
    again = build_index(builtin)
    assert "embedding settings changed" in again.rebuilt_reason
    assert AnswerService(builtin, build_if_missing=False).info().dim == builtin.embedding.dim


def test_a_corpus_larger_than_the_sample_trains_on_part_and_encodes_all(tmp_path):
    texts = [f"{p} (bản {i})" for i in range(3) for p in PASSAGES]
    path = tmp_path / "sampled"
    vectors = build_builtin_model(texts, path, dim=32, seed=0, sample=len(PASSAGES))
    about = json.loads((path / "builtin_model.json").read_text(encoding="utf-8"))
    assert about["passages"] == len(PASSAGES) and about["corpus_passages"] == len(texts)
    assert vectors.shape == (len(texts), 32)
    again = Embedder.load(EmbeddingConfig(model="builtin", dim=32), path).encode_passages(texts)
    assert np.allclose(vectors, again, atol=1e-5)  # what the saved model gives, for every passage
    assert np.count_nonzero(np.linalg.norm(vectors, axis=1)) == len(texts)


def test_static_model_is_encoded_in_numpy_exactly_as_the_library_encodes_it(builtin, builtin_dir):
    from sentence_transformers import SentenceTransformer

    questions = ["chi thi 05 yeu cau gi", "Quy định 37 về những điều đảng viên không được làm", "xyz qqq", "",
                 PASSAGES[3]]
    assert builtin.is_static  # the builtin model takes the NumPy path
    library = SentenceTransformer(str(builtin_dir), device="cpu")
    expected = library.encode(questions, convert_to_numpy=True)
    norms = np.linalg.norm(expected, axis=1, keepdims=True)
    expected = np.divide(expected, norms, out=np.zeros_like(expected), where=norms > 0)
    np.testing.assert_allclose(builtin.encode_queries(questions), expected, atol=1e-5)
    # passages (many at once) take the sparse path: the same vectors
    many = PASSAGES * 10
    np.testing.assert_allclose(builtin.encode_passages(many), library.encode(many, normalize_embeddings=True),
                               atol=1e-5)
    assert not builtin.encode_queries(["xyz qqq", ""]).any()  # unknown words, empty text: zero vectors


def test_search_with_the_builtin_model_imports_neither_torch_nor_sentence_transformers(built_workspace):
    """A cold `search` (the CLI, in a fresh process) answers without the seconds-long torch import."""
    import os
    import subprocess
    import sys

    script = (
        "import sys, json\n"
        "from bot.cli import main\n"
        f"code = main(['--config', {str(built_workspace)!r}, 'search', 'Chỉ thị 05 yêu cầu gì?', '--json'])\n"
        "print(json.dumps([code, [m for m in ('torch', 'sentence_transformers', 'transformers', 'sklearn')"
        " if m in sys.modules]]))\n"
    )
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(repo)}, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    code, imported = json.loads(lines[-1])
    assert code == 0 and imported == []
    assert "tin-" in done.stdout  # it did find passages: the dense side ran


# --- the pretrained Vietnamese model (scripts/train_embedding.py) and joining it with the corpus ------


def tiny_pack(folder: Path) -> Path:
    """A training pack in the real format: each passage's first sentence -> the passage."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"query": p.split(".")[0], "positive": p, "source": "test"} for p in PASSAGES]
    rows += [{"query": "đảng viên không được làm gì", "positive": PASSAGES[2], "source": "test"}]
    for name, chosen in (("pairs.jsonl", rows), ("dev.jsonl", rows[:4])):
        (folder / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen),
                                   encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def pretrained_dir(tmp_path_factory) -> Path:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_embedding

    root = tmp_path_factory.mktemp("pretrained")
    out = root / "model"
    assert train_embedding.main(["--pack", str(tiny_pack(root / "pack")), "--out", str(out), "--dim", "16",
                                 "--min-frequency", "1", "--batch", "4", "--epochs", "2", "--quiet"]) == 0
    return out


def test_training_script_saves_an_ordinary_static_model_deterministically(pretrained_dir, tmp_path):
    import sys

    from sentence_transformers import SentenceTransformer

    import train_embedding  # on the path since the fixture ran

    about = json.loads((pretrained_dir / "training.json").read_text(encoding="utf-8"))
    assert about["training_pairs"] == len(PASSAGES) + 1 and about["dev_after"]["recall@10"] > 0
    library = SentenceTransformer(str(pretrained_dir), device="cpu").encode(PASSAGES, normalize_embeddings=True)
    ours = Embedder.load(EmbeddingConfig(model=str(pretrained_dir)), tmp_path)
    assert ours.is_static and ours.dim == 16
    np.testing.assert_allclose(ours.encode_passages(PASSAGES), library, atol=1e-5)
    train_embedding.main(["--pack", str(pretrained_dir.parent / "pack"), "--out", str(tmp_path / "again"),
                          "--dim", "16", "--min-frequency", "1", "--batch", "4", "--epochs", "2", "--quiet"])
    again = Embedder.load(EmbeddingConfig(model=str(tmp_path / "again")), tmp_path)
    np.testing.assert_array_equal(again.encode_passages(PASSAGES), ours.encode_passages(PASSAGES))
    assert "train_embedding" in sys.modules


def test_builtin_model_joined_with_a_pretrained_one(pretrained_dir, tmp_path):
    from sentence_transformers import SentenceTransformer

    corpus = PASSAGES[:4]
    path = tmp_path / "joined"
    vectors = build_builtin_model(corpus, path, dim=8, pretrained=pretrained_dir, pretrained_share=0.5)
    about = json.loads((path / "builtin_model.json").read_text(encoding="utf-8"))
    assert about["dim"] == 8 + 16 and about["pretrained"] == str(pretrained_dir)
    joined = Embedder.load(EmbeddingConfig(model="builtin", dim=8), path)
    assert joined.dim == 24 and joined.is_static
    library = SentenceTransformer(str(path), device="cpu").encode(corpus, normalize_embeddings=True)
    np.testing.assert_allclose(vectors, library, atol=1e-5)  # an ordinary folder, the vectors it gives
    # a word the corpus never uses (only in PASSAGES[4:]) still has a meaning: the pretrained half
    alone = Embedder.load(EmbeddingConfig(model="builtin", dim=8), _built(corpus, tmp_path / "alone"))
    unseen = "suy thoái tư tưởng chính trị"
    assert not alone.encode_queries(["suy thoái"]).any()
    assert joined.encode_queries([unseen])[0][8:].any()
    # both halves carry weight: each about the share asked for
    halves = np.linalg.norm(vectors[:, :8], axis=1) ** 2
    assert 0.2 < float(np.median(halves)) < 0.8


def _built(texts, path):
    build_builtin_model(texts, path, dim=8)
    return path


def test_a_pretrained_folder_that_is_not_a_static_model_is_refused(tmp_path, tiny_transformer_dir):
    with pytest.raises(EmbeddingError, match="not a static"):
        build_builtin_model(PASSAGES, tmp_path / "x", dim=8, pretrained=tiny_transformer_dir)


def test_pretrained_setting_is_resolved_and_an_empty_one_keeps_old_indexes_valid(tmp_path):
    from conftest import write_config

    from bot.config import load_config

    for name in "abc":
        (tmp_path / name).mkdir()
    plain = load_config(write_config(tmp_path / "a"))
    assert plain.embedding.pretrained == "" and "pretrained" not in plain.embedding.settings()
    (tmp_path / "b" / "models" / "mine").mkdir(parents=True)  # a folder next to the config
    joined = load_config(write_config(tmp_path / "b", embedding={"pretrained": "models/mine"}))
    assert joined.embedding.pretrained == str((tmp_path / "b" / "models" / "mine").resolve())
    assert joined.embedding.settings()["pretrained_share"] == 0.5  # a change of either means a rebuild
    # not next to the config: the folder shipped in the repository
    shipped = load_config(write_config(tmp_path / "c", embedding={"pretrained": "models/vi-static"}))
    assert shipped.embedding.pretrained == str(Path(__file__).resolve().parents[1] / "models" / "vi-static")


def test_shipped_vietnamese_model_is_an_ordinary_folder_encoded_the_same_without_torch(tmp_path):
    from sentence_transformers import SentenceTransformer

    shipped = Path(__file__).resolve().parents[1] / "models" / "vi-static"
    assert (shipped / "README.md").is_file()  # the model card
    assert sum(f.stat().st_size for f in shipped.iterdir()) < 30_000_000
    texts = ["bao nhiêu tuổi thì được vào Đảng", "người vào Đảng phải đủ 18 tuổi", "giá vàng hôm nay"]
    ours = Embedder.load(EmbeddingConfig(model=str(shipped)), tmp_path)
    assert ours.is_static and ours.dim == 256
    library = SentenceTransformer(str(shipped), device="cpu").encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(ours.encode_queries(texts), library, atol=1e-5)
    a, b, c = ours.encode_queries(texts)
    assert a @ b > a @ c  # joining the Party at 18 is closer to the age question than gold prices


def test_hard_negatives_are_other_passages_that_share_the_query_words(pretrained_dir, tmp_path):
    import train_embedding  # on the path since the fixture ran

    pack = pretrained_dir.parent / "pack"
    pairs = train_embedding.read_pairs(pack / "pairs.jsonl")
    tokenizer = train_embedding.build_tokenizer(pairs, 1000, 1)
    assert train_embedding.mine_negatives(tokenizer, pairs, 0, 0) == len(pairs)
    for pair in pairs:
        assert pair.negative in PASSAGES and pair.negative != pair.positive
    # "Chỉ thị 05 ..." -> its best other passage is the one about Kết luận 01, which cites Chỉ thị 05
    assert pairs[DIRECTIVE_05].negative == PASSAGES[5]
    out = tmp_path / "hard"
    assert train_embedding.main(["--pack", str(pack), "--out", str(out), "--dim", "16", "--min-frequency", "1",
                                 "--batch", "4", "--epochs", "1", "--hard-negatives", "--quiet"]) == 0
    about = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert about["recipe"]["hard_negatives"] and about["training_pairs"] == len(pairs)


def test_passage_saturation_weighs_a_repeated_word_less_and_leaves_questions_alone(tmp_path):
    from conftest import write_config

    from bot.config import load_config

    path = tmp_path / "model"
    vectors = build_builtin_model(PASSAGES, path, dim=32, seed=0, saturation=2.0)
    plain = Embedder.load(EmbeddingConfig(dim=32), path)
    saturated = Embedder.load(EmbeddingConfig(dim=32, passage_saturation=2.0), path)
    np.testing.assert_allclose(vectors, saturated.encode_passages(PASSAGES), atol=1e-5)  # as the build gives them
    question = ["quy định đảng viên không được làm"]
    np.testing.assert_array_equal(saturated.encode_queries(question), plain.encode_queries(question))
    # a passage saying "Quy định 37" ten times and "đạo đức" once: saturated, "đạo đức" counts for more
    repeated = ["Quy định 37 " * 10 + "đạo đức"]
    ethics = plain.encode_queries(["đạo đức"])[0]
    assert saturated.encode_passages(repeated)[0] @ ethics > plain.encode_passages(repeated)[0] @ ethics
    # absent or 0: old indexes stay valid; set: a different index
    for name in "ab":
        (tmp_path / name).mkdir()
    assert "passage_saturation" not in load_config(write_config(tmp_path / "a")).embedding.settings()
    changed = load_config(write_config(tmp_path / "b", embedding={"passage_saturation": 2.0}))
    assert changed.embedding.settings()["passage_saturation"] == 2.0
