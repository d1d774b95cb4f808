"""Email ingest benchmark: messages/s from SMTP accept to timeline item committed, vs the webhook pipeline.

    .venv/bin/python bench/email_ingest.py [--messages 300] [--pairs 3] [--senders 4]

The app runs as in production on PostgreSQL (its own database `bench_email`) and Redis
(db 7 by default): the SMTP receiver (`manage.py run_smtp_receiver`), gunicorn (sync,
4 workers) for the Instagram webhook, and `--workers` separate `celery worker`
processes on the default queue (plus one for the `media` queue, as pipeline.py has).
Its queues have a prefix of their own (CELERY_QUEUE_PREFIX), so another benchmark or a
dev worker on the same Redis database never takes its tasks, nor it theirs.

Rounds alternate email, webhook, email, webhook... (`--pairs` pairs, after one warm-up
pair of `--warmup` messages each). In each round `--senders` client threads hand over
`--messages` customer messages, each from a new customer (a new conversation and one
timeline item each):
- email: over SMTP to the receiver, one connection per thread, each message answered 250;
- webhook: one signed Instagram delivery per message, POSTed to /webhooks/meta/ (answered 200).
A separate PostgreSQL connection polls the timeline table every `--poll-ms` ms for the
round's items and notes when it first sees each one, so the figures are what another
transaction (the inbox's changes endpoint) can read, not the rows' created_at. A round's
rate = messages / (last item seen - first message handed over); its latency is, per
message, accepted (250 / 200 received by the client) to item seen.
"""

import argparse
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
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
from bench.pipeline import IG, SECRET, delivery, post  # noqa: E402

ADDRESS = "support@bench.example"
ROUND_TIMEOUT = 120  # seconds for one round's items to appear


class Observer:
    """Polls the timeline table on its own connection; remembers when each expected item was first seen.

    It asks for the expected external ids themselves: a scan of ids above the last one seen would
    miss a row whose transaction commits after one with a higher id."""

    def __init__(self, database_url: str, table: str, poll_seconds: float):
        import psycopg

        self.connection = psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True)
        self.query = f"SELECT external_id FROM {table} WHERE entry_point_id = %s AND external_id = ANY(%s)"  # noqa: S608
        self.poll_seconds = poll_seconds
        self.pending = {}  # entry point id -> set of external ids not seen yet
        self.seen = {}  # external_id -> monotonic time first seen
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def expect(self, entry_point_id: int, external_ids) -> None:
        """Watch for these items (call before handing the messages over)."""
        with self.lock:
            self.pending.setdefault(entry_point_id, set()).update(external_ids)

    def _run(self):
        while not self.stopped.is_set():
            with self.lock:
                pending = {entry_point_id: list(ids) for entry_point_id, ids in self.pending.items() if ids}
            for entry_point_id, external_ids in pending.items():
                found = [row[0] for row in self.connection.execute(self.query, [entry_point_id, external_ids])]
                now = time.monotonic()
                with self.lock:
                    for external_id in found:
                        self.seen.setdefault(external_id, now)
                    self.pending[entry_point_id].difference_update(found)
            self.stopped.wait(self.poll_seconds)

    def wait_for(self, external_ids, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(external_id in self.seen for external_id in external_ids):
                    return {external_id: self.seen[external_id] for external_id in external_ids}
            time.sleep(self.poll_seconds)
        with self.lock:
            missing = [external_id for external_id in external_ids if external_id not in self.seen]
        raise RuntimeError(f"{len(missing)} of {len(external_ids)} items not seen within {timeout} s")

    def close(self):
        self.stopped.set()
        self.thread.join()
        self.connection.close()


def email_message(round_name: str, n: int) -> tuple[str, EmailMessage]:
    message_id = f"<{round_name}.{n}@customers.bench.example>"
    message = EmailMessage()
    message["From"] = f"Customer {n} <customer.{round_name}.{n}@customers.bench.example>"
    message["To"] = f"Bench Support <{ADDRESS}>"
    message["Subject"] = f"Order question {n}"
    message["Message-ID"] = message_id
    message.set_content(f"Hello, where is my order {n}? Thanks.\n")
    return message_id, message


def run_email_round(observer, entry_point_id, round_name, count, senders, host, port):
    """Send `count` messages over `senders` SMTP connections; returns (external ids, start, accepted times)."""
    messages = [email_message(round_name, n) for n in range(count)]
    observer.expect(entry_point_id, [message_id for message_id, _ in messages])
    accepted = {}
    started = time.monotonic()

    def send(share):
        with smtplib.SMTP(host, port, timeout=30) as client:
            for message_id, message in share:
                client.send_message(message)
                accepted[message_id] = time.monotonic()

    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(send, [messages[i::senders] for i in range(senders)]))
    return [message_id for message_id, _ in messages], started, accepted


