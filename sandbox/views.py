"""The sandbox's pages: the Facebook Login stand-in, the customer simulator, generated media."""

import json
import secrets
import smtplib
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import urlencode, urlparse

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from channels_app.mail.models import EmailAddress
from channels_app.meta.models import InstagramAccount, MessengerPage, WhatsAppNumber

from . import demo_data, png, webhooks
from .models import SandboxCode, SandboxCustomerMessage, SandboxPage, SandboxSend

# Facebook Login's steps per product: Instagram asks for accounts and Pages, Messenger for Pages,
# WhatsApp's Embedded Signup (a configuration id) for the WhatsApp Business Account to share.
FLOWS = {
    "instagram": ["login", "accounts", "pages", "permissions"],
    "messenger": ["login", "pages", "permissions"],
    "whatsapp": ["login", "business", "permissions"],
}


def _flow(params) -> str:
    if params.get("config_id"):
        return "whatsapp"
    # The requested scopes travel as one comma-separated value, the granted ones as checkboxes of the same name.
    scopes = ",".join(params.getlist("scope")).split(",")
    return "messenger" if "pages_messaging" in scopes and "instagram_basic" not in scopes else "instagram"


def media(request, name):
    response = HttpResponse(png.picture(name), content_type="image/png")
    response["Cache-Control"] = "public, max-age=3600"
    return response


def dialog(request, version):
    """Facebook Login's OAuth dialog, played by the sandbox."""
    params = request.POST if request.method == "POST" else request.GET
    redirect_uri, state = params.get("redirect_uri", ""), params.get("state", "")
    if params.get("client_id") != settings.META_APP_ID:
        return render(request, "sandbox/cant_load.html", {"reason": "The app ID is not a Meta app."}, status=400)
    if urlparse(redirect_uri).netloc != request.get_host():
        return render(
            request,
            "sandbox/cant_load.html",
            {"reason": f"The domain of {redirect_uri or 'the redirect URI'} isn't included in the app's domains."},
            status=400,
        )
    flow = _flow(params)
    steps = FLOWS[flow]
    step = params.get("step", "login")
    if step not in steps:
        step = "login"
    if request.method == "POST" and "cancel" in params:
        query = {
            "error": "access_denied",
            "error_code": "200",
            "error_reason": "user_denied",
            "error_description": "Permissions error",
            "state": state,
        }
        return redirect(f"{redirect_uri}?{urlencode(query)}")
    if request.method == "POST":
        step = steps[steps.index(step) + 1] if step != "permissions" else "done"
    if step == "done":
        selected_ig = params.getlist("ig")
        if flow == "messenger":
            page_ids = [p["page_id"] for p in demo_data.PAGES if p["page_id"] in params.getlist("page")]
        else:
            page_ids = [p["page_id"] for p in demo_data.PAGES if p["ig_id"] in selected_ig or not p["ig_id"]]
        code = SandboxCode.objects.create(
            code=secrets.token_urlsafe(24),
            scopes=[scope for scope in params.getlist("scope") if scope in demo_data.SCOPES],
            page_ids=page_ids if flow != "whatsapp" else [],
            waba_ids=[w["waba_id"] for w in demo_data.WABAS if w["waba_id"] in params.getlist("waba")],
        )
        return redirect(f"{redirect_uri}?{urlencode({'code': code.code, 'state': state})}")
    carried_keys = ("client_id", "redirect_uri", "state", "scope", "response_type", "config_id")
    carried = {key: params.get(key, "") for key in carried_keys if params.get(key) or key != "config_id"}
    if flow == "whatsapp":
        carried["override_default_response_type"] = params.get("override_default_response_type", "")
    return render(
        request,
        "sandbox/dialog.html",
        {
            "step": step,
            "flow": flow,
            "carried": carried,
            "selected_ig": params.getlist("ig"),
            "selected_pages": params.getlist("page"),
            "selected_wabas": params.getlist("waba"),
            "wabas": demo_data.WABAS,
            "accounts": [p for p in demo_data.PAGES if p["ig_id"]],
            "pages": demo_data.PAGES,
            "scopes": (params.get("scope") or ",".join(demo_data.SCOPES)).split(","),
            "user_name": demo_data.DEMO_USER_NAME,
            "version": version,
        },
    )


def visible_accounts(user):
    """The Instagram accounts whose threads `user` may play and read (see visible_to)."""
    return visible_to(InstagramAccount.objects.exclude(status=InstagramAccount.Status.REMOVED), user)


