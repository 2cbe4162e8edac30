"""The directive-bot command line, end to end: output, JSON shapes, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

REPO = Path(__file__).resolve().parents[1]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_prints_passages_under_reference_lines(capsys, built_workspace):
    code, out, _ = run(capsys, "--config", str(built_workspace), "ask", "chi thi 05 yeu cau gi")
    assert code == 0
    assert "[1] " in out and "Mục:" in out and "Nguồn: http" in out
    assert "**Chỉ thị 05" in out or "**Chỉ thị số 05" in out  # matched words marked (no tty: **…**)


@pytest.mark.parametrize("typed", ["thêm", "1", "tiếp"])
def test_ask_with_a_follow_up_word_and_no_earlier_question_says_there_is_nothing_to_continue(
        capsys, built_workspace, typed):
    from bot import messages

    code, out, _ = run(capsys, "--config", str(built_workspace), "ask", typed)
    assert code == 0 and messages.NOTHING_TO_CONTINUE in out and messages.TOO_SHORT not in out
    code, out, _ = run(capsys, "--config", str(built_workspace), "ask", typed, "--json")
    answer = json.loads(out)
    assert answer["status"] == "invalid" and answer["message"] == messages.NOTHING_TO_CONTINUE
    assert not answer["hits"]


def test_search_json_has_the_documented_fields(capsys, built_workspace):
    code, out, _ = run(capsys, "--config", str(built_workspace), "search", "Kết luận 21", "--json", "--top-k", "2")
    assert code == 0
    data = json.loads(out)
    assert data["query"] == "Kết luận 21" and len(data["results"]) == 2
    first = data["results"][0]
    assert set(first) == {"doc_id", "passage_id", "score", "doc_number", "title", "section", "issued",
                          "source_url", "text"}
    assert first["doc_id"] == "tin-quochoitv-quan-triet-kl21"


def test_search_batch_answers_each_line(capsys, built_workspace, tmp_path):
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "text": "quy dinh 37"}\n\n{"id": "b", "text": "Anh Sơn biểu dương"}\n',
                     encoding="utf-8")
    code, out, _ = run(capsys, "--config", str(built_workspace), "search", "--batch", str(batch), "--json")
    assert code == 0
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["id"] for x in lines] == ["a", "b"]
    assert lines[1]["results"][0]["doc_id"] == "tin-anh-son-bieu-duong-43-dien-hinh-ct05"


def test_bad_batch_lines_get_error_records_and_every_good_line_is_answered(capsys, built_workspace, tmp_path):
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "text": "quy dinh 37"}\n{"text": 5}\nnot json\n'
                     '{"id": "d", "text": "Kết luận 21"}\n', encoding="utf-8")
    code, out, err = run(capsys, "--config", str(built_workspace), "search", "--batch", str(batch), "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and f"{batch}:2" in err and f"{batch}:3" in err
    assert [r.get("id") for r in records] == ["a", None, None, "d"]
    assert records[0]["results"] and records[3]["results"]
    assert records[1]["error"].startswith("line 2") and records[2]["line"] == 3 and not records[2]["results"]


def test_search_without_json_prints_readable_passages(capsys, built_workspace):
    code, out, _ = run(capsys, "--config", str(built_workspace), "search", "Kết luận 21", "--top-k", "2")
    assert code == 0 and out.startswith("1. [") and "21-KL/TW" in out
    with __import__("pytest").raises(ValueError):
        json.loads(out)


def test_config_and_verbose_are_accepted_after_the_command_too(capsys, built_workspace):
    code, out, _ = run(capsys, "ask", "chi thi 05 yeu cau gi", "--config", str(built_workspace), "-v")
    assert code == 0 and "[1] " in out
    code, out, _ = run(capsys, "--config", str(built_workspace), "search", "Kết luận 21", "--json", "--verbose")
    assert code == 0 and json.loads(out)["results"]
    with __import__("pytest").raises(SystemExit):
        main(["index", "--help"])
    help_text = capsys.readouterr().out
    assert "--config" in help_text and "--verbose" in help_text


def test_a_folder_without_config_is_a_usage_error_that_creates_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "ask", "chỉ thị 05 yêu cầu gì")
    assert code == 2 and str(tmp_path / "config.yaml") in err and "config file not found" in err
    assert list(tmp_path.iterdir()) == []


def test_eval_reports_recall_mrr_and_latency(capsys, built_workspace, tmp_path):
    qs = tmp_path / "q.jsonl"
    qs.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"id": "1", "text": "ket luan 21", "relevant": ["tin-quochoitv-quan-triet-kl21"], "kind": "doc_number"},
        {"id": "2", "text": "Anh Sơn biểu dương bao nhiêu điển hình",
         "relevant": ["tin-anh-son-bieu-duong-43-dien-hinh-ct05"], "kind": "fact"},
        {"id": "3", "text": "giá vàng hôm nay", "relevant": [], "kind": "offtopic"},
    ]), encoding="utf-8")
    code, out, _ = run(capsys, "--config", str(built_workspace), "eval", "--questions", str(qs), "--json")
    assert code == 0
    (result,) = json.loads(out)
    assert result["metrics"]["all"]["recall@1"] == 1.0 and result["metrics"]["all"]["mrr@10"] == 1.0
    assert result["negatives"] == 1 and result["negatives_rejected"] == 1.0
    assert result["latency_ms"]["p95"] > 0


def test_usage_and_config_errors_exit_2_with_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "ask")
    assert code == 2 and "error" in err
    bad = tmp_path / "config.yaml"
    bad.write_text("retrieval:\n  top_k: -1\n", encoding="utf-8")
    code, _, err = run(capsys, "--config", str(bad), "ask", "chỉ thị 05")
    assert code == 2 and "retrieval.top_k must be >= 1" in err and "Traceback" not in err
    code, _, err = run(capsys, "--config", str(tmp_path / "missing.yaml"), "ask", "x")
    assert code == 2 and "config file not found" in err


def test_corrupted_index_is_a_one_line_error_with_exit_1(capsys, workspace):
    from bot.config import load_config
    from bot.retrieval.build import build_index
    from bot.retrieval.versions import current_dir

    cfg = load_config(workspace)
    build_index(cfg)
    (current_dir(cfg.index.dir) / "passages.jsonl").write_text("garbage", encoding="utf-8")
    code, out, err = run(capsys, "--config", str(workspace), "ask", "chỉ thị 05")
    assert code == 1 and "truncated or corrupted" in err and "directive-bot index" in err
    assert len(err.strip().splitlines()) == 1


def test_index_command_reports_failed_files_and_exit_codes(capsys, workspace):
    kdir = workspace.parent / "knowledge"
    (kdir / "hong.md").write_text("---\nid: [x\n---\nabc\n", encoding="utf-8")
    code, out, _ = run(capsys, "--config", str(workspace), "index")
    assert code == 0 and "failed 1" in out and "hong.md: invalid YAML" in out
    for p in kdir.iterdir():
        p.unlink()
    code, _, err = run(capsys, "--config", str(workspace), "index")
    assert code == 1 and "nothing to index" in err


def test_installed_console_script_answers_offline_from_a_fresh_workspace(workspace):
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    exe = Path(sys.executable).with_name("directive-bot")
    proc = subprocess.run([str(exe), "--config", str(workspace), "ask", "Kết luận 21 là gì"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "21-KL/TW" in proc.stdout and "quochoitv.vn" in proc.stdout


def test_chat_answers_each_line_and_shows_more_on_them(capsys, monkeypatch, built_workspace):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("Kết luận 21\nthêm\n\nthoát\nkhông bao giờ đọc tới\n"))
    code, out, err = run(capsys, "--config", str(built_workspace), "chat")
    assert code == 0, err
    assert "Kho có 8 văn bản" in out
    assert out.count("21-KL/TW") >= 1
    assert "[4] " in out  # "thêm" continued the ranking after the first three
    assert "Bạn chưa nhập câu hỏi" in out  # the empty line
    assert out.rstrip().endswith("Tạm biệt.") and "không bao giờ" not in out


def test_search_json_explains_a_question_it_cannot_search(capsys, built_workspace, tmp_path):
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "text": "   "}\n{"id": "b", "text": "' + "x" * 5000 + '"}\n'
                     '{"id": "c", "text": "🙂"}\n', encoding="utf-8")
    code, out, _ = run(capsys, "--config", str(built_workspace), "search", "--batch", str(batch), "--json")
    assert code == 0
    records = [json.loads(x) for x in out.splitlines()]
    assert [r["results"] for r in records] == [[], [], []]
    assert "chưa nhập câu hỏi" in records[0]["error"] and "quá dài" in records[1]["error"]
    assert "ký hiệu" in records[2]["error"]


def _cli(*argv: str) -> subprocess.CompletedProcess:
    """The CLI in a process of its own (start-up settings and logging as a user gets them)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "bot.cli", *argv], capture_output=True, text=True, env=env,
                          timeout=300)


