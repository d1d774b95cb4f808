"""Rules: when a customer message matches a rule's conditions, do its actions.

Rules run in position order when a customer message arrives (including the one
that creates a conversation), each at most once per message (`RuleFiring` is
unique per rule and message). They run only on customer messages, never on
our own auto-replies or their echoes, so a rule that sends cannot loop.
"""

import logging
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import signals
from .business_hours import (
    INBOUND_KINDS,
    business_hours_for,
    is_first_customer_message,
    is_within_business_hours,
    send_auto_reply_within_window,
)
from .models import Conversation, Rule, RuleFiring, TimelineItem

logger = logging.getLogger(__name__)


def is_customer_message(item: TimelineItem) -> bool:
    return item.direction == TimelineItem.Direction.INBOUND and item.kind in INBOUND_KINDS


def text_matches(rule: Rule, text: str) -> bool:
    words = rule.word_list()
    if not words:
        return True
    text = (text or "").lower()
    if rule.words_match == Rule.WordsMatch.WHOLE_WORD:
        return any(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) for word in words)
    return any(word in text for word in words)


def rule_matches(rule: Rule, conversation: Conversation, item: TimelineItem) -> bool:
    """Whether every condition the rule sets holds for this message."""
    if rule.channel_id and conversation.entry_point.channel_id != rule.channel_id:
        return False
    if rule.entry_point_id and conversation.entry_point_id != rule.entry_point_id:
        return False
    if rule.inbox_id and conversation.inbox_id != rule.inbox_id:
        return False
    if rule.first_message_only and not is_first_customer_message(conversation, item):
        return False
    if not text_matches(rule, item.text):
        return False
    if rule.customer_is_new and conversation.customer.conversations.exclude(pk=conversation.pk).exists():
        return False
    if rule.hours:
        schedule = rule.business_hours or business_hours_for(conversation)
        within = is_within_business_hours(schedule, item.occurred_at)
        if within != (rule.hours == Rule.Hours.WITHIN):
            return False
    return True


def _add_note(conversation, text, rule) -> TimelineItem:
    from .services import add_internal_item

    return add_internal_item(conversation, TimelineItem.Kind.NOTE, text, source=f"rule:{rule.pk}", rule=rule.name)


def _close(conversation, rule):
    now = timezone.now()
    conversation.status = Conversation.Status.CLOSED
    conversation.closed_at = now
    conversation.save(update_fields=["status", "closed_at", "updated_at"])
    TimelineItem.objects.create(
        conversation=conversation,
        entry_point_id=conversation.entry_point_id,
        kind=TimelineItem.Kind.STATUS_CHANGE,
        direction=TimelineItem.Direction.INTERNAL,
        text=f"Closed by the rule “{rule.name}”.",
        occurred_at=now,
        created_at=now,
        metadata={"source": f"rule:{rule.pk}", "status": Conversation.Status.CLOSED},
    )
    signals.conversation_closed.send(sender=Rule, conversation=conversation, by=None)


def apply_actions(rule: Rule, conversation: Conversation, item: TimelineItem) -> str:
    """Do the rule's actions in order (note, auto-reply, move, assign, close); returns what happened."""
    from inbox.services import assign

    done = []
    if rule.note_text.strip():
        _add_note(conversation, rule.note_text.strip(), rule)
        done.append("added a note")
    if rule.auto_reply_text.strip():
        result = send_auto_reply_within_window(conversation, rule.auto_reply_text.strip(), source=f"rule:{rule.pk}")
        done.append("sent an auto-reply" if result.sent else f"auto-reply not sent: {result.refused}")
    if rule.move_to_inbox_id and rule.move_to_inbox_id != conversation.inbox_id:
        conversation.inbox = rule.move_to_inbox
        conversation.unrouted_reason = ""
        conversation.assignee = None
        conversation.save(update_fields=["inbox", "unrouted_reason", "assignee", "updated_at"])
        done.append(f"moved to {rule.move_to_inbox}")
        if not rule.assign_to_id:
            agent = assign(conversation)
            if agent is not None:
                done.append(f"offered to {agent}")
    if rule.assign_to_id:
        if rule.assign_to.is_active:
            conversation.assignee = rule.assign_to
            conversation.save(update_fields=["assignee", "updated_at"])
            done.append(f"assigned to {rule.assign_to}")
        else:
            done.append(f"not assigned: {rule.assign_to} is deactivated")
    if rule.close and not conversation.is_closed:
        _close(conversation, rule)
        done.append("closed the conversation")
    Conversation.touch(conversation.pk)
    summary = "; ".join(done)
    return summary[:1].upper() + summary[1:]


def run_rules(conversation: Conversation, item: TimelineItem) -> list[RuleFiring]:
    """Run the active rules in order on a customer message; returns the firings.

    A rule that already fired for this message (the event was delivered
    again) is skipped. A failing rule is recorded and does not stop the others
    or lose the message. Closing the conversation stops later rules.
    """
    if not is_customer_message(item):
        return []
    firings = []
    rules = Rule.objects.filter(active=True).select_related("business_hours", "move_to_inbox", "assign_to")
    for rule in rules:
        if conversation.is_closed:
            break
        if RuleFiring.objects.filter(rule=rule, item=item).exists() or not rule_matches(rule, conversation, item):
            continue
        try:
            with transaction.atomic():
                firing = RuleFiring.objects.create(rule=rule, item=item, conversation=conversation)
                firing.outcome = apply_actions(rule, conversation, item)
                firing.save(update_fields=["outcome"])
        except IntegrityError:
            # Another worker fired it for this message at the same moment.
            conversation.refresh_from_db()
            continue
        except Exception as error:
            logger.exception("Rule %s failed on item %s", rule.pk, item.pk)
            conversation.refresh_from_db()
            firing = RuleFiring.objects.create(
                rule=rule, item=item, conversation=conversation, outcome=f"Failed: {error}"
            )
        firings.append(firing)
    return firings
