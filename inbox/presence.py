"""Who else has a conversation open: "Ada is viewing / typing", before two agents answer the same customer."""

from datetime import timedelta

from django.utils import timezone

from .models import ConversationPresence

# A page reports every few seconds; after this long without a report the agent has gone.
PRESENCE_TIMEOUT = timedelta(seconds=15)


def report(user, conversation_id, typing: bool = False) -> None:
    """The agent's page says it shows the conversation (and whether they are typing a reply)."""
    ConversationPresence.objects.update_or_create(
        user=user, conversation_id=conversation_id, defaults={"typing": typing, "seen_at": timezone.now()}
    )


def leave(user, conversation_id) -> None:
    ConversationPresence.objects.filter(user=user, conversation_id=conversation_id).delete()


def others(user, conversation_id) -> list[ConversationPresence]:
    """The other agents looking at the conversation now, typists first."""
    return list(
        ConversationPresence.objects.filter(
            conversation_id=conversation_id, seen_at__gte=timezone.now() - PRESENCE_TIMEOUT
        )
        .exclude(user=user)
        .select_related("user")
        .order_by("-typing", "user__first_name")
    )


def prune(now=None) -> int:
    """Forget reports older than a minute (the beat task keeps the table small)."""
    now = now or timezone.now()
    return ConversationPresence.objects.filter(seen_at__lt=now - timedelta(minutes=1)).delete()[0]
