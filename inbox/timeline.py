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
    _mark_for_display(conversation, page)
    return Timeline(items=page, has_earlier=has_earlier, liked_ids=liked)


def _mark_for_display(conversation: Conversation, items) -> None:
    """What an item shows beside its own fields: the customer's reaction, and a queued one's reason to wait
    (the Entry Point's sending state is read only when something waits)."""
    _mark_customer_reactions(conversation, items)
    queued = [item for item in items if item.delivery_status == TimelineItem.Delivery.QUEUED]
    reasons = outbound.queued_reasons(queued, outbound.sending_state(conversation.entry_point)) if queued else {}
    for item in items:
        item.queue_reason = reasons.get(item.pk, "")


@dataclass
class TimelineDelta:
    """What an open page lacks: new items in timeline order, each with `follows_id` (the item it
    comes after, None for the first) and `new_day`, and the queued items it shows again (their
    reason to wait may have changed)."""

    items: list
    refreshed: list
    liked_ids: set = field(default_factory=set)


# The newest item ids a page reports having; an item that commits late (a worker's
# transaction behind others) is found as long as fewer than this many came after it.
KNOWN_IDS = 100


def timeline_delta(conversation: Conversation, known_ids, limit: int = TIMELINE_PAGE) -> TimelineDelta | None:
    """The items of `conversation` a page showing `known_ids` (its newest item ids) does not have.

    Any item after the oldest known one that the page lacks comes back, so one that
    committed after a later one is not skipped. None when the page should redraw the
    timeline: it knows no items, or more than `limit` are new."""
    known = set(known_ids)
    if not known:
        return None
    order = list(
        TimelineItem.objects.filter(conversation=conversation, pk__gte=min(known))
        .order_by("occurred_at", "id")
        .values_list("pk", "occurred_at", "delivery_status")
    )
    new_ids = [pk for pk, _, _ in order if pk not in known]
    if len(new_ids) > limit:
        return None
    queued_ids = [pk for pk, _, status in order if pk in known and status == TimelineItem.Delivery.QUEUED]
    wanted = {item.pk: item for item in _items([conversation.pk]).filter(pk__in=new_ids + queued_ids)}
    previous, previous_day = None, None
    items = []
    for pk, occurred_at, _ in order:
        if pk in wanted and pk not in known:
            item = wanted[pk]
            item.new_day = previous_day != occurred_at.date()
            item.follows_id = previous
            items.append(item)
        previous, previous_day = pk, occurred_at.date()
    refreshed = [wanted[pk] for pk in queued_ids if pk in wanted]
    _mark_for_display(conversation, items + refreshed)
    return TimelineDelta(items=items, refreshed=refreshed)


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
