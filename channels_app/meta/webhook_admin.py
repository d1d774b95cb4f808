import json

from django.contrib import admin, messages
from django.utils.html import format_html

from .models import WebhookEvent
from .processing import retry_events


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    """Deliveries from Meta as received; failed ones can be retried."""

    list_display = ["id", "received_at", "object", "status", "attempts", "short_error"]
    list_filter = ["status", "object"]
    search_fields = ["body", "last_error"]
    date_hierarchy = "received_at"
    actions = ["retry"]
    readonly_fields = [
        "received_at",
        "object",
        "status",
        "attempts",
        "processed_at",
        "swept_at",
        "last_error",
        "pretty_body",
    ]
    fields = readonly_fields

    @admin.display(description="Problem or note")
    def short_error(self, event):
        first_line = event.last_error.splitlines()[0] if event.last_error else ""
        return first_line[:120]

    @admin.display(description="Body")
    def pretty_body(self, event):
        try:
            text = json.dumps(json.loads(event.body), indent=2)
        except ValueError:
            text = event.body
        return format_html("<pre class='webhook-body'>{}</pre>", text)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.action(description="Retry selected events", permissions=["view"])
    def retry(self, request, queryset):
        count = retry_events(queryset)
        self.message_user(request, f"{count} event(s) queued to be processed again.", messages.SUCCESS)
