"""Instagram DM → the agent's screen, in a real browser: push against the 1 s poll, same run.

    .venv/bin/python bench/dm_to_agent_screen.py [--rate 50] [--seconds 20] [--pairs 3] [--agents 2]
        [--grace 30] [--web-workers 1] [--port 8173] [--redis redis://127.0.0.1:6379/3] [--database bench_h3]

One command sets everything up: a fresh PostgreSQL database (--database), migrated; an
Instagram Entry Point routed to an Inbox with --agents agents (members, Available), Business
Hours (open all week, with an auto-reply text so the check runs) and three Rules (two on
words, one outside hours: evaluated on every message, none fires); uvicorn serving the ASGI
app (--web-workers processes, as the Procfile) with channels-redis as the channel layer and
two `celery worker` processes on the production queues (celery, media), all on Redis
--redis (broker, cache and layer, each under a prefix of this run). It waits for uvicorn to
answer and for both workers to reply to a ping.

What the agents see. Each agent signs in in headless Chromium; each agent's page keeps one
conversation open, with one customer each. An init script installs a MutationObserver that
records, for each marker text, the first time (performance.timeOrigin + now(), epoch ms)
it appears anywhere in that page's DOM. Why an open conversation rather than list rows:
a row shows only its conversation's last message and a page only 25 rows, so at 50 events/s
spread over the rows a row's preview is replaced every ~0.5 s, faster than the 1 s poll; a
message replaced before the page asks would never be on screen and could not be timed. The
open conversation's timeline shows every message (its newest 100), so every marker reaches
the screen once the page has fetched it. The cost of this choice: --agents customers write
at --rate / --agents messages/s each (follow-ups: the common case, not the new-customer path),
and a marker can leave the newest 100 before the page fetches them if more than 100 messages
of its conversation arrive between two fetches (at 50/s and 2 agents: fetches 4 s apart, which
happens only when the server is overloaded; such markers count as never seen).

Load. An open-loop, constant-rate generator (bench/_openloop.send_planned) posts signed
Instagram webhook deliveries, one DM each, at --rate for --seconds, customers in turn; each
text carries a unique marker and its scheduled send time. Latency = the time the marker
appeared on its agent's page − the scheduled send time (not the actual one: a stalled server
delays every request meant to go meanwhile, coordinated-omission-correct). The browser's
clock is compared with this process's at the start of each round and the offset removed.

Modes, interleaved (push, poll, push, poll …, --pairs pairs, fresh pages each round):
- push: the page as shipped: the inbox socket (/ws/inbox/) says what changed, the page fetches
  the fragments (static/inbox-live.js).
- poll: the same page with its socket refused (Playwright closes /ws/inbox/ at every attempt),
  so inbox-live.js falls back to the one-second poll of /inbox/changes/: today's path.

Before each round the bench waits until no stored delivery is left for the workers; after the
generator stops it waits up to --grace s for the markers still missing.
Printed per round: p50 / p95 / max and markers never seen (must be 0), the pages' changes
requests, CPU seconds used by uvicorn and by the workers; per mode the median
and range across rounds; the per-pair ratio push / poll of p95 (median and range); the goal
(push p95 < 1 s in every push round). For the last round of each mode, where the time goes,
per marker: webhook acknowledged; queue wait (stored delivery → a worker takes it, marking it
processed in the transaction that stores its items: the dispatcher's batching, the broker, the
deliveries of the same batch before it); processing (taken → its item created); then until the
page asks (the rest of the transaction and its commit; push: the socket's note, then waiting for
a fetch already in flight or the spacing between fetches; poll: waiting for the next poll);
the changes request (start → end of answer, in the browser's Resource Timing);
and swap into the DOM (end of answer → marker seen).
"""

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _openloop  # noqa: E402
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
IG = "17841400000000003"
PASSWORD = "bench-agent-password-3"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MARKER = re.compile(r"mk(\d+)x(\d+)z")

