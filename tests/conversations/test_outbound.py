import json
from datetime import timedelta
from unittest import mock

import pytest
import requests
import responses
import time_machine
from django.test import override_settings
from django.utils import timezone

from channels_app.meta.models import InstagramAccount
from conversations import outbound
from conversations.models import OutboundMessage, SendSlot, TimelineItem
from conversations.outbound import SendRefused, drain_entry_point, retry, send_auto_reply, send_like, send_reply
from tests.factories import make_conversation, make_customer, make_inbox, make_instagram_account, make_item, make_user

SEND_URL = "https://graph.facebook.com/v23.0/{page_id}/messages"


@pytest.fixture
def agent(db):
    return make_user()


@pytest.fixture
def conversation(db):
    account = make_instagram_account(page_id="100000000000001", token="page-token-secret")
    customer = make_customer(account.entry_point, external_id="IGSID-1")
    return make_conversation(
        inbox=make_inbox(),
        entry_point=account.entry_point,
        customer=customer,
        last_customer_message_at=timezone.now() - timedelta(minutes=5),
    )


def account_of(conversation):
    return conversation.entry_point.instagram_account


def send_url(conversation):
    return SEND_URL.format(page_id=account_of(conversation).page_id)


def meta_error(code, subcode=None, message="Error", status=400):
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC"}
    if subcode:
        error["error_subcode"] = subcode
    return {"json": {"error": error}, "status": status}


def drain(conversation):
    return drain_entry_point(conversation.entry_point_id)


@responses.activate
def test_a_reply_is_queued_then_sent_with_metas_message_id(conversation, agent):
    responses.post(send_url(conversation), json={"recipient_id": "IGSID-1", "message_id": "mid.sent.1"})
    item = send_reply(conversation, agent, "Your order ships today.")
    assert item.delivery_status == TimelineItem.Delivery.QUEUED

    result = drain(conversation)

    item.refresh_from_db()
    assert result.sent == 1
    assert (item.delivery_status, item.external_id) == ("sent", "mid.sent.1")
    body = json.loads(responses.calls[0].request.body)
    assert body == {
        "recipient": {"id": "IGSID-1"},
        "message": {"text": "Your order ships today."},
        "messaging_type": "RESPONSE",
    }
    assert "access_token=page-token-secret" in responses.calls[0].request.url
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.SENT


@responses.activate
def test_after_24_hours_an_agent_reply_goes_with_the_human_agent_tag(conversation, agent):
    conversation.last_customer_message_at = timezone.now() - timedelta(days=3)
    conversation.save()
    responses.post(send_url(conversation), json={"recipient_id": "IGSID-1", "message_id": "mid.2"})

    send_reply(conversation, agent, "Sorry for the wait!")
    drain(conversation)

    body = json.loads(responses.calls[0].request.body)
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_after_7_days_a_reply_is_refused_with_the_reason(conversation, agent):
    conversation.last_customer_message_at = timezone.now() - timedelta(days=8)
    conversation.save()

    with pytest.raises(SendRefused, match="More than 7 days"):
        send_reply(conversation, agent, "Hello?")
    assert not TimelineItem.objects.exists()


def test_an_auto_reply_is_never_sent_after_24_hours(conversation):
    conversation.last_customer_message_at = timezone.now() - timedelta(hours=25)
    conversation.save()

    with pytest.raises(SendRefused, match="24 hours"):
        send_auto_reply(conversation, "We're closed.")


@responses.activate
def test_a_window_that_closes_while_queued_fails_the_message_without_calling_meta(conversation, agent):
    item = send_reply(conversation, agent, "Hi")
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        drain(conversation)

    item.refresh_from_db()
    assert item.delivery_status == TimelineItem.Delivery.FAILED
    assert "7 days" in item.failure_reason
    assert len(responses.calls) == 0
    assert not SendSlot.objects.exists()


@responses.activate
def test_a_message_id_another_item_already_carries_stays_with_it(conversation, agent):
    make_item(conversation, external_id="mid.1")  # e.g. the send's echo, recorded first
    responses.post(send_url(conversation), json={"recipient_id": "IGSID-1", "message_id": "mid.1"})

    item = send_reply(conversation, agent, "Hi")
    drain(conversation)

    item.refresh_from_db()
    assert (item.delivery_status, item.external_id) == ("sent", None)


