"""Twilio's webhooks: incoming SMS, SMS status, calls, call status, recordings.

Every request must carry Twilio's signature of the exact public URL it was
sent to (settings.SITE_URL + path and query) and its form parameters, made
with the auth token of the Twilio account named in AccountSid. Anything else
is refused with 403 and logged, and nothing is kept. A signed request is
stored as a TwilioWebhookEvent before it is answered; a worker processes it.
"""

import logging
from functools import partial

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.twiml.messaging_response import MessagingResponse

from . import calls
from .models import TwilioAccount, TwilioWebhookEvent

logger = logging.getLogger(__name__)

Kind = TwilioWebhookEvent.Kind


def public_url(request) -> str:
    """The URL Twilio called, as Twilio signed it: our public address, not the one behind the proxy."""
    return settings.SITE_URL + request.get_full_path()


def signature_is_valid(request) -> bool:
    """Twilio's X-Twilio-Signature for this request, checked with the account's auth token."""
    url = public_url(request)
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        logger.warning("Twilio webhook refused: no X-Twilio-Signature (%s)", url)
        return False
    account_sid = request.POST.get("AccountSid", "")
    account = TwilioAccount.objects.filter(account_sid=account_sid).only("auth_token").first() if account_sid else None
    if account is None:
        logger.warning("Twilio webhook refused: unknown AccountSid %r (%s)", account_sid[:40], url)
        return False
    algorithm = get_signature_algorithm(request.headers.get("X-Twilio-Webhooks-Signature-Settings"))
    if not RequestValidator(account.auth_token).validate(url, request.POST, signature, algorithm):
        # Also what a request replayed to another of our URLs looks like.
        logger.warning("Twilio webhook refused: wrong signature for %s", url)
        return False
    return True


def twilio_webhook(kind):
    """A view for one kind of Twilio webhook: verify, store, then answer with `answer(request, event)`."""

    def decorator(answer):
        @csrf_exempt
        @require_POST
        def view(request, *args, **kwargs):
            if not signature_is_valid(request):
                return HttpResponseForbidden("Invalid signature.", content_type="text/plain")
            try:
                event = store_event(kind, request)
            except DatabaseError:
                logger.exception("Twilio webhook not stored: database unavailable; answering 503 so Twilio retries")
                return HttpResponse("Temporarily unavailable.", status=503, content_type="text/plain")
            return answer(request, event)

        view.__name__ = answer.__name__
        view.__doc__ = answer.__doc__
        return view

    return decorator


def store_event(kind: str, request) -> TwilioWebhookEvent | None:
    """Keep the delivery and enqueue its processing. None when the same delivery was stored before."""
    params = {key: request.POST.get(key) for key in request.POST}
    message_sid = params.get("MessageSid") or params.get("SmsSid") or ""
    call_sid = params.get("CallSid", "")
    event = TwilioWebhookEvent(
        kind=kind,
        url=public_url(request)[:1000],
        params=params,
        message_sid=message_sid[:64],
        call_sid=call_sid[:64],
        dedup_key=dedup_key(kind, params)[:200],
    )
    if kind == Kind.VOICE:  # answered in the request itself: kept as a record
        event.status = TwilioWebhookEvent.Status.PROCESSED
        event.processed_at = event.received_at
    try:
        with transaction.atomic():
            event.save()
    except IntegrityError:
        logger.info("Twilio %s delivery %s already stored", kind, event.dedup_key)
        return None
    if kind != Kind.VOICE:
        from .tasks import enqueue_event

        transaction.on_commit(partial(enqueue_event, event.pk))
    return event


def dedup_key(kind: str, params: dict) -> str:
    """What makes a delivery the same one again (empty: never deduplicated)."""
    message_sid = params.get("MessageSid") or params.get("SmsSid") or ""
    if kind == Kind.SMS:
        return message_sid
    if kind == Kind.STATUS and message_sid:
        return f"{message_sid}:{params.get('MessageStatus') or params.get('SmsStatus') or ''}"
    if kind == Kind.VOICE_STATUS and params.get("CallSid"):
        return f"{params['CallSid']}:{params.get('CallStatus', '')}"
    if kind == Kind.RECORDING and params.get("RecordingSid"):
        return f"{params['RecordingSid']}:{params.get('RecordingStatus', '')}:{params.get('TranscriptionSid', '')}"
    return ""


def _empty_messaging_response():
    return HttpResponse(str(MessagingResponse()), content_type="text/xml")


def _ok():
    return HttpResponse("", status=204)


@twilio_webhook(Kind.SMS)
def sms_webhook(request, event):
    """An incoming SMS/MMS. Answered with empty TwiML: replies come from agents, later."""
    return _empty_messaging_response()


@twilio_webhook(Kind.STATUS)
def sms_status_webhook(request, event):
    """Twilio's status callback for a text we sent (sent, delivered, failed, ...)."""
    return _ok()


@twilio_webhook(Kind.VOICE)
def voice_webhook(request, event):
    """An incoming call, or one of its later steps (dial finished, voicemail recorded)."""
    return HttpResponse(calls.answer(request.GET.get("step", ""), request.GET, event.params), content_type="text/xml")


@twilio_webhook(Kind.VOICE_STATUS)
def voice_status_webhook(request, event):
    """Twilio's status callback for a call (ringing, in-progress, completed, no-answer, ...)."""
    return _ok()


@twilio_webhook(Kind.RECORDING)
def recording_webhook(request, event):
    """A voicemail recording (or its transcription) is ready."""
    return _ok()