# Installed before the page's own scripts. Records when each marker of this round first
# appears in the DOM, when the inbox socket says a conversation changed, and keeps every
# Resource Timing entry (the default buffer holds 250, a round makes more requests).
OBSERVER = """
(() => {
  const round = "__ROUND__";
  const now = () => performance.timeOrigin + performance.now();
  const screen = { seen: {}, changed: [] };
  window.__screen = screen;
  performance.setResourceTimingBufferSize(1000000);
  const pattern = /mk(\\d+)x(\\d+)z/g;
  function scan(text, at) {
    if (!text) { return; }
    pattern.lastIndex = 0;
    let found;
    while ((found = pattern.exec(text))) {
      if (found[1] === round && !(found[2] in screen.seen)) { screen.seen[found[2]] = at; }
    }
  }
  new MutationObserver((records) => {
    const at = now();
    for (const record of records) {
      if (record.type === "characterData") { scan(record.target.data, at); continue; }
      for (const node of record.addedNodes) { scan(node.textContent, at); }
    }
  }).observe(document, { childList: true, subtree: true, characterData: true });
  const Native = window.WebSocket;
  function Watched(url, protocols) {
    const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    socket.addEventListener("message", (event) => {
      try {
        const data = JSON.parse(event.data);
        if (data.type === "changed") { screen.changed.push([now(), data.conversation_id]); }
      } catch (error) { /* not ours to judge */ }
    });
    return socket;
  }
  Watched.prototype = Native.prototype;
  window.WebSocket = Watched;
})();
"""


# Pure helpers (tests/performance/test_dm_to_agent_screen.py) --------------------


def marker(round_number: int, n: int) -> str:
    return f"mk{round_number}x{n}z"


def dm_text(round_number: int, n: int, intended: float) -> str:
    """The customer's message: its marker and its scheduled send time (epoch ms)."""
    return f"Hello, where is my order? {marker(round_number, n)} sent {intended * 1000:.0f}"


def markers_in(text: str, round_number: int) -> set[int]:
    return {int(n) for r, n in MARKER.findall(text) if int(r) == round_number}


def mode_order(pairs: int) -> list[str]:
    return ["push", "poll"] * pairs


def percentile(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, int(q * len(values) + 0.999999) - 1))]


def latencies_ms(scheduled: dict[int, float], seen_ms: dict[int, float]) -> tuple[list[float], list[int]]:
    """Seen (epoch ms) − scheduled (epoch s), sorted; and the markers never seen."""
    found = sorted(seen_ms[n] - scheduled[n] * 1000 for n in scheduled if n in seen_ms)
    return found, sorted(n for n in scheduled if n not in seen_ms)


def median_and_range(values) -> str:
    return f"{statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})"


def delivered_by(fetches: list[tuple[float, float]], seen: float) -> tuple[float, float] | None:
    """The request whose answer put a marker on screen: the last one answered at or before it appeared."""
    answered = [fetch for fetch in fetches if fetch[1] <= seen]
    return max(answered, key=lambda fetch: fetch[1]) if answered else None


# The run ---------------------------------------------------------------------


def delivery(customer_id: str, mid: str, text: str, at_ms: int) -> bytes:
    event = {
        "sender": {"id": customer_id},
        "recipient": {"id": IG},
        "timestamp": at_ms,
        "message": {"mid": mid, "text": text},
    }
    return json.dumps({"object": "instagram", "entry": [{"id": IG, "time": at_ms, "messaging": [event]}]}).encode()


def signed(url, body: bytes) -> bytes:
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, SECRET)}
    return _openloop.request_bytes(url, body, headers)


