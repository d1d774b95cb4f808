"""Calls in the Voice Channel: who is rung, and each call as an item of the customer's conversation."""

import io
import wave
from unittest import mock
from urllib.parse import parse_qs

import pytest
import responses
from django.test import override_settings

from channels_app.models import Channel, PhoneNumber
from channels_app.telephony import calls
from channels_app.telephony.models import Call, TwilioWebhookEvent
from channels_app.telephony.tasks import process_event
from conversations.models import Attachment, Conversation, SlaPeriod, TimelineItem
from inbox.forms import e164
from tests.factories import make_available, make_customer, make_inbox, make_user

from .factories import ACCOUNT_SID, make_twilio_number

pytestmark = pytest.mark.django_db
CALL_SID = "CA" + "1" * 32
CALLER = "+14155559876"
RECORDING_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE1"


def wav_bytes(seconds=1):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(b"\x80" * 8000 * seconds)
    return buffer.getvalue()


@pytest.fixture
def inbox():
    return make_inbox("Phones", kind=Channel.Kind.VOICE, default=True)


@pytest.fixture
def entry_point(inbox):
    return make_twilio_number(e164="+14155550100", channel_kind=Channel.Kind.VOICE).phone_number.entry_point


def agent(inbox, phone="+14155550001", available=True, name="Ada"):
    user = make_user(phone_number=phone)
    user.first_name = name
    user.save()
    inbox.memberships.create(user=user)
    if available:
        make_available(user, Channel.Kind.VOICE)
    return user


def test_the_plan_rings_available_agents_of_the_numbers_inbox_who_have_a_phone(inbox, entry_point):
    agent(inbox, "+14155550001")
    agent(inbox, "+14155550002", available=False)
    agent(inbox, "")
    agent(make_inbox(kind=Channel.Kind.VOICE), "+14155550003")

    plan = calls.call_plan(entry_point)

    assert plan.agent_numbers == ["+14155550001"]
    assert plan.mode == "simultaneous"


def test_ringing_in_turn_is_the_numbers_own_setting(inbox, entry_point):
    other = make_twilio_number(e164="+14155550199", channel_kind=Channel.Kind.VOICE).phone_number
    PhoneNumber.objects.filter(e164="+14155550100").update(ring_mode=PhoneNumber.RingMode.IN_TURN)

    assert calls.call_plan(entry_point).mode == "in_turn"
    assert calls.call_plan(other.entry_point).mode == "simultaneous"


@override_settings(VOICE_RING_MODE="in_turn")
def test_voice_ring_mode_is_the_default_for_new_numbers(inbox):
    number = make_twilio_number(e164="+14155550199", channel_kind=Channel.Kind.VOICE).phone_number

    assert number.ring_mode == "in_turn"
    assert calls.call_plan(number.entry_point).mode == "in_turn"


def test_the_numbers_voicemail_greeting_and_transcription_are_used_when_nobody_answers(inbox, entry_point):
    PhoneNumber.objects.filter(e164="+14155550100").update(
        voicemail_greeting="Acme Support is closed for the holidays.", transcribe_voicemail=False
    )

    twiml = calls.answer("", {}, {"CallSid": CALL_SID, "From": CALLER, "To": "+14155550100"})

    assert "<Say>Acme Support is closed for the holidays.</Say>" in twiml
    assert "<Record" in twiml and "transcribe" not in twiml


def test_an_incoming_call_rings_the_agents_with_the_whisper(inbox, entry_point):
    agent(inbox, "+14155550001")

    twiml = calls.answer("", {}, {"CallSid": CALL_SID, "From": CALLER, "To": "+14155550100"})

    assert "<Dial" in twiml
    assert "+14155550001</Number>" in twiml
    assert "step=whisper" in twiml


def start_call():
    calls.answer("", {}, {"CallSid": CALL_SID, "From": CALLER, "To": "+14155550100", "CallStatus": "ringing"})
    return Call.objects.get()


def test_an_answered_call_is_an_item_that_answers_the_customer(inbox, entry_point):
    ada = agent(inbox, "+14155550001")
    start_call()
    # The customer texted earlier: a running SLA period in their Voice conversation is satisfied by the call.
    calls.answer("whisper", {"entry_point": entry_point.pk}, {"ParentCallSid": CALL_SID, "To": "+14155550001"})

    twiml = calls.answer(
        "dial",
        {},
        {"CallSid": CALL_SID, "To": "+14155550100", "DialCallStatus": "completed", "DialCallDuration": "192"},
    )

    assert "<Hangup" in twiml
    item = TimelineItem.objects.get(kind=TimelineItem.Kind.CALL)
    assert item.text == "Call answered by Ada, 3 min 12 s"
    assert item.author == ada
    assert item.conversation.customer.identities.get().external_id == CALLER
    assert Call.objects.get().answered_by == ada
    assert Call.objects.get().conversation_id == item.conversation_id


def test_an_answered_call_satisfies_the_running_sla(inbox, entry_point):
    agent(inbox, "+14155550001")
    start_call()
    with mock.patch("channels_app.telephony.calls.transaction.on_commit", lambda fn, **kwargs: fn()):
        voicemail_first = Call.objects.create(
            call_sid="CA" + "2" * 32, entry_point=entry_point, from_number=CALLER, to_number="+14155550100"
        )
        voicemail_first.recording.save("x.wav", io.BytesIO(wav_bytes()), save=True)
        calls.deliver_voicemail(voicemail_first)
    period = SlaPeriod.objects.get()
    assert period.satisfied_at is None

    calls.answer("whisper", {}, {"ParentCallSid": CALL_SID, "To": "+14155550001"})
    calls.answer("dial", {}, {"CallSid": CALL_SID, "To": "+14155550100", "DialCallStatus": "completed"})

    period.refresh_from_db()
    assert period.satisfied_by.kind == TimelineItem.Kind.CALL


