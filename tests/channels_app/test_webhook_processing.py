import copy
import json
import threading
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import responses
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels_app.meta import inbound
from channels_app.meta import processing as webhooks
from channels_app.meta.inbound import UNSUPPORTED_TEXT, fetch_profile
from channels_app.meta.models import AccountEvent, WebhookEvent
from conversations.models import (
    Attachment,
    Conversation,
    Customer,
    CustomerIdentity,
    CustomerReaction,
    LiveEvent,
    OutboundMessage,
    TimelineItem,
)
from tests.factories import make_entry_point, make_inbox, make_instagram_account, make_item
from tests.meta_payloads import CUSTOMER_IGSID, IG_ACCOUNT_ID, load
from tests.security.helpers import resolve_to


@pytest.fixture
def account(db):
    make_inbox("Instagram", default=True)
    entry_point = make_entry_point(display_name="@acmeshoes", external_id=IG_ACCOUNT_ID)
    return make_instagram_account(entry_point, page_id="100000000000001", page_name="Acme Shoes")


@pytest.fixture
def public_dns(monkeypatch):
    """Meta's CDN hosts resolve to a public address without asking a real resolver."""
    resolve_to(monkeypatch, "157.240.1.35")


def deliver(payload):
    """Store a delivery as the endpoint would and process it as the worker would."""
    event = WebhookEvent.objects.create(object=payload.get("object", ""), body=json.dumps(payload))
    status = webhooks.process_webhook_event(event.pk)
    event.refresh_from_db()
    assert event.status == status
    return event


def items(kind=None):
    queryset = TimelineItem.objects.order_by("occurred_at", "id")
    return queryset.filter(kind=kind) if kind else queryset


def test_a_text_message_opens_a_routed_conversation_with_the_customers_message(account):
    event = deliver(load("text_message"))

    assert event.status == WebhookEvent.Status.PROCESSED
    conversation = Conversation.objects.get()
    assert conversation.inbox.name == "Instagram"
    assert conversation.entry_point == account.entry_point
    item = conversation.items.get()
    assert (item.kind, item.direction, item.text) == ("customer_message", "in", "Hi, where is my order?")
    assert item.occurred_at == datetime(2025, 11, 25, 2, 20, tzinfo=UTC)
    assert CustomerIdentity.objects.get().external_id == CUSTOMER_IGSID
    assert conversation.last_customer_message_at == item.occurred_at


def test_a_second_message_joins_the_open_conversation(account):
    deliver(load("text_message"))
    deliver(load("image_message"))

    assert Conversation.objects.count() == 1
    assert Conversation.objects.get().items.count() == 2


def test_a_message_after_the_conversation_closed_opens_a_new_one(account):
    deliver(load("text_message"))
    Conversation.objects.update(status="closed", closed_at=timezone.now())

    deliver(load("image_message"))

    assert Conversation.objects.count() == 2
    assert Customer.objects.count() == 1


def test_redelivery_adds_nothing(account):
    deliver(load("text_message"))
    second = deliver(load("text_message"))

    assert second.status == WebhookEvent.Status.PROCESSED
    assert TimelineItem.objects.count() == 1
    assert Conversation.objects.count() == 1


def test_a_processed_delivery_records_its_attempt_and_when(account):
    with time_machine.travel(datetime(2026, 3, 2, 12, 0, tzinfo=UTC), tick=False):
        event = deliver(load("text_message"))

    assert (event.status, event.attempts, event.last_error) == (WebhookEvent.Status.PROCESSED, 1, "")
    assert event.processed_at == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_a_processed_delivery_is_not_applied_again(account):
    event = deliver(load("text_message"))

    assert webhooks.process_webhook_event(event.pk) == WebhookEvent.Status.PROCESSED

    event.refresh_from_db()
    assert event.attempts == 1
    assert webhooks.process_webhook_event(event.pk + 1000) == "missing"


def test_processing_the_same_stored_event_twice_adds_nothing(account):
    event = deliver(load("text_message"))
    WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEvent.Status.RECEIVED)

    webhooks.process_webhook_event(event.pk)

    assert TimelineItem.objects.count() == 1


def test_an_image_is_queued_for_download_and_its_url_kept(account, django_capture_on_commit_callbacks):
    with mock.patch("channels_app.meta.inbound.current_app.send_task") as download:
        with django_capture_on_commit_callbacks(execute=True):
            deliver(load("image_message"))

    attachment = Attachment.objects.get()
    assert attachment.kind == "image"
    assert attachment.original_url.startswith("https://lookaside.fbsbx.com/")
    assert attachment.status == Attachment.Status.PENDING
    download.assert_any_call("channels_app.tasks.download_attachment", args=[attachment.pk])


