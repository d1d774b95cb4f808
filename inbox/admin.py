from allauth.account.decorators import reauthentication_required
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.admin import sensitive_post_parameters_m
from django.contrib.auth.models import Group
from django.db.models import Count
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join

from .forms import UserAddForm, UserEditForm
from .models import AgentAvailability, Inbox, InboxMembership, User

admin.site.unregister(Group)
# Sign-in is by email and password only; allauth's email-address table is not
# something admins manage.
admin.site.unregister(EmailAddress)


class MembershipInline(admin.TabularInline):
    model = InboxMembership
    extra = 1
    verbose_name = "member"
    verbose_name_plural = "Members (agents who work this inbox)"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(is_active=True).order_by("first_name", "last_name", "email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# Two-factor devices: set up by each person on their own Security page. Admins see who has one and
# can delete a lost one (the person then sets up a new one at their next sign-in); they never type one in.
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(admin.ModelAdmin):
    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    search_fields = ["user__email", "user__first_name", "user__last_name"]
    list_select_related = ["user"]
    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "channel",
        "member_count",
        "first_response_minutes",
        "next_response_minutes",
        "business_hours",
    ]
    list_filter = ["channel", "business_hours"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "channel"]}),
        (
            "Conversation SLA",
            {"fields": ["first_response_minutes", "next_response_minutes", "sla_business_hours_only"]},
        ),
        ("Business Hours", {"fields": ["business_hours"]}),
        ("Replies after close", {"fields": ["reopen_on_customer_reply"]}),
    ]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("channel", "business_hours")
            .annotate(member_total=Count("memberships"))
        )

    @admin.display(description="Members", ordering="member_total")
    def member_count(self, inbox):
        return inbox.member_total


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserAddForm
    form = UserEditForm
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "inbox_names", "channels", "two_factor", "is_active", "last_login"]
    list_filter = ["role", "is_active", "memberships__inbox", "is_superuser"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name", "phone_number"]}),
        ("Role", {"fields": ["role", "capacity", "is_active"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "first_name", "last_name", "role", "password1", "password2"],
            },
        )
    ]
    readonly_fields = ["last_login", "date_joined"]

    @admin.display(description="Name", ordering="first_name")
    def full_name(self, user):
        return user.get_full_name() or "—"

    @admin.display(description="Inboxes")
    def inbox_names(self, user):
        return ", ".join(sorted(membership.inbox.name for membership in user.memberships.all())) or "—"

    @admin.display(description="Channels")
    def channels(self, user):
        """The Channels of the user's inboxes, and whether they take new conversations there now."""
        available = {a.channel_id for a in user.availabilities.all() if a.status == AgentAvailability.Status.AVAILABLE}
        channels = {membership.inbox.channel for membership in user.memberships.all()}
        parts = [
            format_html(
                '<span class="pill {}">{}</span>',
                "status-open" if channel.pk in available else "",
                f"{channel}{' · available' if channel.pk in available else ''}",
            )
            for channel in sorted(channels, key=str)
        ]
        return format_html_join(" ", "{}", ((part,) for part in parts)) or "—"

    @admin.display(description="Two-factor")
    def two_factor(self, user):
        enabled = any(a.type == Authenticator.Type.TOTP for a in user.authenticator_set.all())
        return format_html(
            '<span class="pill {}">{}</span>', "status-open" if enabled else "unassigned", "On" if enabled else "Off"
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and request.user.is_superuser:
            fieldsets = [*fieldsets, ("Product support staff", {"fields": ["is_superuser"]})]
        return fieldsets

    # Superusers are the product's support staff: an admin who could edit one
    # (set their password, then sign in as them) would raise themselves above admin.
    def get_queryset(self, request):
        users = (
            super()
            .get_queryset(request)
            .prefetch_related("memberships__inbox__channel", "availabilities", "authenticator_set")
        )
        return users if request.user.is_superuser else users.filter(is_superuser=False)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj)]
        if not request.user.is_superuser:
            readonly += ["is_superuser", "is_staff", "user_permissions", "groups"]
        return readonly

    # Setting someone's password lets you sign in as them: the acting admin
    # proves it is still them (allauth's reauthentication: password or TOTP).
    @sensitive_post_parameters_m
    @method_decorator(reauthentication_required(allow_get=True))
    def user_change_password(self, request, id, form_url=""):
        return super().user_change_password(request, id, form_url)
