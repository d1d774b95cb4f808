"""The Graph API stand-in: the endpoints the app calls, with Meta's shapes and errors."""

import json
import logging
import secrets
import uuid

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt

from . import demo_data, webhooks, whatsapp_graph
from .models import SandboxCode, SandboxPage, SandboxSend, SandboxToken
from .tasks import post_webhook

logger = logging.getLogger(__name__)

ERRORS = {
    SandboxPage.Failure.RATE_LIMIT: (400, 4, None, "Application request limit reached"),
    SandboxPage.Failure.WINDOW: (400, 10, 2018278, "This message is sent outside of allowed window."),
    SandboxPage.Failure.UNAVAILABLE: (400, 551, 1545041, "This person isn't available right now."),
    SandboxPage.Failure.TOKEN: (400, 190, 463, "Error validating access token: Session has expired."),
    SandboxPage.Failure.SERVER: (500, 2, None, "An unexpected error has occurred. Please retry your request later."),
}


def meta_error(status, code, subcode, message):
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": uuid.uuid4().hex[:11]}
    if subcode:
        error["error_subcode"] = subcode
    return JsonResponse({"error": error}, status=status)


def invalid_token():
    return meta_error(400, 190, 467, "Invalid OAuth access token - Cannot parse access token")


@csrf_exempt
def graph(request, version, path):
    """Dispatch /sandbox/meta/graph/<version>/<path> like graph.facebook.com would."""
    parts = [part for part in path.split("/") if part]
    params = request.GET  # like Meta, the token and parameters travel in the query string
    token = params.get("access_token", "")
    if parts == ["oauth", "access_token"]:
        return access_token(params)
    whatsapp = whatsapp_graph.answer(request, parts, token)
    if whatsapp is not None:
        return whatsapp
    if parts == ["me", "permissions"]:
        user = SandboxToken.objects.filter(token=token).first()
        if user is None:
            return invalid_token()
        return JsonResponse(
            {
                "data": [
                    {"permission": scope, "status": "granted" if scope in user.scopes else "declined"}
                    for scope in demo_data.SCOPES
                ]
            }
        )
    if parts == ["me", "accounts"]:
        user = SandboxToken.objects.filter(token=token).first()
        if user is None:
            return invalid_token()
        # A new login issues fresh Page tokens: an expired one is valid again (Reauthorize).
        SandboxPage.objects.filter(page_id__in=user.page_ids, token_expired=True).update(token_expired=False)
        return JsonResponse(
            {
                "data": [_page_json(p) for p in demo_data.PAGES if p["page_id"] in user.page_ids],
                "paging": {"cursors": {"before": "MAZDZD", "after": "MAZDZD"}},
            }
        )
    if len(parts) == 2 and parts[1] == "subscribed_apps":
        page_state, error = _page_for_token(parts[0], token)
        if error:
            return error
        page_state.subscribed = request.method == "POST"
        page_state.save(update_fields=["subscribed"])
        return JsonResponse({"success": True})
    if len(parts) == 2 and parts[1] == "messages" and request.method == "POST":
        return send(request, parts[0], token)
    if len(parts) == 1 and demo_data.messenger_customer(parts[0]):
        return messenger_profile(demo_data.messenger_customer(parts[0]), token)
    if len(parts) == 1 and demo_data.customer(parts[0]):
        person = demo_data.customer(parts[0])
        if not any(_page_for_token(p["page_id"], token)[1] is None for p in demo_data.PAGES):
            return invalid_token()
        return JsonResponse(
            {
                "name": person["name"],
                "username": person["username"],
                "profile_pic": demo_data.media_url(f"avatar-{person['igsid']}"),
                "id": person["igsid"],
            }
        )
    return meta_error(400, 100, 33, f"Unsupported request: /{version}/{path}")


def messenger_profile(person, token):
    """User Profile API: a PSID's name and picture, for a token of a Page they wrote to."""
    if not any(_page_for_token(p["page_id"], token)[1] is None for p in demo_data.PAGES):
        return invalid_token()
    return JsonResponse(
        {
            "first_name": person["first_name"],
            "last_name": person["last_name"],
            "profile_pic": demo_data.media_url(f"avatar-{person['psid']}"),
            "id": person["psid"],
        }
    )


def _page_json(page):
    data = {
        "id": page["page_id"],
        "name": page["name"],
        "access_token": demo_data.page_token(page["page_id"]),
        "category": "Shopping & retail",
    }
    if page["ig_id"]:
        data["instagram_business_account"] = {
            "id": page["ig_id"],
            "username": page["username"],
            "name": page["name"],
            "profile_picture_url": demo_data.media_url(f"account-{page['ig_id']}"),
        }
    return data