@responses.activate
def test_media_download_stores_the_file(account, public_dns):
    deliver(load("image_message"))
    attachment = Attachment.objects.get()
    responses.get(attachment.original_url, body=b"\x89PNG fake image", content_type="image/png")

    from channels_app.meta.media import download_attachment

    assert download_attachment(attachment.pk) is True
    attachment.refresh_from_db()
    assert attachment.status == Attachment.Status.STORED
    assert attachment.file.read() == b"\x89PNG fake image"
    assert attachment.content_type == "image/png"


@responses.activate
def test_a_failed_media_download_is_retried_then_marked_failed(account, public_dns):
    deliver(load("image_message"))
    attachment = Attachment.objects.get()
    responses.get(attachment.original_url, status=403)

    from channels_app.meta.media import download_attachment

    assert download_attachment(attachment.pk) is False
    assert download_attachment(attachment.pk, final=True) is True
    attachment.refresh_from_db()
    assert attachment.status == Attachment.Status.FAILED
    assert "HTTPError" in attachment.error


def test_a_story_reply_keeps_the_story_it_answers(account):
    deliver(load("story_reply"))

    item = items().get()
    assert item.kind == TimelineItem.Kind.STORY_REPLY
    assert item.text == "Love these shoes!"
    assert "asset_id=story1" in item.story_url
    assert item.attachments.get().kind == "story"


def test_a_story_mention_is_only_counted_when_conversion_is_off(account):
    event = deliver(load("story_mention"))

    assert event.status == WebhookEvent.Status.PROCESSED
    assert not Conversation.objects.exists()
    assert AccountEvent.objects.get().kind == AccountEvent.Kind.IGNORED_STORY_MENTION


def test_a_story_mention_opens_a_conversation_when_conversion_is_on(account):
    account.convert_story_mentions = True
    account.save()

    deliver(load("story_mention"))

    item = items().get()
    assert item.kind == TimelineItem.Kind.STORY_MENTION
    assert item.attachments.get().kind == "story_mention"
    assert not AccountEvent.objects.exists()


def test_reactions_are_recorded_but_not_shown(account):
    deliver(load("reaction"))
    deliver(load("unreact"))

    assert not TimelineItem.objects.exists()
    assert list(CustomerReaction.objects.values_list("action", "reaction")) == [("react", "love"), ("unreact", "")]


def test_an_echo_of_our_send_marks_it_delivered(account):
    deliver(load("text_message"))
    conversation = Conversation.objects.get()
    ours = make_item(
        conversation,
        TimelineItem.Kind.AGENT_MESSAGE,
        "On its way!",
        external_id="mid.echo.outside.1",
        delivery_status="sent",
    )

    deliver(load("echo"))

    ours.refresh_from_db()
    assert ours.delivery_status == TimelineItem.Delivery.DELIVERED
    assert conversation.items.count() == 2
    assert not AccountEvent.objects.exists()


def test_an_echo_overtaking_the_send_answer_is_matched_to_the_send_in_flight(account):
    deliver(load("text_message"))
    conversation = Conversation.objects.get()
    ours = make_item(
        conversation,
        TimelineItem.Kind.AGENT_MESSAGE,
        "Thanks for your order! (sent by another tool)",
        delivery_status="queued",
    )
    OutboundMessage.objects.create(
        entry_point_id=account.entry_point_id,
        item=ours,
        kind="text",
        recipient_id=CUSTOMER_IGSID,
        payload={"text": ours.text},
        status=OutboundMessage.Status.SENDING,
    )

    deliver(load("echo"))

    ours.refresh_from_db()
    assert ours.external_id == "mid.echo.outside.1"
    assert OutboundMessage.objects.get().message_id == "mid.echo.outside.1"
    assert not items(TimelineItem.Kind.OTHER_AUTOMATION).exists()


def test_an_echo_we_did_not_send_is_shown_as_sent_outside_the_app_and_counted(account):
    deliver(load("text_message"))

    deliver(load("echo"))

    item = items(TimelineItem.Kind.OTHER_AUTOMATION).get()
    assert item.text == "Thanks for your order! (sent by another tool)"
    assert item.direction == TimelineItem.Direction.OUTBOUND
    assert AccountEvent.objects.get().kind == AccountEvent.Kind.OUTSIDE_ECHO


