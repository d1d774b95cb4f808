"""Rules: when a customer message matches a rule's conditions, do its actions.

Rules run in position order when a customer message arrives (including the one
that creates a conversation), each at most once per message (`RuleFiring` is
unique per rule and message). They run only on customer messages, never on
our own auto-replies or their echoes, so a rule that sends cannot loop.
"""

import logging
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from . import configuration, routing, services
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
        schedule = rule.schedule_hours or business_hours_for(conversation)
        within = is_within_business_hours(schedule, item.occurred_at)
        if within != (rule.hours == Rule.Hours.WITHIN):
            return False
    return True


@dataclass(frozen=True)
class DryRun:
    checked: int
    touched: list[tuple[Conversation, TimelineItem]]


def dry_run(rule: Rule, limit: int = 100) -> DryRun:
    """Which of the last `limit` conversations the rule would have touched, judged on each one's
    latest customer message. Reads only: nothing is applied, nothing recorded."""
    conversations = (
        Conversation.objects.filter(last_customer_message_at__isnull=False)
        .select_related("entry_point__channel", "inbox", "customer", "assignee")
        .order_by("-last_customer_message_at", "-pk")[:limit]
    )
    checked, touched = 0, []
    for conversation in conversations:
        item = (
            conversation.items.filter(direction=TimelineItem.Direction.INBOUND, kind__in=INBOUND_KINDS)
            .order_by("-occurred_at", "-pk")
            .first()
        )
        if item is None:
            continue
        checked += 1
        if rule_matches(rule, conversation, item):
            touched.append((conversation, item))
    return DryRun(checked=checked, touched=touched)


def _add_note(conversation, text, rule) -> TimelineItem:
    return services.add_internal_item(
        conversation, TimelineItem.Kind.NOTE, text, source=f"rule:{rule.pk}", rule=rule.name
    )


def _copy_state(conversation: Conversation, changed: Conversation) -> None:
    """Keep the caller's object in step with what a service changed."""
    for name in ("inbox_id", "assignee_id", "status", "closed_at", "unrouted_reason"):
        setattr(conversation, name, getattr(changed, name))


def apply_actions(rule: Rule, conversation: Conversation, item: TimelineItem) -> str:
    """Do the rule's actions in order (note, auto-reply, move, assign, topic, close); returns what happened.

    Moves, assignments and closes go through the same services as an agent's,
    with their locks, checks and audit items.
    """
    by = f"The rule “{rule.name}”"
    done = []
    if rule.note_text.strip():
        _add_note(conversation, rule.note_text.strip(), rule)
        done.append("added a note")
    if rule.auto_reply_text.strip():
        result = send_auto_reply_within_window(conversation, rule.auto_reply_text.strip(), source=f"rule:{rule.pk}")
        done.append("sent an auto-reply" if result.sent else f"auto-reply not sent: {result.refused}")
    if rule.move_to_inbox_id and rule.move_to_inbox_id != conversation.inbox_id:
        try:
            moved = services.transfer_conversation(conversation, None, rule.move_to_inbox, by=by)
        except services.ActionRefused as refused:
            done.append(f"not moved: {refused}")
        else:
            _copy_state(conversation, moved)
            done.append(f"moved to {rule.move_to_inbox}")
            if not rule.assign_to_id:
                agent = routing.assign(conversation)
                if agent is not None:
                    done.append(f"offered to {agent}")
    if rule.assign_to_id:
        if not rule.assign_to.is_active:
            done.append(f"not assigned: {rule.assign_to} is deactivated")
        else:
            try:
                assigned = services.assign_conversation(conversation, None, rule.assign_to, by=by)
            except services.ActionRefused as refused:
                done.append(f"not assigned: {refused}")
            else:
                _copy_state(conversation, assigned)
                done.append(f"assigned to {rule.assign_to}")
    if rule.add_topic_id and services.add_topic(conversation, None, rule.add_topic, by=by):
        done.append(f"added the topic {rule.add_topic}")
    if rule.close and not conversation.is_closed:
        _copy_state(conversation, services.close_conversation(conversation, None, by=by))
        done.append("closed the conversation")
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
    rules = configuration.active_rules()
    for rule in rules:
        if conversation.is_closed:
            break
        # A rule fires at most once per message: the unique (rule, item) insert below
        # says so, also when the same message is processed again.
        if not rule_matches(rule, conversation, item):
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
