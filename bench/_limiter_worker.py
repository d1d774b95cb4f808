"""`celery worker` with the drainer instrumented, for bench/limiter.py.

    python -m bench._limiter_worker worker --queues=celery ...

Wraps `conversations.outbound.take_lease`, `drain_entry_point` and
`conversations.limiter.acquire_slot` (module attributes, looked up at call time)
and appends one JSON line per drain to $BENCH_DRAIN_LOG: the Entry Point, what the
drain sent, when it asked to run again, whether it found the lease taken by another
worker, and the time spent in acquire_slot (which waits for the Entry Point's row lock).
Nothing in the app is changed; only this process's functions are wrapped.
"""

import json
import os
import sys
import threading
import time

import django

django.setup()

from config.celery import app  # noqa: E402
from conversations import limiter, outbound  # noqa: E402

LOG = os.environ.get("BENCH_DRAIN_LOG", "/tmp/bench-drains.jsonl")
state = threading.local()
original_take_lease = outbound.take_lease
original_drain = outbound.drain_entry_point
original_acquire = limiter.acquire_slot


def take_lease(entry_point_id, owner, now=None):
    taken = original_take_lease(entry_point_id, owner, now)
    if not taken and getattr(state, "first_lease", False):
        state.lease_taken = True
    state.first_lease = False
    return taken


def acquire_slot(*args, **kwargs):
    started = time.perf_counter()
    try:
        return original_acquire(*args, **kwargs)
    finally:
        state.acquire_seconds += time.perf_counter() - started
        state.acquires += 1


def drain_entry_point(entry_point_id, *args, **kwargs):
    state.first_lease, state.lease_taken, state.acquire_seconds, state.acquires = True, False, 0.0, 0
    started = time.time()
    result = original_drain(entry_point_id, *args, **kwargs)
    line = {
        "entry_point": entry_point_id,
        "started": started,
        "seconds": time.time() - started,
        "sent": result.sent,
        "again_in": result.again_in,
        "lease_taken": state.lease_taken,
        "acquires": state.acquires,
        "acquire_seconds": state.acquire_seconds,
        "pid": os.getpid(),
    }
    with open(LOG, "a") as log:
        log.write(json.dumps(line) + "\n")
    return result


outbound.take_lease = take_lease
outbound.drain_entry_point = drain_entry_point
limiter.acquire_slot = acquire_slot

if __name__ == "__main__":
    app.worker_main(argv=sys.argv[1:])
