"""Send-queue limiter benchmark: real Celery workers, PostgreSQL, Redis, a fake Send API with network delay.

    .venv/bin/python bench/limiter.py [--accounts 20] [--messages 100] [--limit 20] [--window 30]
        [--workers 4] [--customers 5] [--delay 20-80] [--pairs 2] [--baseline-ref b387114]
        [--database bench_limiter] [--redis redis://127.0.0.1:6379/6]

--accounts Instagram accounts (Entry Points) each get a backlog of --messages agent
replies (spread over --customers customers per account), all queued before --workers
`celery worker` processes start, so every account drains at once. The limit is scaled
down from 200 per 300 s to --limit per --window s; the window is long enough that the
wait for the next free slot (about a window after a burst) goes through Celery
countdowns as in production. The loopback Send API waits --delay milliseconds each
way (uniform, drawn per call) and records, on its own clock, when each send arrived
and for which page.

Rounds alternate (ABAB…, --pairs pairs) between the drainer of --baseline-ref (a
copy of that commit's tree, run by the same workers) and this tree's. The backlogs are
queued once (send_reply); each round drains a fresh copy of that database, after
sending the drain kicks that tree's send_reply sends on commit (the baseline one per
reply, in order; this tree one per account, as the lease collapses the rest).

Prints per round and per variant (median and range over its rounds): the most sends
the API saw in any window per account (must be <= the limit), utilisation per
account (ideal drain time at the limit / actual; goal >= 0.97), lost / duplicated
messages and per-customer order; where the time went: the first burst's length
(Meta's clock), how long after a slot freed (its confirmed send + the window) the next
slot was granted, how much of that time a worker sat idle, how long drains slept
holding the lease, how late countdown tasks started after their ETA; and the lease/lock
contention counted by bench/_limiter_worker.py (drain tasks that found the Entry
Point's lease taken, time spent acquiring a slot, which includes waiting for the
Entry Point's row lock).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import (  # noqa: E402
    PYTHON,
    ROOT,
    FakeSendApi,
    apply_environment,
    environment,
    manage,
    max_in_window,
    recreate_database,
    start_workers,
    stop,
)

WORKER = str(Path(__file__).resolve().parent / "_limiter_worker.py")
# The last commit whose drainer slept inside drains and scheduled a countdown per drain task.
BASELINE_REF = "b387114"


def delay_range(text):
    low, _, high = text.partition("-")
    return float(low) / 1000, float(high or low) / 1000


def baseline_tree(ref):
    """A copy of the commit's files (git archive: no worktree, nothing in .git changes)."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    tree = Path(f"/tmp/bench-limiter-baseline-{commit}")
    if not (tree / "manage.py").exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return commit, tree


def median_range(values, fmt="{:.3f}"):
    if not values:
        return "-"
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def seconds_with_idle_worker(interval, busy, workers):
    """Seconds of `interval` during which fewer than `workers` drains ran (a worker was free)."""
    start, end = interval
    if end <= start:
        return 0.0
    events = sorted(
        [(max(s, start), 1) for s, e in busy if e > start and s < end]
        + [(min(e, end), -1) for s, e in busy if e > start and s < end]
    )
    idle, running, at = 0.0, 0, start
    for moment, change in events:
        if running < workers:
            idle += moment - at
        running += change
        at = moment
    if running < workers:
        idle += end - at
    return idle


def queue_backlogs(args):
    """Every account's backlog, queued by send_reply as agents would (the drain kicks are left out:
    each round sends them itself, so that one copy of this database serves every round)."""
    from unittest import mock

    from django.utils import timezone

    from channels_app.meta.models import InstagramAccount
    from channels_app.models import Channel, EntryPoint
    from conversations import outbound
    from conversations.models import Conversation, Customer, CustomerIdentity
    from inbox.models import Inbox, User

    channel = Channel.objects.get(kind="messaging")
    inbox = Inbox.objects.create(name="Bench", channel=channel)
    agent = User.objects.create_user("bench@example.test", "x")
    conversations, entry_points = {}, {}  # page id -> its conversations / its Entry Point id
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
        entry_points[f"p{a}"] = entry_point.pk
        conversations[f"p{a}"] = []
        for c in range(args.customers):
            customer = Customer.objects.create(name=f"Customer {a}.{c}")
            CustomerIdentity.objects.create(customer=customer, entry_point=entry_point, external_id=f"igsid-{a}-{c}")
            conversations[f"p{a}"].append(
                Conversation.objects.create(
                    customer=customer, entry_point=entry_point, inbox=inbox, last_customer_message_at=timezone.now()
                )
            )
    with mock.patch.object(outbound, "_kick"):
        for n in range(args.messages):  # round robin over accounts: every backlog exists before any worker runs
            for page, page_conversations in conversations.items():
                outbound.send_reply(page_conversations[n % args.customers], agent, f"{page} reply {n}")
    return entry_points


