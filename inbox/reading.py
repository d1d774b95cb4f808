"""What each agent has seen: unread markers, unread counts per inbox, and what to notify them of."""

from dataclasses import dataclass

from django.db.models import BooleanField, Count, ExpressionWrapper, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from conversations.models import Conversation, TimelineItem

from .models import ConversationRead

# Items that make a conversation unread: what the customer sent.
UNREAD_DIRECTION = TimelineItem.Direction.INBOUND


def mark_read(user, conversation_id) -> None:
    """The agent has seen the conversation up to its newest item (one UPDATE once the marker exists)."""
    newest = Subquery(TimelineItem.objects.filter(conversation_id=conversation_id).order_by("-pk").values("pk")[:1])
    marker = ConversationRead.objects.filter(user=user, conversation_id=conversation_id)
    if marker.update(last_seen_item_id=Coalesce(newest, 0), seen_at=timezone.now()):
        return
    last = TimelineItem.objects.filter(conversation_id=conversation_id).aggregate(newest=Max("pk"))["newest"] or 0
    ConversationRead.objects.update_or_create(
        user=user, conversation_id=conversation_id, defaults={"last_seen_item_id": last}
    )


def unread_condition(user):
    """An expression: the conversation's newest customer item is newer than the agent last saw.

    Written as two scalar subqueries (each an index look-up per conversation)
    rather than an EXISTS over items, which PostgreSQL may answer by scanning
    every timeline item."""
    seen = ConversationRead.objects.filter(user=user, conversation_id=OuterRef("pk")).values("last_seen_item_id")[:1]
    newest_inbound = (
        TimelineItem.objects.filter(conversation_id=OuterRef("pk"), direction=UNREAD_DIRECTION)
        .order_by("-pk")
        .values("pk")[:1]
    )
    return Q(_newest_inbound__gt=Coalesce(Subquery(seen), 0)), {"_newest_inbound": Subquery(newest_inbound)}


def with_unread(conversations, user):
    condition, annotations = unread_condition(user)
    return conversations.annotate(**annotations).annotate(
        unread=ExpressionWrapper(condition, output_field=BooleanField())
    )


def unread_counts(user, inbox_ids) -> dict[int, int]:
    """Open conversations with something unread, per Inbox, in one query."""
    condition, annotations = unread_condition(user)
    rows = (
        Conversation.objects.filter(inbox_id__in=inbox_ids)
        .exclude(status=Conversation.Status.CLOSED)
        .annotate(**annotations)
        .filter(condition)
        .values("inbox_id")
        .annotate(unread=Count("pk"))
    )
    return {row["inbox_id"]: row["unread"] for row in rows}


@dataclass(frozen=True)
class Notice:
    item_id: int
    conversation_id: int
    title: str
    body: str


def notices_since(user, inbox_ids, after_item_id: int, limit: int = 5) -> list[Notice]:
    """Customer messages after an item id in conversations assigned to the agent: new ones offered, new messages."""
    items = (
        TimelineItem.objects.filter(
            pk__gt=after_item_id,
            direction=UNREAD_DIRECTION,
            conversation__assignee=user,
            conversation__inbox_id__in=inbox_ids,
        )
        .select_related("conversation__customer", "entry_point")
        .order_by("pk")[:limit]
    )
    notices = []
    for item in items:
        customer = item.conversation.customer.display_name
        first = not TimelineItem.objects.filter(
            Q(conversation_id=item.conversation_id, direction=UNREAD_DIRECTION, pk__lt=item.pk)
        ).exists()
        title = f"New conversation from {customer}" if first else f"{customer} wrote"
        notices.append(Notice(item.pk, item.conversation_id, title, (item.text or "Sent an attachment")[:140]))
    return notices


def newest_item_id() -> int:
    return TimelineItem.objects.aggregate(newest=Max("pk"))["newest"] or 0
