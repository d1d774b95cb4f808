"""The Conversation SLA clock: started by customer messages, satisfied only by an agent's message."""

import datetime

import pytest
import time_machine

from conversations import outbound, signals
from conversations.models import Conversation, SlaPeriod, TimelineItem
from tests.conversations.helpers import make_business_hours, make_instagram_conversation, receive
from tests.factories import make_inbox, make_item, make_user

pytestmark = pytest.mark.django_db

MONDAY_10 = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def inbox():
    inbox = make_inbox()
    inbox.first_response_minutes = 60
    inbox.next_response_minutes = 30
    inbox.save()
    return inbox


@pytest.fixture
def conversation(inbox):
    return make_instagram_conversation(inbox)


@pytest.fixture
def agent(inbox):
    return make_user()


def later(minutes):
    return time_machine.travel(MONDAY_10 + datetime.timedelta(minutes=minutes), tick=False)


@time_machine.travel(MONDAY_10, tick=False)
def test_customer_message_sets_the_first_response_due_time(conversation):
    receive(conversation)

    assert conversation.sla_due_at == MONDAY_10 + datetime.timedelta(minutes=60)


@time_machine.travel(MONDAY_10, tick=False)
def test_a_second_customer_message_while_waiting_keeps_the_due_time(conversation):
    receive(conversation)

    with later(20):
        receive(conversation, "Anyone there?")

    assert conversation.sla_due_at == MONDAY_10 + datetime.timedelta(minutes=60)
    assert SlaPeriod.objects.filter(conversation=conversation).count() == 1


@time_machine.travel(MONDAY_10, tick=False)
def test_agent_reply_satisfies_the_sla_at_the_queued_time(conversation, agent):
    receive(conversation)

    with later(15):
        outbound.send_reply(conversation, agent, "Hi, how can I help?")

    conversation.refresh_from_db()
    assert conversation.sla_due_at is None
    assert conversation.first_response_at == MONDAY_10 + datetime.timedelta(minutes=15)
    assert SlaPeriod.objects.get(conversation=conversation).satisfied_at == conversation.first_response_at


@time_machine.travel(MONDAY_10, tick=False)
def test_the_next_customer_message_gets_the_next_response_target(conversation, agent):
    receive(conversation)
    with later(5):
        outbound.send_reply(conversation, agent, "Hi!")

    with later(40):
        receive(conversation, "One more question")

    assert conversation.sla_due_at == MONDAY_10 + datetime.timedelta(minutes=40 + 30)
    assert SlaPeriod.objects.filter(conversation=conversation).last().kind == SlaPeriod.Kind.NEXT


@time_machine.travel(MONDAY_10, tick=False)
def test_a_like_does_not_satisfy_the_sla(conversation, agent):
    message = receive(conversation, external_id="mid.customer.1")

    outbound.send_like(message, agent)

    conversation.refresh_from_db()
    assert conversation.sla_due_at == MONDAY_10 + datetime.timedelta(minutes=60)
    assert conversation.first_response_at is None


@time_machine.travel(MONDAY_10, tick=False)
def test_a_note_does_not_satisfy_the_sla(conversation, agent):
    receive(conversation)

    make_item(conversation, TimelineItem.Kind.NOTE, text="Checking the order", author=agent)

    conversation.refresh_from_db()
    assert conversation.sla_due_at == MONDAY_10 + datetime.timedelta(minutes=60)


@time_machine.travel(MONDAY_10, tick=False)
def test_an_auto_reply_does_not_satisfy_the_sla(conversation):
    receive(conversation)

    outbound.send_auto_reply(conversation, "We got your message.", source="rule:1")

    conversation.refresh_from_db()
    assert conversation.sla_due_at == MONDAY_10 + datetime.timedelta(minutes=60)
    assert conversation.first_response_at is None


@time_machine.travel(MONDAY_10, tick=False)
def test_reopening_a_conversation_does_not_satisfy_the_sla(conversation):
    receive(conversation)

    signals.conversation_reopened.send(sender=Conversation, conversation=conversation, by=None)

    conversation.refresh_from_db()
    assert conversation.sla_due_at == MONDAY_10 + datetime.timedelta(minutes=60)