def test_a_deleted_message_is_marked_deleted(account):
    deliver(load("text_message"))

    deliver(load("deleted"))

    assert items().get().deleted_by_customer is True


def test_an_unsupported_message_says_so(account):
    deliver(load("unsupported"))

    item = items().get()
    assert item.unsupported is True
    assert item.text == UNSUPPORTED_TEXT


def test_a_read_receipt_marks_our_messages_up_to_it_read(account):
    deliver(load("text_message"))
    conversation = Conversation.objects.get()
    read_at = datetime.fromtimestamp(1764037500, tz=UTC)
    earlier = make_item(
        conversation,
        TimelineItem.Kind.AGENT_MESSAGE,
        "a",
        external_id="mid.agent.reply.1",
        delivery_status="delivered",
        occurred_at=read_at - timedelta(minutes=2),
    )
    later = make_item(
        conversation,
        TimelineItem.Kind.AGENT_MESSAGE,
        "b",
        external_id="mid.agent.reply.2",
        delivery_status="sent",
        occurred_at=read_at + timedelta(minutes=2),
    )

    deliver(load("read"))

    earlier.refresh_from_db()
    later.refresh_from_db()
    assert earlier.delivery_status == TimelineItem.Delivery.READ
    assert later.delivery_status == TimelineItem.Delivery.SENT


def test_postbacks_are_ignored_with_their_type(account):
    event = deliver(load("postback"))

    assert event.status == WebhookEvent.Status.IGNORED
    assert "postback" in event.last_error
    assert not TimelineItem.objects.exists()


def test_an_unknown_account_is_ignored_with_the_reason(db):
    event = deliver(load("text_message"))

    assert event.status == WebhookEvent.Status.IGNORED
    assert f"No Entry Point for instagram account {IG_ACCOUNT_ID}" in event.last_error


def test_a_batched_delivery_applies_every_message_in_timestamp_order(account):
    deliver(load("batched"))

    assert Conversation.objects.count() == 2
    first_customer = Conversation.objects.get(customer__identities__external_id=CUSTOMER_IGSID)
    assert list(first_customer.items.values_list("text", flat=True)) == ["first", "second"]


@pytest.mark.django_db(transaction=True)
def test_a_first_delivery_is_applied_without_savepoints(account):
    with CaptureQueriesContext(connection) as captured:
        event = deliver(load("batched"))

    assert event.status == WebhookEvent.Status.PROCESSED
    assert items().count() == 3
    assert not [query for query in captured if "SAVEPOINT" in query["sql"].upper()]


def test_a_delivery_repeating_a_stored_message_stores_it_once_and_applies_the_rest(account):
    payload = load("batched")
    first = copy.deepcopy(payload)
    first["entry"] = first["entry"][:1]
    first["entry"][0]["messaging"] = first["entry"][0]["messaging"][:1]
    deliver(first)

    event = deliver(payload)

    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.attempts == 1
    mids = [item["message"]["mid"] for entry in payload["entry"] for item in entry["messaging"]]
    assert sorted(items().values_list("external_id", flat=True)) == sorted(mids)


def test_messenger_deliveries_without_a_messenger_page_are_ignored_with_the_reason(account):
    # The Page's Instagram account is connected, but Messenger is not: nothing goes to Instagram's Entry Point.
    event = deliver(load("messenger_text"))

    assert event.status == WebhookEvent.Status.IGNORED
    assert "No Messenger Page 100000000000001" in event.last_error
    assert not items().exists()


def test_a_poison_event_fails_alone_and_is_recorded(account):
    payload = load("batched")
    poison = min(
        (event for entry in payload["entry"] for event in entry["messaging"]), key=lambda event: event["timestamp"]
    )["message"]["mid"]
    real_message = inbound._message

    def message(entry_point, event):
        if event.mid == poison:
            raise RuntimeError("boom")
        return real_message(entry_point, event)

    with mock.patch("channels_app.meta.inbound._message", side_effect=message):
        event = deliver(payload)

    assert event.status == WebhookEvent.Status.FAILED
    assert "boom" in event.last_error
    # The others were applied: the poison one alone is missing.
    stored = set(TimelineItem.objects.values_list("external_id", flat=True))
    assert poison not in stored
    assert len(stored) == sum(len(entry["messaging"]) for entry in payload["entry"]) - 1


