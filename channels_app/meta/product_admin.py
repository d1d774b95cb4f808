"""Settings › Messenger (Pages) and Settings › WhatsApp (numbers), on Instagram's Facebook Login flow.

The flow's pieces (signed single-use state, tokens kept encrypted in the
session between choosing and confirming, the popup) are admin.py's; each
product brings its scopes, what it lists to choose from, and how it connects.
"""

import contextlib
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from conversations import limiter

from . import accounts, oauth
from .graph import GraphError
from .login_flow import SESSION_PAGES, OAuthProblem, _load_pages, _store_pages, check_state, make_state, redirect_uri
from .messenger_inbound import count_outside_echoes
from .models import MessengerPage, WhatsAppNumber, WhatsAppTemplate
from .sender import messenger_rate_limit
from .whatsapp_sender import whatsapp_rate_limit


class FacebookLoginAdmin(admin.ModelAdmin):
    """The Add / callback / confirm / remove views of a product connected through Facebook Login."""

    product = ""  # "messenger" | "whatsapp": its session keys and state salt
    title = ""
    add_label = ""
    scopes: tuple = ()
    list_per_page = 50
    change_list_template = "admin/meta/product/change_list.html"

    def has_add_permission(self, request):
        return False  # added through Facebook Login (or WhatsApp's validated manual form), never typed in

    def has_delete_permission(self, request, obj=None):
        return False  # "Remove" keeps the conversations

    def _name(self, view: str) -> str:
        return f"meta_{self.model._meta.model_name}_{view}"

    def _url(self, view: str, *args) -> str:
        return reverse(f"admin:{self._name(view)}", args=args)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("add/start/", view(self.start_view), name=self._name("start")),
            path("add/callback/", view(self.callback_view), name=self._name("callback")),
            path("add/confirm/", view(require_POST(self.confirm_view)), name=self._name("confirm")),
            path("<int:pk>/remove/", view(self.remove_view), name=self._name("remove")),
            *self.extra_urls(view),
            *super().get_urls(),
        ]

    def extra_urls(self, view):
        return []

    def redirect_uri(self, request):
        return redirect_uri(request, f"admin:{self._name('callback')}")

    def render(self, request, template, context, status=200):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "product_title": self.title,
            "list_url": self._url("changelist"),
            "start_url": self._url("start"),
            **context,
        }
        return TemplateResponse(request, f"admin/meta/product/{template}", context, status=status)

    def problem(self, request, problem: OAuthProblem):
        return self.render(
            request,
            "problem.html",
            {"title": problem.title, "explanation": problem.explanation, "redirect_uri": self.redirect_uri(request)},
            status=problem.status,
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "title": self.title,
            "add_label": self.add_label,
            "start_url": self._url("start"),
            "redirect_uri": self.redirect_uri(request),
            **self.changelist_extra(request),
        }
        return super().changelist_view(request, extra_context)

    def changelist_extra(self, request) -> dict:
        return {}

    def start_view(self, request):
        return redirect(self.dialog_url(request, make_state(request, self.product)))

    def dialog_url(self, request, state):
        return oauth.dialog_url(self.redirect_uri(request), state, self.scopes)

    def callback_view(self, request):
        try:
            check_state(request, request.GET.get("state"), self.product)
            if request.GET.get("error"):
                raise OAuthProblem(
                    "Facebook Login was cancelled",
                    f"You cancelled or did not grant the permissions the app needs ({', '.join(self.scopes)}). "
                    "Start again and allow them all.",
                )
            code = request.GET.get("code")
            if not code:
                raise OAuthProblem("Facebook Login did not finish", "Meta sent no authorization code. Start again.")
            choices = self.choices(request, code)
        except OAuthProblem as problem:
            return self.problem(request, problem)
        except GraphError as error:
            return self.problem(request, OAuthProblem("Meta answered with an error", str(error), 502))
        _store_pages(request, choices, self.product)
        return self.render(
            request, "choose.html", {"title": f"Choose what to add to {self.title}", **self.choose_context(choices)}
        )

    def confirm_view(self, request):
        chosen = set(request.POST.getlist("choice"))
        picked = [c for c in _load_pages(request, self.product, self.choice_class) if self.choice_id(c) in chosen]
        if not picked:
            messages.error(request, "Choose at least one, or start again.")
            return redirect(self._url("changelist"))
        results = self.connect(request.user, picked)
        request.session.pop(SESSION_PAGES + self.product, None)
        for result in results:
            verb = "is now an Entry Point of the Messaging Channel" if result.created else "was reconnected"
            messages.success(request, f"{result.account} {verb}.")
            if result.subscribe_error:
                messages.warning(
                    request, f"{result.account}: Meta refused the webhook subscription: {result.subscribe_error}"
                )
        # The popup's last page only sends the list behind it to the messages above and closes.
        return TemplateResponse(
            request,
            "admin/meta/instagramaccount/popup_finish.html",
            {"title": f"{self.title} added", "list_url": self._url("changelist")},
        )

    def remove_view(self, request, pk):
        obj = get_object_or_404(self.model, pk=pk)
        if request.method == "POST":
            error = self.remove(obj)
            messages.success(request, f"{obj} was removed. Its conversations and history are kept.")
            if error:
                messages.warning(request, f"Meta did not confirm the webhook unsubscription: {error}")
            return redirect(self._url("changelist"))
        return self.render(request, "remove.html", {"title": f"Remove {obj}?", "object": obj})

    @admin.display(description="Inbox")
    def inbox(self, obj):
        entry_point = obj.entry_point
        exception = getattr(entry_point, "routing_exception", None)
        if exception is not None:
            return f"{exception.inbox} (Exception)"
        default = entry_point.channel.default_inbox
        return f"{default} (default)" if default else "No default Inbox"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="account-status account-status-{}" title="{}">{}</span>',
            obj.status,
            obj.status_reason,
            obj.get_status_display(),
        )

    @admin.display(description="")
    def actions_column(self, obj):
        if obj.status == obj.Status.REMOVED:
            return format_html('<a href="{}">Add again</a>', self._url("start"))
        links = [format_html('<a href="{}">Remove</a>', self._url("remove", obj.pk))]
        if obj.status != obj.Status.CONNECTED:
            links.insert(0, format_html('<a href="{}">Reauthorize</a>', self._url("start")))
        return format_html(" · ".join(["{}"] * len(links)), *links)


