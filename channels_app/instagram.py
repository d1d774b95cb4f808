"""Connected Instagram accounts: their state as the rest of the app sees it."""

import logging

from .models import InstagramAccount

logger = logging.getLogger(__name__)


def mark_needs_reauthorization(account: InstagramAccount, reason: str) -> None:
    """Meta refused the account's token: pause its sends (queued, not lost) until an admin reconnects it."""
    InstagramAccount.objects.filter(pk=account.pk).update(
        status=InstagramAccount.Status.NEEDS_REAUTHORIZATION, status_reason=reason
    )
    account.status = InstagramAccount.Status.NEEDS_REAUTHORIZATION
    account.status_reason = reason
    logger.warning("Instagram account %s needs reauthorization: %s", account.pk, reason)
