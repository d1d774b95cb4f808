"""Send budgets: at most N sends per rolling window per Entry Point, as its sender declares.

The ledger is `SendSlot` rows in the database, so the limit holds across any
number of worker processes and machines. A slot's whole life is here:
`acquire_slot` takes one before the provider is called, `confirm_slot` moves it
to the provider's answer, `release_slot` gives it back when the call never
reached the provider.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from channels_app.models import EntryPoint

from .models import OutboundMessage, SendSlot
from .senders import RateLimit


@dataclass(frozen=True)
class BudgetUse:
    used: int
    limit: int
    window_seconds: int
    backlog: int

    def __str__(self):
        minutes = self.window_seconds / 60
        window = f"{minutes:g} minutes" if self.window_seconds % 60 == 0 else f"{self.window_seconds} seconds"
        if self.window_seconds == 1:
            return f"{self.used} of {self.limit} per second"
        return f"{self.used} of {self.limit} in the last {window}"


def budget_use(entry_point_id: int, limit: RateLimit, now=None) -> BudgetUse:
    """How much of the Entry Point's send budget the current window has used, and its backlog."""
    since = (now or timezone.now()) - timedelta(seconds=limit.window_seconds)
    used = SendSlot.objects.filter(entry_point_id=entry_point_id, taken_at__gt=since).count()
    backlog = OutboundMessage.objects.filter(
        entry_point_id=entry_point_id, status__in=[OutboundMessage.Status.QUEUED, OutboundMessage.Status.SENDING]
    ).count()
    return BudgetUse(used, limit.count, limit.window_seconds, backlog)


def next_free_at(entry_point_id: int, limit: RateLimit, now=None):
    """When the Entry Point's budget has room again, or None if it has room now (read only)."""
    now = now or timezone.now()
    window = timedelta(seconds=limit.window_seconds)
    in_window = SendSlot.objects.filter(entry_point_id=entry_point_id, taken_at__gt=now - window)
    used = in_window.count()
    if used < limit.count:
        return None
    oldest = in_window.order_by("taken_at").values_list("taken_at", flat=True)[used - limit.count]
    return oldest + window


@dataclass(frozen=True)
class Grant:
    """The limiter's answer: a slot (granted) or when the next one frees."""

    slot_id: int | None
    next_free_at: object = None

    @property
    def granted(self):
        return self.slot_id is not None


def acquire_slot(entry_point_id: int, limit: RateLimit, outbound_id: int | None = None, now=None) -> Grant:
    """Take one send from the Entry Point's budget, or say when the next one frees.

    The Entry Point row is locked for the check-and-insert, so any number of
    workers share the budget correctly (SQLite serialises writers anyway).
    """
    window = timedelta(seconds=limit.window_seconds)
    with transaction.atomic():
        EntryPoint.objects.select_for_update().filter(pk=entry_point_id).first()
        now = now or timezone.now()
        in_window = SendSlot.objects.filter(entry_point_id=entry_point_id, taken_at__gt=now - window)
        used = in_window.count()
        if used < limit.count:
            slot = SendSlot.objects.create(entry_point_id=entry_point_id, taken_at=now, outbound_id=outbound_id)
            return Grant(slot.pk)
        # The window holds `used` slots; it has room again once the
        # (used - limit + 1)-th oldest has left it.
        oldest = in_window.order_by("taken_at").values_list("taken_at", flat=True)[used - limit.count]
        return Grant(None, oldest + window)


def confirm_slot(slot_id: int | None, now=None) -> None:
    """Move a slot to the moment the provider answered.

    The provider counts a send when it receives it, somewhere between our slot
    time and its answer; counting from the answer keeps the limit true on the
    provider's clock even when network delays vary.
    """
    if slot_id is not None:
        SendSlot.objects.filter(pk=slot_id).update(taken_at=now or timezone.now())


def release_slot(slot_id: int | None) -> None:
    """Give a slot back: the call never reached the provider (safe to call twice)."""
    if slot_id is not None:
        SendSlot.objects.filter(pk=slot_id).delete()


def settle_slot(slot_id: int | None, reached_provider: bool) -> None:
    """After a call: a call that reached the provider counts from now; one that did not is given back."""
    if reached_provider:
        confirm_slot(slot_id)
    else:
        release_slot(slot_id)


def prune_ledger(now=None, keep=timedelta(days=1)) -> int:
    """Delete ledger rows older than any window we look at (kept a day for the record)."""
    deleted, _ = SendSlot.objects.filter(taken_at__lt=(now or timezone.now()) - keep).delete()
    return deleted
