"""What agents do to a conversation: notes, assignment, transfer, close, reopen.

Each action runs in one transaction on a locked conversation row, records a
status change in the timeline where the conversation's state changes, and
calls `Conversation.touch` so that every open inbox page sees it.
"""

from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from . import signals
from .models import Conversation, TimelineItem


class ActionRefused(Exception):
    """The action cannot be done; the message is meant for the agent."""


def _agent_name(user, by: str = "") -> str:
    """Who did it, for the audit item: the agent, or an automation such as a Rule."""
    if by:
        return by
    return str(user) if user is not None else "Someone"


def _locked(conversation: Conversation) -> Conversation:
    return (
        Conversation.objects.select_for_update(of=("self",)).select_related("inbox", "assignee").get(pk=conversation.pk)
    )


def add_internal_item(conversation: Conversation, kind: str, text: str, author=None, **metadata) -> TimelineItem:
    """A timeline item for the team only (a note or a status change), stamped now."""
    now = timezone.now()
    return TimelineItem.objects.create(
        conversation=conversation,
        entry_point_id=conversation.entry_point_id,
        kind=kind,
        direction=TimelineItem.Direction.INTERNAL,
        author=author,
        text=text,
        occurred_at=now,
        created_at=now,
        metadata=metadata,
    )


def record_status_change(conversation: Conversation, agent, text: str, **metadata) -> TimelineItem:
    """Audit a change of the conversation's state in its timeline."""
    return add_internal_item(conversation, TimelineItem.Kind.STATUS_CHANGE, text, agent, **metadata)


def add_note(conversation: Conversation, agent, text: str) -> TimelineItem:
    """An internal note for the team; never sent to the customer."""
    text = (text or "").strip()
    if not text:
        raise ActionRefused("Write the note first.")
    with transaction.atomic():
        item = add_internal_item(conversation, TimelineItem.Kind.NOTE, text, agent)
        Conversation.touch(conversation.pk, items_changed=False)
    return item


def assign_conversation(conversation: Conversation, agent, assignee, *, by: str = "") -> Conversation:
    """Assign to a member of the conversation's inbox (`assignee=None` unassigns).

    `by` names an automation doing it (a Rule) when there is no agent.
    """
    with transaction.atomic():
        locked = _locked(conversation)
        if assignee is not None and not locked.inbox.memberships.filter(user=assignee, user__is_active=True).exists():
            raise ActionRefused(f"{assignee} is not a member of the {locked.inbox} inbox.")
        if locked.assignee_id == (assignee.pk if assignee else None):
            return locked
        if assignee is None:
            text = f"{_agent_name(agent, by)} unassigned the conversation"
        elif assignee == agent:
            text = f"{_agent_name(agent, by)} took the conversation"
        else:
            text = f"{_agent_name(agent, by)} assigned the conversation to {assignee}"
        locked.assignee = assignee
        locked.save(update_fields=["assignee", "updated_at"])
        record_status_change(locked, agent, text, change="assigned", assignee_id=assignee.pk if assignee else None)
        Conversation.touch(locked.pk, items_changed=False)
    return locked


def transfer_conversation(conversation: Conversation, agent, inbox, *, by: str = "") -> Conversation:
    """Move the conversation to another Inbox of the same Channel, unassigned there."""
    with transaction.atomic():
        locked = _locked(conversation)
        if inbox.pk == locked.inbox_id:
            raise ActionRefused(f"The conversation is already in the {inbox} inbox.")
        if locked.inbox is not None and inbox.channel_id != locked.inbox.channel_id:
            raise ActionRefused(f"The {inbox} inbox serves another Channel.")
        previous = locked.inbox
        locked.inbox = inbox
        locked.unrouted_reason = ""
        locked.assignee = None
        locked.save(update_fields=["inbox", "unrouted_reason", "assignee", "updated_at"])
        record_status_change(
            locked,
            agent,
            f"{_agent_name(agent, by)} transferred the conversation from {previous} to {inbox}",
            change="transferred",
            from_inbox_id=previous.pk if previous else None,
            to_inbox_id=inbox.pk,
        )
        Conversation.touch(locked.pk, items_changed=False)
    return locked


def close_conversation(conversation: Conversation, agent, *, by: str = "") -> Conversation:
    """Close the conversation; the customer's next message opens a new one."""
    with transaction.atomic():
        locked = _locked(conversation)
        if locked.is_closed:
            raise ActionRefused("The conversation is already closed.")
        now = timezone.now()
        locked.status = Conversation.Status.CLOSED
        locked.closed_at = now
        locked.save(update_fields=["status", "closed_at", "updated_at"])
        record_status_change(locked, agent, f"{_agent_name(agent, by)} closed the conversation", change="closed")
        Conversation.touch(locked.pk, items_changed=False)
        signals.conversation_closed.send(sender=Conversation, conversation=locked, by=agent)
    return locked


