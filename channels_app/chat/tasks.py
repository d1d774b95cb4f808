import logging

from celery import shared_task

from . import transcripts

logger = logging.getLogger(__name__)

MAX_TRANSCRIPT_ATTEMPTS = 6


@shared_task(bind=True, max_retries=MAX_TRANSCRIPT_ATTEMPTS, acks_late=True)
def send_transcript(self, conversation_id, close_item_id):
    """Email a closed chat's transcript to the visitor; retried with backoff while the mail server refuses."""
    try:
        return transcripts.send_transcript(conversation_id, close_item_id)
    except Exception as error:
        # The mail server or the database refused: both are worth another try, later.
        if self.request.retries >= self.max_retries:
            logger.error("Chat transcript of conversation %s not sent: %r", conversation_id, error)
            transcripts.mark_failed(close_item_id, repr(error))
            return "failed"
        raise self.retry(exc=error, countdown=30 * 2**self.request.retries) from None


@shared_task(bind=True, max_retries=MAX_TRANSCRIPT_ATTEMPTS, acks_late=True)
def send_asked_transcript(self, conversation_id, visitor_id):
    """Email the transcript a visitor asked for from the widget; retried while the mail server refuses."""
    try:
        return transcripts.send_asked_transcript(conversation_id, visitor_id)
    except Exception as error:
        if self.request.retries >= self.max_retries:
            logger.error("Asked-for chat transcript of conversation %s not sent: %r", conversation_id, error)
            return "failed"
        raise self.retry(exc=error, countdown=30 * 2**self.request.retries) from None


@shared_task
def sweep_transcripts():
    """Beat: transcripts of closes whose task never ran (the broker was down when the chat closed)."""
    pending = transcripts.unsent_closes()
    for conversation_id, close_item_id in pending:
        send_transcript.delay(conversation_id, close_item_id)
    return len(pending)
