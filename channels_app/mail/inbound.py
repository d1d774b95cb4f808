"""Keeping received mail, then reading it: the Email Channel's side of the inbound API.

Every way mail arrives (our SMTP receiver, IMAP polling, a provider's webhook)
stores the raw bytes as an `InboundEmail` first and only then says "accepted";
a worker parses it later, so nothing is lost when parsing fails or a bug is fixed.
"""

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from conversations import inbound as core_inbound
from conversations.models import TimelineItem

from . import forwarding_test, parser
from .models import EmailAddress, InboundEmail, SentEmail

logger = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 2000
SWEEP_AFTER = timedelta(minutes=1)
SWEEP_AGAIN_AFTER = timedelta(minutes=5)


def find_email_address(recipient: str) -> EmailAddress | None:
    """The EmailAddress a recipient is for: the address itself or its forwarding address."""
    recipient = (recipient or "").strip().strip("<>").lower()
    local_part, _, domain = recipient.rpartition("@")
    if not local_part:
        return None
    # A removed address is nobody's: the receiver refuses its mail, a webhook keeps it as misdirected.
    current = EmailAddress.objects.filter(removed_at=None).select_related("entry_point")
    if domain == settings.MAIL_FORWARDING_DOMAIN.lower():
        found = current.filter(forwarding_token=local_part).first()
        if found is not None:
            return found
    return current.filter(address=recipient).first()


def store_inbound_email(
    raw: bytes,
    via: str,
    email_address: EmailAddress | None,
    envelope_sender: str = "",
    envelope_recipients: list[str] | None = None,
    **fields,
) -> InboundEmail:
    """Keep the raw message and enqueue its processing once the row is committed."""
    with transaction.atomic():
        inbound_email = InboundEmail.objects.create(
            raw=raw,
            via=via,
            email_address=email_address,
            envelope_sender=envelope_sender,
            envelope_recipients=envelope_recipients or [],
            **fields,
        )
        transaction.on_commit(lambda: enqueue_processing(inbound_email.pk))
    return inbound_email


def store_smtp_message(raw: bytes, envelope_sender: str, recipients: list[str]) -> list[int]:
    """One stored copy per EmailAddress among the recipients (each Entry Point gets its own).

    Called from the SMTP receiver's thread, which has no request cycle to close
    stale connections for it."""
    close_old_connections()
    by_address = {}
    for recipient in recipients:
        email_address = find_email_address(recipient)
        if email_address is not None:
            by_address.setdefault(email_address.pk, (email_address, []))[1].append(recipient)
    stored = []
    with transaction.atomic():
        for email_address, matched in by_address.values():
            stored.append(
                store_inbound_email(
                    raw,
                    InboundEmail.Via.SMTP,
                    email_address,
                    envelope_sender=envelope_sender,
                    envelope_recipients=matched,
                ).pk
            )
    return stored


def enqueue_processing(inbound_email_id: int) -> bool:
    """Ask a worker to process the row. A broker outage is logged, not raised: the row is safe."""
    try:
        current_app.send_task("channels_app.mail.tasks.process_inbound_email", args=[inbound_email_id])
    except Exception as error:  # any broker/connection error
        logger.warning("Inbound email %s stored but not enqueued (%s)", inbound_email_id, error)
        return False
    return True


def sweep_unprocessed(limit: int = 500) -> int:
    """Enqueue mail left `received` for over a minute (the broker was down, a worker died).

    Mail swept once waits SWEEP_AGAIN_AFTER before it is swept again: during a
    backlog its first task is probably still queued."""
    now = timezone.now()
    stale = (
        InboundEmail.objects.filter(status=InboundEmail.Status.RECEIVED, received_at__lt=now - SWEEP_AFTER)
        .filter(Q(swept_at__isnull=True) | Q(swept_at__lt=now - SWEEP_AGAIN_AFTER))
        .order_by("received_at")
    )
    ids = list(stale.values_list("pk", flat=True)[:limit])
    InboundEmail.objects.filter(pk__in=ids).update(swept_at=now)
    for inbound_email_id in ids:
        enqueue_processing(inbound_email_id)
    return len(ids)


