"""Small helpers for the Chat Channel's tests."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from channels_app.chat.models import ChatWidget
from channels_app.models import Channel, EntryPoint
from config.asgi import application
from tests import factories

ORIGIN = "https://shop.example.com"


def make_widget(origins=(ORIGIN,), **fields):
    entry_point = factories.make_entry_point(
        kind=EntryPoint.Kind.CHAT_WIDGET, channel_kind=Channel.Kind.CHAT, display_name="Shop chat"
    )
    fields.setdefault("name", "Shop chat")
    return ChatWidget.objects.create(entry_point=entry_point, allowed_origins=list(origins), **fields)


def visitor_socket(widget, origin=ORIGIN):
    headers = [(b"origin", origin.encode()), (b"user-agent", b"Mozilla/5.0 (Test) Chromium")]
    return WebsocketCommunicator(application, f"/ws/chat/{widget.public_id}/", headers=headers)


@pytest.fixture(autouse=True)
def fresh_layer():
    """The in-memory layer is per process; each test starts with no groups."""
    async_to_sync(get_channel_layer().flush)()
    yield
    async_to_sync(get_channel_layer().flush)()
