"""The database-relayed channel layer: an event written by any process reaches this process's sockets."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from conversations.live.layers import DatabaseChannelLayer, store_event
from conversations.live.receivers import on_conversation_changed
from conversations.models import Conversation, LiveEvent
from tests import factories
from tests.conftest import REQUIRE_SERVICES

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_event_stored_elsewhere_reaches_the_group():
    layer = DatabaseChannelLayer(poll_interval=0.01)

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add("inbox.1", channel)
        # As the worker does it: a row, written synchronously.
        await database_sync_to_async(store_event)("inbox.1", {"type": "conversation.changed", "conversation_id": 7})
        assert await layer.receive(channel) == {"type": "conversation.changed", "conversation_id": 7}
        await layer.flush()

    async_to_sync(scenario)()


def test_group_send_writes_a_row_for_every_process():
    layer = DatabaseChannelLayer()

    async_to_sync(layer.group_send)("inbox.3", {"type": "x"})

    assert LiveEvent.objects.get().group == "inbox.3"


def test_touch_announces_the_change_to_the_inbox_after_commit(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "conversations.live.layers.DatabaseChannelLayer"}}
    inbox = factories.make_inbox()
    conversation = factories.make_conversation(inbox=inbox)

    Conversation.touch(conversation.pk)

    groups = list(LiveEvent.objects.values_list("group", flat=True))
    assert groups == [f"inbox.{inbox.pk}", f"conversation.{conversation.pk}"]


def test_a_failing_publish_never_fails_the_change(monkeypatch):
    conversation = factories.make_conversation(inbox=factories.make_inbox())

    def broken(*args):
        raise ConnectionError("redis is down")

    monkeypatch.setattr("conversations.live.receivers.publish_many", broken)
    on_conversation_changed(sender=None, conversation_id=conversation.pk)


def test_publishing_from_a_thread_that_runs_an_event_loop_reaches_the_group(settings):
    """Sync code called straight from async code (no sync_to_async) must still publish, not raise."""
    import asyncio

    from conversations.live.publish import publish

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    from channels.layers import channel_layers

    channel_layers.backends.clear()

    async def scenario():
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("inbox.1", channel)
        publish("inbox.1", {"type": "conversation.changed", "conversation_id": 7})
        return await asyncio.wait_for(layer.receive(channel), 2)

    assert asyncio.run(scenario())["conversation_id"] == 7


@pytest.fixture
def redis_layer(settings):
    """channels-redis on the test run's Redis (its own prefix), as production configures it."""
    import uuid

    from channels.layers import channel_layers

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        if REQUIRE_SERVICES:
            pytest.fail("needs Redis (CELERY_BROKER_URL=redis://...)")
        pytest.skip("needs Redis (CELERY_BROKER_URL=redis://...)")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [settings.CELERY_BROKER_URL], "prefix": f"test-{uuid.uuid4().hex[:8]}"},
        }
    }
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_a_worker_publishes_through_one_event_loop_of_its_own(redis_layer):
    """Publishing from a plain thread (a Celery task) reuses one loop and its Redis connections."""
    import asyncio
    import threading

    from channels.layers import get_channel_layer

    from conversations.live.publish import publish, publish_many

    layer = get_channel_layer()
    channel = asyncio.run(layer.new_channel())
    asyncio.run(layer.group_add("inbox.9", channel))
    threads_before = threading.active_count()

    for number in range(30):
        publish("inbox.9", {"type": "conversation.changed", "conversation_id": number})
    publish_many([("inbox.9", {"type": "conversation.changed", "conversation_id": 30})] * 2)

    async def receive_all():
        return [(await asyncio.wait_for(layer.receive(channel), 5))["conversation_id"] for _ in range(32)]

    assert asyncio.run(receive_all()) == [*range(31), 30]
    assert threading.active_count() <= threads_before + 1
    assert [thread.name for thread in threading.enumerate()].count("live-publisher") == 1