def test_a_paused_entry_point_keeps_the_message_unrouted(account):
    account.entry_point.active = False
    account.entry_point.save()

    deliver(load("text_message"))

    conversation = Conversation.objects.get()
    assert conversation.inbox is None
    assert conversation.unrouted_reason == "Entry point is paused"


def test_the_sweeper_enqueues_events_left_received(account):
    old = WebhookEvent.objects.create(object="instagram", body="{}", received_at=timezone.now() - timedelta(minutes=5))
    WebhookEvent.objects.create(object="instagram", body="{}")

    with mock.patch("channels_app.meta.dispatch.current_app.send_task") as delay:
        assert webhooks.sweep_unprocessed() == 1

    delay.assert_called_once_with("channels_app.tasks.process_webhook_events", args=[[old.pk]])


def test_the_sweeper_waits_before_sweeping_the_same_event_again(account):
    old = WebhookEvent.objects.create(object="instagram", body="{}", received_at=timezone.now() - timedelta(minutes=5))
    with mock.patch("channels_app.meta.dispatch.current_app.send_task") as delay:
        webhooks.sweep_unprocessed()

        with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
            assert webhooks.sweep_unprocessed() == 0
        with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
            assert webhooks.sweep_unprocessed() == 1

    assert delay.call_args_list == [
        mock.call("channels_app.tasks.process_webhook_events", args=[[old.pk]]),
        mock.call("channels_app.tasks.process_webhook_events", args=[[old.pk]]),
    ]


def test_failed_events_can_be_retried_from_settings(admin_client, account, django_capture_on_commit_callbacks):
    failed = WebhookEvent.objects.create(object="instagram", body=json.dumps(load("text_message")), status="failed")

    with mock.patch("channels_app.meta.dispatch.current_app.send_task") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post("/settings/meta/webhookevent/", {"action": "retry", "_selected_action": [failed.pk]})

    failed.refresh_from_db()
    assert failed.status == WebhookEvent.Status.RECEIVED
    delay.assert_called_once_with("channels_app.tasks.process_webhook_events", args=[[failed.pk]])
    assert admin_client.get(f"/settings/meta/webhookevent/{failed.pk}/change/").status_code == 200


@responses.activate
def test_a_new_customers_profile_is_fetched_once(account, public_dns):
    deliver(load("text_message"))
    identity = CustomerIdentity.objects.get()
    responses.get(
        f"https://graph.facebook.com/v23.0/{CUSTOMER_IGSID}",
        json={"name": "Maya Lopez", "username": "maya.lopez", "profile_pic": "https://scontent.cdninstagram.com/p.jpg"},
    )
    responses.get("https://scontent.cdninstagram.com/p.jpg", body=b"jpeg", content_type="image/jpeg")

    assert fetch_profile(identity.pk) is True

    customer = Customer.objects.get()
    assert (customer.name, customer.username) == ("Maya Lopez", "maya.lopez")
    assert customer.profile_picture.read() == b"jpeg"
    assert "access_token=page-token-secret" in responses.calls[0].request.url


@responses.activate
@pytest.mark.django_db(transaction=True)
def test_a_fetched_profile_tells_the_customers_inbox(account, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "conversations.live.layers.DatabaseChannelLayer"}}
    deliver(load("text_message"))
    conversation = Conversation.objects.get()
    responses.get(f"https://graph.facebook.com/v23.0/{CUSTOMER_IGSID}", json={"name": "Maya Lopez"})
    LiveEvent.objects.all().delete()

    with CaptureQueriesContext(connection) as captured:
        assert fetch_profile(CustomerIdentity.objects.get().pk) is True

    groups = set(LiveEvent.objects.values_list("group", flat=True))
    assert groups == {f"inbox.{conversation.inbox_id}", f"conversation.{conversation.pk}"}
    # The inbox came with the customer's conversations, not from a look-up of its own.
    assert not [query for query in captured if 'SELECT "conversations_conversation"."inbox_id"' in query["sql"]]


@responses.activate
def test_a_failed_profile_fetch_leaves_a_placeholder_and_asks_for_a_retry(account):
    deliver(load("text_message"))
    responses.get(f"https://graph.facebook.com/v23.0/{CUSTOMER_IGSID}", status=500, json={"error": {"message": "x"}})

    assert fetch_profile(CustomerIdentity.objects.get().pk) is False
    assert Customer.objects.get().display_name.startswith("Customer ")


