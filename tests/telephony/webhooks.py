"""Signed Twilio webhook requests, as Twilio sends them."""

from twilio.request_validator import RequestValidator

from .factories import ACCOUNT_SID, AUTH_TOKEN

SITE_URL = "http://testserver"


def sign(url, params, token=AUTH_TOKEN):
    return RequestValidator(token).compute_signature(url, params)


def post_signed(client, path, params, token=AUTH_TOKEN, signed_url=None):
    """POST form params to path with Twilio's signature of signed_url (default: our public URL for path)."""
    signature = sign(signed_url or SITE_URL + path, params, token)
    return client.post(path, params, headers={"X-Twilio-Signature": signature})


def sms_params(body="Hello, is my order shipped?", to="+14155550100", from_="+14155559876", **extra):
    params = {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": "SM0123456789abcdef0123456789abcdef",
        "NumMedia": "0",
        "ToCity": "SAN FRANCISCO",
        "FromZip": "94105",
        "SmsSid": "SM0123456789abcdef0123456789abcdef",
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO",
        "Body": body,
        "FromCountry": "US",
        "To": to,
        "ToZip": "94105",
        "NumSegments": "1",
        "MessageSid": "SM0123456789abcdef0123456789abcdef",
        "AccountSid": ACCOUNT_SID,
        "From": from_,
        "ApiVersion": "2010-04-01",
    }
    params.update(extra)
    return params


def call_params(to="+14155550100", from_="+14155559876", **extra):
    params = {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": "CA0123456789abcdef0123456789abcdef",
        "CallStatus": "ringing",
        "Called": to,
        "Caller": from_,
        "Direction": "inbound",
        "From": from_,
        "FromCountry": "US",
        "To": to,
        "ToCountry": "US",
    }
    params.update(extra)
    return params
