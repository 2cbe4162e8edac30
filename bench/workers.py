"""Fault test: Telegram webhook workers behind nginx, one shared PostgreSQL state, one worker SIGKILLed.

A fake Telegram (tests/fake_telegram.py plus webhook delivery) POSTs updates to nginx, which balances them
over the workers (`directive-bot serve telegram` in webhook mode); like Telegram it delivers an update again
until it gets a 200. Checks that every question got exactly one answer (or counts the duplicates), that
buttons made on one worker work on another, that the rate limit holds per user across workers, and that
/thongke counts what was asked. Also measures answered/s with 1, 2 and 3 workers and reply p50/p95.

    python bench/workers.py --quick        # about two minutes
    python bench/workers.py                # a few thousand questions

Needs nginx and PostgreSQL: DIRECTIVE_BOT_TEST_DATABASE_URL (or --database-url) names a server on which
the bench creates a throwaway database; without it a throwaway server is started with .ci/postgres.sh.
The last line is `answered N lost N duplicated N`.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from fake_telegram import FakeTelegram  # noqa: E402

SECRET = "bench-webhook-secret-0123456789"
ADMIN_ID = 777000
RATE_LIMIT = 4
DOCS = ["ct-03-tw-2011.md", "tin-quangtri-so-ket-3-nam-ct05.md", "tin-tpth-tiep-tuc-quan-triet-ct05-2021.md",
        "tin-quochoitv-quan-triet-kl21.md", "tin-khanhhoa-thuc-hien-nghiem-quy-dinh-08-2019.md",
        "tin-noichinh-quy-dinh-moi-dang-vien-khong-duoc-lam-2022.md", "tin-tan-hong-so-ket-1-nam-kl01-2022.md"]
QUESTIONS = ["Chỉ thị 05 yêu cầu những gì", "Kết luận 21 về xây dựng chỉnh đốn Đảng",
             "Quy định 08 về trách nhiệm nêu gương", "Chỉ thị 03 học tập tấm gương đạo đức Hồ Chí Minh",
             "sơ kết 3 năm thực hiện Chỉ thị 05", "những điều đảng viên không được làm",
             "quán triệt Kết luận 21 khóa XIII", "Kết luận 01 sơ kết một năm"]


def percentile(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))] if s else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the fake Telegram, delivering by webhook

@dataclass
class Delivery:
    update: dict
    first_at: float = 0.0
    attempts: int = 0
    statuses: list = field(default_factory=list)
    workers: list = field(default_factory=list)  # nginx's upstream address per attempt
    done_at: float = 0.0

    def update_id_attempts(self) -> tuple[int, int]:
        return self.update["update_id"], self.attempts


class WebhookTelegram(FakeTelegram):
    """The fake Bot API, which also delivers updates to a webhook URL as Telegram does: up to `connections`
    requests at once, and an update that did not get a 200 (error, timeout, 5xx) is delivered again."""

    def __init__(self, connections: int = 16, retry_after: float = 0.5):
        super().__init__()
        self.webhook = ""
        self.connections = connections
        self.retry_after = retry_after
        self.deliveries: dict[int, Delivery] = {}
        self._queue: collections.deque[int] = collections.deque()
        self._queue_cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stop = False

    def _api_setWebhook(self, params: dict) -> bool:
        return True

    def _api_answerCallbackQuery(self, params: dict) -> bool:
        return True

    def start_delivery(self, url: str) -> None:
        self.webhook = url
        for _ in range(self.connections):
            thread = threading.Thread(target=self._deliver_loop, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop_delivery(self) -> None:
        with self._queue_cond:
            self._stop = True
            self._queue_cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    def send_update(self, update: dict) -> Delivery:
        with self._cond:
            update = {"update_id": next(self._ids), **update}
        delivery = Delivery(update)
        with self._queue_cond:
            self.deliveries[update["update_id"]] = delivery
            self._queue.append(update["update_id"])
            self._queue_cond.notify()
        return delivery

    def _deliver_loop(self) -> None:
        import json

        while True:
            with self._queue_cond:
                while not self._queue and not self._stop:
                    self._queue_cond.wait(0.2)
                if self._stop:
                    return
                update_id = self._queue.popleft()
            delivery = self.deliveries[update_id]
            if not delivery.first_at:
                delivery.first_at = time.monotonic()
            delivery.attempts += 1
            request = urllib.request.Request(self.webhook, data=json.dumps(delivery.update).encode(), method="POST",
                                             headers={"Content-Type": "application/json",
                                                      "X-Telegram-Bot-Api-Secret-Token": SECRET})
            status, worker = 0, ""
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    status, worker = response.status, response.headers.get("X-Upstream", "")
            except urllib.error.HTTPError as exc:
                status, worker = exc.code, exc.headers.get("X-Upstream", "")
            except (urllib.error.URLError, OSError):
                status = -1
            delivery.statuses.append(status)
            delivery.workers.append(worker)
            if status == 200:
                delivery.done_at = time.monotonic()
                continue
            threading.Timer(self.retry_after, self._requeue, (update_id,)).start()

    def _requeue(self, update_id: int) -> None:
        with self._queue_cond:
            self._queue.append(update_id)
            self._queue_cond.notify()

    def pending(self) -> int:
        return sum(1 for d in list(self.deliveries.values()) if not d.done_at)


# ---------------------------------------------------------------- workers and nginx

class Cluster:
    """A workspace with a built index, N worker processes and nginx in front of them."""

    def __init__(self, work: Path, fake: WebhookTelegram, database_url: str, workers: int = 3):
        self.work, self.fake, self.database_url = work, fake, database_url
        self.ports = [free_port() for _ in range(workers)]
        self.procs: dict[int, subprocess.Popen] = {}
        self.nginx: subprocess.Popen | None = None
        self.nginx_port = free_port()
        self.config = self._workspace()

    def _workspace(self) -> Path:
        (self.work / "knowledge").mkdir(parents=True, exist_ok=True)
        for name in DOCS:
            shutil.copy(REPO / "knowledge" / name, self.work / "knowledge" / name)
        data = {"knowledge": {"dir": "knowledge"}, "index": {"dir": "index"},
                "querylog": {"path": "var/querylog.sqlite"},
                "telegram": {"api_base_url": self.fake.base_url, "api_base_file_url": self.fake.base_file_url,
                             "admin_ids": [ADMIN_ID], "questions_per_minute": RATE_LIMIT,
                             "webhook": {"url": "https://bot.example.org/telegram", "listen": "127.0.0.1",
                                         "port": 0, "path": "/telegram"}}}
        path = self.work / "config.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        subprocess.run([sys.executable, "-m", "bot.cli", "index", "--config", str(path)], check=True,
                       cwd=self.work, env=self._env(), stdout=subprocess.DEVNULL)
        return path

    def _env(self, port: int | None = None) -> dict:
        env = dict(os.environ, PYTHONPATH=str(REPO), TELEGRAM_BOT_TOKEN=self.fake.token,
                   TELEGRAM_WEBHOOK_SECRET=SECRET, DIRECTIVE_BOT_DATABASE_URL=self.database_url,
                   DIRECTIVE_BOT_SALT="bench-salt", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        if port is not None:
            env["DIRECTIVE_BOT_WEBHOOK_PORT"] = str(port)
        return env

    def start_worker(self, i: int) -> None:
        log = open(self.work / f"worker{i}.log", "ab")
        self.procs[i] = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "telegram", "--config", str(self.config)],
            cwd=self.work, env=self._env(self.ports[i]), stdout=log, stderr=log)

    def wait_ready(self, i: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[i].poll() is not None:
                raise RuntimeError(f"worker {i} exited: see {self.work / f'worker{i}.log'}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.ports[i])) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"worker {i} did not listen within {timeout} s")

    def kill(self, i: int) -> None:
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()

    def start_nginx(self, workers: int) -> str:
        """nginx from the distribution, with the configuration docs/deploy.md gives (ports filled in)."""
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        conf_dir = self.work / f"nginx{workers}"
        conf_dir.mkdir(exist_ok=True)
        for sub in ("tmp", "logs"):
            (conf_dir / sub).mkdir(exist_ok=True)
            os.chmod(conf_dir / sub, 0o777)
        servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;" for p in self.ports[:workers])
        (conf_dir / "nginx.conf").write_text(NGINX_CONF.format(
            servers=servers, port=self.nginx_port, dir=conf_dir), encoding="utf-8")
        self.stop_nginx()
        self.nginx = subprocess.Popen([nginx, "-p", str(conf_dir), "-c", str(conf_dir / "nginx.conf"),
                                       "-g", "daemon off;"], stderr=open(conf_dir / "logs" / "stderr.log", "ab"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.nginx_port)) == 0:
                    return f"http://127.0.0.1:{self.nginx_port}/telegram"
            if self.nginx.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not start: {(conf_dir / 'logs' / 'stderr.log').read_text()[-500:]}")

    def stop_nginx(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(timeout=10)

    def close(self) -> None:
        self.stop_nginx()
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


# the balancer of docs/deploy.md, run unprivileged for the bench
NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/tmp/body;
  proxy_temp_path {dir}/tmp/proxy;
  fastcgi_temp_path {dir}/tmp/fastcgi;
  uwsgi_temp_path {dir}/tmp/uwsgi;
  scgi_temp_path {dir}/tmp/scgi;
  upstream directive_bot {{
{servers}
    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{port};
    location /telegram {{
      proxy_pass http://directive_bot;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout;
      proxy_connect_timeout 2s;
      proxy_read_timeout 60s;
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
"""


