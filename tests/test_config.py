"""config.yaml: typed, validated, with errors that name the key and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]


def test_shipped_config_loads_and_resolves_paths_from_its_folder():
    cfg = load_config(REPO / "config.yaml")
    assert cfg.knowledge.dir == REPO / "knowledge"
    assert cfg.index.dir == REPO / "index"
    assert cfg.embedding.model == "builtin"
    assert cfg.retrieval.lexical_weight + cfg.retrieval.dense_weight > 0


@pytest.mark.parametrize("text, fragment", [
    ("retrieval:\n  top_k: 0\n", "retrieval.top_k must be >= 1, got 0"),
    ("retrieval:\n  top_k: many\n", "retrieval.top_k must be a whole number"),
    ("retrieval:\n  lexical_wieght: 1\n", "unknown key retrieval.lexical_wieght"),
    ("embedding: [1, 2]\n", "embedding must be a mapping"),
    ("retrieval:\n  top_k: [1\n", "invalid YAML at line"),
    ("- just\n- a list\n", "the top level must be a mapping"),
    ("zalo:\n  mode: carrier-pigeon\n", "zalo.mode must be polling or webhook"),
])
def test_bad_config_values_are_reported_with_key_and_reason(tmp_path, text, fragment):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert fragment in str(err.value)
    assert str(path) in str(err.value)


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
