"""The per-account send budget: at most INSTAGRAM_SEND_LIMIT sends per rolling
INSTAGRAM_SEND_WINDOW_SECONDS, kept as a ledger of SendSlot rows."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import InstagramAccount, OutboundMessage, SendSlot


@dataclass(frozen=True)
class BudgetUse:
    used: int
    limit: int
    window_seconds: int
    backlog: int

    def __str__(self):
        minutes = self.window_seconds / 60
        window = f"{minutes:g} minutes" if self.window_seconds % 60 == 0 else f"{self.window_seconds} seconds"
        return f"{self.used} of {self.limit} in the last {window}"


def window_start(now=None):
    return (now or timezone.now()) - timedelta(seconds=settings.INSTAGRAM_SEND_WINDOW_SECONDS)


def budget_use(account: InstagramAccount, now=None) -> BudgetUse:
    """How much of the account's send budget the current window has used, and its backlog."""
    used = SendSlot.objects.filter(account=account, taken_at__gt=window_start(now)).count()
    backlog = OutboundMessage.objects.filter(
        account=account, status__in=[OutboundMessage.Status.QUEUED, OutboundMessage.Status.SENDING]
    ).count()
    return BudgetUse(used, settings.INSTAGRAM_SEND_LIMIT, settings.INSTAGRAM_SEND_WINDOW_SECONDS, backlog)
