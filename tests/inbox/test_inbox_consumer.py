"""The agents' inbox socket (/ws/inbox/) pushes notifications and presence, which the page polled for before."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.urls import reverse

from conversations.models import Conversation, TimelineItem
from inbox import reading
from inbox.consumers import InboxConsumer
from inbox.models import ConversationPresence
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_layer():
    """The in-memory layer is per process; each test starts with no groups."""
    async_to_sync(get_channel_layer().flush)()
    yield
    async_to_sync(get_channel_layer().flush)()


def agent_socket(user):
    communicator = WebsocketCommunicator(InboxConsumer.as_asgi(), "/ws/inbox/")
    communicator.scope["user"] = user
    return communicator


async def connected(user):
    socket = agent_socket(user)
    ok, _ = await socket.connect()
    assert ok
    assert (await socket.receive_json_from())["type"] == "hello"
    return socket


async def next_of_type(socket, kind, timeout=2):
    while True:
        message = await socket.receive_json_from(timeout=timeout)
        if message["type"] == kind:
            return message


def run(scenario):
    return async_to_sync(scenario)()


@pytest.fixture
def ada():
    return factories.make_user(email="ada@example.test", first_name="Ada")


@pytest.fixture
def ben():
    return factories.make_user(email="ben@example.test", first_name="Ben")


@pytest.fixture
def conversation(ada, ben):
    inbox = factories.make_inbox(name="Support", members=[ada, ben])
    customer = factories.make_customer(name="Maya Lopez")
    return factories.make_conversation(inbox=inbox, customer=customer, assignee=ada)


def customer_writes(conversation, text):
    factories.make_item(conversation, text=text)
    Conversation.touch(conversation.pk)


def test_a_new_message_in_my_conversation_is_pushed_as_a_notification(ada, conversation):
    after = reading.newest_item_id()

    async def scenario():
        socket = await connected(ada)
        await socket.send_json_to({"type": "notify_from", "after": after})
        await database_sync_to_async(customer_writes)(conversation, "Any news?")
        notice = await next_of_type(socket, "notify")
        await socket.disconnect()
        return notice

    notice = run(scenario)

    newest = TimelineItem.objects.order_by("-pk").first()
    assert notice == {
        "type": "notify",
        "notices": [
            {
                "title": "New conversation from Maya Lopez",
                "body": "Any news?",
                "url": reverse("inbox:conversation", args=[conversation.pk]),
                "tag": f"conversation-{conversation.pk}",
            }
        ],
        "after": newest.pk,
    }


def test_a_message_in_a_colleagues_conversation_notifies_nobody_else(ben, conversation):
    after = reading.newest_item_id()

    async def scenario():
        socket = await connected(ben)
        await socket.send_json_to({"type": "notify_from", "after": after})
        await database_sync_to_async(customer_writes)(conversation, "Any news?")
        await next_of_type(socket, "changed")
        nothing = await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()
        return nothing

    assert run(scenario) is True


def test_a_page_that_gave_no_starting_point_gets_no_notifications(ada, conversation):
    async def scenario():
        socket = await connected(ada)
        await socket.send_json_to({"type": "notify_from", "after": "0; DROP TABLE"})
        await database_sync_to_async(customer_writes)(conversation, "Any news?")
        await next_of_type(socket, "changed")
        nothing = await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()
        return nothing

    assert run(scenario) is True


def test_a_colleague_arriving_and_typing_is_pushed_to_the_agent_viewing(ada, ben, conversation):
    async def scenario():
        ada_socket = await connected(ada)
        await ada_socket.send_json_to({"type": "watch", "conversation_ids": [conversation.pk]})
        await ada_socket.send_json_to({"type": "viewing", "conversation_id": conversation.pk, "fresh": True})
        alone = await next_of_type(ada_socket, "presence")

        ben_socket = await connected(ben)
        await ben_socket.send_json_to({"type": "watch", "conversation_ids": [conversation.pk]})
        await ben_socket.send_json_to({"type": "viewing", "conversation_id": conversation.pk, "fresh": True})
        ben_sees = await next_of_type(ben_socket, "presence")
        ada_sees_ben = await next_of_type(ada_socket, "presence")
        await ben_socket.send_json_to({"type": "viewing", "conversation_id": conversation.pk, "typing": True})
        ada_sees_typing = await next_of_type(ada_socket, "presence")
        await ben_socket.disconnect()
        ada_sees_ben_leave = await next_of_type(ada_socket, "presence")
        await ada_socket.disconnect()
        return alone, ben_sees, ada_sees_ben, ada_sees_typing, ada_sees_ben_leave

    alone, ben_sees, ada_sees_ben, ada_sees_typing, ada_sees_ben_leave = run(scenario)

    assert alone == {"type": "presence", "conversation_id": conversation.pk, "others": []}
    assert ben_sees["others"] == [{"name": "Ada", "typing": False}]
    assert ada_sees_ben["others"] == [{"name": "Ben", "typing": False}]
    assert ada_sees_typing["others"] == [{"name": "Ben", "typing": True}]
    assert ada_sees_ben_leave["others"] == []
    assert not ConversationPresence.objects.exists()  # both have left


def test_a_report_by_the_fallback_poll_is_pushed_to_agents_on_the_socket(client, ada, ben, conversation):
    async def scenario():
        socket = await connected(ada)
        await socket.send_json_to({"type": "watch", "conversation_ids": [conversation.pk]})
        await socket.send_json_to({"type": "viewing", "conversation_id": conversation.pk, "fresh": True})
        await next_of_type(socket, "presence")

        def ben_polls():
            client.force_login(ben)
            return client.post(reverse("inbox:presence", args=[conversation.pk]), {"typing": "1"})

        ben_page = await database_sync_to_async(ben_polls)()
        seen = await next_of_type(socket, "presence")
        await socket.disconnect()
        return seen, ben_page.content.decode()

    seen, ben_page = run(scenario)
    assert seen["others"] == [{"name": "Ben", "typing": True}]
    assert "Ada is viewing" in ben_page  # and the poll shows him who is there by socket


def test_an_agent_cannot_report_presence_on_a_conversation_of_another_inbox(conversation):
    outsider = factories.make_user(email="out@example.test", first_name="Eve")

    async def scenario():
        socket = await connected(outsider)
        await socket.send_json_to({"type": "viewing", "conversation_id": conversation.pk, "fresh": True})
        nothing = await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()
        return nothing

    assert run(scenario) is True
    assert not ConversationPresence.objects.exists()


def test_a_report_that_only_says_still_here_is_not_pushed(ada, ben, conversation):
    async def scenario():
        ada_socket = await connected(ada)
        await ada_socket.send_json_to({"type": "watch", "conversation_ids": [conversation.pk]})
        await ada_socket.send_json_to({"type": "viewing", "conversation_id": conversation.pk, "fresh": True})
        await next_of_type(ada_socket, "presence")
        ben_socket = await connected(ben)
        await ben_socket.send_json_to({"type": "viewing", "conversation_id": conversation.pk})
        await next_of_type(ada_socket, "presence")
        await ben_socket.send_json_to({"type": "viewing", "conversation_id": conversation.pk})  # the heartbeat
        nothing = await ada_socket.receive_nothing(timeout=0.3)
        await ben_socket.disconnect()
        await ada_socket.disconnect()
        return nothing

    assert run(scenario) is True


def test_a_burst_of_changes_looks_for_notices_once_a_second_and_misses_none(ada, conversation, monkeypatch):
    """A busy inbox pushes many changes a second; each socket asks the database for notices at most
    once a second, and the last look comes after the burst, so its messages are all told."""
    from inbox import consumers

    looks = []
    real_notices = reading.notices_since

    def counting(*args):
        looks.append(args)
        return real_notices(*args)

    monkeypatch.setattr(reading, "notices_since", counting)
    monkeypatch.setattr(consumers, "NOTICES_EVERY", 2.0)
    after = reading.newest_item_id()

    async def scenario():
        socket = await connected(ada)
        await socket.send_json_to({"type": "notify_from", "after": after})
        for number in range(5):
            await database_sync_to_async(customer_writes)(conversation, f"Message {number}")
        told = []
        while sum(len(notice["notices"]) for notice in told) < 5:
            message = await socket.receive_json_from(timeout=5)
            if message["type"] == "notify":
                told.append(message)
        await socket.disconnect()
        return told

    told = run(scenario)

    assert [notice["body"] for batch in told for notice in batch["notices"]] == [f"Message {n}" for n in range(5)]
    assert len(looks) == 2  # one at once, one for the rest of the burst


def test_a_change_heard_through_both_groups_is_told_once(ada, conversation):
    """The page shows the conversation (its group) and it is in the agent's inbox (that group too)."""

    async def scenario():
        socket = await connected(ada)
        await socket.send_json_to({"type": "watch", "conversation_ids": [conversation.pk]})
        await socket.receive_nothing(timeout=0.2)  # the watch is in place
        await database_sync_to_async(customer_writes)(conversation, "Any news?")
        told = [await next_of_type(socket, "changed")]
        while not await socket.receive_nothing(timeout=0.5):
            message = await socket.receive_json_from()
            if message["type"] == "changed":
                told.append(message)
        await socket.disconnect()
        return told

    assert run(scenario) == [{"type": "changed", "conversation_id": conversation.pk}]


def test_a_burst_of_changes_is_told_at_once_and_once_more_after_it(ada, conversation, monkeypatch):
    """At most one note per NOTE_EVERY: the page fetches everything up to its moment, so one note due
    after the burst covers the rest, and none is lost."""
    from inbox import consumers

    monkeypatch.setattr(consumers, "NOTE_EVERY", 1.0)

    async def scenario():
        socket = await connected(ada)
        for number in range(5):
            await database_sync_to_async(customer_writes)(conversation, f"Message {number}")
        told = [await next_of_type(socket, "changed"), await next_of_type(socket, "changed", timeout=3)]
        rest = await socket.receive_nothing(timeout=1.5)
        await socket.disconnect()
        return told, rest

    told, rest = run(scenario)

    assert [note["type"] for note in told] == ["changed", "changed"] and rest is True
