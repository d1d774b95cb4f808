"""Shared set-up for the benchmark scripts: a throw-away PostgreSQL database,
environment for subprocesses, Celery workers, and a fake Send API on loopback."""

import json
import math
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

BASE_ENV = {
    "ENV_FILE": "",
    "DEBUG": "false",
    "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789",
    "FIELD_ENCRYPTION_KEY": "q0ZC6j2J7y5tG7Q0rL1uQ3WcY9s8m2n4b6v8x0z2A4E=",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "META_SANDBOX": "false",
    "SITE_URL": "https://support.example.com",
    "META_APP_ID": "bench-app",
    "META_APP_SECRET": "bench-app-secret",
    "META_VERIFY_TOKEN": "bench-verify",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "config.settings",
}


def recreate_database(name: str, host="127.0.0.1", user="postgres", template: str | None = None) -> str:
    """Drop and create a PostgreSQL database (a copy of `template` if given); returns its URL."""
    with _server_connection(host, user) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return f"postgres://{user}@{host}:5432/{name}"


def drop_database(name: str, host="127.0.0.1", user="postgres") -> None:
    with _server_connection(host, user) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _server_connection(host, user, timeout=120):
    """A connection to the server's `postgres` database; retried while the server has no free slot
    (other sessions' test runs on the same server can take all of max_connections for a while)."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            return psycopg.connect(f"postgresql://{user}@{host}:5432/postgres", autocommit=True)
        except psycopg.OperationalError as error:
            if "too many clients" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(1)


def environment(**overrides) -> dict:
    env = dict(os.environ)
    env.update(BASE_ENV)
    # Queues of this run only: other sessions on the machine share Redis (and its db
    # numbers), and their workers would otherwise take our tasks, or purge them.
    env["CELERY_QUEUE_PREFIX"] = f"bench-{os.getpid()}-{uuid.uuid4().hex[:6]}."
    env.update({key: str(value) for key, value in overrides.items()})
    env["PYTHONPATH"] = str(ROOT)
    return env


def apply_environment(env: dict) -> None:
    """Use the bench environment in this process too (before django.setup())."""
    for key, value in env.items():
        os.environ[key] = value
    sys.path.insert(0, str(ROOT))


def manage(env, *args):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


CELERY = [PYTHON, "-m", "celery", "-A", "config"]


def start_workers(env, count=2, log_dir=Path("/tmp"), queues="celery", media_worker=True, command=CELERY, cwd=ROOT):
    """`count` separate `celery worker` processes (as if on separate machines) consuming
    `queues` (comma-separated names, each prefixed for this run), plus one for the media
    queue (profile pictures, attachments) as in production. `command` runs Celery's
    command line (bench/_limiter_worker.py is one that counts what the drainer does); `cwd`
    is the tree it runs in (bench/limiter.py runs a baseline from an older commit)."""
    processes = []
    prefix = env.get("CELERY_QUEUE_PREFIX", "")
    own = ",".join(prefix + queue for queue in queues.split(","))  # "celery,media": both, prefixed
    names = [(n, own) for n in range(count)] + ([(count, prefix + "media")] if media_worker else [])
    for n, queue_names in names:
        log = open(log_dir / f"bench-worker-{n}.log", "w")  # noqa: SIM115
        # Celery expands %h to this host name; wait_for_workers pings the worker by it.
        node_name = f"bench{n}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        processes.append(
            subprocess.Popen(
                [
                    *command,
                    "worker",
                    f"--queues={queue_names}",
                    "--pool=solo",
                    "--loglevel=WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-n",
                    node_name,
                ],
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        processes[-1].node_name = node_name
    return processes


def wait_for_workers(celery_app, processes, timeout=120):
    """Until every worker of `processes` (from start_workers) answers a ping over the broker."""
    waiting = {process.node_name for process in processes}
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"worker {process.node_name} exited with {process.returncode}")
        for answer in celery_app.control.ping(destination=sorted(waiting), timeout=1.0) or []:
            waiting -= set(answer)
    if waiting:
        raise RuntimeError(f"workers not answering after {timeout} s: {', '.join(sorted(waiting))}")


def wait_for_http(url, process, timeout=120, headers=None):
    """Until `url` answers below 500 (the server is up and has loaded the app); fails early if `process` exits."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before {url} answered")
        try:
            if requests.get(url, headers=headers, timeout=5, allow_redirects=False).status_code < 500:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def percentile(values, p):
    """The nearest-rank percentile: the smallest value with at least p % of `values` at or below it."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(math.ceil(len(ordered) * p / 100) - 1, 0)]


def stop(processes):
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


class FakeSendApi:
    """A loopback stand-in for POST /{version}/{page-id}/messages that records every send.

    `delay` = (low, high) seconds of network delay each way, drawn at random per call:
    the request reaches "Meta" (and is recorded, on Meta's clock) after one draw, the
    answer reaches the caller after another."""

    def __init__(self, delay=(0.0, 0.0)):
        self.sends = []  # (monotonic time, recipient id, text, page id)
        self.lock = threading.Lock()
        self.delay = delay
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (a customer profile)
                answer = json.dumps({"name": "Bench Customer", "username": "bench.customer"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(random.uniform(*fake.delay))  # noqa: S311 (the way in)
                page_id = self.path.split("?")[0].rstrip("/").split("/")[-2]
                with fake.lock:
                    fake.sends.append(
                        (time.monotonic(), body["recipient"]["id"], body.get("message", {}).get("text", ""), page_id)
                    )
                time.sleep(random.uniform(*fake.delay))  # noqa: S311 (the way back)
                answer = json.dumps({"recipient_id": body["recipient"]["id"], "message_id": f"mid.{uuid.uuid4().hex}"})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def max_in_window(times, window):
    """The largest number of events in any half-open interval of `window` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best
