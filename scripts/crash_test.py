"""Crash safety of reindexing, proven: SIGKILL `directive-bot index` at random moments while a reader queries.

After every kill the current index must be the old complete version or the new complete one, load
and verify cleanly, and answer; the reader's queries must all succeed; the next reindex must succeed.

    python scripts/crash_test.py [--kills 20] [--seed 1]

Builds run in processes forked from this one after the libraries are imported (and before any of
them has computed anything, so the forks are safe); each runs the same code as `directive-bot index`
(bot.cli.main). Exit code 0 when every check passed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Import everything a build needs before forking, so each fork starts building at once.
import bm25s  # noqa: E402,F401
import faiss  # noqa: E402,F401
import sentence_transformers  # noqa: E402,F401

from bot import cli  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.retrieval.versions import current_dir, current_version, list_versions  # noqa: E402
from bot.retrieval.search import Retriever  # noqa: E402

QUESTIONS = ["chi thi 05 yeu cau gi", "Kết luận 21", "quy định 37 đảng viên không được làm gì",
             "Anh Sơn biểu dương điển hình"]


def _build(config_path: str) -> None:
    os.environ["TQDM_DISABLE"] = "1"
    sys.stdout = open(os.devnull, "w")
    sys.stderr = open(os.devnull, "w")
    os._exit(cli.main(["--config", config_path, "index"]))


def _reader(config_path: str, stop, counts) -> None:
    """Keeps asking questions through a long-lived service that hot-swaps versions."""
    from bot.service.answering import AnswerService

    service = AnswerService(load_config(config_path), build_if_missing=False)
    n = 0
    while not stop.is_set():
        try:
            service.reload_if_changed()
            answer = service.answer(QUESTIONS[n % len(QUESTIONS)])
            if answer.status not in ("found", "not_found"):
                raise RuntimeError(f"bad status {answer.status}")
            counts[0] += 1
        except Exception as exc:  # counted and printed: any failure fails the run
            counts[1] += 1
            print(f"reader: query failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        n += 1


def _mutate(knowledge: Path, step: int) -> None:
    """Give each build real work: a new document, and a changed one."""
    (knowledge / f"crash-{step}.txt").write_text(
        f"Bài kiểm tra số {step}\n\nNội dung thứ {step} về việc thực hiện Chỉ thị 05-CT/TW và Kết luận 21-KL/TW "
        "của Bộ Chính trị, học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh.\n", encoding="utf-8")
    old = knowledge / f"crash-{step - 3}.txt"
    if old.exists():
        old.unlink()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temporary workspace")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    ctx = mp.get_context("fork")
    work = Path(tempfile.mkdtemp(prefix="crash-test-"))
    shutil.copytree(REPO / "knowledge", work / "knowledge")
    cfg_path = work / "config.yaml"
    cfg_path.write_text("knowledge:\n  dir: knowledge\nindex:\n  dir: index\n", encoding="utf-8")
    cfg = load_config(cfg_path)

    # one clean build, timed, to know when to strike
    t0 = time.perf_counter()
    p = ctx.Process(target=_build, args=(str(cfg_path),))
    p.start()
    p.join()
    build_seconds = time.perf_counter() - t0
    if p.exitcode != 0 or current_version(cfg.index.dir) is None:
        print("initial build failed", file=sys.stderr)
        return 1
    # and one incremental build, the kind the kills interrupt
    _mutate(cfg.knowledge.dir, -1)
    t0 = time.perf_counter()
    p = ctx.Process(target=_build, args=(str(cfg_path),))
    p.start()
    p.join()
    build_seconds = max(build_seconds, time.perf_counter() - t0)
    print(f"a build takes about {build_seconds:.2f} s")

    stop = ctx.Event()
    counts = ctx.Array("i", 2)
    reader = ctx.Process(target=_reader, args=(str(cfg_path), stop, counts))
    reader.start()

    problems: list[str] = []
    killed_before_switch = switched = 0
    window = build_seconds
    for k in range(args.kills):
        _mutate(cfg.knowledge.dir, k)
        before = current_version(cfg.index.dir)
        builder = ctx.Process(target=_build, args=(str(cfg_path),))
        builder.start()
        builder.join(rng.uniform(0.0, window))
        if builder.is_alive():
            os.kill(builder.pid, signal.SIGKILL)
            window *= 1.15  # builds run slower beside the reader: aim later, so some finish
        else:
            window *= 0.85  # and earlier again once one finished: kills land all through a build
        builder.join()
        after = current_version(cfg.index.dir)
        if after == before:
            killed_before_switch += 1
        else:
            switched += 1
        try:
            r = Retriever.load(current_dir(cfg.index.dir), cfg)  # verifies sizes and checksums
            if not r.search("Kết luận 21", limit=3):
                problems.append(f"kill {k}: current version {after} answers nothing")
        except Exception as exc:
            problems.append(f"kill {k}: current version {after} is broken: {exc}")
        if after not in list_versions(cfg.index.dir):
            problems.append(f"kill {k}: CURRENT names {after}, which is not a complete version")
        print(f"kill {k + 1:>2}: exit {builder.exitcode}, current {'unchanged' if after == before else 'new'} "
              f"({after})")

    final = ctx.Process(target=_build, args=(str(cfg_path),))
    final.start()
    final.join()
    if final.exitcode != 0:
        problems.append(f"the reindex after the kills failed (exit {final.exitcode})")
    time.sleep(1.5)  # let the reader see the final version
    stop.set()
    reader.join(30)
    ok, failed = counts[0], counts[1]
    if failed:
        problems.append(f"{failed} reader queries failed")
    if ok == 0:
        problems.append("the reader answered no question")
    print(f"{args.kills} kills: {killed_before_switch} left the old version current, {switched} the new one; "
          f"reader answered {ok} questions, {failed} failed; final reindex "
          f"{'ok' if final.exitcode == 0 else 'FAILED'}")
    for problem in problems:
        print("PROBLEM:", problem)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"workspace kept in {work}")
    print(f"crash test: {args.kills - len([p for p in problems if p.startswith('kill')])} of {args.kills} kills safe")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
