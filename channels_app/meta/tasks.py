import logging

from celery import shared_task
from django.db import OperationalError

from . import accounts, inbound, media, messenger_inbound, processing, whatsapp_inbound

logger = logging.getLogger(__name__)

MAX_PROCESS_ATTEMPTS = 5


# Task names stay those of before the Meta package was an app of its own, so that
# tasks queued by an older release are still understood.
@shared_task(
    bind=True, max_retries=MAX_PROCESS_ATTEMPTS, acks_late=True, name="channels_app.tasks.process_webhook_event"
)
def process_webhook_event(self, event_id):
    """Apply one stored Meta delivery; retried with backoff on database trouble."""
    try:
        return processing.process_webhook_event(event_id)
    except OperationalError as error:
        if self.request.retries >= self.max_retries:
            processing.mark_failed(event_id, f"Gave up after {self.max_retries} retries: {error}")
            return "failed"
        raise self.retry(exc=error, countdown=2 ** (self.request.retries + 1)) from None
    except Exception as error:
        # Not the database's trouble: retrying would fail the same way, and the
        # sweeper would hand the row over forever. Record it for the admins.
        logger.exception("Webhook %s could not be processed", event_id)
        processing.mark_failed(event_id, f"Processing failed: {error!r}")
        return "failed"


@shared_task(acks_late=True, name="channels_app.tasks.process_webhook_events")
def process_webhook_events(event_ids):
    """Several stored deliveries published at once (channels_app.dispatch); each on its own."""
    results, entry_points = {}, {}
    for event_id in event_ids:
        try:
            results[event_id] = processing.process_webhook_event(event_id, entry_points)
        except OperationalError:
            # Database trouble: this one goes on alone, with its own bounded retries.
            results[event_id] = "retrying"
            processing.enqueue_processing(event_id, countdown=2)
        except Exception as error:
            logger.exception("Webhook %s could not be processed", event_id)
            processing.mark_failed(event_id, f"Processing failed: {error!r}")
            results[event_id] = "failed"
    return results


@shared_task(name="channels_app.tasks.sweep_webhook_events")
def sweep_webhook_events():
    """Beat: deliveries stored while the broker was down or a worker died."""
    return processing.sweep_unprocessed()


@shared_task(bind=True, max_retries=5, acks_late=True, name="channels_app.tasks.fetch_customer_profile")
def fetch_customer_profile(self, identity_id):
    """Fetch a new customer's name, username and picture once; the placeholder stays on failure."""
    fetch = messenger_inbound.fetch_profile if messenger_inbound.is_messenger_identity(identity_id) else None
    if not (fetch or inbound.fetch_profile)(identity_id) and self.request.retries < self.max_retries:
        raise self.retry(countdown=60 * 2**self.request.retries)


@shared_task(bind=True, max_retries=4, acks_late=True, name="channels_app.tasks.download_attachment")
def download_attachment(self, attachment_id):
    """Store a media file before Meta's CDN link expires."""
    if not media.download_attachment(attachment_id, final=self.request.retries >= self.max_retries):
        raise self.retry(countdown=30 * 2**self.request.retries)


@shared_task(bind=True, max_retries=4, acks_late=True, name="channels_app.tasks.download_whatsapp_media")
def download_whatsapp_media(self, attachment_id):
    """Fetch a customer's WhatsApp media through its media id before the id expires."""
    if not whatsapp_inbound.download_media(attachment_id, final=self.request.retries >= self.max_retries):
        raise self.retry(countdown=30 * 2**self.request.retries)


@shared_task(name="channels_app.tasks.sync_whatsapp_templates")
def sync_whatsapp_templates():
    """Beat: each connected WABA's approved templates, fresh from Meta (one refusal does not stop the others)."""
    return accounts.sync_all_templates()
