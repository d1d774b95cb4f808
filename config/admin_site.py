from allauth.mfa.utils import is_mfa_enabled
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.text import capfirst

from . import attention

# The left navigation, grouped the way admins think. Each page is
# (label, target): the target names a registered model ("app_label.model", or
# several separated by "|", the first registered wins) or a URL name. Pages
# whose model is not registered (a channel not installed yet) are left out.
NAV = [
    (
        "Channels",
        [
            ("Entry Points", "channels_app.entrypointsettings"),
            ("Instagram", "meta.instagramaccount"),
            ("Messenger", "meta.messengerpage|meta.facebookpage"),
            ("WhatsApp", "meta.whatsappnumber|meta.whatsappaccount|meta.whatsappbusinessaccount"),
            ("Email", "mail.emailaddress"),
            ("Chat", "chat.chatwidget|chat.widget"),
            ("Phone numbers", "channels_app.phonenumber"),
            ("Twilio", "telephony.twilioaccount"),
        ],
    ),
    (
        "Routing",
        [
            ("Inboxes", "inbox.inbox"),
            ("Exceptions", "channels_app.routingexception"),
            ("Business Hours", "conversations.businesshours"),
            ("Rules", "conversations.rule"),
        ],
    ),
    ("People", [("Users", "inbox.user")]),
    (
        "Workspace",
        [
            ("Answers", "conversations.answer"),
            ("Topics", "conversations.topic"),
            ("Customer attributes", "conversations.customerattribute"),
        ],
    ),
    ("Quality", [("Conversation SLA report", "conversations.slareport")]),
    (
        "Developers",
        [
            ("Webhook events", "meta.webhookevent"),
            ("Twilio webhook events", "telephony.twiliowebhookevent"),
            ("Received mail", "mail.inboundemail"),
        ],
    ),
    (
        "Security",
        [
            ("Your two-factor authentication", "mfa_index"),
            ("Two-factor devices", "mfa.authenticator"),
        ],
    ),
]
# Registered, but reached from another page rather than the navigation.
NAV_HIDDEN = {"channels_app.entrypoint", "channels_app.channel"}


class SettingsSite(admin.AdminSite):
    """The admins' Settings UI at /settings/.

    Only admins (and the product's support staff, who are superusers) may enter,
    and only after they set up two-factor authentication. Sign-in itself is
    allauth's, so its rate limits and MFA apply.
    """

    site_header = "Settings"
    site_title = "Settings"
    index_title = "Settings"
    site_url = "/inbox/"
    # Our own left navigation (NAV) replaces Django's per-app sidebar.
    enable_nav_sidebar = False

    def has_permission(self, request):
        user = request.user
        return user.is_active and user.is_authenticated and user.is_settings_admin

    def login(self, request, extra_context=None):
        next_url = request.GET.get("next", "")
        # Only our own pages: ?next=https://evil.example would make us an open redirect.
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = reverse("admin:index")
        if request.user.is_authenticated:
            if not request.user.is_settings_admin:
                # Inside the app's layout, with the way back: not a bare "403 Forbidden".
                return render(request, "settings_forbidden.html", status=403)
            return redirect(next_url)
        query = urlencode({"next": next_url})
        return redirect(f"{reverse('account_login')}?{query}")

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def wrapper(request, *args, **kwargs):
            user = request.user
            if user.is_authenticated and user.is_settings_admin and not is_mfa_enabled(user):
                messages.warning(
                    request,
                    "Settings need two-factor authentication. Set up an authenticator app to continue.",
                )
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('mfa_activate_totp')}?{query}")
            return inner(request, *args, **kwargs)

        wrapper.__wrapped__ = inner
        wrapper.admin_site = self
        return wrapper

    # ---- Navigation -----------------------------------------------------

    def settings_nav(self, request):
        """NAV's groups with the pages this admin may open, and the page being shown.

        Registered pages that NAV does not name are listed under "More", so a
        new page is reachable before someone files it under a group.
        """
        placed = set(NAV_HIDDEN)
        groups = []
        for group_label, entries in NAV:
            items = [item for entry in entries if (item := self._nav_item(request, entry, placed))]
            if items:
                groups.append({"label": group_label, "items": items})
        more = []
        for model, model_admin in self._registry.items():
            if model._meta.label_lower in placed or not model_admin.has_view_or_change_permission(request):
                continue
            if url := self._changelist_url(model):
                more.append({"label": capfirst(model._meta.verbose_name_plural), "url": url})
        if more:
            groups.append({"label": "More", "items": sorted(more, key=lambda item: item["label"])})
        return groups, _mark_current(groups, request.path)

    def _nav_item(self, request, entry, placed):
        label, target = entry
        if "." not in target:  # a URL name outside the model admins (the admin's own two-factor page)
            try:
                return {"label": label, "url": reverse(target)}
            except NoReverseMatch:
                return None
        for model_label in target.split("|"):
            model = next((m for m in self._registry if m._meta.label_lower == model_label), None)
            if model is None:
                continue
            placed.add(model_label)
            if not self._registry[model].has_view_or_change_permission(request):
                return None
            url = self._changelist_url(model)
            return {"label": label, "url": url} if url else None
        return None

    def _changelist_url(self, model):
        try:
            return reverse(f"{self.name}:{model._meta.app_label}_{model._meta.model_name}_changelist")
        except NoReverseMatch:
            return None

    def each_context(self, request):
        context = super().each_context(request)
        if context.get("has_permission"):
            context["settings_nav"], context["settings_current"] = self.settings_nav(request)
        return context

    # ---- Settings home --------------------------------------------------

    def index(self, request, extra_context=None):
        """Settings home: what needs attention, then every page by group."""
        request.current_app = self.name
        context = {
            **self.each_context(request),
            "title": "Settings",
            "attention_items": attention.collect(request),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/index.html", context)

    def app_index(self, request, app_label, extra_context=None):
        # Django's apps are an implementation detail; the navigation groups pages by task.
        return redirect(f"{self.name}:index")


def _mark_current(groups, path):
    """Mark the navigation item whose page this path is, or lies under (the longest URL wins)."""
    current, current_group = None, None
    for group in groups:
        for item in group["items"]:
            item["current"] = False
            if path.startswith(item["url"]) and (current is None or len(item["url"]) > len(current["url"])):
                current, current_group = item, group
    if current is None:
        return None
    current["current"] = True
    current_group["current"] = True
    return {**current, "group": current_group["label"], "is_list": path == current["url"]}