def visible_to(accounts, user):
    """The accounts (Instagram accounts, Messenger Pages, WhatsApp numbers) feeding one of `user`'s Inboxes.

    An account feeds an Inbox through its Exception, else through its Channel's default
    Inbox, or because one of its conversations is there. Admins see every account.
    """
    accounts = accounts.exclude(status=InstagramAccount.Status.REMOVED)
    if user.is_settings_admin:
        return accounts
    inbox_ids = list(user.memberships.values_list("inbox_id", flat=True))
    return accounts.filter(
        Q(entry_point__routing_exception__inbox_id__in=inbox_ids)
        | Q(entry_point__routing_exception__isnull=True, entry_point__channel__default_inbox_id__in=inbox_ids)
        | Q(entry_point__conversations__inbox_id__in=inbox_ids)
    ).distinct()


def _simulator_context(request):
    accounts = list(visible_accounts(request.user).order_by("page_name"))
    ig_id = request.GET.get("account") or request.POST.get("account") or (accounts[0].ig_user_id if accounts else "")
    igsid = request.GET.get("customer") or request.POST.get("customer") or demo_data.CUSTOMERS[0]["igsid"]
    account = next((a for a in accounts if a.ig_user_id == ig_id), None)
    page = demo_data.page_by_ig(ig_id)
    thread = []
    if account is not None:
        for message in SandboxCustomerMessage.objects.filter(ig_id=ig_id, igsid=igsid).exclude(kind="reaction"):
            thread.append(
                {
                    "from": "customer",
                    "at": message.created_at,
                    "kind": message.kind,
                    "text": message.text,
                    "deleted": message.deleted,
                    "mid": message.mid,
                }
            )
        page_id = page["page_id"] if page else account.page_id
        for sent in SandboxSend.objects.filter(page_id=page_id, recipient_id=igsid):
            thread.append(
                {
                    "from": "business",
                    "at": sent.created_at,
                    "kind": sent.kind,
                    "text": sent.text,
                    "mid": sent.message_id,
                    "reacted_to": sent.reacted_to,
                }
            )
    thread.sort(key=lambda entry: entry["at"])
    hearts = {entry["reacted_to"] for entry in thread if entry["kind"] == "reaction"}
    page_state = SandboxPage.objects.filter(page_id=page["page_id"]).first() if page else None
    return {
        "accounts": accounts,
        "account": account,
        "customers": demo_data.CUSTOMERS,
        "customer": demo_data.customer(igsid) or demo_data.CUSTOMERS[0],
        "thread": [entry for entry in thread if entry["kind"] not in ("reaction", "unreaction")],
        "hearts": hearts,
        "page_state": page_state,
        "failures": SandboxPage.Failure.choices,
        "query": urlencode({"account": ig_id, "customer": igsid}),
    }


@login_required
def customer(request):
    context = _simulator_context(request)
    template = "sandbox/thread.html" if request.htmx else "sandbox/customer.html"
    return render(request, template, context)


