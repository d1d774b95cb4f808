"""Settings › Phone numbers and Settings › Twilio accounts.

Numbers are bought (searched at Twilio), imported (already the account's) or
typed in by hand (held, for numbers of another provider); then connected to
the SMS and/or Voice Channel, or released with a page that says what stops.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from channels_app.models import Channel, PhoneNumber
from channels_app.services import PhoneNumberError, connect_phone_number

from . import setup
from .models import TwilioAccount, TwilioNumber
from .numbers import InvalidPhoneNumber, format_number, to_e164
from .provider import ProviderError

# --- Twilio accounts ---------------------------------------------------------


class TwilioAccountForm(forms.ModelForm):
    """SID and auth token (or an API key); checked with one call to Twilio before they are kept."""

    auth_token = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Twilio signs its webhooks with it. Stored encrypted; leave empty to keep the current one.",
    )
    api_key_secret = forms.CharField(
        label="API key secret", widget=forms.PasswordInput(render_value=False), required=False
    )

    class Meta:
        model = TwilioAccount
        fields = ["account_sid", "auth_token", "api_key_sid", "api_key_secret", "friendly_name"]

    def clean(self):
        data = super().clean()
        for secret in ("auth_token", "api_key_secret"):
            if not data.get(secret) and self.instance.pk:
                data[secret] = getattr(self.instance, secret)
        if not data.get("auth_token"):
            self.add_error("auth_token", "Twilio's auth token is needed: it signs the webhooks.")
            return data
        if bool(data.get("api_key_sid")) != bool(data.get("api_key_secret")):
            raise ValidationError("Give both the API key SID and its secret, or neither.")
        if self.errors:
            return data
        try:
            name = setup.check_credentials(
                data.get("account_sid", ""),
                data["auth_token"],
                data.get("api_key_sid", ""),
                data.get("api_key_secret", ""),
            )
        except setup.SetupError as error:
            raise ValidationError(f"Twilio refused these credentials: {error}") from error
        if not data.get("friendly_name"):
            data["friendly_name"] = name
        return data

    def save(self, commit=True):
        account = super().save(commit=False)
        account.auth_token = self.cleaned_data["auth_token"]
        account.api_key_secret = self.cleaned_data.get("api_key_secret", "")
        account.status = TwilioAccount.Status.CONNECTED
        account.last_error = ""
        if commit:
            account.save()
        return account


@admin.register(TwilioAccount)
class TwilioAccountAdmin(admin.ModelAdmin):
    form = TwilioAccountForm
    list_display = ["__str__", "account_sid", "status", "number_count", "added_on"]
    readonly_fields = ["status", "last_error", "added_on"]

    def get_fields(self, request, obj=None):
        fields = ["account_sid", "auth_token", "api_key_sid", "api_key_secret", "friendly_name"]
        return fields + (["status", "last_error", "added_on"] if obj else [])

    @admin.display(description="Numbers")
    def number_count(self, account):
        return account.numbers.count()

    def save_model(self, request, obj, form, change):
        if not change:
            obj.added_by = request.user
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, f"Twilio account {obj} connected. Buy or import its numbers now.", messages.SUCCESS)
        return redirect("admin:channels_app_phonenumber_changelist")


# --- Phone numbers -----------------------------------------------------------


class SearchForm(forms.Form):
    account = forms.ModelChoiceField(queryset=TwilioAccount.objects.all(), empty_label=None)
    country = forms.CharField(max_length=2, initial="US", help_text="Two letters: US, GB, CA, …")
    area_code = forms.CharField(max_length=5, required=False)
    contains = forms.CharField(max_length=10, required=False, help_text="Digits (or letters) the number contains.")
    sms = forms.BooleanField(label="Can text (SMS)", required=False, initial=True)
    voice = forms.BooleanField(label="Can take calls (Voice)", required=False, initial=True)

    def clean_country(self):
        country = self.cleaned_data["country"].strip().upper()
        if not country.isalpha() or len(country) != 2:
            raise ValidationError("Two letters, like US.")
        return country

    def clean_area_code(self):
        value = self.cleaned_data["area_code"].strip()
        if value and not value.isdigit():
            raise ValidationError("Digits only.")
        return value


class ConnectForm(forms.Form):
    sms = forms.BooleanField(label="SMS Channel: customers text this number, agents reply by text", required=False)
    voice = forms.BooleanField(label="Voice Channel: calls ring available agents, else voicemail", required=False)


class PhoneNumberForm(forms.ModelForm):
    class Meta:
        model = PhoneNumber
        fields = ["e164", "label", "ring_mode", "voicemail_greeting", "transcribe_voicemail"]
        widgets = {"voicemail_greeting": forms.Textarea(attrs={"rows": 3})}

    def clean_e164(self):
        try:
            return to_e164(self.cleaned_data["e164"])
        except InvalidPhoneNumber as error:
            raise ValidationError(str(error)) from None


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    form = PhoneNumberForm
    list_display = ["formatted", "label", "status", "channels", "capabilities", "account", "row_actions"]
    list_filter = ["status"]
    search_fields = ["e164", "label"]
    fieldsets = [
        (None, {"fields": ["e164", "label", "status", "entry_point"]}),
        (
            "Calls",
            {
                "fields": ["ring_mode", "voicemail_greeting", "transcribe_voicemail"],
                "description": "How calls are answered once the number is connected to the Voice Channel.",
            },
        ),
    ]
    readonly_fields = ["status", "entry_point"]
    actions = ["connect_to_voice", "connect_to_sms"]
    change_list_template = "admin/telephony/phonenumber/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("twilio_number__account", "entry_point__channel")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status == PhoneNumber.Status.CONNECTED:
            return ["e164", "status", "entry_point"]
        return self.readonly_fields

    @admin.display(description="Number", ordering="e164")
    def formatted(self, number):
        return format_number(number.e164)

    @admin.display(description="Channels")
    def channels(self, number):
        if number.status != PhoneNumber.Status.CONNECTED:
            return "— held —"
        return ", ".join(str(ep.channel) for ep in number.entry_points() if ep.active) or "—"

    @admin.display(description="Can")
    def capabilities(self, number):
        twilio = getattr(number, "twilio_number", None)
        if twilio is None:
            return "—"
        return ", ".join(name for name, on in (("SMS", twilio.sms), ("MMS", twilio.mms), ("Voice", twilio.voice)) if on)

    @admin.display(description="Twilio account")
    def account(self, number):
        twilio = getattr(number, "twilio_number", None)
        return twilio.account if twilio else "—"

    @admin.display(description="")
    def row_actions(self, number):
        return format_html(
            '<a href="{}">Connect</a> · <a href="{}">Release</a>',
            reverse("admin:telephony_number_connect", args=[number.pk]),
            reverse("admin:telephony_number_release", args=[number.pk]),
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("search/", view(self.search_view), name="telephony_number_search"),
            path("buy/", view(require_POST(self.buy_view)), name="telephony_number_buy"),
            path("import/", view(self.import_view), name="telephony_number_import"),
            path("<int:pk>/connect/", view(self.connect_view), name="telephony_number_connect"),
            path("<int:pk>/release/", view(self.release_view), name="telephony_number_release"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "title": "Phone numbers",
            "has_twilio_account": TwilioAccount.objects.exists(),
        }
        return super().changelist_view(request, extra_context)

    def _render(self, request, template, context, status=200):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "list_url": reverse("admin:channels_app_phonenumber_changelist"),
            **context,
        }
        return TemplateResponse(request, f"admin/telephony/phonenumber/{template}", context, status=status)

    def search_view(self, request):
        """Search Twilio's available numbers; each result has a Buy button."""
        if not TwilioAccount.objects.exists():
            messages.info(request, "Connect a Twilio account first.")
            return redirect("admin:telephony_twilioaccount_add")
        form = SearchForm(request.GET if "country" in request.GET else None)
        results, problem = None, ""
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            try:
                results = setup.provider(data["account"]).search_available(
                    data["country"], data["area_code"], data["contains"], sms=data["sms"], voice=data["voice"]
                )
            except ProviderError as error:
                problem = error.message
        rows = [{"number": number, "formatted": format_number(number.e164)} for number in (results or [])]
        return self._render(
            request,
            "search.html",
            {"title": "Buy a phone number", "form": form, "results": results, "rows": rows, "problem": problem},
        )

    def buy_view(self, request):
        account = get_object_or_404(TwilioAccount, pk=request.POST.get("account"))
        try:
            e164 = to_e164(request.POST.get("e164", ""))
            number = setup.buy(account, e164)
        except (InvalidPhoneNumber, setup.SetupError) as error:
            messages.error(request, str(error))
            return redirect("admin:telephony_number_search")
        messages.success(
            request, f"You bought {format_number(number.e164)}. It is held until you connect it to SMS or Voice."
        )
        return redirect("admin:telephony_number_connect", pk=number.pk)

    def import_view(self, request):
        """Numbers the Twilio account already owns, to hold here."""
        accounts = list(TwilioAccount.objects.all())
        if not accounts:
            return redirect("admin:telephony_twilioaccount_add")
        account = next(
            (a for a in accounts if str(a.pk) == request.POST.get("account", request.GET.get("account"))), accounts[0]
        )
        if request.method == "POST":
            try:
                imported = setup.import_numbers(account, request.POST.getlist("sid"))
            except setup.SetupError as error:
                messages.error(request, str(error))
            else:
                shown = ", ".join(format_number(number.e164) for number in imported) or "nothing"
                messages.success(request, f"Imported {shown}. Connect each to SMS or Voice when ready.")
                return redirect("admin:channels_app_phonenumber_changelist")
        try:
            owned, problem = setup.importable(account), ""
        except setup.SetupError as error:
            owned, problem = [], str(error)
        rows = [{"number": number, "formatted": format_number(number.e164)} for number in owned]
        return self._render(
            request,
            "import.html",
            {
                "title": "Import numbers from Twilio",
                "accounts": accounts,
                "account": account,
                "rows": rows,
                "problem": problem,
            },
        )

    def connect_view(self, request, pk):
        number = get_object_or_404(PhoneNumber, pk=pk)
        connected = {ep.channel.kind for ep in number.entry_points() if ep.active} if number.entry_point_id else set()
        twilio = TwilioNumber.objects.filter(phone_number=number).first()
        form = ConnectForm(request.POST or None, initial={"sms": "sms" in connected, "voice": "voice" in connected})
        if request.method == "POST" and form.is_valid():
            kinds = [kind for kind in ("sms", "voice") if form.cleaned_data[kind]]
            try:
                created = setup.connect(number, kinds)
            except setup.SetupError as error:
                form.add_error(None, str(error))
            else:
                where = " and ".join(str(ep.channel) for ep in created) or "the same Channels"
                messages.success(
                    request,
                    f"{format_number(number.e164)} is connected to {where}; Twilio now sends its texts and calls here.",
                )
                return redirect("admin:channels_app_phonenumber_changelist")
        return self._render(
            request,
            "connect.html",
            {
                "title": f"Connect {format_number(number.e164)}",
                "number": number,
                "formatted": format_number(number.e164),
                "twilio": twilio,
                "connected": " and ".join(Channel.Kind(kind).label for kind in sorted(connected)),
                "form": form,
                "webhooks": setup.webhook_urls(),
            },
        )

    def release_view(self, request, pk):
        number = get_object_or_404(PhoneNumber, pk=pk)
        if request.method == "POST":
            try:
                setup.release(number)
            except setup.SetupError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, f"{format_number(number.e164)} was released.")
                return redirect("admin:channels_app_phonenumber_changelist")
        return self._render(
            request,
            "release.html",
            {
                "title": f"Release {format_number(number.e164)}?",
                "number": number,
                "formatted": format_number(number.e164),
                "stops": setup.what_stops(number),
            },
        )

    def _connect(self, request, queryset, kind):
        for number in queryset:
            try:
                if hasattr(number, "twilio_number"):
                    setup.connect(number, [kind])
                else:
                    connect_phone_number(number, kind)
            except (PhoneNumberError, setup.SetupError) as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(
                    request, f"{number.e164} is now an Entry Point of {Channel.Kind(kind).label}.", messages.SUCCESS
                )

    @admin.action(description="Connect selected numbers to Voice")
    def connect_to_voice(self, request, queryset):
        self._connect(request, queryset, Channel.Kind.VOICE)

    @admin.action(description="Connect selected numbers to SMS")
    def connect_to_sms(self, request, queryset):
        self._connect(request, queryset, Channel.Kind.SMS)
