"""Process-wide settings (bot/runtime.py): set once at start-up, never changed by a build or a load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import faiss

from bot.config import load_config
from bot.retrieval.build import build_index
from bot.service.answering import AnswerService

REPO = Path(__file__).resolve().parents[1]


def test_neither_a_build_nor_loading_a_version_changes_faiss_threads(workspace, monkeypatch):
    """A /reindex inside a running bot must not change the thread count under questions being answered."""
    calls: list[int] = []
    monkeypatch.setattr(faiss, "omp_set_num_threads", lambda n: calls.append(n))
    cfg = load_config(workspace)
    cfg.faiss.index = "hnsw"  # the approximate index's build is the one that used to raise the count
    build_index(cfg)
    service = AnswerService(cfg, build_if_missing=False)
    assert service.answer("Chỉ thị 05 yêu cầu gì").found
    service.reindex()
    assert calls == []


def test_the_entry_point_sets_one_faiss_thread_to_serve_and_every_cpu_to_build():
    code = ("import faiss, sys; from bot import runtime; "
            "s = runtime.configure(building=sys.argv[1] == 'build'); t = faiss.omp_get_max_threads(); "
            "again = runtime.configure(building=sys.argv[1] != 'build'); "
            "print(s.faiss_threads, t, again == s, runtime.cpu_count())")
    for role in ("serve", "build"):
        out = subprocess.run([sys.executable, "-c", code, role], capture_output=True, text=True, cwd=REPO,
                             timeout=120, check=True).stdout.split()
        threads, actual, same, cpus = int(out[0]), int(out[1]), out[2], int(out[3])
        assert threads == actual == (1 if role == "serve" else cpus)
        assert same == "True"  # a second call changes nothing


def test_torch_threads_are_limited_once_per_process_and_never_changed_by_a_later_build(monkeypatch):
    import torch

    from bot import runtime

    calls = []
    monkeypatch.setattr(runtime, "_torch_limited", False)
    monkeypatch.setattr(runtime, "cpu_count", lambda: 1)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 8)
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    runtime.limit_torch_threads()
    runtime.limit_torch_threads()  # a second model or a /reindex in the same process
    assert calls == [1]
