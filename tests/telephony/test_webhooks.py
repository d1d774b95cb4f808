"""Twilio's webhooks: signature checks, storing before answering, and the answers."""

import logging
import xml.etree.ElementTree as ET
from unittest import mock

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_app.models import Channel
from channels_app.telephony.models import Call, TwilioWebhookEvent

from .factories import ACCOUNT_SID, make_twilio_account, make_twilio_number
from .webhooks import SITE_URL, call_params, post_signed, sign, sms_params

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


@pytest.fixture
def account(db):
    return make_twilio_account()


def test_a_signed_sms_is_stored_and_answered_with_empty_twiml(client, account):
    response = post_signed(client, "/webhooks/twilio/sms/", sms_params())

    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    assert response.content.decode() == EMPTY_TWIML
    event = TwilioWebhookEvent.objects.get()
    assert event.kind == TwilioWebhookEvent.Kind.SMS
    assert event.status == TwilioWebhookEvent.Status.RECEIVED
    assert event.url == "http://testserver/webhooks/twilio/sms/"
    assert event.params["Body"] == "Hello, is my order shipped?"
    assert event.message_sid == "SM0123456789abcdef0123456789abcdef"


def test_processing_is_enqueued_after_the_commit(client, account, django_capture_on_commit_callbacks):
    with mock.patch("channels_app.telephony.tasks.process_twilio_event.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            post_signed(client, "/webhooks/twilio/sms/", sms_params())

    delay.assert_called_once_with(TwilioWebhookEvent.objects.get().pk)


def test_a_broker_outage_still_answers_and_keeps_the_event(client, account, django_capture_on_commit_callbacks):
    with mock.patch("channels_app.telephony.tasks.process_twilio_event.delay", side_effect=ConnectionError):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_signed(client, "/webhooks/twilio/sms/", sms_params())

    assert response.status_code == 200
    assert TwilioWebhookEvent.objects.get().status == TwilioWebhookEvent.Status.RECEIVED


def test_the_same_message_delivered_twice_is_stored_once(client, account):
    post_signed(client, "/webhooks/twilio/sms/", sms_params())
    response = post_signed(client, "/webhooks/twilio/sms/", sms_params())

    assert response.status_code == 200
    assert TwilioWebhookEvent.objects.count() == 1


def test_a_wrong_signature_is_refused_logged_and_not_kept(client, account, caplog):
    with caplog.at_level(logging.WARNING, logger="channels_app.telephony.views"):
        response = post_signed(client, "/webhooks/twilio/sms/", sms_params(), token="not-the-token")

    assert response.status_code == 403
    assert "wrong signature" in caplog.text
    assert not TwilioWebhookEvent.objects.exists()


def test_a_missing_signature_is_refused(client, account, caplog):
    with caplog.at_level(logging.WARNING, logger="channels_app.telephony.views"):
        response = client.post("/webhooks/twilio/sms/", sms_params())

    assert response.status_code == 403
    assert "no X-Twilio-Signature" in caplog.text
    assert not TwilioWebhookEvent.objects.exists()


def test_a_request_replayed_to_another_url_is_refused(client, account):
    params = call_params(CallStatus="completed")
    signed_for_status = sign(SITE_URL + "/webhooks/twilio/voice/status/", params)

    response = client.post("/webhooks/twilio/voice/", params, headers={"X-Twilio-Signature": signed_for_status})

    assert response.status_code == 403
    assert not TwilioWebhookEvent.objects.exists()


def test_changed_parameters_are_refused(client, account):
    params = sms_params()
    signature = sign(SITE_URL + "/webhooks/twilio/sms/", params)

    response = client.post(
        "/webhooks/twilio/sms/", {**params, "Body": "Something else"}, headers={"X-Twilio-Signature": signature}
    )

    assert response.status_code == 403


def test_the_signature_is_of_our_public_url_not_the_internal_one(client, account):
    params = sms_params()
    with override_settings(SITE_URL="https://support.example.com"):
        internal = post_signed(client, "/webhooks/twilio/sms/", params)  # signed for http://testserver
        public = client.post(
            "/webhooks/twilio/sms/",
            params,
            headers={"X-Twilio-Signature": sign("https://support.example.com/webhooks/twilio/sms/", params)},
        )

    assert internal.status_code == 403
    assert public.status_code == 200


def test_an_unknown_account_is_refused(client, account):
    params = sms_params(AccountSid="AC" + "f" * 32)

    response = post_signed(client, "/webhooks/twilio/sms/", params)

    assert response.status_code == 403


def test_get_is_not_allowed(client, account):
    assert client.get("/webhooks/twilio/sms/").status_code == 405


def test_the_query_string_is_part_of_the_signed_url(client, account):
    params = call_params()
    signed_without_query = sign(SITE_URL + "/webhooks/twilio/voice/", params)

    response = client.post(
        "/webhooks/twilio/voice/?step=dial&next=1", params, headers={"X-Twilio-Signature": signed_without_query}
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "params", "kind"),
    [
        ("/webhooks/twilio/status/", {"MessageSid": "SM1", "MessageStatus": "delivered"}, "status"),
        ("/webhooks/twilio/voice/status/", {"CallSid": "CA1", "CallStatus": "completed"}, "voice_status"),
        ("/webhooks/twilio/recording/", {"CallSid": "CA1", "RecordingSid": "RE1"}, "recording"),
    ],
)
def test_callbacks_are_stored_and_answered_without_content(client, account, path, params, kind):
    response = post_signed(client, path, {"AccountSid": ACCOUNT_SID, **params})

    assert response.status_code == 204
    assert TwilioWebhookEvent.objects.get().kind == kind


