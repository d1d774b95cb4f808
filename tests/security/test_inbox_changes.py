"""Findings 9 and 10: the inbox's live-update poll (/inbox/changes/)."""

import re

import pytest
from django.urls import reverse

from conversations.models import Conversation, change_feed
from tests import factories

pytestmark = pytest.mark.django_db

HUGE_ID = "9" * 40


@pytest.fixture
def agent_client(client):
    agent = factories.make_user()
    inbox = factories.make_inbox(name="Support", members=[agent])
    factories.make_conversation(inbox=inbox)
    client.force_login(agent)
    return client


@pytest.fixture
def other_inbox_conversation():
    return factories.make_conversation(inbox=factories.make_inbox(name="VIP"))


def poll(client, since, **params):
    return client.get(reverse("inbox:changes"), {"since": since, **params})


def cursor_of(response):
    found = re.search(r'data-cursor="([^"]+)"', response.content.decode())
    return found and found.group(1)


@pytest.mark.parametrize(
    "params",
    [
        {"shown": HUGE_ID},
        {"shown": f"1,{HUGE_ID}", "open": HUGE_ID},
        {"open": HUGE_ID},
        {"shown": str(2**63), "open": str(2**63)},
        {"shown": "0,-5,١٢"},  # zero, negative and non-ASCII digits are not ids
    ],
)
def test_out_of_range_ids_are_ignored_not_a_500(agent_client, params):
    response = poll(agent_client, 0, **params)

    assert response.status_code in (200, 204)


def test_an_item_id_out_of_range_is_refused_with_400(agent_client):
    conversation = Conversation.objects.get()

    response = agent_client.get(reverse("inbox:items", args=[conversation.pk]), {"before": HUGE_ID})

    assert response.status_code == 400


def test_polling_another_inboxs_conversation_does_not_reveal_when_it_changes(
    agent_client, other_inbox_conversation, django_capture_on_commit_callbacks
):
    change_feed.stamp_changes()
    cursor = change_feed.current_cursor()  # after every conversation was made: nothing changed since
    shown = str(other_inbox_conversation.pk)

    before_change = poll(agent_client, cursor, shown=shown)
    with django_capture_on_commit_callbacks(execute=True):
        Conversation.touch(other_inbox_conversation.pk)
    after_change = poll(agent_client, cursor, shown=shown)

    assert before_change.status_code == after_change.status_code
    assert cursor_of(before_change) == cursor_of(after_change) == str(cursor)
