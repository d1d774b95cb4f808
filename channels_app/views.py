import hmac
import json
import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import dispatch
from .meta.parser import SUPPORTED_OBJECTS
from .meta.signature import signature_is_valid
from .models import WebhookEvent

logger = logging.getLogger(__name__)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_webhook(request):
    """Meta's webhook: verify the subscription (GET) or store a delivery (POST).

    A delivery is stored before it is acknowledged and processed by a worker;
    answering fast matters because Meta retries slow or failed deliveries.
    """
    if request.method == "GET":
        return _verify_subscription(request)

    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.META_WEBHOOK_MAX_BYTES:
        logger.warning("Webhook refused: body of %s bytes is over the limit", request.META.get("CONTENT_LENGTH"))
        return HttpResponse("Body too large.", status=413, content_type="text/plain")
    body = request.body
    if not signature_is_valid(body, request.headers.get("X-Hub-Signature-256"), settings.META_APP_SECRET):
        logger.warning("Webhook refused: missing or wrong X-Hub-Signature-256")
        return HttpResponseForbidden("Invalid signature.", content_type="text/plain")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        logger.warning("Webhook refused: body is not JSON (%d bytes)", len(body))
        return HttpResponseBadRequest("Body is not JSON.", content_type="text/plain")
    obj = payload.get("object") if isinstance(payload, dict) else None
    if not isinstance(obj, str) or obj not in SUPPORTED_OBJECTS:
        logger.warning("Webhook refused: unsupported object %r", obj)
        return HttpResponseBadRequest("Unsupported object.", content_type="text/plain")

    try:
        # One autocommitted INSERT: once it returns, the delivery is safe.
        event = WebhookEvent.objects.create(object=obj, body=body.decode())
    except DatabaseError:
        logger.exception("Webhook not stored: database unavailable; answering 503 so Meta retries")
        return HttpResponse("Temporarily unavailable.", status=503, content_type="text/plain")
    dispatch.submit(event.pk)
    return HttpResponse("OK", content_type="text/plain")


def _verify_subscription(request):
    params = request.GET
    if (
        params.get("hub.mode") == "subscribe"
        and settings.META_VERIFY_TOKEN
        and hmac.compare_digest(params.get("hub.verify_token", ""), settings.META_VERIFY_TOKEN)
    ):
        return HttpResponse(params.get("hub.challenge", ""), content_type="text/plain")
    logger.warning("Webhook verification refused: wrong mode or verify token")
    return HttpResponseForbidden("Verification failed.", content_type="text/plain")
