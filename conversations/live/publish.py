"""Send an event to a group of sockets from synchronous code (views, services, Celery tasks)."""

import asyncio
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .layers import DatabaseChannelLayer, store_event


def publish(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    if isinstance(layer, DatabaseChannelLayer):
        # Straight into the table: no event loop needed in a worker or a request thread.
        store_event(group, message)
        return
    send = async_to_sync(layer.group_send)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        send(group, message)  # the usual case: a plain thread
        return
    # This thread runs an event loop (async code that called sync code directly):
    # async_to_sync refuses to run here, so the send goes from a thread of its own.
    sender = threading.Thread(target=send, args=(group, message), name="live-publish")
    sender.start()
    sender.join(timeout=5)
