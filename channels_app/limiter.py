"""The per-account send budget: at most INSTAGRAM_SEND_LIMIT sends per rolling
INSTAGRAM_SEND_WINDOW_SECONDS, kept as a ledger of SendSlot rows."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
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


@dataclass(frozen=True)
class Grant:
    """The limiter's answer: a slot (granted) or when the next one frees."""

    slot_id: int | None
    next_free_at: object = None

    @property
    def granted(self):
        return self.slot_id is not None


def acquire_slot(account_id: int, outbound_id: int | None = None, now=None) -> Grant:
    """Take one send from the account's budget, or say when the next one frees.

    The account row is locked for the check-and-insert, so any number of
    workers on any number of machines share the budget correctly (SQLite
    serialises writers anyway). A slot is taken before the HTTP call.
    """
    limit = settings.INSTAGRAM_SEND_LIMIT
    window = timedelta(seconds=settings.INSTAGRAM_SEND_WINDOW_SECONDS)
    with transaction.atomic():
        InstagramAccount.objects.select_for_update().filter(pk=account_id).first()
        now = now or timezone.now()
        in_window = SendSlot.objects.filter(account_id=account_id, taken_at__gt=now - window)
        used = in_window.count()
        if used < limit:
            slot = SendSlot.objects.create(account_id=account_id, taken_at=now, outbound_id=outbound_id)
            return Grant(slot.pk)
        # The window holds `used` slots; it has room again once the
        # (used - limit + 1)-th oldest has left it.
        oldest = in_window.order_by("taken_at").values_list("taken_at", flat=True)[used - limit]
        return Grant(None, oldest + window)


def confirm_slot(slot_id: int, now=None) -> None:
    """Move a slot to the moment Meta answered.

    Meta counts a send when it receives it, which is somewhere between our slot
    time and its answer; counting from the answer keeps the limit true on
    Meta's clock even when network delays vary.
    """
    SendSlot.objects.filter(pk=slot_id).update(taken_at=now or timezone.now())


def release_slot(slot_id: int) -> None:
    """Give a slot back: the call never reached Meta."""
    SendSlot.objects.filter(pk=slot_id).delete()


def prune_ledger(now=None) -> int:
    """Delete ledger rows older than any window we look at (kept a day for the record)."""
    cutoff = (now or timezone.now()) - max(timedelta(days=1), timedelta(seconds=settings.INSTAGRAM_SEND_WINDOW_SECONDS))
    deleted, _ = SendSlot.objects.filter(taken_at__lt=cutoff).delete()
    return deleted
