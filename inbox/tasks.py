from celery import shared_task

from conversations.routing import assign_waiting_conversations

from . import presence


@shared_task
def assign_waiting_conversations_task():
    """Safety net: offer unassigned conversations to agents who have room."""
    return assign_waiting_conversations()


@shared_task
def prune_presence_task():
    """Forget which conversations agents had open a while ago (the "is viewing" reports)."""
    return presence.prune()
