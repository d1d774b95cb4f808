"""Processing stored webhook deliveries: parse, find the Entry Point, hand events on."""

import enum
import json
import logging
from datetime import UTC, datetime, timedelta

from celery import current_app
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from channels_app.models import EntryPoint
from conversations import inbound as inbound_core

from . import inbound, messenger_inbound, messenger_parser, parser, whatsapp_inbound, whatsapp_parser
from .dispatch import publish_in_batches
from .models import WebhookEvent

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


# Per webhook object: how to parse it, which Entry Point kind its ids name, who applies its events.
PRODUCTS = {
    "instagram": (parser.parse_delivery, EntryPoint.Kind.INSTAGRAM, inbound.handle_event),
    messenger_parser.MESSENGER_OBJECT: (
        messenger_parser.parse_messenger_delivery,
        EntryPoint.Kind.MESSENGER,
        messenger_inbound.handle_event,
    ),
    whatsapp_parser.WHATSAPP_OBJECT: (
        whatsapp_parser.parse_whatsapp_delivery,
        EntryPoint.Kind.WHATSAPP,
        whatsapp_inbound.handle_event,
    ),
}
NO_ENTRY_POINT = {
    "instagram": "No Entry Point for instagram account {}",
    messenger_parser.MESSENGER_OBJECT: "No Messenger Page {} is connected (add it in Settings › Messenger)",
    whatsapp_parser.WHATSAPP_OBJECT: "No WhatsApp number with phone number ID {} (add it in Settings › WhatsApp)",
}


def find_entry_point(obj: str, account_id: str) -> EntryPoint | None:
    """The Entry Point an event is for: the Instagram user id, the Page id (Messenger), the phone number ID
    (WhatsApp). A Page without a Messenger Entry Point gets nothing, even if its Instagram account is connected."""
    product = PRODUCTS.get(obj)
    if product is None or not account_id:
        return None
    return EntryPoint.objects.filter(kind=product[1], external_id=account_id).first()


LAST = datetime.max.replace(tzinfo=UTC)


def _when(event):
    """Events apply in time order; those without a time (WhatsApp's account errors) last."""
    return getattr(event, "occurred_at", None) or LAST


def _address(obj: str, entry, item) -> str:
    """The id naming the Entry Point: WhatsApp names the number on each event, the others on the entry."""
    if obj == whatsapp_parser.WHATSAPP_OBJECT:
        return item.phone_number_id
    return entry.account_id


def process_webhook_event(event_id: int, entry_points: dict | None = None) -> str:
    """Apply a stored delivery. Returns its final status.

    `entry_points` (optional) keeps the Entry Points found, for the next deliveries of the
    same task: most deliveries name the same few, and the task takes well under a second.

    First all its events in one transaction without a savepoint, the cheap way
    for a first delivery. If one of them finds its message stored already (a
    redelivery), that attempt is rolled back whole and the delivery applied again
    in one transaction whose savepoints let a duplicate pass. If an event fails,
    the delivery is applied again with each event in its own savepoint, so one
    poison event is recorded with its error and does not stop the others.
    Applying is idempotent (Meta's mid is unique per Entry Point), so a re-run or
    a redelivery adds nothing.
    """
    entry_points = {} if entry_points is None else entry_points
    try:
        return _process(event_id, _Attempt.ALL_OR_NOTHING, entry_points)
    except OperationalError:
        raise  # the database's trouble, not the events': the task retries the delivery
    except _EventFailed as failure:
        if not isinstance(failure.__cause__, IntegrityError):
            return _process(event_id, _Attempt.EVENT_BY_EVENT, entry_points)
    try:
        return _process(event_id, _Attempt.ONE_TRANSACTION, entry_points)
    except _EventFailed:
        return _process(event_id, _Attempt.EVENT_BY_EVENT, entry_points)


