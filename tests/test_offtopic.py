"""Off-topic questions: `eval --offtopic` reports how many are rejected (the "nothing relevant" answer)."""

from __future__ import annotations

import json
from pathlib import Path

from bot.cli import main

DATA = Path(__file__).resolve().parent / "data"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_with_an_offtopic_file_reports_rejection(capsys, built_workspace, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "1", "text": "ket luan 21", "relevant": ["tin-quochoitv-quan-triet-kl21"],
                                    "kind": "doc_number"})
                         + "\n", encoding="utf-8")
    offtopic = DATA / "offtopic.jsonl"
    code, out, _ = run(capsys, "--config", str(built_workspace), "eval", "--questions", str(questions),
                       "--offtopic", str(offtopic), "--json")
    assert code == 0
    (result,) = json.loads(out)
    total = sum(1 for line in offtopic.read_text(encoding="utf-8").splitlines() if line.strip())
    assert result["n"] == 1 and result["negatives"] == total == 25
    assert result["negatives_rejected"] >= 0.8  # the figure itself is in docs/benchmarks.md
    code, out, _ = run(capsys, "--config", str(built_workspace), "eval", "--questions", str(questions),
                       "--offtopic", str(offtopic))
    assert code == 0 and f"off-topic rejected: {result['negatives_rejected']:.3f} of {total}" in out


def test_eval_with_a_missing_offtopic_file_is_a_usage_error(capsys, built_workspace, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "1", "text": "ket luan 21", "relevant": ["x"]}\n', encoding="utf-8")
    code, _, err = run(capsys, "--config", str(built_workspace), "eval", "--questions", str(questions),
                       "--offtopic", str(tmp_path / "none.jsonl"))
    assert code == 2 and "--offtopic" in err and "file not found" in err
