from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from channels_app.models import Channel, EntryPoint

from . import addresses, forwarding_test, inbound
from .models import EmailAddress, InboundEmail

# The raw message shown on its page is cut here: attachments can be megabytes.
RAW_SHOWN_BYTES = 100_000
# Session key of the forwarding tests an admin sent: {token: sent at (ISO)}.
FORWARDING_TESTS_KEY = "mail_forwarding_tests"
KEPT_FORWARDING_TESTS = 10


class EmailAddressForm(forms.ModelForm):
    imap_password = forms.CharField(
        label="IMAP password",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the saved password.",
    )

    class Meta:
        model = EmailAddress
        fields = [
            "address",
            "display_name",
            "from_address",
            "signature",
            "imap_host",
            "imap_port",
            "imap_use_tls",
            "imap_username",
            "imap_password",
            "imap_mailbox",
        ]

    def clean_address(self):
        address = self.cleaned_data["address"].strip().lower()
        taken = EntryPoint.objects.filter(kind=EntryPoint.Kind.EMAIL_ADDRESS, external_id=address)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.entry_point_id)
        if taken.exists():
            raise forms.ValidationError("This address is already an Entry Point.")
        return address

    def save(self, commit=True):
        password = self.cleaned_data.get("imap_password")
        if not password and self.instance.pk:
            # An empty password field means "unchanged", never "erase".
            self.instance.imap_password = EmailAddress.objects.get(pk=self.instance.pk).imap_password
        return super().save(commit)


