"""Send an event to a group of sockets from synchronous code (views, services, Celery tasks)."""

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
    async_to_sync(layer.group_send)(group, message)
