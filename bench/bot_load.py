"""The Telegram bot under load: N simulated users asking through the fake Bot API server (issue 7).

    python bench/bot_load.py                      # 200 users x 5 questions, `directive-bot serve telegram`
    python bench/bot_load.py --users 500 --questions 4 --in-process

A workspace with the documents of knowledge/ (or a synthetic corpus of --passages) is indexed in a
temporary folder; the bot runs as `directive-bot serve telegram` in a child process (or, with
--in-process, as the Application from `build_application` in a thread), long polling the fake server
of tests/fake_telegram.py, with telegram.questions_per_minute raised so no one is throttled.
Every user sends its questions one after another, each as soon as the previous one is fully answered
(all the messages of the reply received), in a private chat of its own. Reported: answered questions per
second, reply latency (question pushed -> last message of its reply received) p50/p95/p99, replies
lost (questions whose reply did not arrive complete within --timeout), errors (error or throttling
replies, error lines in the bot's log), CPU of the bot and of this process, and the load average at
the start and the end (the machine may be shared; repeat a run made while it was busy).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from fake_telegram import FakeTelegram  # noqa: E402

from bench.corpus import queries, write_corpus  # noqa: E402


def percentile(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))] if s else float("nan")


class CountingTelegram(FakeTelegram):
    """The fake server, also counting the bot's messages per chat so each user can wait for its reply.

    Each chat has its own condition (sharing one lock), so a message wakes only the user it is for:
    with one condition for all, every sendMessage woke all 200 waiting users, and those wake-ups cost
    the load generator more CPU than serving the Bot API did.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._per_chat: dict[int, list] = collections.defaultdict(list)  # chat -> [(time, text)]
        self._arrived: dict[int, threading.Condition] = {}

    def _condition(self, chat_id: int) -> threading.Condition:  # with self._lock held
        cond = self._arrived.get(chat_id)
        if cond is None:
            cond = self._arrived[chat_id] = threading.Condition(self._lock)
        return cond

    def _api_sendMessage(self, params: dict) -> dict:
        result = super()._api_sendMessage(params)
        chat_id = int(params["chat_id"])
        with self._lock:
            self._per_chat[chat_id].append((time.perf_counter(), params["text"]))
            self._condition(chat_id).notify_all()
        return result

    def received(self, chat_id: int) -> int:
        with self._lock:
            return len(self._per_chat[chat_id])

    def wait_messages(self, chat_id: int, count: int, timeout: float) -> list[tuple[float, str]] | None:
        """The first `count` messages to `chat_id`, once they arrived; None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            cond = self._condition(chat_id)
            while len(self._per_chat[chat_id]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                cond.wait(min(left, 0.5))
            return list(self._per_chat[chat_id][:count])


def make_workspace(folder: Path, passages: int) -> Path:
    knowledge = folder / "knowledge"
    knowledge.mkdir(parents=True)
    if passages:
        write_corpus(knowledge / "synthetic.jsonl", passages)
    else:
        for path in (REPO / "knowledge").iterdir():
            if path.is_file():
                shutil.copy(path, knowledge / path.name)
    return folder


def write_config(folder: Path, fake: FakeTelegram) -> Path:
    data = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    data["knowledge"].update(dir="knowledge", max_file_mb=100_000)
    data["index"]["dir"] = "index"
    data["querylog"]["path"] = "var/querylog.sqlite"
    data["telegram"].update(api_base_url=fake.base_url, api_base_file_url=fake.base_file_url,
                            admin_ids=[], questions_per_minute=1_000_000)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (0 without one)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass
class Result:
    latencies: list[float] = dataclasses.field(default_factory=list)  # ms, complete replies
    first_part: list[float] = dataclasses.field(default_factory=list)  # ms, first message of a reply
    lost: int = 0
    error_replies: int = 0


def run_users(fake: CountingTelegram, users: int, per_user: int, expected: dict[str, int],
              questions: list[str], timeout: float, error_texts: tuple[str, ...]) -> tuple[Result, float]:
    """Every user asks `per_user` questions, each when the previous reply is complete. Returns the wall time."""
    result, lock = Result(), threading.Lock()
    start = threading.Barrier(users + 1)

    def user(n: int) -> None:
        person = {"id": 2_000_000 + n, "is_bot": False, "first_name": f"Cán bộ {n}", "language_code": "vi"}
        mine = [questions[(n * per_user + i) % len(questions)] for i in range(per_user)]
        start.wait()
        for q in mine:
            before = fake.received(person["id"])
            t0 = time.perf_counter()
            fake.message(q, user=person)
            got = fake.wait_messages(person["id"], before + expected[q], timeout)
            with lock:
                if got is None:
                    result.lost += 1
                    continue
                reply = got[before:]
                result.first_part.append((reply[0][0] - t0) * 1000)
                result.latencies.append((reply[-1][0] - t0) * 1000)
                result.error_replies += sum(1 for _, text in reply if text.startswith(error_texts))

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(users)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return result, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--questions", type=int, default=5, help="questions per user (default 5)")
    ap.add_argument("--passages", type=int, default=0,
                    help="index a synthetic corpus of this many passages (default: the documents of knowledge/)")
    ap.add_argument("--in-process", action="store_true",
                    help="run the Application in a thread of this process instead of `directive-bot serve telegram`")
    ap.add_argument("--timeout", type=float, default=60, help="seconds a user waits for a reply before counting it lost")
    args = ap.parse_args()
    for name in ("users", "questions"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be at least 1")
    if args.passages < 0 or args.timeout <= 0:
        ap.error("--passages must be >= 0 and --timeout > 0")
    load0 = os.getloadavg()  # the machine may be shared: figures mean little when it was busy

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bot import messages
    from bot.channels.telegram import render
    from bot.config import load_config
    from bot.retrieval.build import build_index
    from bot.service.answering import AnswerService

    questions = list(dict.fromkeys(queries(max(1000, args.users * args.questions))))
    error_texts = (render.escape(messages.SERVICE_UNAVAILABLE),
                   render.escape(messages.TG_RATE_LIMITED.split("{")[0]))
    with tempfile.TemporaryDirectory(prefix="bot-load-") as tmp, CountingTelegram() as fake:
        folder = make_workspace(Path(tmp), args.passages)
        cfg_path = write_config(folder, fake)
        cfg = load_config(cfg_path)
        t = time.perf_counter()
        report = build_index(cfg)
        print(f"index: {report.documents} documents, {report.passages} passages, built in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        # how many messages each question's reply has (long answers are split below 4,096 characters)
        service = AnswerService(cfg, build_if_missing=False)
        t = time.perf_counter()
        expected = {q: len(render.answer_messages(service.answer(q))) for q in questions}
        answer_ms = (time.perf_counter() - t) * 1000 / len(questions)

        proc = app = thread = loop = None
        log_path = folder / "bot.log"
        if args.in_process:
            from bot.channels.telegram.app import build_application
            from bot.service.querylog import QueryLog

            querylog = QueryLog(cfg.querylog.path)
            app = build_application(cfg, service, fake.token, querylog)
            loop = asyncio.new_event_loop()

            def run() -> None:
                asyncio.set_event_loop(loop)
                app.run_polling(poll_interval=0, timeout=1, stop_signals=None, close_loop=False)

            thread = threading.Thread(target=run, name="telegram-app", daemon=True)
            thread.start()
        else:
            del service  # the bot process holds its own
            exe = Path(sys.executable).with_name("directive-bot")
            log_file = open(log_path, "w", encoding="utf-8")
            proc = subprocess.Popen([str(exe), "serve", "telegram", "--config", str(cfg_path)], cwd=folder,
                                    stdout=log_file, stderr=subprocess.STDOUT,
                                    env=os.environ | {"TELEGRAM_BOT_TOKEN": fake.token})
        try:
            fake.wait_for("deleteWebhook", timeout=120)  # polling starts right after
            time.sleep(0.5)
            mode = "in-process Application" if args.in_process else f"`directive-bot serve telegram` (pid {proc.pid})"
            print(f"bot: {mode}; {args.users} users x {args.questions} questions", flush=True)
            bot_cpu0, own_cpu0 = cpu_seconds(proc.pid if proc else None), time.process_time()
            result, wall = run_users(fake, args.users, args.questions, expected, questions, args.timeout,
                                     error_texts)
            bot_cpu, own_cpu = cpu_seconds(proc.pid if proc else None) - bot_cpu0, time.process_time() - own_cpu0
            load1 = os.getloadavg()
        finally:
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                log_file.close()
            if app is not None:
                loop.call_soon_threadsafe(app.stop_running)
                thread.join(timeout=15)
        log_errors = 0
        if log_path.exists():
            log_errors = sum(1 for line in log_path.read_text(encoding="utf-8").splitlines()
                             if "ERROR" in line or line.startswith("Traceback"))
        fake_errors = sum(1 for c in fake.requests() if isinstance(c.result, dict) and c.result.get("ok") is False)

    sent = args.users * args.questions
    answered = len(result.latencies)
    print(f"\nquestions sent {sent}, answered {answered}, lost {result.lost}; wall {wall:.1f} s")
    print(f"answered per second: {answered / wall:.1f}")
    print(f"reply latency (complete reply) ms: p50 {percentile(result.latencies, 50):.0f}  "
          f"p95 {percentile(result.latencies, 95):.0f}  p99 {percentile(result.latencies, 99):.0f}")
    print(f"first message of a reply ms:       p50 {percentile(result.first_part, 50):.0f}  "
          f"p95 {percentile(result.first_part, 95):.0f}")
    parts = sum(expected[q] for q in questions) / len(questions)
    print(f"messages per reply (mean) {parts:.2f}; error or throttling replies {result.error_replies}; "
          f"error lines in the bot's log {log_errors}; failed Bot API calls {fake_errors}")
    where = "bot process" if not args.in_process else "this process (bot, fake server and users)"
    print(f"CPU during the load: {where} {bot_cpu if not args.in_process else own_cpu:.1f} s "
          f"({(bot_cpu if not args.in_process else own_cpu) / wall:.0%} of one core); "
          + (f"fake server and users {own_cpu:.1f} s; " if not args.in_process else "")
          + f"AnswerService.answer alone {answer_ms:.1f} ms per question ({os.cpu_count()} cores)")
    print("load average (1, 5, 15 min) at the start {:.2f} {:.2f} {:.2f}, after the load {:.2f} {:.2f} {:.2f} "
          "(this run's own processes included)".format(*load0, *load1))
    print("target: >= 100 answered messages/s, none lost")
    return 0 if result.lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
