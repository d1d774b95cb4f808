from celery import shared_task
from django.db import OperationalError

from . import limiter, outbound, services
from .models import change_feed


# A drain the database refused (e.g. no free connection) runs again shortly rather
# than leave its Entry Point to the beat's re-kick a minute or more later.
@shared_task(acks_late=True, autoretry_for=(OperationalError,), default_retry_delay=1, max_retries=10)
def drain_entry_point(entry_point_id, owner=None):
    """Send an Entry Point's queue within its rate limit; reschedule for the next free slot.

    `owner`: the lease a previous drain kept for this continuation."""
    result = outbound.drain_entry_point(entry_point_id, owner=owner)
    if result.again_in is not None:
        kwargs = {"owner": result.lease_owner} if result.lease_owner else {}
        if result.again_at is not None:  # exactly when the slot frees, not a countdown from now
            drain_entry_point.apply_async(args=[entry_point_id], kwargs=kwargs, eta=result.again_at)
        else:
            drain_entry_point.apply_async(args=[entry_point_id], kwargs=kwargs, countdown=result.again_in)
    return result.sent


@shared_task
def rekick_stale_backlogs():
    """Beat: start a drainer for Entry Points whose queue waits with no drainer at work."""
    for entry_point_id in outbound.entry_points_with_stale_backlog():
        drain_entry_point.delay(entry_point_id)
    limiter.prune_ledger()


@shared_task
def wake_snoozed_conversations():
    """Beat: conversations whose snooze time has come return to the open lists."""
    return services.wake_snoozed()


@shared_task
def stamp_changes():
    """Beat: number conversation changes a crash left unnumbered (pages count them as changed until then)."""
    return change_feed.stamp_changes()
