"""Benchmark the agents' inbox pages on a large PostgreSQL database.

Fills its own database (default `bench_inbox`) with 100,000 customers and
conversations and 1,000,000 timeline items using COPY, then requests through
Django's test client, in one run, the pages as they were (list, conversation,
live-update poll) and the workspace's pages (customer pane and its activity
across channels, search by email / phone / text, the list filtered by topic,
status, SLA and sorted by waiting time, the `/` Answers list, notifications),
and prints each page's query count and median / p95 times.

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
    from conversations.models import Answer, Topic
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
            "COPY conversations_customer (id, name, username, profile_picture, profile_picture_url, created_at,"
            " emails, phones, notes, attributes) FROM STDIN"
        ) as copy:
            for n in range(1, conversations + 1):
                # Every customer has an email; every tenth a phone number too.
                phones = f'["+1415555{n:04d}"]' if n % 10 == 0 else "[]"
                copy.write_row(
                    (
                        n,
                        f"Customer {n}",
                        f"customer_{n}",
                        "",
                        "",
                        now,
                        f'["customer{n}@example.test"]',
                        phones,
                        "",
                        "{}",
                    )
                )
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
        # Every customer has an identity; topics on a tenth of the conversations.
        with raw.copy(
            "COPY conversations_customeridentity (customer_id, entry_point_id, external_id, created_at,"
            " attributes) FROM STDIN"
        ) as copy:
            for n in range(1, conversations + 1):
                copy.write_row((n, entry_point.pk, f"IGSID{n}", now, "{}"))
        topics = [Topic.objects.create(name=name).pk for name in ("Refund", "Shipping", "Sizing")]
        with raw.copy("COPY conversations_conversation_topics (conversation_id, topic_id) FROM STDIN") as copy:
            for n in range(10, conversations + 1, 10):
                copy.write_row((n, topics[n % 3]))
        for table in (
            "conversations_customer",
            "conversations_conversation",
            "conversations_timelineitem",
            "conversations_customeridentity",
        ):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            )
            cursor.execute(f"ANALYZE {table}")
    for n in range(200):
        Answer.objects.create(title=f"Answer {n}", body=f"Hi {{{{customer.first_name}}}}, about topic {n}.")
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

    from conversations import customers
    from conversations.models import Conversation, Customer, Topic

    call_command("migrate", verbosity=0)
    agent, inbox = fill(args.conversations, args.items)
    client = Client()
    client.force_login(agent)
    busiest = (
        Conversation.objects.filter(inbox=inbox).exclude(status="closed").order_by("sla_due_at", "opened_at").first()
    )
    topic = Topic.objects.get(name="Refund")
    merged_away = Customer.objects.get(pk=busiest.customer_id + 1)
    # The busiest customer has a second identity and conversation (another channel, merged in).
    customers.merge_customers(busiest.customer, merged_away, agent)
    from conversations.models import change_feed

    while change_feed.stamp_changes():  # as the first poll after the seeding would
        pass
    cursor = change_feed.current_cursor()
    home = reverse("inbox:home")
    today = [
        ("list (all open)", home),
        ("list (search 'Customer 4242')", home + "?q=Customer+4242"),
        ("list (closed, page 50)", home + "?filter=closed&page=50"),
        ("conversation (with customer pane)", reverse("inbox:conversation", args=[busiest.pk])),
        ("changes poll (nothing new)", reverse("inbox:changes") + f"?since={cursor}"),
    ]
    workspace = [
        ("customer pane: activity", reverse("inbox:customer_activity", args=[busiest.pk])),
        ("customer pane: card", reverse("inbox:customer_card", args=[busiest.pk])),
        ("search email 'customer4242@'", home + "?q=customer4242%40"),
        ("search phone '4155554240'", home + "?q=4155554240"),
        ("search text 'order 4242'", home + "?q=order+4242"),
        ("list topic + waiting, by waiting", home + f"?topic={topic.pk}&status=waiting&sort=waiting"),
        ("list SLA overdue", home + "?sla=overdue"),
        ("list snoozed", home + "?filter=snoozed"),
        ("answers '/' list 'topic 1'", reverse("inbox:answer_picker", args=[busiest.pk]) + "?q=topic+1"),
        ("notifications poll", reverse("inbox:notifications") + "?after=999999999"),
    ]
    print(f"{'page':38} {'queries':>7} {'median ms':>10} {'p95 ms':>8}")
    for heading, pages in (("-- today's pages", today), ("-- workspace pages", workspace)):
        print(heading)
        for label, path in pages:
            queries, median, p95 = measure(client, path, args.runs)
            print(f"{label:38} {queries:>7} {median:>10.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()
