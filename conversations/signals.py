"""Events other parts of the app react to (SLA, Rules, Business Hours, live updates).

Senders pass keyword arguments named as documented on each signal.
"""

from django.dispatch import Signal

# conversation, item, conversation_created (bool): after a customer's message is stored.
customer_message_received = Signal()
# conversation, item: an agent's message was queued (the agent answered).
agent_message_queued = Signal()
# item, message_id: Meta accepted an outbound message.
outbound_sent = Signal()
# item, reason: an outbound message failed for good.
outbound_failed = Signal()
# conversation, by (user or None): a conversation was closed / reopened.
conversation_closed = Signal()
conversation_reopened = Signal()


# --- Receivers: the Conversation SLA, Rules and Business Hours react here. ----------
# Imports are inside the functions: the services import conversations.outbound,
# which imports this module.


def on_customer_message_received(sender, conversation, item, conversation_created=False, **kwargs):
    """Start the SLA, then run the Rules in order, then the outside-hours auto-reply."""
    from . import business_hours, rules, sla

    if not rules.is_customer_message(item):
        return
    sla.start_clock(conversation, item)
    rules.run_rules(conversation, item)
    business_hours.send_outside_hours_reply(conversation, item)


def on_agent_message_queued(sender, conversation, item, **kwargs):
    """The agent answered: the queued time satisfies the SLA."""
    from . import sla

    sla.satisfy_clock(conversation, item)


def on_outbound_failed(sender, item, reason="", **kwargs):
    """A failed agent message did not answer the customer: the SLA runs again."""
    from . import sla
    from .models import TimelineItem

    if item.kind == TimelineItem.Kind.AGENT_MESSAGE:
        sla.restore_clock(item)


def on_conversation_closed(sender, conversation, by=None, **kwargs):
    from . import sla

    sla.stop_clock(conversation)


def connect_receivers():
    customer_message_received.connect(on_customer_message_received, dispatch_uid="conversations.customer_message")
    agent_message_queued.connect(on_agent_message_queued, dispatch_uid="conversations.agent_message")
    outbound_failed.connect(on_outbound_failed, dispatch_uid="conversations.outbound_failed")
    conversation_closed.connect(on_conversation_closed, dispatch_uid="conversations.closed")
