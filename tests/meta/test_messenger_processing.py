"""Messenger deliveries (`object: page`) applied at a Page's Entry Point, through the signed endpoint."""

import pytest
import responses
from django.test import override_settings

from channels_app.meta import messenger_inbound
from channels_app.meta.models import AccountEvent, WebhookEvent
from conversations.models import Conversation, CustomerIdentity, CustomerReaction, TimelineItem
from tests.channels_app.test_webhook_processing import deliver
from tests.factories import make_inbox, make_instagram_account, make_messenger_page
from tests.meta.helpers import load_messenger
from tests.meta_payloads import post_webhook
from tests.security.helpers import resolve_to

PSID = "1234567890123456"
OUR_APP_ID = "1517776481860111"


@pytest.fixture
def page(db):
    make_inbox("Messaging", default=True)
    return make_messenger_page()


def items():
    return TimelineItem.objects.order_by("occurred_at", "id")


def test_a_signed_page_delivery_is_accepted_by_the_endpoint(client, page):
    response = post_webhook(client, load_messenger("text"))

    assert response.status_code == 200
    assert WebhookEvent.objects.get().object == "page"


def test_a_text_message_opens_a_routed_conversation_at_the_pages_entry_point(page):
    event = deliver(load_messenger("text"))

    assert event.status == WebhookEvent.Status.PROCESSED
    conversation = Conversation.objects.get()
    assert conversation.entry_point == page.entry_point
    assert conversation.inbox.name == "Messaging"
    assert items().get().kind == TimelineItem.Kind.CUSTOMER_MESSAGE
    assert CustomerIdentity.objects.get().external_id == PSID


def test_a_page_without_a_messenger_page_is_ignored_even_with_its_instagram_account(db):
    make_inbox("Messaging", default=True)
    make_instagram_account(page_id="100000000000001")

    event = deliver(load_messenger("text"))

    assert event.status == WebhookEvent.Status.IGNORED
    assert "No Messenger Page 100000000000001 is connected" in event.last_error
    assert not TimelineItem.objects.exists()


def test_a_postback_shows_what_the_customer_tapped(page):
    deliver(load_messenger("postback"))

    item = items().get()
    assert item.text == "Track my order"
    assert item.metadata["postback"] == {"title": "Track my order", "payload": "TRACK_ORDER"}


def test_a_quick_reply_keeps_its_payload(page):
    deliver(load_messenger("quick_reply"))

    item = items().get()
    assert item.text
    assert item.metadata["quick_reply_payload"]


def test_a_shared_link_becomes_text_with_its_address(page):
    deliver(load_messenger("fallback"))

    assert "https://example.com/shoes/42" in items().get().text


def test_an_image_is_queued_for_download(page, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        deliver(load_messenger("image"))

    attachment = items().get().attachments.get()
    assert attachment.kind == "image"
    assert attachment.original_url.startswith("https://scontent.xx.fbcdn.net/")
    assert callbacks


def test_reactions_are_kept_never_as_timeline_items(page):
    deliver(load_messenger("text"))
    deliver(load_messenger("reaction"))

    assert CustomerReaction.objects.count() == 1
    assert items().count() == 1


def test_a_deletion_hides_the_message(page):
    deliver(load_messenger("text"))
    deliver(load_messenger("deleted"))

    assert items().filter(deleted_by_customer=True).exists()


def test_a_referral_is_recorded_on_the_customers_identity(page):
    deliver(load_messenger("text"))
    deliver(load_messenger("referral_shortlink"))

    attributes = CustomerIdentity.objects.get().attributes
    assert attributes["referral"]["source"] == "SHORTLINK"
    assert len(attributes["referrals"]) == 1
    deliver(load_messenger("referral_shortlink"))  # a redelivery adds nothing
    assert len(CustomerIdentity.objects.get().attributes["referrals"]) == 1


@override_settings(META_APP_ID=OUR_APP_ID)
def test_an_echo_of_another_tool_is_shown_and_counted(page):
    deliver(load_messenger("text"))
    deliver(load_messenger("echo_other"))

    outside = items().get(kind=TimelineItem.Kind.OTHER_AUTOMATION)
    assert outside.direction == TimelineItem.Direction.OUTBOUND
    assert AccountEvent.objects.get(messenger_page=page).kind == AccountEvent.Kind.OUTSIDE_ECHO


@override_settings(META_APP_ID=OUR_APP_ID)
def test_an_echo_from_our_app_is_never_shown_twice(page):
    deliver(load_messenger("text"))
    deliver(load_messenger("echo_ours"))

    assert not items().filter(kind=TimelineItem.Kind.OTHER_AUTOMATION).exists()
    assert not AccountEvent.objects.exists()


def test_a_redelivery_adds_nothing(page):
    deliver(load_messenger("text"))
    deliver(load_messenger("text"))

    assert items().count() == 1


@responses.activate
def test_a_new_customers_profile_is_fetched_by_psid(page, monkeypatch):
    resolve_to(monkeypatch, "157.240.1.35")
    deliver(load_messenger("text"))
    identity = CustomerIdentity.objects.get()
    responses.get(
        f"https://graph.facebook.com/v23.0/{PSID}",
        json={"first_name": "Maya", "last_name": "Lopez", "profile_pic": ""},
    )

    assert messenger_inbound.is_messenger_identity(identity.pk)
    assert messenger_inbound.fetch_profile(identity.pk) is True
    identity.customer.refresh_from_db()
    assert identity.customer.name == "Maya Lopez"
    assert "access_token=page-token-secret" in responses.calls[0].request.url
