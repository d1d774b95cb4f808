from allauth.account.models import EmailAddress
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group

from .forms import UserAddForm
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
    ]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).select_related("channel").annotate(member_total=Count("memberships"))

    @admin.display(description="Members", ordering="member_total")
    def member_count(self, inbox):
        return inbox.member_total


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserAddForm
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active", "is_superuser"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["first_name", "last_name"]}),
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
