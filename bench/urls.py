"""The app's URLs plus the two baselines bench/webhook_ack.py compares the webhook with."""

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from channels_app.meta.models import WebhookEvent
from channels_app.meta.signature import signature_is_valid
from config.urls import urlpatterns as app_urlpatterns


@csrf_exempt
def bare(request):
    """The floor of any Django view: answer 200."""
    return HttpResponse("OK", content_type="text/plain")


@csrf_exempt
def durable(request):
    """The floor of any design that stores before it acknowledges: verify, insert one row, answer."""
    body = request.body
    if not signature_is_valid(body, request.headers.get("X-Hub-Signature-256"), settings.META_APP_SECRET):
        return HttpResponseForbidden()
    # Stored as already dealt with, so the bench's drainer (what production runs in the
    # workers) hands over only the endpoint's rows: handing over counts against the endpoint.
    # The same single INSERT the endpoint makes (WebhookEvent.store), so only the endpoint's own work differs.
    WebhookEvent.store("instagram", body.decode(), status=WebhookEvent.Status.IGNORED)
    return HttpResponse("OK", content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare),
    path("bench/durable/", durable),
    *app_urlpatterns,
]
