"""The customer simulator's Messenger and WhatsApp tabs: a customer writes to a connected Page or number.

Every action is posted to /webhooks/meta/ as a signed delivery shaped like
Meta's (`object: page`, `object: whatsapp_business_account`); the app's
sends come back through the sandbox's Graph stand-in and show in the thread.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from channels_app.meta.models import MessengerPage, WhatsAppNumber

from . import demo_data, webhooks, whatsapp_graph
from .models import SandboxCustomerMessage, SandboxPage, SandboxSend, SandboxWhatsAppNumber, SandboxWhatsAppUpload
from .views import post_to_app, visible_to


def _thread(address: str, customer_id: str) -> list[dict]:
    """What the customer sees: their messages to `address` (a Page or number id) and its sends to them."""
    thread = [
        {
            "from": "customer",
            "at": m.created_at,
            "kind": m.kind,
            "text": m.text,
            "mid": m.mid,
            "deleted": m.deleted,
            "picture": m.text if m.text.startswith("wa-") else f"photo-{m.mid[-8:]}",
        }
        for m in SandboxCustomerMessage.objects.filter(ig_id=address, igsid=customer_id)
    ]
    sends = list(
        SandboxSend.objects.filter(page_id=address, recipient_id=customer_id).exclude(
            kind__in=["reaction", "unreaction"]
        )
    )
    # Files the app uploaded to WhatsApp and sent by media id.
    uploads = {
        u.media_id: u
        for u in SandboxWhatsAppUpload.objects.filter(media_id__in=[s.text for s in sends if s.kind == "attachment"])
    }
    thread += [
        {
            "from": "business",
            "at": s.created_at,
            "kind": s.kind,
            "text": s.text,
            "mid": s.message_id,
            "upload": uploads.get(s.text),
        }
        for s in sends
    ]
    return sorted(thread, key=lambda entry: entry["at"])


def _hearts(address: str, customer_id: str) -> set[str]:
    sends = SandboxSend.objects.filter(page_id=address, recipient_id=customer_id, kind="reaction")
    return set(sends.values_list("reacted_to", flat=True))


# --- Messenger ----------------------------------------------------------------------


def _param(request, name: str) -> str:
    return request.GET.get(name) or request.POST.get(name) or ""


def _messenger_context(request):
    pages = list(visible_to(MessengerPage.objects.all(), request.user).order_by("page_name"))
    page_id = _param(request, "page") or (pages[0].page_id if pages else "")
    page = next((p for p in pages if p.page_id == page_id), None)
    person = demo_data.messenger_customer(_param(request, "customer")) or demo_data.MESSENGER_CUSTOMERS[0]
    return {
        "tab": "messenger",
        "pages": pages,
        "page": page,
        "customers": demo_data.MESSENGER_CUSTOMERS,
        "customer": person,
        "customer_name": demo_data.messenger_name(person),
        "thread": _thread(page.page_id, person["psid"]) if page else [],
        "hearts": _hearts(page.page_id, person["psid"]) if page else set(),
        "page_state": SandboxPage.objects.filter(page_id=page.page_id).first() if page else None,
        "failures": SandboxPage.Failure.choices,
        "query": urlencode({"page": page.page_id if page else "", "customer": person["psid"]}),
    }


@login_required
def messenger(request):
    context = _messenger_context(request)
    template = "sandbox/thread.html" if request.htmx else "sandbox/customer_messenger.html"
    return render(request, template, context)


@login_required
@require_POST
def messenger_action(request):
    """The Messenger customer writes or sends a photo: an `object: page` delivery, signed as Meta signs it."""
    context = _messenger_context(request)
    page, person = context["page"], context["customer"]
    back = redirect(f"/sandbox/meta/customer/messenger/?{context['query']}")
    if page is None:
        return HttpResponseBadRequest("Add a Messenger Page in Settings › Messenger first.")
    action, mid = request.POST.get("action"), f"m_{webhooks.new_mid()}"
    if action == "text":
        text = request.POST.get("text", "").strip()
        if not text:
            messages.error(request, "Write a message first.")
            return back
        message, kind = {"mid": mid, "text": text}, "text"
    elif action == "image":
        url = demo_data.media_url(f"photo-{mid[-8:]}")
        message, kind, text = {"mid": mid, "attachments": [{"type": "image", "payload": {"url": url}}]}, "image", ""
    elif action == "replay":
        last = SandboxCustomerMessage.objects.filter(ig_id=page.page_id, igsid=person["psid"]).last()
        if last is not None:
            post_to_app(request, last.body)
            post_to_app(request, last.body)
            messages.info(request, "The last webhook was delivered twice more; the inbox should still show it once.")
        return back
    else:
        return HttpResponseBadRequest("Unknown action.")
    event = webhooks.from_customer(page.page_id, person["psid"], message=message)
    body = webhooks.encode(webhooks.page_delivery(page.page_id, event))
    SandboxCustomerMessage.objects.create(
        ig_id=page.page_id, igsid=person["psid"], mid=mid, kind=kind, text=text, body=body
    )
    post_to_app(request, body)
    return back


@login_required
@require_POST
def messenger_settings(request):
    """How the Send API answers this Page's sends: normally, or with one of Meta's failures."""
    context = _messenger_context(request)
    if context["page"] is None:
        return HttpResponseBadRequest("Choose a Messenger Page.")
    state, _ = SandboxPage.objects.get_or_create(page_id=context["page"].page_id)
    if "failure" in request.POST:
        failure = request.POST["failure"]
        state.failure = failure if failure in dict(SandboxPage.Failure.choices) else ""
        messages.info(request, f"Send API for {context['page'].page_name}: {state.get_failure_display()}.")
    if "token" in request.POST:
        state.token_expired = request.POST["token"] == "expire"  # noqa: S105 (a button value)
        messages.info(
            request,
            f"The page token of {context['page'].page_name} is {'expired' if state.token_expired else 'valid again'}.",
        )
    state.save()
    return redirect(f"/sandbox/meta/customer/messenger/?{context['query']}")


# --- WhatsApp -------------------------------------------------------------------------


def _whatsapp_context(request):
    numbers = list(
        visible_to(WhatsAppNumber.objects.all(), request.user)
        .exclude(status=WhatsAppNumber.Status.REMOVED)
        .order_by("display_phone_number")
    )
    number_id = _param(request, "number") or (numbers[0].phone_number_id if numbers else "")
    number = next((n for n in numbers if n.phone_number_id == number_id), None)
    person = demo_data.whatsapp_customer(_param(request, "customer")) or demo_data.WHATSAPP_CUSTOMERS[0]
    address = number.phone_number_id if number else ""
    return {
        "tab": "whatsapp",
        "numbers": numbers,
        "number": number,
        "customers": demo_data.WHATSAPP_CUSTOMERS,
        "customer": person,
        "customer_name": person["name"],
        "thread": _thread(address, person["wa_id"]) if number else [],
        "hearts": _hearts(address, person["wa_id"]) if number else set(),
        "number_state": SandboxWhatsAppNumber.objects.filter(phone_number_id=address).first(),
        "failures": SandboxWhatsAppNumber.Failure.choices,
        "query": urlencode({"number": address, "customer": person["wa_id"]}),
        "manual": [{"waba": w, "token": demo_data.system_user_token(w["waba_id"])} for w in demo_data.WABAS],
    }


@login_required
def whatsapp(request):
    context = _whatsapp_context(request)
    template = "sandbox/thread.html" if request.htmx else "sandbox/customer_whatsapp.html"
    return render(request, template, context)


@login_required
@require_POST
def whatsapp_action(request):
    """The WhatsApp customer writes or sends a photo: an `object: whatsapp_business_account` delivery."""
    context = _whatsapp_context(request)
    number, person = context["number"], context["customer"]
    back = redirect(f"/sandbox/meta/customer/whatsapp/?{context['query']}")
    sandbox_number = demo_data.whatsapp_number(number.phone_number_id) if number else None
    if sandbox_number is None:
        return HttpResponseBadRequest("Add a sandbox WhatsApp number in Settings › WhatsApp first.")
    action, wamid = request.POST.get("action"), webhooks.new_wamid()
    if action == "text":
        text = request.POST.get("text", "").strip()
        if not text:
            messages.error(request, "Write a message first.")
            return back
        message, kind = {"id": wamid, "type": "text", "text": {"body": text}}, "text"
    elif action == "image":
        media_id = whatsapp_graph.new_media_id()
        image = {"mime_type": "image/png", "sha256": whatsapp_graph.media_sha256(media_id), "id": media_id}
        # The thread shows the very picture the app downloads through the media id.
        message, kind, text = {"id": wamid, "type": "image", "image": image}, "image", f"wa-{media_id}"
    elif action == "replay":
        last = SandboxCustomerMessage.objects.filter(ig_id=number.phone_number_id, igsid=person["wa_id"]).last()
        if last is not None:
            post_to_app(request, last.body)
            post_to_app(request, last.body)
            messages.info(request, "The last webhook was delivered twice more; the inbox should still show it once.")
        return back
    else:
        return HttpResponseBadRequest("Unknown action.")
    body = webhooks.encode(webhooks.whatsapp_message(sandbox_number["waba_id"], sandbox_number, person, message))
    SandboxCustomerMessage.objects.create(
        ig_id=number.phone_number_id,
        igsid=person["wa_id"],
        mid=wamid,
        kind=kind,
        text=text,
        body=body,
    )
    post_to_app(request, body)
    return back


@login_required
@require_POST
def whatsapp_settings(request):
    """How the Cloud API answers this number's sends: normally, or ending in one of Meta's failures."""
    context = _whatsapp_context(request)
    if context["number"] is None:
        return HttpResponseBadRequest("Choose a WhatsApp number.")
    state, _ = SandboxWhatsAppNumber.objects.get_or_create(phone_number_id=context["number"].phone_number_id)
    failure = request.POST.get("failure", "")
    state.failure = failure if failure in dict(SandboxWhatsAppNumber.Failure.choices) else ""
    state.save(update_fields=["failure"])
    messages.info(request, f"Cloud API for {context['number'].display_phone_number}: {state.get_failure_display()}.")
    return redirect(f"/sandbox/meta/customer/whatsapp/?{context['query']}")
