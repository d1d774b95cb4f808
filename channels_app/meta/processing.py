"""Processing stored webhook deliveries: parse, find the Entry Point, hand events on."""

import json
import logging
from datetime import timedelta

from celery import current_app
from django.db import OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from channels_app.models import EntryPoint

from . import inbound, parser
from .dispatch import publish_in_batches
from .models import InstagramAccount, WebhookEvent

logger = logging.getLogger(__name__)

SWEEP_AFTER = timedelta(minutes=1)
SWEEP_AGAIN_AFTER = timedelta(minutes=5)
MAX_ERROR_LENGTH = 2000


def enqueue_processing(event_id: int, countdown: float | None = None) -> bool:
    """Ask a worker to process the event. The row is safe if the broker is down:
    the sweeper picks it up later, so failure here is logged, not raised."""
    try:
        current_app.send_task("channels_app.tasks.process_webhook_event", args=[event_id], countdown=countdown)
    except Exception as error:  # any broker/connection error
        logger.warning("Webhook %s stored but not enqueued (%s); the sweeper will process it", event_id, error)
        return False
    return True


def find_entry_point(obj: str, account_id: str) -> EntryPoint | None:
    """The Entry Point a delivery's entry is for: Instagram user id, or Page id for Messenger.

    A Page's deliveries go to its Messenger Entry Point; until one exists, to the
    Instagram account connected through that Page."""
    if obj == "instagram":
        return EntryPoint.objects.filter(kind=EntryPoint.Kind.INSTAGRAM, external_id=account_id).first()
    messenger = EntryPoint.objects.filter(kind=EntryPoint.Kind.MESSENGER, external_id=account_id).first()
    if messenger is not None:
        return messenger
    account = InstagramAccount.objects.filter(page_id=account_id).select_related("entry_point").first()
    return account.entry_point if account is not None else None


def process_webhook_event(event_id: int) -> str:
    """Apply a stored delivery. Returns its final status.

    Each messaging event runs in its own savepoint: one poison event is recorded
    with its error and does not stop the others. Applying is idempotent (Meta's
    mid is unique per Entry Point), so a re-run or a redelivery adds nothing.
    """
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
            return event.status if event else "missing"
        event.attempts += 1
        try:
            delivery = parser.parse_delivery(json.loads(event.body))
        except (ValueError, parser.PayloadError) as error:
            return _finish(event, WebhookEvent.Status.FAILED, f"Unreadable delivery: {error}")

        applied, problems, notes = 0, [], []
        for entry in delivery.entries:
            notes.extend(f"{ignored.kind}: {ignored.reason}" for ignored in entry.ignored)
            if not entry.events:
                continue
            entry_point = find_entry_point(delivery.object, entry.account_id)
            if entry_point is None:
                notes.append(f"No Entry Point for {delivery.object} account {entry.account_id}")
                continue
            for item in sorted(entry.events, key=lambda e: e.occurred_at):
                try:
                    with transaction.atomic():
                        inbound.handle_event(entry_point, item)
                    applied += 1
                except OperationalError:
                    raise  # the database's trouble, not the event's: the task retries the delivery
                except Exception as error:
                    logger.exception("Webhook %s: event %s failed", event.pk, type(item).__name__)
                    problems.append(f"{type(item).__name__} {getattr(item, 'mid', '')}: {error!r}")

        if problems:
            return _finish(event, WebhookEvent.Status.FAILED, "\n".join(problems + notes))
        if not applied:
            return _finish(event, WebhookEvent.Status.IGNORED, "\n".join(notes) or "Nothing to apply.")
        return _finish(event, WebhookEvent.Status.PROCESSED, "\n".join(notes))


def _finish(event: WebhookEvent, status: str, message: str) -> str:
    event.status = status
    event.last_error = message[:MAX_ERROR_LENGTH]
    event.processed_at = timezone.now()
    event.save(update_fields=["status", "attempts", "last_error", "processed_at"])
    return status


def mark_failed(event_id: int, error: str) -> None:
    """The attempt that failed counts (its own +1 was rolled back with the rest of it)."""
    WebhookEvent.objects.filter(pk=event_id).exclude(status=WebhookEvent.Status.PROCESSED).update(
        status=WebhookEvent.Status.FAILED,
        last_error=error[:MAX_ERROR_LENGTH],
        processed_at=timezone.now(),
        attempts=F("attempts") + 1,
    )


def retry_events(queryset) -> int:
    """Put failed (or ignored) events back to be processed again (admins' Retry action)."""
    ids = list(queryset.exclude(status=WebhookEvent.Status.PROCESSED).values_list("pk", flat=True))
    WebhookEvent.objects.filter(pk__in=ids).update(status=WebhookEvent.Status.RECEIVED, last_error="")
    transaction.on_commit(lambda: publish_in_batches(ids))
    return len(ids)


def sweep_unprocessed(limit: int = 500) -> int:
    """Enqueue deliveries left `received` for over a minute (broker was down, worker died).

    A delivery swept once waits SWEEP_AGAIN_AFTER before it is swept again: while
    workers work through a backlog, its first message is probably still queued.
    """
    now = timezone.now()
    stale = (
        WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED, received_at__lt=now - SWEEP_AFTER)
        .filter(Q(swept_at__isnull=True) | Q(swept_at__lt=now - SWEEP_AGAIN_AFTER))
        .order_by("received_at")
    )
    ids = list(stale.values_list("pk", flat=True)[:limit])
    WebhookEvent.objects.filter(pk__in=ids).update(swept_at=now)
    publish_in_batches(ids)
    return len(ids)