@login_required
@require_POST
def customer_action(request):
    """One thing the simulated customer does, posted to our webhook as Meta would."""
    context = _simulator_context(request)
    account, person = context["account"], context["customer"]
    if account is None:
        return HttpResponseBadRequest("Connect an Instagram account in Settings first.")
    action = request.POST.get("action")
    ig_id, igsid = account.ig_user_id, person["igsid"]
    mid = webhooks.new_mid()
    if action == "text":
        text = request.POST.get("text", "").strip()
        if not text:
            messages.error(request, "Write a message first.")
            return redirect(f"/sandbox/meta/customer/?{context['query']}")
        event, kind = webhooks.from_customer(ig_id, igsid, message={"mid": mid, "text": text}), "text"
    elif action == "image":
        url = demo_data.media_url(f"photo-{mid[-8:]}")
        event = webhooks.from_customer(
            ig_id, igsid, message={"mid": mid, "attachments": [{"type": "image", "payload": {"url": url}}]}
        )
        kind, text = "image", "📷 a photo"
    elif action == "story_mention":
        url = demo_data.media_url(f"story-{mid[-8:]}")
        event = webhooks.from_customer(
            ig_id, igsid, message={"mid": mid, "attachments": [{"type": "story_mention", "payload": {"url": url}}]}
        )
        kind, text = "story_mention", f"mentioned @{account.username} in their story"
    elif action == "story_reply":
        text = request.POST.get("text", "").strip() or "Are these still available?"
        story = {"url": demo_data.media_url(f"ourstory-{mid[-8:]}"), "id": f"179{mid[-12:]}"}
        event = webhooks.from_customer(ig_id, igsid, message={"mid": mid, "text": text, "reply_to": {"story": story}})
        kind = "story_reply"
    elif action == "react":
        target = SandboxSend.objects.filter(recipient_id=igsid, kind__in=["text", "attachment"]).last()
        if target is None:
            messages.error(request, "There is no message from the business to react to yet.")
            return redirect(f"/sandbox/meta/customer/?{context['query']}")
        event = webhooks.from_customer(
            ig_id, igsid, reaction={"mid": target.message_id, "action": "react", "reaction": "love", "emoji": "❤️"}
        )
        kind, text = "reaction", "❤️"
    elif action == "delete":
        last = (
            SandboxCustomerMessage.objects.filter(ig_id=ig_id, igsid=igsid, deleted=False)
            .exclude(kind="reaction")
            .last()
        )
        if last is None:
            messages.error(request, "There is no message to delete.")
            return redirect(f"/sandbox/meta/customer/?{context['query']}")
        last.deleted = True
        last.save(update_fields=["deleted"])
        body = webhooks.encode(
            webhooks.delivery(
                ig_id, webhooks.from_customer(ig_id, igsid, message={"mid": last.mid, "is_deleted": True})
            )
        )
        post_to_app(request, body)
        return redirect(f"/sandbox/meta/customer/?{context['query']}")
    elif action == "replay":
        last = SandboxCustomerMessage.objects.filter(ig_id=ig_id, igsid=igsid).last()
        if last is not None:
            post_to_app(request, last.body)
            post_to_app(request, last.body)
            messages.info(request, "The last webhook was delivered twice more; the inbox should still show it once.")
        return redirect(f"/sandbox/meta/customer/?{context['query']}")
    else:
        return HttpResponseBadRequest("Unknown action.")
    body = webhooks.encode(webhooks.delivery(ig_id, event))
    SandboxCustomerMessage.objects.create(ig_id=ig_id, igsid=igsid, mid=mid, kind=kind, text=text, body=body)
    post_to_app(request, body)
    return redirect(f"/sandbox/meta/customer/?{context['query']}")


def post_to_app(request, body):
    """Post a signed delivery to our webhook; what went wrong is shown on the simulator."""
    try:
        status = webhooks.post(body)
    except Exception as error:
        messages.error(request, f"The webhook could not be delivered: {error}")
        return
    if status != 200:
        messages.error(request, f"Our webhook answered HTTP {status}.")


@login_required
@require_POST
def page_settings(request):
    """Make the Send API fail in a chosen way, or expire / restore the page token."""
    context = _simulator_context(request)
    page = demo_data.page_by_ig(context["account"].ig_user_id) if context["account"] else None
    if page is None:
        return HttpResponseBadRequest("Choose a sandbox account.")
    state, _ = SandboxPage.objects.get_or_create(page_id=page["page_id"])
    if "failure" in request.POST:
        state.failure = request.POST["failure"] if request.POST["failure"] in dict(SandboxPage.Failure.choices) else ""
        messages.info(request, f"Send API for {page['name']}: {state.get_failure_display()}.")
    if "token" in request.POST:
        state.token_expired = request.POST["token"] == "expire"  # noqa: S105 (a button value)
        messages.info(
            request, f"The page token of {page['name']} is {'expired' if state.token_expired else 'valid again'}."
        )
    state.save()
    return redirect(f"/sandbox/meta/customer/?{context['query']}")


@login_required
def last_sent_json(request):
    """Small JSON view of what the sandbox sent to the user's accounts' customers (for tests and curious developers)."""
    page_ids = [
        *visible_accounts(request.user).values_list("page_id", flat=True),
        *visible_to(MessengerPage.objects.all(), request.user).values_list("page_id", flat=True),
        *visible_to(WhatsAppNumber.objects.all(), request.user).values_list("phone_number_id", flat=True),
    ]
    sends = SandboxSend.objects.filter(page_id__in=page_ids).order_by("-id")[:20]
    return HttpResponse(
        json.dumps([{"to": s.recipient_id, "kind": s.kind, "text": s.text, "mid": s.message_id} for s in sends]),
        content_type="application/json",
    )


# --- The simulator's Email tab -------------------------------------------
# The customer's mail goes through the app's own SMTP receiver, as real mail
# would; the app's replies land in the local outbox (EMAIL_FILE_PATH), which
# this tab reads back like the customer's mailbox.

OUTBOX_SHOWN = 30
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024