@time_machine.travel(MONDAY_10, tick=False)
def test_a_failed_agent_message_does_not_satisfy_the_sla(conversation, agent):
    receive(conversation)
    with later(10):
        reply = outbound.send_reply(conversation, agent, "Hi!")

    with later(12):
        reply.delivery_status = TimelineItem.Delivery.FAILED
        reply.save(update_fields=["delivery_status"])
        signals.outbound_failed.send(sender=TimelineItem, item=reply, reason="Outside the messaging window")

    conversation.refresh_from_db()
    assert conversation.sla_due_at == MONDAY_10 + datetime.timedelta(minutes=60)
    assert conversation.first_response_at is None
    assert SlaPeriod.objects.get(conversation=conversation).running


@time_machine.travel(MONDAY_10, tick=False)
def test_a_failed_message_is_covered_by_a_later_reply_that_went_out(conversation, agent):
    receive(conversation)
    with later(10):
        failed = outbound.send_reply(conversation, agent, "Hi!")
    with later(11):
        outbound.send_reply(conversation, agent, "Hello again")

    failed.delivery_status = TimelineItem.Delivery.FAILED
    failed.save(update_fields=["delivery_status"])
    signals.outbound_failed.send(sender=TimelineItem, item=failed, reason="Transient")

    conversation.refresh_from_db()
    assert conversation.sla_due_at is None
    assert conversation.first_response_at == MONDAY_10 + datetime.timedelta(minutes=11)


@time_machine.travel(MONDAY_10, tick=False)
def test_a_failed_reply_folds_the_wait_started_after_it_back_into_the_first(conversation, agent):
    receive(conversation)
    with later(10):
        reply = outbound.send_reply(conversation, agent, "Hi!")
    with later(20):
        receive(conversation, "Hello?")

    signals.outbound_failed.send(sender=TimelineItem, item=reply, reason="User unavailable")

    conversation.refresh_from_db()
    assert conversation.sla_due_at == MONDAY_10 + datetime.timedelta(minutes=60)
    assert [p.kind for p in SlaPeriod.objects.filter(conversation=conversation)] == [SlaPeriod.Kind.FIRST]


@time_machine.travel(MONDAY_10, tick=False)
def test_a_failed_like_changes_nothing(conversation, agent):
    message = receive(conversation, external_id="mid.customer.2")
    like = outbound.send_like(message, agent)
    outbound.send_reply(conversation, agent, "Hi!")

    signals.outbound_failed.send(sender=TimelineItem, item=like, reason="Transient")

    conversation.refresh_from_db()
    assert conversation.sla_due_at is None


@time_machine.travel(MONDAY_10, tick=False)
def test_closing_stops_the_sla(conversation):
    receive(conversation)

    signals.conversation_closed.send(sender=Conversation, conversation=conversation, by=None)

    conversation.refresh_from_db()
    assert conversation.sla_due_at is None
    assert SlaPeriod.objects.get(conversation=conversation).stopped_at == MONDAY_10


def test_an_unrouted_conversation_has_no_sla_yet():
    conversation = make_instagram_conversation(inbox=None)

    receive(conversation)

    assert conversation.sla_due_at is None


def test_sla_counts_business_hours_only_when_the_inbox_says_so(inbox):
    inbox.business_hours = make_business_hours("Europe/Berlin")
    inbox.sla_business_hours_only = True
    inbox.save()
    conversation = make_instagram_conversation(inbox)
    friday_1630_berlin = datetime.datetime(2026, 3, 6, 15, 30, tzinfo=datetime.UTC)

    with time_machine.travel(friday_1630_berlin, tick=False):
        receive(conversation)

    assert conversation.sla_due_at == datetime.datetime(2026, 3, 9, 8, 30, tzinfo=datetime.UTC)  # Mon 09:30


def test_sla_runs_on_the_wall_clock_when_business_hours_only_is_off(inbox):
    inbox.business_hours = make_business_hours("Europe/Berlin")
    inbox.save()
    conversation = make_instagram_conversation(inbox)
    friday_1630_berlin = datetime.datetime(2026, 3, 6, 15, 30, tzinfo=datetime.UTC)

    with time_machine.travel(friday_1630_berlin, tick=False):
        receive(conversation)

    assert conversation.sla_due_at == friday_1630_berlin + datetime.timedelta(minutes=60)
