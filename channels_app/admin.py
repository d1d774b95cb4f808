from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.db.models import Count
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.urls import reverse

from conversations.routing import route_unrouted_conversations

from .models import Channel, EntryPoint, EntryPointSettings, RoutingException
from .services import set_entry_point_active


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["__str__", "default_inbox", "entry_point_count"]
    fields = ["kind", "default_inbox"]
    readonly_fields = ["kind"]
    list_display_links = None

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("default_inbox")
            .annotate(entry_point_total=Count("entry_points"))
        )

    @admin.display(description="Entry Points", ordering="entry_point_total")
    def entry_point_count(self, channel):
        return channel.entry_point_total

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Default inboxes are chosen in Settings › Entry Points.
        return False


def without_related_links(formfield):
    """An Inbox picker only picks: no add / change / delete icons that act on the Inbox itself."""
    if formfield is not None and isinstance(formfield.widget, RelatedFieldWidgetWrapper):
        widget = formfield.widget
        widget.can_add_related = widget.can_change_related = widget.can_delete_related = False
        widget.can_view_related = False
    return formfield


def routed_message(count: int) -> str:
    return f"{count} waiting conversation{pluralize(count)} {'was' if count == 1 else 'were'} routed."


class RoutingExceptionForm(forms.ModelForm):
    class Meta:
        model = RoutingException
        fields = ["entry_point", "inbox"]


class RoutingExceptionInline(admin.TabularInline):
    """One row per Exception; an entry point can have at most one."""

    model = RoutingException
    form = RoutingExceptionForm
    extra = 1
    verbose_name = "Exception"
    verbose_name_plural = "Exceptions: these entry points go to another inbox instead of the default"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        channel = getattr(request, "_entry_point_settings_channel", None)
        if db_field.name == "entry_point" and channel is not None:
            kwargs["queryset"] = EntryPoint.objects.filter(channel=channel)
        if db_field.name == "inbox":
            inboxes = db_field.related_model.objects.order_by("name")
            kwargs["queryset"] = inboxes.filter(channel=channel) if channel is not None else inboxes
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        return without_related_links(super().formfield_for_dbfield(db_field, request, **kwargs))


class EntryPointInline(admin.TabularInline):
    model = EntryPoint
    show_change_link = True
    fields = ["display_name", "kind", "external_id", "active"]
    readonly_fields = ["display_name", "kind", "external_id"]
    extra = 0
    can_delete = False
    verbose_name_plural = "Entry points of this Channel (untick Active to pause one)"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(EntryPointSettings)
class EntryPointSettingsAdmin(admin.ModelAdmin):
    list_display = ["channel_name", "default_inbox", "exception_count", "entry_point_count"]
    fields = ["default_inbox"]
    inlines = [RoutingExceptionInline, EntryPointInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("default_inbox")
            .annotate(
                exception_total=Count("exceptions", distinct=True),
                entry_point_total=Count("entry_points", distinct=True),
            )
        )

    @admin.display(description="Channel")
    def channel_name(self, channel):
        return str(channel)

    @admin.display(description="Exceptions", ordering="exception_total")
    def exception_count(self, channel):
        return channel.exception_total

    @admin.display(description="Entry points", ordering="entry_point_total")
    def entry_point_count(self, channel):
        return channel.entry_point_total

    def get_object(self, request, object_id, from_field=None):
        channel = super().get_object(request, object_id, from_field)
        request._entry_point_settings_channel = channel
        return channel

    def change_view(self, request, object_id, form_url="", extra_context=None):
        channel = self.get_object(request, object_id)
        extra_context = {**(extra_context or {}), "title": f"Entry Points of the {channel} Channel", "subtitle": None}
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "title": "Entry Points: choose each Channel's default Inbox"}
        return super().changelist_view(request, extra_context)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "default_inbox":
            inboxes = db_field.related_model.objects.order_by("name")
            channel = getattr(request, "_entry_point_settings_channel", None)
            kwargs["queryset"] = inboxes.filter(channel=channel) if channel is not None else inboxes
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        return without_related_links(super().formfield_for_dbfield(db_field, request, **kwargs))

    def response_change(self, request, obj):
        # Django's "The Entry Points “Messaging” was changed" reads oddly for a proxy of Channel.
        self.message_user(request, f"The {obj} Channel's Entry Points were saved.", messages.SUCCESS)
        if "_continue" in request.POST:
            return redirect(request.path)
        return redirect(reverse("admin:channels_app_entrypointsettings_changelist"))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # A default Inbox just chosen, or an entry point resumed, lets
        # conversations that waited unrouted find their inbox now.
        routed = route_unrouted_conversations(form.instance.entry_points.all())
        if routed:
            self.message_user(request, routed_message(routed), messages.INFO)


@admin.register(EntryPoint)
class EntryPointAdmin(admin.ModelAdmin):
    """All entry points across Channels, to find one and pause or resume it."""

    list_display = ["display_name", "channel", "kind", "external_id", "active", "inbox_route"]
    list_filter = ["channel", "kind", "active"]
    search_fields = ["display_name", "external_id"]
    fields = ["display_name", "channel", "kind", "external_id", "active", "business_hours"]
    readonly_fields = ["channel", "kind", "external_id"]
    actions = ["pause", "resume"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("channel__default_inbox", "routing_exception__inbox")

    @admin.display(description="Inbox")
    def inbox_route(self, entry_point):
        exception = getattr(entry_point, "routing_exception", None)
        if exception is not None:
            return f"{exception.inbox} (Exception)"
        return (
            f"{entry_point.channel.default_inbox} (default)"
            if entry_point.channel.default_inbox
            else "— no default Inbox —"
        )

    def has_add_permission(self, request):
        # Entry points are created by connecting an account or a number.
        return False

    def get_model_perms(self, request):
        # Reached from Settings › Entry Points, not listed twice on the index.
        return {}

    def save_model(self, request, obj, form, change):
        if "active" in form.changed_data:
            routed = set_entry_point_active(obj, obj.active)
            if routed:
                self.message_user(request, routed_message(routed))
        super().save_model(request, obj, form, change)

    @admin.action(description="Pause selected entry points")
    def pause(self, request, queryset):
        for entry_point in queryset:
            set_entry_point_active(entry_point, False)
        self.message_user(request, "Paused. Their messages are kept and routed when you resume them.")

    @admin.action(description="Resume selected entry points")
    def resume(self, request, queryset):
        routed = sum(set_entry_point_active(entry_point, True) for entry_point in queryset)
        self.message_user(request, f"Resumed. {routed_message(routed)}")


@admin.register(RoutingException)
class RoutingExceptionAdmin(admin.ModelAdmin):
    """Every Exception in one list; they are edited per Channel on the Entry Points page."""

    list_display = ["entry_point", "channel", "inbox"]
    list_filter = ["channel", "inbox"]
    search_fields = ["entry_point__display_name", "entry_point__external_id", "inbox__name"]
    list_select_related = ["entry_point", "channel", "inbox"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