def retry(queryset) -> int:
    """Process failed mail again (after a fix): back to `received` and enqueued."""
    ids = list(queryset.filter(status=InboundEmail.Status.FAILED).values_list("pk", flat=True))
    InboundEmail.objects.filter(pk__in=ids).update(status=InboundEmail.Status.RECEIVED, last_error="")
    for inbound_email_id in ids:
        enqueue_processing(inbound_email_id)
    return len(ids)


def find_conversation_id(email_address: EmailAddress, parsed: parser.ParsedEmail) -> int | None:
    """The conversation a reply belongs to, from the Message-IDs of ours it answers."""
    candidates = [parsed.in_reply_to, *reversed(parsed.references)]
    if parsed.bounce is not None:
        candidates.insert(0, parsed.bounce.original_message_id)
    candidates = [message_id for message_id in candidates if message_id]
    if not candidates:
        return None
    sent = SentEmail.objects.filter(entry_point_id=email_address.entry_point_id, message_id__in=candidates)
    by_id = dict(sent.values_list("message_id", "conversation_id"))
    for message_id in candidates:
        if message_id in by_id:
            return by_id[message_id]
    return None


def process_inbound_email(inbound_email_id: int) -> str:
    """Parse a stored message and record the outcome. Returns its final status.

    Our own mail coming back is ignored (a loop would answer itself). A bounce of
    one of our messages marks that message failed with the server's words; every
    other message goes to the core, in the thread it answers when we know it.
    """
    with transaction.atomic():
        inbound_email = InboundEmail.objects.select_for_update().filter(pk=inbound_email_id).first()
        if inbound_email is None:
            return "missing"
        if inbound_email.status in (InboundEmail.Status.PROCESSED, InboundEmail.Status.IGNORED):
            return inbound_email.status
        inbound_email.attempts += 1
        try:
            parsed = parser.parse(bytes(inbound_email.raw))
        except Exception as error:  # the parser is meant never to raise; record it if it does
            logger.exception("Inbound email %s could not be parsed", inbound_email_id)
            return _finish(inbound_email, InboundEmail.Status.FAILED, f"Unreadable message: {error!r}")
        inbound_email.message_id = parsed.message_id[:998]
        if inbound_email.email_address_id is None:
            return _finish(inbound_email, InboundEmail.Status.IGNORED, "Not for any of our addresses")
        test_token = forwarding_test.token_from_header(parsed.forwarding_test)
        if test_token:
            return _finish(inbound_email, InboundEmail.Status.IGNORED, f"Forwarding test {test_token}")
        if parsed.is_ours:
            return _finish(inbound_email, InboundEmail.Status.IGNORED, "Our own outgoing mail")
        entry_point = inbound_email.email_address.entry_point
        notes = list(parsed.problems)
        if parsed.bounce is not None and parsed.bounce.original_message_id:
            reason = f"The message bounced: {parsed.bounce.status} {parsed.bounce.diagnostic}".strip()
            outcome = core_inbound.record_delivery(
                entry_point, parsed.bounce.original_message_id, TimelineItem.Delivery.FAILED, reason
            )
            if outcome != "unknown message":
                return _finish(inbound_email, InboundEmail.Status.PROCESSED, "; ".join([f"Bounce: {outcome}", *notes]))
        conversation_id = find_conversation_id(inbound_email.email_address, parsed)
        received = core_inbound.receive_message(entry_point, parser.to_incoming_message(parsed, conversation_id))
        notes.insert(0, received.outcome)
        return _finish(inbound_email, InboundEmail.Status.PROCESSED, "; ".join(notes))


def _finish(inbound_email: InboundEmail, status: str, note: str) -> str:
    inbound_email.status = status
    inbound_email.last_error = note[:MAX_ERROR_LENGTH]
    inbound_email.processed_at = timezone.now()
    inbound_email.save(update_fields=["status", "last_error", "processed_at", "attempts", "message_id"])
    return status


def mark_failed(inbound_email_id: int, reason: str) -> None:
    InboundEmail.objects.filter(pk=inbound_email_id).exclude(status=InboundEmail.Status.PROCESSED).update(
        status=InboundEmail.Status.FAILED, last_error=reason[:MAX_ERROR_LENGTH]
    )
