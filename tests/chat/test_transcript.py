"""The chat transcript by email: sent when an agent closes a chat with a visitor who left an address, once per
close, only what the visitor saw (no notes), HTML escaped; through a Celery task that retries."""

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail

from channels_app.chat import tasks, transcripts, visitors
from channels_app.chat.models import ChatVisitor
from channels_app.models import Channel, EntryPoint
from conversations import outbound, services
from conversations.models import TimelineItem
from tests import factories

from .helpers import make_widget

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    agent = factories.make_user(first_name="Ada")
    factories.make_inbox(kind=Channel.Kind.CHAT, default=True, members=[agent])
    return agent


def chat(agent, *, email="maya@example.com", name="Maya"):
    widget = make_widget(name="Acme Support")
    visitor = ChatVisitor.objects.create(widget=widget)
    conversation = visitors.receive_visitor_message(visitor, "c1", "Do you ship <b>to Spain</b>?").item.conversation
    if email:
        visitors.save_contact(visitor, name, email)
    outbound.send_reply(conversation, agent, "We do! <script>alert(1)</script> 3–5 days.")
    outbound.drain_entry_point(conversation.entry_point_id)
    services.add_note(conversation, agent, "VIP customer, offer free shipping")
    return conversation


def close(conversation, agent, django_capture_on_commit_callbacks):
    """Close as the inbox does; the enqueued task runs at once (as a worker would)."""
    with (
        mock.patch("channels_app.chat.receivers.current_app.send_task") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.close_conversation(conversation, agent)
    for call in send_task.call_args_list:
        assert call.args[0] == "channels_app.chat.tasks.send_transcript"
        tasks.send_transcript.apply(args=call.kwargs["args"])
    return send_task


def test_closing_a_chat_emails_the_visitor_a_transcript(agent, django_capture_on_commit_callbacks, settings):
    settings.DEFAULT_FROM_EMAIL = "help@acme.example"
    conversation = chat(agent)

    close(conversation, agent, django_capture_on_commit_callbacks)

    [email] = mail.outbox
    assert email.to == ["maya@example.com"]
    assert email.subject == "Your chat with Acme Support"
    assert email.from_email == "help@acme.example"
    assert "Maya\nDo you ship <b>to Spain</b>?" in email.body
    assert "Ada\nWe do! <script>alert(1)</script> 3–5 days." in email.body


def test_internal_notes_and_status_changes_are_not_in_the_transcript(agent, django_capture_on_commit_callbacks):
    conversation = chat(agent)

    close(conversation, agent, django_capture_on_commit_callbacks)

    [email] = mail.outbox
    html = email.alternatives[0][0]
    for part in (email.body, html):
        assert "VIP customer" not in part
        assert "closed the conversation" not in part


def test_html_in_messages_is_escaped_in_the_html_part(agent, django_capture_on_commit_callbacks):
    conversation = chat(agent)

    close(conversation, agent, django_capture_on_commit_callbacks)

    html, mime = mail.outbox[0].alternatives[0]
    assert mime == "text/html"
    assert "<script>alert(1)</script>" not in html and "<b>to Spain</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Do you ship &lt;b&gt;to Spain&lt;/b&gt;?" in html


def test_a_visitor_without_an_address_gets_nothing(agent, django_capture_on_commit_callbacks):
    conversation = chat(agent, email="")

    send_task = close(conversation, agent, django_capture_on_commit_callbacks)

    assert not send_task.called and mail.outbox == []


def test_the_transcript_goes_once_per_close(agent, django_capture_on_commit_callbacks):
    conversation = chat(agent)
    close(conversation, agent, django_capture_on_commit_callbacks)
    first_close = transcripts.close_item(conversation)

    # The task delivered twice (a worker died after sending) sends nothing more.
    assert transcripts.send_transcript(conversation.pk, first_close.pk) == "already sent"
    assert len(mail.outbox) == 1

    services.reopen_conversation(conversation, agent)
    outbound.send_reply(conversation, agent, "Your parcel left today.")
    outbound.drain_entry_point(conversation.entry_point_id)
    close(conversation, agent, django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 2
    assert "Your parcel left today." in mail.outbox[1].body


def test_the_email_channels_address_sends_it_when_there_is_one(agent, django_capture_on_commit_callbacks):
    factories.make_entry_point(
        kind=EntryPoint.Kind.EMAIL_ADDRESS,
        channel_kind=Channel.Kind.EMAIL,
        display_name="Support email",
        external_id="support@acme.example",
    )
    conversation = chat(agent)

    close(conversation, agent, django_capture_on_commit_callbacks)

    [email] = mail.outbox
    assert email.from_email == "Acme Support <support@acme.example>"
    assert email.reply_to == ["support@acme.example"]


def test_it_goes_from_the_addresss_send_from_address_when_it_has_one(agent, django_capture_on_commit_callbacks):
    """As the address's own replies do; answers still come back to the address customers write to."""
    from tests.mail.helpers import make_email_address

    make_email_address("support@acme.example", from_address="hello@acme.example")
    conversation = chat(agent)

    close(conversation, agent, django_capture_on_commit_callbacks)

    [email] = mail.outbox
    assert email.from_email == "Acme Support <hello@acme.example>"
    assert email.reply_to == ["support@acme.example"]


def test_a_mail_server_refusal_is_retried_by_the_task(agent, django_capture_on_commit_callbacks):
    conversation = chat(agent)
    with mock.patch("channels_app.chat.receivers.current_app.send_task"):
        services.close_conversation(conversation, agent)
    item = transcripts.close_item(conversation)

    with (
        mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=ConnectionRefusedError("smtp down")),
        mock.patch.object(tasks.send_transcript, "retry", side_effect=RuntimeError("retry scheduled")) as retry,
        pytest.raises(RuntimeError, match="retry scheduled"),
    ):
        tasks.send_transcript.run(conversation.pk, item.pk)

    assert retry.call_args.kwargs["countdown"] == 30
    item.refresh_from_db()
    assert transcripts.SENT_FLAG not in item.metadata  # not marked: the retry sends it

    assert tasks.send_transcript.run(conversation.pk, item.pk) == "sent"
    assert len(mail.outbox) == 1


def test_failed_or_queued_replies_are_left_out(agent, django_capture_on_commit_callbacks):
    conversation = chat(agent)
    queued = outbound.send_reply(conversation, agent, "Never left the queue")

    close(conversation, agent, django_capture_on_commit_callbacks)

    assert TimelineItem.objects.get(pk=queued.pk).delivery_status == TimelineItem.Delivery.QUEUED
    assert "Never left the queue" not in mail.outbox[0].body


def test_a_transcript_not_enqueued_is_sent_by_the_sweeper(agent):
    conversation = chat(agent)
    with mock.patch("channels_app.chat.receivers.current_app.send_task", side_effect=OSError("broker down")):
        services.close_conversation(conversation, agent)
    item = transcripts.close_item(conversation)
    assert item.metadata[transcripts.STATE] == transcripts.PENDING
    assert transcripts.unsent_closes() == []  # the task may still be on its way

    with time_machine.travel(item.occurred_at + timedelta(minutes=11)):
        with mock.patch.object(tasks.send_transcript, "delay", side_effect=lambda *a: tasks.send_transcript.run(*a)):
            assert tasks.sweep_transcripts() == 1
        assert tasks.sweep_transcripts() == 0

    assert len(mail.outbox) == 1
    item.refresh_from_db()
    assert item.metadata[transcripts.STATE] == transcripts.SENT


def test_after_the_last_retry_the_failure_is_kept_and_not_swept_again(agent):
    conversation = chat(agent)
    with mock.patch("channels_app.chat.receivers.current_app.send_task"):
        services.close_conversation(conversation, agent)
    item = transcripts.close_item(conversation)

    with (
        mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=ConnectionRefusedError("smtp down")),
        mock.patch.object(tasks.send_transcript, "max_retries", 0),
    ):
        assert tasks.send_transcript.run(conversation.pk, item.pk) == "failed"

    item.refresh_from_db()
    assert item.metadata[transcripts.STATE].startswith("failed: ConnectionRefusedError")
    with time_machine.travel(item.occurred_at + timedelta(minutes=11)):
        assert transcripts.unsent_closes() == []