# ---------------------------------------------------------------- the run

def user(uid: int) -> dict:
    return {"id": uid, "is_bot": False, "first_name": f"Cán bộ {uid}", "language_code": "vi"}


def message_update(fake: WebhookTelegram, uid: int, text: str) -> dict:
    return {"message": fake._new_message(user(uid), None, text=text)}


def keyboards(calls) -> dict[int, list]:
    """chat -> the bot's answer messages carrying the answer keyboard (one per complete answer)."""
    out: dict[int, list] = collections.defaultdict(list)
    for call in calls:
        markup = call.params.get("reply_markup")
        if call.method == "sendMessage" and isinstance(markup, dict) and "up:" in str(markup):
            out[int(call.params["chat_id"])].append(call)
    return out


def wait_delivered(fake: WebhookTelegram, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while fake.pending() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not fake.pending()


def throughput(cluster: Cluster, fake: WebhookTelegram, workers: int, questions: int, first_uid: int) -> dict:
    """Questions from distinct users as fast as the fake delivers them, through `workers` workers."""
    fake.webhook = cluster.start_nginx(workers)
    started = time.monotonic()
    sent = [fake.send_update(message_update(fake, first_uid + i, QUESTIONS[i % len(QUESTIONS)]))
            for i in range(questions)]
    wait_delivered(fake, 300)
    seconds = time.monotonic() - started
    return {"workers": workers, "questions": questions, "per_second": questions / seconds,
            "answered": sum(1 for d in sent if d.done_at)}


def fault_run(cluster: Cluster, fake: WebhookTelegram, singles: int, presses: int, rate_users: int,
              first_uid: int, seed: int = 7) -> dict:
    """Questions, button presses and rate-limited users mixed; worker 1 is SIGKILLed mid-run and restarted."""
    rng = random.Random(seed)
    fake.webhook = cluster.start_nginx(len(cluster.ports))
    mark = fake.mark()
    single_ids = [first_uid + i for i in range(singles)]
    press_ids = [first_uid + singles + i for i in range(presses)]
    rate_ids = [first_uid + singles + presses + i for i in range(rate_users)]
    plan = [(uid, QUESTIONS[uid % len(QUESTIONS)]) for uid in single_ids + press_ids]
    rng.shuffle(plan)
    for uid in rate_ids:  # each of these users asks in a burst, well within one minute
        at = rng.randrange(len(plan) + 1)
        plan[at:at] = [(uid, QUESTIONS[(uid + k) % len(QUESTIONS)]) for k in range(RATE_LIMIT + 2)]
    deliveries: dict[int, list[Delivery]] = collections.defaultdict(list)
    kill_at, killed, restart = len(plan) // 3, None, None
    pressed: dict[int, Delivery] = {}
    for n, (uid, text) in enumerate(plan):
        deliveries[uid].append(fake.send_update(message_update(fake, uid, text)))
        if n == kill_at:
            time.sleep(0.3)  # let the worker be in the middle of answering
            cluster.kill(1)
            killed = time.monotonic()
            restart = threading.Timer(2.0, cluster.start_worker, (1,))
            restart.start()
        if n % 50 == 0:
            _press_buttons(fake, mark, press_ids, pressed)
            time.sleep(0.05)
    restart.join()
    cluster.wait_ready(1)
    restarted = time.monotonic()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and (len(pressed) < len(press_ids) or fake.pending()):
        _press_buttons(fake, mark, press_ids, pressed)
        time.sleep(0.2)
    wait_delivered(fake, 120)
    time.sleep(1.0)  # replies of the last updates
    return _check(fake, mark, single_ids, press_ids, rate_ids, deliveries, pressed) | {
        "restart_seconds": restarted - killed}


def _press_buttons(fake: WebhookTelegram, mark: int, press_ids: list[int], pressed: dict[int, Delivery]) -> None:
    """Press "Xem thêm" under each answer that arrived for a button user (once)."""
    wanted = set(press_ids) - set(pressed)
    if not wanted:
        return
    for chat, calls in keyboards(fake.requests()[mark:]).items():
        if chat in wanted and chat not in pressed:
            call = calls[0]
            buttons = [str(b.get("callback_data", "")) for row in call.params["reply_markup"]["inline_keyboard"]
                       for b in row]
            # "Xem thêm" when the answer has more, else "Toàn văn": both read the payload the answer stored
            data = next((b for b in buttons if b.startswith("more:")), None) or next(
                (b for b in buttons if b.startswith("full:")), None)
            if data is None:
                continue
            query = {"id": f"cq-{uuid.uuid4().hex[:8]}", "from": user(chat), "chat_instance": "ci", "data": data,
                     "message": call.result}
            pressed[chat] = fake.send_update({"callback_query": query})


def _check(fake, mark, single_ids, press_ids, rate_ids, deliveries, pressed) -> dict:
    from bot import messages

    calls = fake.requests()[mark:]
    answers = keyboards(calls)
    lost = [u for u in single_ids + press_ids if len(answers.get(u, [])) == 0]
    duplicated = [u for u in single_ids if len(answers.get(u, [])) > 1]
    # a button user: the answer, then maybe the next page after the press (also with a keyboard)
    duplicated += [u for u in press_ids if len(answers.get(u, [])) > 2]
    expired = [c for c in calls if c.method == "answerCallbackQuery" and c.params.get("text") == messages.TG_BUTTON_EXPIRED]
    acked = {c.params.get("callback_query_id") for c in calls if c.method == "answerCallbackQuery"
             and c.params.get("text") != messages.TG_BUTTON_EXPIRED}
    press_worked = [u for u in press_ids if u in pressed and pressed[u].update["callback_query"]["id"] in acked]
    cross = sum(1 for u in press_ids if u in pressed and pressed[u].workers[-1:] != deliveries[u][0].workers[-1:])
    limited_text = messages.TG_RATE_LIMITED.split("{")[0]
    rate_ok, rate_misses, rate_duplicates, rate_lost = 0, [], 0, 0
    for uid in rate_ids:
        limited = [c for c in calls if c.method == "sendMessage" and int(c.params["chat_id"]) == uid
                   and str(c.params.get("text", "")).startswith(limited_text)]
        passed, replies = len(answers.get(uid, [])), len(answers.get(uid, [])) + len(limited)
        # a kill between a reply and its record repeats that reply (counted as a duplicate, not a breach)
        extra = max(0, replies - (RATE_LIMIT + 2))
        rate_duplicates += extra
        rate_lost += max(0, RATE_LIMIT + 2 - replies)
        # extra replies come only from updates redelivered after the kill: the killed worker may have
        # replied without recording it (a repeat), and the retry may be judged against a window the dead
        # worker had already counted (one more). A user none of whose updates was redelivered gets none.
        redelivered = sum(1 for d in deliveries[uid] if d.attempts > 1)
        held = passed >= RATE_LIMIT and len(limited) >= 2 and extra <= 2 * redelivered
        rate_ok += held
        if not held:
            rate_misses.append((uid, len(answers.get(uid, [])), len(limited),
                                [(d.update_id_attempts(), d.statuses, d.workers) for d in deliveries[uid]]))
    workers_per_rate_user = [len({d.workers[-1] for d in deliveries[u] if d.workers}) for u in rate_ids]
    latencies = [c.at - d.first_at for u in single_ids for d in deliveries[u][:1] for c in answers.get(u, [])[:1]]
    questions = len(single_ids) + len(press_ids) + len(rate_ids) * (RATE_LIMIT + 2)
    # answered: every question that got its reply (an answer, or the polite "slow down" of the rate limit)
    return {"questions": questions, "answered": questions - len(lost) - rate_lost,
            "lost": len(lost) + rate_lost, "duplicated": len(duplicated) + rate_duplicates, "presses": len(pressed),
            "presses_worked": len(press_worked), "presses_on_other_worker": cross, "expired": len(expired),
            "rate_users": len(rate_ids), "rate_users_held": rate_ok, "rate_misses": rate_misses,
            "rate_users_on_several_workers": sum(1 for n in workers_per_rate_user if n > 1),
            "redelivered": sum(1 for ds in deliveries.values() for d in ds if d.attempts > 1),
            "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
            "logged_expected": len(single_ids) + len(press_ids) + len(rate_ids) * RATE_LIMIT}


def thongke(fake: WebhookTelegram) -> int:
    """Ask /thongke as the admin through the balancer; the number of questions it reports."""
    from bot import messages

    mark = fake.mark()
    update = fake.text_update("/thongke", user(ADMIN_ID))
    update.pop("update_id")
    fake.send_update(update)
    prefix = messages.TG_STATS_QUESTIONS.split("{")[0]
    call = fake.wait_for("sendMessage", lambda c: prefix in str(c.params.get("text", "")), timeout=30, after=mark)[0]
    return int(re.search(re.escape(prefix) + r"(\d+)", call.params["text"]).group(1))


def fresh_database(admin_url: str) -> tuple[str, callable]:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    name = "directive_bench_" + uuid.uuid4().hex[:10]
    with engine.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with engine.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, drop


def run(*, singles: int, presses: int, rate_users: int, throughput_questions: int, database_url: str,
        work: Path, report=print) -> dict:
    url, drop = fresh_database(database_url)
    fake = WebhookTelegram()
    fake.__enter__()
    cluster = None
    try:
        cluster = Cluster(work, fake, url)
        for i in range(len(cluster.ports)):
            cluster.start_worker(i)
        for i in range(len(cluster.ports)):
            cluster.wait_ready(i)
        fake.start_delivery(cluster.start_nginx(len(cluster.ports)))
        rates = []
        uid = 10_000
        for workers in (1, 2, 3) if throughput_questions else ():
            rates.append(throughput(cluster, fake, workers, throughput_questions, uid))
            uid += throughput_questions
            report(f"throughput: {workers} worker(s): {rates[-1]['per_second']:.1f} answered/s "
                   f"({rates[-1]['answered']}/{throughput_questions})")
        result = fault_run(cluster, fake, singles, presses, rate_users, uid)
        logged_before = sum(r["questions"] for r in rates)
        result["thongke"] = thongke(fake) - logged_before
        result["throughput"] = rates
        return result
    finally:
        fake.stop_delivery()
        if cluster is not None:
            cluster.close()
        fake.__exit__(None, None, None)
        drop()


def _database_url(given: str) -> tuple[str, callable]:
    url = given or os.environ.get("DIRECTIVE_BOT_TEST_DATABASE_URL", "")
    if url:
        return url, lambda: None
    folder = tempfile.mkdtemp(prefix="bench-pg-")
    url = subprocess.run(["bash", str(REPO / ".ci" / "postgres.sh"), "start", folder], check=True,
                         capture_output=True, text=True).stdout.strip()
    return url, lambda: subprocess.run(["bash", str(REPO / ".ci" / "postgres.sh"), "stop", folder])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages: about two minutes")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to create a throwaway database on")
    args = parser.parse_args()
    sizes = (dict(singles=600, presses=150, rate_users=40, throughput_questions=200) if args.quick else
             dict(singles=2500, presses=500, rate_users=100, throughput_questions=600))
    url, stop_server = _database_url(args.database_url)
    work = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    try:
        r = run(**sizes, database_url=url, work=work)
    finally:
        stop_server()
        shutil.rmtree(work, ignore_errors=True)
    print(f"questions sent {r['questions']} ({sizes['singles']} single, {sizes['presses']} with a button press, "
          f"{r['rate_users']} users x {RATE_LIMIT + 2} against a limit of {RATE_LIMIT}/min); "
          f"worker 1 SIGKILLed a third of the way, back after {r['restart_seconds']:.1f} s")
    print(f"redelivered updates {r['redelivered']}; reply p50 {r['p50'] * 1000:.0f} ms, p95 {r['p95'] * 1000:.0f} ms")
    print(f"button presses {r['presses']}, worked {r['presses_worked']}, on another worker than the answer "
          f"{r['presses_on_other_worker']}, expired {r['expired']}")
    print(f"rate limit held for {r['rate_users_held']}/{r['rate_users']} users "
          f"({r['rate_users_on_several_workers']} of them reached several workers)")
    print(f"/thongke counted {r['thongke']} questions, expected {r['logged_expected']}")
    for t in r["throughput"]:
        print(f"{t['workers']} worker(s): {t['per_second']:.1f} answered/s")
    print(f"answered {r['answered']} lost {r['lost']} duplicated {r['duplicated']}")
    return 0 if r["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
