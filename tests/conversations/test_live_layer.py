"""The database-relayed channel layer: an event written by any process reaches this process's sockets."""

import threading

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

    monkeypatch.setattr("conversations.live.receivers.publish_soon", broken)
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


class HeldLayer:
    """A layer whose sends wait until the test lets them go (`release`), as a slow Redis would."""

    def __init__(self, fail=False):
        self.fail = fail
        self.release = threading.Event()
        self.done = threading.Event()
        self.sent = []

    async def group_send(self, group, message):
        import asyncio

        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 5)
        if self.fail:
            self.done.set()
            raise ConnectionError("redis is down")
        self.sent.append((group, message))
        self.done.set()


@pytest.fixture
def held_layer(monkeypatch):
    layer = HeldLayer()
    monkeypatch.setattr("conversations.live.publish.get_channel_layer", lambda: layer)
    return layer


def test_an_announcement_does_not_wait_for_the_layer(held_layer):
    from conversations.live.publish import publish_soon

    publish_soon([("inbox.1", {"type": "conversation.changed", "conversation_id": 7})])

    assert held_layer.sent == []  # returned while the layer still holds the send
    held_layer.release.set()
    assert held_layer.done.wait(5)
    assert held_layer.sent == [("inbox.1", {"type": "conversation.changed", "conversation_id": 7})]


def test_announcements_beyond_the_limit_in_flight_are_dropped(held_layer, monkeypatch, caplog):
    from conversations.live import publish

    monkeypatch.setattr(publish, "MAX_PUBLISHES_IN_FLIGHT", 1)

    publish.publish_soon([("inbox.1", {"type": "conversation.changed", "conversation_id": 1})])
    publish.publish_soon([("inbox.1", {"type": "conversation.changed", "conversation_id": 2})])
    held_layer.release.set()
    assert held_layer.done.wait(5)

    assert [message["conversation_id"] for _, message in held_layer.sent] == [1]
    assert "Live update dropped" in caplog.text


def test_a_failed_announcement_is_logged_not_raised(monkeypatch, caplog):
    from conversations.live import publish

    layer = HeldLayer(fail=True)
    layer.release.set()
    monkeypatch.setattr(publish, "get_channel_layer", lambda: layer)
    finished = threading.Event()
    original = publish._publisher._finished
    monkeypatch.setattr(publish._publisher, "_finished", lambda future: (original(future), finished.set()))

    publish.publish_soon([("inbox.1", {"type": "conversation.changed", "conversation_id": 1})])

    assert finished.wait(5)
    assert "Live update not published" in caplog.text
    assert publish._publisher._in_flight == 0
