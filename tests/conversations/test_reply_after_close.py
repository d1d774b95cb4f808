"""A customer's reply to a closed conversation: reopens it or starts a new one, as its Inbox says."""

from django.utils import timezone

from channels_app.models import Channel, EntryPoint
from conversations import services
from conversations.inbound import IncomingMessage, receive_message
from conversations.models import Conversation, TimelineItem
from tests.factories import make_conversation, make_customer, make_entry_point, make_inbox, make_user


def closed_email_conversation(reopen: bool):
    inbox = make_inbox(kind=Channel.Kind.EMAIL, default=True)
    inbox.reopen_on_customer_reply = reopen
    inbox.save()
    entry_point = make_entry_point(
        kind=EntryPoint.Kind.EMAIL_ADDRESS, channel_kind=Channel.Kind.EMAIL, external_id="support@acme.test"
    )
    customer = make_customer(entry_point, external_id="ann@example.com")
    conversation = make_conversation(inbox=inbox, entry_point=entry_point, customer=customer)
    services.close_conversation(conversation, make_user())
    return conversation


def reply_to(conversation, message_id="<reply-1@example.com>"):
    return receive_message(
        conversation.entry_point,
        IncomingMessage(
            message_id=message_id,
            customer_id="ann@example.com",
            occurred_at=timezone.now(),
            text="Thanks, one more question",
            conversation_id=conversation.pk,
        ),
    )


def test_by_default_a_reply_after_close_opens_a_new_conversation(db):
    closed = closed_email_conversation(reopen=False)

    received = reply_to(closed)

    assert received.item.conversation_id != closed.pk
    closed.refresh_from_db()
    assert closed.status == Conversation.Status.CLOSED


def test_an_inbox_that_reopens_puts_the_reply_in_the_closed_conversation(db):
    closed = closed_email_conversation(reopen=True)

    received = reply_to(closed)

    assert received.item.conversation_id == closed.pk
    closed.refresh_from_db()
    assert closed.status == Conversation.Status.OPEN
    assert closed.closed_at is None
    audit = TimelineItem.objects.filter(conversation=closed, kind=TimelineItem.Kind.STATUS_CHANGE).last()
    assert audit.text == "The customer's reply reopened the conversation"


def test_reopening_gives_way_to_a_conversation_already_open_there(db):
    closed = closed_email_conversation(reopen=True)
    newer = make_conversation(inbox=closed.inbox, entry_point=closed.entry_point, customer=closed.customer)

    received = reply_to(closed)

    assert received.item.conversation_id == newer.pk
    closed.refresh_from_db()
    assert closed.status == Conversation.Status.CLOSED


def test_an_agent_reopening_is_named_in_the_audit(db):
    closed = closed_email_conversation(reopen=False)
    agent = make_user(last_name="Agent")

    services.reopen_conversation(closed, agent)

    audit = TimelineItem.objects.filter(conversation=closed, kind=TimelineItem.Kind.STATUS_CHANGE).last()
    assert audit.text == f"{agent} reopened the conversation"
