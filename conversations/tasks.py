from celery import shared_task

from channels_app import limiter

from . import outbound


@shared_task(acks_late=True)
def drain_account(account_id):
    """Send an account's queue within its rate limit; reschedule for the next free slot."""
    result = outbound.drain_account(account_id)
    if result.again_in is not None:
        drain_account.apply_async(args=[account_id], countdown=result.again_in)
    return result.sent


@shared_task
def rekick_stale_backlogs():
    """Beat: start a drainer for accounts whose queue waits with no drainer at work."""
    for account_id in outbound.accounts_with_stale_backlog():
        drain_account.delay(account_id)
    limiter.prune_ledger()
