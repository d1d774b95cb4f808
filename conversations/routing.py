"""Routing and assignment: which Inbox a conversation lands in, and which agent gets it."""

import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Q

from channels_app.models import EntryPoint

from .models import Conversation, change_feed

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    inbox: object | None  # an inbox.Inbox
    reason: str = ""

    @property
    def routed(self):
        return self.inbox is not None


def route(entry_point: EntryPoint) -> Route:
    """The Inbox for new conversations of this Entry Point.

    The Exception's inbox if the Entry Point has one, else its Channel's
    default Inbox. A paused Entry Point, or a Channel without a default Inbox,
    gives no inbox and a reason: the caller keeps the conversation unrouted.
    """
    # One query for the Entry Point's routing facts, fresh: the caller's object may be old.
    entry_point = EntryPoint.objects.select_related("channel__default_inbox", "routing_exception__inbox").get(
        pk=entry_point.pk
    )
    if not entry_point.active:
        return Route(None, "Entry point is paused")
    exception = getattr(entry_point, "routing_exception", None)
    if exception is not None:
        return Route(exception.inbox)
    channel = entry_point.channel
    if channel.default_inbox_id is None:
        return Route(None, f"The {channel} Channel has no default Inbox")
    return Route(channel.default_inbox)


def route_conversation(conversation: Conversation) -> Conversation:
    """Put a new conversation in its Inbox (or mark it unrouted) and offer it to an agent."""
    result = route(conversation.entry_point)
    conversation.inbox = result.inbox
    conversation.unrouted_reason = result.reason
    conversation.save(update_fields=["inbox", "unrouted_reason", "updated_at"])
    change_feed.mark_changed([conversation.pk], inbox_id=conversation.inbox_id)
    if not result.routed:
        logger.warning(
            "Conversation %s is unrouted: %s (entry point %s)",
            conversation.pk,
            result.reason,
            conversation.entry_point_id,
        )
        return conversation
    assign(conversation)
    return conversation


def route_unrouted_conversations(entry_points=None) -> int:
    """Route conversations left unrouted, e.g. after a default Inbox was chosen
    or a paused Entry Point was resumed. Returns how many found an inbox."""
    waiting = Conversation.objects.filter(inbox__isnull=True).exclude(status=Conversation.Status.CLOSED)
    if entry_points is not None:
        waiting = waiting.filter(entry_point__in=entry_points)
    routed = 0
    for conversation in waiting.select_related("entry_point__channel", "entry_point__routing_exception__inbox"):
        if route_conversation(conversation).inbox_id:
            routed += 1
    return routed


# inbox.AgentAvailability.Status.AVAILABLE: the core reads availability through the
# user's relation and does not import the agents' app.
AVAILABLE = "available"


def available_agents(inbox, channel):
    """Members of the inbox available in the channel with room left, least busy first."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            memberships__inbox=inbox,
            availabilities__channel=channel,
            availabilities__status=AVAILABLE,
        )
        .annotate(
            open_count=Count(
                "assigned_conversations",
                filter=~Q(assigned_conversations__status=Conversation.Status.CLOSED),
                distinct=True,
            )
        )
        .filter(open_count__lt=F("capacity"))
        .order_by("open_count", "id")
    )


def pick_agent(inbox, channel_id: int):
    """The least busy available member of the inbox with room left, or None."""
    return available_agents(inbox, channel_id).first()


def assign(conversation: Conversation):
    """Offer the conversation to the least busy available agent of its inbox.

    Leaves it unassigned when nobody is available; it is picked up when an
    agent becomes available (`offer_waiting_work`).
    """
    if conversation.inbox_id is None or conversation.assignee_id or conversation.is_closed:
        return conversation.assignee
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if locked.assignee_id or locked.is_closed:
            conversation.assignee_id = locked.assignee_id
            return locked.assignee
        agent = pick_agent(locked.inbox, conversation.entry_point.channel_id)
        if agent is None:
            return None
        locked.assignee = agent
        locked.save(update_fields=["assignee", "updated_at"])
        change_feed.mark_changed([locked.pk], inbox_id=locked.inbox_id)
    conversation.assignee = agent
    return agent


def offer_waiting_work(user, channel) -> list[Conversation]:
    """An agent became available in a Channel: hand unassigned open conversations of their
    inboxes to available agents, oldest first."""
    waiting = (
        Conversation.objects.filter(
            inbox__memberships__user=user,
            entry_point__channel=channel,
            assignee__isnull=True,
        )
        .exclude(status=Conversation.Status.CLOSED)
        .select_related("entry_point__channel")
        .order_by("opened_at", "id")
        .distinct()
    )
    assigned = []
    for conversation in waiting:
        if assign(conversation) is None:
            break
        assigned.append(conversation)
    return assigned


def assign_waiting_conversations() -> int:
    """Offer every routed, unassigned, open conversation to an available agent.

    Returns how many were assigned. Oldest first, so nobody waits behind newcomers.
    """
    waiting = (
        Conversation.objects.filter(inbox__isnull=False, assignee__isnull=True)
        .exclude(status=Conversation.Status.CLOSED)
        .select_related("entry_point__channel")
        .order_by("opened_at", "id")
    )
    return sum(1 for conversation in waiting if assign(conversation) is not None)
