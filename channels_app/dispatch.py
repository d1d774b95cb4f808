"""Handing stored webhook deliveries to the workers, off the request path.

The webhook view stores the delivery (that is what makes it safe to answer
200) and then only puts its id on an in-process queue. A daemon thread
publishes the ids to the broker in batches. If the process dies in between,
or the broker is down, the row stays `received` and the sweeper enqueues it
within a minute, so nothing is lost; the request never waits for the broker.
"""

import logging
import queue
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

BATCH = 100
# After the first id arrives, wait this long for more so one broker message
# carries many deliveries under load (a publish costs about 1 ms of CPU).
LINGER_SECONDS = 0.05

_queue: "queue.SimpleQueue[int]" = queue.SimpleQueue()
_thread: threading.Thread | None = None
_lock = threading.Lock()


def submit(event_id: int) -> None:
    """Ask the workers to process a stored delivery (synchronously when WEBHOOK_DISPATCH is "inline")."""
    if settings.WEBHOOK_DISPATCH == "inline":
        publish([event_id])
        return
    _ensure_thread()
    _queue.put(event_id)


def publish(event_ids: list[int]) -> bool:
    from .tasks import process_webhook_events

    try:
        process_webhook_events.delay(event_ids)
    except Exception as error:  # any broker or connection error
        logger.warning("Webhooks %s stored but not enqueued (%s); the sweeper will process them", event_ids, error)
        return False
    return True


def _ensure_thread() -> None:
    global _thread
    if _thread is not None and _thread.is_alive():
        return
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="webhook-dispatch", daemon=True)
            _thread.start()


def _run() -> None:
    while True:
        ids = [_queue.get()]
        deadline = time.monotonic() + LINGER_SECONDS
        while len(ids) < BATCH:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                ids.append(_queue.get(timeout=remaining))
            except queue.Empty:
                break
        publish(ids)


def flush(timeout: float = 5.0) -> bool:
    """Wait until the queue is empty (for tests and orderly shutdown)."""
    deadline = time.monotonic() + timeout
    while not _queue.empty() and time.monotonic() < deadline:
        time.sleep(0.01)
    return _queue.empty()