def process_at_once(event_ids):
    """Process stored deliveries in parallel threads, each with its own connection, started together."""
    barrier = threading.Barrier(len(event_ids))

    def work(event_id):
        barrier.wait()
        try:
            webhooks.process_webhook_event(event_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(event_id,)) for event_id in event_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.django_db(transaction=True)
def test_a_new_customers_first_two_messages_processed_at_once_share_one_customer_and_conversation(postgres):
    make_inbox("Instagram", default=True)
    make_instagram_account(make_entry_point(external_id=IG_ACCOUNT_ID))
    second = load("text_message")
    second["entry"][0]["messaging"][0]["message"].update(mid="mid.second.1", text="Hello?")
    events = [
        WebhookEvent.objects.create(object="instagram", body=json.dumps(payload))
        for payload in (load("text_message"), second)
    ]

    process_at_once([event.pk for event in events])

    assert Customer.objects.count() == 1
    assert Conversation.objects.count() == 1
    assert sorted(TimelineItem.objects.values_list("text", flat=True)) == ["Hello?", "Hi, where is my order?"]
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


@pytest.mark.django_db(transaction=True)
def test_two_workers_processing_the_same_delivery_at_once_add_one_item(postgres):
    make_inbox("Instagram", default=True)
    make_instagram_account(make_entry_point(external_id=IG_ACCOUNT_ID))
    body = json.dumps(load("text_message"))
    events = [WebhookEvent.objects.create(object="instagram", body=body) for _ in range(2)]

    process_at_once([event.pk for event in events])

    assert TimelineItem.objects.count() == 1
    assert Conversation.objects.count() == 1
    assert Customer.objects.count() == 1
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


TEXT_MID = load("text_message")["entry"][0]["messaging"][0]["message"]["mid"]


def test_a_redelivered_reaction_is_recorded_once(account):
    deliver(load("reaction"))

    deliver(load("reaction"))

    assert CustomerReaction.objects.count() == 1


def test_the_accounts_own_reaction_is_not_taken_for_a_customer(account):
    deliver(load("text_message"))

    deliver(load("account_reaction"))

    assert list(CustomerIdentity.objects.values_list("external_id", flat=True)) == [CUSTOMER_IGSID]
    assert not CustomerReaction.objects.exists()
    assert items().count() == 1


def test_a_reaction_made_in_the_instagram_app_is_counted_as_outside_the_app(account):
    deliver(load("text_message"))

    deliver(load("account_reaction"))
    deliver(load("account_reaction"))

    assert AccountEvent.objects.get().kind == AccountEvent.Kind.OUTSIDE_ECHO


def test_the_echo_of_our_like_in_flight_tells_the_sender_it_went_out(account):
    deliver(load("text_message"))
    conversation = Conversation.objects.get()
    like = make_item(conversation, TimelineItem.Kind.AGENT_LIKE, "", delivery_status="queued")
    OutboundMessage.objects.create(
        entry_point_id=account.entry_point_id,
        item=like,
        kind=OutboundMessage.Kind.REACTION,
        recipient_id=CUSTOMER_IGSID,
        payload={"message_id": TEXT_MID, "reaction": "love"},
        status=OutboundMessage.Status.SENDING,
    )

    deliver(load("account_reaction"))

    assert OutboundMessage.objects.get().message_id == TEXT_MID
    assert not AccountEvent.objects.exists()


def test_a_deletion_that_overtakes_its_message_keeps_the_message_hidden(account):
    deliver(load("deleted"))

    deliver(load("text_message"))

    item = items().get()
    assert item.deleted_by_customer is True  # hidden from agents, as if it had come first
    assert item.text == "Hi, where is my order?"
    assert Conversation.objects.get().last_customer_message_at == item.occurred_at


def test_a_deletion_alone_does_not_open_the_messaging_window(account):
    deliver(load("deleted"))

    assert items().get().deleted_by_customer is True
    assert Conversation.objects.get().last_customer_message_at is None


def test_a_database_error_in_an_event_retries_the_delivery_instead_of_failing_it(account):
    from django.db import OperationalError

    event = WebhookEvent.objects.create(object="instagram", body=json.dumps(load("text_message")))

    with (
        mock.patch("channels_app.meta.inbound._message", side_effect=OperationalError("server closed the connection")),
        pytest.raises(OperationalError),
    ):
        webhooks.process_webhook_event(event.pk)

    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.RECEIVED
    assert not TimelineItem.objects.exists()


