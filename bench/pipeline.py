"""Webhook pipeline benchmark: deliveries in, items committed, with 1, 2, 4 ... worker processes.

    .venv/bin/python bench/pipeline.py [--workers 1,2,4] [--events 4000] [--customers 1000] [--per-delivery 4]
        [--duplicates 0.2] [--rate 50] [--steady-seconds 20] [--port 8172] [--redis redis://127.0.0.1:6379/7]

gunicorn (sync, 4 workers) serves the app on PostgreSQL + Redis; for each count in
--workers, that many separate `celery worker` processes (pool solo, the default queue)
plus one for the media queue process deliveries. Each count gets its own customers and
message ids in the same database, and runs:

1. Burst: --events customer-message events for --customers new customers, --per-delivery
   events per delivery, --duplicates of the deliveries posted twice, by 8 client threads
   as fast as the server takes them. Prints distinct events/s until every item is
   committed, the machine's CPU use meanwhile (/proc/stat), the Celery workers' CPU per
   event (/proc/<pid>/stat) and how often a backend of this database waited for a lock
   (pg_stat_activity sampled every 0.2 s).
2. Steady: one single-event delivery every 1/--rate seconds for --steady-seconds. A
   separate connection polls every 10 ms for the items; an item's time is when that
   connection first sees it, i.e. after its transaction committed (TimelineItem.created_at
   is stamped before Rules, SLA and the commit and would flatter the figure). Prints
   POST -> committed p50 / p95 / max.

The ratio of each count's burst rate to the 1-worker rate, from the same run, is the scale-out.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import (  # noqa: E402
    PYTHON,
    ROOT,
    FakeSendApi,
    apply_environment,
    environment,
    manage,
    recreate_database,
    start_workers,
    stop,
)
from channels_app.meta.signature import sign  # noqa: E402

SECRET = "bench-app-secret"
IG = "17841400000000001"
DATABASE = "bench_pipeline"
TICK = os.sysconf("SC_CLK_TCK")


def event(mid, customer, text):
    return {
        "sender": {"id": f"9{customer:015d}"},
        "recipient": {"id": IG},
        "timestamp": 1764037200000,
        "message": {"mid": mid, "text": text},
    }


def delivery(events):
    return json.dumps({"object": "instagram", "entry": [{"id": IG, "time": 1764037200000, "messaging": events}]})


def post(session, url, body):
    response = session.post(
        url,
        data=body.encode(),
        timeout=30,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body.encode(), SECRET)},
    )
    response.raise_for_status()


def machine_cpu():
    """(busy, total) jiffies of the whole machine."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def process_tree_cpu(pids):
    """utime + stime in seconds of these processes and their children (a celery worker's own)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


class Sampler(threading.Thread):
    """Counts, every 0.2 s, the backends of our database that wait for a heavyweight lock."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.samples, self.waiting, self.active, self.running = url, 0, 0, 0, True

    def run(self):
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            while self.running:
                rows = connection.execute(
                    "SELECT wait_event_type, count(*) FROM pg_stat_activity "
                    "WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid() GROUP BY 1",
                    [DATABASE],
                ).fetchall()
                self.samples += 1
                for kind, count in rows:
                    self.active += count
                    self.waiting += count if kind == "Lock" else 0
                time.sleep(0.2)


