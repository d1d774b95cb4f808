from celery import shared_task

from . import limiter, outbound, services
from .models import change_feed


@shared_task(acks_late=True)
def drain_entry_point(entry_point_id):
    """Send an Entry Point's queue within its rate limit; reschedule for the next free slot."""
    result = outbound.drain_entry_point(entry_point_id)
    if result.again_in is not None:
        drain_entry_point.apply_async(args=[entry_point_id], countdown=result.again_in)
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
