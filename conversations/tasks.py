import itertools
import logging
import threading
from datetime import timedelta

from celery import shared_task, signals
from django.db import OperationalError
from django.utils import timezone

from . import limiter, outbound, services
from .models import change_feed

logger = logging.getLogger(__name__)


# A drain the database refused (e.g. no free connection) runs again shortly rather
# than leave its Entry Point to the beat's re-kick a minute or more later.
@shared_task(acks_late=True, autoretry_for=(OperationalError,), default_retry_delay=1, max_retries=10)
def drain_entry_point(entry_point_id, owner=None):
    """Send an Entry Point's queue within its rate limit; reschedule for the next free slot.

    `owner`: the lease a previous drain kept for this continuation."""
    result = outbound.drain_entry_point(entry_point_id, owner=owner)
    if result.again_in is not None:
        # Exactly when the slot frees, if known, rather than a countdown from now.
        at = result.again_at or timezone.now() + timedelta(seconds=result.again_in)
        drain_later(entry_point_id, result.lease_owner, at)
    return result.sent


# Drains this process publishes when they are due: {key: (entry point id, owner, timer, due at)}.
#
# Not tasks with an ETA: Redis has no delayed delivery, so such a task goes at once to
# whichever worker takes it first, which holds it until due and runs it only once it is
# free. An idle worker collects every continuation published meanwhile and then runs them
# one after another while the others sit idle (measured with bench/limiter.py: 18 of 20
# continuations on one solo worker, the last one 49 s late). Published when due, a
# continuation goes to any free worker. One lost with its process (a crash) costs a
# short delay only: its lease expires when it was due, so the next reply's kick or the
# beat's re-kick drains.
_later: dict[int, tuple[int, str, threading.Timer, object]] = {}
_later_lock = threading.Lock()
_later_keys = itertools.count()


def drain_later(entry_point_id: int, owner: str, at) -> None:
    """Publish a drain of the Entry Point (as `owner`, the lease it kept, if any) at `at`."""
    key = next(_later_keys)
    timer = threading.Timer(max((at - timezone.now()).total_seconds(), 0), _publish_drain, args=[key])
    timer.daemon = True
    with _later_lock:
        _later[key] = (entry_point_id, owner, timer, at)
    timer.start()


def _publish_drain(key: int) -> None:
    with _later_lock:
        waiting = _later.pop(key, None)
    if waiting is not None:  # else the stopping worker handed it to the broker
        entry_point_id, owner, _, _ = waiting
        _enqueue_drain(entry_point_id, owner)


def _enqueue_drain(entry_point_id: int, owner: str, eta=None) -> None:
    try:
        drain_entry_point.apply_async(args=[entry_point_id], kwargs={"owner": owner} if owner else {}, eta=eta)
    except Exception as error:
        logger.warning("Drain of entry point %s not enqueued: %s", entry_point_id, error)


@signals.worker_shutting_down.connect
@signals.worker_process_shutdown.connect
def _hand_later_drains_to_the_broker(**kwargs):
    """A stopping worker leaves the drains it was to publish with the broker, due as they were."""
    with _later_lock:
        waiting = list(_later.values())
        _later.clear()
    for entry_point_id, owner, timer, at in waiting:
        timer.cancel()
        _enqueue_drain(entry_point_id, owner, eta=at)


@shared_task
def rekick_stale_backlogs():
    """Beat: start a drainer for Entry Points whose queue waits with no drainer at work."""
    for entry_point_id in outbound.entry_points_with_stale_backlog():
        drain_entry_point.delay(entry_point_id)
    limiter.prune_ledger()


@shared_task
def wake_snoozed_conversations():
    """Beat: conversations whose snooze time has come return to the open lists."""
    return services.wake_snoozed()


@shared_task
def stamp_changes():
    """Beat: number conversation changes a crash left unnumbered (pages count them as changed until then)."""
    return change_feed.stamp_changes()