@responses.activate
def test_a_like_is_sent_as_the_heart_reaction_on_the_customers_message(conversation, agent):
    message = make_item(conversation, external_id="mid.customer.1")
    responses.post(send_url(conversation), json={"recipient_id": "IGSID-1"})

    like = send_like(message, agent)
    drain(conversation)

    body = json.loads(responses.calls[0].request.body)
    assert body == {
        "recipient": {"id": "IGSID-1"},
        "sender_action": "react",
        "payload": {"message_id": "mid.customer.1", "reaction": "love"},
    }
    like.refresh_from_db()
    assert like.kind == TimelineItem.Kind.AGENT_LIKE
    assert like.delivery_status == TimelineItem.Delivery.SENT


@responses.activate
@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (meta_error(10, 2018278, "This message is sent outside of allowed window."), "messaging window has closed"),
        (meta_error(551, message="This person isn't available right now."), "isn't available right now"),
        (meta_error(100, message="Invalid parameter"), "Instagram refused the message: Invalid parameter"),
    ],
)
def test_meta_refusals_fail_the_message_with_a_plain_reason(conversation, agent, error, reason):
    responses.post(send_url(conversation), **error)
    item = send_reply(conversation, agent, "Hi")

    with mock.patch("conversations.signals.outbound_failed.send") as failed_signal:
        drain(conversation)

    item.refresh_from_db()
    assert item.delivery_status == TimelineItem.Delivery.FAILED
    assert reason in item.failure_reason
    failed_signal.assert_called_once()


@responses.activate
def test_a_failed_message_can_be_retried_by_the_agent(conversation, agent):
    responses.post(send_url(conversation), **meta_error(551))
    responses.post(send_url(conversation), json={"recipient_id": "IGSID-1", "message_id": "mid.retry"})
    item = send_reply(conversation, agent, "Hi")
    drain(conversation)

    retry(item, agent)
    drain(conversation)

    item.refresh_from_db()
    assert (item.delivery_status, item.failure_reason, item.external_id) == ("sent", "", "mid.retry")


def test_only_failed_messages_can_be_retried(conversation, agent):
    item = send_reply(conversation, agent, "Hi")

    with pytest.raises(SendRefused):
        retry(item, agent)


@responses.activate
def test_meta_rate_limits_back_off_and_keep_the_slot(conversation, agent):
    responses.post(send_url(conversation), **meta_error(4, message="Application request limit reached"))
    item = send_reply(conversation, agent, "Hi")

    result = drain(conversation)

    message = OutboundMessage.objects.get()
    assert result.again_in == outbound.RATE_LIMIT_BACKOFF.total_seconds()
    assert message.status == OutboundMessage.Status.QUEUED
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert SendSlot.objects.count() == 1
    item.refresh_from_db()
    assert item.delivery_status == TimelineItem.Delivery.QUEUED


@responses.activate
def test_server_errors_are_retried_with_backoff_then_fail(conversation, agent):
    responses.post(send_url(conversation), json={"error": {"message": "Service unavailable", "code": 2}}, status=503)
    item = send_reply(conversation, agent, "Hi")

    for _ in range(outbound.MAX_TRANSIENT_ATTEMPTS):
        OutboundMessage.objects.update(next_attempt_at=timezone.now())
        drain(conversation)

    item.refresh_from_db()
    assert len(responses.calls) == outbound.MAX_TRANSIENT_ATTEMPTS
    assert item.delivery_status == TimelineItem.Delivery.FAILED
    assert "after 5 tries" in item.failure_reason


@responses.activate
def test_a_timeout_is_retried_later(conversation, agent):
    responses.post(send_url(conversation), body=requests.ReadTimeout("slow"))
    send_reply(conversation, agent, "Hi")

    result = drain(conversation)

    message = OutboundMessage.objects.get()
    assert message.status == OutboundMessage.Status.QUEUED
    assert message.next_attempt_at > timezone.now()
    assert result.again_in is not None
    assert SendSlot.objects.count() == 1  # it may have reached Meta


@responses.activate
def test_a_call_that_never_reached_meta_gives_its_slot_back(conversation, agent):
    responses.post(send_url(conversation), body=requests.ConnectionError("refused"))
    send_reply(conversation, agent, "Hi")

    drain(conversation)

    assert not SendSlot.objects.exists()