def _page_for_token(page_id, token):
    """The Page state if `token` is that Page's valid token, else a Meta error response."""
    # Only tokens the sandbox issued (signed, see demo_data.page_token): a guessed one is Meta's code 190.
    if page_id == "me":
        page = next(
            (p for p in demo_data.PAGES if constant_time_compare(demo_data.page_token(p["page_id"]), token)), None
        )
    else:
        page = demo_data.page(page_id)
    if page is None or not constant_time_compare(token, demo_data.page_token(page["page_id"])):
        return None, invalid_token()
    state, _ = SandboxPage.objects.get_or_create(page_id=page["page_id"])
    if state.token_expired:
        return None, meta_error(400, 190, 463, "Error validating access token: Session has expired.")
    return state, None


def access_token(params):
    if params.get("grant_type") == "fb_exchange_token":
        short = SandboxToken.objects.filter(token=params.get("fb_exchange_token", "")).first()
        if short is None:
            return invalid_token()
        long = SandboxToken.objects.create(
            token=f"sandbox-user-long-{secrets.token_hex(8)}",
            scopes=short.scopes,
            page_ids=short.page_ids,
            waba_ids=short.waba_ids,
        )
        return JsonResponse({"access_token": long.token, "token_type": "bearer", "expires_in": 5183944})
    if params.get("client_secret") != settings.META_APP_SECRET or params.get("client_id") != settings.META_APP_ID:
        return meta_error(400, 1, None, "Error validating client secret.")
    with transaction.atomic():
        code = SandboxCode.objects.select_for_update().filter(code=params.get("code", ""), used=False).first()
        if code is None:
            return meta_error(400, 100, 36009, "This authorization code has been used.")
        code.used = True
        code.save(update_fields=["used"])
    user = SandboxToken.objects.create(
        token=f"sandbox-user-{secrets.token_hex(8)}", scopes=code.scopes, page_ids=code.page_ids, waba_ids=code.waba_ids
    )
    return JsonResponse({"access_token": user.token, "token_type": "bearer", "expires_in": 5183944})


def send(request, page_id, token):
    page_state, error = _page_for_token(page_id, token)
    if error:
        return error
    try:
        body = json.loads(request.body or b"{}")
        recipient = str(body["recipient"]["id"])
    except (ValueError, KeyError, TypeError):
        return meta_error(400, 100, None, "(#100) The parameter recipient is required")
    if page_state.failure:
        return meta_error(*ERRORS[page_state.failure])
    page = demo_data.page(page_state.page_id)
    message_id = webhooks.new_mid()
    if body.get("sender_action") in ("react", "unreact"):
        SandboxSend.objects.create(
            page_id=page["page_id"],
            recipient_id=recipient,
            message_id=message_id,
            kind="reaction" if body["sender_action"] == "react" else "unreaction",
            reacted_to=str(body.get("payload", {}).get("message_id", "")),
        )
        return JsonResponse({"recipient_id": recipient})
    message = body.get("message") or {}
    text = message.get("text", "")
    kind = "attachment" if "attachment" in message else "text"
    if kind == "text" and not text:
        return meta_error(400, 100, None, "(#100) Param message must be non-empty")
    SandboxSend.objects.create(
        page_id=page["page_id"],
        recipient_id=recipient,
        message_id=message_id,
        kind=kind,
        text=text or message.get("attachment", {}).get("payload", {}).get("url", ""),
    )
    if demo_data.messenger_customer(recipient):
        page_id = page["page_id"]
        transaction.on_commit(lambda: _after_messenger_send(page_id, recipient, message_id, text))
    else:
        ig_id = page["ig_id"]
        transaction.on_commit(lambda: _after_send(ig_id, recipient, message_id, text))
    return JsonResponse({"recipient_id": recipient, "message_id": message_id})


def _after_messenger_send(page_id, psid, message_id, text):
    # Messenger echoes the Page's message (with our app id), reports it delivered, then read up to a watermark.
    bodies = [
        (webhooks.messenger_echo(page_id, psid, message_id, text), 0.5),
        (webhooks.messenger_delivered(page_id, psid, message_id), 1.5),
        (webhooks.messenger_read(page_id, psid), 3),
    ]
    try:
        for payload, countdown in bodies:
            post_webhook.apply_async(args=[webhooks.encode(payload)], countdown=countdown)
    except Exception as error:  # the broker is down: the sandbox simply sends no echo
        logger.warning("Sandbox echo for %s not enqueued: %s", message_id, error)


def _after_send(ig_id, recipient, message_id, text):
    # Meta echoes the message, then the customer's app reports it read.
    try:
        post_webhook.apply_async(
            args=[webhooks.encode(webhooks.echo(ig_id, recipient, message_id, text))], countdown=0.5
        )
        post_webhook.apply_async(args=[webhooks.encode(webhooks.read(ig_id, recipient, message_id))], countdown=3)
    except Exception as error:  # the broker is down: the sandbox simply sends no echo
        logger.warning("Sandbox echo for %s not enqueued: %s", message_id, error)