# --- Messenger ------------------------------------------------------------------


@admin.register(MessengerPage)
class MessengerPageAdmin(FacebookLoginAdmin):
    product = "messenger"
    title = "Messenger"
    add_label = "Add Messenger"
    scopes = oauth.MESSENGER_SCOPES
    choice_class = oauth.PageChoice
    list_display = [
        "page_name",
        "page_id",
        "added_by",
        "added_on",
        "inbox",
        "status_badge",
        "send_budget",
        "last_week",
        "actions_column",
    ]
    list_display_links = ["page_name"]
    search_fields = ["page_name", "page_id"]
    readonly_fields = ["page_name", "page_id", "status", "status_reason", "added_by", "added_on"]
    fields = readonly_fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("added_by", "entry_point__channel__default_inbox", "entry_point__routing_exception__inbox")
        )

    @admin.display(description="Send budget now")
    def send_budget(self, page):
        use = limiter.budget_use(page.entry_point_id, messenger_rate_limit())
        backlog = f"{use.backlog} waiting" if use.backlog else "no backlog"
        return format_html("{}<br><span class='quiet'>{}</span>", str(use), backlog)

    @admin.display(description="Last 7 days")
    def last_week(self, page):
        echoes = count_outside_echoes(page, timezone.now() - timedelta(days=7))
        if not echoes:
            return mark_safe("<span class='quiet'>nothing sent outside the app</span>")
        return format_html(
            '<span class="account-warning" title="Another tool or person sends messages from this Page; '
            'turn that automation off so customers get one answer.">{} sent outside the app</span>',
            echoes,
        )

    @staticmethod
    def choice_id(page):
        return page.page_id

    def choices(self, request, code):
        user_token = oauth.exchange_code(code, self.redirect_uri(request))
        missing = oauth.missing_permissions(user_token, self.scopes)
        if missing:
            raise OAuthProblem(
                "Some permissions were not granted",
                f"The app needs {', '.join(missing)} to read and answer Messenger messages. "
                "Start again and keep every permission switched on.",
            )
        pages = oauth.list_pages(user_token)
        if not pages:
            raise OAuthProblem(
                "No Facebook Page found", "You manage no Facebook Page, or did not share any. Start again."
            )
        return pages

    def choose_context(self, pages):
        connected = set(
            MessengerPage.objects.exclude(status=MessengerPage.Status.REMOVED).values_list("page_id", flat=True)
        )
        return {
            "intro": "These are the Facebook Pages you manage. Each one you add becomes an Entry Point of the "
            "Messaging Channel: its Messenger conversations reach the inbox, and it is subscribed to the app's "
            "webhooks.",
            "options": [
                {
                    "id": page.page_id,
                    "label": page.page_name,
                    "detail": f"Page ID {page.page_id}",
                    "connected": page.page_id in connected,
                }
                for page in pages
            ],
        }

    def connect(self, admin_user, pages):
        return accounts.connect_messenger_pages(admin_user, pages)

    def remove(self, page):
        return accounts.remove_messenger_page(page)