def reopen_conversation(conversation: Conversation, agent, *, by: str = "") -> Conversation:
    """Reopen a closed conversation, unless the customer already has another one open there.

    `by` names who did it when it is not an agent (the customer's reply)."""
    with transaction.atomic():
        locked = _locked(conversation)
        if not locked.is_closed:
            raise ActionRefused("The conversation is not closed.")
        other = (
            Conversation.objects.filter(customer_id=locked.customer_id, entry_point_id=locked.entry_point_id)
            .exclude(status=Conversation.Status.CLOSED)
            .exclude(pk=locked.pk)
            .first()
        )
        if other is not None:
            raise ActionRefused(
                f"The customer already has an open conversation at this entry point (#{other.pk}); continue there."
            )
        locked.status = Conversation.Status.OPEN
        locked.closed_at = None
        locked.save(update_fields=["status", "closed_at", "updated_at"])
        record_status_change(locked, agent, f"{_agent_name(agent, by)} reopened the conversation", change="reopened")
        Conversation.touch(locked.pk, items_changed=False)
        signals.conversation_reopened.send(sender=Conversation, conversation=locked, by=agent)
    return locked


def add_topic(conversation: Conversation, agent, topic, *, by: str = "") -> bool:
    """Put a topic on the conversation; False when it has it already."""
    with transaction.atomic():
        locked = _locked(conversation)
        if locked.topics.filter(pk=topic.pk).exists():
            return False
        locked.topics.add(topic)
        record_status_change(locked, agent, f"{_agent_name(agent, by)} added the topic {topic}", change="topic_added")
        Conversation.touch(locked.pk, last_activity_at=locked.last_activity_at, items_changed=False)
    return True


def remove_topic(conversation: Conversation, agent, topic) -> bool:
    """Take a topic off the conversation; False when it did not have it."""
    with transaction.atomic():
        locked = _locked(conversation)
        if not locked.topics.filter(pk=topic.pk).exists():
            return False
        locked.topics.remove(topic)
        record_status_change(locked, agent, f"{_agent_name(agent)} removed the topic {topic}", change="topic_removed")
        Conversation.touch(locked.pk, last_activity_at=locked.last_activity_at, items_changed=False)
    return True


# A snooze with no time ends only with the customer's next message.
UNTIL_NEXT_MESSAGE = datetime(9999, 1, 1, tzinfo=UTC)


def snooze_conversation(conversation: Conversation, agent, until=None) -> Conversation:
    """Hide the conversation from the open lists until `until`, or the customer's next message when None."""
    until = until or UNTIL_NEXT_MESSAGE
    with transaction.atomic():
        locked = _locked(conversation)
        if locked.is_closed:
            raise ActionRefused("A closed conversation cannot be snoozed.")
        if until <= timezone.now():
            raise ActionRefused("Choose a time in the future.")
        locked.snoozed_until = until
        locked.save(update_fields=["snoozed_until", "updated_at"])
        when = (
            "the customer's next message"
            if until == UNTIL_NEXT_MESSAGE
            else timezone.localtime(until).strftime("%b %-d, %H:%M")
        )
        record_status_change(
            locked, agent, f"{_agent_name(agent)} snoozed the conversation until {when}", change="snoozed"
        )
        Conversation.touch(locked.pk, last_activity_at=locked.last_activity_at, items_changed=False)
    return locked


def wake_conversation(conversation: Conversation, agent=None, *, by: str = "") -> Conversation:
    """End a snooze (an agent's click, its time, or the customer's message)."""
    with transaction.atomic():
        locked = _locked(conversation)
        if locked.snoozed_until is None:
            return locked
        locked.snoozed_until = None
        locked.save(update_fields=["snoozed_until", "updated_at"])
        record_status_change(locked, agent, f"{_agent_name(agent, by)} ended the snooze", change="woken")
        Conversation.touch(locked.pk, last_activity_at=locked.last_activity_at, items_changed=False)
    return locked


def wake_snoozed(now=None) -> int:
    """Wake every conversation whose snooze time has come (the beat task)."""
    now = now or timezone.now()
    woken = 0
    for conversation in Conversation.objects.filter(snoozed_until__lte=now):
        wake_conversation(conversation, by="The snooze time")
        woken += 1
    return woken
