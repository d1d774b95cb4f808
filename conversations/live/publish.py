"""Send events to groups of sockets from synchronous code (views, services, Celery tasks)."""

import asyncio
import os
import threading

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

from .layers import DatabaseChannelLayer, store_event

# How long a publish may wait for the layer (Redis) before it gives up; pages catch up anyway.
PUBLISH_TIMEOUT_SECONDS = 5


def publish(group: str, message: dict) -> None:
    publish_many([(group, message)])


def publish_many(sends: list[tuple[str, dict]]) -> None:
    """Each (group, message) in order, in one hand-over to the layer."""
    layer = get_channel_layer()
    if layer is None or not sends:
        return
    if isinstance(layer, DatabaseChannelLayer):
        # Straight into the table: no event loop needed in a worker or a request thread.
        for group, message in sends:
            store_event(group, message)
        return
    if isinstance(layer, InMemoryChannelLayer):
        # Tests: its queues belong to the consumers' event loop, which async_to_sync reaches.
        _send_in_a_loop_of_its_own(layer, sends)
        return
    _publisher.send(layer, sends)


async def _group_send_all(layer, sends):
    for group, message in sends:
        await layer.group_send(group, message)


class _Publisher:
    """One event loop per process, on a thread of its own, for every publish from synchronous code.

    async_to_sync from a plain thread starts a thread and an event loop for each call, and
    channels-redis keeps its connections per event loop: every publish paid for a new loop
    and a new Redis connection (a profiled worker spent ~16 ms a publish, a fifth of an
    inbound job). A forked child (a Celery prefork worker) starts its own loop.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._loop = None
        self._pid = None

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="live-publisher", daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def send(self, layer, sends) -> None:
        future = asyncio.run_coroutine_threadsafe(_group_send_all(layer, sends), self.loop())
        future.result(PUBLISH_TIMEOUT_SECONDS)


_publisher = _Publisher()


def _send_in_a_loop_of_its_own(layer, sends) -> None:
    send = async_to_sync(_group_send_all)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        send(layer, sends)  # the usual case: a plain thread
        return
    # This thread runs an event loop (async code that called sync code directly):
    # async_to_sync refuses to run here, so the send goes from a thread of its own.
    sender = threading.Thread(target=send, args=(layer, sends), name="live-publish")
    sender.start()
    sender.join(timeout=PUBLISH_TIMEOUT_SECONDS)
