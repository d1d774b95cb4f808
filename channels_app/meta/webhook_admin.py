import json

from django.contrib import admin, messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from .models import InstagramAccount, WebhookEvent
from .processing import retry_events

# What a messaging event is, by the key Meta puts it under.
EVENT_KINDS = {
    "message": "message",
    "reaction": "reaction",
    "read": "read",
    "postback": "postback",
    "delivery": "delivery",
    "referral": "referral",
    "optin": "opt-in",
    "message_edit": "edit",
}


def _entries(event: WebhookEvent) -> list[dict]:
    try:
        body = json.loads(event.body)
    except ValueError:
        return []
    entries = body.get("entry") if isinstance(body, dict) else None
    return [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []


def event_kinds(event: WebhookEvent) -> str:
    """The kinds of event a delivery carries ("message", "reaction, read"), from its stored body."""
    kinds = []
    for entry in _entries(event):
        for item in entry.get("messaging") or []:
            if not isinstance(item, dict):
                continue
            kind = next((label for key, label in EVENT_KINDS.items() if key in item), "other")
            if kind == "message" and isinstance(item.get("message"), dict):
                if item["message"].get("is_deleted"):
                    kind = "deletion"
                elif item["message"].get("is_echo"):
                    kind = "echo"
            kinds.append(kind)
        changes = [change for change in entry.get("changes") or [] if isinstance(change, dict)]
        kinds.extend(str(change.get("field", "change")) for change in changes)
    unique = list(dict.fromkeys(kinds))
    if unique:
        return ", ".join(unique)
    return "nothing" if _entries(event) else "unreadable"


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    """Deliveries from Meta as received; failed ones can be retried, one by one or in bulk."""

    list_display = ["id", "received_at", "kind", "account", "status", "attempts", "short_error", "retry_button"]
    list_filter = ["status", "object"]
    search_fields = ["body", "last_error"]
    date_hierarchy = "received_at"
    actions = ["retry"]
    readonly_fields = [
        "received_at",
        "object",
        "kind",
        "account",
        "status",
        "attempts",
        "processed_at",
        "handed_over_at",
        "swept_at",
        "last_error",
        "pretty_body",
    ]
    fields = readonly_fields

    @admin.display(description="Kind")
    def kind(self, event):
        return event_kinds(event)

    @admin.display(description="Account")
    def account(self, event):
        ids = list(dict.fromkeys(str(entry.get("id", "")) for entry in _entries(event)))
        usernames = {}
        for account in InstagramAccount.objects.filter(Q(ig_user_id__in=ids) | Q(page_id__in=ids)):
            usernames[account.ig_user_id] = usernames[account.page_id] = f"@{account.username}"
        return ", ".join(usernames.get(account_id, account_id) for account_id in ids) or "—"

    @admin.display(description="Reason")
    def short_error(self, event):
        first_line = event.last_error.splitlines()[0] if event.last_error else ""
        return first_line[:120]

    @admin.display(description="")
    def retry_button(self, event):
        if event.status == WebhookEvent.Status.PROCESSED:
            return ""
        # The list is one form (the bulk actions'): this button posts it, with its CSRF token, to the row's Retry.
        return format_html(
            '<button type="submit" class="button" formaction="{}" formmethod="post" data-testid="retry-event-{}">'
            "Retry</button>",
            reverse("admin:meta_webhookevent_retry", args=[event.pk]),
            event.pk,
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/retry/",
                self.admin_site.admin_view(require_POST(self.retry_view)),
                name="meta_webhookevent_retry",
            ),
            *super().get_urls(),
        ]

    def retry_view(self, request, pk):
        event = get_object_or_404(WebhookEvent, pk=pk)
        if retry_events(WebhookEvent.objects.filter(pk=event.pk)):
            self.message_user(request, f"Webhook event {event.pk} is queued to be processed again.", messages.SUCCESS)
        else:
            self.message_user(request, f"Webhook event {event.pk} was already processed.", messages.WARNING)
        return redirect("admin:meta_webhookevent_changelist")

    @admin.display(description="Body")
    def pretty_body(self, event):
        try:
            text = json.dumps(json.loads(event.body), indent=2)
        except ValueError:
            text = event.body
        # A scrolling region: focusable, so keyboard users can scroll it too.
        return format_html("<pre class='webhook-body' tabindex='0'>{}</pre>", text)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.action(description="Retry selected events", permissions=["view"])
    def retry(self, request, queryset):
        count = retry_events(queryset)
        noun = "event" if count == 1 else "events"
        self.message_user(request, f"{count} {noun} queued to be processed again.", messages.SUCCESS)
