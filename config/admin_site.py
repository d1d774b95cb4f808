from allauth.mfa.utils import is_mfa_enabled
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode


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
    # Lists like Instagram Messaging need the full width; the index lists every page.
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

    def get_app_list(self, request, app_label=None):
        # Present the product's order rather than alphabetical app names.
        order = {"channels_app": 0, "meta": 1, "conversations": 2, "inbox": 3, "account": 8, "mfa": 9}
        apps = super().get_app_list(request, app_label)
        return sorted(apps, key=lambda app: order.get(app["app_label"], 5))
