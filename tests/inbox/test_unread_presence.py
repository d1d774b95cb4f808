"""Unread markers and counts, notifications of new messages, and who else has a conversation open."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from inbox import presence, reading
from inbox.models import ConversationPresence, ConversationRead
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return factories.make_user(first_name="Ada")


@pytest.fixture
def colleague(inbox):
    colleague = factories.make_user(first_name="Ben")
    inbox.memberships.create(user=colleague)
    return colleague


@pytest.fixture
def inbox(agent):
    return factories.make_inbox(name="Support", members=[agent])


@pytest.fixture
def conversation(inbox, agent):
    conversation = factories.make_conversation(inbox=inbox, assignee=agent, last_customer_message_at=timezone.now())
    factories.make_item(conversation, text="Where is my order?")
    return conversation


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def test_a_new_customer_message_is_unread_until_opened(agent_client, agent, inbox, conversation):
    factories.make_inbox(name="Second", members=[agent])  # the inbox tabs show with two inboxes

    page = agent_client.get(reverse("inbox:home")).content.decode()
    assert f'data-testid="unread-{conversation.pk}"' in page
    assert f'data-testid="unread-inbox-{inbox.pk}"' in page

    agent_client.get(reverse("inbox:conversation", args=[conversation.pk]))

    page = agent_client.get(reverse("inbox:home")).content.decode()
    assert f'data-testid="unread-{conversation.pk}"' not in page
    assert ConversationRead.objects.get(user=agent).last_seen_item_id == conversation.items.get().pk


def test_our_own_messages_do_not_make_it_unread(agent, conversation):
    reading.mark_read(agent, conversation.pk)
    factories.make_item(conversation, kind="agent_message", text="On its way")

    assert reading.unread_counts(agent, [conversation.inbox_id]) == {}


def test_read_markers_are_per_agent(agent, colleague, conversation):
    reading.mark_read(agent, conversation.pk)

    assert reading.unread_counts(colleague, [conversation.inbox_id]) == {conversation.inbox_id: 1}
    assert reading.unread_counts(agent, [conversation.inbox_id]) == {}


def test_notifications_name_new_conversations_and_new_messages_in_mine(agent_client, agent, inbox, conversation):
    before = conversation.items.get().pk - 1
    factories.make_item(conversation, text="Hello?")
    others = factories.make_conversation(inbox=inbox)  # nobody's: no notification
    factories.make_item(others, text="Not for Ada")

    page = agent_client.get(reverse("inbox:notifications"), {"after": before}).content.decode()

    assert "New conversation from" in page and "wrote" in page and "Hello?" in page
    assert "Not for Ada" not in page


def test_notification_settings_are_saved(agent_client, agent):
    agent_client.post(reverse("inbox:notification_settings"), {"notify_sound": "on"})

    agent.refresh_from_db()
    assert (agent.notify_desktop, agent.notify_sound) == (False, True)


def test_presence_shows_the_other_agent_viewing_and_typing(client, agent, colleague, conversation):
    presence.report(colleague, conversation.pk, typing=True)
    client.force_login(agent)

    page = client.post(reverse("inbox:presence", args=[conversation.pk]), {"typing": "0"}).content.decode()

    assert "Ben is typing a reply" in page
    assert ConversationPresence.objects.get(user=agent).typing is False


def test_presence_forgets_agents_who_left(agent, colleague, conversation):
    presence.report(colleague, conversation.pk)

    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        assert presence.others(agent, conversation.pk) == []
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert presence.prune() == 1


def test_outsider_cannot_report_presence(client, conversation):
    outsider = factories.make_user()
    client.force_login(outsider)

    assert client.post(reverse("inbox:presence", args=[conversation.pk])).status_code == 404