def seed(agent_count: int):
    """Inbox, agents, Business Hours, three Rules, the Instagram Entry Point; returns the agents' emails."""
    import datetime

    from channels_app.meta.models import InstagramAccount
    from channels_app.models import Channel, EntryPoint
    from conversations.models import BusinessHours, BusinessHoursInterval, Rule
    from inbox.models import AgentAvailability, Inbox, InboxMembership, User

    messaging = Channel.objects.get(kind=Channel.Kind.MESSAGING)
    hours = BusinessHours.objects.create(name="Always open", timezone="UTC", auto_reply_text="We are closed now.")
    for weekday in range(7):
        BusinessHoursInterval.objects.create(
            business_hours=hours, weekday=weekday, opens_at=datetime.time(0), closes_at=datetime.time(0)
        )
    inbox = Inbox.objects.create(name="Instagram", channel=messaging, business_hours=hours)
    messaging.default_inbox = inbox
    messaging.save(update_fields=["default_inbox"])
    emails = []
    for k in range(agent_count):
        agent = User.objects.create_user(f"agent{k}@bench.test", PASSWORD, role=User.Role.AGENT, first_name=f"Agent{k}")
        InboxMembership.objects.create(inbox=inbox, user=agent)
        AgentAvailability.objects.create(user=agent, channel=messaging, status=AgentAvailability.Status.AVAILABLE)
        emails.append(agent.email)
    entry_point = EntryPoint.objects.create(channel=messaging, kind="instagram", display_name="@bench", external_id=IG)
    InstagramAccount.objects.create(
        entry_point=entry_point, page_id="p3", page_name="Bench", ig_user_id=IG, username="bench", page_access_token="t"
    )
    Rule.objects.create(name="refunds", channel=messaging, words="refund, money back", note_text="Refund question")
    Rule.objects.create(name="vip", entry_point=entry_point, words="vip", note_text="VIP")
    Rule.objects.create(name="outside hours", channel=messaging, hours=Rule.Hours.OUTSIDE, note_text="Outside hours")
    return emails


def wait_for(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    sys.exit(f"gave up waiting for {what}")


def answers(url):
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def sign_in(browser, base, email):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/inbox/.*"))
    state = context.storage_state()
    context.close()
    return state


def open_page(browser, state, base, conversation_id, round_number, mode):
    context = browser.new_context(storage_state=state)
    page = context.new_page()
    page.add_init_script(OBSERVER.replace("__ROUND__", str(round_number)))
    if mode == "poll":
        # The socket cannot connect: every attempt is closed, as when a proxy drops WebSockets.
        page.route_web_socket(re.compile(r"/ws/inbox/"), lambda socket: socket.close())
    page.goto(f"{base}/inbox/c/{conversation_id}/")
    live = "up" if mode == "push" else "down"
    # Polled from here: wait_for_function evaluates a string, which the page's CSP (no eval) refuses.
    wait_for(lambda: page.evaluate("document.documentElement.dataset.live") == live, 20, f"the page's socket {live}")
    return context, page


def clock_offset_ms(page) -> float:
    """Browser epoch ms − this process's, at the same instant (half the round trip)."""
    before = time.time()
    browser_now = page.evaluate("performance.timeOrigin + performance.now()")
    after = time.time()
    return browser_now - (before + after) / 2 * 1000


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    """utime + stime of these processes and their direct children (uvicorn's workers)."""
    total = 0
    for pid in pids:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        for each in [pid, *map(int, children)]:
            try:
                fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def wait_for_drain(timeout=180):
    """Until no stored delivery waits for a worker: a round must not inherit the last one's backlog."""
    from channels_app.meta.models import WebhookEvent

    deadline = time.monotonic() + timeout
    while WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).exists():
        if time.monotonic() > deadline:
            print(f"  (backlog not drained after {timeout} s; the round starts anyway)", flush=True)
            return
        time.sleep(0.5)


