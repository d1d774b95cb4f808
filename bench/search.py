"""Inbox search at 1M items: the product's search against the query it replaced, same run.

    .venv/bin/python bench/search.py [--conversations 100000] [--items 1000000] [--terms 14] [--warm-runs 3]
        [--database bench_h6_search] [--timeout 20] [--keep]

Fills its own database with bench/inbox_page.py's data (100,000 customers and
conversations, 95% closed, 1,000,000 timeline items, every customer an email, every
tenth a phone), then searches as an agent, one page of 25 with its total, previews,
unread markers and the highlighted match, across every status (a search ignores the tabs):

- before: the query inbox/conversation_list.py ran until the trigram-first search
  (`search_condition_before` below, kept here as the baseline): customer ids from one
  UNION of the customer fields (up to 5,000), conversation ids from a DISTINCT over every
  matching item (up to 5,000, else an EXISTS per conversation), then the page.
- now: inbox/conversation_list.py's `conversation_page`, i.e. `search_matches`: each
  field's trigram index first, capped at SEARCH_CAP rows, then the conversations by id.

Terms rotate through kinds: a customer name ("Customer 4242"), a username ("@customer_4242"),
an email ("customer4242@example"), a phone ("4155554240"), message text ("order 4242"), a
frequent phrase ("about order 37": ~11,000 items), a common one ("message 3": 100,000
items) and a term nothing matches. The two variants are interleaved per term, the first
of each pair alternating. Before timing, both must give the same page and total for a
name, username, email, phone and text term.

"Cold": a fresh connection, `DISCARD ALL`, and the first query for a term never searched
before (each variant and round gets its own term). PostgreSQL's shared buffers and the
OS page cache are not emptied (that needs a restart we may not do on a shared machine):
the index pages of frequent trigrams stay cached, the rare ones and the heap rows of this
term are read for the first time. "Warm": the same term again, --warm-runs times.
Prints p50 / p95 / max per variant and kind, and the now / before ratios.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inbox_page import ensure_database, fill  # noqa: E402

# The cap search_condition_before used for its id lists.
BEFORE_ID_LIMIT = 5000


def search_condition_before(q):
    """inbox/conversation_list.py's search_condition as it was before the trigram-first search."""
    from django.db.models import Exists, OuterRef, Q

    from conversations.models import Customer, CustomerIdentity, TimelineItem

    term = q.lstrip("@")
    customers = (
        Customer.objects.filter(name__icontains=q)
        .values("pk")
        .union(
            Customer.objects.filter(username__icontains=term).values("pk"),
            Customer.objects.filter(emails__icontains=q).values("pk"),
            Customer.objects.filter(phones__icontains=q).values("pk"),
            CustomerIdentity.objects.filter(external_id__icontains=q).values("customer_id"),
        )
    )
    customer_ids = [pk for (pk,) in customers.values_list("pk")[:BEFORE_ID_LIMIT]]
    by_text = list(
        TimelineItem.objects.filter(text__icontains=q)
        .order_by()
        .values_list("conversation_id", flat=True)
        .distinct()[: BEFORE_ID_LIMIT + 1]
    )
    by_customer = Q(customer_id__in=customer_ids)
    if len(by_text) > BEFORE_ID_LIMIT:
        return by_customer | Exists(TimelineItem.objects.filter(conversation_id=OuterRef("pk"), text__icontains=q))
    return by_customer | Q(pk__in=by_text)


def before_page(user, term, inbox_ids):
    """The list page of a search as conversation_page built it before (filter "all", no narrowing)."""
    from django.core.paginator import Paginator

    from inbox import reading
    from inbox.conversation_list import PAGE_SIZE, visible_conversations, with_match, with_preview

    conversations = (
        visible_conversations(user, inbox_ids).filter(search_condition_before(term)).order_by("-updated_at", "-id")
    )
    rows = with_match(reading.with_unread(with_preview(conversations), user), term)
    page = Paginator(rows, PAGE_SIZE).get_page(1)
    return list(page.object_list), page.paginator.count, False


def now_page(user, term, inbox_ids):
    from inbox.conversation_list import ListQuery, conversation_page

    page = conversation_page(user, ListQuery(q=term), inbox_ids)
    return list(page.object_list), page.paginator.count, page.search_capped


KINDS = ["name", "username", "email", "phone", "text", "frequent", "common", "none"]


