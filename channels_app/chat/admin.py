from django import forms
from django.contrib import admin
from django.db import transaction

from channels_app.models import Channel, EntryPoint

from .models import ChatWidget, normalise_origin
from .views import snippet


class OriginsField(forms.CharField):
    """Allowed origins, one per line in the form, a list in the model."""

    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "https://www.acme.com"})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        lines = [line.strip() for line in (value or "").splitlines() if line.strip()]
        origins = []
        for line in lines:
            origin = normalise_origin(line)
            if not origin:
                raise forms.ValidationError(f"“{line}” is not a website origin like https://www.acme.com")
            origins.append(origin)
        return sorted(set(origins))


class ChatWidgetForm(forms.ModelForm):
    allowed_origins = OriginsField(
        label="Allowed websites",
        required=True,
        help_text="The chat opens only on these, one per line (scheme, host and port, e.g. https://www.acme.com).",
    )

    class Meta:
        model = ChatWidget
        fields = ["name", "allowed_origins", "colour", "greeting", "offline_message", "ask_for_contact"]
        widgets = {
            "colour": forms.TextInput(attrs={"type": "color"}),
            "greeting": forms.TextInput(attrs={"size": 80}),
            "offline_message": forms.TextInput(attrs={"size": 80}),
        }


@admin.register(ChatWidget)
class ChatWidgetAdmin(admin.ModelAdmin):
    """Settings › Chat: the Chat Channel's Entry Points, each a widget for the company's website."""

    form = ChatWidgetForm
    list_display = ["name", "origins", "public_id", "created_at"]
    search_fields = ["name"]
    change_form_template = "admin/chat/chatwidget/change_form.html"

    @admin.display(description="Allowed websites")
    def origins(self, widget):
        return ", ".join(widget.allowed_origins)

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            if not change:
                obj.entry_point = EntryPoint.objects.create(
                    channel=Channel.objects.get_or_create(kind=Channel.Kind.CHAT)[0],
                    kind=EntryPoint.Kind.CHAT_WIDGET,
                    display_name=obj.name,
                    external_id=obj.public_id,
                )
            elif obj.entry_point.display_name != obj.name:
                obj.entry_point.display_name = obj.name
                obj.entry_point.save(update_fields=["display_name"])
            super().save_model(request, obj, form, change)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["snippet"] = snippet(request, obj) if obj else ""
        context["preview"] = obj or ChatWidget()
        return super().render_change_form(request, context, add, change, form_url, obj)

    def has_delete_permission(self, request, obj=None):
        # The Entry Point keeps conversations; a widget is paused from Entry Points instead.
        return False
