"""Settings › Channels › Instagram Messaging: the accounts and the Facebook Login add flow."""

from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from conversations import limiter

# webhook_admin registers Settings › Webhook events beside the accounts.
# Messenger, WhatsApp and the webhook events register their Settings pages beside these.
from . import oauth, product_admin, webhook_admin  # noqa: F401
from .accounts import connect_accounts, remove_account
from .graph import GraphError
from .login_flow import SESSION_PAGES, OAuthProblem, _load_pages, _store_pages, check_state, make_state, redirect_uri
from .models import AccountEvent, InstagramAccount, WebhookEvent
from .sender import instagram_rate_limit

# The account a Reauthorize / Add again started for (its Instagram user id): pre-ticked in the choice.
SESSION_FOR_ACCOUNT = "instagram_oauth_for_account"
RECENT_EVENTS = 10


@admin.register(InstagramAccount)
class InstagramAccountAdmin(admin.ModelAdmin):
    list_display = [
        "page_name",
        "username",
        "page_id",
        "added_by",
        "added_on_date",
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
    change_form_template = "admin/meta/instagramaccount/change_form.html"
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

    @admin.display(description="Added On", ordering="added_on")
    def added_on_date(self, account):
        """The day only (the list is wide); the exact time is the tooltip and on the account's page."""
        added = timezone.localtime(account.added_on)
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            added.isoformat(),
            date_format(added, "DATETIME_FORMAT"),
            date_format(added, "j M Y"),
        )

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
        count = account.ignored_mentions
        mentions = f"{count} story mention{pluralize(count)} not converted"
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
        links = self._action_links(account)
        return format_html('<span class="row-actions">{}</span>', format_html(" ".join(["{}"] * len(links)), *links))

    def _action_links(self, account):
        """Reauthorize / Add again (the Facebook Login popup, this account pre-ticked) and Remove."""
        login_url = f"{reverse('admin:meta_instagramaccount_start')}?account={account.pk}"
        popup = '<a href="{}" class="facebook-login" data-popup-url="{}" data-testid="{}-{}">{}</a>'
        if account.status == InstagramAccount.Status.REMOVED:
            return [format_html(popup, login_url, login_url, "add-again", account.pk, "Add again")]
        links = [
            format_html(
                '<a href="{}" data-testid="remove-{}">Remove</a>',
                reverse("admin:meta_instagramaccount_remove", args=[account.pk]),
                account.pk,
            )
        ]
        if account.status != InstagramAccount.Status.CONNECTED:
            links.insert(0, format_html(popup, login_url, login_url, "reauthorize", account.pk, "Reauthorize"))
        return links

    def has_change_permission(self, request, obj=None):
        # Read-only for admins (no Save buttons); the product's staff may switch story mentions.
        return request.user.is_superuser

    def change_view(self, request, object_id, form_url="", extra_context=None):
        account = self.get_object(request, object_id)
        if account is None:
            return super().change_view(request, object_id, form_url, extra_context)
        use = limiter.budget_use(account.entry_point_id, instagram_rate_limit())
        events = WebhookEvent.objects.filter(
            Q(body__contains=f'"id": "{account.ig_user_id}"')
            | Q(body__contains=f'"id":"{account.ig_user_id}"')
            | Q(body__contains=f'"id": "{account.page_id}"')
            | Q(body__contains=f'"id":"{account.page_id}"')
        ).order_by("-received_at")[:RECENT_EVENTS]
        extra_context = {
            **(extra_context or {}),
            "title": f"@{account.username}",
            "subtitle": None,
            "account": account,
            "status_badge": self.status_badge(account),
            "inbox_route": self.inbox(account),
            "budget": use,
            "recent_events": [(event, webhook_admin.event_kinds(event)) for event in events],
            "account_actions": self._action_links(account),
            "show_save": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("add/start/", view(self.start_view), name="meta_instagramaccount_start"),
            path("add/callback/", view(self.callback_view), name="meta_instagramaccount_callback"),
            path("add/confirm/", view(require_POST(self.confirm_view)), name="meta_instagramaccount_confirm"),
            path("add/cancel/", view(self.cancel_view), name="meta_instagramaccount_cancel"),
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
        """Step 1: send the admin to Facebook Login with a fresh state (?account=pk: Reauthorize / Add again)."""
        account_id = request.GET.get("account", "")
        account = InstagramAccount.objects.filter(pk=account_id).first() if account_id.isdigit() else None
        if account is not None:
            request.session[SESSION_FOR_ACCOUNT] = account.ig_user_id
        else:
            request.session.pop(SESSION_FOR_ACCOUNT, None)
        return redirect(oauth.dialog_url(redirect_uri(request), make_state(request)))

    def _finish(self, request, title="Facebook Login was cancelled"):
        """The end of the login: close the popup and show the messages in the main window (or this tab).

        A page of its own, outside the Settings layout, that does not show (and so
        does not use up) the messages: the list behind the popup shows them.
        """
        return TemplateResponse(
            request,
            "admin/meta/instagramaccount/popup_finish.html",
            {"title": title, "list_url": reverse("admin:meta_instagramaccount_changelist")},
        )

    def _choose(self, request, eligible, ineligible=(), error=""):
        connected = set(
            InstagramAccount.objects.exclude(status=InstagramAccount.Status.REMOVED).values_list(
                "ig_user_id", flat=True
            )
        )
        for_account = request.session.get(SESSION_FOR_ACCOUNT, "")
        ticked = (
            {for_account}
            if any(page.ig_user_id == for_account for page in eligible)
            else {page.ig_user_id for page in eligible if page.ig_user_id not in connected}
        )
        return self._render(
            request,
            "choose.html",
            {
                "title": "Choose the Instagram accounts to reauthorize"
                if for_account
                else "Choose the Instagram accounts to add",
                "eligible": eligible,
                "ineligible": ineligible,
                "connected": connected,
                "ticked": ticked,
                "reauthorizing": bool(for_account),
                "error": error,
            },
        )

    def callback_view(self, request):
        """Step 2: Meta sends the admin back here; show the Pages they can add."""
        try:
            check_state(request, request.GET.get("state"))
            if request.GET.get("error"):
                request.session.pop(SESSION_FOR_ACCOUNT, None)
                messages.warning(
                    request,
                    "Facebook Login was cancelled: nothing was added or changed. To connect an account, "
                    f"start again and allow the permissions the app needs ({', '.join(oauth.SCOPES)}).",
                )
                return self._finish(request)
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
        return self._choose(request, eligible, [page for page in pages if not page.eligible])

    def confirm_view(self, request):
        """Step 3: connect the chosen accounts."""
        chosen = set(request.POST.getlist("page_id"))
        stored = _load_pages(request)
        if not stored:
            messages.error(request, "This Facebook Login has ended. Start again.")
            return self._finish(request, "Facebook Login has ended")
        pages = [page for page in stored if page.page_id in chosen]
        if not pages:
            # Ask again: the login (and its Page tokens) stays until the admin chooses.
            return self._choose(request, stored, error="Tick at least one account, or Cancel.")
        results = connect_accounts(request.user, pages)
        request.session.pop(SESSION_PAGES, None)
        request.session.pop(SESSION_FOR_ACCOUNT, None)
        entry_points = reverse("admin:channels_app_entrypointsettings_changelist")
        for result in results:
            username = result.account.username
            if result.subscribe_error:
                messages.warning(
                    request,
                    f"@{username} was {result.verb}, but Meta refused the webhook subscription, so no messages "
                    f"arrive yet: {result.subscribe_error}",
                )
            elif result.created:
                messages.success(
                    request,
                    format_html(
                        "@{} was added: it is now an Entry Point of the Messaging Channel. "
                        'Choose its Inbox in <a href="{}">Settings › Entry Points</a>.',
                        username,
                        entry_points,
                    ),
                )
            else:
                resumed = result.resumed
                waiting = (
                    f" {resumed} waiting repl{'y is' if resumed == 1 else 'ies are'} being sent." if resumed else ""
                )
                messages.success(request, f"@{username} was {result.verb}.{waiting}")
        verbs = {result.verb for result in results}
        noun = "Instagram account" if len(results) == 1 else "Instagram accounts"
        return self._finish(request, f"{noun} {verbs.pop() if len(verbs) == 1 else 'connected'}")

    def cancel_view(self, request):
        """Cancel on the choice: the login's Page tokens are dropped; the popup closes."""
        request.session.pop(SESSION_PAGES, None)
        request.session.pop(SESSION_FOR_ACCOUNT, None)
        messages.info(request, "Nothing was added or changed.")
        return self._finish(request, "Cancelled")

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
