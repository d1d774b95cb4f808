"""The visitor's socket (/ws/chat/<id>/) and its meeting with the agents' inbox socket."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core import signing

from channels_app.chat import visitors
from channels_app.chat.models import ChatVisitor
from channels_app.models import Channel
from conversations import outbound
from conversations.models import Conversation, TimelineItem
from inbox.consumers import InboxConsumer
from tests import factories

from .helpers import fresh_layer, make_widget, visitor_socket  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def agent_socket(user):
    communicator = WebsocketCommunicator(InboxConsumer.as_asgi(), "/ws/inbox/")
    communicator.scope["user"] = user
    return communicator


async def hello(socket, token=""):
    connected, _ = await socket.connect()
    assert connected
    await socket.send_json_to({"type": "hello", "token": token, "page_url": "https://shop.example.com/shoes"})
    ready = await socket.receive_json_from()
    assert ready["type"] == "ready"
    return ready


async def next_of_type(socket, kind):
    """The next message of this type (a change can be announced more than once; pages coalesce)."""
    while True:
        message = await socket.receive_json_from(timeout=2)
        if message["type"] == kind:
            return message


def run(scenario):
    async_to_sync(scenario)()


def test_a_website_not_allowed_cannot_open_the_chat():
    widget = make_widget()

    async def scenario():
        socket = visitor_socket(widget, origin="https://evil.example")
        connected, _ = await socket.connect()
        assert not connected

    run(scenario)


def test_a_socket_without_origin_is_refused():
    widget = make_widget()

    async def scenario():
        socket = WebsocketCommunicator(visitor_socket(widget).application, f"/ws/chat/{widget.public_id}/")
        connected, _ = await socket.connect()
        assert not connected

    run(scenario)


def test_visitor_message_is_stored_in_a_routed_conversation_and_acknowledged():
    inbox = factories.make_inbox(name="Chat", kind=Channel.Kind.CHAT, default=True)
    widget = make_widget()

    async def scenario():
        socket = visitor_socket(widget)
        ready = await hello(socket)
        assert ready["token"] and ready["history"] == []
        await socket.send_json_to({"type": "message", "client_id": "c1", "text": "<b>Do you ship to Spain?</b>"})
        ack = await socket.receive_json_from()
        assert ack["type"] == "ack" and ack["client_id"] == "c1"
        assert ack["item"]["text"] == "<b>Do you ship to Spain?</b>"
        await socket.disconnect()

    run(scenario)
    item = TimelineItem.objects.get(kind=TimelineItem.Kind.CUSTOMER_MESSAGE)
    assert item.text == "<b>Do you ship to Spain?</b>"
    assert item.conversation.inbox == inbox
    assert item.metadata["context"]["Page"] == "https://shop.example.com/shoes"


def test_a_resent_message_is_stored_once():
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True)
    widget = make_widget()

    async def scenario():
        socket = visitor_socket(widget)
        await hello(socket)
        for _ in range(2):
            await socket.send_json_to({"type": "message", "client_id": "same-id", "text": "Hello?"})
            assert (await socket.receive_json_from())["type"] == "ack"
        await socket.disconnect()

    run(scenario)
    assert TimelineItem.objects.filter(kind=TimelineItem.Kind.CUSTOMER_MESSAGE).count() == 1


def test_the_token_brings_back_the_same_visitor_and_their_history():
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True)
    widget = make_widget()

    async def scenario():
        first = visitor_socket(widget)
        ready = await hello(first)
        await first.send_json_to({"type": "message", "client_id": "c1", "text": "I'll be back"})
        await first.receive_json_from()
        await first.disconnect()

        again = visitor_socket(widget)
        returning = await hello(again, token=ready["token"])
        assert [item["text"] for item in returning["history"]] == ["I'll be back"]
        await again.disconnect()

    run(scenario)
    assert ChatVisitor.objects.count() == 1


def test_a_token_opens_only_its_own_widget_and_a_forged_one_nothing():
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True)
    widget = make_widget()
    other_widget = make_widget()
    visitor = ChatVisitor.objects.create(widget=widget)
    token = visitors.issue_token(visitor)
    forged = signing.dumps({"w": widget.public_id, "v": visitor.visitor_id}, salt="another-salt")

    assert visitors.visitor_from_token(other_widget, token) is None
    assert visitors.visitor_from_token(widget, forged) is None
    assert visitors.visitor_from_token(widget, token + "x") is None
    assert visitors.visitor_from_token(widget, token) == visitor

    async def scenario():
        socket = visitor_socket(other_widget)
        ready = await hello(socket, token=token)
        assert ready["history"] == []
        await socket.disconnect()

    run(scenario)
    assert ChatVisitor.objects.filter(widget=other_widget).count() == 1


def test_messages_before_hello_are_refused():
    widget = make_widget()

    async def scenario():
        socket = visitor_socket(widget)
        await socket.connect()
        await socket.send_json_to({"type": "message", "client_id": "c1", "text": "hi"})
        assert (await socket.receive_json_from())["type"] == "error"
        await socket.disconnect()

    run(scenario)
    assert not TimelineItem.objects.exists()


def test_a_message_over_the_size_limit_is_refused_with_a_reason(settings):
    settings.CHAT_MESSAGE_MAX_CHARS = 10
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True)
    widget = make_widget()

    async def scenario():
        socket = visitor_socket(widget)
        await hello(socket)
        await socket.send_json_to({"type": "message", "client_id": "c1", "text": "x" * 11})
        error = await socket.receive_json_from()
        assert error == {"type": "error", "client_id": "c1", "message": "Messages can have at most 10 characters."}
        await socket.disconnect()

    run(scenario)


def test_a_visitor_sending_too_fast_is_slowed_down(settings):
    settings.CHAT_RATE_PER_VISITOR = 2
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True)
    widget = make_widget()

    async def scenario():
        socket = visitor_socket(widget)
        await hello(socket)
        answers = []
        for n in range(3):
            await socket.send_json_to({"type": "message", "client_id": f"c{n}", "text": "hi"})
            answers.append((await socket.receive_json_from())["type"])
        assert answers == ["ack", "ack", "error"]
        await socket.disconnect()

    run(scenario)


def test_the_agents_inbox_socket_hears_of_the_visitors_message_and_typing():
    agent = factories.make_user()
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True, members=[agent])
    widget = make_widget()

    async def scenario():
        inbox_socket = agent_socket(agent)
        connected, _ = await inbox_socket.connect()
        assert connected
        assert (await inbox_socket.receive_json_from())["type"] == "hello"
        socket = visitor_socket(widget)
        await hello(socket)
        await socket.send_json_to({"type": "message", "client_id": "c1", "text": "Anyone there?"})
        await socket.receive_json_from()
        changed = await inbox_socket.receive_json_from(timeout=2)
        conversation = await database_sync_to_async(Conversation.objects.get)()
        assert changed == {"type": "changed", "conversation_id": conversation.pk}

        await socket.send_json_to({"type": "typing", "typing": True})
        typing = await next_of_type(inbox_socket, "typing")
        assert typing == {"type": "typing", "conversation_id": conversation.pk, "typing": True}
        await socket.disconnect()
        await inbox_socket.disconnect()

    run(scenario)


def test_the_agents_reply_and_typing_reach_the_visitor(monkeypatch):
    monkeypatch.setattr(outbound, "_kick", lambda entry_point_id: None)  # the test drains
    agent = factories.make_user()
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True, members=[agent])
    widget = make_widget()

    async def scenario():
        socket = visitor_socket(widget)
        await hello(socket)
        await socket.send_json_to({"type": "message", "client_id": "c1", "text": "Hello"})
        await socket.receive_json_from()
        conversation = await database_sync_to_async(Conversation.objects.get)()

        inbox_socket = agent_socket(agent)
        await inbox_socket.connect()
        await inbox_socket.receive_json_from()
        await inbox_socket.send_json_to({"type": "typing", "conversation_id": conversation.pk})
        assert await next_of_type(socket, "typing") == {"type": "typing", "typing": True}

        def reply():
            outbound.send_reply(conversation, agent, "Hi! How can I help?")
            outbound.drain_entry_point(conversation.entry_point_id)

        await database_sync_to_async(reply)()
        message = await next_of_type(socket, "message")
        assert message["item"]["text"] == "Hi! How can I help?" and message["item"]["from"] == "agent"
        await socket.disconnect()
        await inbox_socket.disconnect()

    run(scenario)
    item = TimelineItem.objects.get(kind=TimelineItem.Kind.AGENT_MESSAGE)
    assert item.delivery_status == TimelineItem.Delivery.SENT


def test_an_agent_cannot_type_into_a_conversation_of_another_inbox():
    agent = factories.make_user()
    factories.make_inbox(kind=Channel.Kind.MESSAGING, members=[agent])
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True)
    widget = make_widget()

    async def scenario():
        socket = visitor_socket(widget)
        await hello(socket)
        await socket.send_json_to({"type": "message", "client_id": "c1", "text": "Hello"})
        await socket.receive_json_from()
        conversation = await database_sync_to_async(Conversation.objects.get)()
        inbox_socket = agent_socket(agent)
        await inbox_socket.connect()
        await inbox_socket.receive_json_from()
        await inbox_socket.send_json_to({"type": "typing", "conversation_id": conversation.pk})
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()
        await inbox_socket.disconnect()

    run(scenario)


def test_the_inbox_socket_refuses_anonymous_users():
    from django.contrib.auth.models import AnonymousUser

    async def scenario():
        socket = agent_socket(AnonymousUser())
        connected, _ = await socket.connect()
        assert not connected

    run(scenario)


def test_a_reconnecting_widget_catches_up_from_its_last_item_with_what_became_visible_meanwhile(monkeypatch):
    monkeypatch.setattr(outbound, "_kick", lambda entry_point_id: None)  # the test drains
    agent = factories.make_user()
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True, members=[agent])
    widget = make_widget()

    async def say(socket, client_id, text):
        await socket.send_json_to({"type": "message", "client_id": client_id, "text": text})
        return (await next_of_type(socket, "ack"))["item"]

    async def scenario():
        first = visitor_socket(widget)
        ready = await hello(first)
        seen = [await say(first, "c1", "Hello")]
        conversation = await database_sync_to_async(Conversation.objects.get)()
        # The agent's reply is queued (an id now) but sent only after the visitor's next message.
        queued = await database_sync_to_async(outbound.send_reply)(conversation, agent, "One moment please")
        seen.append(await say(first, "c2", "Anyone there?"))
        await first.disconnect()

        def while_away():
            outbound.drain_entry_point(conversation.entry_point_id)
            outbound.send_reply(conversation, agent, "Found it: it ships Monday")
            outbound.drain_entry_point(conversation.entry_point_id)

        await database_sync_to_async(while_away)()
        again = visitor_socket(widget)
        connected, _ = await again.connect()
        assert connected
        await again.send_json_to({"type": "hello", "token": ready["token"], "after": max(i["id"] for i in seen)})
        back = await next_of_type(again, "ready")
        await again.disconnect()
        return queued, seen, back

    queued, seen, back = async_to_sync(scenario)()

    ids = [item["id"] for item in back["history"]]
    assert back["catch_up"] is True
    assert len(ids) == len(set(ids))
    assert queued.pk < max(item["id"] for item in seen)  # a lower id than the widget had shown
    # What the widget shows after skipping ids it had: everything, each once.
    shown = {item["id"]: item["text"] for item in seen}
    for item in back["history"]:
        shown.setdefault(item["id"], item["text"])
    assert sorted(shown.values()) == sorted(
        ["Hello", "Anyone there?", "One moment please", "Found it: it ships Monday"]
    )


@pytest.mark.parametrize("after", ["12", True, -1, 2**64, None])
def test_a_hello_with_an_unreadable_last_item_gets_the_whole_history(after):
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True)
    widget = make_widget()

    async def scenario():
        socket = visitor_socket(widget)
        connected, _ = await socket.connect()
        assert connected
        await socket.send_json_to({"type": "hello", "token": "", "after": after})
        ready = await socket.receive_json_from()
        await socket.disconnect()
        return ready

    ready = async_to_sync(scenario)()
    assert ready["type"] == "ready" and ready["catch_up"] is False


@pytest.mark.parametrize(
    "reported, kept",
    [
        ("Europe/Madrid", "Europe/Madrid"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("Mars/Olympus_Mons", ""),  # not a zone
        ("../../etc/passwd", ""),  # not a plain key
        ("x" * 100, ""),
        (42, ""),
    ],
)
def test_the_visitors_time_zone_is_kept_when_it_is_one(reported, kept):
    widget = make_widget()

    async def scenario():
        socket = visitor_socket(widget)
        await socket.connect()
        await socket.send_json_to(
            {"type": "hello", "token": "", "page_url": "https://shop.example.com/", "time_zone": reported}
        )
        assert (await socket.receive_json_from())["type"] == "ready"
        await socket.disconnect()

    run(scenario)

    assert ChatVisitor.objects.get(widget=widget).time_zone == kept


def test_a_visitor_asks_for_the_transcript_from_the_widget(monkeypatch):
    """The widget's "Email me this chat": the request reaches a worker; asked again at once, it says when."""
    from unittest import mock

    from django.core.cache import cache

    cache.clear()
    widget = make_widget()
    sent = []

    async def scenario():
        socket = visitor_socket(widget)
        await hello(socket)
        await socket.send_json_to({"type": "contact", "name": "Maya", "email": "maya@example.com"})
        assert (await next_of_type(socket, "contact_saved"))["email"] == "maya@example.com"
        await socket.send_json_to({"type": "message", "client_id": "c1", "text": "Hello"})
        await next_of_type(socket, "ack")
        with mock.patch(
            "channels_app.chat.consumers.current_app.send_task", side_effect=lambda *a, **k: sent.append(k["args"])
        ):
            await socket.send_json_to({"type": "transcript"})
            answered = await next_of_type(socket, "transcript_sent")
            await socket.send_json_to({"type": "transcript"})
            again = await next_of_type(socket, "error")
        await socket.disconnect()
        return answered, again

    answered, again = async_to_sync(scenario)()

    visitor = ChatVisitor.objects.get(widget=widget)
    conversation = Conversation.objects.get(entry_point=widget.entry_point)
    assert answered == {"type": "transcript_sent", "email": "maya@example.com"}
    assert sent == [[conversation.pk, visitor.pk]]
    assert "You can ask again in 10 minutes" in again["message"]


def test_with_the_broker_down_the_visitor_is_told_and_may_ask_again():
    from unittest import mock

    from django.core.cache import cache

    cache.clear()
    widget = make_widget()

    async def scenario():
        socket = visitor_socket(widget)
        await hello(socket)
        await socket.send_json_to({"type": "contact", "name": "Maya", "email": "maya@example.com"})
        await next_of_type(socket, "contact_saved")
        await socket.send_json_to({"type": "message", "client_id": "c1", "text": "Hello"})
        await next_of_type(socket, "ack")
        with mock.patch("channels_app.chat.consumers.current_app.send_task", side_effect=ConnectionError("down")):
            await socket.send_json_to({"type": "transcript"})
            refused = await next_of_type(socket, "error")
        with mock.patch("channels_app.chat.consumers.current_app.send_task"):
            await socket.send_json_to({"type": "transcript"})
            answered = await next_of_type(socket, "transcript_sent")
        await socket.disconnect()
        return refused, answered

    refused, answered = async_to_sync(scenario)()

    assert refused["message"] == "We could not send it just now. Please try again in a minute."
    assert answered["type"] == "transcript_sent"
