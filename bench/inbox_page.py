"""Benchmark the agents' inbox pages on a large PostgreSQL database.

Fills its own database (default `bench_inbox`) with 100,000 conversations and
1,000,000 timeline items using COPY, then requests the list page, a
conversation page and the live-update poll through Django's test client and
prints the query count and median / p95 times.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_inbox \
        python bench/inbox_page.py [--conversations 100000] [--items 1000000] [--runs 60]
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def ensure_database(url):
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def fill(conversations, items):
    from django.db import connection

    from channels_app.meta.models import InstagramAccount
    from channels_app.models import Channel, EntryPoint
    from inbox.models import Inbox, InboxMembership, User

    channel = Channel.objects.get(kind=Channel.Kind.MESSAGING)
    inbox = Inbox.objects.create(name="Instagram", channel=channel)
    other_inbox = Inbox.objects.create(name="Elsewhere", channel=channel)
    agent = User.objects.create_user("agent@bench.test", "bench-password", first_name="Bench")
    InboxMembership.objects.create(inbox=inbox, user=agent)
    entry_point = EntryPoint.objects.create(
        channel=channel, kind=EntryPoint.Kind.INSTAGRAM, display_name="@bench", external_id="17841400000009999"
    )
    InstagramAccount.objects.create(
        entry_point=entry_point,
        page_id="1009999",
        page_name="Bench",
        ig_user_id="17841400000009999",
        username="bench",
        page_access_token="bench-token",
    )
    now = datetime.now(UTC)
    rng = random.Random(7)
    started = time.monotonic()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            "COPY conversations_customer (id, name, username, profile_picture, profile_picture_url, created_at) "
            "FROM STDIN"
        ) as copy:
            for n in range(1, conversations + 1):
                copy.write_row((n, f"Customer {n}", f"customer_{n}", "", "", now))
        # One conversation per customer; 5% open or waiting (the working set), the rest closed.
        with raw.copy(
            "COPY conversations_conversation (id, customer_id, entry_point_id, inbox_id, unrouted_reason, status,"
            " assignee_id, opened_at, closed_at, last_customer_message_at, last_activity_at, sla_due_at, updated_at)"
            " FROM STDIN"
        ) as copy:
            for n in range(1, conversations + 1):
                opened = now - timedelta(minutes=rng.randint(1, 60 * 24 * 365))
                active = n % 20 == 0
                status = ("open" if n % 40 == 0 else "waiting") if active else "closed"
                copy.write_row(
                    (
                        n,
                        n,
                        entry_point.pk,
                        other_inbox.pk if n % 10 == 7 else inbox.pk,
                        "",
                        status,
                        agent.pk if active and n % 3 == 0 else None,
                        opened,
                        None if active else opened + timedelta(hours=2),
                        opened,
                        opened,
                        opened + timedelta(hours=1) if active else None,
                        opened,
                    )
                )
        per_conversation = items // conversations
        with raw.copy(
            "COPY conversations_timelineitem (conversation_id, entry_point_id, kind, direction, author_id, text,"
            " external_id, occurred_at, created_at, delivery_status, failure_reason, deleted_by_customer,"
            " unsupported, story_url, metadata) FROM STDIN"
        ) as copy:
            for n in range(1, conversations + 1):
                base = now - timedelta(days=rng.randint(1, 365))
                for i in range(per_conversation):
                    inbound = i % 2 == 0
                    at = base + timedelta(minutes=i)
                    copy.write_row(
                        (
                            n,
                            entry_point.pk,
                            "customer_message" if inbound else "agent_message",
                            "in" if inbound else "out",
                            None if inbound else agent.pk,
                            f"Message {i} about order {n}",
                            f"mid.{n}.{i}",
                            at,
                            at,
                            "" if inbound else "read",
                            "",
                            False,
                            False,
                            "",
                            "{}",
                        )
                    )
        for table in ("conversations_customer", "conversations_conversation", "conversations_timelineitem"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            )
            cursor.execute(f"ANALYZE {table}")
    print(f"filled {conversations:,} conversations and {items:,} items in {time.monotonic() - started:.1f}s")
    return agent, inbox


def measure(client, path, runs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 204), (path, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    return len(queries), statistics.median(times), p95


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_inbox")
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from conversations.models import Conversation

    call_command("migrate", verbosity=0)
    agent, inbox = fill(args.conversations, args.items)
    client = Client()
    client.force_login(agent)
    busiest = (
        Conversation.objects.filter(inbox=inbox).exclude(status="closed").order_by("sla_due_at", "opened_at").first()
    )
    cursor = Conversation.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
    pages = [
        ("list (all open)", reverse("inbox:home")),
        ("list (search 'Customer 4242')", reverse("inbox:home") + "?q=Customer+4242"),
        ("list (closed, page 50)", reverse("inbox:home") + "?filter=closed&page=50"),
        ("conversation", reverse("inbox:conversation", args=[busiest.pk])),
        ("changes poll (nothing new)", reverse("inbox:changes") + f"?since={cursor.isoformat().replace('+', '%2B')}"),
    ]
    print(f"{'page':34} {'queries':>7} {'median ms':>10} {'p95 ms':>8}")
    for label, path in pages:
        queries, median, p95 = measure(client, path, args.runs)
        print(f"{label:34} {queries:>7} {median:>10.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()
