from datetime import UTC, datetime

import pytest
from django.test import override_settings

from channels_app.meta.messenger_parser import (
    DeliveryReceipt,
    MessengerAttachment,
    MessengerEcho,
    MessengerMessage,
    PayloadError,
    Postback,
    Referral,
    ReferralEvent,
    parse_messenger_delivery,
)
from channels_app.meta.parser import InboundReaction, MessageDeleted, ReadReceipt, UnsupportedMessage
from tests.meta.helpers import load_messenger

PAGE_ID = "100000000000001"
PSID = "1234567890123456"
OUR_APP_ID = "1517776481860111"


def only_event(name, app_id=OUR_APP_ID):
    [entry] = parse_messenger_delivery(load_messenger(name), app_id=app_id).entries
    assert entry.ignored == ()
    [event] = entry.events
    return event


def test_a_text_message():
    message = only_event("text")

    assert isinstance(message, MessengerMessage)
    assert (message.account_id, message.customer_id, message.mid) == (PAGE_ID, PSID, "m_text_1")
    assert message.text == "Hello from Messenger"
    assert message.occurred_at == datetime(2025, 11, 25, 2, 20, tzinfo=UTC)


def test_a_reply_keeps_the_message_it_answers():
    assert only_event("reply_to").reply_to_mid == "m_ours_1"


@pytest.mark.parametrize("kind", ["image", "video", "audio", "file"])
def test_media_attachments(kind):
    message = only_event(kind)

    [attachment] = message.attachments
    assert attachment.kind == kind
    assert attachment.url.startswith("https://scontent.xx.fbcdn.net/")


def test_a_sticker_comes_once_although_meta_also_sends_it_as_an_image():
    [attachment] = only_event("sticker").attachments

    assert (attachment.kind, attachment.sticker_id) == ("sticker", "369239263222822")


@pytest.mark.parametrize("name", ["fallback", "fallback_legacy"])
def test_a_shared_link_keeps_its_url_and_title(name):
    [attachment] = only_event(name).attachments

    assert attachment.kind == "fallback"
    assert attachment.title == "Red shoes, size 42"
    assert "example.com" in attachment.url


def test_a_quick_reply_shows_the_text_and_keeps_the_payload():
    message = only_event("quick_reply")

    assert (message.text, message.quick_reply_payload) == ("Yes, cancel it", "CANCEL_ORDER_YES")


def test_a_postback_shows_what_the_customer_tapped():
    event = only_event("postback")

    assert isinstance(event, Postback)
    assert (event.title, event.payload, event.mid) == ("Track my order", "TRACK_ORDER", "m_postback_1")
    assert event.customer_id == PSID
    assert event.referral is None


def test_a_get_started_postback_carries_the_referral_of_a_new_thread():
    event = only_event("postback_get_started")

    assert event.referral == Referral(ref="spring-sale", source="SHORTLINK", type="OPEN_THREAD")


def test_an_ad_referral_for_the_customer_card():
    event = only_event("referral_ad")

    assert isinstance(event, ReferralEvent)
    assert event.customer_id == PSID
    referral = event.referral
    assert (referral.ref, referral.source, referral.type, referral.ad_id) == (
        "spring-sale",
        "ADS",
        "OPEN_THREAD",
        "120210000000000001",
    )
    assert referral.ad_title == "Spring sale: 20% off"
    assert referral.ads_context["post_id"] == "100000000000001_200000000000002"


def test_a_shortlink_referral():
    assert only_event("referral_shortlink").referral == Referral(
        ref="order-1042", source="SHORTLINK", type="OPEN_THREAD"
    )


def test_a_reaction_and_its_removal():
    react, unreact = only_event("reaction"), only_event("unreact")

    assert isinstance(react, InboundReaction)
    assert (react.mid, react.action, react.reaction, react.emoji) == ("m_ours_1", "react", "love", "❤️")
    assert (unreact.action, unreact.reaction, unreact.emoji) == ("unreact", "", "")


def test_a_read_watermark():
    event = only_event("read")

    assert isinstance(event, ReadReceipt)
    assert event.watermark == datetime(2025, 11, 25, 2, 20, 50, tzinfo=UTC)


def test_a_delivery_receipt():
    event = only_event("delivery")

    assert isinstance(event, DeliveryReceipt)
    assert event.mids == ("m_ours_1",)


def test_our_own_echo_is_recognised_by_app_id():
    echo = only_event("echo_ours")

    assert isinstance(echo, MessengerEcho)
    assert echo.sent_by_us
    assert (echo.customer_id, echo.mid, echo.app_id) == (PSID, "m_ours_1", OUR_APP_ID)


def test_an_echo_from_another_tool_is_not_ours():
    echo = only_event("echo_other")

    assert not echo.sent_by_us
    assert echo.text == "Sent from the Page inbox"


def test_our_app_id_comes_from_settings_by_default():
    with override_settings(META_APP_ID=OUR_APP_ID):
        [entry] = parse_messenger_delivery(load_messenger("echo_ours")).entries

    assert entry.events[0].sent_by_us


@override_settings(META_APP_ID="")
def test_without_an_app_id_no_echo_is_taken_for_ours():
    [entry] = parse_messenger_delivery(load_messenger("echo_ours")).entries

    assert not entry.events[0].sent_by_us


def test_an_echoed_template_is_kept_raw():
    [attachment] = only_event("echo_template").attachments

    assert isinstance(attachment, MessengerAttachment)
    assert attachment.kind == "template"
    assert attachment.template["template_type"] == "media"


def test_a_deleted_message():
    event = only_event("deleted")

    assert isinstance(event, MessageDeleted)
    assert event.mid == "m_text_1"


def test_a_message_with_nothing_we_can_show_is_unsupported():
    payload = load_messenger("text")
    del payload["entry"][0]["messaging"][0]["message"]["text"]

    [event] = parse_messenger_delivery(payload, app_id=OUR_APP_ID).entries[0].events

    assert isinstance(event, UnsupportedMessage)


def test_a_bad_item_is_ignored_with_a_reason_and_its_neighbours_still_parse():
    payload = load_messenger("text")
    good = payload["entry"][0]["messaging"][0]
    payload["entry"][0]["messaging"] = [
        {"sender": {"user_ref": "guest"}, "recipient": {"id": PAGE_ID}, "message": {"mid": "x", "text": "hi"}},
        {**good, "message": {"text": "no mid"}},
        {**good, "optin": {"ref": "x"}, "message": None},
        good,
    ]

    [entry] = parse_messenger_delivery(payload, app_id=OUR_APP_ID).entries

    assert [event.mid for event in entry.events] == ["m_text_1"]
    assert len(entry.ignored) == 3
    assert all(ignored.reason for ignored in entry.ignored)


@pytest.mark.parametrize("body", [{"object": "instagram", "entry": []}, {"object": "page"}, {}])
def test_a_body_that_is_not_a_page_delivery_is_ignored_with_a_reason(body):
    [entry] = parse_messenger_delivery(body).entries

    [ignored] = entry.ignored
    assert ignored.kind == "delivery"
    assert ignored.reason


@pytest.mark.parametrize("body", [[], "page", None, 1.5])
def test_a_body_that_is_not_an_object_is_a_payload_error(body):
    with pytest.raises(PayloadError):
        parse_messenger_delivery(body)
