from celery import shared_task
from django.db import OperationalError

from . import webhooks
from .meta import media

MAX_PROCESS_ATTEMPTS = 5


@shared_task(bind=True, max_retries=MAX_PROCESS_ATTEMPTS, acks_late=True)
def process_webhook_event(self, event_id):
    """Apply one stored Meta delivery; retried with backoff on database trouble."""
    try:
        return webhooks.process_webhook_event(event_id)
    except OperationalError as error:
        if self.request.retries >= self.max_retries:
            webhooks.mark_failed(event_id, f"Gave up after {self.max_retries} retries: {error}")
            return "failed"
        raise self.retry(exc=error, countdown=2 ** (self.request.retries + 1)) from None


@shared_task(acks_late=True)
def process_webhook_events(event_ids):
    """Apply a batch of stored deliveries; one that hits database trouble is retried on its own."""
    for event_id in event_ids:
        try:
            webhooks.process_webhook_event(event_id)
        except OperationalError:
            process_webhook_event.apply_async(args=[event_id], countdown=2)


@shared_task
def sweep_webhook_events():
    """Beat: deliveries stored while the broker was down or a worker died."""
    return webhooks.sweep_unprocessed()


@shared_task(bind=True, max_retries=5, acks_late=True)
def fetch_customer_profile(self, identity_id):
    """Fetch a new customer's name, username and picture once; the placeholder stays on failure."""
    from conversations.inbound import fetch_profile

    if not fetch_profile(identity_id) and self.request.retries < self.max_retries:
        raise self.retry(countdown=60 * 2**self.request.retries)


@shared_task(bind=True, max_retries=4, acks_late=True)
def download_attachment(self, attachment_id):
    """Store a media file before Meta's CDN link expires."""
    if not media.download_attachment(attachment_id, final=self.request.retries >= self.max_retries):
        raise self.retry(countdown=30 * 2**self.request.retries)
