"""Handing stored webhook deliveries to the workers without slowing the endpoint down.

Publishing one Celery message costs about as much CPU as verifying and storing the
delivery itself, and a slow or unreachable broker would hold every answer to Meta.
So the endpoint only notes the stored row's id here; a background thread of the
web process publishes the noted ids a batch per task, after lingering a moment for
more. Under load the batches grow and the publishing cost per delivery shrinks.

Nothing can be lost: the row is committed before its id is noted, and an id not yet
published when the process dies (or while the broker is down) is still `received`,
so the sweeper (config/beat.py) hands it over a minute later.
"""

import atexit
import logging
import os
import threading

from celery import current_app

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
# How long the thread waits for more ids before publishing a partial batch: short
# next to a worker's processing time, long enough to batch a burst.
LINGER_SECONDS = 0.05


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


class Dispatcher:
    def __init__(self):
        self._reset()

    def _reset(self) -> None:
        # Also run in a forked child (a server worker): the parent's thread and lock do not carry over.
        self._pending: list[int] = []
        self._busy = 0  # ids taken from _pending but not yet published
        self._lock = threading.RLock()  # re-entrant: tests hold it to let ids pile up
        self._changed = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    def submit(self, event_id: int) -> None:
        """Note a stored delivery; returns at once."""
        with self._lock:
            self._pending.append(event_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)
                self._thread.start()
            if len(self._pending) in (1, BATCH_SIZE):
                # Wake the thread only when it has something new to do: waking it for
                # every id would cost a thread switch per request.
                self._changed.notify_all()

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Block until every noted id was published (for tests and shutdown)."""
        with self._lock:
            return self._changed.wait_for(lambda: not self._pending and not self._busy, timeout)

    def flush(self) -> None:
        """Publish what is pending now, in the calling thread (at interpreter exit)."""
        with self._lock:
            ids, self._pending = self._pending, []
        publish_in_batches(ids)

    def _run(self) -> None:
        while True:
            with self._lock:
                self._changed.wait_for(lambda: self._pending)
                self._changed.wait_for(lambda: len(self._pending) >= BATCH_SIZE, LINGER_SECONDS)
                ids, self._pending = self._pending[:BATCH_SIZE], self._pending[BATCH_SIZE:]
                self._busy = len(ids)
            try:
                publish(ids)
            finally:
                with self._lock:
                    self._busy = 0
                    self._changed.notify_all()


dispatcher = Dispatcher()
atexit.register(dispatcher.flush)
os.register_at_fork(after_in_child=dispatcher._reset)