def test_a_voicemail_is_a_customer_message_with_the_recording_playable(
    entry_point, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    start_call()
    event = TwilioWebhookEvent.objects.create(
        kind="recording",
        url="http://x.test/",
        params={
            "CallSid": CALL_SID,
            "AccountSid": ACCOUNT_SID,
            "RecordingSid": "RE1",
            "RecordingStatus": "completed",
            "RecordingDuration": "12",
            "RecordingUrl": RECORDING_URL,
        },
    )
    with responses.RequestsMock() as mocked:
        mocked.get(RECORDING_URL + ".mp3", body=wav_bytes(), content_type="audio/x-wav")
        with mock.patch(
            "channels_app.telephony.calls.current_app.send_task", lambda name, args: calls.store_recording(*args)
        ):
            with django_capture_on_commit_callbacks(execute=True):
                process_event(event.pk)

    item = TimelineItem.objects.get()
    assert item.kind == TimelineItem.Kind.CUSTOMER_MESSAGE
    assert item.text == "Voicemail, 12 s."
    attachment = Attachment.objects.get()
    assert attachment.kind == "audio"
    assert attachment.content_type in ("audio/x-wav", "audio/wav")
    assert Conversation.objects.get().last_customer_message_at is not None
    assert SlaPeriod.objects.filter(conversation=item.conversation).exists() or item.conversation.inbox is None

    process_event(
        TwilioWebhookEvent.objects.create(
            kind="recording",
            url="http://x.test/",
            params={"CallSid": CALL_SID, "TranscriptionStatus": "completed", "TranscriptionText": "Call me back."},
        ).pk
    )
    item.refresh_from_db()
    assert item.text == "Voicemail, 12 s. “Call me back.”"


def test_the_timeline_plays_the_voicemail_and_shows_the_call(
    admin_client, admin_user, inbox, entry_point, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    inbox.memberships.create(user=admin_user)
    call = start_call()
    call.recording.save("v.wav", io.BytesIO(wav_bytes()), save=True)
    received = calls.deliver_voicemail(call)

    page = admin_client.get(f"/inbox/c/{received.item.conversation_id}/").content.decode()

    assert "<audio" in page
    assert "Voicemail, 0 s." in page


def test_an_agents_phone_is_stored_e164_from_settings_users(admin_client):
    user = make_user()
    page = admin_client.get(f"/settings/inbox/user/{user.pk}/change/").content.decode()
    assert 'name="phone_number"' in page

    assert e164("(415) 555-0101") == "+14155550101"
    assert e164("") == ""
    with pytest.raises(Exception, match="not a"):
        e164("12")


def test_call_back_rings_the_agents_phone_then_bridges_to_the_customer(client, inbox, entry_point):
    ada = agent(inbox, "+14155550001")
    call = start_call()
    conversation = Conversation.objects.create(
        customer=make_customer_for(entry_point), entry_point=entry_point, inbox=inbox
    )
    client.force_login(ada)
    api = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    with responses.RequestsMock() as mocked:
        mocked.post(api, json={"sid": "CA" + "9" * 32, "status": "queued"}, status=201)
        response = client.post(f"/phone/c/{conversation.pk}/call-back/")
        sent = parse_qs(mocked.calls[0].request.body)

    assert "Calling your phone +1 415-555-0001" in response.content.decode()
    assert sent["To"] == ["+14155550001"]
    assert sent["From"] == ["+14155550100"]
    outbound_call = Call.objects.get(direction=Call.Direction.OUTBOUND)
    assert outbound_call.call_sid == "CA" + "9" * 32
    twiml = calls.answer("bridge", {"call": str(outbound_call.pk)}, {})
    assert '<Dial callerId="+14155550100"' in twiml
    assert f"{CALLER}</Number>" in twiml
    assert call.pk != outbound_call.pk


def test_call_back_needs_the_agents_phone(client, inbox, entry_point):
    ada = agent(inbox, "")
    conversation = Conversation.objects.create(
        customer=make_customer_for(entry_point), entry_point=entry_point, inbox=inbox
    )
    client.force_login(ada)

    response = client.post(f"/phone/c/{conversation.pk}/call-back/")

    assert "Add your phone number" in response.content.decode()


def make_customer_for(entry_point):
    return make_customer(entry_point, external_id=CALLER)


def test_a_transcription_callback_does_not_reset_the_recording(entry_point):
    call = start_call()
    Call.objects.filter(pk=call.pk).update(recording_sid="RE1", recording_duration=12, voicemail=True)
    params = {
        "CallSid": CALL_SID,
        "RecordingSid": "RE1",
        "RecordingUrl": RECORDING_URL,
        "TranscriptionSid": "TR1",
        "TranscriptionStatus": "completed",
        "TranscriptionText": "Call me.",
    }
    with mock.patch("channels_app.telephony.calls.current_app.send_task") as download:
        process_event(TwilioWebhookEvent.objects.create(kind="recording", url="http://x.test/", params=params).pk)

    call.refresh_from_db()
    assert call.recording_duration == 12
    assert call.transcription_text == "Call me."
    download.assert_not_called()
