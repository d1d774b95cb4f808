import hmac
import json
import logging
import re

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import WebhookEvent
from .parser import SUPPORTED_OBJECTS
from .signature import signature_is_valid

logger = logging.getLogger(__name__)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_webhook(request):
    """Meta's webhook: verify the subscription (GET) or store a delivery (POST).

    A delivery is stored before it is acknowledged and processed by a worker;
    answering fast matters because Meta retries slow or failed deliveries. The
    endpoint does not talk to the broker: the workers' drainer (dispatch.py) finds
    the stored row and hands it over.
    """
    if request.method == "GET":
        return _verify_subscription(request)

    declared = _declared_length(request)
    if declared is None:
        logger.warning("Webhook refused: Content-Length is not a number")
        return HttpResponseBadRequest("Invalid Content-Length.", content_type="text/plain")
    if declared > settings.META_WEBHOOK_MAX_BYTES:
        return _too_large(declared)
    body = request.body
    if len(body) > settings.META_WEBHOOK_MAX_BYTES:  # sent without (or with a lying) Content-Length
        return _too_large(len(body))
    if not signature_is_valid(body, request.headers.get("X-Hub-Signature-256"), settings.META_APP_SECRET):
        logger.warning("Webhook refused: missing or wrong X-Hub-Signature-256")
        return HttpResponseForbidden("Invalid signature.", content_type="text/plain")
    if _nested_deeper_than(body, settings.META_WEBHOOK_MAX_DEPTH):
        logger.warning("Webhook refused: JSON nested deeper than %d", settings.META_WEBHOOK_MAX_DEPTH)
        return HttpResponseBadRequest("Body is nested too deep.", content_type="text/plain")
    try:
        text = body.decode()
        payload = json.loads(text)
    except ValueError:  # UnicodeDecodeError is one too
        logger.warning("Webhook refused: body is not JSON (%d bytes)", len(body))
        return HttpResponseBadRequest("Body is not JSON.", content_type="text/plain")
    obj = payload.get("object") if isinstance(payload, dict) else None
    if not isinstance(obj, str) or obj not in SUPPORTED_OBJECTS:
        logger.warning("Webhook refused: unsupported object %r", obj)
        return HttpResponseBadRequest("Unsupported object.", content_type="text/plain")

    try:
        # One autocommitted INSERT: the row is durable before we answer 200.
        WebhookEvent.store(obj, text)
    except DatabaseError:
        logger.exception("Webhook not stored: database unavailable; answering 503 so Meta retries")
        return HttpResponse("Temporarily unavailable.", status=503, content_type="text/plain")
    return HttpResponse("OK", content_type="text/plain")


def _declared_length(request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


# A JSON string (skipped whole, escapes included; an unterminated one runs to the
# end so the scan stays linear) or one bracket.
_STRING_OR_BRACKET = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\Z)|[\[\]{}]', re.DOTALL)


def _nested_deeper_than(body: bytes, limit: int) -> bool:
    """Whether the JSON in body opens more than `limit` arrays/objects inside each other.

    Counted without parsing, so it cannot hit the recursion limit; brackets inside
    strings do not count. Invalid JSON may give any answer: json.loads refuses it next.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


def _too_large(size):
    logger.warning("Webhook refused: body of %s bytes is over the limit", size)
    return HttpResponse("Body too large.", status=413, content_type="text/plain")


def _verify_subscription(request):
    params = request.GET
    if (
        params.get("hub.mode") == "subscribe"
        and settings.META_VERIFY_TOKEN
        # Bytes: compare_digest refuses str with non-ASCII characters (a 500 for anyone).
        and hmac.compare_digest(params.get("hub.verify_token", "").encode(), settings.META_VERIFY_TOKEN.encode())
    ):
        return HttpResponse(params.get("hub.challenge", ""), content_type="text/plain")
    logger.warning("Webhook verification refused: wrong mode or verify token")
    return HttpResponseForbidden("Verification failed.", content_type="text/plain")
