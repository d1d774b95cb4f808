from datetime import UTC, datetime

import pytest

from channels_app.meta.parser import IgnoredEvent
from channels_app.meta.whatsapp_parser import (
    PayloadError,
    WhatsAppAccountError,
    WhatsAppAttachment,
    WhatsAppChoice,
    WhatsAppContact,
    WhatsAppError,
    WhatsAppLocation,
    WhatsAppMessage,
    WhatsAppReaction,
    WhatsAppStatus,
    parse_whatsapp_delivery,
)
from tests.meta.helpers import load_whatsapp

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
CUSTOMER = "16505551234"


def only_event(name):
    delivery = parse_whatsapp_delivery(load_whatsapp(name))
    [entry] = delivery.entries
    assert entry.ignored == ()
    [event] = entry.events
    return event


def test_a_text_message_carries_the_number_customer_and_time():
    message = only_event("text")

    assert isinstance(message, WhatsAppMessage)
    assert message.account_id == WABA_ID
    assert message.phone_number_id == PHONE_NUMBER_ID
    assert message.display_phone_number == "15550783881"
    assert message.message_id.startswith("wamid.")
    assert message.customer_id == CUSTOMER
    assert message.customer_name == "Sheena Nelson"
    assert message.occurred_at == datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)
    assert (message.kind, message.text) == ("text", "Does it come in another color?")


def test_a_reply_keeps_the_message_it_answers():
    message = only_event("text_reply")

    assert message.reply_to_message_id == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI0OUREMkRCNjlDNjE5QkMzMUMA"


@pytest.mark.parametrize(
    ("name", "mime_type", "caption", "filename"),
    [
        ("image", "image/jpeg", "This is the broken part", ""),
        ("audio", "audio/ogg; codecs=opus", "", ""),
        ("video", "video/mp4", "It makes this noise", ""),
        ("document", "application/pdf", "My invoice", "invoice-0042.pdf"),
        ("sticker", "image/webp", "", ""),
    ],
)
def test_media_messages_carry_the_media_id_to_fetch(name, mime_type, caption, filename):
    message = only_event(name)

    [attachment] = message.attachments
    assert message.kind == name
    assert message.text == caption
    assert attachment == WhatsAppAttachment(
        kind=name,
        media_id=load_whatsapp(name)["entry"][0]["changes"][0]["value"]["messages"][0][name]["id"],
        mime_type=mime_type,
        filename=filename,
        caption=caption,
        sha256=attachment.sha256,
    )
    assert attachment.sha256


def test_a_location():
    message = only_event("location")

    assert message.location == WhatsAppLocation(
        latitude=37.483307,
        longitude=-122.148981,
        name="Philz Coffee",
        address="1 Hacker Way, Menlo Park, CA 94025",
        url="https://philzcoffee.com",
    )


def test_shared_contact_cards():
    message = only_event("contacts")

    assert message.contacts == (
        WhatsAppContact(
            name="Barbara J. Johnson",
            phones=("+1 (940) 555-1234",),
            wa_ids=("19405551234",),
            emails=("bjohnson@example.com",),
            organization="Lucky Shrub",
        ),
    )
    assert message.customer_name == "Sheena Nelson", "the shared card is not the sender"


@pytest.mark.parametrize(
    ("name", "choice"),
    [
        ("interactive_button_reply", WhatsAppChoice("button_reply", "cancel-order", "Cancel")),
        ("interactive_list_reply", WhatsAppChoice("list_reply", "priority-express", "Express", "Next day to 2 days")),
        ("button", WhatsAppChoice("button", "TRACK_ORDER", "Track my order")),
    ],
)
def test_a_tapped_option_shows_its_title_and_keeps_its_id(name, choice):
    message = only_event(name)

    assert message.choice == choice
    assert message.text == choice.title
    assert message.reply_to_message_id


def test_a_reaction():
    message = only_event("reaction")

    assert message.kind == "reaction"
    assert message.reaction == WhatsAppReaction("wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJBRjA0NkU1OUI2QjYzMDc3ODgA", "👍")
    assert not message.reaction.removed


def test_a_reaction_without_emoji_is_a_removal():
    message = only_event("reaction_removed")

    assert message.reaction.emoji == ""
    assert message.reaction.removed


