"""Events/s per worker, today's code against the code before the inbound query cuts, same run.

    .venv/bin/python bench/pipeline_compare.py [--old-commit bc19fa3] [--pairs 3] [--events 1200]
        [--customers 400] [--per-delivery 4] [--duplicates 0.2] [--redis redis://127.0.0.1:6379/6]
        [--database bench_h6_pipeline] [--profile DIR]

"Old" is --old-commit and "new" --new-commit (default HEAD: today's committed code), each
checked out into a temporary git worktree (removed at the end), so edits to this tree
during a run change neither. Each has its own PostgreSQL database (<database>_old /
_new, migrated by its own code: the schemas differ), its own Celery queues on the same
Redis, its own gunicorn (sync, 2 workers) and one media-queue worker, and the same
configuration, that of tests/performance/test_inbound_queries.py: an available agent in
the default Inbox, Business Hours with an auto-reply (open all week, so every message
arrives inside hours, as the test's Monday noon does) and three Rules.

A round, for one version: --events customer-message events (new customers and follow-ups,
--customers new ones, --per-delivery per delivery, --duplicates of the deliveries
posted twice) are posted to its gunicorn while no worker takes its default queue, so
the queue holds the whole burst; then ONE `celery worker` (pool solo) starts on it. The
rate is events / time from the first item committed to the last (a separate connection
polls every 50 ms; worker start-up is not counted); worker CPU ms per event is the
worker process's utime + stime over the same interval. Rounds alternate old, new, new,
old, ... (ABBA pairs, so neither version always goes first), --pairs pairs.

--profile DIR: afterwards one more round of each version with the worker under cProfile;
the stats go to DIR/old.prof and DIR/new.prof and the top functions are printed.
"""

import argparse
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import PYTHON, ROOT, FakeSendApi, environment, recreate_database, stop  # noqa: E402
from bench.pipeline import IG, SECRET, TICK, delivery, event, post  # noqa: E402

# The configuration of tests/performance/test_inbound_queries.py, run by each version's own code.
SETUP = f"""
import datetime

import django

django.setup()
from channels_app.models import Channel
from conversations.models import Rule
from tests.conversations.helpers import make_business_hours
from tests.factories import make_available, make_entry_point, make_inbox, make_instagram_account, make_user

messaging = Channel.objects.get(kind=Channel.Kind.MESSAGING)
agent = make_user()
inbox = make_inbox(default=True, members=[agent])
make_available(agent)
inbox.business_hours = make_business_hours(
    days=range(7), opens=datetime.time(0), closes=datetime.time(23, 59, 59), auto_reply_text="We are closed now."
)
inbox.save()
account = make_instagram_account(
    make_entry_point(external_id="{IG}"), token="token", page_id="p1", page_name="Bench", username="bench"
)
Rule.objects.create(name="refunds", channel=messaging, words="refund, money back", note_text="Refund question")
Rule.objects.create(name="vip", entry_point=account.entry_point, words="vip", note_text="VIP")
Rule.objects.create(name="weekend", channel=messaging, hours=Rule.Hours.OUTSIDE, note_text="Outside hours")
"""


def worker_cpu(pid):
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


