"""TwilioProvider against Twilio's REST API, mocked at the HTTP level with `responses`."""

import base64
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from channels_app.telephony.provider import Capabilities, ProviderError, TwilioProvider

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "twilio"
ACCOUNT_SID = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
AUTH_TOKEN = "auth-token-secret"
API = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}"
NUMBER_SID = "PNXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


def form(call):
    return {key: values if len(values) > 1 else values[0] for key, values in parse_qs(call.request.body).items()}


def query(call):
    return {key: values[0] for key, values in parse_qs(urlsplit(call.request.url).query).items()}


def basic_auth(call):
    return base64.b64decode(call.request.headers["Authorization"].split()[1]).decode()


def twilio_error(status, code, message="Twilio says no"):
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@pytest.fixture
def provider():
    return TwilioProvider(ACCOUNT_SID, auth_token=AUTH_TOKEN)


@pytest.fixture
def mocked():
    with responses.RequestsMock() as mock:
        yield mock


def test_search_asks_for_local_numbers_with_the_filters(provider, mocked):
    mocked.get(f"{API}/AvailablePhoneNumbers/US/Local.json", json=fixture("available_local.json"))

    found = provider.search_available("us", area_code="415", contains="555", sms=True, voice=True)

    assert [number.e164 for number in found] == ["+14155550123", "+14155550199"]
    assert found[0].capabilities == Capabilities(sms=True, voice=True, mms=True)
    assert found[0].locality == "San Francisco"
    assert query(mocked.calls[0]) == {
        "AreaCode": "415",
        "Contains": "555",
        "SmsEnabled": "true",
        "VoiceEnabled": "true",
        "PageSize": "30",
    }
    assert basic_auth(mocked.calls[0]) == f"{ACCOUNT_SID}:{AUTH_TOKEN}"


def test_search_reads_capabilities_in_either_spelling(provider, mocked):
    mocked.get(f"{API}/AvailablePhoneNumbers/US/Local.json", json=fixture("available_local.json"))

    found = provider.search_available("US", sms=False, voice=False)

    assert found[1].capabilities == Capabilities(sms=False, voice=True, mms=False)
    assert "SmsEnabled" not in query(mocked.calls[0])


def test_buy_returns_the_owned_number(provider, mocked):
    mocked.post(f"{API}/IncomingPhoneNumbers.json", json=fixture("incoming_phone_number.json"), status=201)

    owned = provider.buy("+14155550123")

    assert owned.sid == NUMBER_SID
    assert owned.e164 == "+14155550123"
    assert owned.capabilities == Capabilities(sms=True, voice=True, mms=True)
    assert form(mocked.calls[0]) == {"PhoneNumber": "+14155550123"}


def test_list_owned(provider, mocked):
    page = {
        "incoming_phone_numbers": [fixture("incoming_phone_number.json")],
        "next_page_uri": None,
        "page": 0,
        "page_size": 50,
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers.json",
    }
    mocked.get(f"{API}/IncomingPhoneNumbers.json", json=page)

    owned = provider.list_owned()

    assert [(number.sid, number.e164) for number in owned] == [(NUMBER_SID, "+14155550123")]


def test_configure_points_the_number_at_our_webhooks(provider, mocked):
    mocked.post(f"{API}/IncomingPhoneNumbers/{NUMBER_SID}.json", json=fixture("incoming_phone_number.json"))

    provider.configure(
        NUMBER_SID,
        sms_url="https://support.example.com/webhooks/twilio/sms/",
        voice_url="https://support.example.com/webhooks/twilio/voice/",
        status_callback="https://support.example.com/webhooks/twilio/voice/status/",
    )

    sent = form(mocked.calls[0])
    assert sent["SmsUrl"] == "https://support.example.com/webhooks/twilio/sms/"
    assert sent["VoiceUrl"] == "https://support.example.com/webhooks/twilio/voice/"
    assert sent["StatusCallback"] == "https://support.example.com/webhooks/twilio/voice/status/"
    assert sent["SmsMethod"] == sent["VoiceMethod"] == "POST"


def test_release_deletes_the_number(provider, mocked):
    mocked.delete(f"{API}/IncomingPhoneNumbers/{NUMBER_SID}.json", status=204)

    provider.release(NUMBER_SID)

    assert mocked.calls[0].request.method == "DELETE"


def test_send_sms_returns_the_message_sid(provider, mocked):
    mocked.post(f"{API}/Messages.json", json=fixture("message.json"), status=201)

    sid = provider.send_sms(
        "+14155550123",
        "+14155559876",
        "Thanks for writing, we are on it.",
        media_urls=["https://support.example.com/media/a.jpg", "https://support.example.com/media/b.jpg"],
        status_callback="https://support.example.com/webhooks/twilio/status/",
    )

    assert sid == "SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    sent = form(mocked.calls[0])
    assert sent["From"] == "+14155550123"
    assert sent["To"] == "+14155559876"
    assert sent["Body"] == "Thanks for writing, we are on it."
    assert sent["MediaUrl"] == ["https://support.example.com/media/a.jpg", "https://support.example.com/media/b.jpg"]
    assert sent["StatusCallback"] == "https://support.example.com/webhooks/twilio/status/"


