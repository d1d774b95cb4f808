"""Webhook acknowledgement benchmark: our endpoint against two baselines, same gunicorn, same run.

    .venv/bin/python bench/webhook_ack.py [--rounds 8] [--seconds 3] [--connections 50] [--workers 4]
        [--worker-class sync] [--threads 4] [--open-rounds 4] [--open-seconds 10] [--load 0.5]
        [--open-processes 2] [--port 8171] [--database bench_ack] [--redis redis://127.0.0.1:6379/5]
        [--drainer | --no-drainer]

Serves the app with gunicorn on PostgreSQL + Redis (loopback only) and posts signed,
real-shaped Instagram webhooks to three views of the same server: a bare Django view
that answers 200, a minimal durable view (verify the signature, insert the raw body as
one row, answer 200) and /webhooks/meta/. The endpoint does not publish to the broker:
the workers' drainer (channels_app/meta/dispatch.py) hands its rows over. With --drainer
(the default) one runs beside the server as in production (bench/_ack_drainer.py, no
processing: the tasks wait in the run's own queue), so its polls and publishes compete
for the same CPUs; only the endpoint's rows are handed over (the durable view stores
its rows as already dealt with), so that cost counts against the endpoint.

1. Throughput, closed loop (wrk, --connections): --rounds rounds of --seconds each;
   every round runs all three views, the order rotating each round (ABC, BCA, CAB, ...).
   Prints the median and range of requests/s per view, of the per-round ratio
   endpoint / durable view, and CPU per request (utime + stime of the gunicorn workers
   from /proc/<pid>/stat, divided by the requests wrk completed).
2. Latency, open loop (bench/_openloop.py): a constant rate of --load x the durable
   view's median throughput from part 1, --open-rounds rounds of --open-seconds,
   durable view and endpoint alternating; latency from each request's intended send
   time (coordinated-omission-correct). Prints p50 / p95 / p99 / p99.9 / max and the goal p99 < 50 ms.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _openloop  # noqa: E402
from bench._harness import PYTHON, ROOT, environment, manage, recreate_database, stop  # noqa: E402
from channels_app.meta.signature import sign  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "meta" / "text_message.json"
SECRET = "bench-app-secret"
VIEWS = [
    ("bare view", "/bench/bare/"),
    ("minimal durable view", "/bench/durable/"),
    ("webhook endpoint", "/webhooks/meta/"),
]
TICK = os.sysconf("SC_CLK_TCK")


def ensure_wrk():
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL)
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")


def lua_script(path: Path, body: str) -> Path:
    script = path / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["X-Hub-Signature-256"] = "{sign(body.encode(), SECRET)}"\n'
    )
    return script


def worker_pids(master_pid):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == master_pid:  # field 4, ppid
                pids.append(int(entry))
    return pids


def cpu_seconds(pids):
    """utime + stime (fields 14 and 15) of these processes, in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def run_wrk(url, script, seconds, connections):
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "errors": (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, errors.groups())) if errors else 0),
    }


def purge_queue(env):
    """Drop the tasks the drainer published into this run's own queue (nothing consumes them)."""
    import redis

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).delete(env["CELERY_QUEUE_PREFIX"] + "celery")


def endpoint_rows(database_url):
    """Rows the endpoint stored, and how many of them the drainer has not handed over."""
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as connection:
        return connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE handed_over_at IS NULL) FROM channels_app_webhookevent"
            " WHERE status <> 'ignored'"
        ).fetchone()


