"""Index-time adaptation of the builtin embedding model to its collection (embedding.adapt)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.config import EmbeddingConfig
from bot.retrieval.adapt import AdaptSettings, adapt_weights, collection_pairs
from bot.retrieval.embedding import (Embedder, StaticModel, build_builtin_model, silent_tokens, token_counts,
                                     train_tokenizer, word_vectors)
from test_embedding import PASSAGES

REPO = Path(__file__).resolve().parents[1]
# index texts as the build makes them: the document's title on the first line, then the passage
TITLED = [f"Văn bản số {i}\n{text}" for i, text in enumerate(PASSAGES)]
SMALL = AdaptSettings(pairs=60, epochs=2, batch=8, seed=3)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def _lsa(texts, dim=16):
    tokenizer = train_tokenizer(texts)
    weights, _ = word_vectors(token_counts(tokenizer, texts), dim, 0, ignored=silent_tokens(tokenizer))
    return tokenizer, weights


def test_pairs_are_headings_and_inverse_cloze_sentences_capped_and_reproducible():
    pairs = collection_pairs(TITLED, SMALL)
    assert 0 < len(pairs) <= SMALL.pairs
    assert pairs == collection_pairs(TITLED, SMALL)  # the same seed, the same pairs
    assert pairs != collection_pairs(TITLED, AdaptSettings(pairs=60, seed=4))
    headings = [(q, p) for q, p in pairs if q.startswith("Văn bản số")]
    cloze = [(q, p) for q, p in pairs if not q.startswith("Văn bản số")]
    assert headings and cloze
    for query, positive in headings:  # the title -> the passage without it
        assert query not in positive and positive in TITLED[int(query.split()[-1])]
    for query, positive in cloze:  # a sentence of a passage -> that passage without the sentence
        source = next(t for t in TITLED if query in t)
        assert query not in positive and len(positive) < len(source)
    assert len(collection_pairs(TITLED, AdaptSettings(pairs=5))) == 5
    assert collection_pairs(["một câu ngắn."], SMALL) == []  # nothing to pair: no pairs, no error


def test_adaptation_is_deterministic_leaves_punctuation_and_the_input_alone():
    tokenizer, weights = _lsa(TITLED)
    before = weights.copy()
    frozen = silent_tokens(tokenizer)
    first, about = adapt_weights(tokenizer, weights, TITLED, SMALL, frozen=frozen)
    again, _ = adapt_weights(tokenizer, weights, TITLED, SMALL, frozen=frozen)
    other, _ = adapt_weights(tokenizer, weights, TITLED, AdaptSettings(pairs=60, epochs=2, batch=8, seed=4),
                             frozen=frozen)
    np.testing.assert_array_equal(weights, before)  # the caller's table is not trained in place
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)  # the seed matters
    assert about["pairs"] > 0 and about["steps"] > 0 and about["last_loss"] < about["first_loss"]
    assert not np.allclose(first[~frozen], weights[~frozen])  # it did train
    np.testing.assert_array_equal(first[frozen], weights[frozen])  # [UNK] and punctuation stay zero


def test_adapted_builtin_model_is_an_ordinary_folder_and_pulls_a_sentence_to_its_passage(tmp_path):
    from sentence_transformers import SentenceTransformer

    settings = AdaptSettings(pairs=200, epochs=3, batch=8, seed=0)
    plain = build_builtin_model(TITLED, tmp_path / "plain", dim=16)
    vectors = build_builtin_model(TITLED, tmp_path / "adapted", dim=16, adapt=settings)
    about = json.loads((tmp_path / "adapted" / "builtin_model.json").read_text(encoding="utf-8"))
    assert about["recipe"] == "lsa-bm25 + adapted" and about["adapted"]["pairs"] > 0
    assert not np.allclose(plain, vectors)
    embedder = Embedder.load(EmbeddingConfig(model="builtin", dim=16), tmp_path / "adapted")
    assert embedder.is_static  # encoded in NumPy at query time
    library = SentenceTransformer(str(tmp_path / "adapted"), device="cpu").encode(TITLED, normalize_embeddings=True)
    np.testing.assert_allclose(vectors, library, atol=1e-5)
    np.testing.assert_allclose(embedder.encode_passages(TITLED), vectors, atol=1e-5)
    # trained on sentence -> rest-of-passage pairs: a passage's sentences sit closer to it than before
    model = StaticModel.read(tmp_path / "adapted")
    base = StaticModel.read(tmp_path / "plain")
    sentences = [(i, s) for i, t in enumerate(TITLED) for s in t.split("\n")[1].split(". ") if len(s.split()) > 6]

    def mean_margin(m: StaticModel) -> float:
        scores = m.encode([s for _, s in sentences]) @ m.encode(TITLED).T
        rows = np.arange(len(sentences))
        own = scores[rows, [i for i, _ in sentences]]
        scores[rows, [i for i, _ in sentences]] = -np.inf
        return float(np.mean(own - scores.max(axis=1)))

    assert mean_margin(model) > mean_margin(base)


def test_adapt_settings_are_part_of_the_index_and_checked(tmp_path):
    from conftest import write_config

    from bot.config import ConfigError, load_config

    plain = load_config(write_config(tmp_path))
    assert plain.embedding.adapt is False and "adapt" not in plain.embedding.settings()  # old indexes stay valid
    adapted = load_config(write_config(tmp_path, embedding={"adapt": True, "adapt_pairs": 500}))
    assert adapted.embedding.settings()["adapt_pairs"] == 500  # a change means every vector is made again
    with pytest.raises(ConfigError, match="adapt_epochs"):
        load_config(write_config(tmp_path, embedding={"adapt": True, "adapt_epochs": 0}))


def test_a_build_with_adaptation_answers_without_importing_torch_at_query_time(tmp_path):
    from conftest import make_workspace

    from bot.config import load_config
    from bot.retrieval.build import build_index
    from bot.retrieval.version import MODEL_DIR
    from bot.retrieval.versions import current

    cfg_path = make_workspace(tmp_path, embedding={"adapt": True, "adapt_pairs": 400, "adapt_epochs": 1})
    report = build_index(load_config(cfg_path))
    assert report.passages > 0
    version = current(tmp_path / "index")
    about = json.loads((version.path(MODEL_DIR) / "builtin_model.json").read_text(encoding="utf-8"))
    assert about["adapted"]["pairs"] > 0 and version.manifest.model_settings["adapt"] is True
    script = (
        "import sys, json\n"
        "from bot.cli import main\n"
        f"code = main(['--config', {str(cfg_path)!r}, 'search', 'Chỉ thị 05 yêu cầu gì?', '--json'])\n"
        "print(json.dumps([code, [m for m in ('torch', 'sentence_transformers') if m in sys.modules]]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert done.returncode == 0, done.stderr
    code, imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert code == 0 and imported == []
    assert "ct05" in done.stdout  # the adapted dense side found the directive's passages
    # turning adaptation off is a settings change: every passage is embedded again
    write = cfg_path.read_text(encoding="utf-8").replace("adapt: true", "adapt: false")
    cfg_path.write_text(write, encoding="utf-8")
    again = build_index(load_config(cfg_path))
    assert again.embedded_passages == again.passages and "embedding settings changed" in again.rebuilt_reason