def run_round(r, mode, args, browser, states, base, url, customers, conversation_ids, server_pid, worker_pids):
    wait_for_drain()
    cpu_before = cpu_seconds([server_pid]), cpu_seconds(worker_pids)
    pages = [open_page(browser, states[k], base, conversation_ids[k], r, mode) for k in range(args.agents)]
    offsets = [clock_offset_ms(page) for _, page in pages]
    count = int(args.rate * args.seconds)
    start = time.time() + 1.0
    scheduled, planned, mids = {}, [], {}
    for n in range(count):
        intended = start + n / args.rate
        scheduled[n] = intended
        mids[f"mid.scr.{RUN}.{r}.{n}"] = n
        body = delivery(
            customers[n % args.agents], f"mid.scr.{RUN}.{r}.{n}", dm_text(r, n, intended), int(intended * 1000)
        )
        planned.append((intended, signed(url, body)))
    answered = []
    sender = threading.Thread(target=lambda: answered.extend(asyncio.run(_openloop.send_planned(url, planned))))
    sender.start()
    sender.join()
    deadline = time.monotonic() + args.grace

    def seen_on_pages():
        return [page.evaluate("window.__screen.seen") for _, page in pages]

    while True:
        seen_by_page = seen_on_pages()
        seen = {}
        for k, page_seen in enumerate(seen_by_page):
            for key, at in page_seen.items():
                n = int(key)
                if n % args.agents == k:  # the page that has this customer's conversation open
                    seen[n] = at - offsets[k]
        if len(seen) == count or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    # Unseen but stored by now: late (still queued when the grace ran out would not be stored),
    # pushed out of the 100 newest items before a fetch, or passed by the page's cursor.
    from conversations.models import TimelineItem

    unseen = [mid for mid, n in mids.items() if n not in seen]
    stored_unseen = TimelineItem.objects.filter(external_id__in=unseen).count()
    screens = [page.evaluate(SCREEN_STATE) for _, page in pages]
    cpu = cpu_seconds([server_pid]) - cpu_before[0], cpu_seconds(worker_pids) - cpu_before[1]
    for context, _ in pages:
        context.close()
    found, missing = latencies_ms(scheduled, seen)
    failures = sum(1 for _, ok in answered if not ok)
    return {
        "round": r,
        "mode": mode,
        "sent": count,
        "failures": failures,
        "latencies": found,
        "missing": missing,
        "stored_unseen": stored_unseen,
        "cpu": cpu,
        "offsets": offsets,
        "scheduled": scheduled,
        "seen": seen,
        "acks": {n: latency * 1000 for n, (latency, ok) in enumerate(answered) if ok},
        "mids": mids,
        "screens": screens,
    }


SCREEN_STATE = """
(() => ({
  changed: window.__screen.changed,
  fetches: performance.getEntriesByType("resource")
    .filter((entry) => entry.name.includes("/inbox/changes/"))
    .map((entry) => [performance.timeOrigin + entry.startTime, performance.timeOrigin + entry.responseEnd]),
}))()
"""


def where_the_time_goes(result, args):
    """Per marker of one round: ack, queue wait, processing, until the page asks, request, swap."""
    from channels_app.meta.models import WebhookEvent
    from conversations.models import TimelineItem

    mids = result["mids"]
    items = dict(TimelineItem.objects.filter(external_id__in=list(mids)).values_list("external_id", "created_at"))
    events = {}
    start = min(result["scheduled"].values()) - 5
    import datetime

    since = datetime.datetime.fromtimestamp(start, tz=datetime.UTC)
    for body, received_at, processed_at in WebhookEvent.objects.filter(received_at__gte=since).values_list(
        "body", "received_at", "processed_at"
    ):
        mid = json.loads(body)["entry"][0]["messaging"][0]["message"]["mid"]
        if mid in mids:
            events[mids[mid]] = (
                received_at.timestamp() * 1000,
                processed_at.timestamp() * 1000 if processed_at else None,
            )
    parts = {name: [] for name in PARTS}
    for mid, n in mids.items():
        if n not in result["seen"] or n not in events or mid not in items or events[n][1] is None:
            continue
        k = n % args.agents
        offset = result["offsets"][k]
        screen = result["screens"][k]
        seen = result["seen"][n]  # on this process's clock
        received, processed = events[n]
        created = items[mid].timestamp() * 1000
        fetch = delivered_by([(a - offset, b - offset) for a, b in screen["fetches"]], seen)
        if fetch is None:
            continue
        parts["webhook acknowledged"].append(result["acks"].get(n, float("nan")))
        # A worker marks the delivery processed as it takes it, in its transaction (the mark and the
        # items commit together): stored -> taken -> item created -> (commit) -> the page asks.
        parts["queue wait"].append(processed - received)
        parts["processing"].append(created - processed)
        parts["until the page asks"].append(fetch[0] - created)
        parts["changes request"].append(fetch[1] - fetch[0])
        parts["swap into the DOM"].append(seen - fetch[1])
    return parts


