from celery import shared_task

from conversations.routing import assign_waiting_conversations


@shared_task
def assign_waiting_conversations_task():
    """Safety net: offer unassigned conversations to agents who have room."""
    return assign_waiting_conversations()
