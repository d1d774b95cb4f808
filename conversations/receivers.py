"""How the Conversation SLA, Rules and Business Hours react to the core's signals.

Connected once in `ConversationsConfig.ready`.
"""

from django.db.models.signals import post_delete, post_save

from . import business_hours, configuration, rules, signals
from .live import receivers as live_receivers
from .models import BusinessHours, BusinessHoursInterval, Holiday, Rule, TimelineItem
from .sla import clock


def on_customer_message_received(sender, conversation, item, conversation_created=False, **kwargs):
    """Start the SLA, then run the Rules in order, then the outside-hours auto-reply."""
    if not rules.is_customer_message(item):
        return
    if item.metadata.get("automated"):
        # An auto-reply or bounce from the customer's side: kept, never answered
        # by Rules or auto-replies (no mail loops), and nobody owes it a reply.
        return
    if conversation.sla_due_at is None:
        # A running period keeps `sla_due_at` set, so only a conversation without one
        # needs the clock's look.
        clock.start_clock(conversation, item, new_conversation=conversation_created)
    rules.run_rules(conversation, item)
    business_hours.send_outside_hours_reply(conversation, item)


def on_agent_message_queued(sender, conversation, item, **kwargs):
    """The agent answered: the queued time satisfies the SLA."""
    clock.satisfy_clock(conversation, item)


def on_outbound_failed(sender, item, reason="", **kwargs):
    """A failed agent message did not answer the customer: the SLA runs again."""
    if item.kind == TimelineItem.Kind.AGENT_MESSAGE:
        clock.restore_clock(item)


def on_conversation_closed(sender, conversation, by=None, **kwargs):
    clock.stop_clock(conversation)


def connect():
    signals.customer_message_received.connect(
        on_customer_message_received, dispatch_uid="conversations.customer_message"
    )
    signals.agent_message_queued.connect(on_agent_message_queued, dispatch_uid="conversations.agent_message")
    signals.outbound_failed.connect(on_outbound_failed, dispatch_uid="conversations.outbound_failed")
    signals.conversation_closed.connect(on_conversation_closed, dispatch_uid="conversations.closed")
    live_receivers.connect()
    for model in (Rule, BusinessHours, BusinessHoursInterval, Holiday):
        post_save.connect(configuration.forget, sender=model, dispatch_uid=f"conversations.forget.{model.__name__}")
        post_delete.connect(configuration.forget, sender=model, dispatch_uid=f"conversations.forget.{model.__name__}.d")
