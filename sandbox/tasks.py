from celery import shared_task

from . import twilio_calls, webhooks


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


@shared_task(bind=True, max_retries=5)
def post_twilio_webhook(self, url, params):
    """Post a Twilio-shaped, signed webhook (a status callback) to our app, retried like Twilio."""
    try:
        status = twilio_calls.post_signed(url, params).status_code
    except Exception as error:
        raise self.retry(exc=error, countdown=2**self.request.retries) from None
    if status >= 500:
        raise self.retry(countdown=2**self.request.retries)
    return status