class Version:
    """One version of the code: its tree, database, queues, web server and media worker."""

    def __init__(self, name, tree, database, args, fake_meta, port):
        self.name, self.tree, self.args, self.rounds = name, Path(tree), args, 0
        self.url = recreate_database(database)
        self.psycopg_url = self.url.replace("postgres://", "postgresql://")
        self.env = environment(
            DATABASE_URL=self.url,
            CELERY_BROKER_URL=args.redis,
            # Live updates on the bench's Redis db too (the app would derive db 2 from the broker's URL).
            CHANNEL_LAYER_URL=args.redis,
            META_APP_SECRET=SECRET,
            CONN_MAX_AGE=600,
            META_GRAPH_URL=fake_meta.url,
        )
        self.env["PYTHONPATH"] = str(self.tree)
        self.env["CELERY_QUEUE_PREFIX"] += f"{name}."
        # Retried: on a shared server other sessions' suites sometimes take every connection for a moment.
        for _ in range(5):
            migrated = subprocess.run(
                [PYTHON, "manage.py", "migrate", "--noinput"], cwd=self.tree, env=self.env, stdout=subprocess.DEVNULL
            )
            if migrated.returncode == 0:
                break
            time.sleep(5)
        migrated.check_returncode()
        subprocess.run([PYTHON, "-c", SETUP], cwd=self.tree, env=self.env, check=True)
        self.port, self.web, self.media = port, None, None

    def start(self):
        port = self.port
        self.web = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--log-level", "warning"],
            cwd=self.tree,
            env=self.env,
        )
        self.webhook_url = f"http://127.0.0.1:{port}/webhooks/meta/"
        self.media = self.worker("media")
        for _ in range(150):
            try:
                requests.get(self.webhook_url, timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)

    def worker(self, queue, profile_to=None):
        prefix = self.env["CELERY_QUEUE_PREFIX"]
        command = [PYTHON, "-m", "cProfile", "-o", str(profile_to)] if profile_to else [PYTHON]
        log = open(f"/tmp/bench-h6-{self.name}-{queue}.log", "a")  # noqa: SIM115
        return subprocess.Popen(
            [
                *command,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                f"--queues={prefix}{queue}",
                "--pool=solo",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"h6{self.name}{queue}{self.rounds}@%h",
            ],
            cwd=self.tree,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def round(self, profile_to=None):
        """Post a burst with no worker on the queue, then one worker drains it; returns the figures."""
        args = self.args
        self.rounds += 1
        prefix = f"mid.r{self.rounds}{'p' if profile_to else ''}."
        base = self.rounds * 1_000_000
        events = [event(f"{prefix}{n}", base + n % args.customers, f"message {n}") for n in range(args.events)]
        chunks = [events[i : i + args.per_delivery] for i in range(0, len(events), args.per_delivery)]
        bodies = [delivery(chunk) for chunk in chunks]
        bodies += random.Random(7).sample(bodies, int(len(bodies) * args.duplicates))
        random.Random(8).shuffle(bodies)
        local = threading.local()

        def send(body):
            if not hasattr(local, "session"):
                local.session = requests.Session()
            post(local.session, self.webhook_url, body)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, bodies))
        count_sql = "SELECT count(*) FROM conversations_timelineitem WHERE external_id LIKE %s"
        with psycopg.connect(self.psycopg_url, autocommit=True) as connection:
            time.sleep(1)  # let the last acknowledged deliveries' tasks reach the broker
            worker = self.worker("celery", profile_to)
            try:
                seen, first_at, cpu_first, deadline = 0, None, 0.0, time.monotonic() + 1200
                while seen < args.events and time.monotonic() < deadline:
                    seen = connection.execute(count_sql, [prefix + "%"]).fetchone()[0]
                    now, cpu = time.monotonic(), worker_cpu(worker.pid)
                    if first_at is None and seen:
                        first_at, first_seen, cpu_first = now, seen, cpu
                    time.sleep(0.05)
                last_at, cpu_last = now, cpu
            finally:
                stop([worker])
            time.sleep(1)
            made = connection.execute(count_sql, [prefix + "%"]).fetchone()[0]
        drained = args.events - first_seen
        return {
            "rate": drained / (last_at - first_at),
            "cpu_ms": (cpu_last - cpu_first) / drained * 1000,
            "seconds": last_at - first_at,
            "duplicates": made - args.events,
            "complete": seen >= args.events,
        }

    def close(self):
        if self.media:
            stop([self.media])
        if self.web:
            self.web.terminate()
            self.web.wait(timeout=10)


# Where a worker's time goes, from its cProfile stats: (label, file fragment, function name), cumulative seconds.
BREAKDOWN = [
    ("Celery runs a task (trace_task)", "celery/app/trace.py", "trace_task"),
    ("  the job: process_webhook_event", "channels_app/meta/processing.py", "process_webhook_event"),
    ("  SQL statements: send + wait for PostgreSQL", "django/db/backends/utils.py", "_execute"),
    ("    of which COMMIT", "django/db/backends/base/base.py", "_commit"),
    ("  ORM: compile SQL", "django/db/models/sql/compiler.py", "as_sql"),
    ("  ORM: build model objects from rows", "django/db/models/base.py", "from_db"),
    ("  signals (receivers: routing, SLA, Rules, live updates)", "django/dispatch/dispatcher.py", "send"),
    ("  publish to the broker (kombu)", "kombu/messaging.py", "publish"),
    ("  JSON decode", "json/decoder.py", "decode"),
]


def breakdown(path):
    """Cumulative seconds per item of BREAKDOWN, per event processed, from a cProfile file."""
    stats = pstats.Stats(str(path)).stats
    found = {}
    for (filename, _, function), (_, calls, _, cumulative, _) in stats.items():
        for label, fragment, name in BREAKDOWN:
            if function == name and filename.endswith(fragment):
                found.setdefault(label, [0, 0.0])
                found[label][0] += calls
                found[label][1] += cumulative
    return {label: found.get(label, [0, 0.0]) for label, _, _ in BREAKDOWN}


