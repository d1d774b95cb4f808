"""`celery worker` with the drainer instrumented, for bench/limiter.py.

    python bench/_limiter_worker.py worker --queues=celery ...

Run by path, so the app it imports is whichever tree is first on PYTHONPATH
(the bench's `--baseline` runs the code before this scheduling under it).
Wraps `conversations.outbound.take_lease`, `drain_entry_point`, its `time.sleep`
and `conversations.limiter.acquire_slot` (module attributes, looked up at call
time) and appends one JSON line per drain to $BENCH_DRAIN_LOG: the Entry Point,
when it started and ran, the ETA it was scheduled for, what it sent, when it asked
to run again (and as which lease owner), whether it found the lease taken by another worker, the time spent in
acquire_slot (which waits for the Entry Point's row lock), the time it slept holding
the lease, and the wall-clock time of each slot it was granted. Nothing in the app is
changed; only this process's functions are wrapped.
"""

import json
import os
import sys
import threading
import time
from datetime import datetime

import django

django.setup()

from celery import current_task  # noqa: E402

from config.celery import app  # noqa: E402
from conversations import limiter, outbound  # noqa: E402

LOG = os.environ.get("BENCH_DRAIN_LOG", "/tmp/bench-drains.jsonl")
state = threading.local()
original_take_lease = outbound.take_lease
original_drain = outbound.drain_entry_point
original_acquire = limiter.acquire_slot


class SleepCountingTime:
    """`time` for the drainer's module: the same, except that sleeps are counted."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(seconds):
        started = time.perf_counter()
        time.sleep(seconds)
        if getattr(state, "in_drain", False):
            state.slept += time.perf_counter() - started


def take_lease(entry_point_id, owner, *args, **kwargs):
    taken = original_take_lease(entry_point_id, owner, *args, **kwargs)
    if not taken and getattr(state, "first_lease", False):
        state.lease_taken = True
    state.first_lease = False
    return taken


def acquire_slot(*args, **kwargs):
    started = time.perf_counter()
    try:
        grant = original_acquire(*args, **kwargs)
    finally:
        if getattr(state, "in_drain", False):
            state.acquire_seconds += time.perf_counter() - started
            state.acquires += 1
    if grant.granted and getattr(state, "in_drain", False):
        state.grants.append(time.time())
    return grant


def scheduled_for():
    eta = getattr(current_task.request, "eta", None) if current_task else None
    if not eta:
        return None
    return (datetime.fromisoformat(eta) if isinstance(eta, str) else eta).timestamp()


def drain_entry_point(entry_point_id, *args, **kwargs):
    state.first_lease, state.lease_taken, state.acquire_seconds, state.acquires = True, False, 0.0, 0
    state.in_drain, state.slept, state.grants = True, 0.0, []
    started = time.time()
    try:
        result = original_drain(entry_point_id, *args, **kwargs)
    finally:
        state.in_drain = False
    line = {
        "entry_point": entry_point_id,
        "started": started,
        "seconds": time.time() - started,
        "eta": scheduled_for(),
        "owner": kwargs.get("owner"),
        "sent": result.sent,
        "again_in": result.again_in,
        # The continuation this drain asked for (a drain that kept its lease), for its lateness
        # when it is published at its due time rather than held by a worker with an ETA.
        "again_at": result.again_at.timestamp() if getattr(result, "again_at", None) else None,
        "lease_owner": getattr(result, "lease_owner", ""),
        "lease_taken": state.lease_taken,
        "acquires": state.acquires,
        "acquire_seconds": state.acquire_seconds,
        "slept": state.slept,
        "grants": state.grants,
        "pid": os.getpid(),
    }
    with open(LOG, "a") as log:
        log.write(json.dumps(line) + "\n")
    return result


outbound.take_lease = take_lease
outbound.drain_entry_point = drain_entry_point
outbound.time = SleepCountingTime()
limiter.acquire_slot = acquire_slot

if __name__ == "__main__":
    app.worker_main(argv=sys.argv[1:])