def run_webhook_round(observer, entry_point_id, round_name, count, senders, url):
    """POST `count` one-message deliveries from `senders` threads; returns (external ids, start, accepted times)."""
    customer_base = int(uuid.uuid4().int % 10**9) * 1000
    bodies = []
    for n in range(count):
        mid = f"mid.{round_name}.{n}"
        event = {
            "sender": {"id": str(9 * 10**15 + customer_base + n)},
            "recipient": {"id": IG},
            "timestamp": 1764037200000 + n,
            "message": {"mid": mid, "text": f"Hello, where is my order {n}? Thanks."},
        }
        bodies.append((mid, delivery([event])))
    observer.expect(entry_point_id, [mid for mid, _ in bodies])
    accepted = {}
    local = threading.local()
    started = time.monotonic()

    def send(item):
        mid, body = item
        if not hasattr(local, "session"):
            local.session = requests.Session()
        post(local.session, url, body)
        accepted[mid] = time.monotonic()

    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(send, bodies))
    return [mid for mid, _ in bodies], started, accepted


def measure(observer, external_ids, started, accepted):
    seen = observer.wait_for(external_ids, ROUND_TIMEOUT)
    elapsed = max(seen.values()) - started
    latencies = sorted(seen[external_id] - accepted[external_id] for external_id in external_ids)
    return {
        "rate": len(external_ids) / elapsed,
        "elapsed": elapsed,
        "p50": statistics.median(latencies),
        "p95": latencies[max(int(len(latencies) * 0.95) - 1, 0)],
    }


def wait_for_port(host, port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout} s")


