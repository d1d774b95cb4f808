"""Send-queue limiter benchmark: real Celery workers, PostgreSQL, Redis, a fake Send API with network delay.

    .venv/bin/python bench/limiter.py [--accounts 20] [--messages 100] [--limit 20] [--window 30]
        [--workers 4] [--customers 5] [--delay 20-80] [--redis redis://127.0.0.1:6379/6]

--accounts Instagram accounts (Entry Points) each get a backlog of --messages agent
replies (spread over --customers customers per account), all queued before --workers
`celery worker` processes start, so every account drains at once. The limit is scaled
down from 200 per 300 s to --limit per --window s; the window is long enough that the
wait for the next free slot (about a window after a burst) exceeds the drainer's
SHORT_WAIT_SECONDS (5 s), so drains are rescheduled through Celery countdowns as in
production. The loopback Send API waits --delay milliseconds each way (uniform, drawn
per call) and records, on its own clock, when each send arrived and for which page.

Prints per account: the most sends the API saw in any window (must be <= the limit),
utilisation (ideal drain time at the limit / actual; goal >= 0.97), lost / duplicated
messages and per-customer order; and the lease/lock contention counted by
bench/_limiter_worker.py (drain tasks that found the Entry Point's lease taken, time
spent acquiring a slot, which includes waiting for the Entry Point's row lock).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import (  # noqa: E402
    PYTHON,
    FakeSendApi,
    apply_environment,
    environment,
    manage,
    max_in_window,
    recreate_database,
    start_workers,
    stop,
)

SHORT_WAIT_SECONDS = 5.0  # conversations.outbound.SHORT_WAIT_SECONDS (checked below)


def delay_range(text):
    low, _, high = text.partition("-")
    return float(low) / 1000, float(high or low) / 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--messages", type=int, default=100, help="backlog per account")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--window", type=int, default=30, help="seconds; > 5 s so waits go through Celery")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--customers", type=int, default=5, help="customers per account")
    parser.add_argument("--delay", default="20-80", help="network delay each way, ms (low-high)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    args = parser.parse_args()

    fake = FakeSendApi(delay=delay_range(args.delay))
    drain_log = Path(f"/tmp/bench-limiter-drains-{os.getpid()}.jsonl")
    drain_log.unlink(missing_ok=True)
    env = environment(
        DATABASE_URL=recreate_database("bench_limiter"),
        CELERY_BROKER_URL=args.redis,
        META_GRAPH_URL=fake.url,
        INSTAGRAM_SEND_LIMIT=args.limit,
        INSTAGRAM_SEND_WINDOW_SECONDS=args.window,
        CONN_MAX_AGE=0,
        BENCH_DRAIN_LOG=drain_log,
    )
    manage(env, "migrate", "--noinput")
    apply_environment(env)
    import django

    django.setup()
    from django.utils import timezone

    from channels_app.meta.models import InstagramAccount
    from channels_app.models import Channel, EntryPoint
    from config.celery import app
    from conversations import outbound
    from conversations.models import Conversation, Customer, CustomerIdentity, OutboundMessage
    from conversations.outbound import send_reply
    from inbox.models import Inbox, User

    assert outbound.SHORT_WAIT_SECONDS == SHORT_WAIT_SECONDS, "update the bench's assumption"
    if args.window <= SHORT_WAIT_SECONDS * 2:
        print(f"warning: a {args.window} s window keeps most waits inside the drainer, not in Celery countdowns")
    app.control.purge()
    channel = Channel.objects.get(kind="messaging")
    inbox = Inbox.objects.create(name="Bench", channel=channel)
    agent = User.objects.create_user("bench@example.test", "x")
    conversations = {}  # page id -> its conversations
    for a in range(args.accounts):
        entry_point = EntryPoint.objects.create(
            channel=channel, kind="instagram", display_name=f"@bench{a}", external_id=f"1784{a:05d}"
        )
        InstagramAccount.objects.create(
            entry_point=entry_point,
            page_id=f"p{a}",
            page_name=f"Bench {a}",
            ig_user_id=f"1784{a:05d}",
            username=f"bench{a}",
            page_access_token=f"token{a}",
        )
        conversations[f"p{a}"] = []
        for c in range(args.customers):
            customer = Customer.objects.create(name=f"Customer {a}.{c}")
            CustomerIdentity.objects.create(customer=customer, entry_point=entry_point, external_id=f"igsid-{a}-{c}")
            conversations[f"p{a}"].append(
                Conversation.objects.create(
                    customer=customer, entry_point=entry_point, inbox=inbox, last_customer_message_at=timezone.now()
                )
            )
    total = args.accounts * args.messages
    print(
        f"{args.accounts} accounts x {args.messages} queued replies ({args.customers} customers each) = {total}; "
        f"limit {args.limit} per {args.window} s; {args.workers} workers; Send API delay {args.delay} ms each way"
    )
    for n in range(args.messages):  # round robin over accounts: every backlog exists before any worker runs
        for page, page_conversations in conversations.items():
            send_reply(page_conversations[n % args.customers], agent, f"{page} reply {n}")
    workers = start_workers(env, args.workers, media_worker=False, command=[PYTHON, "-m", "bench._limiter_worker"])
    started = time.monotonic()
    try:
        deadline = started + (args.messages / args.limit) * args.window * 2 + 120
        while len(fake.sends) < total and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(min(args.window, 10))  # anything sent twice would show up now
    finally:
        stop(workers)
        fake.close()

    print(f"{'account':>8}{'sends':>7}{'max/window':>12}{'drain s':>9}{'ideal s':>9}{'util':>7}{'lost':>6}{'dup':>5}")
    worst_overall, utilisations, all_ok = 0, [], True
    for page in conversations:
        sends = [(t, recipient, text) for t, recipient, text, p in fake.sends if p == page]
        times = [t for t, _, _ in sends]
        texts = [text for _, _, text in sends]
        expected = {f"{page} reply {n}" for n in range(args.messages)}
        lost = len(expected - set(texts))
        duplicated = len(texts) - len(set(texts))
        worst = max_in_window(times, args.window) if times else 0
        span = max(times) - min(times) if len(times) > 1 else 0
        ideal = (len(times) - args.limit) / args.limit * args.window
        utilisation = ideal / span if span else 0
        account = page[1:]
        order_ok = all(
            [text for _, recipient, text in sends if recipient == f"igsid-{account}-{c}"]
            == [f"{page} reply {n}" for n in range(c, args.messages, args.customers)]
            for c in range(args.customers)
        )
        all_ok &= worst <= args.limit and lost == 0 and duplicated == 0 and order_ok
        worst_overall = max(worst_overall, worst)
        utilisations.append(utilisation)
        print(
            f"{page:>8}{len(times):>7}{worst:>12}{span:>9.1f}{ideal:>9.1f}{utilisation:>7.3f}{lost:>6}{duplicated:>5}"
            + ("" if order_ok else "  ORDER BROKEN")
        )
    sent_in_db = OutboundMessage.objects.filter(status="sent").count()
    drains = [json.loads(line) for line in drain_log.read_text().splitlines()] if drain_log.exists() else []
    drain_log.unlink(missing_ok=True)
    lease_taken = sum(d["lease_taken"] for d in drains)
    countdowns = [d["again_in"] for d in drains if d["again_in"] is not None]
    acquire_ms = [d["acquire_seconds"] / d["acquires"] * 1000 for d in drains if d["acquires"]]
    print(f"sends seen by the fake API: {len(fake.sends)} of {total} (recorded sent in the database: {sent_in_db})")
    over = sum(
        1
        for page in conversations
        if max_in_window([t for t, _, _, p in fake.sends if p == page] or [0], args.window) > args.limit
    )
    print(f"accounts over the limit in any {args.window} s window: {over}  (most in one window: {worst_overall})")
    print(
        f"utilisation per account: median {statistics.median(utilisations):.3f}, "
        f"min {min(utilisations):.3f}, max {max(utilisations):.3f}  (goal >= 0.97 each; "
        f"{sum(u >= 0.97 for u in utilisations)} of {len(utilisations)} meet it)"
    )
    print(
        f"drain tasks: {len(drains)}; found the lease taken: {lease_taken}; rescheduled by countdown: "
        f"{sum(c > SHORT_WAIT_SECONDS for c in countdowns)} (> {SHORT_WAIT_SECONDS:g} s), "
        f"{sum(c <= SHORT_WAIT_SECONDS for c in countdowns)} shorter"
    )
    if acquire_ms:
        acquire_ms.sort()
        print(
            f"acquire_slot (incl. the row lock wait), mean per call within a drain: median "
            f"{statistics.median(acquire_ms):.1f} ms, max {acquire_ms[-1]:.1f} ms"
        )
    print(f"all accounts: nothing lost, nothing duplicated, order kept, within the limit: {all_ok}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
