"""Settings › Conversations: Business Hours, Rules and the Conversation SLA report."""

import datetime
from zoneinfo import available_timezones

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from .models import (
    Answer,
    BusinessHours,
    BusinessHoursInterval,
    Conversation,
    CustomerAttribute,
    Holiday,
    Rule,
    SlaReport,
    Topic,
    Weekday,
)
from .rule_form import RuleForm
from .rules import dry_run
from .sla import clock, report

MIDNIGHT = datetime.time(0, 0)
DRY_RUN_CONVERSATIONS = 100


class TimezoneInput(forms.TextInput):
    """A text box that suggests IANA timezone names (the model validates the value)."""

    template_name = "conversations/timezone_input.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, {**(attrs or {}), "list": "timezone-names"})
        context["timezones"] = sorted(available_timezones())
        return context


class BusinessHoursForm(forms.ModelForm):
    class Meta:
        model = BusinessHours
        fields = ["name", "timezone", "auto_reply_text"]
        widgets = {
            "timezone": TimezoneInput(attrs={"autocomplete": "off"}),
            "auto_reply_text": forms.Textarea(attrs={"rows": 3}),
        }


def _minutes(value: datetime.time, end=False) -> int:
    if end and value == MIDNIGHT:
        return 24 * 60
    return value.hour * 60 + value.minute


class IntervalFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        by_day = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or form.errors:
                continue
            if data.get("weekday") is None or not data.get("opens_at") or data.get("closes_at") is None:
                continue
            by_day.setdefault(data["weekday"], []).append((data["opens_at"], data["closes_at"]))
        problems = []
        for weekday, intervals in sorted(by_day.items()):
            intervals.sort(key=lambda pair: _minutes(pair[0]))
            for (opens_a, closes_a), (opens_b, closes_b) in zip(intervals, intervals[1:], strict=False):
                if _minutes(closes_a, end=True) > _minutes(opens_b):
                    problems.append(
                        f"{Weekday(weekday).label}: {opens_a:%H:%M}–{closes_a:%H:%M} overlaps "
                        f"{opens_b:%H:%M}–{closes_b:%H:%M}. Merge them into one interval or fix the times."
                    )
        if problems:
            raise ValidationError(problems)


class IntervalForm(forms.ModelForm):
    class Meta:
        model = BusinessHoursInterval
        fields = ["weekday", "opens_at", "closes_at"]
        widgets = {
            # The grid shows the day as the row's heading; the form carries it along.
            "weekday": forms.HiddenInput,
            "opens_at": forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
            "closes_at": forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
        }


class IntervalInline(admin.TabularInline):
    """Weekly hours as a grid: one row per weekday with its intervals, and one empty interval per day to add."""

    model = BusinessHoursInterval
    form = IntervalForm
    formset = IntervalFormSet
    template = "admin/conversations/businesshours/weekly_grid.html"
    extra = len(Weekday)
    verbose_name = "interval"
    verbose_name_plural = "Weekly hours"


class HolidayInline(admin.TabularInline):
    """The holiday list (dates and names) under a calendar of the year (businesshours/holidays.html)."""

    model = Holiday
    extra = 1
    template = "admin/conversations/businesshours/holidays.html"
    verbose_name_plural = "Holiday list"