def test_index_twice_says_nothing_changed_without_a_rate_and_each_warning_once(workspace):
    kdir = workspace.parent / "knowledge"
    (kdir / "moi.txt").write_text("Bài mới về Kết luận 01\n\nNội dung Kết luận 01-KL/TW về nêu gương.\n",
                                  encoding="utf-8")  # no metadata: indexed with a warning
    first = _cli("--config", str(workspace), "index")
    assert first.returncode == 0, first.stderr
    assert "passages embedded/s" in first.stdout
    second = _cli("--config", str(workspace), "index")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("nothing changed: index version")
    assert "/s" not in second.stdout  # nothing was embedded: no rate
    for proc in (first, second):
        both = proc.stdout + proc.stderr
        assert both.count("moi.txt: metadata not found") == 1, both


def test_the_summary_of_a_run_that_embedded_nothing_has_no_rate():
    from bot.cli import format_report
    from bot.models import IndexReport

    text = format_report(IndexReport(version="v", documents=3, passages=40, removed=["x"], embedded_passages=0,
                                     reused_passages=40, seconds=0.5))
    assert "/s" not in text and "embedded 0 passages, reused 40" in text
    text = format_report(IndexReport(version="v", documents=3, passages=40, embedded_passages=20,
                                     reused_passages=20, seconds=2.0))
    assert "(10 passages embedded/s)" in text
