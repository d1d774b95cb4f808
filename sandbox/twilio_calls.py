"""The sandbox's Twilio calling our app: signed SMS and voice webhooks, and following the TwiML we answer.

A call plays like this: the app's voice URL answers with TwiML. A <Dial> rings
the agents' phones, which the sandbox cannot pick up, so it reports
no-answer to the <Dial>'s action; a <Record> is a voicemail: the sandbox posts
the recording callback (its small WAV at Recordings/<sid>.mp3) and the
<Record>'s action; then the call's status, completed.
"""

import uuid
from xml.etree import ElementTree

import requests
from django.conf import settings
from twilio.request_validator import RequestValidator

from channels_app.telephony.models import TwilioAccount

from .models import SandboxSms, SandboxTwilioNumber

MAX_STEPS = 6


def post_signed(url: str, params: dict) -> requests.Response:
    """POST form params to url, signed over url with the auth token of params['AccountSid'], as Twilio does."""
    account = TwilioAccount.objects.filter(account_sid=params.get("AccountSid", "")).first()
    token = account.auth_token if account else ""
    signature = RequestValidator(token).compute_signature(url, params)
    return requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=15)


def send_sms(number: SandboxTwilioNumber, customer: str, body: str) -> SandboxSms:
    sms = SandboxSms.objects.create(
        sid="SM" + uuid.uuid4().hex, direction="inbound", from_number=customer, to_number=number.e164, body=body
    )
    params = {
        "AccountSid": number.account_sid,
        "MessageSid": sms.sid,
        "SmsSid": sms.sid,
        "SmsMessageSid": sms.sid,
        "From": customer,
        "To": number.e164,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "FromCountry": "US",
        "ToCountry": "US",
        "ApiVersion": "2010-04-01",
    }
    response = post_signed(number.sms_url, params)
    sms.status = "received" if response.status_code < 300 else f"refused {response.status_code}"
    sms.save(update_fields=["status"])
    return sms


def recording_url(account_sid: str, recording_sid: str) -> str:
    return f"{settings.TWILIO_API_BASE}/2010-04-01/Accounts/{account_sid}/Recordings/{recording_sid}"


def place_call(number: SandboxTwilioNumber, customer: str) -> list[str]:
    """Call the number as the customer; returns what happened, step by step, for the simulator."""
    call_sid = "CA" + uuid.uuid4().hex
    base = {
        "AccountSid": number.account_sid,
        "CallSid": call_sid,
        "From": customer,
        "To": number.e164,
        "Caller": customer,
        "Called": number.e164,
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }
    log = []
    url, params = number.voice_url, {**base, "CallStatus": "ringing"}
    for _ in range(MAX_STEPS):
        response = post_signed(url, params)
        if response.status_code >= 300:
            log.append(f"The app answered HTTP {response.status_code}.")
            break
        verb, attributes, text = _first_verb(response.text)
        if verb == "Dial":
            numbers = ", ".join(text) or "agents"
            log.append(f"Rang {numbers}; nobody answered.")
            url = attributes.get("action", "")
            params = {**base, "CallStatus": "in-progress", "DialCallStatus": "no-answer", "DialCallDuration": "0"}
            if not url:
                break
            continue
        if verb == "Record":
            log.append("Heard the greeting and left a voicemail.")
            recording_sid = "RE" + uuid.uuid4().hex
            callback = attributes.get("recordingStatusCallback", "")
            recorded = {
                **base,
                "RecordingSid": recording_sid,
                "RecordingUrl": recording_url(number.account_sid, recording_sid),
                "RecordingStatus": "completed",
                "RecordingDuration": "2",
            }
            if callback:
                post_signed(callback, recorded)
            if attributes.get("transcribe") == "true" and attributes.get("transcribeCallback"):
                post_signed(
                    attributes["transcribeCallback"],
                    {
                        **base,
                        "RecordingSid": recording_sid,
                        "TranscriptionSid": "TR" + uuid.uuid4().hex,
                        "TranscriptionStatus": "completed",
                        "TranscriptionText": "Hi, this is a message from the sandbox. Please call me back.",
                    },
                )
            url = attributes.get("action", "")
            params = {**base, "CallStatus": "in-progress", **{k: recorded[k] for k in ("RecordingUrl", "RecordingSid")}}
            if not url:
                break
            continue
        log.append({"Hangup": "The app hung up.", "Reject": "The app rejected the call."}.get(verb, f"Ended ({verb})."))
        break
    if number.status_callback:
        post_signed(number.status_callback, {**base, "CallStatus": "completed", "CallDuration": "20"})
    return log


def _first_verb(twiml: str) -> tuple[str, dict, list[str]]:
    """The first verb that decides what happens next (Say/Play are heard and skipped)."""
    try:
        root = ElementTree.fromstring(twiml)  # noqa: S314 (our own app's TwiML, in the sandbox only)
    except ElementTree.ParseError:
        return "Hangup", {}, []
    for element in root:
        if element.tag in ("Say", "Play", "Pause"):
            continue
        return element.tag, dict(element.attrib), [(child.text or "").strip() for child in element]
    return "Hangup", {}, []