def print_breakdowns(paths, events):
    """One column per profile: ms per event and calls per event of each BREAKDOWN item."""
    tables = {name: breakdown(path) for name, path in paths.items()}
    print(f"{'cumulative, per event':58}" + "".join(f"{name + ' ms':>10}{'calls':>7}" for name in tables))
    for label, _, _ in BREAKDOWN:
        row = "".join(
            f"{tables[name][label][1] / events * 1000:>10.2f}{tables[name][label][0] / events:>7.1f}" for name in tables
        )
        print(f"{label:58}{row}")


def summary(values):
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old-commit", default="bc19fa3", help="today's code before the inbound query cuts")
    parser.add_argument("--new-commit", default="HEAD", help="today's code")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--events", type=int, default=1200, help="distinct events per round")
    parser.add_argument("--customers", type=int, default=400, help="new customers per round")
    parser.add_argument("--per-delivery", type=int, default=4)
    parser.add_argument("--duplicates", type=float, default=0.2)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--database", default="bench_h6_pipeline")
    parser.add_argument("--profile", metavar="DIR", help="then one round of each under cProfile, stats into DIR")
    args = parser.parse_args()

    trees, commits = {}, {}
    for name, commit in (("old", args.old_commit), ("new", args.new_commit)):
        trees[name] = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        subprocess.run(["git", "worktree", "add", "--detach", str(trees[name]), commit], cwd=ROOT, check=True)
        commits[name] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=trees[name], capture_output=True, text=True
        ).stdout.strip()
    fake_meta = FakeSendApi()
    versions = {}
    try:
        versions["old"] = Version("old", trees["old"], f"{args.database}_old", args, fake_meta, 8181)
        versions["new"] = Version("new", trees["new"], f"{args.database}_new", args, fake_meta, 8182)
        for version in versions.values():
            version.start()
        results = {"old": [], "new": []}
        for pair in range(args.pairs):
            order = ("old", "new") if pair % 2 == 0 else ("new", "old")
            for name in order:
                result = versions[name].round()
                results[name].append(result)
                print(
                    f"pair {pair + 1} {name}: {result['rate']:.1f} events/s, worker CPU {result['cpu_ms']:.1f} "
                    f"ms/event, {result['seconds']:.1f} s, duplicates {result['duplicates']}, complete "
                    f"{result['complete']}; loadavg {Path('/proc/loadavg').read_text().strip()}",
                    flush=True,
                )
        print(
            f"\none worker (pool solo) per version; {args.events} distinct events per round ({args.customers} new "
            f"customers, {args.per_delivery} per delivery, {args.duplicates:.0%} of deliveries twice); "
            f"{args.pairs} pairs, order alternating; old = {commits['old']}, new = {commits['new']}"
        )
        print(f"{'':6}{'events/s per worker':>26}{'worker CPU ms/event':>26}")
        for name in ("old", "new"):
            rates = [r["rate"] for r in results[name]]
            cpu = [r["cpu_ms"] for r in results[name]]
            print(f"{name:6}{summary(rates):>26}{summary(cpu):>26}")
        ratios = [n["rate"] / o["rate"] for o, n in zip(results["old"], results["new"], strict=True)]
        cpu_ratios = [o["cpu_ms"] / n["cpu_ms"] for o, n in zip(results["old"], results["new"], strict=True)]
        print(f"ratio new / old events/s, per pair: {summary(ratios)}  (goal >= 3)")
        print(f"ratio old / new worker CPU per event, per pair: {summary(cpu_ratios)}")
        rounds = [r for rs in results.values() for r in rs]
        dups = sum(r["duplicates"] for r in rounds)
        print(f"duplicate items: {dups}; every round complete: {all(r['complete'] for r in rounds)}")
        if args.profile:
            directory = Path(args.profile)
            directory.mkdir(parents=True, exist_ok=True)
            for name in ("old", "new"):
                path = directory / f"{name}.prof"
                result = versions[name].round(profile_to=path)
                print(f"\nprofiled {name}: {result['rate']:.1f} events/s under cProfile (whole worker process)")
                stats = pstats.Stats(str(path))
                # Where a task's time goes: the app's functions by cumulative time, then everything by own time.
                stats.sort_stats("cumulative").print_stats(r"(conversations|channels_app|inbox)/.*\.py", 30)
                stats.sort_stats("tottime").print_stats(15)
            print(f"\nwhere the time goes (cProfile, whole worker process; {args.events} events each):")
            print_breakdowns({name: directory / f"{name}.prof" for name in ("old", "new")}, args.events)
    finally:
        for version in versions.values():
            version.close()
        fake_meta.close()
        for tree in trees.values():
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