class _Attempt(enum.Enum):
    ALL_OR_NOTHING = "no savepoints: any error fails the attempt"
    ONE_TRANSACTION = "a redelivery: duplicates looked for and passed over; any other error fails the attempt"
    EVENT_BY_EVENT = "each event in a savepoint of its own: a failing one is recorded, the others applied"


class _EventFailed(Exception):
    """An event failed on a cheap attempt; the delivery is applied again a more careful way."""


def _process(event_id: int, attempt: _Attempt, entry_points: dict) -> str:
    with transaction.atomic():
        event = _take(event_id)
        if event is None:
            status = WebhookEvent.objects.filter(pk=event_id).values_list("status", flat=True).first()
            return status or "missing"
        try:
            payload = json.loads(event.body)
            obj = payload.get("object") if isinstance(payload, dict) else None
            parse, _kind, handle = PRODUCTS.get(obj, PRODUCTS["instagram"])
            delivery = parse(payload)
        except (ValueError, parser.PayloadError) as error:
            return _finish(event, WebhookEvent.Status.FAILED, f"Unreadable delivery: {error}")

        applied, problems, notes, work = 0, [], [], []
        for entry in delivery.entries:
            notes.extend(f"{ignored.kind}: {ignored.reason}" for ignored in entry.ignored)
            missing = set()
            for item in sorted(entry.events, key=_when):
                address = _address(delivery.object, entry, item)
                key = (delivery.object, address)
                if key not in entry_points:
                    entry_points[key] = find_entry_point(delivery.object, address)
                if entry_points[key] is None:
                    missing.add(address)
                else:
                    work.append((entry_points[key], item))
            reason = NO_ENTRY_POINT.get(delivery.object, "No Entry Point for {}")
            notes.extend(reason.format(address) for address in sorted(missing))

        if attempt is _Attempt.EVENT_BY_EVENT:
            for entry_point, item in work:
                try:
                    with transaction.atomic():
                        handle(entry_point, item)
                    applied += 1
                except OperationalError:
                    raise
                except Exception as error:
                    logger.exception("Webhook %s: event %s failed", event.pk, type(item).__name__)
                    problems.append(f"{type(item).__name__} {_event_id(item)}: {error!r}")
        else:
            all_or_nothing = attempt is _Attempt.ALL_OR_NOTHING
            with inbound_core.all_or_nothing() if all_or_nothing else inbound_core.redelivery():
                for entry_point, item in work:
                    try:
                        handle(entry_point, item)
                    except OperationalError:
                        raise
                    except Exception as error:
                        raise _EventFailed from error
                    applied += 1

        if problems:
            return _finish(event, WebhookEvent.Status.FAILED, "\n".join(problems + notes))
        if not applied:
            return _finish(event, WebhookEvent.Status.IGNORED, "\n".join(notes) or "Nothing to apply.")
        return _finish(event, WebhookEvent.Status.PROCESSED, "\n".join(notes))


def _event_id(item) -> str:
    return getattr(item, "mid", "") or getattr(item, "message_id", "") or ""


def _take(event_id: int) -> WebhookEvent | None:
    """Lock the stored delivery, count the attempt and mark it processed; None if it is gone or done.

    One statement where a SELECT ... FOR UPDATE and an UPDATE at the end were two: a
    delivery is usually processed with nothing to note, and if this attempt fails, its
    rollback takes the mark back with everything else. `_finish` writes any other outcome.
    """
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    processed, ignored = WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    taken = WebhookEvent.objects.raw(
        f"UPDATE {table} SET status = %s, attempts = attempts + 1, last_error = %s, "  # noqa: S608 (our own table)
        "processed_at = %s WHERE id = %s AND status NOT IN (%s, %s) "
        "RETURNING id, object, body, status, attempts, last_error",
        [processed, "", now, event_id, processed, ignored],
    )
    return next(iter(taken), None)


def _finish(event: WebhookEvent, status: str, message: str) -> str:
    if status == WebhookEvent.Status.PROCESSED and not message:
        return status  # as `_take` marked it
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
