"""Chat push on the production-shaped stack, started by this script.

    .venv/bin/python bench/realtime_stack.py [--messages 1000] [--pairs 6] [--poll-messages 30]
        [--warmup 10] [--connections 2000] [--small 200] [--broadcasts 6]
        [--database bench_realtime] [--redis redis://127.0.0.1:6379/2] [--port 8176] [--keep]

PostgreSQL and Redis must be running on this machine. The script creates, migrates and
seeds its own database (`--database`, dropped at the end unless `--keep`), uses one Redis
database (`--redis`) as the Celery broker, the cache and the channels-redis layer (queues
and layer keys with prefixes of the run's own, deleted at the end), and starts uvicorn
(one process, as the Procfile) and two `celery worker` processes. It waits for each to
answer (HTTP, Celery ping) rather than sleeping.

(a) visitor message → the agent's page has it. Per message: the visitor's widget socket
sends it; with push, the agent's inbox socket is told the conversation changed and the page's
fetch of the changed fragments (GET /inbox/changes/ from the page's cursor, with the open
conversation, as static/inbox-live.js does) returns HTML containing the text; with the poll
fallback (socket down) the page asks the same endpoint every second on its own timer and the
first answer that contains the text ends the message. Browser rendering is not included.
Rounds alternate push, poll, push, poll... (`--pairs` pairs after one warm-up pair of
`--warmup` messages each). The push rounds share `--messages` between them and send each
message as soon as the previous one is shown; a poll round sends `--poll-messages`, each
after a random pause of up to a second so that it lands anywhere in the poll period. Both
modes start a new visitor (a new conversation, whose first message opens it and is not
counted) every `--poll-messages` messages: the fetch renders the open conversation's
timeline, so both must fetch conversations of the same lengths.

(c) idle agent sockets on one uvicorn process (a fresh one, after (a)). `--small` sockets of
one agent, then `--connections` - `--small` of another, each open and idle. The server
process's RSS is read before, after the small set and after all of them. The first agent is
a member of two inboxes (Small, All), the second of All only, so one group_send to All
reaches every socket and one to Small reaches the small set: broadcasts alternate Small,
All (`--broadcasts` pairs), each timed from the group_send call until the last socket has
the note. The sockets' client is this one Python process, on the same machine.
"""

import argparse
import asyncio
import json
import random
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._agent_page import AgentPage  # noqa: E402
from bench._harness import (  # noqa: E402
    PYTHON,
    ROOT,
    apply_environment,
    drop_database,
    environment,
    manage,
    percentile,
    recreate_database,
    start_workers,
    stop,
    wait_for_http,
    wait_for_workers,
)

SITE = "https://shop.bench.example"  # the widget's allowed origin (the company's website)
POLL_SECONDS = 1.0  # the page's fallback poll: hx-trigger="every 1s" in templates/inbox/_poller.html
GOAL_P95_MS = 300
WAIT = 30  # seconds for one message, one socket or one broadcast before the run fails
OPENING_AT_ONCE = 50  # socket handshakes in flight at a time in (c)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000, help="(a) messages over all push rounds")
    parser.add_argument("--pairs", type=int, default=6, help="(a) push+poll round pairs measured")
    parser.add_argument(
        "--poll-messages", type=int, default=30, help="(a) messages per poll round and per conversation"
    )
    parser.add_argument("--warmup", type=int, default=10, help="(a) messages per warm-up round (one pair, not counted)")
    parser.add_argument("--connections", type=int, default=2000, help="(c) idle sockets in all")
    parser.add_argument("--small", type=int, default=200, help="(c) the smaller set of sockets compared")
    parser.add_argument("--broadcasts", type=int, default=6, help="(c) small+all broadcast pairs")
    parser.add_argument("--database", default="bench_realtime", help="PostgreSQL database (dropped and created)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/2", help="broker, cache and channel layer")
    parser.add_argument("--port", type=int, default=8176, help="uvicorn's port")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.messages < args.pairs or args.poll_messages < 1 or args.broadcasts < 1:
        parser.error("--pairs, --poll-messages and --broadcasts must be at least 1, --messages at least --pairs")
    if not 0 < args.small < args.connections:
        parser.error("--small must be between 0 and --connections")
    return args


