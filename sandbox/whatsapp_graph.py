"""The WhatsApp Cloud API stand-in: Embedded Signup's debug_token, numbers, templates, sends, media.

Shapes follow the WhatsApp Business Platform reference; the sandbox's
business is demo_data.WABAS. A business token (Embedded Signup) reaches the
WABAs it was shared; a system-user token (demo_data.system_user_token) one WABA.
"""

import hashlib
import json
import logging
import secrets

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare

from . import demo_data, png, webhooks
from .models import SandboxSend, SandboxToken, SandboxWaba, SandboxWhatsAppNumber, SandboxWhatsAppUpload
from .tasks import post_webhook

logger = logging.getLogger(__name__)

MEDIA_ID_PREFIX = "880"  # the simulator's customers' media ids: digits, like Meta's
UPLOAD_ID_PREFIX = "990"  # ids of files the app uploaded
# The Cloud API's supported media: content type -> (message types it may be sent as, most bytes).
SUPPORTED_UPLOADS = {
    "image/jpeg": (("image",), 5 * 1024 * 1024),
    "image/png": (("image",), 5 * 1024 * 1024),
    "image/webp": (("sticker",), 500 * 1024),
    "video/mp4": (("video",), 16 * 1024 * 1024),
    "video/3gpp": (("video",), 16 * 1024 * 1024),
    **{
        mime: (("audio",), 16 * 1024 * 1024)
        for mime in ("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg")
    },
    **{
        mime: (("document",), 100 * 1024 * 1024)
        for mime in (
            "text/plain",
            "application/pdf",
            "application/msword",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.ms-excel",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        )
    },
}


def meta_error(status, code, message, subcode=None, details=""):
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AsandboxWA01"}
    if subcode:
        error["error_subcode"] = subcode
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return JsonResponse({"error": error}, status=status)


def invalid_token():
    return meta_error(401, 190, "Invalid OAuth access token - Cannot parse access token")


def waba_ids_for(token: str) -> list[str]:
    """The WABAs a token reaches: those shared in Embedded Signup, or the one of a system-user token."""
    business = SandboxToken.objects.filter(token=token).first() if token else None
    if business is not None:
        return list(business.waba_ids)
    return [
        w["waba_id"] for w in demo_data.WABAS if constant_time_compare(token, demo_data.system_user_token(w["waba_id"]))
    ]


def answer(request, parts, token):
    """The WhatsApp part of the Graph stand-in; None when the path is not WhatsApp's."""
    if parts == ["debug_token"]:
        return debug_token(request.GET)
    if len(parts) == 2 and demo_data.waba(parts[0]):
        waba_id, edge = parts
        if waba_id not in waba_ids_for(token):
            return invalid_token()
        if edge == "phone_numbers":
            return JsonResponse({"data": [_number_json(n) for n in demo_data.waba(waba_id)["numbers"]]})
        if edge == "subscribed_apps":
            state, _ = SandboxWaba.objects.get_or_create(waba_id=waba_id)
            if request.method in ("POST", "DELETE"):
                state.subscribed = request.method == "POST"
                state.save(update_fields=["subscribed"])
                return JsonResponse({"success": True})
            apps = [{"whatsapp_business_api_data": {"id": settings.META_APP_ID}}] if state.subscribed else []
            return JsonResponse({"data": apps})
        if edge == "message_templates":
            return JsonResponse({"data": demo_data.TEMPLATES, "paging": {"cursors": {"before": "MAZDZD"}}})
    if len(parts) == 2 and parts[1] == "media" and demo_data.whatsapp_number(parts[0]):
        if request.method != "POST":
            return meta_error(400, 100, "Unsupported get request.", 33)
        return upload(request, demo_data.whatsapp_number(parts[0]), token)
    if len(parts) == 2 and parts[1] == "messages" and demo_data.whatsapp_number(parts[0]):
        if request.method != "POST":
            return meta_error(400, 100, "Unsupported get request.", 33)
        return send(request, demo_data.whatsapp_number(parts[0]), token)
    if len(parts) == 1 and parts[0].startswith(MEDIA_ID_PREFIX) and parts[0].isdigit():
        if not waba_ids_for(token):
            return invalid_token()
        return media_info(parts[0])
    return None


def debug_token(params):
    """Embedded Signup's answer: the business token's granular scopes name the shared WABAs."""
    if params.get("access_token") != f"{settings.META_APP_ID}|{settings.META_APP_SECRET}":
        return invalid_token()
    business = SandboxToken.objects.filter(token=params.get("input_token", "")).first()
    if business is None:
        return JsonResponse(
            {
                "data": {
                    "is_valid": False,
                    "error": {"code": 190, "message": "Invalid OAuth access token."},
                    "scopes": [],
                }
            }
        )
    granted = [scope for scope in business.scopes if scope.startswith("whatsapp_")]
    return JsonResponse(
        {
            "data": {
                "app_id": settings.META_APP_ID,
                "type": "USER",
                "application": "Support inbox",
                "is_valid": True,
                "scopes": business.scopes,
                "granular_scopes": [{"scope": scope, "target_ids": business.waba_ids} for scope in granted],
            }
        }
    )


def _number_json(number):
    return {
        "id": number["id"],
        "display_phone_number": number["display_phone_number"],
        "verified_name": number["verified_name"],
        "quality_rating": number["quality_rating"],
        "messaging_limit_tier": number["messaging_limit_tier"],
        "code_verification_status": "VERIFIED",
        "throughput": {"level": "STANDARD"},
    }


# --- Sends ----------------------------------------------------------------------


def _template_text(template: dict) -> str:
    """The template's body with the send's parameters filled in, as the customer reads it."""
    found = next((t for t in demo_data.TEMPLATES if t["name"] == template.get("name")), None)
    if found is None:
        return ""
    body = next((c["text"] for c in found["components"] if c["type"] == "BODY"), "")
    values = [
        str(p.get("text", ""))
        for component in template.get("components") or []
        if isinstance(component, dict) and component.get("type") == "body"
        for p in component.get("parameters") or []
        if isinstance(p, dict)
    ]
    for index, value in enumerate(values, start=1):
        body = body.replace(f"{{{{{index}}}}}", value)
    return body


def send(request, number, token):
    """POST /{phone-number-id}/messages: accept, record what the customer receives, then report statuses."""
    if number["waba_id"] not in waba_ids_for(token):
        return invalid_token()
    try:
        body = json.loads(request.body or b"{}")
        to = str(body["to"])
    except (ValueError, KeyError, TypeError):
        return meta_error(400, 100, "(#100) The parameter to is required.")
    if body.get("messaging_product") != "whatsapp":
        return meta_error(400, 100, "(#100) The parameter messaging_product is required.")
    kind = str(body.get("type") or "text")
    part = body.get(kind) if isinstance(body.get(kind), dict) else {}
    wamid = webhooks.new_wamid()
    if kind == "text":
        if not part.get("body"):
            return meta_error(400, 100, "(#100) Param text['body'] must be non-empty.")
        recorded = ("text", part["body"], "")
    elif kind == "template":
        if not any(t["name"] == part.get("name") and t["status"] == "APPROVED" for t in demo_data.TEMPLATES):
            return meta_error(404, 132001, "(#132001) Template name does not exist in the translation")
        recorded = ("template", _template_text(part), "")
    elif kind == "reaction":
        recorded = (
            "reaction" if part.get("emoji") else "unreaction",
            part.get("emoji", ""),
            part.get("message_id", ""),
        )
    elif kind in ("image", "audio", "video", "document", "sticker"):
        if bool(part.get("id")) == bool(part.get("link")):
            return meta_error(400, 100, f"(#100) Param {kind} must have exactly one of id or link.")
        if part.get("id"):
            uploaded = SandboxWhatsAppUpload.objects.filter(media_id=part["id"], phone_number_id=number["id"]).first()
            if uploaded is None:
                return meta_error(400, 131053, "(#131053) Media upload error", details="Unknown media id.")
            if kind not in SUPPORTED_UPLOADS[uploaded.mime_type][0]:
                return meta_error(
                    400,
                    131053,
                    "(#131053) Media upload error",
                    details=f"{uploaded.mime_type} cannot be sent as {kind}.",
                )
        recorded = ("attachment", part.get("caption") or part.get("link") or part.get("id", ""), "")
    else:
        return meta_error(400, 131051, "(#131051) Unsupported message type")
    SandboxSend.objects.create(
        page_id=number["id"],
        recipient_id=to,
        message_id=wamid,
        kind=recorded[0],
        text=recorded[1],
        reacted_to=recorded[2],
    )
    if kind != "reaction":
        failure = _failure_for(number["id"], kind, to)
        transaction.on_commit(lambda: _report_statuses(number, wamid, to, failure))
    answer_body = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": wamid}],
    }
    if kind == "template":
        answer_body["messages"][0]["message_status"] = "accepted"
    return JsonResponse(answer_body)


