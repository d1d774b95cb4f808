"""WhatsApp deliveries (`object: whatsapp_business_account`) applied at the number's Entry Point."""

import hashlib

import pytest
import responses
from django.utils import timezone

from channels_app.meta import whatsapp_inbound
from channels_app.meta.models import WebhookEvent
from conversations.models import Attachment, Conversation, CustomerReaction, OutboundMessage, TimelineItem
from tests.channels_app.test_webhook_processing import deliver
from tests.factories import make_conversation, make_customer, make_inbox, make_item, make_whatsapp_number
from tests.meta.helpers import load_whatsapp
from tests.meta_payloads import post_webhook
from tests.security.helpers import resolve_to

CUSTOMER = "16505551234"
GRAPH = "https://graph.facebook.com/v23.0"
OUR_WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI1RjQ0QjY5RkQ0QTM2NkI4NUUA"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def number(db):
    make_inbox("Messaging", default=True)
    return make_whatsapp_number()


def items():
    return TimelineItem.objects.order_by("occurred_at", "id")


def test_a_signed_whatsapp_delivery_is_accepted_by_the_endpoint(client, number):
    response = post_webhook(client, load_whatsapp("text"))

    assert response.status_code == 200
    assert WebhookEvent.objects.get().object == "whatsapp_business_account"


def test_a_text_opens_a_conversation_named_after_the_profile(number):
    event = deliver(load_whatsapp("text"))

    assert event.status == WebhookEvent.Status.PROCESSED
    conversation = Conversation.objects.get()
    assert conversation.entry_point == number.entry_point
    assert conversation.customer.name == "Sheena Nelson"
    assert items().get().text == "Does it come in another color?"


def test_a_delivery_for_an_unknown_number_is_ignored_with_the_reason(db):
    event = deliver(load_whatsapp("text"))

    assert event.status == WebhookEvent.Status.IGNORED
    assert "No WhatsApp number with phone number ID 106540352242922" in event.last_error


@pytest.mark.parametrize(
    "name",
    [
        "text_reply",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "interactive_button_reply",
        "interactive_list_reply",
        "button",
        "unsupported",
    ],
)
def test_every_message_type_becomes_a_timeline_item(number, name):
    event = deliver(load_whatsapp(name))

    assert event.status == WebhookEvent.Status.PROCESSED, event.last_error
    item = items().get()
    assert item.kind == TimelineItem.Kind.CUSTOMER_MESSAGE
    assert item.text or item.attachments.exists()


def test_a_location_and_a_contact_card_read_as_text(number):
    deliver(load_whatsapp("location"))
    deliver(load_whatsapp("contacts"))

    location, contacts = items()
    assert "maps.google.com" in location.text
    assert contacts.text.startswith("Shared contact:")


def test_a_button_reply_keeps_what_was_tapped(number):
    deliver(load_whatsapp("interactive_button_reply"))

    assert items().get().metadata["choice"]["kind"] == "button_reply"


def test_a_reaction_is_kept_never_as_an_item(number):
    deliver(load_whatsapp("reaction"))
    deliver(load_whatsapp("reaction_removed"))

    assert not items().exists()
    assert list(CustomerReaction.objects.values_list("action", flat=True).order_by("id")) == ["react", "unreact"]


def _our_message(number):
    conversation = make_conversation(
        inbox=make_inbox(),
        entry_point=number.entry_point,
        customer=make_customer(number.entry_point, external_id=CUSTOMER),
        last_customer_message_at=timezone.now(),
    )
    item = make_item(
        conversation,
        kind=TimelineItem.Kind.AGENT_MESSAGE,
        external_id=OUR_WAMID,
        delivery_status=TimelineItem.Delivery.SENT,
    )
    OutboundMessage.objects.create(
        entry_point=number.entry_point,
        item=item,
        kind=OutboundMessage.Kind.TEXT,
        recipient_id=CUSTOMER,
        payload={"text": "Hello"},
        status=OutboundMessage.Status.SENT,
        message_id=OUR_WAMID,
    )
    return item


@pytest.mark.parametrize(("name", "state"), [("status_delivered", "delivered"), ("status_read", "read")])
def test_statuses_become_delivery_states(number, name, state):
    item = _our_message(number)

    deliver(load_whatsapp(name))

    item.refresh_from_db()
    assert item.delivery_status == state


def test_a_failed_status_fails_our_message_with_metas_reason_in_plain_words(number):
    item = _our_message(number)

    deliver(load_whatsapp("status_failed"))

    item.refresh_from_db()
    assert item.delivery_status == TimelineItem.Delivery.FAILED
    assert "only an approved template can be sent" in item.failure_reason


def test_account_errors_are_recorded_on_the_number(number):
    event = deliver(load_whatsapp("errors"))

    assert event.status == WebhookEvent.Status.PROCESSED
    number.refresh_from_db()
    assert number.status_reason.startswith("Meta reported:")


@responses.activate
def test_media_is_downloaded_through_its_id_with_the_numbers_token(number, monkeypatch):
    resolve_to(monkeypatch, "157.240.1.35")
    deliver(load_whatsapp("image"))
    attachment = Attachment.objects.get()
    media_id = attachment.original_url.rsplit("/", 1)[-1]
    cdn = f"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid={media_id}"
    responses.get(
        f"{GRAPH}/{media_id}",
        json={"url": cdn, "mime_type": "image/png", "sha256": hashlib.sha256(PNG).hexdigest(), "id": media_id},
    )
    responses.get(cdn, body=PNG, content_type="image/png")

    assert whatsapp_inbound.download_media(attachment.pk) is True

    attachment.refresh_from_db()
    assert attachment.status == Attachment.Status.STORED
    assert attachment.content_type == "image/png"
    assert "access_token=wa-token" in responses.calls[0].request.url
    assert responses.calls[1].request.headers["Authorization"] == "Bearer wa-token"
    assert "wa-token" not in responses.calls[1].request.url


@responses.activate
def test_media_from_a_host_that_is_not_metas_is_refused(number, monkeypatch):
    resolve_to(monkeypatch, "157.240.1.35")
    deliver(load_whatsapp("image"))
    attachment = Attachment.objects.get()
    media_id = attachment.original_url.rsplit("/", 1)[-1]
    responses.get(f"{GRAPH}/{media_id}", json={"url": "https://evil.example/x.png", "id": media_id})

    assert whatsapp_inbound.download_media(attachment.pk, final=True) is True

    attachment.refresh_from_db()
    assert attachment.status == Attachment.Status.FAILED