def run_round(label, tree, args, env, template, database, entry_points):
    """One drain of every account's backlog by fresh workers running `tree`'s drainer."""
    from django.db import connections

    from config.celery import app
    from conversations.models import OutboundMessage, SendSlot

    connections.close_all()
    recreate_database(database, template=template)
    fake = FakeSendApi(delay=delay_range(args.delay))
    wall_minus_monotonic = time.time() - time.monotonic()
    drain_log = Path(f"/tmp/bench-limiter-drains-{os.getpid()}.jsonl")
    drain_log.unlink(missing_ok=True)
    env = dict(env, META_GRAPH_URL=fake.url, BENCH_DRAIN_LOG=str(drain_log), PYTHONPATH=str(tree))
    app.control.purge()
    total = args.accounts * args.messages
    # What send_reply does on commit, reply by reply in the order they were queued: the
    # baseline sends a kick each time; this tree's _kick only while no kick or drain holds
    # the Entry Point's lease (the first reply of each account, as no worker runs yet).
    if tree == ROOT:
        from conversations.outbound import _kick as kick
    else:

        def kick(entry_point_id):
            app.send_task("conversations.tasks.drain_entry_point", args=[entry_point_id], countdown=0)

    for _ in range(args.messages):
        for entry_point_id in entry_points.values():
            kick(entry_point_id)
    workers = start_workers(env, args.workers, media_worker=False, command=[PYTHON, WORKER], cwd=tree)
    started = time.monotonic()
    try:
        deadline = started + (args.messages / args.limit) * args.window * 2 + 120
        while len(fake.sends) < total and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(min(args.window, 10))  # anything sent twice would show up now
    finally:
        stop(workers)
        fake.close()
    app.control.purge()  # countdowns the stopped workers handed back

    drains = [json.loads(line) for line in drain_log.read_text().splitlines()] if drain_log.exists() else []
    drain_log.unlink(missing_ok=True)
    busy = [(d["started"], d["started"] + d["seconds"]) for d in drains]
    grants = {}
    for d in drains:
        grants.setdefault(d["entry_point"], []).extend(d["grants"])
    confirmed = {}
    for entry_point_id, taken_at in SendSlot.objects.values_list("entry_point_id", "taken_at"):
        confirmed.setdefault(entry_point_id, []).append(taken_at.timestamp())

    accounts = {}
    for page in entry_points:
        sends = [(t, recipient, text) for t, recipient, text, p in fake.sends if p == page]
        times = [t for t, _, _ in sends]
        texts = [text for _, _, text in sends]
        expected = {f"{page} reply {n}" for n in range(args.messages)}
        span = max(times) - min(times) if len(times) > 1 else 0
        ideal = (len(times) - args.limit) / args.limit * args.window
        account = page[1:]
        order_ok = all(
            [text for _, recipient, text in sends if recipient == f"igsid-{account}-{c}"]
            == [f"{page} reply {n}" for n in range(c, args.messages, args.customers)]
            for c in range(args.customers)
        )
        # The k-th grant could have come once the (k - limit)-th confirmed slot left the window.
        granted = sorted(grants.get(entry_points[page], []))
        confirms = sorted(confirmed.get(entry_points[page], []))
        waits, idle = [], 0.0
        for k in range(args.limit, min(len(granted), len(confirms) + args.limit)):
            frees = confirms[k - args.limit] + args.window
            waits.append(granted[k] - frees)
            idle += seconds_with_idle_worker((frees, granted[k]), busy, args.workers)
        accounts[page] = {
            "sends": len(times),
            "worst": max_in_window(times, args.window) if times else 0,
            "span": span,
            "ideal": ideal,
            "utilisation": ideal / span if span else 0,
            "lost": len(expected - set(texts)),
            "duplicated": len(texts) - len(set(texts)),
            "order_ok": order_ok,
            "first_burst": times[min(args.limit, len(times)) - 1] - times[0] if times else 0,
            "wait_ms": statistics.mean(waits) * 1000 if waits else 0,
            "turn_wait_ms": statistics.mean(waits[:: args.limit]) * 1000 if waits else 0,
            "idle_s": idle,
            "first_send_wall": times[0] + wall_minus_monotonic if times else None,
        }
    # A continuation's due time: its ETA, or (published when due, without one) the time the
    # drain that kept the lease for it asked for.
    late, due = [], {}  # lease owner -> when its continuation was due
    for d in sorted(drains, key=lambda d: d["started"]):
        if d["eta"] or d.get("owner") in due:
            late.append(d["started"] - (d["eta"] or due.pop(d["owner"])))
        if d.get("lease_owner") and d.get("again_at"):
            due[d["lease_owner"]] = d["again_at"]
    acquire_ms = [d["acquire_seconds"] / d["acquires"] * 1000 for d in drains if d["acquires"]]
    result = {
        "label": label,
        "accounts": accounts,
        "sent_in_db": OutboundMessage.objects.filter(status="sent").count(),
        "seen": len(fake.sends),
        "total": total,
        "drains": len(drains),
        "lease_taken": sum(d["lease_taken"] for d in drains),
        "countdowns": sum(d["again_in"] is not None for d in drains),
        "slept": sum(d["slept"] for d in drains),
        "late_ms": sorted(x * 1000 for x in late),
        "acquire_ms": acquire_ms,
        "busy_s": sum(e - s for s, e in busy),
        "elapsed_s": max(e for _, e in busy) - min(s for s, _ in busy) if busy else 0,
    }
    print_round(result, args)
    return result


