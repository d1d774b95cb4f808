"""The sandbox playing Twilio: its REST API for TWILIO_API_BASE, and the simulator's signed texts and calls."""

import base64
from unittest import mock

import pytest

from channels_app.models import Channel, PhoneNumber
from channels_app.services import connect_phone_number
from channels_app.telephony import calls
from channels_app.telephony.models import Call, TwilioAccount, TwilioNumber, TwilioWebhookEvent
from channels_app.telephony.tasks import process_event
from conversations.models import Attachment, TimelineItem
from sandbox import twilio_calls
from sandbox.models import SandboxSms, SandboxTwilioNumber, SandboxTwilioSettings
from tests.factories import make_inbox
from tests.telephony.factories import ACCOUNT_SID, AUTH_TOKEN, make_twilio_account

pytestmark = pytest.mark.django_db
API = f"/sandbox/twilio/2010-04-01/Accounts/{ACCOUNT_SID}"
AUTH = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()}


def test_search_buy_list_configure_release(client):
    found = client.get(f"{API}/AvailablePhoneNumbers/US/Local.json", {"AreaCode": "415"}, **AUTH).json()
    first = found["available_phone_numbers"][0]["phone_number"]
    assert first.startswith("+1415555")

    bought = client.post(f"{API}/IncomingPhoneNumbers.json", {"PhoneNumber": first}, **AUTH)
    assert bought.status_code == 201
    sid = bought.json()["sid"]
    assert [
        n["sid"] for n in client.get(f"{API}/IncomingPhoneNumbers.json", **AUTH).json()["incoming_phone_numbers"]
    ] == [sid]

    client.post(f"{API}/IncomingPhoneNumbers/{sid}.json", {"SmsUrl": "http://testserver/webhooks/twilio/sms/"}, **AUTH)
    assert SandboxTwilioNumber.objects.get().sms_url == "http://testserver/webhooks/twilio/sms/"

    assert client.delete(f"{API}/IncomingPhoneNumbers/{sid}.json", **AUTH).status_code == 204
    assert not SandboxTwilioNumber.objects.exists()


def test_a_suspended_account_is_refused_with_20003(client):
    SandboxTwilioSettings.objects.create(pk=1, suspended=True)

    response = client.get(f"{API}.json", **AUTH)

    assert response.status_code == 401
    assert response.json()["code"] == 20003


def test_a_text_is_recorded_and_its_status_callbacks_posted(client):
    with mock.patch("sandbox.twilio_api.post_twilio_webhook.apply_async") as later:
        response = client.post(
            f"{API}/Messages.json",
            {"From": "+14155550100", "To": "+14155550142", "Body": "Hi", "StatusCallback": "http://x/status/"},
            **AUTH,
        )

    assert response.status_code == 201
    assert SandboxSms.objects.get().body == "Hi"
    statuses = [call.kwargs["args"][1]["MessageStatus"] for call in later.call_args_list]
    assert statuses == ["sent", "delivered"]


def test_undelivered_toggle_ends_texts_with_30003(client):
    SandboxTwilioSettings.objects.create(pk=1, undelivered=True)
    with mock.patch("sandbox.twilio_api.post_twilio_webhook.apply_async") as later:
        client.post(f"{API}/Messages.json", {"From": "+1", "To": "+2", "StatusCallback": "http://x/"}, **AUTH)

    assert later.call_args_list[-1].kwargs["args"][1]["ErrorCode"] == "30003"


@pytest.fixture
def connected(client, settings, tmp_path):
    """A sandbox number connected to SMS and Voice; the sandbox's webhooks go through the test client."""
    settings.MEDIA_ROOT = tmp_path
    settings.TWILIO_API_BASE = "http://testserver/sandbox/twilio"
    make_twilio_account()
    make_inbox("Phones", kind=Channel.Kind.SMS, default=True)
    make_inbox("Calls", kind=Channel.Kind.VOICE, default=True)
    number = SandboxTwilioNumber.objects.create(
        sid="PN" + "1" * 32,
        account_sid=ACCOUNT_SID,
        e164="+14155550100",
        sms_url="http://testserver/webhooks/twilio/sms/",
        voice_url="http://testserver/webhooks/twilio/voice/",
        status_callback="http://testserver/webhooks/twilio/voice/status/",
    )

    phone = PhoneNumber.objects.create(e164="+14155550100")
    TwilioNumber.objects.create(
        phone_number=phone, account=TwilioAccount.objects.get(), number_sid=number.sid, sms=True, voice=True
    )
    connect_phone_number(phone, Channel.Kind.SMS)
    connect_phone_number(phone, Channel.Kind.VOICE)

    def post(url, data=None, headers=None, timeout=None):
        path = url.replace("http://testserver", "")
        return client.post(path, data, headers=headers)

    with mock.patch("sandbox.twilio_calls.requests.post", post):
        yield number


def process_stored():
    for event in TwilioWebhookEvent.objects.filter(status="received").order_by("received_at", "id"):
        process_event(event.pk)


def test_the_simulator_texts_with_a_valid_signature(connected):
    sms = twilio_calls.send_sms(connected, "+14155550142", "Is my order shipped?")
    process_stored()

    assert sms.status == "received"
    item = TimelineItem.objects.get()
    assert item.text == "Is my order shipped?"
    assert item.entry_point.channel.kind == Channel.Kind.SMS


def test_a_simulated_call_nobody_answers_leaves_a_playable_voicemail(
    connected, client, django_capture_on_commit_callbacks
):
    class Fetched:
        def __init__(self, response):
            self.status_code = response.status_code
            self.is_redirect = False
            self.headers = {"Content-Type": response["Content-Type"]}
            self.content = response.content

        def iter_content(self, size):
            return [self.content]

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fetch_from_sandbox(url, auth=None, timeout=None, allow_redirects=False, stream=True):
        assert auth == (ACCOUNT_SID, AUTH_TOKEN)  # the account's credentials go to the API host only
        return Fetched(client.get(url.replace("http://testserver", ""), HTTP_AUTHORIZATION=AUTH["HTTP_AUTHORIZATION"]))

    with mock.patch("channels_app.telephony.provider.requests.get", fetch_from_sandbox):
        log = twilio_calls.place_call(connected, "+14155550142")
        with mock.patch(
            "channels_app.telephony.calls.current_app.send_task", lambda name, args: calls.store_recording(*args)
        ):
            with django_capture_on_commit_callbacks(execute=True):
                process_stored()

    assert log == ["Heard the greeting and left a voicemail.", "The app hung up."]
    call = Call.objects.get()
    assert call.voicemail is True
    item = TimelineItem.objects.get(kind=TimelineItem.Kind.CUSTOMER_MESSAGE)
    assert item.entry_point.channel.kind == Channel.Kind.VOICE
    assert Attachment.objects.get().content_type in ("audio/x-wav", "audio/wav")
