"""Incoming calls: what to answer Twilio at each step, and the Call record."""

import logging
from dataclasses import dataclass, field

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from twilio.twiml.voice_response import VoiceResponse

from channels_app.models import Channel, EntryPoint, PhoneNumber, default_ring_mode
from conversations import inbound
from conversations.business_hours import is_within_business_hours
from conversations.inbound import IncomingAttachment, IncomingMessage
from conversations.models import Conversation, TimelineItem
from conversations.routing import route
from inbox.models import AgentAvailability, User

from . import voice
from .models import Call, TwilioWebhookEvent
from .numbers import format_number
from .provider import ProviderError, TwilioProvider
from .sender import twilio_number
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


def agents_to_ring(entry_point: EntryPoint):
    """Agents of the number's Inbox available in Voice who gave a phone number, in a stable order."""
    inbox = route(entry_point).inbox
    if inbox is None:
        return User.objects.none()
    return (
        User.objects.filter(
            is_active=True,
            memberships__inbox=inbox,
            availabilities__channel=entry_point.channel,
            availabilities__status=AgentAvailability.Status.AVAILABLE,
        )
        .exclude(phone_number="")
        .order_by("id")
        .distinct()
    )


def call_plan(entry_point: EntryPoint) -> CallPlan:
    """Within the Entry Point's business hours, ring the available agents' phones (each hears the whisper);
    outside hours or with nobody to ring, the greeting and voicemail. How is the number's own setting."""
    within_hours = is_within_business_hours(entry_point.business_hours, timezone.now())
    numbers = [agent.phone_number for agent in agents_to_ring(entry_point)] if within_hours else []
    number = PhoneNumber.objects.filter(e164=entry_point.external_id).first()
    if number is None:
        return CallPlan(within_hours=within_hours, agent_numbers=numbers, mode=default_ring_mode())
    return CallPlan(
        within_hours=within_hours,
        agent_numbers=numbers,
        mode=number.ring_mode,
        greeting_text=number.voicemail_greeting,
        transcribe=number.transcribe_voicemail,
    )


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
    if step == "bridge":
        call = Call.objects.filter(pk=_number(query.get("call"), -1), direction=Call.Direction.OUTBOUND).first()
        if call is None:
            response = VoiceResponse()
            response.hangup()
            return str(response)
        return voice.bridge(call.to_number, call.from_number)
    if step == "whisper":
        entry_point = EntryPoint.objects.filter(pk=_number(query.get("entry_point"), -1)).first()
        record_answered_by(params)
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
        if (params.get("DialCallStatus") or "") not in voice.NOT_ANSWERED:
            record_answered_call(entry_point, params)
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


def record_answered_by(params: dict) -> None:
    """The agent's phone picked up (Twilio asks for the whisper then): who answered the caller."""
    agent = User.objects.filter(phone_number=params.get("To") or "", is_active=True).first()
    parent = params.get("ParentCallSid") or ""
    if agent is not None and parent:
        Call.objects.filter(call_sid=parent, answered_by__isnull=True).update(
            answered_by=agent, answered_at=timezone.now()
        )