def print_round(r, args):
    a = r["accounts"].values()
    util = [x["utilisation"] for x in a]
    late = r["late_ms"]
    over = sum(x["worst"] > args.limit for x in a)
    print(
        f"[{r['label']}] seen {r['seen']}/{r['total']} (sent in db {r['sent_in_db']}); "
        f"over the limit: {over} accounts (most in a window {max(x['worst'] for x in a)}); "
        f"util median {statistics.median(util):.3f} min {min(util):.3f} max {max(util):.3f} "
        f"({sum(u >= 0.97 for u in util)}/{len(util)} >= 0.97); "
        f"first burst median {statistics.median(x['first_burst'] for x in a):.2f} s; "
        f"slot free -> granted mean {statistics.median(x['wait_ms'] for x in a):.0f} ms "
        f"(at window turns {statistics.median(x['turn_wait_ms'] for x in a):.0f} ms), "
        f"of it with a worker idle {sum(x['idle_s'] for x in a):.1f} s in all; "
        f"drains {r['drains']} (lease taken {r['lease_taken']}, rescheduled {r['countdowns']}), "
        f"slept holding the lease {r['slept']:.1f} s, workers busy {r['busy_s']:.0f} of "
        f"{r['elapsed_s'] * args.workers:.0f} worker-s; continuation start after due p50 "
        f"{statistics.median(late) if late else 0:.0f} ms p95 {late[int(len(late) * 0.95)] if late else 0:.0f} ms "
        f"max {late[-1] if late else 0:.0f} ms; acquire_slot median "
        f"{statistics.median(r['acquire_ms']) if r['acquire_ms'] else 0:.1f} ms",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--messages", type=int, default=100, help="backlog per account")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--window", type=int, default=30, help="seconds; long enough that waits go through Celery")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--customers", type=int, default=5, help="customers per account")
    parser.add_argument("--delay", default="20-80", help="network delay each way, ms (low-high)")
    parser.add_argument("--pairs", type=int, default=2, help="baseline/new round pairs, interleaved")
    parser.add_argument("--baseline-ref", default=BASELINE_REF, help="commit whose drainer is the baseline")
    parser.add_argument("--database", default="bench_limiter")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    args = parser.parse_args()

    commit, old_tree = baseline_tree(args.baseline_ref)
    template = f"{args.database}_template"
    env = environment(
        DATABASE_URL=recreate_database(args.database),
        CELERY_BROKER_URL=args.redis,
        INSTAGRAM_SEND_LIMIT=args.limit,
        INSTAGRAM_SEND_WINDOW_SECONDS=args.window,
        CONN_MAX_AGE=0,
    )
    manage(env, "migrate", "--noinput")
    apply_environment(env)
    import django

    django.setup()
    from django.db import connections

    entry_points = queue_backlogs(args)
    connections.close_all()
    recreate_database(template, template=args.database)
    print(
        f"{args.accounts} accounts x {args.messages} queued replies ({args.customers} customers each) = "
        f"{args.accounts * args.messages} per round; limit {args.limit} per {args.window} s; {args.workers} workers "
        f"(solo pool); Send API delay {args.delay} ms each way; {args.pairs} pairs of rounds, baseline = drainer of "
        f"{commit}, new = this tree",
        flush=True,
    )
    results = {"baseline": [], "new": []}
    for _ in range(args.pairs):
        results["baseline"].append(
            run_round(f"baseline {commit}", old_tree, args, env, template, args.database, entry_points)
        )
        results["new"].append(run_round("new", ROOT, args, env, template, args.database, entry_points))

    pages = list(results["new"][0]["accounts"])
    print(f"\nper account, median over {args.pairs} rounds (utilisation; ms from a slot freeing to the next grant)")
    columns = ("util base", 11), ("util new", 10), ("ratio", 7), ("wait base", 11), ("wait new", 10)
    print(f"{'account':>8}" + "".join(f"{name:>{width}}" for name, width in columns) + f"{'max/window':>12}")
    for page in pages:
        base = [r["accounts"][page] for r in results["baseline"]]
        new = [r["accounts"][page] for r in results["new"]]
        u_base = statistics.median(x["utilisation"] for x in base)
        u_new = statistics.median(x["utilisation"] for x in new)
        w_base = statistics.median(x["wait_ms"] for x in base)
        w_new = statistics.median(x["wait_ms"] for x in new)
        print(
            f"{page:>8}{u_base:>11.3f}{u_new:>10.3f}{u_new / u_base:>7.3f}{w_base:>11.0f}{w_new:>10.0f}"
            f"{max(x['worst'] for x in base + new):>12}"
        )
    print()
    ok = True
    for variant, rounds in results.items():
        accounts = [x for r in rounds for x in r["accounts"].values()]
        minimum = [min(x["utilisation"] for x in r["accounts"].values()) for r in rounds]
        medians = [statistics.median(x["utilisation"] for x in r["accounts"].values()) for r in rounds]
        over = [sum(x["worst"] > args.limit for x in r["accounts"].values()) for r in rounds]
        intact = all(x["lost"] == 0 and x["duplicated"] == 0 and x["order_ok"] for x in accounts)
        ok &= intact and not any(over)
        print(
            f"{variant:>8}: utilisation per account min {median_range(minimum)}, median {median_range(medians)}; "
            f"accounts >= 0.97: {sum(x['utilisation'] >= 0.97 for x in accounts)} of {len(accounts)}; "
            f"windows over the limit: {sum(over)} (most in one window {max(x['worst'] for x in accounts)}); "
            f"nothing lost or duplicated, order kept: {intact}"
        )

        def per_round(figure, fmt, rounds=rounds):
            return median_range([figure(r) for r in rounds], fmt)

        def per_account(key, r):
            return statistics.median(x[key] for x in r["accounts"].values())

        print(
            f"{'':>10}first burst {per_round(lambda r: per_account('first_burst', r), '{:.2f}')} s; "
            f"slot free -> granted {per_round(lambda r: per_account('wait_ms', r), '{:.0f}')} ms; "
            f"with a worker idle {per_round(lambda r: sum(x['idle_s'] for x in r['accounts'].values()), '{:.1f}')} "
            f"s per round; slept holding the lease {per_round(lambda r: r['slept'], '{:.1f}')} s per round"
        )
        late = [r for r in rounds if r["late_ms"]]
        print(
            f"{'':>10}contention: drain tasks {per_round(lambda r: r['drains'], '{:.0f}')}, "
            f"found the lease taken {per_round(lambda r: r['lease_taken'], '{:.0f}')}, "
            f"rescheduled {per_round(lambda r: r['countdowns'], '{:.0f}')}; acquire_slot (incl. the row lock wait) "
            f"median per drain {per_round(lambda r: statistics.median(r['acquire_ms'] or [0]), '{:.1f}')} ms; "
            f"continuation start after due p95 "
            f"{median_range([r['late_ms'][int(len(r['late_ms']) * 0.95)] for r in late], '{:.0f}')} ms"
        )
    base_min = statistics.median(min(x["utilisation"] for x in r["accounts"].values()) for r in results["baseline"])
    new_min = statistics.median(min(x["utilisation"] for x in r["accounts"].values()) for r in results["new"])
    print(f"ratio new / baseline, minimum utilisation per round (medians): {new_min / base_min:.3f}")
    print(f"all rounds: nothing lost, nothing duplicated, order kept, within the limit: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
