"""A channel layer that crosses processes through the database, for the embedded default.

Sockets live in the web process; events come from web requests and from the
Celery worker, another process. `group_send` writes a `LiveEvent` row (from any
process); each web process runs one relay coroutine that reads the rows in
increasing id and hands them to its own sockets (the in-memory layer it extends).
With Redis, `channels_redis` does all this instead.
"""

import asyncio
import logging
from datetime import timedelta

from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer
from django.db import close_old_connections
from django.utils import timezone

from conversations.models import LiveEvent

logger = logging.getLogger(__name__)


def _latest_id() -> int:
    return LiveEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _events_after(last_id: int, limit: int = 500) -> list[tuple[int, str, dict]]:
    close_old_connections()
    return list(LiveEvent.objects.filter(id__gt=last_id).order_by("id").values_list("id", "group", "message")[:limit])


def _prune(keep_seconds: int) -> None:
    LiveEvent.objects.filter(created_at__lt=timezone.now() - timedelta(seconds=keep_seconds)).delete()


def store_event(group: str, message: dict) -> None:
    """Write one event for the relays (synchronous: workers and request threads call it)."""
    LiveEvent.objects.create(group=group, message=message)


class DatabaseChannelLayer(InMemoryChannelLayer):
    def __init__(self, poll_interval=0.05, keep_seconds=60, **kwargs):
        super().__init__(**kwargs)
        self.poll_interval = poll_interval
        self.keep_seconds = keep_seconds
        self._relay = None

    async def group_send(self, group, message):
        self.require_valid_group_name(group)
        await sync_to_async(store_event)(group, message)

    async def group_add(self, group, channel):
        await super().group_add(group, channel)
        await self._start_relay()

    async def _start_relay(self):
        loop = asyncio.get_running_loop()
        if self._relay is None or self._relay.done() or self._relay.get_loop() is not loop:
            # Only events written from now on: a new process has no sockets
            # that missed older ones (pages catch up from their own cursor).
            last_id = await sync_to_async(_latest_id)()
            self._relay = loop.create_task(self._run_relay(last_id))

    async def _run_relay(self, last_id):
        rounds = 0
        while True:
            try:
                events = await sync_to_async(_events_after)(last_id)
                for event_id, group, message in events:
                    last_id = event_id
                    await InMemoryChannelLayer.group_send(self, group, message)
                rounds += 1
                if rounds % 1200 == 0:
                    await sync_to_async(_prune)(self.keep_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database is busy or gone for a moment: keep relaying afterwards.
                logger.exception("Live updates relay failed; retrying")
                await asyncio.sleep(1)
            await asyncio.sleep(self.poll_interval)

    async def flush(self):
        if self._relay is not None:
            self._relay.cancel()
            self._relay = None
        await super().flush()