def upload(request, number, token):
    """POST /{phone-number-id}/media (multipart): keep the file, answer its media id, as the Cloud API does."""
    if number["waba_id"] not in waba_ids_for(token):
        return invalid_token()
    if request.POST.get("messaging_product") != "whatsapp":
        return meta_error(400, 100, "(#100) The parameter messaging_product is required.")
    file = request.FILES.get("file")
    if file is None:
        return meta_error(400, 100, "(#100) The parameter file is required.")
    mime_type = request.POST.get("type") or file.content_type or ""
    if mime_type not in SUPPORTED_UPLOADS:
        return meta_error(
            400,
            131053,
            "(#131053) Media upload error",
            details=f"Param file must be a file with one of the following types: {', '.join(SUPPORTED_UPLOADS)}.",
        )
    if file.size > SUPPORTED_UPLOADS[mime_type][1]:
        return meta_error(400, 131053, "(#131053) Media upload error", details=f"{mime_type} file is too large.")
    media_id = f"{UPLOAD_ID_PREFIX}{secrets.randbelow(10**13):013d}"
    SandboxWhatsAppUpload.objects.create(
        media_id=media_id,
        phone_number_id=number["id"],
        mime_type=mime_type,
        filename=(file.name or "")[:255],
        content=file.read(),
    )
    return JsonResponse({"id": media_id})


