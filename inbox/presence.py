"""Who else has a conversation open: "Ada is viewing / typing", before two agents answer the same customer.

Pages report over the inbox socket (`inbox.consumers`), or by the fallback
poll while it is down; both write here, and a change (someone arrives,
starts or stops typing, leaves) is pushed to the sockets watching the
conversation, which answer with `others` for their agent.
"""

from datetime import timedelta

from django.utils import timezone

from conversations.live.groups import conversation_group
from conversations.live.publish import publish

from .models import ConversationPresence

# A page reports every few seconds; after this long without a report the agent has gone.
PRESENCE_TIMEOUT = timedelta(seconds=15)


def report(user, conversation_id, typing: bool = False) -> bool:
    """The agent's page says it shows the conversation (and whether they are typing a reply).

    Returns whether the others should hear of it: the agent arrived (or had
    gone quiet) or started or stopped typing; a report that only says "still
    here" changes nothing they see."""
    now = timezone.now()
    before = (
        ConversationPresence.objects.filter(user=user, conversation_id=conversation_id)
        .values_list("typing", "seen_at")
        .first()
    )
    ConversationPresence.objects.update_or_create(
        user=user, conversation_id=conversation_id, defaults={"typing": typing, "seen_at": now}
    )
    return before is None or before[0] != typing or before[1] < now - PRESENCE_TIMEOUT


def leave(user, conversation_id) -> None:
    ConversationPresence.objects.filter(user=user, conversation_id=conversation_id).delete()


def announce(conversation_id) -> None:
    """Tell the sockets watching the conversation that who is there changed."""
    publish(conversation_group(conversation_id), {"type": "presence.changed", "conversation_id": conversation_id})


def as_json(others) -> list[dict]:
    """The others as the page's socket shows them (names as text)."""
    return [{"name": other.user.first_name or str(other.user), "typing": other.typing} for other in others]


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
