"""Events other parts of the app react to (SLA, Rules, Business Hours, live updates).

Senders pass keyword arguments named as documented on each signal.
"""

from django.dispatch import Signal

# conversation, item, conversation_created (bool): after a customer's message is stored.
customer_message_received = Signal()
# conversation, item: an agent's message was queued (the agent answered).
agent_message_queued = Signal()
# item, message_id: the provider accepted an outbound message.
outbound_sent = Signal()
# item, reason: an outbound message failed for good.
outbound_failed = Signal()
# conversation, by (user or None): a conversation was closed / reopened.
conversation_closed = Signal()
conversation_reopened = Signal()
# conversation_id, inbox_id (None when the caller did not know it): a conversation changed
# (sent after commit by `Conversation.touch`); live updates push it to the pages that show it.
conversation_changed = Signal()