def test_the_task_gives_up_after_bounded_retries_and_marks_the_event_failed(account):
    from django.db import OperationalError

    from channels_app.meta.tasks import MAX_PROCESS_ATTEMPTS, process_webhook_event

    event = WebhookEvent.objects.create(object="instagram", body=json.dumps(load("text_message")))
    with mock.patch("channels_app.meta.processing.process_webhook_event", side_effect=OperationalError("down")):
        result = process_webhook_event.apply(args=(event.pk,), retries=MAX_PROCESS_ATTEMPTS)

    assert result.result == "failed"
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED
    assert "Gave up after 5 retries" in event.last_error


def test_a_page_delivery_goes_to_the_pages_messenger_entry_point_when_there_is_one(account):
    messenger = make_entry_point(kind="messenger", display_name="Acme Shoes", external_id=account.page_id)

    deliver(load("messenger_text"))

    assert items().get().entry_point == messenger


def test_a_published_batch_applies_each_delivery_and_a_poison_one_fails_alone(account):
    from channels_app.meta.tasks import process_webhook_events

    good = WebhookEvent.objects.create(object="instagram", body=json.dumps(load("text_message")))
    poison = WebhookEvent.objects.create(object="instagram", body=json.dumps(load("image_message")))
    real = webhooks.process_webhook_event

    def process(event_id, entry_points=None):
        if event_id == poison.pk:
            raise KeyError("unexpected")
        return real(event_id, entry_points)

    with mock.patch("channels_app.meta.processing.process_webhook_event", side_effect=process):
        results = process_webhook_events.apply(args=([poison.pk, good.pk],)).result

    assert results == {poison.pk: "failed", good.pk: "processed"}
    poison.refresh_from_db()
    assert poison.status == WebhookEvent.Status.FAILED
    assert "KeyError" in poison.last_error
    assert items().get().text == "Hi, where is my order?"


def test_a_batch_looks_each_entry_point_up_once(account):
    from channels_app.meta.tasks import process_webhook_events

    deliveries = [load("text_message"), load("image_message"), load("batched")]
    events = [WebhookEvent.objects.create(object="instagram", body=json.dumps(payload)) for payload in deliveries]

    with CaptureQueriesContext(connection) as captured:
        results = process_webhook_events.apply(args=([event.pk for event in events],)).result

    assert set(results.values()) == {"processed"}
    lookups = [query for query in captured if 'FROM "channels_app_entrypoint"' in query["sql"]]
    by_address = [query for query in lookups if IG_ACCOUNT_ID in query["sql"]]
    assert len(by_address) == 1


def test_a_batch_hands_a_delivery_hit_by_a_database_error_to_its_own_retrying_task(account):
    from django.db import OperationalError

    from channels_app.meta.tasks import process_webhook_events

    event = WebhookEvent.objects.create(object="instagram", body=json.dumps(load("text_message")))

    with (
        mock.patch("channels_app.meta.processing.process_webhook_event", side_effect=OperationalError("down")),
        mock.patch("channels_app.meta.processing.current_app.send_task") as apply_async,
    ):
        results = process_webhook_events.apply(args=([event.pk],)).result

    assert results == {event.pk: "retrying"}
    apply_async.assert_called_once_with("channels_app.tasks.process_webhook_event", args=[event.pk], countdown=2)


def test_an_unexpected_error_marks_the_event_failed_instead_of_leaving_it_for_the_sweeper(account):
    from channels_app.meta.tasks import process_webhook_event

    event = WebhookEvent.objects.create(object="instagram", body=json.dumps(load("text_message")))
    with mock.patch("channels_app.meta.processing.process_webhook_event", side_effect=KeyError("bug")):
        assert process_webhook_event.apply(args=(event.pk,)).result == "failed"

    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED
    assert "KeyError" in event.last_error


def test_messages_delivered_out_of_order_are_shown_in_metas_order(account):
    earlier = load("text_message")
    later = load("text_message")
    message = later["entry"][0]["messaging"][0]
    message["timestamp"] += 60_000
    message["message"].update(mid="mid.later.1", text="Hello?")

    deliver(later)
    deliver(earlier)

    conversation = Conversation.objects.get()
    assert list(items().values_list("text", flat=True)) == ["Hi, where is my order?", "Hello?"]
    assert conversation.opened_at == datetime(2025, 11, 25, 2, 20, tzinfo=UTC)
    assert conversation.last_customer_message_at == datetime(2025, 11, 25, 2, 21, tzinfo=UTC)