def weekly_summary(business_hours) -> str:
    """“Mon–Fri 09:00–17:00; Sat 10:00–14:00” from the intervals."""
    by_hours = {}
    for interval in business_hours.intervals.all():
        by_hours.setdefault((interval.opens_at, interval.closes_at), []).append(interval.weekday)
    parts = []
    for (opens, closes), days in sorted(by_hours.items(), key=lambda item: (min(item[1]), item[0][0])):
        names = [Weekday(day).label[:3] for day in sorted(set(days))]
        consecutive = sorted(set(days)) == list(range(min(days), max(days) + 1))
        label = f"{names[0]}–{names[-1]}" if consecutive and len(names) > 2 else ", ".join(names)
        parts.append(f"{label} {opens:%H:%M}–{'24:00' if closes == MIDNIGHT else f'{closes:%H:%M}'}")
    return "; ".join(parts)


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    form = BusinessHoursForm
    list_display = ["name", "timezone", "hours", "holiday_count", "used_by", "has_auto_reply"]
    search_fields = ["name"]
    inlines = [IntervalInline, HolidayInline]
    fieldsets = [
        (None, {"fields": ["name", "timezone"]}),
        ("Outside hours", {"fields": ["auto_reply_text"]}),
    ]

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, IntervalInline):
            kwargs["initial"] = [{"weekday": day} for day in Weekday.values]
        return kwargs

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("intervals")
            .annotate(
                holiday_total=Count("holidays", distinct=True),
                inbox_total=Count("inboxes", distinct=True),
                entry_point_total=Count("entry_points", distinct=True),
            )
        )

    @admin.display(description="Weekly hours")
    def hours(self, business_hours):
        return weekly_summary(business_hours) or "Never open"

    @admin.display(description="Holidays", ordering="holiday_total")
    def holiday_count(self, business_hours):
        return business_hours.holiday_total

    @admin.display(description="Used by")
    def used_by(self, business_hours):
        parts = []
        if business_hours.inbox_total:
            parts.append(f"{business_hours.inbox_total} inbox{'es' if business_hours.inbox_total != 1 else ''}")
        if business_hours.entry_point_total:
            total = business_hours.entry_point_total
            parts.append(f"{total} entry point{'s' if total != 1 else ''}")
        return ", ".join(parts) or "—"

    @admin.display(description="Auto-reply", boolean=True)
    def has_auto_reply(self, business_hours):
        return bool(business_hours.auto_reply_text.strip())


def rule_conditions(rule) -> list[str]:
    """The rule's conditions in plain words, in the order the form shows them."""
    parts = []
    if rule.channel_id:
        parts.append(f"on {rule.channel}")
    if rule.entry_point_id:
        parts.append(f"to {rule.entry_point}")
    if rule.inbox_id:
        parts.append(f"in {rule.inbox}")
    if rule.first_message_only:
        parts.append("as the first message of a conversation")
    if rule.word_list():
        how = "has the word" if rule.words_match == Rule.WordsMatch.WHOLE_WORD else "contains"
        parts.append(f"the text {how} {' or '.join(f'“{word}”' for word in rule.word_list())}")
    if rule.customer_is_new:
        parts.append("the customer is new")
    if rule.hours:
        schedule = f" ({rule.business_hours})" if rule.business_hours_id else ""
        parts.append(f"it is {rule.get_hours_display().lower()}{schedule}")
    return parts


def rule_actions(rule) -> list[str]:
    parts = []
    if rule.note_text.strip():
        parts.append("add a note")
    if rule.auto_reply_text.strip():
        parts.append("send an auto-reply")
    if rule.move_to_inbox_id:
        parts.append(f"move it to {rule.move_to_inbox}")
    if rule.assign_to_id:
        parts.append(f"assign it to {rule.assign_to}")
    if rule.add_topic_id:
        parts.append(f"add the topic {rule.add_topic}")
    if rule.close:
        parts.append("close it")
    return parts


