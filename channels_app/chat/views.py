"""HTTP for the widget: its script (versioned, cached for a year), image uploads and the conversation's files.

Uploads and file fetches come from customers' websites: the Origin must be one
of the widget's allowed origins (CORS answers only those), and the visitor's
signed token names who is sending or fetching.
"""

import hashlib
import secrets
from functools import cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from conversations.file_responses import stored_file_response
from conversations.public_files import FILE_CONTENT_SECURITY_POLICY

from . import visitors
from .models import ChatWidget

WIDGET_SCRIPT = "chat/widget.js"
YEAR = 365 * 24 * 3600


@cache
def widget_script() -> tuple[bytes, str]:
    """The widget's source and its version (a hash of the bytes), read once per process."""
    path = finders.find(WIDGET_SCRIPT)
    content = open(path, "rb").read()  # noqa: SIM115 (read whole, closed by GC at once)
    return content, hashlib.sha256(content).hexdigest()[:12]


@require_GET
def widget_js(request):
    """The snippet's stable URL: a short-lived redirect to the current version."""
    _, version = widget_script()
    response = HttpResponseRedirect(reverse("chat:widget_versioned", args=[version]))
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def widget_js_versioned(request, version):
    content, current = widget_script()
    if version != current:
        # An old version's URL: send them to the current one.
        return widget_js(request)
    response = HttpResponse(content, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _cors(response, origin, methods="POST, OPTIONS"):
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = methods
    response["Access-Control-Allow-Headers"] = "X-Chat-Token, X-Chat-Client-Id"
    response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin"
    return response


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _visitor_request(request, public_id, method, wrong_method, *, same_origin=False):
    """What every HTTP request of the widget is checked for: the widget exists, the Origin may use
    it (CORS preflights answered), the method, and the visitor's token.

    Returns (visitor, origin, None), or (None, origin, the answer that refuses the request)."""
    widget = ChatWidget.objects.select_related("entry_point").filter(public_id=public_id).first()
    if widget is None:
        raise Http404
    origin = request.headers.get("Origin", "")
    methods = f"{method}, OPTIONS"
    # A cross-origin request always names its origin; a same-origin GET (our own demo page) may not.
    if not (same_origin and not origin) and not widget.allows_origin(origin):
        return None, origin, JsonResponse({"error": "This website may not use this chat."}, status=403)
    if request.method == "OPTIONS":
        return None, origin, _cors(HttpResponse(status=204), origin, methods)
    if request.method != method:
        return None, origin, _cors(JsonResponse({"error": wrong_method}, status=405), origin, methods)
    visitor = visitors.visitor_from_token(widget, request.headers.get("X-Chat-Token", ""))
    if visitor is None:
        expired = JsonResponse({"error": "Your chat session expired. Reload the page."}, status=403)
        return None, origin, _cors(expired, origin, methods)
    return visitor, origin, None


@csrf_exempt
def upload(request, public_id):
    """An image the visitor attaches: checked (type from the bytes, size), then stored as their message."""
    visitor, origin, refusal = _visitor_request(request, public_id, "POST", "POST an image.")
    if refusal is not None:
        return refusal
    file = request.FILES.get("file")
    if file is None:
        return _cors(JsonResponse({"error": "Choose an image to attach."}, status=400), origin)
    try:
        visitors.check_rate(visitor, _client_ip(request))
        visitors.check_size(file.size)
        content = file.read()
        visitors.check_image(content)
        client_id = request.headers.get("X-Chat-Client-Id", "") or secrets.token_hex(8)
        received = visitors.receive_visitor_message(visitor, client_id, "", attachment=(content, file.name or ""))
    except visitors.Refused as refused:
        return _cors(JsonResponse({"error": str(refused)}, status=400), origin)
    item = visitors.serialise(received.item) if received.item else None
    return _cors(JsonResponse({"item": item}, json_dumps_params={"separators": (",", ":")}), origin)


def visitor_file(request, public_id, attachment_id):
    """A file of the visitor's own conversation (an agent's or their own), for their token only.

    The widget fetches it with the token in a header and shows it from a blob: images proven by
    their bytes inline, everything else as a download (served as application/octet-stream, so
    nothing a visitor or an agent sent can run as a page)."""
    visitor, origin, refusal = _visitor_request(request, public_id, "GET", "GET a file.", same_origin=True)
    if refusal is not None:
        return refusal
    attachment = visitors.visitor_file(visitor, attachment_id)
    if attachment is None:
        # Someone else's file, or none: the same answer, so ids reveal nothing.
        return _cors(JsonResponse({"error": "No such file."}, status=404), origin, "GET, OPTIONS")
    response = stored_file_response(
        request,
        attachment.file.open("rb"),
        filename=attachment.filename or attachment.file.name.rsplit("/", 1)[-1],
        content_security_policy=FILE_CONTENT_SECURITY_POLICY,
        max_age=300,
        inline_types=visitors.IMAGE_TYPES,
    )
    response["Access-Control-Expose-Headers"] = "Content-Disposition"
    return _cors(response, origin, "GET, OPTIONS") if origin else response


def snippet(request, widget: ChatWidget) -> str:
    """The one line admins paste into their website."""
    base = settings.SITE_URL or request.build_absolute_uri("/").rstrip("/")
    return f'<script src="{base}{reverse("chat:widget")}" data-entry-point="{widget.public_id}" async></script>'