class CommitWatcher(threading.Thread):
    """Polls, on its own connection, for the items of the mids in `pending`; records when each is visible."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.pending, self.seen, self.lock, self.running = url, set(), {}, threading.Lock(), True

    def run(self):
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            while self.running:
                with self.lock:
                    pending = list(self.pending)
                if pending:
                    rows = connection.execute(
                        "SELECT external_id FROM conversations_timelineitem WHERE external_id = ANY(%s)", [pending]
                    ).fetchall()
                    now = time.time()
                    with self.lock:
                        for (mid,) in rows:
                            self.seen[mid] = now
                            self.pending.discard(mid)
                time.sleep(0.01)


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(q * len(values) + 0.999999) - 1))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4", help="worker-process counts to run, in turn")
    parser.add_argument("--events", type=int, default=4_000, help="distinct events per burst")
    parser.add_argument("--customers", type=int, default=1_000, help="new customers per burst")
    parser.add_argument("--per-delivery", type=int, default=4)
    parser.add_argument("--duplicates", type=float, default=0.2)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--steady-seconds", type=int, default=20)
    parser.add_argument("--port", type=int, default=8172)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    fake_meta = FakeSendApi()  # answers customer-profile look-ups like the Graph API
    database_url = recreate_database(DATABASE)
    env = environment(
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=args.redis,
        META_APP_SECRET=SECRET,
        CONN_MAX_AGE=600,
        META_GRAPH_URL=fake_meta.url,
    )
    manage(env, "migrate", "--noinput")
    apply_environment(env)
    import django

    django.setup()
    from channels_app.meta.models import InstagramAccount
    from channels_app.models import Channel, EntryPoint
    from config.celery import app
    from conversations.models import TimelineItem
    from inbox.models import Inbox

    app.control.purge()
    channel = Channel.objects.get(kind="messaging")
    channel.default_inbox = Inbox.objects.create(name="Instagram", channel=channel)
    channel.save()
    entry_point = EntryPoint.objects.create(channel=channel, kind="instagram", display_name="@bench", external_id=IG)
    InstagramAccount.objects.create(
        entry_point=entry_point,
        page_id="p1",
        page_name="Bench",
        ig_user_id=IG,
        username="bench",
        page_access_token="token",
    )
    psycopg_url = database_url.replace("postgres://", "postgresql://")
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{args.port}", "-w", "4", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{args.port}/webhooks/meta/"
    local = threading.local()

    def session():
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    for _ in range(100):
        try:
            requests.get(url, timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.2)
    results = []
    try:
        for k, count in enumerate(counts):
            app.control.purge()
            workers = start_workers(env, count)
            try:
                time.sleep(3)  # let the workers connect
                results.append(run_config(k, count, workers[:count], args, url, session, psycopg_url, TimelineItem))
            finally:
                stop(workers)
    finally:
        server.terminate()
        server.wait(timeout=10)
        fake_meta.close()

    base = results[0]["rate"]
    print(
        f"\n{os.cpu_count()} CPUs; gunicorn sync x 4; each burst {args.events} distinct events "
        f"({args.customers} new customers, {args.per_delivery} per delivery, {args.duplicates:.0%} of deliveries twice)"
    )
    print(
        f"{'workers':>7}{'events/s':>10}{'vs 1':>7}{'per worker':>12}{'machine CPU':>13}{'worker CPU ms/event':>21}"
        f"{'lock waits':>12}{'dup items':>10}{'steady p50':>12}{'p95':>7}{'max':>7}{'missing':>9}"
    )
    for r in results:
        print(
            f"{r['workers']:>7}{r['rate']:>10.1f}{r['rate'] / base:>7.2f}{r['rate'] / r['workers']:>12.1f}"
            f"{r['cpu']:>12.0%}{r['worker_ms']:>21.1f}{r['lock_waits']:>12.2f}{r['duplicates']:>10}"
            f"{r['p50']:>12.0f}{r['p95']:>7.0f}{r['max']:>7.0f}{r['missing']:>9}"
        )
    print(
        "machine CPU: busy share of all cores during the burst; lock waits: mean number of this database's "
        "backends waiting for a lock per sample; steady: POST -> item visible to another connection, ms, "
        f"{args.rate:g} events/s for {args.steady_seconds} s"
    )


def run_config(k, count, worker_processes, args, url, session, psycopg_url, TimelineItem):  # noqa: N803
    prefix = f"mid.p{k}."
    customer_base = (k + 1) * 1_000_000
    events = [event(f"{prefix}{n}", customer_base + n % args.customers, f"message {n}") for n in range(args.events)]
    chunks = [events[i : i + args.per_delivery] for i in range(0, len(events), args.per_delivery)]
    bodies = [delivery(chunk) for chunk in chunks]
    bodies += random.Random(7).sample(bodies, int(len(bodies) * args.duplicates))
    random.Random(8).shuffle(bodies)
    sampler = Sampler(psycopg_url)
    sampler.start()
    pids = [p.pid for p in worker_processes]
    cpu_before, machine_before = process_tree_cpu(pids), machine_cpu()
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda body: post(session(), url, body), bodies))
    posted = time.monotonic() - started
    items = TimelineItem.objects.filter(external_id__startswith=prefix)
    while items.count() < args.events and time.monotonic() - started < 900:
        time.sleep(0.2)
    done = time.monotonic() - started
    machine_after = machine_cpu()
    worker_cpu = process_tree_cpu(pids) - cpu_before
    sampler.running = False
    sampler.join()
    time.sleep(2)
    made = items.count()
    busy = (machine_after[0] - machine_before[0]) / max(machine_after[1] - machine_before[1], 1)
    rate = args.events / done
    print(
        f"[{count} worker(s)] burst: {len(bodies)} deliveries acknowledged in {posted:.1f} s; "
        f"{made} items after {done:.1f} s = {rate:.1f} distinct events/s; CPU busy {busy:.0%}"
    )

    # Steady: POST -> item visible to a separate connection (committed).
    watcher = CommitWatcher(psycopg_url)
    watcher.start()
    sent = {}
    interval = 1 / args.rate
    n = args.events
    deadline = time.monotonic() + args.steady_seconds
    next_at = time.monotonic()
    while time.monotonic() < deadline:
        mid = f"{prefix}{n}"
        with watcher.lock:
            watcher.pending.add(mid)
        sent[mid] = time.time()
        post(session(), url, delivery([event(mid, customer_base + n % args.customers, f"message {n}")]))
        n += 1
        next_at += interval
        time.sleep(max(0, next_at - time.monotonic()))
    settle = time.monotonic() + 30
    while watcher.pending and time.monotonic() < settle:
        time.sleep(0.1)
    watcher.running = False
    watcher.join()
    latencies = sorted((watcher.seen[mid] - at) * 1000 for mid, at in sent.items() if mid in watcher.seen)
    result = {
        "workers": count,
        "rate": rate,
        "cpu": busy,
        "worker_ms": worker_cpu / args.events * 1000,
        "lock_waits": sampler.waiting / max(sampler.samples, 1),
        "duplicates": made - args.events,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": percentile(latencies, 0.95) if latencies else float("nan"),
        "max": latencies[-1] if latencies else float("nan"),
        "missing": len(sent) - len(latencies),
    }
    print(
        f"[{count} worker(s)] steady: {len(sent)} events at {args.rate:g}/s; POST -> committed p50 "
        f"{result['p50']:.0f} ms, p95 {result['p95']:.0f} ms, max {result['max']:.0f} ms, missing {result['missing']}"
    )
    return result


if __name__ == "__main__":
    main()