def rule_summary(rule) -> str:
    """“When a customer writes on Messaging, if the text contains “refund”, then move it to VIP.”"""
    conditions = rule_conditions(rule)
    where = [part for part in conditions if part.startswith(("on ", "to ", "in ", "as "))]
    checks = [part for part in conditions if part not in where]
    sentence = "When a customer writes" + "".join(f" {part}" for part in where)
    if checks:
        sentence += ", if " + " and ".join(checks)
    actions = rule_actions(rule)
    sentence += ", then " + (", ".join(actions) if actions else "do nothing (no action chosen yet)")
    return sentence + "."


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    form = RuleForm
    list_display = ["position", "name", "active", "summary", "fired_last_7_days", "dry_run_link"]
    list_display_links = ["name"]
    list_editable = ["position", "active"]
    list_filter = ["active", "channel", "move_to_inbox"]
    search_fields = ["name", "words", "note_text", "auto_reply_text"]
    ordering = ["position", "id"]
    save_on_top = False
    # The conditions and actions are rows under these fields (conversations/rule_form.py, rule/change_form.html).
    fieldsets = [(None, {"fields": ["name", "position", "active"]})]

    def get_queryset(self, request):
        week_ago = timezone.now() - datetime.timedelta(days=7)
        return (
            super()
            .get_queryset(request)
            .select_related(
                "channel", "entry_point", "inbox", "move_to_inbox", "assign_to", "add_topic", "business_hours"
            )
            .annotate(fired_total=Count("firings", filter=Q(firings__fired_at__gte=week_ago)))
        )

    def get_changelist_form(self, request, **kwargs):
        # Position and Active are edited in the list; their inputs need names of their own.
        kwargs.setdefault(
            "widgets",
            {
                "position": forms.NumberInput(attrs={"aria-label": "Position", "class": "vIntegerField"}),
                "active": forms.CheckboxInput(attrs={"aria-label": "Active"}),
            },
        )
        return super().get_changelist_form(request, **kwargs)

    @admin.display(description="What it does")
    def summary(self, rule):
        return rule_summary(rule)

    @admin.display(description="Fired in the last 7 days", ordering="fired_total")
    def fired_last_7_days(self, rule):
        return rule.fired_total

    @admin.display(description="")
    def dry_run_link(self, rule):
        url = reverse("admin:conversations_rule_dry_run", args=[rule.pk])
        return format_html('<a href="{}">Dry run</a>', url)

    def get_urls(self):
        view = self.admin_site.admin_view(self.dry_run_view)
        return [path("<int:pk>/dry-run/", view, name="conversations_rule_dry_run"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "rule_summary": None}
        rule = self.get_object(request, object_id)
        if rule is not None:
            extra_context["rule_summary"] = rule_summary(rule)
            extra_context["dry_run_url"] = reverse("admin:conversations_rule_dry_run", args=[rule.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def dry_run_view(self, request, pk):
        """Which of the last 100 conversations this rule would have touched; nothing is applied."""
        rule = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_or_change_permission(request, rule):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": rule,
            "title": f"Dry run: {rule.name}",
            "summary": rule_summary(rule),
            "result": dry_run(rule, DRY_RUN_CONVERSATIONS),
            "limit": DRY_RUN_CONVERSATIONS,
        }
        return TemplateResponse(request, "admin/conversations/rule/dry_run.html", context)


def format_wait(value: datetime.timedelta | None) -> str:
    if value is None:
        return "—"
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


class ReportFilterForm(forms.Form):
    days = forms.TypedChoiceField(
        choices=[(7, "Last 7 days"), (14, "Last 14 days"), (30, "Last 30 days"), (90, "Last 90 days")],
        coerce=int,
        initial=14,
        required=False,
    )
    inbox = forms.ModelChoiceField(
        # The Inbox model, through the conversation's relation: the core does not import the agents' app.
        queryset=Conversation._meta.get_field("inbox").related_model.objects.order_by("name"),
        required=False,
        empty_label="All inboxes",
    )


@admin.register(SlaReport)
class SlaReportAdmin(admin.ModelAdmin):
    """A report page rather than a list: per Inbox and day, response times and SLA met."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        form = ReportFilterForm(request.GET or None)
        days, inbox = 14, None
        if form.is_valid():
            days = form.cleaned_data["days"] or 14
            inbox = form.cleaned_data["inbox"]
        rows = report.report(days=days, inbox=inbox)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Conversation SLA report",
            "form": form,
            "days": days,
            "rows": [
                {
                    "row": row,
                    "median": format_wait(row.first_response_median),
                    "p90": format_wait(row.first_response_p90),
                }
                for row in rows
            ],
            "totals": _totals(rows),
            "overdue_now": clock.overdue_count(inbox),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/conversations/sla_report.html", context)


def _totals(rows):
    met = sum(row.met for row in rows)
    missed = sum(row.missed for row in rows)
    return {
        "conversations": sum(row.conversations for row in rows),
        "first_responses": sum(row.first_responses for row in rows),
        "met": met,
        "missed": missed,
        "met_percent": round(100 * met / (met + missed), 1) if met + missed else None,
    }


@admin.register(CustomerAttribute)
class CustomerAttributeAdmin(admin.ModelAdmin):
    """Details agents keep about every customer, shown and edited on the customer card."""

    list_display = ["label", "key", "kind", "position"]
    list_editable = ["position"]
    search_fields = ["label", "key"]


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    """The team's saved replies; agents also keep their own from the inbox (Answers)."""

    list_display = ["title", "inbox_name", "owner", "usage_count", "updated_at"]
    list_filter = ["inbox"]
    search_fields = ["title", "body"]
    fields = ["title", "body", "inbox"]

    @admin.display(description="Inbox", ordering="inbox__name")
    def inbox_name(self, answer):
        return answer.inbox or "Shared"

    def save_model(self, request, obj, form, change):
        if obj.owner_id is None and not change:
            obj.owner = request.user
        super().save_model(request, obj, form, change)


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    """Labels agents and Rules put on conversations; the inbox list filters by them."""

    list_display = ["name", "color"]
    search_fields = ["name"]