PARTS = [
    "webhook acknowledged",
    "queue wait",
    "processing",
    "until the page asks",
    "changes request",
    "swap into the DOM",
]

RUN = uuid.uuid4().hex[:6]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50, help="DMs per second, constant")
    parser.add_argument("--seconds", type=float, default=20, help="length of each round's load")
    parser.add_argument("--pairs", type=int, default=3, help="push/poll pairs of rounds, interleaved")
    parser.add_argument("--agents", type=int, default=2, help="agents signed in, one page and one customer each")
    parser.add_argument("--grace", type=float, default=30, help="seconds to wait for missing markers after the load")
    parser.add_argument("--web-workers", type=int, default=1, help="uvicorn processes")
    parser.add_argument("--port", type=int, default=8173)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/3", help="broker, cache and channel layer")
    parser.add_argument("--database", default="bench_h3", help="PostgreSQL database, dropped and created")
    args = parser.parse_args()

    fake_meta = FakeSendApi()  # customer-profile look-ups of new customers
    database_url = recreate_database(args.database)
    env = environment(
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=args.redis,
        CACHE_URL=args.redis,
        CHANNEL_LAYER_URL=args.redis,
        CHANNEL_LAYER_PREFIX=f"bench-screen-{RUN}",
        META_APP_SECRET=SECRET,
        META_GRAPH_URL=fake_meta.url,
        CONN_MAX_AGE=600,
        STATIC_ROOT=f"/tmp/bench-screen-static-{RUN}",
    )
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    apply_environment(env)
    import django

    django.setup()
    from config.celery import app
    from conversations.models import Conversation

    emails = seed(args.agents)
    base = f"http://127.0.0.1:{args.port}"
    url = f"{base}/webhooks/meta/"
    logs = Path(tempfile.mkdtemp(prefix=f"bench-screen-{RUN}-"))
    log = open(logs / "uvicorn.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [PYTHON, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(args.port)]
        + ["--workers", str(args.web_workers), "--log-level", "warning"],
        cwd=ROOT,
        # No persistent database connections under ASGI: each request runs in a thread of its
        # own, and every such thread would keep its connection open (Django ticket #33497);
        # with CONN_MAX_AGE the server used up PostgreSQL's max_connections within a round.
        env={**env, "CONN_MAX_AGE": "0"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    workers = start_workers(env, 2, queues="celery,media", media_worker=False, log_dir=logs)
    worker_pids = [worker.pid for worker in workers]
    print(f"logs of uvicorn and the workers: {logs}", flush=True)
    results = []
    try:
        wait_for(lambda: answers(f"{base}/accounts/login/"), 60, "uvicorn")
        wait_for(lambda: len(app.control.ping(timeout=1.0)) >= 2, 60, "two Celery workers")
        # One conversation per agent: its customer's first message, then the page opens it.
        customers = [f"93{RUN_NUMBER:06d}{k:07d}" for k in range(args.agents)]
        for k, customer in enumerate(customers):
            body = delivery(customer, f"mid.scr.{RUN}.first.{k}", "Hi there", int(time.time() * 1000))
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, SECRET)}
            requests.post(url, data=body, headers=headers, timeout=10).raise_for_status()
        conversations = Conversation.objects.filter(customer__identities__external_id__in=customers)
        wait_for(lambda: conversations.count() == args.agents, 60, "the first conversations")
        by_customer = dict(conversations.values_list("customer__identities__external_id", "pk"))
        conversation_ids = [by_customer[customer] for customer in customers]

        from playwright.sync_api import sync_playwright

        # Playwright's sync API runs an event loop in this thread; our ORM reads between its calls are plain sync.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            states = [sign_in(browser, base, email) for email in emails]
            for r, mode in enumerate(mode_order(args.pairs), start=1):
                result = run_round(
                    r, mode, args, browser, states, base, url, customers, conversation_ids, server.pid, worker_pids
                )
                results.append(result)
                lat = result["latencies"]
                offsets = ", ".join(f"{offset:+.1f}" for offset in result["offsets"])
                fetches = sum(len(screen["fetches"]) for screen in result["screens"])
                print(
                    f"round {r} {mode}: {result['sent']} DMs, {result['failures']} webhook failures, "
                    f"p50 {percentile(lat, 0.5):.0f} ms, p95 {percentile(lat, 0.95):.0f} ms, "
                    f"max {percentile(lat, 1.0):.0f} ms, never seen {len(result['missing'])} "
                    f"({sum(1 for n in result['missing'] if n in result['acks'])} of them acknowledged, "
                    f"{result['stored_unseen']} stored by the end of the grace period); "
                    f"{fetches} changes requests from the pages; CPU s: web {result['cpu'][0]:.1f}, "
                    f"workers {result['cpu'][1]:.1f}; browser clock offsets {offsets} ms; "
                    f"load {Path('/proc/loadavg').read_text().split()[0]}",
                    flush=True,
                )
            browser.close()
    finally:
        stop(workers)
        server.terminate()
        server.wait(timeout=10)
        fake_meta.close()
    report(results, args)


