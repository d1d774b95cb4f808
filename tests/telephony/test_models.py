import pytest
from django.db import IntegrityError, connection, transaction

from channels_app.telephony.models import TwilioAccount, TwilioWebhookEvent

from .factories import ACCOUNT_SID, make_twilio_account, make_twilio_number


def test_credentials_are_encrypted_at_rest(db):
    account = make_twilio_account(auth_token="auth-token-secret")

    with connection.cursor() as cursor:
        cursor.execute("SELECT auth_token FROM telephony_twilioaccount WHERE id = %s", [account.pk])
        stored = cursor.fetchone()[0]

    assert "auth-token-secret" not in stored
    assert TwilioAccount.objects.get(pk=account.pk).auth_token == "auth-token-secret"


def test_an_account_needs_its_auth_token_for_webhook_signatures(db):
    with pytest.raises(IntegrityError):
        TwilioAccount.objects.create(account_sid=ACCOUNT_SID, api_key_sid="SK123", api_key_secret="secret")


def test_an_api_key_is_whole_or_absent(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_twilio_account(api_key_sid="SK123")

    assert make_twilio_account(api_key_sid="SK123", api_key_secret="secret").pk


def test_an_account_sid_looks_like_one(db):
    with pytest.raises(IntegrityError):
        make_twilio_account(account_sid="not-a-sid")


def test_record_error_marks_refused_credentials(db):
    account = make_twilio_account()

    account.record_error("Twilio refused the account's credentials.", needs_credentials=True)

    account.refresh_from_db()
    assert account.status == TwilioAccount.Status.NEEDS_CREDENTIALS
    assert account.last_error_at is not None


def test_a_number_links_to_the_phone_number_and_its_entry_point(db):
    number = make_twilio_number(e164="+14155550100")

    assert number.phone_number.twilio_number == number
    assert number.phone_number.entry_point.external_id == "+14155550100"


def test_the_same_incoming_sms_is_stored_once(db):
    TwilioWebhookEvent.objects.create(kind="sms", url="https://x.test/", message_sid="SM1", dedup_key="SM1")

    with pytest.raises(IntegrityError):
        TwilioWebhookEvent.objects.create(kind="sms", url="https://x.test/", message_sid="SM1", dedup_key="SM1")


def test_events_without_a_dedup_key_are_all_kept(db):
    TwilioWebhookEvent.objects.create(kind="voice", url="https://x.test/", call_sid="CA1")
    TwilioWebhookEvent.objects.create(kind="voice", url="https://x.test/", call_sid="CA1")

    assert TwilioWebhookEvent.objects.count() == 2