@admin.register(EmailAddress)
class EmailAddressAdmin(admin.ModelAdmin):
    """Settings › Email addresses: the Email Channel's Entry Points."""

    form = EmailAddressForm
    change_form_template = "admin/mail/emailaddress/change_form.html"
    list_display = [
        "address",
        "display_name",
        "forwarding_address",
        "delivery",
        "status",
        "last_polled_at",
        "short_error",
    ]
    search_fields = ["address", "display_name"]
    readonly_fields = ["forwarding_address", "created_by", "created_at", "last_polled_at", "last_error"]
    fieldsets = [
        (None, {"fields": ["address", "display_name", "from_address", "signature"]}),
        (
            "Forwarding",
            {
                "fields": ["forwarding_address"],
                "description": "Forward the address's mail here; it arrives in the Email Channel's default Inbox.",
            },
        ),
        (
            "IMAP (instead of forwarding)",
            {
                "fields": [
                    "imap_host",
                    "imap_port",
                    "imap_use_tls",
                    "imap_username",
                    "imap_password",
                    "imap_mailbox",
                    "last_polled_at",
                    "last_error",
                ]
            },
        ),
        ("Added", {"fields": ["created_by", "created_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Customers' identities and threads hang on the address: changing it is a new Entry Point.
        return [*self.readonly_fields, "address"] if obj else self.readonly_fields

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets if obj else [fieldset for fieldset in self.fieldsets if fieldset[0] != "Added"]

    @admin.display(description="Delivery")
    def delivery(self, email_address):
        return "IMAP" if email_address.uses_imap else "Forwarding"

    @admin.display(description="Status")
    def status(self, email_address):
        return "Removed" if email_address.removed else "Receiving"

    @admin.display(description="Problem")
    def short_error(self, email_address):
        return email_address.last_error.splitlines()[0][:120] if email_address.last_error else ""

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            if not change:
                obj.address = obj.address.strip().lower()
                obj.entry_point = EntryPoint.objects.create(
                    channel=Channel.objects.get_or_create(kind=Channel.Kind.EMAIL)[0],
                    kind=EntryPoint.Kind.EMAIL_ADDRESS,
                    display_name=obj.address,
                    external_id=obj.address,
                )
                obj.created_by = request.user
            super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None):
        # The Entry Point keeps conversations; removing an address is a flow of its own.
        return False

    def response_add(self, request, obj, post_url_continue=None):
        # Straight to the address's page: it shows where to forward its mail and the Send a test button.
        if "_addanother" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(request, f"{obj} was added. Forward its mail to the address below.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:mail_emailaddress_change", args=[obj.pk]))

    def get_urls(self):
        extra = [
            path(
                "<int:object_id>/send-test/",
                self.admin_site.admin_view(self.send_test_view),
                name="mail_emailaddress_send_test",
            ),
            path(
                "<int:object_id>/test/<str:token>/",
                self.admin_site.admin_view(self.test_status_view),
                name="mail_emailaddress_test_status",
            ),
            path(
                "<int:object_id>/remove/",
                self.admin_site.admin_view(self.remove_view),
                name="mail_emailaddress_remove",
            ),
            path(
                "<int:object_id>/add-again/",
                self.admin_site.admin_view(self.add_again_view),
                name="mail_emailaddress_add_again",
            ),
        ]
        return extra + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        token = request.GET.get("forwarding_test", "")
        if token and token in request.session.get(FORWARDING_TESTS_KEY, {}):
            extra_context["forwarding_test"] = self._test_context(request, object_id, token)
        return super().change_view(request, object_id, form_url, extra_context)

    def _address_for(self, request, object_id) -> EmailAddress:
        email_address = get_object_or_404(EmailAddress, pk=object_id)
        if not self.has_view_or_change_permission(request, email_address):
            raise PermissionDenied
        return email_address

    def _test_context(self, request, object_id, token) -> dict:
        sent = request.session.get(FORWARDING_TESTS_KEY, {}).get(token)
        if sent is None:
            raise Http404("No such test.")
        email_address = self._address_for(request, object_id)
        status = forwarding_test.forwarding_status(email_address, token, datetime.fromisoformat(sent), timezone.now())
        return {"token": token, "status": status, "email_address": email_address}

    def send_test_view(self, request, object_id):
        """Send a test to the forwarding address through our receiver, then show live whether it arrived."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        email_address = self._address_to_change(request, object_id)
        change_url = reverse("admin:mail_emailaddress_change", args=[email_address.pk])
        sent_at = timezone.now()
        try:
            token = forwarding_test.send_test(email_address)
        except forwarding_test.SendTestFailed as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(change_url)
        tests = request.session.get(FORWARDING_TESTS_KEY, {})
        tests[token] = sent_at.isoformat()
        request.session[FORWARDING_TESTS_KEY] = dict(
            sorted(tests.items(), key=lambda kv: kv[1])[-KEPT_FORWARDING_TESTS:]
        )
        return HttpResponseRedirect(f"{change_url}?forwarding_test={token}#forwarding")

    def _address_to_change(self, request, object_id) -> EmailAddress:
        email_address = self._address_for(request, object_id)
        if not self.has_change_permission(request, email_address):
            raise PermissionDenied
        return email_address

    def remove_view(self, request, object_id):
        """Asks first; on Yes the address stops receiving and sending. Conversations stay."""
        email_address = self._address_to_change(request, object_id)
        change_url = reverse("admin:mail_emailaddress_change", args=[email_address.pk])
        if email_address.removed:
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            failed = addresses.remove_address(email_address)
            waiting = (
                f" {failed} queued repl{'y' if failed == 1 else 'ies'} failed with the reason; Retry sends "
                f"{'it' if failed == 1 else 'them'} once the address is added again."
                if failed
                else ""
            )
            self.message_user(
                request,
                f"Removed {email_address}. Its conversations and history are kept.{waiting}",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:mail_emailaddress_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Remove {email_address}?",
            "email_address": email_address,
            "opts": self.model._meta,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/mail/emailaddress/remove.html", context)

    def add_again_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        email_address = self._address_to_change(request, object_id)
        addresses.add_again(email_address)
        self.message_user(
            request, f"Added {email_address} again: its mail is accepted and replies go out.", messages.SUCCESS
        )
        return HttpResponseRedirect(reverse("admin:mail_emailaddress_change", args=[email_address.pk]))

    def test_status_view(self, request, object_id, token):
        """The test's status box; htmx polls it every 2 s until the message arrived or the wait is over."""
        context = {
            **self.admin_site.each_context(request),
            "forwarding_test": self._test_context(request, object_id, token),
        }
        return TemplateResponse(request, "admin/mail/emailaddress/_forwarding_test.html", context)


def breakable_address(address: str):
    """An address that may wrap before its @ (never inside a word) in a narrow list column."""
    local, at, domain = address.partition("@")
    return format_html("{}<wbr>{}{}", local, at, domain) if at else address


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin):
    """Mail as received, before and after processing; failed mail can be retried."""

    list_display = ["id", "received_at", "via", "to_address", "from_address", "status", "attempts", "short_error"]
    list_filter = ["status", "via"]
    search_fields = ["message_id", "envelope_sender", "last_error"]
    date_hierarchy = "received_at"
    actions = ["retry"]
    readonly_fields = [
        "received_at",
        "via",
        "email_address",
        "envelope_sender",
        "envelope_recipients",
        "message_id",
        "status",
        "attempts",
        "processed_at",
        "swept_at",
        "last_error",
        "imap_mailbox",
        "imap_uidvalidity",
        "imap_uid",
        "raw_message",
    ]
    fields = readonly_fields

    @admin.display(description="Email address", ordering="email_address__address")
    def to_address(self, inbound_email):
        return breakable_address(str(inbound_email.email_address or ""))

    @admin.display(description="Envelope sender", ordering="envelope_sender")
    def from_address(self, inbound_email):
        return breakable_address(inbound_email.envelope_sender)

    @admin.display(description="Problem or note")
    def short_error(self, inbound_email):
        return inbound_email.last_error.splitlines()[0][:120] if inbound_email.last_error else ""

    @admin.display(description="Raw message")
    def raw_message(self, inbound_email):
        raw = bytes(inbound_email.raw)
        text = raw[:RAW_SHOWN_BYTES].decode("utf-8", "replace")
        if len(raw) > RAW_SHOWN_BYTES:
            text += f"\n… ({len(raw) - RAW_SHOWN_BYTES} more bytes)"
        # A scrolling region: focusable, so keyboard users can scroll it too.
        return format_html("<pre class='webhook-body' tabindex='0'>{}</pre>", text)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    @admin.action(description="Retry selected failed mail", permissions=["view"])
    def retry(self, request, queryset):
        count = inbound.retry(queryset)
        self.message_user(request, f"{count} message(s) queued to be processed again.", messages.SUCCESS)
