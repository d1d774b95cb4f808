"""How the drainer waits for its budget: one continuation per Entry Point, due exactly when a
slot frees, no worker held through a long wait, and sends to different customers in flight at once."""

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import responses
import time_machine
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone

from conversations import outbound, tasks
from conversations.models import OutboundMessage, SendSlot
from conversations.outbound import drain_entry_point, send_reply
from tests.factories import make_conversation, make_customer, make_inbox, make_instagram_account, make_user

START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SEND_URL = "https://graph.facebook.com/v23.0/{page_id}/messages"


@pytest.fixture
def account(db):
    return make_instagram_account(page_id="100000000000001")


@pytest.fixture
def agent(db):
    return make_user()


def queue_replies(agent, conversations, count):
    """`count` replies to each customer, in turn; the drain kicks are not sent to a broker (the test drains)."""
    with mock.patch.object(outbound, "_kick"):
        for n in range(count):
            for conversation in conversations:
                send_reply(conversation, agent, f"message {n}")


def conversation_with(account, external_id):
    customer = make_customer(account.entry_point, external_id=external_id)
    return make_conversation(
        inbox=make_inbox(), entry_point=account.entry_point, customer=customer, last_customer_message_at=START
    )


def answer_meta(account):
    """Meta accepts every send with a message id of its own (unique, as Meta's are)."""

    def accept(request):
        recipient = json.loads(request.body)["recipient"]["id"]
        return 200, {}, json.dumps({"recipient_id": recipient, "message_id": f"mid.{uuid.uuid4().hex}"})

    responses.add_callback(responses.POST, SEND_URL.format(page_id=account.page_id), callback=accept)


@responses.activate
@override_settings(INSTAGRAM_SEND_LIMIT=2, INSTAGRAM_SEND_WINDOW_SECONDS=300)
def test_a_drain_waiting_for_its_budget_keeps_the_lease_for_its_continuation(account, agent):
    answer_meta(account)
    with time_machine.travel(START, tick=False) as traveller:
        conversation = conversation_with(account, "IGSID-1")
        for n in range(3):
            send_reply(conversation, agent, f"message {n}")

        first = drain_entry_point(account.entry_point_id)
        kicked = drain_entry_point(account.entry_point_id)  # e.g. an agent's new reply meanwhile
        traveller.move_to(first.again_at)
        continuation = drain_entry_point(account.entry_point_id, owner=first.lease_owner)

    assert (first.sent, first.again_at) == (2, START + timedelta(seconds=300))
    assert first.lease_owner
    assert kicked == outbound.DrainResult()  # no second drainer, no second continuation
    assert continuation.sent == 1


@override_settings(INSTAGRAM_SEND_LIMIT=2, INSTAGRAM_SEND_WINDOW_SECONDS=300)
def test_once_the_slot_frees_any_drainer_may_take_the_kept_lease(account, agent):
    with time_machine.travel(START, tick=False) as traveller:
        SendSlot.objects.bulk_create([SendSlot(entry_point_id=account.entry_point_id, taken_at=START)] * 2)
        send_reply(conversation_with(account, "IGSID-1"), agent, "Hi")
        waiting = drain_entry_point(account.entry_point_id)
        traveller.move_to(waiting.again_at - timedelta(milliseconds=1))
        assert not outbound.take_lease(account.entry_point_id, "a kick")
        # The continuation is late (e.g. behind other tasks in the queue): a kick drains.
        traveller.move_to(waiting.again_at + timedelta(milliseconds=1))
        assert outbound.take_lease(account.entry_point_id, "a kick")


@responses.activate
@override_settings(INSTAGRAM_SEND_LIMIT=2, INSTAGRAM_SEND_WINDOW_SECONDS=300)
def test_the_task_schedules_one_continuation_exactly_when_the_slot_frees(account, agent):
    answer_meta(account)
    with time_machine.travel(START, tick=False):
        conversation = conversation_with(account, "IGSID-1")
        for n in range(3):
            send_reply(conversation, agent, f"message {n}")
        with mock.patch.object(tasks, "drain_later") as schedule:
            tasks.drain_entry_point(account.entry_point_id)
            tasks.drain_entry_point(account.entry_point_id)  # a kick while the budget is full

    schedule.assert_called_once_with(account.entry_point_id, mock.ANY, START + timedelta(seconds=300))
    assert schedule.call_args.args[1]  # as the owner of the lease it kept


def test_a_continuation_is_published_when_due_not_held_by_a_worker_until_then(db):
    published = threading.Event()
    with mock.patch.object(
        tasks.drain_entry_point, "apply_async", side_effect=lambda **kwargs: published.set()
    ) as publish:
        tasks.drain_later(7, "kept lease", timezone.now() + timedelta(milliseconds=50))
        assert not publish.called  # no task with an ETA for a worker to sit on
        assert published.wait(timeout=5)

    publish.assert_called_once_with(args=[7], kwargs={"owner": "kept lease"}, eta=None)


