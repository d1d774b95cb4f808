"""The Chat Channel's reactions to core events (connected in ChatConfig.ready)."""

import logging

from celery import current_app
from django.db import transaction

from . import transcripts

logger = logging.getLogger(__name__)


def transcript_on_close(sender, conversation, by=None, **kwargs):
    """A chat closed with a visitor who left an address: their transcript goes by email, after commit."""
    if not transcripts.wants_transcript(conversation):
        return
    item = transcripts.close_item(conversation)
    if item is None:
        return
    transcripts.mark_pending(item)
    transaction.on_commit(lambda: _enqueue(conversation.pk, item.pk))


def _enqueue(conversation_id: int, close_item_id: int) -> None:
    try:
        current_app.send_task("channels_app.chat.tasks.send_transcript", args=[conversation_id, close_item_id])
    except Exception as error:
        logger.warning("Transcript of conversation %s not enqueued: %s", conversation_id, error)