def duration_words(seconds: int | None) -> str:
    """3 min 12 s; 45 s."""
    seconds = seconds or 0
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def record_answered_call(entry_point: EntryPoint, params: dict):
    """The caller talked to an agent: a Voice item in the conversation, which answers the customer (SLA)."""
    call = Call.objects.filter(call_sid=params.get("CallSid") or "").select_related("answered_by").first()
    if call is None:
        return None
    call.duration = _number(params.get("DialCallDuration"), call.duration)
    call.status = Call.Status.COMPLETED
    call.save(update_fields=["duration", "status"])
    agent = call.answered_by
    who = f" by {agent.get_short_name() or agent}" if agent else ""
    _, item = inbound.record_answered_call(
        entry_point,
        call.from_number,
        call.call_sid,
        call.started_at,
        agent,
        f"Call answered{who}, {duration_words(call.duration)}",
        metadata={"call_sid": call.call_sid, "duration": call.duration},
        customer_name=format_number(call.from_number),
    )
    if item is not None:
        Call.objects.filter(pk=call.pk).update(conversation_id=item.conversation_id)
    return item


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
        # A transcription callback names its recording too (RecordingSid, RecordingUrl):
        # only the recording's own callback sets the recording.
        is_transcription = bool(params.get("TranscriptionSid") or params.get("TranscriptionStatus"))
        if (
            params.get("RecordingSid")
            and not is_transcription
            and params.get("RecordingStatus", "completed") == "completed"
        ):
            call.recording_sid = params["RecordingSid"][:64]
            call.recording_duration = _number(params.get("RecordingDuration"), call.recording_duration)
            call.voicemail = True
            if params.get("RecordingUrl"):
                transaction.on_commit(
                    lambda: current_app.send_task("channels_app.telephony.tasks.download_recording", args=[event.pk])
                )
        if params.get("TranscriptionStatus") == "completed":
            call.transcription_text = params.get("TranscriptionText") or ""
            # The voicemail item may already be in the timeline: the words join it.
            updated = TimelineItem.objects.filter(
                entry_point=call.entry_point_id, external_id=call.call_sid, kind=TimelineItem.Kind.CUSTOMER_MESSAGE
            )
            for item in updated:
                item.text = voicemail_text(call)
                item.save(update_fields=["text"])
                Conversation.touch(item.conversation_id)
        call.save()
    return TwilioWebhookEvent.Status.PROCESSED


def voicemail_text(call: Call) -> str:
    heard = f" “{call.transcription_text}”" if call.transcription_text else ""
    return f"Voicemail, {duration_words(call.recording_duration)}.{heard}"


def deliver_voicemail(call: Call):
    """The voicemail as the customer's message (it counts for the SLA), the recording attached."""
    call.recording.open("rb")
    try:
        content = call.recording.read()
    finally:
        call.recording.close()
    received = inbound.receive_message(
        call.entry_point,
        IncomingMessage(
            message_id=call.call_sid,
            customer_id=call.from_number,
            occurred_at=call.started_at,
            text=voicemail_text(call),
            attachments=(IncomingAttachment(kind="audio", content=content, filename="voicemail"),),
            metadata={"call_sid": call.call_sid, "voicemail": True, "duration": call.recording_duration},
            customer_name=format_number(call.from_number),
        ),
    )
    if received.item is not None:
        Call.objects.filter(pk=call.pk).update(conversation_id=received.item.conversation_id)
    return received


def store_recording(event_id: int) -> bool:
    """Download a voicemail's audio into Call.recording, with the account's credentials.

    Returns False when it should be tried again later (Twilio unreachable)."""
    from django.core.files.base import ContentFile

    from .models import TwilioAccount

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
    deliver_voicemail(call)
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


class CallBackRefused(Exception):
    """Why the agent cannot call the customer back, in their words."""


def call_back(conversation, agent) -> Call:
    """Click-to-call: ring the agent's own phone from our number; when they pick up, Twilio dials the customer."""
    if not agent.phone_number:
        raise CallBackRefused("Add your phone number in Settings › Users first: the call rings your phone.")
    number = twilio_number(conversation.entry_point)
    if number is None or not number.voice:
        raise CallBackRefused("This conversation's number cannot place calls.")
    identity = conversation.customer.identities.filter(entry_point_id=conversation.entry_point_id).first()
    if identity is None:
        raise CallBackRefused("The customer has no number at this Entry Point.")
    call = Call.objects.create(
        call_sid=f"pending-{conversation.pk}-{timezone.now().timestamp()}"[:64],
        entry_point=conversation.entry_point,
        direction=Call.Direction.OUTBOUND,
        from_number=number.phone_number.e164,
        to_number=identity.external_id,
        status=Call.Status.QUEUED,
        answered_by=agent,
        conversation_id=conversation.pk,
    )
    try:
        sid = TwilioProvider.for_account(number.account).call(
            agent.phone_number, number.phone_number.e164, webhook_url("voice", step="bridge", call=call.pk)
        )
    except ProviderError as error:
        call.delete()
        raise CallBackRefused(f"Twilio did not place the call: {error.message}") from error
    call.call_sid = sid[:64]
    call.save(update_fields=["call_sid"])
    return call
