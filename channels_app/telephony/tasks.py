import logging
from datetime import timedelta

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from conversations.attachments import store_content
from conversations.models import Attachment, Conversation

from . import calls, sms
from .models import TwilioAccount, TwilioNumber, TwilioWebhookEvent
from .provider import ProviderError, TwilioProvider

logger = logging.getLogger(__name__)

MAX_PROCESS_ATTEMPTS = 5
SWEEP_AFTER = timedelta(minutes=1)


def enqueue_event(event_id: int) -> bool:
    """Ask a worker to process a stored event. The row is safe if the broker is down:
    the sweeper picks it up later, so failure here is logged, not raised."""
    try:
        process_twilio_event.delay(event_id)
    except Exception as error:  # any broker/connection error
        logger.warning("Twilio event %s stored but not enqueued (%s); the sweeper will process it", event_id, error)
        return False
    return True


def process_event(event_id: int) -> str:
    """Apply one stored Twilio webhook event, by its kind."""
    event = TwilioWebhookEvent.objects.filter(pk=event_id).only("kind").first()
    if event is None:
        return "missing"
    Kind = TwilioWebhookEvent.Kind
    if event.kind == Kind.SMS:
        return sms.process_sms_event(event_id)
    if event.kind == Kind.STATUS:
        return sms.process_status_event(event_id)
    if event.kind in (Kind.VOICE_STATUS, Kind.RECORDING):
        event = TwilioWebhookEvent.objects.get(pk=event_id)
        apply = calls.apply_call_status if event.kind == Kind.VOICE_STATUS else calls.apply_recording
        status = apply(event)
        TwilioWebhookEvent.objects.filter(pk=event_id).update(
            status=status, attempts=event.attempts + 1, processed_at=timezone.now()
        )
        return status
    return event.kind  # calls are answered in the request; their rows are a record only


@shared_task(bind=True, max_retries=MAX_PROCESS_ATTEMPTS, acks_late=True)
def process_twilio_event(self, event_id):
    """Apply one stored Twilio webhook; retried with backoff on database trouble."""
    try:
        return process_event(event_id)
    except OperationalError as error:
        if self.request.retries >= self.max_retries:
            _mark_failed(event_id, f"Gave up after {self.max_retries} retries: {error}")
            return "failed"
        raise self.retry(exc=error, countdown=2 ** (self.request.retries + 1)) from None
    except Exception as error:
        # Retrying would fail the same way: record it for the admins.
        logger.exception("Twilio event %s could not be processed", event_id)
        _mark_failed(event_id, f"Processing failed: {error!r}")
        return "failed"


@shared_task(bind=True, max_retries=4, acks_late=True)
def download_recording(self, event_id):
    """Keep a voicemail's audio in our storage, so agents play it without Twilio's credentials."""
    if not calls.store_recording(event_id):
        raise self.retry(countdown=30 * 2**self.request.retries)


@shared_task
def sweep_twilio_events(limit=500):
    """Beat: SMS and status events left `received` (broker down, worker died, core not ready)."""
    stale = TwilioWebhookEvent.objects.filter(
        status=TwilioWebhookEvent.Status.RECEIVED, received_at__lt=timezone.now() - SWEEP_AFTER
    ).exclude(kind=TwilioWebhookEvent.Kind.VOICE)
    ids = list(stale.order_by("received_at").values_list("pk", flat=True)[:limit])
    for event_id in ids:
        enqueue_event(event_id)
    return len(ids)


def _mark_failed(event_id: int, error: str) -> None:
    TwilioWebhookEvent.objects.filter(pk=event_id).exclude(status=TwilioWebhookEvent.Status.PROCESSED).update(
        status=TwilioWebhookEvent.Status.FAILED, last_error=error[:2000], processed_at=timezone.now()
    )


@shared_task(name=sms.FETCH_MEDIA_TASK, bind=True, max_retries=4, acks_late=True)
def fetch_mms_media(self, attachment_id, account_sid=""):
    """Download a customer's MMS file with the account's credentials and keep it (the core decides its type)."""
    attachment = Attachment.objects.select_related("item__entry_point").filter(pk=attachment_id).first()
    if attachment is None or attachment.status == Attachment.Status.STORED:
        return "nothing to do"
    account = TwilioAccount.objects.filter(account_sid=account_sid).first() if account_sid else None
    if account is None:
        number = TwilioNumber.objects.filter(phone_number__e164=attachment.item.entry_point.external_id).first()
        account = number.account if number else None
    if account is None:
        return _media_failed(attachment, "No Twilio account to fetch it with.")
    try:
        media = TwilioProvider.for_account(account).fetch_media(attachment.original_url)
    except ProviderError as error:
        if error.transient and self.request.retries < self.max_retries:
            raise self.retry(countdown=30 * 2**self.request.retries) from None
        return _media_failed(attachment, error.message)
    store_content(attachment, media.content, attachment.filename)
    Conversation.touch(attachment.item.conversation_id)
    return "stored"


def _media_failed(attachment, reason: str) -> str:
    attachment.status = Attachment.Status.FAILED
    attachment.error = reason[:2000]
    attachment.save(update_fields=["status", "error"])
    Conversation.touch(attachment.item.conversation_id)
    return "failed"
