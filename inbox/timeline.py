"""The customer timeline shown in a conversation: its items and the customer's other conversations."""

from dataclasses import dataclass, field

from django.db.models import Prefetch, Q

from conversations import outbound
from conversations.models import Attachment, Conversation, CustomerReaction, TimelineItem

# Items of the open conversation rendered at once; earlier ones load on demand.
TIMELINE_PAGE = 100


@dataclass
class Timeline:
    items: list
    has_earlier: bool
    liked_ids: set = field(default_factory=set)


def _items(conversation_ids):
    return (
        TimelineItem.objects.filter(conversation_id__in=conversation_ids)
        .select_related("author", "reply_to", "entry_point")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
    )


def conversation_items(conversation: Conversation, before: int | None = None, limit: int = TIMELINE_PAGE) -> Timeline:
    """The newest `limit` items of a conversation (before an item id, to page back), oldest first."""
    items = _items([conversation.pk]).order_by("-occurred_at", "-id")
    if before:
        anchor = TimelineItem.objects.filter(conversation=conversation, pk=before).values("occurred_at").first()
        if anchor:
            items = items.filter(
                Q(occurred_at__lt=anchor["occurred_at"]) | Q(occurred_at=anchor["occurred_at"], pk__lt=before)
            )
    page = list(items[: limit + 1])
    has_earlier = len(page) > limit
    page = list(reversed(page[:limit]))
    liked = {item.reply_to_id for item in page if item.kind == TimelineItem.Kind.AGENT_LIKE and item.reply_to_id}
    _mark_customer_reactions(conversation, page)
    reasons = outbound.queued_reasons(page, outbound.sending_state(conversation.entry_point))
    for item in page:
        item.queue_reason = reasons.get(item.pk, "")
    return Timeline(items=page, has_earlier=has_earlier, liked_ids=liked)


def _mark_customer_reactions(conversation: Conversation, items) -> None:
    """The customer's current reaction to each of our messages (a small mark, never an item of its own)."""
    ours = {item.external_id: item for item in items if item.direction == TimelineItem.Direction.OUTBOUND}
    ours.pop("", None)
    for item in items:
        item.customer_reaction = ""
    if not ours:
        return
    reactions = CustomerReaction.objects.filter(
        entry_point_id=conversation.entry_point_id,
        customer_id=conversation.customer_id,
        message_external_id__in=list(ours),
    ).order_by("occurred_at", "id")
    for reaction in reactions:  # the latest one wins: a react after an unreact shows again
        item = ours[reaction.message_external_id]
        item.customer_reaction = "" if reaction.action == "unreact" else (reaction.emoji or "❤️")


def other_conversations(conversation: Conversation, visible):
    """The customer's other conversations the agent may see, newest first."""
    return list(
        visible.filter(customer_id=conversation.customer_id)
        .exclude(pk=conversation.pk)
        .select_related("entry_point", "inbox")
        .order_by("-opened_at")[:20]
    )
