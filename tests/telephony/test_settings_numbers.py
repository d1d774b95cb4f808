"""Settings › Phone numbers: account connected, numbers searched, bought, imported, connected, released.

Twilio's REST API is mocked at the HTTP level with `responses`."""

import json
import re
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses
from django.urls import reverse

from channels_app.models import Channel, PhoneNumber
from channels_app.telephony.models import TwilioAccount, TwilioNumber

from .factories import ACCOUNT_SID, AUTH_TOKEN, make_twilio_account, make_twilio_number

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "twilio"
API = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}"
LIST = reverse("admin:channels_app_phonenumber_changelist")


def fixture(name, **changes):
    data = json.loads((FIXTURES / name).read_text())
    data.update(changes)
    return data


@pytest.fixture
def mocked():
    with responses.RequestsMock() as mock:
        yield mock


def owned(e164="+14155550123", sid="PN" + "1" * 32):
    return fixture("incoming_phone_number.json", phone_number=e164, sid=sid, account_sid=ACCOUNT_SID)


def test_connecting_an_account_checks_the_credentials_with_one_call(admin_client, mocked):
    mocked.get(f"{API}.json", json={"sid": ACCOUNT_SID, "friendly_name": "Acme support", "status": "active"})

    response = admin_client.post(
        reverse("admin:telephony_twilioaccount_add"), {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}
    )

    assert response.status_code == 302
    account = TwilioAccount.objects.get()
    assert account.friendly_name == "Acme support"
    assert account.auth_token == AUTH_TOKEN
    assert len(mocked.calls) == 1


def test_refused_credentials_are_not_kept(admin_client, mocked):
    mocked.get(f"{API}.json", json={"code": 20003, "message": "Authenticate", "status": 401}, status=401)

    response = admin_client.post(
        reverse("admin:telephony_twilioaccount_add"), {"account_sid": ACCOUNT_SID, "auth_token": "wrong"}
    )

    assert response.status_code == 200
    assert "Twilio refused these credentials" in response.content.decode()
    assert not TwilioAccount.objects.exists()


def test_search_shows_available_numbers_formatted_with_buy_buttons(admin_client, db, mocked):
    make_twilio_account()
    mocked.get(f"{API}/AvailablePhoneNumbers/US/Local.json", json=fixture("available_local.json"))

    response = admin_client.get(
        reverse("admin:telephony_number_search"),
        {"account": TwilioAccount.objects.get().pk, "country": "us", "area_code": "415", "sms": "on"},
    )

    page = response.content.decode()
    assert "+1 415-555-0123" in page
    assert 'value="+14155550123"' in page
    assert parse_qs(mocked.calls[0].request.url.split("?", 1)[1])["AreaCode"] == ["415"]


def test_buying_holds_the_number(admin_client, db, mocked):
    account = make_twilio_account()
    mocked.post(f"{API}/IncomingPhoneNumbers.json", json=owned(), status=201)

    response = admin_client.post(reverse("admin:telephony_number_buy"), {"account": account.pk, "e164": "+14155550123"})

    number = PhoneNumber.objects.get()
    assert number.e164 == "+14155550123"
    assert number.status == PhoneNumber.Status.HELD
    assert number.twilio_number.number_sid == "PN" + "1" * 32
    assert response["Location"] == reverse("admin:telephony_number_connect", args=[number.pk])


def test_import_holds_numbers_the_account_owns(admin_client, db, mocked):
    account = make_twilio_account()
    page = {"incoming_phone_numbers": [owned(), owned("+14155550124", "PN" + "2" * 32)], "next_page_uri": None}
    mocked.get(f"{API}/IncomingPhoneNumbers.json", json=page)

    assert "+1 415-555-0124" in admin_client.get(reverse("admin:telephony_number_import")).content.decode()
    admin_client.post(reverse("admin:telephony_number_import"), {"account": account.pk, "sid": ["PN" + "2" * 32]})

    assert list(PhoneNumber.objects.values_list("e164", flat=True)) == ["+14155550124"]


