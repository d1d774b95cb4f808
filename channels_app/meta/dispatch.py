"""Handing stored webhook deliveries to the workers, without the endpoint touching the broker.

Publishing one Celery message costs the web process about as much CPU as verifying and
storing the delivery itself (0.5-0.7 ms), and a slow broker would hold answers to Meta.
So the endpoint only stores the delivery (one autocommitted INSERT) and answers. A
drainer running in the Celery workers (config/celery.py starts one per worker) polls
for stored deliveries nobody handed over yet, marks them handed over (`handed_over_at`) and
publishes their ids a batch per task. On PostgreSQL one drainer polls at a time (an
advisory lock); the others stand by and take over when its worker stops.

Nothing can be lost: the row is committed before Meta gets its 200. Rows whose publish
fails are released for the next poll; rows claimed by a drainer that died before
publishing are still `received`, so the sweeper (config/beat.py) hands them over later.
"""

import logging
import threading

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import WebhookEvent

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
# Most rows one poll claims; a full claim is followed by another poll at once.
CLAIM_LIMIT = 500
# How often a drainer that does not hold the lock checks whether it is free.
STANDBY_SECONDS = 1.0
# After an error (database or broker unreachable): wait before polling again.
BACKOFF_SECONDS = 1.0
# pg_try_advisory_lock key: "webhook drain" in a bigint.
LOCK_KEY = 0x5745424B4452


def publish(event_ids: list[int]) -> bool:
    """One Celery message for these deliveries. False (logged) when the broker is unreachable."""
    try:
        current_app.send_task("channels_app.tasks.process_webhook_events", args=[event_ids])
    except Exception as error:  # any broker/connection error: the sweeper takes over
        logger.warning("Webhooks %s stored but not enqueued (%s); the sweeper will process them", event_ids, error)
        return False
    return True


def publish_in_batches(event_ids: list[int]) -> None:
    for start in range(0, len(event_ids), BATCH_SIZE):
        publish(event_ids[start : start + BATCH_SIZE])


def claim(limit: int = CLAIM_LIMIT) -> list[int]:
    """Mark up to `limit` stored deliveries nobody handed over yet as handed over; their ids, oldest first.

    SKIP LOCKED: two drainers (a lock holder and one taking over) never claim the same row.
    """
    if connection.vendor == "postgresql":
        return _claim_in_one_statement(limit)
    waiting = WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED, handed_over_at__isnull=True)
    # Most polls find nothing: look before opening a transaction, which on SQLite takes the
    # database's write lock (IMMEDIATE) and would queue the web process's INSERTs behind it.
    if not waiting.exists():
        return []
    with transaction.atomic():
        ids = list(waiting.order_by("pk").select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if ids:
            WebhookEvent.objects.filter(pk__in=ids).update(handed_over_at=timezone.now())
    return ids


def _claim_in_one_statement(limit: int) -> list[int]:
    """PostgreSQL: find, lock and mark in one autocommitted statement (one round trip a poll, where
    the ORM takes four: look, begin, select, update and commit); an idle poll modifies nothing."""
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET handed_over_at = %s WHERE id IN ("  # noqa: S608 (our own table name)
            f" SELECT id FROM {table} WHERE status = %s AND handed_over_at IS NULL"
            " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id",
            [timezone.now(), WebhookEvent.Status.RECEIVED, limit],
        )
        return sorted(row[0] for row in cursor.fetchall())


def drain_once(limit: int = CLAIM_LIMIT) -> tuple[int, bool]:
    """Claim and publish one poll's worth: (how many were claimed, whether every batch was published).

    A batch the broker refused is released (and the rest after it), so the next poll
    claims it again instead of leaving it to the sweeper.
    """
    ids = claim(limit)
    for start in range(0, len(ids), BATCH_SIZE):
        if not publish(ids[start : start + BATCH_SIZE]):
            WebhookEvent.objects.filter(pk__in=ids[start:], status=WebhookEvent.Status.RECEIVED).update(
                handed_over_at=None
            )
            return len(ids), False
    return len(ids), True


class Drainer:
    """A thread that polls with drain_once every `interval` seconds until stopped."""

    def __init__(self, interval: float | None = None):
        self.interval = settings.META_WEBHOOK_DRAIN_INTERVAL if interval is None else interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._holds_lock = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhook-drainer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def step(self) -> float:
        """One poll (if this drainer holds the lock); how long to wait before the next."""
        if not self._take_lock():
            return STANDBY_SECONDS
        claimed, published = drain_once()
        if not published:
            return BACKOFF_SECONDS
        return 0.0 if claimed >= CLAIM_LIMIT else self.interval

    def _take_lock(self) -> bool:
        if connection.vendor != "postgresql" or self._holds_lock:
            return True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            self._holds_lock = cursor.fetchone()[0]
        return self._holds_lock

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    wait = self.step()
                except Exception:
                    logger.exception("Webhook drainer: poll failed; trying again in %s s", BACKOFF_SECONDS)
                    self._release()
                    wait = BACKOFF_SECONDS
                if wait:
                    self._stopping.wait(wait)
        finally:
            self._release()

    def _release(self) -> None:
        """Close this thread's connection: the advisory lock goes with it, for another drainer to take."""
        self._holds_lock = False
        connection.close()
