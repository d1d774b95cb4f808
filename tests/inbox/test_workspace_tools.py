"""Answers, topics, snooze, bulk actions and the list's filters, from the inbox."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from channels_app.models import Channel
from conversations import answers, services
from conversations.inbound import IncomingMessage, receive_message
from conversations.models import Answer, Conversation, Rule, TimelineItem, Topic
from conversations.rules import apply_actions
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return factories.make_user(first_name="Ada", last_name="Lovelace")


@pytest.fixture
def inbox(agent):
    return factories.make_inbox(name="Support", members=[agent], default=True)


@pytest.fixture
def entry_point():
    entry_point = factories.make_entry_point()
    factories.make_instagram_account(entry_point)
    return entry_point


@pytest.fixture
def conversation(inbox, entry_point):
    customer = factories.make_customer(entry_point, external_id="IGSID1", name="Maya Lopez")
    conversation = factories.make_conversation(
        inbox=inbox, entry_point=entry_point, customer=customer, last_customer_message_at=timezone.now()
    )
    factories.make_item(conversation, text="Where is my order?")
    return conversation


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def url(name, *args):
    return reverse(f"inbox:{name}", args=args)


def listed(client, **params):
    return client.get(url("home"), params).content.decode()


# --- Answers -----------------------------------------------------------------


def test_fill_uses_the_customer_and_the_agent(agent, conversation):
    body = "Hi {{customer.first_name}}, {{ agent.name }} here. {{customer.unknown}}"

    assert answers.fill(body, conversation.customer, agent) == "Hi Maya, Ada Lovelace here. {{customer.unknown}}"


def test_fill_without_a_name_says_there(agent, entry_point):
    customer = factories.make_customer(entry_point, name="")

    assert answers.fill("Hi {{customer.first_name}}!", customer, agent) == "Hi there!"


def test_picker_lists_matches_filled_for_the_conversation(agent_client, conversation, inbox):
    Answer.objects.create(title="Refund policy", body="Hi {{customer.first_name}}, refunds take 5 days.", inbox=inbox)
    Answer.objects.create(title="Shipping", body="It ships today.")
    Answer.objects.create(title="Refund (other inbox)", body="x", inbox=factories.make_inbox())

    page = agent_client.get(url("answer_picker", conversation.pk), {"q": "refund"}).content.decode()

    assert "Refund policy" in page and "Hi Maya, refunds take 5 days." in page
    assert "Shipping" not in page and "other inbox" not in page


def test_sending_counts_the_answer_used(agent_client, conversation):
    answer = Answer.objects.create(title="Thanks", body="Thanks!")

    agent_client.post(url("reply", conversation.pk), {"text": "Thanks!", "answer": [answer.pk]})

    answer.refresh_from_db()
    assert answer.usage_count == 1


def test_a_refused_send_counts_nothing(agent_client, conversation):
    answer = Answer.objects.create(title="Thanks", body="Thanks!")

    agent_client.post(url("reply", conversation.pk), {"text": "", "answer": [answer.pk]})

    answer.refresh_from_db()
    assert answer.usage_count == 0


def test_agent_adds_edits_and_deletes_their_answer(agent_client, agent, inbox):
    agent_client.post(url("answers"), {"title": "Hello", "body": "Hi {{customer.first_name}}", "inbox": inbox.pk})
    answer = Answer.objects.get()
    assert (answer.owner, answer.inbox) == (agent, inbox)

    agent_client.post(url("answers"), {"id": answer.pk, "title": "Hello!", "body": "Hi", "inbox": ""})
    answer.refresh_from_db()
    assert (answer.title, answer.inbox) == ("Hello!", None)

    agent_client.post(url("answers"), {"id": answer.pk, "delete": "1"})
    assert not Answer.objects.exists()


def test_agent_cannot_edit_someone_elses_answer(agent_client):
    answer = Answer.objects.create(title="Team", body="Team text", owner=factories.make_admin())

    response = agent_client.post(url("answers"), {"id": answer.pk, "title": "Mine", "body": "x"})

    assert response.status_code == 404
    assert Answer.objects.get().title == "Team"


def test_answers_page_lists_shared_and_own_inbox_answers(agent_client, inbox):
    Answer.objects.create(title="Shared one", body="x")
    Answer.objects.create(title="Support one", body="x", inbox=inbox)
    Answer.objects.create(title="Hidden one", body="x", inbox=factories.make_inbox())

    page = agent_client.get(url("answers")).content.decode()

    assert "Shared one" in page and "Support one" in page and "Hidden one" not in page


# --- Topics ------------------------------------------------------------------


def test_agent_adds_and_removes_a_topic(agent_client, conversation):
    refund = Topic.objects.create(name="Refund")

    agent_client.post(url("add_topic", conversation.pk), {"topic": refund.pk}, HTTP_HX_REQUEST="true")
    assert list(conversation.topics.all()) == [refund]
    assert TimelineItem.objects.filter(metadata__change="topic_added").exists()

    agent_client.post(url("remove_topic", conversation.pk, refund.pk), HTTP_HX_REQUEST="true")
    assert not conversation.topics.exists()


def test_a_rule_adds_a_topic(conversation):
    refund = Topic.objects.create(name="Refund")
    rule = Rule.objects.create(name="Refunds", words="refund", add_topic=refund)

    outcome = apply_actions(rule, conversation, conversation.items.get())

    assert list(conversation.topics.all()) == [refund]
    assert outcome == "Added the topic Refund"


def test_list_filters_by_topic_and_status(agent_client, conversation, inbox, entry_point):
    refund = Topic.objects.create(name="Refund")
    conversation.topics.add(refund)
    other = factories.make_conversation(inbox=inbox, entry_point=entry_point, status=Conversation.Status.WAITING)

    by_topic = listed(agent_client, topic=refund.pk)
    by_status = listed(agent_client, status="waiting")

    assert f'data-conversation="{conversation.pk}"' in by_topic and f'data-conversation="{other.pk}"' not in by_topic
    assert f'data-conversation="{other.pk}"' in by_status and f'data-conversation="{conversation.pk}"' not in by_status


def test_list_filters_by_sla_state_and_channel(agent_client, conversation, inbox, entry_point):
    Conversation.objects.filter(pk=conversation.pk).update(sla_due_at=timezone.now() - timedelta(minutes=5))
    other = factories.make_conversation(inbox=inbox, entry_point=entry_point)

    overdue = listed(agent_client, sla="overdue")
    email_only = listed(agent_client, channel=Channel.Kind.EMAIL)

    assert f'data-conversation="{conversation.pk}"' in overdue and f'data-conversation="{other.pk}"' not in overdue
    assert "No conversations match these filters" in email_only


def test_sort_by_waiting_longest(agent_client, conversation, inbox, entry_point):
    earlier = factories.make_conversation(
        inbox=inbox, entry_point=entry_point, last_customer_message_at=timezone.now() - timedelta(hours=3)
    )

    page = listed(agent_client, sort="waiting")

    assert page.index(f'data-conversation="{earlier.pk}"') < page.index(f'data-conversation="{conversation.pk}"')


# --- Snooze ------------------------------------------------------------------


def test_snoozed_conversation_leaves_the_open_list_until_its_time(agent_client, conversation):
    agent_client.post(url("snooze", conversation.pk), {"until": "1h"}, HTTP_HX_REQUEST="true")
    conversation.refresh_from_db()

    assert conversation.status == Conversation.Status.OPEN and conversation.snoozed_until is not None
    assert f'data-conversation="{conversation.pk}"' not in listed(agent_client)
    assert f'data-conversation="{conversation.pk}"' in listed(agent_client, filter="snoozed")

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert services.wake_snoozed() == 1
    conversation.refresh_from_db()
    assert conversation.snoozed_until is None


def test_the_customers_next_message_wakes_it(agent, conversation, entry_point):
    services.snooze_conversation(conversation, agent)  # until the customer writes

    receive_message(
        entry_point, IncomingMessage(message_id="mid.2", customer_id="IGSID1", occurred_at=timezone.now(), text="Hi?")
    )

    conversation.refresh_from_db()
    assert conversation.snoozed_until is None


def test_snooze_in_the_past_is_refused(agent_client, conversation):
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    response = agent_client.post(
        url("snooze", conversation.pk), {"until": "custom", "custom": past}, HTTP_HX_REQUEST="true"
    )

    assert "Choose a time in the future" in response.content.decode()


def test_wake_from_the_header(agent_client, agent, conversation):
    services.snooze_conversation(conversation, agent)

    agent_client.post(url("wake", conversation.pk), HTTP_HX_REQUEST="true")

    conversation.refresh_from_db()
    assert conversation.snoozed_until is None


# --- Bulk --------------------------------------------------------------------


def test_bulk_close_assign_and_topic(agent_client, agent, conversation, inbox, entry_point):
    other = factories.make_conversation(inbox=inbox, entry_point=entry_point)
    refund = Topic.objects.create(name="Refund")
    ids = [conversation.pk, other.pk]

    agent_client.post(url("bulk"), {"ids": ids, "action": "assign", "assignee": "me"})
    agent_client.post(url("bulk"), {"ids": ids, "action": "topic", "topic": refund.pk})
    agent_client.post(url("bulk"), {"ids": ids, "action": "close"})

    for row in Conversation.objects.filter(pk__in=ids):
        assert row.assignee == agent and row.is_closed and list(row.topics.all()) == [refund]


def test_bulk_skips_conversations_the_agent_cannot_see(agent_client, entry_point):
    hidden = factories.make_conversation(inbox=factories.make_inbox(), entry_point=entry_point)

    agent_client.post(url("bulk"), {"ids": [hidden.pk], "action": "close"})

    hidden.refresh_from_db()
    assert not hidden.is_closed


def test_bulk_redirects_only_to_our_pages(agent_client, conversation):
    response = agent_client.post(
        url("bulk"), {"ids": [conversation.pk], "action": "close", "next": "https://evil.test/"}
    )

    assert response.url == url("home")


# --- Search ------------------------------------------------------------------


def test_search_finds_customers_by_email_and_phone_in_every_status(agent_client, conversation):
    customer = conversation.customer
    customer.emails, customer.phones = ["maya@x.test"], ["+14155550100"]
    customer.save()
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.CLOSED, closed_at=timezone.now())

    by_email = listed(agent_client, q="maya@x")
    by_phone = listed(agent_client, q="4155550100")

    assert f'data-conversation="{conversation.pk}"' in by_email and "<mark>maya@x</mark>.test" in by_email
    assert f'data-conversation="{conversation.pk}"' in by_phone


def test_search_highlights_the_matching_message(agent_client, conversation):
    page = listed(agent_client, q="ORDER")

    assert "Where is my <mark>order</mark>?" in page


def test_search_finds_an_email_identity(agent_client, inbox, agent):
    mailbox = factories.make_entry_point(kind="email_address", channel_kind=Channel.Kind.EMAIL)
    customer = factories.make_customer(mailbox, external_id="jonas@example.com", name="Jonas")
    conversation = factories.make_conversation(inbox=inbox, entry_point=mailbox, customer=customer)

    assert f'data-conversation="{conversation.pk}"' in listed(agent_client, q="jonas@example")


def test_highlight_escapes_what_it_marks():
    from inbox.templatetags.inbox_tags import highlight

    assert highlight("<b>refund</b> please", "refund") == "&lt;b&gt;<mark>refund</mark>&lt;/b&gt; please"