def describe(name, results):
    rates = [result["rate"] for result in results]
    p50s = [result["p50"] * 1000 for result in results]
    print(
        f"  {name:8} median {statistics.median(rates):6.1f} msg/s (range {min(rates):.1f}-{max(rates):.1f}); "
        f"accept to item p50 median {statistics.median(p50s):.0f} ms (range {min(p50s):.0f}-{max(p50s):.0f})"
    )
    return statistics.median(rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=300, help="messages per round")
    parser.add_argument("--pairs", type=int, default=3, help="email+webhook round pairs measured")
    parser.add_argument("--warmup", type=int, default=50, help="messages per warm-up round (one pair, not counted)")
    parser.add_argument("--senders", type=int, default=4, help="client threads (SMTP connections / HTTP sessions)")
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes on the default queue")
    parser.add_argument("--poll-ms", type=float, default=10, help="how often the observer polls the timeline")
    parser.add_argument("--smtp-port", type=int, default=2625)
    parser.add_argument("--port", type=int, default=8173, help="gunicorn's port (the webhook)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    args = parser.parse_args()

    fake_meta = FakeSendApi()  # answers customer-profile look-ups like the Graph API
    outbox = tempfile.mkdtemp(prefix="bench-email-outbox-")
    database_url = recreate_database("bench_email")
    prefix = f"bench-email-{uuid.uuid4().hex[:8]}."
    env = environment(
        CELERY_QUEUE_PREFIX=prefix,
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=args.redis,
        META_APP_SECRET=SECRET,
        CONN_MAX_AGE=600,
        META_GRAPH_URL=fake_meta.url,
        MAIL_RECEIVER_HOST="127.0.0.1",
        MAIL_RECEIVER_PORT=args.smtp_port,
        EMAIL_FILE_PATH=outbox,
    )
    manage(env, "migrate", "--noinput")
    apply_environment(env)
    import django

    django.setup()
    from channels_app.mail.models import EmailAddress
    from channels_app.meta.models import InstagramAccount
    from channels_app.models import Channel, EntryPoint
    from conversations.models import TimelineItem
    from inbox.models import Inbox

    for kind, name in ((Channel.Kind.MESSAGING, "Instagram"), (Channel.Kind.EMAIL, "Email")):
        channel, _ = Channel.objects.get_or_create(kind=kind)
        channel.default_inbox = Inbox.objects.create(name=name, channel=channel)
        channel.save()
    instagram = EntryPoint.objects.create(
        channel=Channel.objects.get(kind=Channel.Kind.MESSAGING),
        kind="instagram",
        display_name="@bench",
        external_id=IG,
    )
    InstagramAccount.objects.create(
        entry_point=instagram, page_id="p1", page_name="Bench", ig_user_id=IG, username="bench", page_access_token="t"
    )
    mail_entry_point = EntryPoint.objects.create(
        channel=Channel.objects.get(kind=Channel.Kind.EMAIL),
        kind=EntryPoint.Kind.EMAIL_ADDRESS,
        display_name=ADDRESS,
        external_id=ADDRESS,
    )
    EmailAddress.objects.create(entry_point=mail_entry_point, address=ADDRESS, display_name="Bench Support")

    log_dir = Path(tempfile.mkdtemp(prefix="bench-email-logs-"))
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{args.port}", "-w", "4", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    receiver = subprocess.Popen(
        [PYTHON, "manage.py", "run_smtp_receiver", "--host", "127.0.0.1", "--port", str(args.smtp_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    workers = start_workers(env, args.workers, log_dir=log_dir, queues=f"{prefix}celery", media_worker=False)
    (log_dir / "media").mkdir()
    workers += start_workers(env, 1, log_dir=log_dir / "media", queues=f"{prefix}media", media_worker=False)
    observer = None
    url = f"http://127.0.0.1:{args.port}/webhooks/meta/"
    try:
        wait_for_port("127.0.0.1", args.port)
        wait_for_port("127.0.0.1", args.smtp_port)
        time.sleep(3)  # the workers connect to the broker
        observer = Observer(database_url, TimelineItem._meta.db_table, args.poll_ms / 1000)

        def email_round(name, count):
            return measure(
                observer,
                *run_email_round(observer, mail_entry_point.pk, name, count, args.senders, "127.0.0.1", args.smtp_port),
            )

        def webhook_round(name, count):
            return measure(observer, *run_webhook_round(observer, instagram.pk, name, count, args.senders, url))

        print(
            f"email ingest vs webhook pipeline: {args.pairs} pairs of rounds (email, webhook, ...), "
            f"{args.messages} messages per round, each from a new customer; {args.senders} client threads; "
            f"{args.workers} celery workers (+1 media); observer polls every {args.poll_ms:g} ms; "
            f"warm-up pair of {args.warmup}"
        )
        run_id = uuid.uuid4().hex[:6]
        email_round(f"warm-email-{run_id}", args.warmup)
        webhook_round(f"warm-webhook-{run_id}", args.warmup)
        results = {"email": [], "webhook": []}
        for pair in range(args.pairs):
            for name, round_function in (("email", email_round), ("webhook", webhook_round)):
                result = round_function(f"{name}-{run_id}-{pair}", args.messages)
                results[name].append(result)
                print(
                    f"  pair {pair + 1} {name:7}: {result['rate']:6.1f} msg/s ({args.messages} in "
                    f"{result['elapsed']:.2f} s); accept to item p50 {result['p50'] * 1000:.0f} ms, "
                    f"p95 {result['p95'] * 1000:.0f} ms"
                )
        print("summary:")
        email_median = describe("email", results["email"])
        webhook_median = describe("webhook", results["webhook"])
        pair_ratios = [e["rate"] / w["rate"] for e, w in zip(results["email"], results["webhook"], strict=True)]
        print(
            f"  ratio email / webhook (medians): {email_median / webhook_median:.2f}; per pair "
            f"{', '.join(f'{ratio:.2f}' for ratio in pair_ratios)}"
        )
    finally:
        if observer is not None:
            observer.close()
        stop([*workers, receiver, server])
        fake_meta.close()
        forget_queues(args.redis, prefix)


def forget_queues(redis_url, prefix):
    """Delete this run's queues and kombu's bindings of them: their names are unique to the run."""
    import redis

    client = redis.Redis.from_url(redis_url)
    for queue in (f"{prefix}celery", f"{prefix}media"):
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


if __name__ == "__main__":
    main()