def test_connecting_creates_both_entry_points_and_points_twilio_at_us(admin_client, db, mocked):
    held = PhoneNumber.objects.create(e164="+14155550123")
    number = TwilioNumber.objects.create(
        phone_number=held, account=make_twilio_account(), number_sid="PN" + "1" * 32, sms=True, voice=True
    )
    mocked.post(re.compile(rf"{API}/IncomingPhoneNumbers/PN\w+\.json"), json=owned())

    response = admin_client.post(
        reverse("admin:telephony_number_connect", args=[number.phone_number.pk]), {"sms": "on", "voice": "on"}
    )

    assert response.status_code == 302
    phone = PhoneNumber.objects.get()
    assert phone.status == PhoneNumber.Status.CONNECTED
    assert {ep.channel.kind for ep in phone.entry_points()} == {Channel.Kind.SMS, Channel.Kind.VOICE}
    sent = parse_qs(mocked.calls[0].request.body)
    assert sent["SmsUrl"] == ["http://testserver/webhooks/twilio/sms/"]
    assert sent["VoiceUrl"] == ["http://testserver/webhooks/twilio/voice/"]
    assert sent["StatusCallback"] == ["http://testserver/webhooks/twilio/voice/status/"]


def test_release_asks_first_and_says_what_stops(admin_client, db):
    number = make_twilio_number(e164="+14155550123")

    page = admin_client.get(reverse("admin:telephony_number_release", args=[number.phone_number.pk])).content.decode()

    assert "Customers texting +1 415-555-0123 reach nobody" in page
    assert "Twilio takes the number back" in page
    assert PhoneNumber.objects.exists()


def test_release_gives_the_number_back_and_pauses_its_entry_point(admin_client, db, mocked):
    number = make_twilio_number(e164="+14155550123")
    entry_point = number.phone_number.entry_point
    mocked.delete(f"{API}/IncomingPhoneNumbers/{number.number_sid}.json", status=204)

    admin_client.post(reverse("admin:telephony_number_release", args=[number.phone_number.pk]))

    entry_point.refresh_from_db()
    assert not PhoneNumber.objects.exists()
    assert not TwilioNumber.objects.exists()
    assert entry_point.active is False


def test_the_list_shows_numbers_formatted(admin_client, db):
    make_twilio_number(e164="+14155550123")

    page = admin_client.get(LIST).content.decode()

    assert "+1 415-555-0123" in page
    assert "Buy a number" in page


def test_a_connected_numbers_call_settings_are_edited_on_its_page(admin_client, db):
    number = make_twilio_number(e164="+14155550100", channel_kind=Channel.Kind.VOICE).phone_number
    url = reverse("admin:channels_app_phonenumber_change", args=[number.pk])
    page = admin_client.get(url).content.decode()
    assert "Ring available agents one after another" in page

    response = admin_client.post(
        url,
        {
            "label": "Support line",
            "ring_mode": "in_turn",
            "voicemail_greeting": "We are closed today.",
            "transcribe_voicemail": "",
        },
    )

    assert response.status_code == 302
    number.refresh_from_db()
    assert (number.ring_mode, number.voicemail_greeting, number.transcribe_voicemail) == (
        "in_turn",
        "We are closed today.",
        False,
    )
    assert number.e164 == "+14155550100"  # connected: the number itself can't change


def test_an_unknown_ring_mode_is_refused(admin_client, db):
    number = make_twilio_number(e164="+14155550100", channel_kind=Channel.Kind.VOICE).phone_number
    url = reverse("admin:channels_app_phonenumber_change", args=[number.pk])

    response = admin_client.post(url, {"label": "", "ring_mode": "everyone-twice", "voicemail_greeting": ""})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    number.refresh_from_db()
    assert number.ring_mode == "simultaneous"
