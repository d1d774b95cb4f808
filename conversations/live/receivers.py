"""The core says a conversation changed (after commit): tell the sockets of its inbox."""

import logging

from conversations import signals
from conversations.models import Conversation

from .groups import conversation_group, inbox_group
from .publish import publish_many

logger = logging.getLogger(__name__)


def on_conversation_changed(sender, conversation_id, inbox_id=None, **kwargs):
    if inbox_id is None:
        inbox_id = Conversation.objects.filter(pk=conversation_id).values_list("inbox_id", flat=True).first()
    message = {"type": "conversation.changed", "conversation_id": conversation_id, "inbox_id": inbox_id}
    groups = [inbox_group(inbox_id)] if inbox_id is not None else []
    groups.append(conversation_group(conversation_id))
    try:
        publish_many([(group, message) for group in groups])
    except Exception:
        # Push is a convenience: pages catch up from their cursor; never fail the change itself.
        logger.exception("Could not publish the change of conversation %s", conversation_id)


def connect():
    signals.conversation_changed.connect(on_conversation_changed, dispatch_uid="conversations.live.changed")
