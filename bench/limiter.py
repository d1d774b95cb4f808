"""Send-queue limiter benchmark: real Celery workers, PostgreSQL, Redis, a fake Send API.

    .venv/bin/python bench/limiter.py [--messages 500] [--limit 20] [--window 3] [--workers 2]

Queues a backlog of agent replies for one Instagram account with the limit
scaled down (default 20 sends per 3 s instead of 200 per 300 s) and lets two
worker processes drain it against a loopback Send API. Prints the most sends
the fake API saw in any window (must be <= the limit), the utilisation
(achieved rate / allowed rate; goal >= 0.97) and lost / duplicated messages (must be 0).
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import (  # noqa: E402
    FakeSendApi,
    apply_environment,
    environment,
    manage,
    max_in_window,
    recreate_database,
    start_workers,
    stop,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--window", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()

    fake = FakeSendApi()
    env = environment(
        DATABASE_URL=recreate_database("bench_limiter"),
        CELERY_BROKER_URL=args.redis,
        META_GRAPH_URL=fake.url,
        INSTAGRAM_SEND_LIMIT=args.limit,
        INSTAGRAM_SEND_WINDOW_SECONDS=int(args.window) if args.window == int(args.window) else args.window,
        CONN_MAX_AGE=0,
    )
    manage(env, "migrate", "--noinput")
    apply_environment(env)
    import django

    django.setup()
    from django.utils import timezone

    from channels_app.meta.models import InstagramAccount
    from channels_app.models import Channel, EntryPoint
    from config.celery import app
    from conversations.models import Conversation, Customer, CustomerIdentity, OutboundMessage
    from conversations.outbound import send_reply
    from inbox.models import Inbox, User

    app.control.purge()
    channel = Channel.objects.get(kind="messaging")
    inbox = Inbox.objects.create(name="Bench", channel=channel)
    agent = User.objects.create_user("bench@example.test", "x")
    entry_point = EntryPoint.objects.create(channel=channel, kind="instagram", display_name="@bench", external_id="1")
    InstagramAccount.objects.create(
        entry_point=entry_point,
        page_id="p1",
        page_name="Bench",
        ig_user_id="1",
        username="bench",
        page_access_token="token",
    )
    conversations = []
    for n in range(args.customers):
        customer = Customer.objects.create(name=f"Customer {n}")
        CustomerIdentity.objects.create(customer=customer, entry_point=entry_point, external_id=f"igsid-{n}")
        conversations.append(
            Conversation.objects.create(
                customer=customer, entry_point=entry_point, inbox=inbox, last_customer_message_at=timezone.now()
            )
        )
    print(f"Queueing {args.messages} replies for {args.customers} customers; limit {args.limit} per {args.window:g} s")
    workers = start_workers(env, args.workers)
    try:
        time.sleep(3)  # let the workers connect
        for n in range(args.messages):
            send_reply(conversations[n % args.customers], agent, f"reply {n}")  # enqueues drain on commit
        deadline = time.monotonic() + (args.messages / args.limit) * args.window * 2 + 60
        while len(fake.sends) < args.messages and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(args.window)  # anything sent twice would show up now
    finally:
        stop(workers)
        fake.close()

    times = [t for t, _, _ in fake.sends]
    texts = [text for _, _, text in fake.sends]
    expected = {f"reply {n}" for n in range(args.messages)}
    lost = len(expected - set(texts))
    duplicated = len(texts) - len(set(texts))
    worst = max_in_window(times, args.window)
    span = max(times) - min(times) if times else 0
    ideal_span = (len(times) - args.limit) / args.limit * args.window
    utilisation = ideal_span / span if span else 0
    order_ok = all(
        [text for _, recipient, text in fake.sends if recipient == f"igsid-{c}"]
        == [f"reply {n}" for n in range(c, args.messages, args.customers)]
        for c in range(args.customers)
    )
    sent_in_db = OutboundMessage.objects.filter(status="sent").count()

    print(f"sends seen by the fake API:      {len(times)} (recorded sent in the database: {sent_in_db})")
    verdict = "OK" if worst <= args.limit else "OVER"
    print(f"max sends in any {args.window:g} s window:   {worst}  (limit {args.limit}) {verdict}")
    print(f"drain time:                      {span:.2f} s  (ideal at the limit: {ideal_span:.2f} s)")
    print(f"utilisation (ideal / actual):    {utilisation:.3f}  (goal >= 0.97)")
    print(f"lost: {lost}   duplicated: {duplicated}   per-customer order kept: {order_ok}")
    ok = worst <= args.limit and lost == 0 and duplicated == 0 and order_ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