def spread(values, fmt="{:.0f}"):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8, help="closed-loop rounds; each runs all three views")
    parser.add_argument("--seconds", type=int, default=3, help="length of one view's closed-loop run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread only)")
    parser.add_argument("--open-rounds", type=int, default=4, help="open-loop rounds, durable and endpoint each")
    parser.add_argument("--open-seconds", type=float, default=10)
    parser.add_argument("--load", type=float, default=0.5, help="open-loop rate as a share of durable capacity")
    parser.add_argument("--open-processes", type=int, default=2, help="processes of the open-loop generator")
    parser.add_argument("--port", type=int, default=8171)
    parser.add_argument("--database", default="bench_ack", help="PostgreSQL database, dropped and created")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    parser.add_argument(
        "--drainer", action=argparse.BooleanOptionalAction, default=True, help="run the workers' drainer beside"
    )
    args = parser.parse_args()
    ensure_wrk()

    env = environment(
        DATABASE_URL=recreate_database(args.database),
        CELERY_BROKER_URL=args.redis,
        META_APP_SECRET=SECRET,
        ROOT_URLCONF="bench.urls",
        CONN_MAX_AGE=600,
    )
    manage(env, "migrate", "--noinput")
    command = [PYTHON, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{args.port}", "-w", str(args.workers)]
    command += ["-k", args.worker_class, "--log-level", "warning"]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    drainer = None
    if args.drainer:
        drainer = subprocess.Popen(
            [PYTHON, "-m", "bench._ack_drainer"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
    base = f"http://127.0.0.1:{args.port}"
    body = json.dumps(json.loads(FIXTURE.read_text()))
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body.encode(), SECRET)}
    closed = {name: [] for name, _ in VIEWS}
    cpu = {name: [] for name, _ in VIEWS}
    errors = {name: 0 for name, _ in VIEWS}
    ratios = []
    opened = {name: [] for name in ("minimal durable view", "webhook endpoint")}
    open_p99 = {name: [] for name in opened}
    open_failures = {name: 0 for name in opened}
    try:
        for _ in range(100):
            try:
                urlopen(f"{base}/bench/bare/", timeout=1)  # noqa: S310 (loopback)
                break
            except OSError:
                time.sleep(0.2)
        pids = worker_pids(server.pid)
        with tempfile.TemporaryDirectory() as folder:
            script = lua_script(Path(folder), body)
            for _, path in VIEWS:
                run_wrk(base + path, script, 2, args.connections)  # warm-up
            for round_number in range(args.rounds):
                shift = round_number % len(VIEWS)
                this_round = {}
                for name, path in VIEWS[shift:] + VIEWS[:shift]:
                    before = cpu_seconds(pids)
                    result = run_wrk(base + path, script, args.seconds, args.connections)
                    used = cpu_seconds(pids) - before
                    closed[name].append(result["rate"])
                    cpu[name].append(used / max(result["requests"], 1) * 1000)
                    errors[name] += result["errors"]
                    this_round[name] = result["rate"]
                ratios.append(this_round["webhook endpoint"] / this_round["minimal durable view"])

        rate = args.load * statistics.median(closed["minimal durable view"])
        for round_number in range(args.open_rounds):
            pair = list(opened)
            if round_number % 2:
                pair.reverse()
            for name in pair:
                path = dict(VIEWS)[name]
                latencies, failures, _ = _openloop.run(
                    base + path, body.encode(), headers, rate, args.open_seconds, args.open_processes
                )
                opened[name] += latencies
                open_p99[name].append(_openloop.percentile(latencies, 0.99))
                open_failures[name] += failures
    finally:
        stop([server])
        drained = None
        if drainer is not None:
            drainer.terminate()
            drained = json.loads(drainer.communicate(timeout=30)[0].strip().splitlines()[-1])
        purge_queue(env)
    stored, waiting = endpoint_rows(env["DATABASE_URL"])

    described = f"{args.worker_class}, {args.workers} workers" + (
        f" x {args.threads} threads" if args.worker_class == "gthread" else ""
    )
    print(f"gunicorn {described}; {os.cpu_count()} CPUs")
    print(
        f"1. closed loop: wrk {args.connections} connections, {args.rounds} rounds x {args.seconds} s per view, "
        "order rotating; median (min-max)"
    )
    print(f"{'view':<24}{'req/s':>22}{'CPU ms/request':>24}{'errors':>8}")
    for name, _ in VIEWS:
        print(f"{name:<24}{spread(closed[name]):>22}{spread(cpu[name], '{:.2f}'):>24}{errors[name]:>8}")
    print(f"ratio endpoint / durable, per round: {spread(ratios, '{:.2f}')}  (goal >= 0.95)")
    print(
        f"ratio endpoint / bare (medians):     "
        f"{statistics.median(closed['webhook endpoint']) / statistics.median(closed['bare view']):.2f}"
    )
    cpu_ratio = statistics.median(cpu["webhook endpoint"]) / statistics.median(cpu["minimal durable view"])
    print(f"CPU per request, endpoint / durable: {cpu_ratio:.2f}")
    print(
        f"2. open loop: {rate:.0f} requests/s constant ({args.load:g} x the durable view's median), "
        f"{args.open_rounds} rounds x {args.open_seconds:g} s per view, alternating; "
        "latency from the intended send time"
    )
    print(
        f"{'view':<24}{'requests':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'p99.9 ms':>10}{'max ms':>10}"
        f"{'failed':>8}"
    )
    for name, latencies in opened.items():
        latencies.sort()
        p = [_openloop.percentile(latencies, q) for q in (0.5, 0.95, 0.99, 0.999)]
        print(
            f"{name:<24}{len(latencies):>10}{p[0]:>10.1f}{p[1]:>10.1f}{p[2]:>10.1f}{p[3]:>10.1f}"
            f"{latencies[-1]:>10.1f}{open_failures[name]:>8}"
        )
    ours = _openloop.percentile(opened["webhook endpoint"], 0.99)
    print("per-round p99 ms: " + "; ".join(f"{n} {spread(v, '{:.1f}')}" for n, v in open_p99.items()))
    print(f"ratio of p99, endpoint / durable: {ours / _openloop.percentile(opened['minimal durable view'], 0.99):.2f}")
    print(f"goal p99 < 50 ms at {args.load:g} x durable capacity: {'met' if ours < 50 else 'NOT met'} ({ours:.1f} ms)")
    if drained is None:
        print("3. drainer: not run (--no-drainer)")
    else:
        print(
            f"3. drainer (in the Celery workers in production): handed over {drained['handed_over']} rows "
            f"of the {stored} the endpoint stored ({waiting} left not handed over), "
            f"{drained['cpu_seconds'] / max(drained['handed_over'], 1) * 1000:.3f} ms CPU per row, "
            f"{drained['cpu_seconds']:.1f} s CPU in all (polls included)"
        )


if __name__ == "__main__":
    main()
