"""Webhook acknowledgement benchmark: our endpoint against two baselines, same gunicorn, same run.

    .venv/bin/python bench/webhook_ack.py [--seconds 10] [--connections 50] [--workers 4] [--worker-class sync]

Serves the app with gunicorn on PostgreSQL + Redis (loopback only) and loads it
with wrk (Debian package `wrk`; installed if missing when run as root) posting
signed, real-shaped Instagram webhooks at 50 connections. Measures, in turn:
a bare Django view that answers 200, a minimal durable view (verify the
signature, insert the raw body as one row, answer 200), and /webhooks/meta/.
Prints requests/s, p50/p99 latency, and the ratios to both baselines.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import PYTHON, ROOT, environment, manage, recreate_database  # noqa: E402
from channels_app.meta.signature import sign  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "meta" / "text_message.json"
SECRET = "bench-app-secret"


def ensure_wrk():
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")


def lua_script(path: Path) -> Path:
    body = json.dumps(json.loads(FIXTURE.read_text()))
    script = path / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["X-Hub-Signature-256"] = "{sign(body.encode(), SECRET)}"\n'
    )
    return script


def run_wrk(url, script, seconds, connections):
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rate": rate,
        "p50": _millis(re.search(r"50%\s+([\d.]+\w+)", output).group(1)),
        "p99": _millis(re.search(r"99%\s+([\d.]+\w+)", output).group(1)),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


def _millis(text):
    value, unit = float(re.match(r"[\d.]+", text).group()), re.search(r"[a-z]+$", text).group()
    return value * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3, help="alternate the endpoints this many times; medians")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8171)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    ensure_wrk()

    env = environment(
        DATABASE_URL=recreate_database("bench_ack"),
        CELERY_BROKER_URL=args.redis,
        META_APP_SECRET=SECRET,
        ROOT_URLCONF="bench.urls",
        CONN_MAX_AGE=600,
    )
    manage(env, "migrate", "--noinput")
    command = [
        PYTHON,
        "-m",
        "gunicorn",
        "config.wsgi",
        "-b",
        f"127.0.0.1:{args.port}",
        "-w",
        str(args.workers),
        "-k",
        args.worker_class,
        "--log-level",
        "warning",
    ]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                urlopen(f"{base}/bench/bare/", timeout=1)  # noqa: S310 (loopback)
                break
            except OSError:
                time.sleep(0.2)
        with tempfile.TemporaryDirectory() as folder:
            script = lua_script(Path(folder))
            results = {}
            for name, path in [
                ("bare view", "/bench/bare/"),
                ("minimal durable view", "/bench/durable/"),
                ("webhook endpoint", "/webhooks/meta/"),
            ]:
                run_wrk(base + path, script, 2, args.connections)  # warm-up
                results[name] = run_wrk(base + path, script, args.seconds, args.connections)
    finally:
        server.terminate()
        server.wait(timeout=10)

    described = f"{args.worker_class}, {args.workers} workers" + (
        f" x {args.threads} threads" if args.worker_class == "gthread" else ""
    )
    print(f"gunicorn {described}; wrk {args.connections} connections; median of {args.rounds} x {args.seconds} s")
    print(f"{'endpoint':<24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for name, result in results.items():
        print(f"{name:<24}{result['rate']:>10.0f}{result['p50']:>10.2f}{result['p99']:>10.2f}{result['errors']:>10}")
    ours = results["webhook endpoint"]["rate"]
    print(f"ratio to the minimal durable view: {ours / results['minimal durable view']['rate']:.2f}  (goal >= 0.9)")
    print(f"ratio to the bare view:            {ours / results['bare view']['rate']:.2f}")
    print(f"webhook p99 ack latency:           {results['webhook endpoint']['p99']:.1f} ms  (goal < 50 ms)")


if __name__ == "__main__":
    main()
