import logging

from celery import shared_task
from django.db import OperationalError

from . import imap, inbound
from .models import EmailAddress

logger = logging.getLogger(__name__)

MAX_PROCESS_ATTEMPTS = 5


@shared_task(bind=True, max_retries=MAX_PROCESS_ATTEMPTS, acks_late=True)
def process_inbound_email(self, inbound_email_id):
    """Parse one stored message; retried with backoff on database trouble only."""
    try:
        return inbound.process_inbound_email(inbound_email_id)
    except OperationalError as error:
        if self.request.retries >= self.max_retries:
            inbound.mark_failed(inbound_email_id, f"Gave up after {self.max_retries} retries: {error}")
            return "failed"
        raise self.retry(exc=error, countdown=2 ** (self.request.retries + 1)) from None
    except Exception as error:
        # Retrying would fail the same way: record it for the admins.
        logger.exception("Inbound email %s could not be processed", inbound_email_id)
        inbound.mark_failed(inbound_email_id, f"Processing failed: {error!r}")
        return "failed"


@shared_task
def sweep_inbound_emails():
    """Beat: mail stored while the broker was down or a worker died."""
    return inbound.sweep_unprocessed()


@shared_task(acks_late=True)
def poll_mailbox(email_address_id):
    """Fetch new mail of one IMAP-connected address."""
    email_address = EmailAddress.objects.filter(pk=email_address_id).first()
    if email_address is None or not email_address.uses_imap or email_address.removed:
        return 0
    return imap.poll_mailbox(email_address)


@shared_task
def poll_mailboxes():
    """Beat: one polling task per IMAP-connected address."""
    ids = list(
        EmailAddress.objects.filter(removed_at=None)
        .exclude(imap_host="")
        .exclude(imap_username="")
        .values_list("pk", flat=True)
    )
    for email_address_id in ids:
        poll_mailbox.delay(email_address_id)
    return len(ids)