def test_a_stopping_worker_hands_its_waiting_continuations_to_the_broker(db):
    due = timezone.now() + timedelta(minutes=5)
    with mock.patch.object(tasks.drain_entry_point, "apply_async") as publish:
        tasks.drain_later(7, "kept lease", due)
        tasks._hand_later_drains_to_the_broker()
        tasks._hand_later_drains_to_the_broker()  # both shutdown signals: handed over once

    publish.assert_called_once_with(args=[7], kwargs={"owner": "kept lease"}, eta=due)


@override_settings(INSTAGRAM_SEND_LIMIT=1, INSTAGRAM_SEND_WINDOW_SECONDS=10)
def test_a_long_wait_for_a_slot_frees_the_worker_instead_of_sleeping(account, agent):
    with time_machine.travel(START, tick=False):
        SendSlot.objects.create(entry_point_id=account.entry_point_id, taken_at=START - timedelta(seconds=9))
        send_reply(conversation_with(account, "IGSID-1"), agent, "Hi")
        with mock.patch.object(outbound.time, "sleep") as sleep:
            result = drain_entry_point(account.entry_point_id)

    sleep.assert_not_called()
    assert result.again_at == START + timedelta(seconds=1)
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.QUEUED


@responses.activate
@override_settings(INSTAGRAM_SEND_LIMIT=1, INSTAGRAM_SEND_WINDOW_SECONDS=10)
def test_a_slot_freeing_within_a_round_trip_is_waited_for_inside_the_drain(account, agent):
    answer_meta(account)
    with time_machine.travel(START, tick=False) as traveller:
        SendSlot.objects.create(
            entry_point_id=account.entry_point_id, taken_at=START - timedelta(seconds=10) + timedelta(milliseconds=300)
        )
        send_reply(conversation_with(account, "IGSID-1"), agent, "Hi")
        with mock.patch.object(outbound.time, "sleep", side_effect=traveller.shift) as sleep:
            result = drain_entry_point(account.entry_point_id)

    sleep.assert_called_once_with(pytest.approx(0.3))
    assert result.sent == 1


@pytest.mark.django_db(transaction=True)
@responses.activate
@override_settings(INSTAGRAM_SEND_LIMIT=100, INSTAGRAM_SEND_WINDOW_SECONDS=300, OUTBOUND_SENDS_IN_FLIGHT=3)
def test_sends_to_different_customers_are_in_flight_together_each_customer_in_order(postgres):
    account = make_instagram_account(page_id="100000000000001")
    agent = make_user()
    queue_replies(agent, [conversation_with(account, f"IGSID-{c}") for c in range(3)], 2)
    # Meta answers only when three sends wait at once: sends one at a time would time out here.
    together = threading.Barrier(3, timeout=10)
    received = []

    def meta(request):
        body = json.loads(request.body)
        received.append((body["recipient"]["id"], body["message"]["text"]))
        together.wait()
        return (
            200,
            {},
            json.dumps(
                {
                    "recipient_id": body["recipient"]["id"],
                    "message_id": f"mid.{body['recipient']['id']}.{body['message']['text']}",
                }
            ),
        )

    responses.add_callback(responses.POST, SEND_URL.format(page_id=account.page_id), callback=meta)

    result = drain_entry_point(account.entry_point_id)

    assert result.sent == 6
    assert not together.broken
    for c in range(3):
        assert [text for recipient, text in received if recipient == f"IGSID-{c}"] == ["message 0", "message 1"]


@pytest.mark.django_db(transaction=True)
@responses.activate
@override_settings(INSTAGRAM_SEND_LIMIT=4, INSTAGRAM_SEND_WINDOW_SECONDS=300, OUTBOUND_SENDS_IN_FLIGHT=3)
def test_sends_in_flight_together_stay_within_the_limit(postgres):
    account = make_instagram_account(page_id="100000000000001")
    agent = make_user()
    queue_replies(agent, [conversation_with(account, f"IGSID-{c}") for c in range(3)], 3)
    answer_meta(account)

    result = drain_entry_point(account.entry_point_id)

    assert result.sent == 4
    assert len(responses.calls) == 4
    assert SendSlot.objects.count() == 4
    assert result.lease_owner and result.again_at is not None


def test_a_drain_the_database_refused_runs_again(db):
    refused = OperationalError("sorry, too many clients already")
    with mock.patch.object(outbound, "drain_entry_point", side_effect=[refused, outbound.DrainResult(sent=1)]) as drain:
        result = tasks.drain_entry_point.apply(args=[7])

    assert result.get() == 1
    assert drain.call_count == 2


