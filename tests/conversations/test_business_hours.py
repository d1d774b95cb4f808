"""The outside-hours auto-reply: once per conversation, in the 24-hour window, never an agent reply."""

import datetime

import pytest
import time_machine

from conversations.models import OutboundMessage, TimelineItem
from tests.conversations.helpers import make_business_hours, make_instagram_conversation, receive
from tests.factories import make_inbox

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
SATURDAY = datetime.datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
MONDAY_NOON = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
AWAY = "Thanks! We are closed now and reply from Monday 9:00."


@pytest.fixture
def inbox():
    inbox = make_inbox()
    inbox.business_hours = make_business_hours("Europe/Berlin", auto_reply_text=AWAY)
    inbox.save()
    return inbox


def auto_replies(conversation):
    return list(conversation.items.filter(kind=TimelineItem.Kind.AUTO_REPLY))


@time_machine.travel(SATURDAY, tick=False)
def test_first_message_outside_hours_gets_the_auto_reply_through_the_queue(inbox):
    conversation = make_instagram_conversation(inbox)

    receive(conversation, conversation_created=True)

    [reply] = auto_replies(conversation)
    assert reply.text == AWAY
    assert reply.metadata == {"source": "business_hours"}
    assert reply.delivery_status == TimelineItem.Delivery.QUEUED
    assert OutboundMessage.objects.get(item=reply).payload == {"text": AWAY, "automatic": True}


@time_machine.travel(SATURDAY, tick=False)
def test_the_auto_reply_leaves_the_sla_running(inbox):
    conversation = make_instagram_conversation(inbox)

    receive(conversation, conversation_created=True)

    conversation.refresh_from_db()
    assert conversation.sla_due_at is not None
    assert conversation.first_response_at is None


@time_machine.travel(MONDAY_NOON, tick=False)
def test_no_auto_reply_within_hours(inbox):
    conversation = make_instagram_conversation(inbox)

    receive(conversation, conversation_created=True)

    assert auto_replies(conversation) == []


@time_machine.travel(SATURDAY, tick=False)
def test_later_messages_get_no_second_auto_reply(inbox):
    conversation = make_instagram_conversation(inbox)
    receive(conversation, conversation_created=True)

    receive(conversation, "Hello??")
    receive(conversation, "Please answer")

    assert len(auto_replies(conversation)) == 1


@time_machine.travel(SATURDAY, tick=False)
def test_the_same_message_announced_twice_gets_one_auto_reply(inbox):
    from conversations import signals

    conversation = make_instagram_conversation(inbox)
    item = receive(conversation, conversation_created=True)

    signals.customer_message_received.send(sender=TimelineItem, conversation=conversation, item=item)

    assert len(auto_replies(conversation)) == 1


def test_a_holiday_counts_as_outside_hours():
    inbox = make_inbox()
    inbox.business_hours = make_business_hours(
        "Europe/Berlin", holidays=[datetime.date(2026, 4, 6)], auto_reply_text=AWAY
    )
    inbox.save()
    conversation = make_instagram_conversation(inbox)

    with time_machine.travel(datetime.datetime(2026, 4, 6, 10, 0, tzinfo=UTC), tick=False):
        receive(conversation, conversation_created=True)

    assert len(auto_replies(conversation)) == 1


def test_the_schedule_timezone_decides_what_is_outside_hours():
    inbox = make_inbox()
    inbox.business_hours = make_business_hours("America/Los_Angeles", auto_reply_text=AWAY)
    inbox.save()
    conversation = make_instagram_conversation(inbox)

    # Monday 12:00 UTC is 04:00 in Los Angeles: closed there, though open in London.
    with time_machine.travel(MONDAY_NOON, tick=False):
        receive(conversation, conversation_created=True)

    assert len(auto_replies(conversation)) == 1


def test_the_entry_point_schedule_overrides_the_inbox_schedule(inbox):
    conversation = make_instagram_conversation(inbox)
    entry_point = conversation.entry_point
    entry_point.business_hours = make_business_hours(
        "UTC", days=range(7), opens=datetime.time(0), closes=datetime.time(0)
    )
    entry_point.save()

    with time_machine.travel(SATURDAY, tick=False):
        receive(conversation, conversation_created=True)

    assert auto_replies(conversation) == []


@time_machine.travel(SATURDAY, tick=False)
def test_no_auto_reply_text_sends_nothing():
    inbox = make_inbox()
    inbox.business_hours = make_business_hours("Europe/Berlin", auto_reply_text="")
    inbox.save()
    conversation = make_instagram_conversation(inbox)

    receive(conversation, conversation_created=True)

    assert auto_replies(conversation) == []


@time_machine.travel(SATURDAY, tick=False)
def test_outside_the_24_hour_window_the_auto_reply_is_refused_and_recorded(inbox):
    conversation = make_instagram_conversation(inbox)

    # A delivery processed more than a day late (Friday 07:00 in Berlin, closed).
    receive(conversation, conversation_created=True, occurred_at=SATURDAY - datetime.timedelta(hours=30))

    assert auto_replies(conversation) == []
    assert not OutboundMessage.objects.exists()
    note = conversation.items.get(kind=TimelineItem.Kind.NOTE)
    assert "not sent" in note.text and "24 hours" in note.text
