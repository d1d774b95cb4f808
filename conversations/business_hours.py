"""Business Hours: which schedule a conversation follows, and the outside-hours auto-reply.

Auto-replies (from Business Hours and from Rules) go through the same
rate-limited queue as agents' replies (`outbound.send_auto_reply`), only where
the reply window allows automatic messages (`conversations.window`), and never
count as an agent reply.
"""

import datetime
import logging
from dataclasses import dataclass

from . import configuration, outbound, services
from .models import BusinessHours, Conversation, TimelineItem
from .schedule import is_open

logger = logging.getLogger(__name__)

INBOUND_KINDS = (
    TimelineItem.Kind.CUSTOMER_MESSAGE,
    TimelineItem.Kind.STORY_REPLY,
    TimelineItem.Kind.STORY_MENTION,
)
SOURCE = "business_hours"


def business_hours_for(conversation: Conversation) -> BusinessHours | None:
    """The Entry Point's schedule if it has one (the more specific address), else the Inbox's."""
    entry_point = conversation.entry_point
    if entry_point.business_hours_id:
        return configuration.business_hours(entry_point.business_hours_id)
    if conversation.inbox_id and conversation.inbox.business_hours_id:
        return configuration.business_hours(conversation.inbox.business_hours_id)
    return None


def is_within_business_hours(business_hours: BusinessHours | None, moment: datetime.datetime) -> bool:
    """No schedule means always open."""
    return is_open(business_hours.schedule if business_hours else None, moment)


@dataclass(frozen=True)
class AutoReplyResult:
    item: TimelineItem | None = None
    refused: str = ""

    @property
    def sent(self):
        return self.item is not None


def send_auto_reply_within_window(conversation: Conversation, text: str, *, source: str) -> AutoReplyResult:
    """Queue an auto-reply if the reply window allows automatic messages; otherwise refuse with a reason."""
    try:
        item = outbound.send_auto_reply(conversation, text, source=source)
    except outbound.SendRefused as refusal:
        return AutoReplyResult(refused=str(refusal))
    return AutoReplyResult(item=item)


def already_handled(conversation: Conversation) -> bool:
    return conversation.items.filter(metadata__source=SOURCE).exists()


def is_first_customer_message(conversation: Conversation, item: TimelineItem) -> bool:
    earlier = conversation.items.filter(direction=TimelineItem.Direction.INBOUND, kind__in=INBOUND_KINDS).exclude(
        pk=item.pk
    )
    earlier = earlier.filter(occurred_at__lt=item.occurred_at) | earlier.filter(
        occurred_at=item.occurred_at, pk__lt=item.pk
    )
    return not earlier.exists()


def send_outside_hours_reply(conversation: Conversation, item: TimelineItem) -> AutoReplyResult | None:
    """Outside hours, answer the first customer message of a conversation with the schedule's auto-reply.

    Once per conversation: a later message, or the same message delivered
    again, gets nothing. A refusal (outside the 24-hour window, or no way to
    send) is recorded in the timeline as a note, so agents see why.
    """
    if conversation.is_closed:
        return None
    business_hours = business_hours_for(conversation)
    if business_hours is None or not business_hours.auto_reply_text.strip():
        return None
    if is_within_business_hours(business_hours, item.occurred_at):
        return None
    if not is_first_customer_message(conversation, item) or already_handled(conversation):
        return None
    result = send_auto_reply_within_window(conversation, business_hours.auto_reply_text.strip(), source=SOURCE)
    if result.refused:
        logger.info("Business Hours auto-reply not sent in conversation %s: %s", conversation.pk, result.refused)
        services.add_internal_item(
            conversation,
            TimelineItem.Kind.NOTE,
            f"Business Hours auto-reply (“{business_hours.name}”) not sent: {result.refused.rstrip('.')}.",
            source=SOURCE,
            auto_reply_refused=True,
        )
        Conversation.touch(conversation.pk, items_changed=False)
    return result
