"""Call status and recording callbacks kept on the Call."""

from unittest import mock

import pytest
import responses
import time_machine

from channels_app.models import Channel
from channels_app.telephony.calls import store_recording
from channels_app.telephony.models import Call, TwilioWebhookEvent
from channels_app.telephony.tasks import process_event

from .factories import ACCOUNT_SID, make_twilio_number

CALL_SID = "CA0123456789abcdef0123456789abcdef"


@pytest.fixture
def call(db):
    number = make_twilio_number(e164="+14155550100", channel_kind=Channel.Kind.VOICE)
    with time_machine.travel("2026-11-26 09:00:00Z", tick=False):
        return Call.objects.create(
            call_sid=CALL_SID,
            entry_point=number.phone_number.entry_point,
            from_number="+14155559876",
            to_number="+14155550100",
        )


def stored(kind, **params):
    return TwilioWebhookEvent.objects.create(kind=kind, url="http://x.test/", params={"CallSid": CALL_SID, **params})


def test_answered_then_completed(call):
    with time_machine.travel("2026-11-26 09:00:05Z", tick=False):
        process_event(stored("voice_status", CallStatus="in-progress").pk)
    with time_machine.travel("2026-11-26 09:03:05Z", tick=False):
        event = stored("voice_status", CallStatus="completed", CallDuration="185")
        assert process_event(event.pk) == "processed"

    call.refresh_from_db()
    assert call.status == Call.Status.COMPLETED
    assert call.answered_at.isoformat() == "2026-11-26T09:00:05+00:00"
    assert call.ended_at.isoformat() == "2026-11-26T09:03:05+00:00"
    assert call.duration == 185
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 1)


def test_an_ended_call_is_not_reopened_by_a_late_callback(call):
    process_event(stored("voice_status", CallStatus="no-answer", CallDuration="0").pk)
    process_event(stored("voice_status", CallStatus="ringing").pk)

    call.refresh_from_db()
    assert call.status == Call.Status.NO_ANSWER


def test_a_voicemail_recording_is_kept_on_the_call(call):
    event = stored(
        "recording",
        RecordingSid="RE0123456789abcdef0123456789abcdef",
        RecordingStatus="completed",
        RecordingDuration="42",
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE0123456789abcdef0123456789abcdef",
    )

    assert process_event(event.pk) == "processed"

    call.refresh_from_db()
    assert call.voicemail is True
    assert call.recording_sid == "RE0123456789abcdef0123456789abcdef"
    assert call.recording_duration == 42


def test_a_transcription_is_kept_on_the_call(call):
    process_event(stored("recording", TranscriptionStatus="completed", TranscriptionText="Hi, please call me back.").pk)

    call.refresh_from_db()
    assert call.transcription_text == "Hi, please call me back."


def test_a_callback_for_an_unknown_call_is_ignored(call):
    event = TwilioWebhookEvent.objects.create(
        kind="voice_status", url="http://x.test/", params={"CallSid": "CAunknown", "CallStatus": "completed"}
    )

    assert process_event(event.pk) == "ignored"


RECORDING_URL = "https://api.twilio.com/2010-04-01/Accounts/AC0000000000000000000000000000001/Recordings/RE1"


def test_the_voicemail_audio_is_downloaded_into_the_call(call, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    event = stored(
        "recording",
        AccountSid=ACCOUNT_SID,
        RecordingSid="RE1",
        RecordingStatus="completed",
        RecordingUrl=RECORDING_URL,
    )

    with responses.RequestsMock() as mocked:
        mocked.get(RECORDING_URL + ".mp3", body=b"ID3audio", content_type="audio/mpeg")
        with mock.patch(
            "channels_app.telephony.calls.current_app.send_task", lambda name, args: store_recording(*args)
        ):
            with django_capture_on_commit_callbacks(execute=True):
                process_event(event.pk)

    call.refresh_from_db()
    assert call.recording.name.endswith("RE1.mp3")
    assert call.recording.read() == b"ID3audio"


def test_a_recording_that_cannot_be_fetched_now_is_tried_again(call):
    event = stored("recording", AccountSid=ACCOUNT_SID, RecordingSid="RE1", RecordingUrl=RECORDING_URL)

    with responses.RequestsMock() as mocked:
        mocked.get(RECORDING_URL + ".mp3", status=503)
        assert store_recording(event.pk) is False
