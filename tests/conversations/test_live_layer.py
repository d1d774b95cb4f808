"""The database-relayed channel layer: an event written by any process reaches this process's sockets."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from conversations.live.layers import DatabaseChannelLayer, store_event
from conversations.live.receivers import on_conversation_changed
from conversations.models import Conversation, LiveEvent
from tests import factories

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

    monkeypatch.setattr("conversations.live.receivers.publish", broken)
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
