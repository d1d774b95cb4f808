"""The sandbox playing Twilio's REST API (2010-04-01) at /sandbox/twilio/, for TWILIO_API_BASE.

Numbers are searched (made up in the 555-01xx range, reserved for fiction),
bought, listed, configured and released; texts are recorded and their status
callbacks posted back signed, like Twilio's; calls are recorded. Any well-formed
credentials are accepted unless the simulator suspends the account (20003).
"""

import base64
import io
import math
import re
import uuid
import wave

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .models import SandboxSms, SandboxTwilioNumber, SandboxTwilioSettings
from .tasks import post_twilio_webhook

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def error(status: int, code: int, message: str) -> JsonResponse:
    return JsonResponse(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status=status,
    )


def _authorized(request, account_sid: str) -> JsonResponse | None:
    header = request.headers.get("Authorization", "")
    try:
        user, _, secret = base64.b64decode(header.split(" ", 1)[1]).decode().partition(":")
    except (IndexError, ValueError):
        user, secret = "", ""
    if not ACCOUNT_SID.match(account_sid) or not user or not secret:
        return error(401, 20003, "Authenticate")
    if SandboxTwilioSettings.current().suspended:
        return error(401, 20003, "Authenticate: the account is suspended (sandbox toggle)")
    return None


def number_json(number: SandboxTwilioNumber) -> dict:
    return {
        "sid": number.sid,
        "account_sid": number.account_sid,
        "phone_number": number.e164,
        "friendly_name": number.e164,
        "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
        "sms_url": number.sms_url,
        "voice_url": number.voice_url,
        "status_callback": number.status_callback,
    }


def available(country: str, area_code: str, contains: str) -> list[dict]:
    if country != "US":
        return []
    area = area_code if len(area_code) == 3 else "415"
    taken = set(SandboxTwilioNumber.objects.values_list("e164", flat=True))
    found = []
    for last in range(100):
        e164 = f"+1{area}55501{last:02d}"
        if e164 in taken or (contains and contains not in e164):
            continue
        found.append(
            {
                "phone_number": e164,
                "friendly_name": f"({area}) 555-01{last:02d}",
                "locality": "San Francisco" if area == "415" else "",
                "region": "CA" if area == "415" else "",
                "iso_country": "US",
                "capabilities": {"voice": True, "SMS": True, "MMS": True},
            }
        )
        if len(found) >= 10:
            break
    return found


@csrf_exempt
def api_view(request, account_sid, path=None, json=None):
    return api(request, account_sid, path or "")


def api(request, account_sid, path):
    """Accounts/<sid>/<path> of Twilio's REST API."""
    refused = _authorized(request, account_sid)
    if refused is not None:
        return refused
    if path in ("", ".json"):
        return JsonResponse({"sid": account_sid, "friendly_name": "Sandbox Twilio account", "status": "active"})
    match = re.fullmatch(r"AvailablePhoneNumbers/([A-Z]{2})/Local\.json", path)
    if match:
        found = available(match.group(1), request.GET.get("AreaCode", ""), request.GET.get("Contains", ""))
        return JsonResponse({"available_phone_numbers": found, "uri": request.path})
    if path == "IncomingPhoneNumbers.json":
        if request.method == "POST":
            e164 = request.POST.get("PhoneNumber", "")
            if SandboxTwilioNumber.objects.filter(e164=e164).exists():
                return error(400, 21452, "Number is already owned")
            number = SandboxTwilioNumber.objects.create(sid=new_sid("PN"), account_sid=account_sid, e164=e164)
            return JsonResponse(number_json(number), status=201)
        numbers = SandboxTwilioNumber.objects.filter(account_sid=account_sid).order_by("e164")
        return JsonResponse(
            {"incoming_phone_numbers": [number_json(n) for n in numbers], "next_page_uri": None, "uri": request.path}
        )
    match = re.fullmatch(r"IncomingPhoneNumbers/(PN\w+)\.json", path)
    if match:
        number = SandboxTwilioNumber.objects.filter(sid=match.group(1), account_sid=account_sid).first()
        if number is None:
            return error(404, 20404, "The requested resource was not found")
        if request.method == "DELETE":
            number.delete()
            return HttpResponse(status=204)
        if request.method == "POST":
            number.sms_url = request.POST.get("SmsUrl", number.sms_url)
            number.voice_url = request.POST.get("VoiceUrl", number.voice_url)
            number.status_callback = request.POST.get("StatusCallback", number.status_callback)
            number.save()
        return JsonResponse(number_json(number))
    if path == "Messages.json" and request.method == "POST":
        return send_message(request, account_sid)
    if path == "Calls.json" and request.method == "POST":
        sid = new_sid("CA")
        return JsonResponse(
            {"sid": sid, "status": "queued", "to": request.POST.get("To"), "from": request.POST.get("From")},
            status=201,
        )
    match = re.fullmatch(r"Recordings/(RE\w+)\.mp3", path)
    if match:
        return HttpResponse(wav_bytes(), content_type="audio/x-wav")
    return error(404, 20404, "The requested resource was not found")


def send_message(request, account_sid):
    sms = SandboxSms.objects.create(
        sid=new_sid("SM"),
        direction="outbound",
        from_number=request.POST.get("From", ""),
        to_number=request.POST.get("To", ""),
        body=request.POST.get("Body", ""),
    )
    callback = request.POST.get("StatusCallback", "")
    if callback:
        failing = SandboxTwilioSettings.current().undelivered
        base = {"AccountSid": account_sid, "MessageSid": sms.sid, "From": sms.from_number, "To": sms.to_number}
        post_twilio_webhook.apply_async(args=[callback, {**base, "MessageStatus": "sent"}], countdown=0.5)
        final = {"MessageStatus": "undelivered", "ErrorCode": "30003"} if failing else {"MessageStatus": "delivered"}
        post_twilio_webhook.apply_async(args=[callback, {**base, **final}], countdown=1.5)
        SandboxSms.objects.filter(pk=sms.pk).update(status=final["MessageStatus"])
    return JsonResponse(
        {"sid": sms.sid, "status": "queued", "to": sms.to_number, "from": sms.from_number, "body": sms.body},
        status=201,
    )


def wav_bytes(seconds: float = 1.5) -> bytes:
    """A small WAV: a soft two-tone chime standing in for a caller's voicemail."""
    rate = 8000
    frames = bytearray()
    for index in range(int(rate * seconds)):
        tone = 440 if index < rate * seconds / 2 else 660
        frames.append(int(128 + 40 * math.sin(2 * math.pi * tone * index / rate)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return buffer.getvalue()
