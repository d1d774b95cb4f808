"""What agents (and automations) send to customers.

Each function writes the timeline item as `queued` and an outbound queue row in
one transaction, then enqueues the account's drainer on commit. The drainer
(conversations.tasks.drain_account) sends in queue order within the rate limit.
"""

from celery import current_app
from django.db import transaction
from django.utils import timezone

from channels_app.models import InstagramAccount, OutboundMessage

from . import signals
from .models import Conversation, CustomerIdentity, TimelineItem


class SendRefused(Exception):
    """The message cannot be sent; the reason is meant for the agent."""


def _account_and_recipient(conversation: Conversation) -> tuple[InstagramAccount, str]:
    try:
        account = conversation.entry_point.instagram_account
    except InstagramAccount.DoesNotExist:
        raise SendRefused("This conversation's entry point cannot send messages.") from None
    identity = CustomerIdentity.objects.filter(
        customer_id=conversation.customer_id, entry_point_id=conversation.entry_point_id
    ).first()
    if identity is None:
        raise SendRefused("The customer has no Instagram identity at this account.")
    return account, identity.external_id


def enqueue_drain(account_id: int) -> None:
    transaction.on_commit(lambda: current_app.send_task("conversations.tasks.drain_account", args=[account_id]))


def _queue(conversation, *, kind, item_kind, author, text="", payload, reply_to=None) -> TimelineItem:
    account, recipient_id = _account_and_recipient(conversation)
    now = timezone.now()
    with transaction.atomic():
        item = TimelineItem.objects.create(
            conversation=conversation,
            entry_point_id=conversation.entry_point_id,
            kind=item_kind,
            direction=TimelineItem.Direction.OUTBOUND,
            author=author,
            text=text,
            occurred_at=now,
            created_at=now,
            delivery_status=TimelineItem.Delivery.QUEUED,
            reply_to=reply_to,
        )
        OutboundMessage.objects.create(
            account=account, item=item, kind=kind, recipient_id=recipient_id, payload=payload, created_at=now
        )
        Conversation.touch(conversation.pk)
        enqueue_drain(account.pk)
        if item_kind == TimelineItem.Kind.AGENT_MESSAGE:
            signals.agent_message_queued.send(sender=TimelineItem, conversation=conversation, item=item)
    return item


def send_reply(conversation: Conversation, agent, text: str) -> TimelineItem:
    """Queue an agent's text reply to the customer."""
    text = (text or "").strip()
    if not text:
        raise SendRefused("Write a message first.")
    return _queue(
        conversation,
        kind=OutboundMessage.Kind.TEXT,
        item_kind=TimelineItem.Kind.AGENT_MESSAGE,
        author=agent,
        text=text,
        payload={"text": text},
    )


def send_like(item: TimelineItem, agent) -> TimelineItem:
    """Queue a heart reaction on a customer's message (Meta maps every reaction to a heart)."""
    if item.kind not in (TimelineItem.Kind.CUSTOMER_MESSAGE, TimelineItem.Kind.STORY_REPLY) or not item.external_id:
        raise SendRefused("Only a customer's message can be liked.")
    return _queue(
        item.conversation,
        kind=OutboundMessage.Kind.REACTION,
        item_kind=TimelineItem.Kind.AGENT_LIKE,
        author=agent,
        payload={"message_id": item.external_id, "reaction": "love"},
        reply_to=item,
    )


def send_auto_reply(conversation: Conversation, text: str, *, source: str = "") -> TimelineItem:
    """Queue an automatic reply (Rules, Business Hours). It never counts as an agent reply."""
    item = _queue(
        conversation,
        kind=OutboundMessage.Kind.TEXT,
        item_kind=TimelineItem.Kind.AUTO_REPLY,
        author=None,
        text=text,
        payload={"text": text},
    )
    if source:
        item.metadata = {"source": source}
        item.save(update_fields=["metadata"])
    return item
