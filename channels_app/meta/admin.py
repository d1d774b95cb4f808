"""Settings › Channels › Instagram Messaging: the accounts and the Facebook Login add flow."""

from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from conversations import limiter

# webhook_admin registers Settings › Webhook events beside the accounts.
# Messenger, WhatsApp and the webhook events register their Settings pages beside these.
from . import oauth, product_admin, webhook_admin  # noqa: F401
from .accounts import connect_accounts, remove_account
from .graph import GraphError
from .login_flow import SESSION_PAGES, OAuthProblem, _load_pages, _store_pages, check_state, make_state, redirect_uri
from .models import AccountEvent, InstagramAccount
from .sender import instagram_rate_limit


@admin.register(InstagramAccount)
class InstagramAccountAdmin(admin.ModelAdmin):
    list_display = [
        "page_name",
        "username",
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
    search_fields = ["page_name", "username", "page_id", "ig_user_id"]
    ordering = ["page_name"]
    change_list_template = "admin/meta/instagramaccount/change_list.html"
    readonly_fields = [
        "page_name",
        "username",
        "name",
        "page_id",
        "ig_user_id",
        "status",
        "status_reason",
        "added_by",
        "added_on",
    ]

    def get_queryset(self, request):
        week_ago = timezone.now() - timedelta(days=7)
        return (
            super()
            .get_queryset(request)
            .select_related("added_by", "entry_point__channel__default_inbox", "entry_point__routing_exception__inbox")
            .annotate(
                ignored_mentions=Count(
                    "events",
                    filter=Q(events__kind=AccountEvent.Kind.IGNORED_STORY_MENTION, events__occurred_at__gte=week_ago),
                ),
                echoes=Count(
                    "events", filter=Q(events__kind=AccountEvent.Kind.OUTSIDE_ECHO, events__occurred_at__gte=week_ago)
                ),
            )
        )

    def get_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if request.user.is_superuser:
            fields.append("convert_story_mentions")
        return fields

    def has_add_permission(self, request):
        return False  # accounts are added through Facebook Login, never by typing a token

    def has_delete_permission(self, request, obj=None):
        return False  # "Remove" keeps the conversations; see remove_view

    @admin.display(description="Inbox")
    def inbox(self, account):
        entry_point = account.entry_point
        exception = getattr(entry_point, "routing_exception", None)
        if exception is not None:
            return f"{exception.inbox} (Exception)"
        default = entry_point.channel.default_inbox
        return f"{default} (default)" if default else "No default Inbox"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, account):
        return format_html(
            '<span class="account-status account-status-{}" title="{}">{}</span>',
            account.status,
            account.status_reason,
            account.get_status_display(),
        )

    @admin.display(description="Send budget now")
    def send_budget(self, account):
        use = limiter.budget_use(account.entry_point_id, instagram_rate_limit())
        backlog = f"{use.backlog} waiting" if use.backlog else "no backlog"
        return format_html("{}<br><span class='quiet'>{}</span>", str(use), backlog)

    @admin.display(description="Last 7 days")
    def last_week(self, account):
        mentions = f"{account.ignored_mentions} story mention(s) not converted"
        if not account.echoes:
            return format_html("{}<br><span class='quiet'>nothing sent outside the app</span>", mentions)
        return format_html(
            '{}<br><span class="account-warning" title="Another tool or person sends messages from this account; '
            'turn that automation off so customers get one answer.">{} sent outside the app</span>',
            mentions,
            account.echoes,
        )

    @admin.display(description="")
    def actions_column(self, account):
        if account.status == InstagramAccount.Status.REMOVED:
            return format_html('<a href="{}">Add again</a>', reverse("admin:meta_instagramaccount_start"))
        links = [
            format_html('<a href="{}">Remove</a>', reverse("admin:meta_instagramaccount_remove", args=[account.pk]))
        ]
        if account.status != InstagramAccount.Status.CONNECTED:
            links.insert(0, format_html('<a href="{}">Reauthorize</a>', reverse("admin:meta_instagramaccount_start")))
        return format_html(" · ".join(["{}"] * len(links)), *links)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("add/start/", view(self.start_view), name="meta_instagramaccount_start"),
            path("add/callback/", view(self.callback_view), name="meta_instagramaccount_callback"),
            path("add/confirm/", view(require_POST(self.confirm_view)), name="meta_instagramaccount_confirm"),
            path("<int:pk>/remove/", view(self.remove_view), name="meta_instagramaccount_remove"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "title": "Instagram Messaging",
            "redirect_uri": redirect_uri(request),
            "start_url": reverse("admin:meta_instagramaccount_start"),
        }
        return super().changelist_view(request, extra_context)

    def _render(self, request, template, context, status=200):
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, **context}
        return TemplateResponse(request, f"admin/meta/instagramaccount/{template}", context, status=status)

    def _problem(self, request, problem: OAuthProblem):
        return self._render(
            request,
            "oauth_problem.html",
            {"title": problem.title, "explanation": problem.explanation, "redirect_uri": redirect_uri(request)},
            status=problem.status,
        )

    def start_view(self, request):
        """Step 1: send the admin to Facebook Login with a fresh state."""
        return redirect(oauth.dialog_url(redirect_uri(request), make_state(request)))

    def callback_view(self, request):
        """Step 2: Meta sends the admin back here; show the Pages they can add."""
        try:
            check_state(request, request.GET.get("state"))
            if request.GET.get("error"):
                raise OAuthProblem(
                    "Facebook Login was cancelled",
                    "You cancelled or did not grant the permissions the app needs "
                    f"({', '.join(oauth.SCOPES)}). Start again and allow them all.",
                )
            code = request.GET.get("code")
            if not code:
                raise OAuthProblem("Facebook Login did not finish", "Meta sent no authorization code. Start again.")
            user_token = oauth.exchange_code(code, redirect_uri(request))
            missing = oauth.missing_permissions(user_token)
            if missing:
                raise OAuthProblem(
                    "Some permissions were not granted",
                    f"The app needs {', '.join(missing)} to read and answer Instagram messages. "
                    "Start again and keep every permission switched on.",
                )
            pages = oauth.list_pages(user_token)
        except OAuthProblem as problem:
            return self._problem(request, problem)
        except GraphError as error:
            return self._problem(request, OAuthProblem("Meta answered with an error", str(error), 502))
        eligible = [page for page in pages if page.eligible]
        if not eligible:
            return self._problem(
                request,
                OAuthProblem(
                    "No Instagram Professional account found",
                    "None of your Pages has a linked Instagram Business account. Link one to a Facebook Page "
                    "(Instagram app › Settings › Account type and tools), turn on “Allow Access to Messages” "
                    "(Settings › Privacy › Messages › Connected tools), then start again.",
                ),
            )
        _store_pages(request, eligible)
        connected = set(
            InstagramAccount.objects.exclude(status=InstagramAccount.Status.REMOVED).values_list(
                "ig_user_id", flat=True
            )
        )
        return self._render(
            request,
            "choose.html",
            {
                "title": "Choose the Instagram accounts to add",
                "eligible": eligible,
                "ineligible": [page for page in pages if not page.eligible],
                "connected": connected,
            },
        )

    def confirm_view(self, request):
        """Step 3: connect the chosen accounts."""
        chosen = set(request.POST.getlist("page_id"))
        pages = [page for page in _load_pages(request) if page.page_id in chosen]
        if not pages:
            messages.error(request, "Choose at least one account, or start again.")
            return redirect("admin:meta_instagramaccount_changelist")
        results = connect_accounts(request.user, pages)
        request.session.pop(SESSION_PAGES, None)
        for result in results:
            verb = "is now an Entry Point of the Messaging Channel" if result.created else "was reconnected"
            messages.success(request, f"@{result.account.username} {verb}.")
            if result.subscribe_error:
                messages.warning(
                    request,
                    f"@{result.account.username}: Meta refused the webhook subscription: {result.subscribe_error}",
                )
        return self._render(
            request,
            "done.html",
            {
                "title": "Instagram Messaging added",
                "results": results,
                "entry_points_url": reverse("admin:channels_app_entrypointsettings_changelist"),
                "list_url": reverse("admin:meta_instagramaccount_changelist"),
            },
        )

    def remove_view(self, request, pk):
        account = get_object_or_404(InstagramAccount, pk=pk)
        if request.method == "POST":
            error = remove_account(account)
            messages.success(request, f"@{account.username} was removed. Its conversations and history are kept.")
            if error:
                messages.warning(request, f"Meta did not confirm the webhook unsubscription: {error}")
            return redirect("admin:meta_instagramaccount_changelist")
        return self._render(request, "remove.html", {"title": f"Remove @{account.username}?", "account": account})


# Settings › Messenger and Settings › WhatsApp reuse the flow above.