def round_sizes(total: int, rounds: int) -> list[int]:
    """`total` shared by `rounds` as evenly as possible (the first rounds get the remainder)."""
    return [total // rounds + (1 if n < total % rounds else 0) for n in range(rounds)]


def describe(values_ms) -> str:
    return (
        f"p50 {statistics.median(values_ms):6.1f} ms, p95 {percentile(values_ms, 95):6.1f} ms, "
        f"max {max(values_ms):6.1f} ms"
    )


def median_range(values) -> str:
    return f"{statistics.median(values):.2f} (range {min(values):.2f}-{max(values):.2f})"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def raise_file_limit(wanted: int) -> int:
    """Raise this process's open-file limit (children inherit it) to `wanted`, or the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- The page, as static/inbox-live.js and the poller behave ------------------------------------


class Visitor:
    """One visitor's widget socket."""

    def __init__(self, socket):
        self.socket = socket
        self.run = secrets.token_hex(4)
        self.sent = 0

    @classmethod
    async def open(cls, ws_base, widget_id, refused):
        return cls(await open_socket(f"{ws_base}/ws/chat/{widget_id}/", {"Origin": SITE}, "ready", refused))

    async def send(self) -> tuple[str, str]:
        self.sent += 1
        client_id = f"b{self.run}n{self.sent}"
        text = f"bench {self.run} message {self.sent}"
        await self.socket.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
        return client_id, text

    async def acknowledged(self, client_id):
        """The item stored (the widget's ack); other notes on the socket are skipped."""
        while True:
            note = json.loads(await asyncio.wait_for(self.socket.recv(), WAIT))
            if note["type"] == "ack" and note.get("client_id") == client_id:
                return note
            if note["type"] == "error":
                raise RuntimeError(f"the widget refused a message: {note}")


async def open_socket(url, headers, first_type, refused):
    """A socket whose first note is `first_type` (after `hello` for the widget); tried again when the
    server fails the handshake (e.g. no free database connection), counted in `refused[0]`."""
    for _ in range(5):
        try:
            socket = await websockets.connect(url, additional_headers=headers, open_timeout=WAIT)
            if first_type == "ready":
                await socket.send(json.dumps({"type": "hello", "token": "", "page_url": f"{SITE}/bench"}))
            while (note := json.loads(await asyncio.wait_for(socket.recv(), WAIT)))["type"] != first_type:
                if note["type"] == "error":
                    break
            else:
                return socket
        except (websockets.InvalidStatus, websockets.ConnectionClosed):
            pass
        refused[0] += 1
    raise RuntimeError(f"the server refused {url} five times")


async def drain(socket):
    """Skip notes about changes already shown (the page has fetched them)."""
    try:
        while True:
            await asyncio.wait_for(socket.recv(), timeout=0.05)
    except TimeoutError:
        pass


async def push_round(base, ws_base, cookie, widget_id, count, per_conversation):
    """`count` messages with the agent's socket up, from a new visitor every `per_conversation`.

    Each visitor's first message opens the conversation (the agent opens it on the page) and is not
    counted. Returns the latencies in ms, for each message how long its first note took to arrive,
    and how many fetches failed (each tried again at once, as if the next note had come) and
    handshakes were refused."""
    page = AgentPage(base, cookie)
    latencies, notes, refused = [], [], [0]
    inbox_socket = await open_socket(f"{ws_base}/ws/inbox/", {"Origin": base, "Cookie": cookie}, "hello", refused)
    async with inbox_socket:
        for share in round_sizes(count, -(-count // per_conversation)):
            visitor = await Visitor.open(ws_base, widget_id, refused)
            try:
                client_id, _ = await visitor.send()
                ack = await visitor.acknowledged(client_id)
                page.open_id = await asyncio.to_thread(conversation_of, ack["item"]["id"])
                await asyncio.to_thread(page.fetch_changes, "push")
                for _ in range(share):
                    await drain(inbox_socket)
                    started = time.perf_counter()
                    client_id, text = await visitor.send()
                    noted = None
                    while True:  # a note, then the fetch; again if the note was about an earlier change
                        note = json.loads(await asyncio.wait_for(inbox_socket.recv(), WAIT))
                        if note["type"] != "changed":
                            continue
                        noted = noted or time.perf_counter()
                        html = None
                        while html is None:
                            html = await asyncio.to_thread(page.fetch_changes, "push")
                        if text in html:
                            break
                        if time.perf_counter() - started > WAIT:
                            raise RuntimeError(f"message {text!r} not on the page after {WAIT} s")
                    latencies.append((time.perf_counter() - started) * 1000)
                    notes.append((noted - started) * 1000)
                    await visitor.acknowledged(client_id)
            finally:
                await visitor.socket.close()
    return latencies, notes, page.failed + refused[0]


async def poll_round(base, ws_base, cookie, widget_id, count, per_conversation=None):
    """`count` messages (after one opening message) with no agent socket: the page polls every second.

    One visitor (a poll round is one conversation long). Returns the latencies in ms, no notes
    (nothing is pushed), and how many polls failed (the page asks again at the next tick) and
    handshakes were refused."""
    page = AgentPage(base, cookie)
    waiting = {}  # text -> future of the time the page first had it
    stopped = asyncio.Event()

    async def poller():
        tick = time.perf_counter()
        while not stopped.is_set():
            html = await asyncio.to_thread(page.fetch_changes) or ""
            answered = time.perf_counter()
            for text, seen in list(waiting.items()):
                if text in html and not seen.done():
                    seen.set_result(answered)
            tick += POLL_SECONDS  # htmx's timer: every second, whether or not the last answer was slow
            await asyncio.sleep(max(tick - time.perf_counter(), 0))

    refused = [0]
    visitor = await Visitor.open(ws_base, widget_id, refused)
    polling = asyncio.create_task(poller())
    latencies = []
    try:
        for n in range(count + 1):
            await asyncio.sleep(random.uniform(0, POLL_SECONDS))  # noqa: S311 (anywhere in the poll period)
            started = time.perf_counter()
            client_id, text = await visitor.send()
            if not n:  # the first one opens the conversation (the agent clicks it); not counted
                ack = await visitor.acknowledged(client_id)
                page.open_id = await asyncio.to_thread(conversation_of, ack["item"]["id"])
                continue
            seen = waiting[text] = asyncio.get_running_loop().create_future()
            await visitor.acknowledged(client_id)
            shown = await asyncio.wait_for(seen, WAIT)
            del waiting[text]
            latencies.append((shown - started) * 1000)
    finally:
        stopped.set()
        await polling
        await visitor.socket.close()
    return latencies, [], page.failed + refused[0]


def conversation_of(item_id: int) -> int:
    from conversations.models import TimelineItem

    return TimelineItem.objects.values_list("conversation_id", flat=True).get(pk=item_id)


async def measure_latency(args, base, cookie, widget_id):
    ws_base = base.replace("http", "ws", 1)
    rounds = {"push": push_round, "poll": poll_round}
    print(
        f"(a) visitor message → agent's page has it: {args.pairs} pairs of rounds (push, poll, ...) after one "
        f"warm-up pair of {args.warmup}; push rounds share {args.messages} messages, poll rounds "
        f"{args.poll_messages} each; a new visitor (conversation) every {args.poll_messages} messages in both"
    )
    for mode in ("push", "poll"):
        await rounds[mode](base, ws_base, cookie, widget_id, args.warmup, args.poll_messages)
    results = {"push": [], "poll": []}
    notes, failed = [], 0
    for pair, push_count in enumerate(round_sizes(args.messages, args.pairs)):
        for mode, count in (("push", push_count), ("poll", args.poll_messages)):
            latencies, round_notes, round_failed = await rounds[mode](
                base, ws_base, cookie, widget_id, count, args.poll_messages
            )
            results[mode].append(latencies)
            notes += round_notes
            failed += round_failed
            print(f"  pair {pair + 1} {mode}: {len(latencies):4} messages, {describe(latencies)}")
    every_push = [value for latencies in results["push"] for value in latencies]
    every_poll = [value for latencies in results["poll"] for value in latencies]
    p95 = percentile(every_push, 95)
    print(f"  push, all {len(every_push)} messages: {describe(every_push)}")
    print(f"    of which sent → the inbox socket's note: {describe(notes)}; the rest is the fragment fetch")
    print(
        f"  goal p95 < {GOAL_P95_MS} ms: {'met' if p95 < GOAL_P95_MS else 'NOT met'} (p95 {p95:.1f} ms); "
        f"poll, all {len(every_poll)} messages: {describe(every_poll)}"
    )
    for name, statistic in (("p50", statistics.median), ("p95", lambda values: percentile(values, 95))):
        ratios = [
            statistic(push) / statistic(poll) for push, poll in zip(results["push"], results["poll"], strict=True)
        ]
        print(f"  ratio push / poll, {name} per pair: median {median_range(ratios)}")
    print(f"  fetches answered 5xx and handshakes failed (tried again; fetches within the latencies): {failed}")


# --- (c) idle sockets -------------------------------------------------------------------------------


class IdleSockets:
    """Agents' inbox sockets, opened and left idle; each notes when a broadcast's note arrives."""

    def __init__(self, ws_base, base):
        self.ws_base = ws_base
        self.base = base
        self.sockets = []
        self.readers = []
        self.arrivals = {}  # broadcast id -> arrival times
        self.expected = {}  # broadcast id -> (how many, event set when all arrived)
        self.refused = [0]  # handshakes the server failed, tried again

    async def open(self, cookie, count):
        gate = asyncio.Semaphore(OPENING_AT_ONCE)

        async def one():
            async with gate:
                headers = {"Origin": self.base, "Cookie": cookie}
                return await open_socket(f"{self.ws_base}/ws/inbox/", headers, "hello", self.refused)

        opened = await asyncio.gather(*(one() for _ in range(count)))
        self.sockets += opened
        self.readers += [asyncio.create_task(self._read(socket)) for socket in opened]

    async def _read(self, socket):
        async for frame in socket:
            note = json.loads(frame)
            if note["type"] != "changed":
                continue
            broadcast = note["conversation_id"]
            self.arrivals.setdefault(broadcast, []).append(time.perf_counter())
            count, done = self.expected[broadcast]
            if len(self.arrivals[broadcast]) == count:
                done.set()

    async def broadcast(self, layer, group, count) -> tuple[float, float]:
        """One group_send; (ms until the call returned, ms until the last of `count` sockets had it)."""
        broadcast = 10**12 + len(self.expected)  # an id no conversation has
        self.expected[broadcast] = (count, asyncio.Event())
        started = time.perf_counter()
        await layer.group_send(group, {"type": "conversation.changed", "conversation_id": broadcast, "inbox_id": 0})
        sent = time.perf_counter()
        await asyncio.wait_for(self.expected[broadcast][1].wait(), WAIT)
        return (sent - started) * 1000, (max(self.arrivals[broadcast]) - started) * 1000

    async def close(self):
        await asyncio.gather(*(socket.close() for socket in self.sockets), return_exceptions=True)
        await asyncio.gather(*self.readers, return_exceptions=True)


async def measure_idle(args, base, server_pid, small_cookie, all_cookie, small_group, all_group):
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    ws_base = base.replace("http", "ws", 1)
    print(
        f"(c) idle agent sockets on one uvicorn process: {args.small}, then {args.connections} in all; "
        f"{args.broadcasts} pairs of broadcasts (to {args.small}, to {args.connections})"
    )
    # Warm-up: the first sockets and broadcast load code that every later socket shares.
    warm = IdleSockets(ws_base, base)
    await warm.open(small_cookie, 2)
    await warm.broadcast(layer, small_group, 2)
    await warm.close()
    before = rss_kib(server_pid)
    sockets = IdleSockets(ws_base, base)
    await sockets.open(small_cookie, args.small)
    with_small = rss_kib(server_pid)
    await sockets.open(all_cookie, args.connections - args.small)
    with_all = rss_kib(server_pid)
    print(
        f"  server RSS: {before / 1024:.1f} MiB before, {with_small / 1024:.1f} MiB with {args.small}, "
        f"{with_all / 1024:.1f} MiB with {args.connections}"
    )
    print(
        f"  per connection: {(with_small - before) / args.small:.1f} KiB over the first {args.small}, "
        f"{(with_all - before) / args.connections:.1f} KiB over all {args.connections}"
    )
    results = {"small": [], "all": []}
    try:
        for _ in range(args.broadcasts):
            for name, group, count in (("small", small_group, args.small), ("all", all_group, args.connections)):
                results[name].append(await sockets.broadcast(layer, group, count))
        for name, count in (("small", args.small), ("all", args.connections)):
            sends = [send for send, _ in results[name]]
            lasts = [last for _, last in results[name]]
            print(
                f"  broadcast to {count:5} sockets: last socket has it after median {median_range(lasts)} ms; "
                f"group_send returned after median {median_range(sends)} ms"
            )
        ratios = [all_[1] / small[1] for small, all_ in zip(results["small"], results["all"], strict=True)]
        print(f"  ratio broadcast time {args.connections} / {args.small} per pair: median {median_range(ratios)}")
        print(f"  handshakes the server failed (tried again): {sockets.refused[0]}")
    finally:
        await sockets.close()


# --- The stack ---------------------------------------------------------------------------------------


def seed():
    """A chat widget routed to the Chat inbox with an available agent (a); two agents and two inboxes (c)."""
    from django.conf import settings
    from django.test import Client

    from channels_app.chat.models import ChatWidget
    from channels_app.models import Channel, EntryPoint
    from inbox.availability import set_availability
    from inbox.models import AgentAvailability, Inbox, InboxMembership, User

    chat, _ = Channel.objects.get_or_create(kind=Channel.Kind.CHAT)
    inboxes = {name: Inbox.objects.create(name=name, channel=chat) for name in ("Chat", "Small", "All")}
    chat.default_inbox = inboxes["Chat"]
    chat.save(update_fields=["default_inbox"])
    entry_point = EntryPoint.objects.create(
        channel=chat, kind=EntryPoint.Kind.CHAT_WIDGET, display_name="Bench chat", external_id="bench-chat"
    )
    widget = ChatWidget.objects.create(entry_point=entry_point, name="Bench chat", allowed_origins=[SITE])
    cookies = {}
    for email, inbox_names in (
        ("agent@bench.test", ["Chat"]),
        ("small@bench.test", ["Small", "All"]),
        ("all@bench.test", ["All"]),
    ):
        user = User.objects.create_user(email, secrets.token_urlsafe(16), first_name=email.split("@")[0])
        for name in inbox_names:
            InboxMembership.objects.create(inbox=inboxes[name], user=user)
        set_availability(user, chat, AgentAvailability.Status.AVAILABLE)
        client = Client()
        client.force_login(user)
        cookies[email] = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return widget.public_id, cookies, inboxes


def start_server(env, port, run_dir, name):
    log = open(run_dir / f"{name}.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [PYTHON, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
        + ["--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/accounts/login/", server)
    except BaseException:
        stop([server])
        raise
    return server


def forget_redis_keys(redis_url, prefixes):
    """Delete the run's queues, kombu bindings and channel-layer keys (their names are unique to the run)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    for prefix in prefixes:
        for pattern in (f"{prefix}*", f"_kombu.binding.{prefix}*", f"_kombu.binding_permanent.{prefix}*"):
            keys = list(client.scan_iter(pattern, count=1000))
            if keys:
                client.delete(*keys)


def main(argv=None):
    args = parse_args(argv)
    files = raise_file_limit(args.connections * 2 + 1024)  # the server's sockets and ours, on one machine
    run = uuid.uuid4().hex[:8]
    queue_prefix, layer_prefix = f"bench-realtime-{run}.", f"bench-realtime-live-{run}"
    run_dir = Path(tempfile.mkdtemp(prefix="bench-realtime-"))  # logs, static files, media
    database_url = recreate_database(args.database)
    env = environment(
        # DEBUG is off, as in production: pages name their static files from collectstatic's manifest.
        STATIC_ROOT=run_dir / "static",
        MEDIA_ROOT=run_dir / "media",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=args.redis,
        CACHE_URL=args.redis,
        CHANNEL_LAYER_URL=args.redis,
        CHANNEL_LAYER_PREFIX=layer_prefix,
        CELERY_QUEUE_PREFIX=queue_prefix,
        # One visitor sends hundreds of messages a minute here; the limits would refuse them.
        CHAT_RATE_PER_VISITOR=10**6,
        CHAT_RATE_PER_IP=10**6,
        # Database connections kept 10 minutes rather than 1: the shared server runs out of slots
        # now and then, and every reconnect is a chance to be refused.
        CONN_MAX_AGE=600,
    )
    print(
        f"stack: PostgreSQL database {args.database}, Redis {args.redis} (broker, cache, channels-redis layer), "
        f"uvicorn on port {args.port}, 2 celery workers; open-file limit {files}; logs in {run_dir}"
    )
    processes = []
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        apply_environment(env)
        import django

        django.setup()
        from django.db import connection

        from config.celery import app as celery_app
        from conversations.live.groups import inbox_group

        widget_id, cookies, inboxes = when_the_database_has_room(seed)
        connection.close()  # the async parts reach the database from threads of their own
        base = f"http://127.0.0.1:{args.port}"
        # As the Procfile's worker: the default queue and the media queue.
        workers = start_workers(env, 2, log_dir=run_dir, queues="celery,media", media_worker=False)
        processes += workers
        server = start_server(env, args.port, run_dir, "uvicorn-a")
        processes.append(server)
        wait_for_workers(celery_app, workers)
        asyncio.run(measure_latency(args, base, cookies["agent@bench.test"], widget_id))
        stop([server])
        # (c) on a fresh process, so that its RSS holds nothing of (a).
        server = start_server(env, args.port, run_dir, "uvicorn-c")
        processes.append(server)
        asyncio.run(
            measure_idle(
                args,
                base,
                server.pid,
                cookies["small@bench.test"],
                cookies["all@bench.test"],
                inbox_group(inboxes["Small"].pk),
                inbox_group(inboxes["All"].pk),
            )
        )
    finally:
        stop(processes)
        forget_redis_keys(args.redis, [queue_prefix, layer_prefix])
        if "django.db" in sys.modules:  # this process's own connections, before the drop
            sys.modules["django.db"].connections.close_all()
        if args.keep:
            print(f"kept the database {args.database} ({database_url})")
        else:
            drop_database(args.database)
            print(f"dropped the database {args.database}")


def when_the_database_has_room(function, timeout=120):
    """Call `function` (one transaction), again while the shared PostgreSQL server refuses new connections."""
    from django.db import OperationalError, transaction

    deadline = time.monotonic() + timeout
    while True:
        try:
            with transaction.atomic():
                return function()
        except OperationalError as error:
            if "too many clients" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(1)


if __name__ == "__main__":
    main()