def terms(kind, rng, used):
    """A term of this kind nobody searched before in this run."""
    while True:
        n = rng.randint(1, 99_999)
        term = {
            "name": f"Customer {n}",
            "username": f"@customer_{n}",
            "email": f"customer{n}@example",
            "phone": f"415555{n // 10 * 10:04d}",
            "text": f"order {n}",
            "frequent": f"about order {n % 90 + 10}",
            # 19 of them: each matches 100,000 items or more.
            "common": f"message {n % 10}" if n % 2 else f"about order {n % 9 + 1}",
            "none": f"zq{n}xv",
        }[kind]
        if term not in used:
            used.add(term)
            return term


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * len(values) + 0.5) - 1))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--terms", type=int, default=16, help="cold terms per variant (kinds rotate)")
    parser.add_argument("--warm-runs", type=int, default=3, help="repeats of each term after its cold query")
    parser.add_argument("--database", default="bench_h6_search")
    parser.add_argument("--timeout", type=float, default=20, help="statement timeout, s; cut off counts as this")
    parser.add_argument("--keep", action="store_true", help="reuse the filled database (skip the fill)")
    args = parser.parse_args()

    url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    if not args.keep:
        ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import OperationalError, connection, transaction

    from inbox.conversation_list import SEARCH_CAP, member_inbox_ids
    from inbox.models import User

    if args.keep:
        agent = User.objects.get(email="agent@bench.test")
    else:
        call_command("migrate", verbosity=0)
        # COPY into tables without the trigram indexes, then build them once: much faster.
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%%_trgm'")
            trigram_indexes = cursor.fetchall()
            for name, _ in trigram_indexes:
                cursor.execute(f"DROP INDEX {name}")
        agent, _ = fill(args.conversations, args.items)
        started = time.monotonic()
        with connection.cursor() as cursor:
            for _, definition in trigram_indexes:
                cursor.execute(definition)
            for table in (
                "conversations_timelineitem",
                "conversations_customer",
                "conversations_customeridentity",
                "conversations_conversation",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")
        print(f"built {len(trigram_indexes)} trigram indexes and analysed in {time.monotonic() - started:.1f}s")
    inbox_ids = member_inbox_ids(agent)

    variants = {
        "before": lambda term: before_page(agent, term, inbox_ids),
        "now": lambda term: now_page(agent, term, inbox_ids),
    }
    # Same results where the cap is not reached (a check, not a benchmark).
    for term in ("Customer 4242", "@customer_4242", "customer4242@example", "4155554240", "order 4242"):
        old_rows, old_total, _ = before_page(agent, term, inbox_ids)
        new_rows, new_total, capped = now_page(agent, term, inbox_ids)
        assert [c.pk for c in old_rows] == [c.pk for c in new_rows], term
        assert old_total == new_total and not capped, (term, old_total, new_total)
        assert all(
            getattr(a, "match_text", None) == getattr(b, "match_text", None)
            for a, b in zip(old_rows, new_rows, strict=True)
        ), term

    rng = random.Random(11)
    used = set()
    timeouts = {name: 0 for name in variants}

    def timed(name, term):
        """Milliseconds for one page of results (the statement timeout's length if cut off), total, capped."""
        started = time.perf_counter()
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL statement_timeout = {int(args.timeout * 1000)}")
                _, total, capped = variants[name](term)
        except OperationalError:
            timeouts[name] += 1
            return args.timeout * 1000, None, None
        return (time.perf_counter() - started) * 1000, total, capped

    cold = {name: [] for name in variants}
    warm = {name: [] for name in variants}
    by_kind = {(name, kind): [] for name in variants for kind in KINDS}
    totals = {name: [] for name in variants}
    names = list(variants)
    for round_number in range(args.terms):
        kind = KINDS[round_number % len(KINDS)]
        order = names if round_number % 2 == 0 else names[::-1]
        for name in order:
            term = terms(kind, rng, used)
            connection.close()
            with connection.cursor() as cursor:
                cursor.execute("DISCARD ALL")
            elapsed, total, capped = timed(name, term)
            cold[name].append(elapsed)
            by_kind[name, kind].append(elapsed)
            totals[name].append((kind, total, capped))
            for _ in range(args.warm_runs):
                warm[name].append(timed(name, term)[0])

    print(
        f"{args.conversations:,} conversations, {args.items:,} items; {args.terms} cold terms per variant "
        f"(kinds {', '.join(KINDS)} in turn), {args.warm_runs} warm repeats each; SEARCH_CAP {SEARCH_CAP}"
    )
    print(
        f"{'variant':10}{'cold p50':>10}{'cold p95':>10}{'cold max':>10}{'warm p50':>10}{'warm p95':>10}"
        f"{'cut off':>9}  (ms; cut off = queries stopped at the {args.timeout:g} s statement timeout)"
    )
    for name in variants:
        print(
            f"{name:10}{statistics.median(cold[name]):>10.1f}{percentile(cold[name], 0.95):>10.1f}"
            f"{max(cold[name]):>10.1f}{statistics.median(warm[name]):>10.1f}{percentile(warm[name], 0.95):>10.1f}"
            f"{timeouts[name]:>9}"
        )
    print(
        "cold ms per kind, before -> now: "
        + "; ".join(
            f"{kind} {'/'.join(f'{v:.0f}' for v in by_kind['before', kind])} -> "
            f"{'/'.join(f'{v:.0f}' for v in by_kind['now', kind])}"
            for kind in KINDS
        )
    )
    cold_ratio = percentile(cold["now"], 0.95) / percentile(cold["before"], 0.95)
    warm_ratio = percentile(warm["now"], 0.95) / percentile(warm["before"], 0.95)
    print(f"ratio now / before: cold p95 {cold_ratio:.2f}, warm p95 {warm_ratio:.2f}")
    worst = max(percentile(cold["now"], 0.95), percentile(warm["now"], 0.95))
    print(f"goal p95 < 150 ms, all statuses, cold and warm: {'met' if worst < 150 else 'NOT met'} ({worst:.1f} ms)")
    for name in variants:
        matches = {}
        for kind, total, capped in totals[name]:
            matches.setdefault(kind, []).append(f"{total}{' capped' if capped else ''}")
        print(f"matching conversations per term, {name}: " + ", ".join(f"{k} {v}" for k, v in matches.items()))


if __name__ == "__main__":
    main()
