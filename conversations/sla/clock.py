"""The Conversation SLA clock.

`start_clock`, `satisfy_clock`, `restore_clock` and `stop_clock` keep
`Conversation.sla_due_at` and the `SlaPeriod` rows in step with what happened;
the receivers in `conversations.receivers` call them.

Only an agent's message satisfies the SLA (queued time counts as the answer
time). Likes, notes, auto-replies and status changes never reach these
functions, so they leave the clock running.
"""

from django.db import transaction
from django.utils import timezone

from conversations.business_hours import business_hours_for
from conversations.models import Conversation, SlaPeriod, TimelineItem
from conversations.schedule import Schedule, due_at


def sla_schedule(conversation) -> Schedule | None:
    """The schedule SLA minutes are counted in, or None for the wall clock."""
    inbox = conversation.inbox
    if inbox is None or not inbox.sla_business_hours_only:
        return None
    business_hours = business_hours_for(conversation)
    return business_hours.schedule if business_hours else None


def running_period(conversation_id):
    return SlaPeriod.objects.filter(
        conversation_id=conversation_id, satisfied_at__isnull=True, stopped_at__isnull=True
    ).first()


def start_clock(conversation, item, *, new_conversation=False):
    """A customer message arrived: start the SLA unless an agent reply is already pending.

    The first-response target applies until the conversation's first agent
    reply, the next-response target after it. Unrouted or closed
    conversations have no target yet. Returns the running SlaPeriod or None.
    A conversation created in the caller's transaction is nobody else's yet:
    it needs neither the lock nor the look for a running period.
    """
    with transaction.atomic(savepoint=False):
        if new_conversation:
            locked = conversation
        else:
            locked = (
                Conversation.objects.select_for_update(of=("self",)).select_related("inbox").get(pk=conversation.pk)
            )
        if locked.is_closed or locked.inbox is None:
            return None
        running = None if new_conversation else running_period(locked.pk)
        if running is not None:
            return running
        first = locked.first_response_at is None
        minutes = locked.inbox.first_response_minutes if first else locked.inbox.next_response_minutes
        started = item.occurred_at
        period = SlaPeriod.objects.create(
            conversation=locked,
            inbox=locked.inbox,
            kind=SlaPeriod.Kind.FIRST if first else SlaPeriod.Kind.NEXT,
            started_at=started,
            due_at=due_at(started, minutes, sla_schedule(locked)),
        )
        Conversation.touch(locked.pk, inbox_id=locked.inbox_id, sla_due_at=period.due_at, items_changed=False)
    conversation.sla_due_at = period.due_at
    return period


def satisfy_clock(conversation, item):
    """An agent's message was queued: that is the answer time. Stops the running period."""
    answered = item.created_at
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        period = running_period(locked.pk)
        if period is not None:
            period.satisfied_at = answered
            period.satisfied_by = item
            period.save(update_fields=["satisfied_at", "satisfied_by"])
        fields = {"sla_due_at": None}
        if locked.first_response_at is None:
            fields["first_response_at"] = answered
        Conversation.touch(locked.pk, **fields, items_changed=False)
    conversation.sla_due_at = None
    conversation.first_response_at = fields.get("first_response_at", conversation.first_response_at)
    return period


def restore_clock(item):
    """An agent's message failed for good: it did not answer the customer.

    The period it satisfied runs again with its original due time, unless a
    later agent message (not failed) answered too. A period started after the
    failed reply is folded back into it: the customer has waited since before.
    """
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=item.conversation_id)
        period = SlaPeriod.objects.filter(satisfied_by=item).first()
        if period is None or conversation.is_closed:
            return None
        other_answer = (
            TimelineItem.objects.filter(
                conversation=conversation,
                kind=TimelineItem.Kind.AGENT_MESSAGE,
                created_at__gte=period.started_at,
            )
            .exclude(pk=item.pk)
            .exclude(delivery_status=TimelineItem.Delivery.FAILED)
            .order_by("created_at", "id")
            .first()
        )
        fields = {}
        if other_answer is not None:
            period.satisfied_at = other_answer.created_at
            period.satisfied_by = other_answer
            period.save(update_fields=["satisfied_at", "satisfied_by"])
        else:
            SlaPeriod.objects.filter(
                conversation=conversation, satisfied_at__isnull=True, stopped_at__isnull=True
            ).delete()
            period.satisfied_at = None
            period.satisfied_by = None
            period.save(update_fields=["satisfied_at", "satisfied_by"])
            fields["sla_due_at"] = period.due_at
        if period.kind == SlaPeriod.Kind.FIRST:
            fields["first_response_at"] = period.satisfied_at
        if fields:
            Conversation.touch(conversation.pk, **fields, items_changed=False)
    return period


def stop_clock(conversation):
    """The conversation was closed: nobody owes a reply any more."""
    now = timezone.now()
    with transaction.atomic():
        period = running_period(conversation.pk)
        if period is not None:
            period.stopped_at = now
            period.save(update_fields=["stopped_at"])
        Conversation.touch(conversation.pk, sla_due_at=None, items_changed=False)
    conversation.sla_due_at = None
    return period


def overdue_count(inbox=None, now=None) -> int:
    """Conversations whose reply is overdue right now."""
    overdue = Conversation.objects.filter(sla_due_at__lt=now or timezone.now()).exclude(
        status=Conversation.Status.CLOSED
    )
    if inbox is not None:
        overdue = overdue.filter(inbox=inbox)
    return overdue.count()