def test_call_returns_the_call_sid(provider, mocked):
    mocked.post(f"{API}/Calls.json", json=fixture("call.json"), status=201)

    sid = provider.call("+14155559876", "+14155550123", "https://support.example.com/webhooks/twilio/voice/")

    assert sid == "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    assert form(mocked.calls[0]) == {
        "To": "+14155559876",
        "From": "+14155550123",
        "Url": "https://support.example.com/webhooks/twilio/voice/",
    }


def test_an_api_key_authenticates_instead_of_the_auth_token(mocked):
    mocked.post(f"{API}/Messages.json", json=fixture("message.json"), status=201)
    provider = TwilioProvider(ACCOUNT_SID, api_key_sid="SKXXXXXXXX", api_key_secret="key-secret")

    provider.send_sms("+14155550123", "+14155559876", "Hi")

    assert basic_auth(mocked.calls[0]) == "SKXXXXXXXX:key-secret"
    assert mocked.calls[0].request.url.startswith(API)


@pytest.mark.parametrize(
    ("status", "code", "words", "transient"),
    [
        (400, 21211, "not a valid phone number", False),
        (400, 21610, "unsubscribed", False),
        (400, 21408, "region is not enabled", False),
        (400, 21614, "not a mobile number", False),
        (400, 30003, "unreachable", False),
        (400, 30005, "unknown", False),
        (400, 30006, "landline", False),
        (400, 30007, "filtered", False),
        (401, 20003, "authentication", False),
        (429, 20429, "Too many requests", True),
        (503, 20500, "trouble", True),
        (400, 99999, "refused the request", False),
    ],
)
def test_twilio_errors_become_provider_errors_in_plain_words(provider, mocked, status, code, words, transient):
    mocked.post(f"{API}/Messages.json", json=twilio_error(status, code), status=status)

    with pytest.raises(ProviderError) as raised:
        provider.send_sms("+14155550123", "+1415555", "Hi")

    assert raised.value.code == code
    assert words in raised.value.message
    assert raised.value.transient is transient


def test_a_timeout_is_transient(provider, mocked):
    mocked.post(f"{API}/Calls.json", body=requests.ConnectTimeout("slow"))

    with pytest.raises(ProviderError) as raised:
        provider.call("+14155559876", "+14155550123", "https://support.example.com/webhooks/twilio/voice/")

    assert raised.value.transient is True
    assert raised.value.code is None


MEDIA_URL = f"{API}/Messages/MMXXXXXXXX/Media/MEXXXXXXXX"
CDN_URL = "https://s3-external-1.mms.twiliocdn.com/ACXXXX/abc123"


def test_fetch_media_follows_twilio_redirect_to_the_cdn_without_credentials(provider, mocked):
    mocked.get(MEDIA_URL, status=307, headers={"Location": CDN_URL})
    mocked.get(CDN_URL, body=b"\xff\xd8\xffjpeg", content_type="image/jpeg")

    media = provider.fetch_media(MEDIA_URL)

    assert media.content == b"\xff\xd8\xffjpeg"
    assert media.content_type == "image/jpeg"
    assert basic_auth(mocked.calls[0]) == f"{ACCOUNT_SID}:{AUTH_TOKEN}"
    assert "Authorization" not in mocked.calls[1].request.headers


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/media.jpg",
        "http://api.twilio.com/2010-04-01/Accounts/AC/Media/ME",
        "https://api.twilio.com.evil.example.com/x",
        "https://twiliocdn.com.evil.example.com/x",
    ],
)
def test_fetch_media_refuses_hosts_that_are_not_twilio(provider, mocked, url):
    with pytest.raises(ProviderError, match="not Twilio's"):
        provider.fetch_media(url)

    assert len(mocked.calls) == 0


def test_fetch_media_refuses_a_redirect_away_from_twilio(provider, mocked):
    mocked.get(MEDIA_URL, status=302, headers={"Location": "https://evil.example.com/steal"})

    with pytest.raises(ProviderError, match="not Twilio's"):
        provider.fetch_media(MEDIA_URL)

    assert len(mocked.calls) == 1


def test_fetch_media_server_error_is_transient(provider, mocked):
    mocked.get(MEDIA_URL, status=502)

    with pytest.raises(ProviderError) as raised:
        provider.fetch_media(MEDIA_URL)

    assert raised.value.transient is True