def outbox_messages(limit: int = OUTBOX_SHOWN) -> list[dict]:
    """The newest messages in the local outbox (Django's file backend: one file per connection,
    messages separated by a line of 79 dashes), newest first."""
    folder = Path(settings.EMAIL_FILE_PATH)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)[:limit]:
        for index, chunk in enumerate(path.read_bytes().split(b"\n" + b"-" * 79 + b"\n")):
            if not chunk.strip():
                continue
            message = BytesParser(policy=policy.default).parsebytes(chunk.lstrip(b"\n"))
            body = message.get_body(preferencelist=("plain",))
            found.append(
                {
                    "id": f"{path.name}:{index}",
                    "at": datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
                    "from": str(message.get("From", "")),
                    "to": str(message.get("To", "")),
                    "subject": str(message.get("Subject", "")),
                    "message_id": str(message.get("Message-ID", "")).strip(),
                    "references": str(message.get("References", "")).strip(),
                    "reply_to": str(message.get("Reply-To", "")) or str(message.get("From", "")),
                    "text": body.get_content() if body is not None else "",
                }
            )
    found.sort(key=lambda entry: entry["at"], reverse=True)
    return found[:limit]


def _email_addresses():
    return list(EmailAddress.objects.order_by("address"))


def _send_as_customer(message: EmailMessage) -> str:
    """Hand the customer's message to the app's SMTP receiver; "" or what went wrong."""
    host, port = settings.MAIL_RECEIVER_HOST, settings.MAIL_RECEIVER_PORT
    try:
        with smtplib.SMTP(host, port, timeout=10) as client:
            client.send_message(message)
    except ConnectionRefusedError:
        return f"The app's mail receiver is not running on {host}:{port} (make run starts it)."
    except (smtplib.SMTPException, OSError) as error:
        return f"The app's mail receiver did not take the message: {error}"
    return ""


def _customer_message(from_name, from_address, to, subject, text) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((from_name, from_address))
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2] or "customer.test")
    message.set_content(text)
    return message


@login_required
def customer_email(request):
    """Play a customer who writes email to one of the app's addresses, and reads the app's replies."""
    addresses = _email_addresses()
    if request.method == "POST":
        to = request.POST.get("to", "")
        from_address = request.POST.get("from_address", "").strip()
        text = request.POST.get("text", "").strip()
        upload = request.FILES.get("attachment")
        if to not in {address.address for address in addresses} or not from_address or not text:
            messages.error(request, "Choose an address, and fill in your address and the message.")
        elif upload is not None and upload.size > MAX_ATTACHMENT_BYTES:
            messages.error(request, "Attachments up to 5 MB here.")
        else:
            message = _customer_message(
                request.POST.get("from_name", "").strip(),
                from_address,
                to,
                request.POST.get("subject", "").strip(),
                text,
            )
            if upload is not None:
                maintype, _, subtype = (upload.content_type or "application/octet-stream").partition("/")
                message.add_attachment(upload.read(), maintype, subtype or "octet-stream", filename=upload.name)
            problem = _send_as_customer(message)
            if problem:
                messages.error(request, problem)
            else:
                messages.success(request, f"Sent to {to} through the app's mail receiver.")
        return redirect("sandbox:customer_email")
    return render(
        request,
        "sandbox/customer_email.html",
        {
            "addresses": addresses,
            "outbox": outbox_messages(),
            "customer": demo_data.EMAIL_CUSTOMER,
            "receiver": f"{settings.MAIL_RECEIVER_HOST}:{settings.MAIL_RECEIVER_PORT}",
        },
    )


@login_required
@require_POST
def customer_email_reply(request):
    """The customer answers one of the app's emails, in its thread (In-Reply-To / References)."""
    sent = next((entry for entry in outbox_messages() if entry["id"] == request.POST.get("message")), None)
    text = request.POST.get("text", "").strip()
    if sent is None or not text:
        messages.error(request, "Choose a message in the outbox and write your reply.")
        return redirect("sandbox:customer_email")
    to_name, to_address = parseaddr(sent["to"])
    subject = sent["subject"] if sent["subject"].lower().startswith("re:") else f"Re: {sent['subject']}"
    message = _customer_message(to_name, to_address, parseaddr(sent["reply_to"])[1], subject, text)
    message["In-Reply-To"] = sent["message_id"]
    message["References"] = f"{sent['references']} {sent['message_id']}".strip()
    problem = _send_as_customer(message)
    if problem:
        messages.error(request, problem)
    else:
        messages.success(request, f"Your reply to “{sent['subject']}” was sent.")
    return redirect("sandbox:customer_email")
