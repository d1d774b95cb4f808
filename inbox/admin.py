from allauth.account.decorators import reauthentication_required
from allauth.account.models import EmailAddress
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.admin import sensitive_post_parameters_m
from django.contrib.auth.models import Group
from django.db.models import Count
from django.utils.decorators import method_decorator

from .forms import UserAddForm, UserEditForm
from .models import Inbox, InboxMembership, User

admin.site.unregister(Group)
# Sign-in is by email and password only; allauth's email-address table is not
# something admins manage.
admin.site.unregister(EmailAddress)


class MembershipInline(admin.TabularInline):
    model = InboxMembership
    extra = 1
    autocomplete_fields = ["user"]
    verbose_name = "member"
    verbose_name_plural = "Members (agents who work this inbox)"


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "member_count", "first_response_minutes", "next_response_minutes"]
    list_filter = ["channel"]
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
        return super().get_queryset(request).select_related("channel").annotate(member_total=Count("memberships"))

    @admin.display(description="Members", ordering="member_total")
    def member_count(self, inbox):
        return inbox.member_total


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserAddForm
    form = UserEditForm
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active", "is_superuser"]
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

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and request.user.is_superuser:
            fieldsets = [*fieldsets, ("Product support staff", {"fields": ["is_superuser"]})]
        return fieldsets

    # Superusers are the product's support staff: an admin who could edit one
    # (set their password, then sign in as them) would raise themselves above admin.
    def get_queryset(self, request):
        users = super().get_queryset(request)
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