RUN_NUMBER = os.getpid() % 1_000_000


def report(results, args):
    print(
        f"\n{os.cpu_count()} CPUs; {args.rate:g} DMs/s for {args.seconds:g} s a round, {args.pairs} push/poll pairs, "
        f"{args.agents} agents (one page, one open conversation each), uvicorn x {args.web_workers}, 2 Celery workers, "
        f"grace {args.grace:g} s; latency = marker in the page's DOM − scheduled send time"
    )
    print(f"{'mode':<6}{'p50 ms':>22}{'p95 ms':>22}{'max ms':>22}{'never seen':>12}")
    by_mode = {}
    for mode in ("push", "poll"):
        rounds = [r for r in results if r["mode"] == mode]
        stats = [
            (
                percentile(r["latencies"], 0.5),
                percentile(r["latencies"], 0.95),
                r["latencies"][-1] if r["latencies"] else float("nan"),
            )
            for r in rounds
        ]
        by_mode[mode] = stats
        print(
            f"{mode:<6}{median_and_range([s[0] for s in stats]):>22}{median_and_range([s[1] for s in stats]):>22}"
            f"{median_and_range([s[2] for s in stats]):>22}{sum(len(r['missing']) for r in rounds):>12}"
        )
    ratios = [push[1] / poll[1] for push, poll in zip(by_mode["push"], by_mode["poll"], strict=True)]
    print(
        f"p95 push / poll, per pair: median {statistics.median(ratios):.2f} (range {min(ratios):.2f}–{max(ratios):.2f})"
    )
    missing = sum(len(r["missing"]) for r in results)
    met = all(s[1] < 1000 for s in by_mode["push"]) and missing == 0
    push_p95 = ", ".join(f"{s[1]:.0f}" for s in by_mode["push"])
    print(
        f"goal (issue #22.3, #17 b): push p95 < 1000 ms in every push round and nothing lost: "
        f"{'MET' if met else 'NOT MET'} (push p95 {push_p95} ms; never seen {missing})"
    )
    for mode in ("push", "poll"):
        last = [r for r in results if r["mode"] == mode][-1]
        parts = where_the_time_goes(last, args)
        total = len(parts[PARTS[0]])
        print(f"\nwhere the time goes, round {last['round']} ({mode}), {total} markers, ms: median / p95")
        for name in PARTS:
            values = sorted(v for v in parts[name] if v == v)
            print(f"  {name:<24}{statistics.median(values):>8.0f}{percentile(values, 0.95):>8.0f}")


if __name__ == "__main__":
    main()