@login_required
def uploaded_file(request, media_id):
    """The simulator shows what the customer received: an image inline, anything else as a download."""
    uploaded = SandboxWhatsAppUpload.objects.filter(media_id=media_id).first()
    if uploaded is None:
        return HttpResponse("Not found", status=404, content_type="text/plain")
    inline = uploaded.mime_type in ("image/jpeg", "image/png")
    response = HttpResponse(
        bytes(uploaded.content), content_type=uploaded.mime_type if inline else "application/octet-stream"
    )
    if not inline:
        response["Content-Disposition"] = f'attachment; filename="{uploaded.media_id}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


def _failure_for(phone_number_id: str, kind: str, to: str) -> str:
    """Which failure this send ends in, as a `failed` status: Meta accepts the send and reports it later."""
    if demo_data.whatsapp_customer(to) is None:
        return SandboxWhatsAppNumber.Failure.UNDELIVERABLE
    state = SandboxWhatsAppNumber.objects.filter(phone_number_id=phone_number_id).first()
    failure = state.failure if state else ""
    if failure == SandboxWhatsAppNumber.Failure.REENGAGEMENT and kind == "template":
        return ""  # a template is what re-engages the customer
    return failure


def _report_statuses(number, wamid, to, failure):
    waba_id = number["waba_id"]
    steps = [("sent", 0.5), ("failed", 1.5)] if failure else [("sent", 0.5), ("delivered", 1.5), ("read", 3)]
    try:
        for status, countdown in steps:
            payload = webhooks.whatsapp_status(waba_id, number, wamid, status, to, failure)
            post_webhook.apply_async(args=[webhooks.encode(payload)], countdown=countdown)
    except Exception as error:  # the broker is down: the sandbox simply reports no status
        logger.warning("Sandbox statuses for %s not enqueued: %s", wamid, error)


# --- Media -------------------------------------------------------------------------


def new_media_id() -> str:
    return f"{MEDIA_ID_PREFIX}{secrets.randbelow(10**13):013d}"


def media_content(media_id: str) -> bytes:
    return png.picture(f"wa-{media_id}")


def media_sha256(media_id: str) -> str:
    return hashlib.sha256(media_content(media_id)).hexdigest()


def media_info(media_id: str):
    content = media_content(media_id)
    return JsonResponse(
        {
            "messaging_product": "whatsapp",
            "url": f"{demo_data.base_url()}/sandbox/meta/whatsapp-media/?mid={media_id}&ext=png",
            "mime_type": "image/png",
            "sha256": media_sha256(media_id),
            "file_size": len(content),
            "id": media_id,
        }
    )


def media_download(request):
    """The media host: the bytes for a Bearer token that reaches a WABA (Meta's lookaside host wants it)."""
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    media_id = request.GET.get("mid", "")
    if not waba_ids_for(token):
        return HttpResponse("Unauthorized", status=401, content_type="text/plain")
    if not (media_id.startswith(MEDIA_ID_PREFIX) and media_id.isdigit()):
        return HttpResponse("Not found", status=404, content_type="text/plain")
    return HttpResponse(media_content(media_id), content_type="image/png")
