"""The choices the list's filters, bulk bar and the snooze menu offer."""

from datetime import timedelta

from django.utils import timezone

from channels_app.models import Channel
from conversations.models import Topic

from . import conversation_list as listing
from .models import User


def list_tools(user, inbox_ids) -> dict:
    """Topics, Channels, agents, statuses, SLA states and sorts for the filter bar and the bulk bar."""
    return {
        "all_topics": all_topics(user),
        "list_channels": list(Channel.objects.filter(inboxes__pk__in=inbox_ids).distinct().order_by("id")),
        "list_agents": list(User.objects.filter(memberships__inbox_id__in=inbox_ids, is_active=True).distinct()),
        "statuses": listing.STATUSES,
        "sla_states": listing.SLA_STATES,
        "sorts": listing.SORTS,
    }


def all_topics(user) -> list:
    """Every Topic, read once per request (the list's filter and the conversation's header both show them)."""
    cached = getattr(user, "_all_topics", None)
    if cached is None:
        cached = list(Topic.objects.all())
        user._all_topics = cached
    return cached


def snooze_choices(now=None):
    """The snooze menu: key, label and moment (None: until the customer's next message)."""
    now = timezone.localtime(now or timezone.now())
    tomorrow_morning = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    next_monday = (now + timedelta(days=7 - now.weekday())).replace(hour=9, minute=0, second=0, microsecond=0)
    return [
        ("1h", "For an hour", now + timedelta(hours=1)),
        ("4h", "For 4 hours", now + timedelta(hours=4)),
        ("tomorrow", "Until tomorrow 9:00", tomorrow_morning),
        ("next_week", "Until Monday 9:00", next_monday),
        ("reply", "Until the customer writes", None),
    ]
