from celery import shared_task

from . import webhooks


@shared_task(bind=True, max_retries=5)
def post_webhook(self, body):
    """Deliver a sandbox webhook to our endpoint; retried like Meta retries."""
    try:
        status = webhooks.post(body)
    except Exception as error:
        raise self.retry(exc=error, countdown=2**self.request.retries) from None
    if status >= 500:
        raise self.retry(countdown=2**self.request.retries)
    return status