def test_an_unsupported_message_keeps_metas_explanation():
    message = only_event("unsupported")

    assert message.kind == "unsupported"
    assert message.unsupported_type == "edit"
    assert message.errors == (
        WhatsAppError(
            131051, "Message type unknown", "Message type unknown", "Message type is currently not supported."
        ),
    )


def test_a_type_we_do_not_know_is_an_unsupported_message_not_an_error():
    payload = load_whatsapp("text")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["type"] = "order"
    message["order"] = {"catalog_id": "1"}

    [event] = parse_whatsapp_delivery(payload).entries[0].events

    assert (event.kind, event.unsupported_type) == ("unsupported", "order")


@pytest.mark.parametrize("status", ["sent", "delivered", "read"])
def test_statuses(status):
    event = only_event(f"status_{status}")

    assert isinstance(event, WhatsAppStatus)
    assert event.status == status
    assert event.phone_number_id == PHONE_NUMBER_ID
    assert event.message_id == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI1RjQ0QjY5RkQ0QTM2NkI4NUUA"
    assert event.recipient_id == CUSTOMER
    assert event.occurred_at.tzinfo is not None
    assert event.errors == ()


def test_sent_status_keeps_conversation_and_pricing_raw():
    event = only_event("status_sent")

    assert event.conversation["expiration_timestamp"] == "1750350180"
    assert event.pricing["category"] == "service"


def test_a_failed_status_says_why():
    event = only_event("status_failed")

    assert event.status == "failed"
    [error] = event.errors
    assert error.code == 131047
    assert error.title == "Re-engagement message"
    assert "24 hours" in error.details


def test_account_level_errors():
    event = only_event("errors")

    assert event == WhatsAppAccountError(
        WABA_ID,
        PHONE_NUMBER_ID,
        WhatsAppError(
            130429, "Rate limit hit", "(#130429) Rate limit hit", "Cloud API message throughput has been reached."
        ),
    )


def test_a_batched_delivery_keeps_each_change_with_its_own_number():
    [entry] = parse_whatsapp_delivery(load_whatsapp("batched")).entries

    message, status = entry.events
    assert (message.kind, message.phone_number_id, message.text) == ("text", PHONE_NUMBER_ID, "first")
    assert (status.status, status.phone_number_id) == ("delivered", "106540352242923")


def test_a_bad_message_is_ignored_with_a_reason_and_its_neighbours_still_parse():
    payload = load_whatsapp("text")
    value = payload["entry"][0]["changes"][0]["value"]
    good = value["messages"][0]
    value["messages"] = [{"type": "text", "text": {"body": "no id"}}, "nonsense", good, {**good, "type": "image"}]

    [entry] = parse_whatsapp_delivery(payload).entries

    assert [event.message_id for event in entry.events] == [good["id"]]
    assert len(entry.ignored) == 3
    assert all(isinstance(ignored, IgnoredEvent) and ignored.reason for ignored in entry.ignored)


def test_a_text_without_a_body_is_ignored_with_a_reason():
    payload = load_whatsapp("text")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"] = {}

    [entry] = parse_whatsapp_delivery(payload).entries

    assert entry.events == ()
    assert entry.ignored[0].reason == "A text message without a body."


def test_other_webhook_fields_are_ignored_with_a_reason():
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": WABA_ID, "changes": [{"field": "message_template_status_update", "value": {"event": "APPROVED"}}]}
        ],
    }

    [entry] = parse_whatsapp_delivery(payload).entries

    assert entry.events == ()
    [ignored] = entry.ignored
    assert ignored.kind == "message_template_status_update"
    assert ignored.reason


def test_an_unreadable_timestamp_falls_back_to_now():
    payload = load_whatsapp("text")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = "soon"

    [message] = parse_whatsapp_delivery(payload).entries[0].events

    assert abs((datetime.now(tz=UTC) - message.occurred_at).total_seconds()) < 60


@pytest.mark.parametrize("body", [[], "text", None, 3])
def test_a_body_that_is_not_an_object_is_a_payload_error(body):
    with pytest.raises(PayloadError):
        parse_whatsapp_delivery(body)


@pytest.mark.parametrize("body", [{"object": "instagram", "entry": []}, {"object": "whatsapp_business_account"}, {}])
def test_an_object_that_is_not_a_whatsapp_delivery_is_ignored_with_a_reason(body):
    [entry] = parse_whatsapp_delivery(body).entries

    assert entry.events == ()
    [ignored] = entry.ignored
    assert (ignored.kind, bool(ignored.reason)) == ("delivery", True)