@responses.activate
def test_an_invalid_token_pauses_the_account_and_keeps_the_queue_then_resumes(conversation, agent):
    responses.post(send_url(conversation), **meta_error(190, 463, "Error validating access token"))
    first = send_reply(conversation, agent, "one")
    second = send_reply(conversation, agent, "two")

    drain(conversation)

    account = InstagramAccount.objects.get()
    assert account.status == InstagramAccount.Status.NEEDS_REAUTHORIZATION
    assert "Error validating access token" in account.status_reason
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"queued"}
    assert len(responses.calls) == 1

    responses.replace(responses.POST, send_url(conversation), json={"recipient_id": "IGSID-1", "message_id": "m"})
    responses.add(responses.POST, send_url(conversation), json={"recipient_id": "IGSID-1", "message_id": "m2"})
    InstagramAccount.objects.update(status=InstagramAccount.Status.CONNECTED)
    drain(conversation)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.delivery_status, second.delivery_status) == ("sent", "sent")


@responses.activate
@override_settings(INSTAGRAM_SEND_LIMIT=2, INSTAGRAM_SEND_WINDOW_SECONDS=300)
def test_the_drainer_stops_at_the_limit_and_says_when_to_come_back(conversation, agent):
    responses.post(send_url(conversation), json={"recipient_id": "IGSID-1", "message_id": "m"})
    for n in range(3):
        send_reply(conversation, agent, f"message {n}")

    result = drain(conversation)

    assert result.sent == 2
    assert 299 < result.again_in <= 300
    assert list(OutboundMessage.objects.values_list("status", flat=True)) == ["sent", "sent", "queued"]


@responses.activate
def test_a_customers_messages_keep_their_order_behind_a_retry(conversation, agent):
    responses.post(send_url(conversation), status=500, json={"error": {"message": "oops", "code": 1}})
    send_reply(conversation, agent, "first")
    send_reply(conversation, agent, "second")

    drain(conversation)

    assert len(responses.calls) == 1
    assert json.loads(responses.calls[0].request.body)["message"]["text"] == "first"


@responses.activate
def test_a_send_left_in_doubt_is_recorded_from_its_echo_not_sent_twice(conversation, agent):
    item = send_reply(conversation, agent, "Hi")
    OutboundMessage.objects.update(status="sending", message_id="mid.from.echo", next_attempt_at=timezone.now())

    drain(conversation)

    item.refresh_from_db()
    assert len(responses.calls) == 0
    assert item.delivery_status == TimelineItem.Delivery.SENT
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.SENT


@responses.activate
def test_a_send_left_in_doubt_without_echo_waits_then_goes_again(conversation, agent):
    responses.post(send_url(conversation), json={"recipient_id": "IGSID-1", "message_id": "mid.again"})
    send_reply(conversation, agent, "Hi")
    OutboundMessage.objects.update(status="sending", next_attempt_at=timezone.now() + timedelta(minutes=1))

    waiting = drain(conversation)
    assert len(responses.calls) == 0
    assert waiting.again_in > 0

    OutboundMessage.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    drain(conversation)
    assert len(responses.calls) == 1


def test_only_one_drainer_works_an_account_at_a_time(conversation, agent):
    send_reply(conversation, agent, "Hi")
    assert outbound.take_lease(conversation.entry_point_id, "other-worker")

    result = drain(conversation)

    assert result.sent == 0
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.QUEUED


def test_a_crashed_drainers_lease_expires(conversation, agent):
    account_id = conversation.entry_point_id
    assert outbound.take_lease(account_id, "crashed")

    with time_machine.travel(timezone.now() + timedelta(seconds=outbound.LEASE_SECONDS + 1)):
        assert outbound.take_lease(account_id, "new")


def test_send_reply_enqueues_the_drainer_on_commit(conversation, agent, django_capture_on_commit_callbacks):
    with mock.patch("conversations.outbound.current_app.send_task") as send_task:
        with django_capture_on_commit_callbacks(execute=True):
            send_reply(conversation, agent, "Hi")

    send_task.assert_called_once_with(
        "conversations.tasks.drain_entry_point", args=[conversation.entry_point_id], kwargs={"owner": mock.ANY}
    )


def test_accounts_with_a_stale_backlog_are_found_for_the_beat(conversation, agent):
    send_reply(conversation, agent, "Hi")
    OutboundMessage.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))

    assert list(outbound.entry_points_with_stale_backlog()) == [conversation.entry_point_id]
