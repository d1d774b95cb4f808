"""Incoming calls: what to answer Twilio at each step, and the Call record."""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from twilio.twiml.voice_response import VoiceResponse

from channels_app.models import Channel, EntryPoint
from conversations.business_hours import is_within_business_hours

from . import voice
from .models import Call, TwilioWebhookEvent
from .sms import find_entry_point

logger = logging.getLogger(__name__)

MAX_COUNT = 2**31 - 1
ENDED = {Call.Status.COMPLETED, Call.Status.BUSY, Call.Status.FAILED, Call.Status.NO_ANSWER, Call.Status.CANCELED}


@dataclass(frozen=True)
class CallPlan:
    """How an Entry Point answers calls right now."""

    within_hours: bool
    agent_numbers: list[str] = field(default_factory=list)
    mode: str = voice.SIMULTANEOUS
    greeting_text: str = ""
    recording_url: str = ""
    transcribe: bool = True


def call_plan(entry_point: EntryPoint) -> CallPlan:
    """The Entry Point's business hours decide; agents' phones are rung only when we know them.

    Agents have no phone numbers in the app yet (Settings › Phone numbers will
    add them), so today every call goes to voicemail, within hours or not."""
    return CallPlan(within_hours=is_within_business_hours(entry_point.business_hours, timezone.now()))


def webhook_url(name: str, **query) -> str:
    url = settings.SITE_URL + reverse(f"telephony:{name}")
    return voice.with_query(url, **query) if query else url


def voice_urls(entry_point: EntryPoint) -> voice.VoiceUrls:
    return voice.VoiceUrls(
        dial_action=webhook_url("voice", step="dial"),
        whisper=webhook_url("voice", step="whisper", entry_point=entry_point.pk),
        record_action=webhook_url("voice", step="recorded"),
        recording_status=webhook_url("recording"),
        transcribe_callback=webhook_url("recording"),
    )


def answer(step: str, query, params: dict) -> str:
    """TwiML for one of Twilio's requests about a call: `step` comes from our own URLs."""
    if step == "recorded":
        return voice.voicemail_recorded()
    if step == "whisper":
        entry_point = EntryPoint.objects.filter(pk=_number(query.get("entry_point"), -1)).first()
        return voice.whisper(entry_point.display_name if entry_point else "a customer")
    entry_point = find_entry_point(params.get("To") or "", Channel.Kind.VOICE)
    if entry_point is None:
        logger.warning("Call %s to %r: no connected Entry Point", params.get("CallSid"), params.get("To"))
        response = VoiceResponse()
        response.reject()
        return str(response)
    plan = call_plan(entry_point)
    options = {
        "greeting_text": plan.greeting_text,
        "recording_url": plan.recording_url,
        "transcribe": plan.transcribe,
        "caller_id": params.get("To") or "",
    }
    if step == "dial":
        return voice.dial_finished(
            params.get("DialCallStatus") or "",
            entry_point.display_name,
            plan.agent_numbers,
            plan.mode,
            _number(query.get("next"), len(plan.agent_numbers)),
            voice_urls(entry_point),
            **options,
        )
    record_call(entry_point, params)
    return voice.answer_call(
        entry_point.display_name, plan.within_hours, plan.agent_numbers, plan.mode, voice_urls(entry_point), **options
    )


def record_call(entry_point: EntryPoint, params: dict) -> Call | None:
    """The Call row for a new incoming call (once per CallSid)."""
    call_sid = params.get("CallSid") or ""
    if not call_sid:
        return None
    call, _ = Call.objects.get_or_create(
        call_sid=call_sid[:64],
        defaults={
            "entry_point": entry_point,
            "from_number": (params.get("From") or "")[:32],
            "to_number": (params.get("To") or "")[:32],
            "status": _status(params.get("CallStatus")) or Call.Status.RINGING,
        },
    )
    return call


def apply_call_status(event: TwilioWebhookEvent) -> str:
    """A call status callback: the call's status, and when it ended and how long it took."""
    params = event.params
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(call_sid=params.get("CallSid") or "").first()
        if call is None:
            return TwilioWebhookEvent.Status.IGNORED
        status = _status(params.get("CallStatus"))
        if status and call.status not in ENDED:
            call.status = status
        now = timezone.now()
        if status == Call.Status.IN_PROGRESS and call.answered_at is None:
            call.answered_at = now
        if status in ENDED and call.ended_at is None:
            call.ended_at = max(now, call.started_at)
            call.duration = _number(params.get("CallDuration"), None)
        call.save()
    return TwilioWebhookEvent.Status.PROCESSED


def apply_recording(event: TwilioWebhookEvent) -> str:
    """A voicemail's recording or transcription callback: kept on the Call."""
    params = event.params
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(call_sid=params.get("CallSid") or "").first()
        if call is None:
            return TwilioWebhookEvent.Status.IGNORED
        if params.get("RecordingSid") and params.get("RecordingStatus", "completed") == "completed":
            call.recording_sid = params["RecordingSid"][:64]
            call.recording_duration = _number(params.get("RecordingDuration"), None)
            call.voicemail = True
            if params.get("RecordingUrl"):
                from .tasks import download_recording

                transaction.on_commit(lambda: download_recording.delay(event.pk))
        if params.get("TranscriptionStatus") == "completed":
            call.transcription_text = params.get("TranscriptionText") or ""
        call.save()
    return TwilioWebhookEvent.Status.PROCESSED


def store_recording(event_id: int) -> bool:
    """Download a voicemail's audio into Call.recording, with the account's credentials.

    Returns False when it should be tried again later (Twilio unreachable)."""
    from django.core.files.base import ContentFile

    from .models import TwilioAccount
    from .provider import ProviderError, TwilioProvider

    event = TwilioWebhookEvent.objects.filter(pk=event_id).first()
    params = event.params if event else {}
    call = Call.objects.filter(call_sid=params.get("CallSid") or "").first()
    account = TwilioAccount.objects.filter(account_sid=params.get("AccountSid") or "").first()
    url = params.get("RecordingUrl") or ""
    if call is None or account is None or not url or call.recording:
        return True
    try:
        media = TwilioProvider.for_account(account).fetch_media(url + ".mp3")
    except ProviderError as error:
        logger.warning("Recording of call %s not downloaded: %s", call.call_sid, error.message)
        return not error.transient
    call.recording.save(f"{call.recording_sid or call.call_sid}.mp3", ContentFile(media.content), save=False)
    call.save(update_fields=["recording"])
    return True


def _status(value) -> str:
    return value if value in Call.Status.values else ""


def _number(value, default):
    """A non-negative count from Twilio's parameters (that fits the database), else default."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if 0 <= number <= MAX_COUNT else default
