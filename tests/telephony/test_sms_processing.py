"""Stored incoming SMS: parsed into the core's IncomingMessage, keywords recorded."""

import datetime as dt
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_app.telephony import sms
from channels_app.telephony.models import SmsKeyword, SmsOptOut, TwilioWebhookEvent
from channels_app.telephony.tasks import process_event
from conversations.inbound import IncomingAttachment

from .factories import make_twilio_number
from .webhooks import sms_params

RECEIVED_AT = dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.UTC)


def test_a_text_becomes_an_incoming_message():
    message = sms.to_incoming_message(sms_params(), RECEIVED_AT)

    assert message.message_id == "SM0123456789abcdef0123456789abcdef"
    assert message.customer_id == "+14155559876"
    assert message.text == "Hello, is my order shipped?"
    assert message.occurred_at == RECEIVED_AT
    assert message.attachments == ()
    assert message.metadata == {"to": "+14155550100", "segments": "1", "from_country": "US"}
    assert message.automated is False


def test_mms_media_become_attachments_with_their_urls():
    params = sms_params(
        body="",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
        MediaContentType1="application/pdf",
    )

    message = sms.to_incoming_message(params, RECEIVED_AT)

    assert message.attachments == (
        IncomingAttachment(
            kind="image",
            url="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
            content_type="image/jpeg",
        ),
        IncomingAttachment(
            kind="file",
            url="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
            content_type="application/pdf",
        ),
    )


@pytest.mark.parametrize("num_media", ["abc", "-3", "", "99"])
def test_a_strange_num_media_reads_what_is_there(num_media):
    params = sms_params(NumMedia=num_media, MediaUrl0="https://api.twilio.com/m", MediaContentType0="video/mp4")

    message = sms.to_incoming_message(params, RECEIVED_AT)

    assert len(message.attachments) == (1 if num_media == "99" else 0)


def test_without_message_sid_or_from_it_is_not_an_sms():
    with pytest.raises(sms.InvalidSms):
        sms.to_incoming_message(sms_params(MessageSid="", SmsSid=""))
    with pytest.raises(sms.InvalidSms):
        sms.to_incoming_message(sms_params(from_=""))


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("STOP", "opt_out"),
        (" stop \n", "opt_out"),
        ("StopAll", "opt_out"),
        ("unsubscribe", "opt_out"),
        ("CANCEL", "opt_out"),
        ("end", "opt_out"),
        ("Quit", "opt_out"),
        ("START", "opt_in"),
        ("yes", "opt_in"),
        ("unstop", "opt_in"),
        ("HELP", "help"),
        ("info", "help"),
        ("please stop", None),
        ("STOP IT", None),
        ("", None),
    ],
)
def test_keywords_are_the_whole_message(body, kind):
    assert sms.keyword_kind(body) == kind


@pytest.fixture
def number(db):
    return make_twilio_number(e164="+14155550100")


@pytest.fixture
def core():
    """Stands in for the core's receive_message where a test looks at what is handed over."""
    with mock.patch.object(sms, "deliver") as deliver:
        yield deliver


def stored(params):
    return TwilioWebhookEvent.objects.create(
        kind="sms", url="http://testserver/webhooks/twilio/sms/", params=params, message_sid=params["MessageSid"]
    )


def test_a_stored_sms_is_handed_to_the_core(number, core):
    event = stored(sms_params())

    assert process_event(event.pk) == "processed"

    entry_point, message = core.call_args.args
    assert entry_point == number.phone_number.entry_point
    assert message.text == "Hello, is my order shipped?"
    assert message.occurred_at == event.received_at
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 1)


def test_a_processed_event_is_not_applied_again(number, core):
    event = stored(sms_params())
    process_event(event.pk)

    assert process_event(event.pk) == "processed"
    assert core.call_count == 1


def test_stop_opts_the_customer_out_and_is_never_auto_answered(number, core):
    event = stored(sms_params(body="Stop"))

    process_event(event.pk)

    entry_point = number.phone_number.entry_point
    assert sms.is_opted_out(entry_point, "+14155559876")
    assert SmsOptOut.objects.get().keyword == "STOP"
    message = core.call_args.args[1]
    assert message.metadata["sms_keyword"] == "opt_out"
    assert message.automated is True


def test_start_opts_the_customer_back_in(number, core):
    process_event(stored(sms_params(body="STOP", MessageSid="SM1")).pk)
    process_event(stored(sms_params(body="START", MessageSid="SM2")).pk)

    assert not sms.is_opted_out(number.phone_number.entry_point, "+14155559876")
    assert list(SmsKeyword.objects.order_by("id").values_list("kind", "keyword")) == [
        ("opt_out", "STOP"),
        ("opt_in", "START"),
    ]


def test_help_is_recorded_and_changes_nothing(number, core):
    process_event(stored(sms_params(body="help")).pk)

    assert SmsKeyword.objects.get().kind == "help"
    assert not SmsOptOut.objects.exists()
    assert core.call_args.args[1].automated is False


def test_an_opt_out_is_per_entry_point(number, core):
    other = make_twilio_number(e164="+14155550111")
    process_event(stored(sms_params(body="STOP")).pk)

    assert not sms.is_opted_out(other.phone_number.entry_point, "+14155559876")


def test_an_sms_to_a_number_we_do_not_connect_is_ignored(number, core):
    event = stored(sms_params(to="+14155550999"))

    assert process_event(event.pk) == "ignored"
    assert not core.called


def test_a_core_failure_is_recorded_on_the_event(number, core):
    core.side_effect = RuntimeError("boom")
    event = stored(sms_params())

    assert process_event(event.pk) == "failed"
    event.refresh_from_db()
    assert "boom" in event.last_error


def test_delivery_status_goes_to_the_core_with_the_reason(number):
    event = TwilioWebhookEvent.objects.create(
        kind="status",
        url="http://testserver/webhooks/twilio/status/",
        message_sid="SM9",
        params={"MessageSid": "SM9", "MessageStatus": "undelivered", "ErrorCode": "30007", "From": "+14155550100"},
    )
    record_delivery = mock.Mock()

    with mock.patch("conversations.inbound.record_delivery", record_delivery, create=True):
        assert process_event(event.pk) == "processed"

    record_delivery.assert_called_once_with(number.phone_number.entry_point, "SM9", "failed", reason=mock.ANY)
    assert "filtered" in record_delivery.call_args.kwargs["reason"]


def test_queued_status_is_not_a_delivery(number):
    event = TwilioWebhookEvent.objects.create(
        kind="status", url="http://x.test/", params={"MessageSid": "SM9", "MessageStatus": "queued"}
    )

    assert process_event(event.pk) == "ignored"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["sms", "status", "voice_status", "recording"]),
    params=st.dictionaries(
        st.sampled_from(
            ["Body", "From", "To", "MessageSid", "NumMedia", "MediaUrl0", "MediaContentType0", "CallSid", "CallStatus"]
            + ["CallDuration", "MessageStatus", "ErrorCode", "RecordingSid", "RecordingDuration", "TranscriptionStatus"]
        ),
        st.one_of(st.text(max_size=30), st.sampled_from(["+14155550100", "+14155559876", "completed", "1", "-1"])),
    ),
)
def test_processing_fuzzed_events_never_raises(number, core, kind, params):
    event = TwilioWebhookEvent.objects.create(kind=kind, url="http://x.test/", params=params)

    assert process_event(event.pk) in {"processed", "ignored", "failed", "received"}
