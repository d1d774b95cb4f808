"""Small helpers for the telephony tests."""

import itertools

from channels_app.models import Channel, PhoneNumber
from channels_app.services import connect_phone_number
from channels_app.telephony.models import TwilioAccount, TwilioNumber

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "auth-token-secret"

_sequence = itertools.count(1)


def make_twilio_account(**fields):
    fields.setdefault("account_sid", ACCOUNT_SID)
    fields.setdefault("auth_token", AUTH_TOKEN)
    return TwilioAccount.objects.create(**fields)


def make_phone_entry_point(e164=None, channel_kind=Channel.Kind.SMS):
    """A connected number: PhoneNumber + its Entry Point."""
    number = PhoneNumber.objects.create(e164=e164 or f"+1415555{next(_sequence):04d}")
    return connect_phone_number(number, channel_kind)


def make_twilio_number(account=None, e164=None, channel_kind=Channel.Kind.SMS, **fields):
    account = account or TwilioAccount.objects.first() or make_twilio_account()
    entry_point = make_phone_entry_point(e164, channel_kind)
    fields.setdefault("number_sid", f"PN{next(_sequence):032d}")
    return TwilioNumber.objects.create(
        phone_number=entry_point.phone_number, account=account, sms=True, voice=True, **fields
    )