# --- WhatsApp ------------------------------------------------------------------------


class ManualNumberForm(forms.Form):
    waba_id = forms.RegexField(label="WhatsApp Business Account ID", regex=r"^\d{5,30}$")
    phone_number_id = forms.RegexField(label="Phone number ID", regex=r"^\d{5,30}$")
    token = forms.CharField(
        label="System user access token",
        widget=forms.PasswordInput(render_value=False),
        help_text="A permanent token of a system user with whatsapp_business_messaging and "
        "whatsapp_business_management on this account (Business settings › System users).",
    )


@admin.register(WhatsAppNumber)
class WhatsAppNumberAdmin(FacebookLoginAdmin):
    product = "whatsapp"
    title = "WhatsApp"
    add_label = "Add WhatsApp"
    scopes = oauth.WHATSAPP_SCOPES
    choice_class = accounts.NumberChoice
    list_display = [
        "display_phone_number",
        "verified_name",
        "phone_number_id",
        "waba_id",
        "quality",
        "messaging_limit_tier",
        "added_by",
        "added_on",
        "status_badge",
        "send_budget",
        "templates_count",
        "actions_column",
    ]
    list_display_links = ["display_phone_number"]
    search_fields = ["display_phone_number", "verified_name", "phone_number_id", "waba_id"]
    readonly_fields = [
        "display_phone_number",
        "verified_name",
        "phone_number_id",
        "waba_id",
        "quality_rating",
        "messaging_limit_tier",
        "status",
        "status_reason",
        "added_by",
        "added_on",
    ]
    fields = readonly_fields
    actions = ["sync_templates_action"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("added_by", "entry_point__channel__default_inbox", "entry_point__routing_exception__inbox")
        )

    @admin.display(description="Quality rating", ordering="quality_rating")
    def quality(self, number):
        rating = (number.quality_rating or "UNKNOWN").upper()
        return format_html('<span class="quality quality-{}">{}</span>', rating.lower(), rating.title())

    @admin.display(description="Send budget now")
    def send_budget(self, number):
        use = limiter.budget_use(number.entry_point_id, whatsapp_rate_limit())
        backlog = f"{use.backlog} waiting" if use.backlog else "no backlog"
        return format_html("{}<br><span class='quiet'>{}</span>", str(use), backlog)

    @admin.display(description="Templates")
    def templates_count(self, number):
        count = WhatsAppTemplate.objects.filter(waba_id=number.waba_id).count()
        return f"{count} approved"

    @admin.action(description="Sync templates from Meta")
    def sync_templates_action(self, request, queryset):
        done = set()
        for number in queryset.exclude(status=WhatsAppNumber.Status.REMOVED):
            if number.waba_id in done:
                continue
            done.add(number.waba_id)
            try:
                count = accounts.sync_templates(number.waba_id, number.access_token)
            except GraphError as error:
                messages.error(request, f"WABA {number.waba_id}: Meta refused the template list: {error}")
                continue
            messages.success(request, f"WABA {number.waba_id}: {count} approved template(s) synced.")

    def changelist_extra(self, request):
        return {"manual_url": self._url("manual"), "config_id": settings.META_WHATSAPP_CONFIG_ID}

    def extra_urls(self, view):
        return [path("add/manual/", view(self.manual_view), name=self._name("manual"))]

    def dialog_url(self, request, state):
        if not settings.META_WHATSAPP_CONFIG_ID:
            return self._url("manual")
        return oauth.dialog_url(
            self.redirect_uri(request), state, self.scopes, config_id=settings.META_WHATSAPP_CONFIG_ID
        )

    @staticmethod
    def choice_id(number):
        return number.phone_number_id

    def choices(self, request, code):
        token = oauth.exchange_business_code(code, self.redirect_uri(request))
        wabas = oauth.shared_wabas(token)
        if not wabas:
            raise OAuthProblem(
                "No WhatsApp Business Account was shared",
                "Embedded Signup finished without sharing a WhatsApp Business Account with the app. Start again "
                "and choose (or create) the account and its phone number.",
            )
        numbers = [number for waba_id in wabas for number in accounts.numbers_of(token, waba_id)]
        if not numbers:
            raise OAuthProblem("No phone number found", "The shared WhatsApp Business Account has no phone number yet.")
        return numbers

    def choose_context(self, numbers):
        connected = set(
            WhatsAppNumber.objects.exclude(status=WhatsAppNumber.Status.REMOVED).values_list(
                "phone_number_id", flat=True
            )
        )
        return {
            "intro": "These phone numbers belong to the WhatsApp Business Accounts you shared. Each one you add "
            "becomes an Entry Point of the Messaging Channel, and the account is subscribed to the app's webhooks.",
            "options": [
                {
                    "id": number.phone_number_id,
                    "label": f"{number.display_phone_number} · {number.verified_name}",
                    "detail": f"Phone number ID {number.phone_number_id} · WABA {number.waba_id} · quality "
                    f"{number.quality_rating or 'unknown'} · {number.messaging_limit_tier or 'no tier yet'}",
                    "connected": number.phone_number_id in connected,
                }
                for number in numbers
            ],
        }

    def connect(self, admin_user, numbers):
        results = [accounts.connect_whatsapp_number(admin_user, number) for number in numbers]
        _sync_quietly({(n.waba_id, n.token) for n in numbers})
        return results

    def remove(self, number):
        return accounts.remove_whatsapp_number(number)

    def manual_view(self, request):
        """For businesses onboarded in Business Manager: WABA id, phone number id and a system-user token,
        checked with Meta before anything is saved."""
        form = ManualNumberForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                numbers = accounts.numbers_of(data["token"], data["waba_id"])
            except GraphError as error:
                form.add_error(None, f"Meta refused these details: {error}")
            else:
                number = next((n for n in numbers if n.phone_number_id == data["phone_number_id"]), None)
                if number is None:
                    form.add_error(
                        "phone_number_id", "This WhatsApp Business Account has no phone number with this ID."
                    )
                else:
                    result = accounts.connect_whatsapp_number(request.user, number)
                    _sync_quietly({(number.waba_id, number.token)})
                    messages.success(request, f"{result.account} is now an Entry Point of the Messaging Channel.")
                    if result.subscribe_error:
                        messages.warning(request, f"Meta refused the webhook subscription: {result.subscribe_error}")
                    return redirect(self._url("changelist"))
        return self.render(request, "manual.html", {"title": "Add WhatsApp by hand", "form": form})


def _sync_quietly(wabas) -> None:
    """Fetch the approved templates right after adding a number; a refusal leaves them for "Sync templates"."""
    for waba_id, token in wabas:
        with contextlib.suppress(GraphError):
            accounts.sync_templates(waba_id, token)


@admin.register(WhatsAppTemplate)
class WhatsAppTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "language", "category", "waba_id", "variables_list", "synced_at"]
    list_filter = ["waba_id", "category", "language"]
    search_fields = ["name"]
    readonly_fields = ["waba_id", "name", "language", "category", "status", "components", "variables", "synced_at"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # templates are written and approved in Meta's WhatsApp Manager, then synced

    @admin.display(description="Variables")
    def variables_list(self, template):
        return ", ".join("{{" + v["name"] + "}}" for v in template.variables) or "none"
