"""Webhook pipeline benchmark: deliveries in, conversations and timeline items out.

    .venv/bin/python bench/pipeline.py [--events 10000] [--rate 50] [--steady-seconds 20]

gunicorn (sync, 4 workers) serves the app on PostgreSQL + Redis; two separate
`celery worker` processes process deliveries.

1. Burst: 10,000 customer-message events for 1,000 distinct customers, 4 events per
   delivery, 20% of the events delivered twice, posted by 8 client threads as fast as
   the server takes them. Prints events/s until every conversation and item exists.
2. Steady: one event every 1/rate seconds (default 50 events/s); for each, the time
   from POST to the item being committed (what the inbox's changes endpoint reads
   on its next poll, at most 1 s later). Prints p50/p95/max.
"""

import argparse
import json
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

from bench._harness import (
    PYTHON,
    ROOT,
    FakeSendApi,
    apply_environment,
    environment,
    manage,
    recreate_database,
    start_workers,
    stop,
)  # noqa: E402,I001
from channels_app.meta.signature import sign  # noqa: E402

SECRET = "bench-app-secret"
IG = "17841400000000001"


def event(n, customer, text=None):
    return {
        "sender": {"id": f"9{customer:015d}"},
        "recipient": {"id": IG},
        "timestamp": 1764037200000 + n,
        "message": {"mid": f"mid.pipeline.{n}", "text": text or f"message {n}"},
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--per-delivery", type=int, default=4)
    parser.add_argument("--duplicates", type=float, default=0.2)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--steady-seconds", type=int, default=20)
    parser.add_argument("--port", type=int, default=8172)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    fake_meta = FakeSendApi()  # answers customer-profile look-ups like the Graph API
    env = environment(
        DATABASE_URL=recreate_database("bench_pipeline"),
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
    from conversations.models import Conversation, TimelineItem
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

    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{args.port}", "-w", "4", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    workers = start_workers(env, 2)
    url = f"http://127.0.0.1:{args.port}/webhooks/meta/"
    local = threading.local()

    def session():
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    try:
        for _ in range(100):
            try:
                requests.get(url, timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        time.sleep(2)

        # 1. Burst
        events = [event(n, n % args.customers) for n in range(args.events)]
        chunks = [events[i : i + args.per_delivery] for i in range(0, len(events), args.per_delivery)]
        bodies = [delivery(chunk) for chunk in chunks]
        repeats = random.Random(7).sample(bodies, int(len(bodies) * args.duplicates))
        bodies = bodies + repeats
        random.Random(8).shuffle(bodies)
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda body: post(session(), url, body), bodies))
        posted = time.monotonic() - started
        while TimelineItem.objects.count() < args.events and time.monotonic() - started < 600:
            time.sleep(0.2)
        done = time.monotonic() - started
        items = TimelineItem.objects.count()
        conversations = Conversation.objects.count()
        total_events = len(bodies) * args.per_delivery
        print(
            f"burst: {len(bodies)} deliveries = {total_events} events ({int(args.duplicates * 100)}% of deliveries "
            f"twice), {args.customers} customers"
        )
        print(f"  acknowledged all in {posted:.1f} s ({total_events / posted:.0f} events/s posted)")
        print(
            f"  all {items} items and {conversations} conversations existed after {done:.1f} s "
            f"({args.events / done:.0f} distinct events/s end to end)"
        )
        print(f"  duplicates: {items - args.events} extra items (must be 0)")

        # 2. Steady rate: latency from POST to committed item
        latencies, sent = [], {}
        interval = 1 / args.rate
        n0 = args.events
        deadline = time.monotonic() + args.steady_seconds
        n = n0
        next_at = time.monotonic()
        while time.monotonic() < deadline:
            body = delivery([event(n, n % args.customers)])
            sent[f"mid.pipeline.{n}"] = time.time()
            post(session(), url, body)
            n += 1
            next_at += interval
            time.sleep(max(0, next_at - time.monotonic()))
        settle = time.monotonic() + 30
        while TimelineItem.objects.filter(external_id__in=list(sent)).count() < len(sent) and time.monotonic() < settle:
            time.sleep(0.2)
        for mid, created in TimelineItem.objects.filter(external_id__in=list(sent)).values_list(
            "external_id", "created_at"
        ):
            latencies.append(created.timestamp() - sent[mid])
        latencies.sort()
        missing = len(sent) - len(latencies)
        if not latencies:
            print(f"steady: none of the {len(sent)} events became items within 30 s")
            return
        p95 = latencies[max(int(len(latencies) * 0.95) - 1, 0)]
        print(
            f"steady: {len(sent)} events at {args.rate:g}/s; POST to committed item: "
            f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms; missing {missing}"
        )
        print("  (the inbox polls its changes endpoint every second, so an agent sees it at most 1 s later)")
        from channels_app.meta.models import WebhookEvent

        waits = sorted(
            (event.processed_at - event.received_at).total_seconds()
            for event in WebhookEvent.objects.filter(processed_at__isnull=False).order_by("-id")[: len(sent)]
        )
        print(f"  stored to processed (same deliveries): p50 {statistics.median(waits) * 1000:.0f} ms")
    finally:
        stop(workers)
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