@time_machine.travel("2026-11-26 14:05 +0000", tick=False)
def test_the_transcript_tells_times_in_the_visitors_time_zone(agent, django_capture_on_commit_callbacks, settings):
    settings.TIME_ZONE = "UTC"
    conversation = chat(agent)
    ChatVisitor.objects.update(time_zone="Asia/Tokyo")

    close(conversation, agent, django_capture_on_commit_callbacks)

    [email] = mail.outbox
    assert "(times in Asia/Tokyo)" in email.body
    assert "26 Nov 2026, 23:05" in email.body  # 14:05 UTC on a Tokyo clock
    assert "26 Nov 2026, 23:05" in email.alternatives[0][0]


def test_without_a_time_zone_the_transcript_names_the_servers(agent, django_capture_on_commit_callbacks, settings):
    settings.TIME_ZONE = "Europe/Lisbon"
    conversation = chat(agent)

    close(conversation, agent, django_capture_on_commit_callbacks)

    assert "(times in Europe/Lisbon)" in mail.outbox[0].body


def test_a_visitor_asks_for_the_chat_by_email_and_gets_it_once_in_ten_minutes(agent):
    conversation = chat(agent)
    visitor = transcripts.visitor_of(conversation)

    asked = transcripts.ask_for_transcript(visitor)
    assert asked == conversation
    assert tasks.send_asked_transcript.apply(args=[conversation.pk, visitor.pk]).get() == "sent"

    [email] = mail.outbox
    assert email.to == ["maya@example.com"] and "We do!" in email.body and "VIP customer" not in email.body
    with pytest.raises(visitors.Refused, match="on its way to maya@example.com. You can ask again in 10 minutes"):
        transcripts.ask_for_transcript(visitor)
    # Ten minutes on, the cache has forgotten the request (its key's timeout), and it may be asked again.
    assert timedelta(minutes=10) == transcripts.ASK_EVERY
    transcripts.forget_asking(visitor)
    assert transcripts.ask_for_transcript(visitor) == conversation


def test_without_an_address_or_anything_said_there_is_nothing_to_ask_for(agent):
    without_address = transcripts.visitor_of(chat(agent, email=""))
    with pytest.raises(visitors.Refused, match="Leave your email address first"):
        transcripts.ask_for_transcript(without_address)

    silent = ChatVisitor.objects.create(widget=without_address.widget, email="quiet@example.com")
    with pytest.raises(visitors.Refused, match="nothing to send yet"):
        transcripts.ask_for_transcript(silent)


def test_an_asked_for_transcript_goes_only_to_that_conversations_visitor(agent):
    conversation = chat(agent)
    stranger = ChatVisitor.objects.create(widget=transcripts.visitor_of(conversation).widget, email="eve@example.com")

    assert tasks.send_asked_transcript.apply(args=[conversation.pk, stranger.pk]).get() == "no such chat"
    assert mail.outbox == []