def test_each_status_of_a_message_is_kept_once(client, account):
    for status in ("sent", "delivered", "delivered"):
        post_signed(
            client,
            "/webhooks/twilio/status/",
            {"AccountSid": ACCOUNT_SID, "MessageSid": "SM1", "MessageStatus": status},
        )

    assert TwilioWebhookEvent.objects.count() == 2


def parse(response):
    assert response["Content-Type"] == "text/xml"
    return ET.fromstring(response.content)  # noqa: S314 (our own TwiML)


def test_an_incoming_call_without_agents_to_ring_takes_a_voicemail(client, account):
    number = make_twilio_number(account, e164="+14155550100", channel_kind=Channel.Kind.VOICE)

    response = post_signed(client, "/webhooks/twilio/voice/", call_params())

    root = parse(response)
    assert [child.tag for child in root] == ["Say", "Record", "Hangup"]
    assert number.phone_number.entry_point.display_name in root[0].text
    assert root[1].get("recordingStatusCallback") == "http://testserver/webhooks/twilio/recording/"
    assert root[1].get("action") == "http://testserver/webhooks/twilio/voice/?step=recorded"
    call = Call.objects.get()
    assert (call.call_sid, call.from_number, call.to_number) == (
        "CA0123456789abcdef0123456789abcdef",
        "+14155559876",
        "+14155550100",
    )
    assert call.entry_point == number.phone_number.entry_point
    assert TwilioWebhookEvent.objects.get().status == TwilioWebhookEvent.Status.PROCESSED


def test_an_incoming_call_rings_the_agents_when_there_are_some(client, account):
    make_twilio_number(account, e164="+14155550100", channel_kind=Channel.Kind.VOICE)
    plan = mock.patch(
        "channels_app.telephony.calls.call_plan",
        return_value=mock.Mock(
            within_hours=True,
            agent_numbers=["+14155550101", "+14155550102"],
            mode="in_turn",
            greeting_text="",
            recording_url="",
            transcribe=False,
        ),
    )
    with plan:
        first = parse(post_signed(client, "/webhooks/twilio/voice/", call_params()))
        second = parse(
            post_signed(client, "/webhooks/twilio/voice/?step=dial&next=1", call_params(DialCallStatus="no-answer"))
        )

    assert [number.text for number in first[0]] == ["+14155550101"]
    assert first[0][0].get("url").startswith("http://testserver/webhooks/twilio/voice/?step=whisper&entry_point=")
    assert [number.text for number in second[0]] == ["+14155550102"]


def test_the_whisper_names_the_entry_point(client, account):
    number = make_twilio_number(account, e164="+14155550100", channel_kind=Channel.Kind.VOICE)
    entry_point = number.phone_number.entry_point
    path = f"/webhooks/twilio/voice/?step=whisper&entry_point={entry_point.pk}"

    root = parse(post_signed(client, path, call_params(To="+14155550101")))

    assert root[0].text == f"Call from {entry_point.display_name}."


def test_a_call_to_a_number_we_do_not_connect_is_rejected(client, account):
    root = parse(post_signed(client, "/webhooks/twilio/voice/", call_params(To="+14155550999")))

    assert [child.tag for child in root] == ["Reject"]


form_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=50)


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/twilio/sms/",
        "/webhooks/twilio/status/",
        "/webhooks/twilio/voice/",
        "/webhooks/twilio/voice/?step=dial&next=x",
        "/webhooks/twilio/voice/status/",
        "/webhooks/twilio/recording/",
    ],
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(
            ["Body", "From", "To", "MessageSid", "SmsSid", "NumMedia", "MediaUrl0", "MediaContentType0", "CallSid"]
            + ["CallStatus", "DialCallStatus", "MessageStatus", "RecordingSid", "ErrorCode", "Extra"]
        )
        | form_text.filter(bool),
        form_text,
        max_size=12,
    )
)
def test_fuzzed_signed_params_never_cause_a_server_error(client, account, path, params):
    params = {**params, "AccountSid": ACCOUNT_SID}

    response = post_signed(client, path, params)

    assert response.status_code < 500