DRAIN_TASK = "conversations.tasks.drain_entry_point"


def test_replies_while_no_drainer_is_at_work_send_one_kick(account, agent, django_capture_on_commit_callbacks):
    conversation = conversation_with(account, "IGSID-1")
    with mock.patch.object(outbound.current_app, "send_task") as send_task:
        with django_capture_on_commit_callbacks(execute=True):
            for n in range(3):
                send_reply(conversation, agent, f"message {n}")

    send_task.assert_called_once_with(DRAIN_TASK, args=[account.entry_point_id], kwargs={"owner": mock.ANY})


def test_replies_while_the_lease_is_held_send_no_kick(account, agent, django_capture_on_commit_callbacks):
    conversation = conversation_with(account, "IGSID-1")
    assert outbound.take_lease(account.entry_point_id, "a drain at work")
    with mock.patch.object(outbound.current_app, "send_task") as send_task:
        with django_capture_on_commit_callbacks(execute=True):
            send_reply(conversation, agent, "Hi")

    send_task.assert_not_called()


def test_a_reply_kicks_again_once_a_crashed_drainers_lease_expires(account, agent, django_capture_on_commit_callbacks):
    conversation = conversation_with(account, "IGSID-1")
    with time_machine.travel(START, tick=False) as traveller:
        assert outbound.take_lease(account.entry_point_id, "crashed")
        traveller.shift(outbound.LEASE_SECONDS + 1)
        with mock.patch.object(outbound.current_app, "send_task") as send_task:
            with django_capture_on_commit_callbacks(execute=True):
                send_reply(conversation, agent, "Hi")

    send_task.assert_called_once()


def test_a_kick_the_broker_refused_leaves_the_lease_free(account, agent, django_capture_on_commit_callbacks):
    conversation = conversation_with(account, "IGSID-1")
    with mock.patch.object(outbound.current_app, "send_task", side_effect=ConnectionRefusedError) as send_task:
        with django_capture_on_commit_callbacks(execute=True):
            send_reply(conversation, agent, "Hi")
            send_reply(conversation, agent, "Are you there?")

    assert send_task.call_count == 2  # the second reply tried again
    assert outbound.take_lease(account.entry_point_id, "the beat's drainer")


@responses.activate
def test_the_kicked_drain_sends_as_the_lease_it_was_kicked_with(account, agent, django_capture_on_commit_callbacks):
    answer_meta(account)
    conversation = conversation_with(account, "IGSID-1")
    with mock.patch.object(outbound.current_app, "send_task") as send_task:
        with django_capture_on_commit_callbacks(execute=True):
            send_reply(conversation, agent, "Hi")

    result = tasks.drain_entry_point(*send_task.call_args.kwargs["args"], **send_task.call_args.kwargs["kwargs"])

    assert result == 1
    assert outbound.take_lease(account.entry_point_id, "next kick")  # released when the queue was empty


@responses.activate
def test_a_reply_queued_after_the_drainers_last_look_is_sent(account, agent, django_capture_on_commit_callbacks):
    answer_meta(account)
    conversation = conversation_with(account, "IGSID-1")
    queue_replies(agent, [conversation], 1)
    look = outbound._next_due
    replied = []

    def reply_after_the_last_look(*args, **kwargs):
        due = look(*args, **kwargs)
        if due[0] is None and not replied:  # the drainer is about to let go of its lease
            with django_capture_on_commit_callbacks(execute=True):
                replied.append(send_reply(conversation, agent, "One more thing"))
        return due

    with (
        mock.patch.object(outbound, "_next_due", side_effect=reply_after_the_last_look),
        mock.patch.object(outbound.current_app, "send_task") as send_task,
    ):
        first = drain_entry_point(account.entry_point_id)
    # The reply's own kick found the lease held; the drainer kicked once it had let go.
    send_task.assert_called_once_with(DRAIN_TASK, args=[account.entry_point_id], kwargs={"owner": mock.ANY})
    second = drain_entry_point(account.entry_point_id, **send_task.call_args.kwargs["kwargs"])

    assert (first.sent, second.sent) == (1, 1)
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {OutboundMessage.Status.SENT}


@responses.activate
def test_a_drain_that_finds_nothing_new_kicks_nothing(account, agent):
    answer_meta(account)
    queue_replies(agent, [conversation_with(account, "IGSID-1")], 2)
    with mock.patch.object(outbound.current_app, "send_task") as send_task:
        result = drain_entry_point(account.entry_point_id)

    assert result.sent == 2
    send_task.assert_not_called()
