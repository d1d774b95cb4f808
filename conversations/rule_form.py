"""Settings › Rules: the rule's conditions and actions as rows ("If Channel is Messaging", "Then move to VIP").

A Rule stores each condition and action in a field of its own (conversations/models/rules.py); the form
shows them as rows an admin adds and removes, each a select of what it checks (or does), an operator and a
value, and maps the rows back onto those fields. A row that does not make sense is refused with a message
on that row, and every row comes back as it was written, so nothing typed is lost.
"""

from dataclasses import dataclass

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from channels_app.models import Channel, EntryPoint

from .models import BusinessHours, Rule, Topic


@dataclass(frozen=True)
class RowKind:
    label: str
    operators: dict[str, str]  # operator key → its words; empty for an action
    value: str | None  # the row's input that holds the value, None when the row needs none


CONDITIONS = {
    "channel": RowKind("Channel", {"is": "is"}, "channel"),
    "entry_point": RowKind("Entry Point", {"is": "is"}, "entry_point"),
    "inbox": RowKind("Inbox", {"is": "is"}, "inbox"),
    "text": RowKind(
        "Message text",
        {Rule.WordsMatch.CONTAINS: "contains any of", Rule.WordsMatch.WHOLE_WORD: "has any of the whole words"},
        "text",
    ),
    "first_message": RowKind("Message", {"first": "opens a conversation"}, None),
    "customer": RowKind("Customer", {"new": "is new (first conversation ever)"}, None),
    "hours": RowKind(
        "Time",
        {Rule.Hours.WITHIN: "is within business hours", Rule.Hours.OUTSIDE: "is outside business hours"},
        "schedule",
    ),
}

# In the order the rule does them (conversations.rules.apply_actions).
ACTIONS = {
    "note": RowKind("Add a note", {}, "text"),
    "auto_reply": RowKind("Send an auto-reply", {}, "text"),
    "move": RowKind("Move to inbox", {}, "inbox"),
    "assign": RowKind("Assign to agent", {}, "agent"),
    "topic": RowKind("Add topic", {}, "topic"),
    "close": RowKind("Close the conversation", {}, None),
}

VALUE_MISSING = {
    "channel": "Choose the Channel.",
    "entry_point": "Choose the Entry Point.",
    "inbox": "Choose the inbox.",
    "agent": "Choose the agent.",
    "topic": "Choose the topic.",
}


def _inboxes():
    # The Inbox model through the rule's relation: the core does not import the agents' app.
    return Rule._meta.get_field("inbox").related_model.objects.order_by("name")


class RowForm(forms.Form):
    """One row: what it checks or does (`field`), maybe an operator, and the value input that kind uses."""

    KINDS: dict[str, RowKind] = {}
    NOUN = "row"

    field = forms.CharField(required=False)
    text = forms.CharField(required=False)
    VALUE_LABELS: dict[str, str] = {}

    def __init__(self, *args, number=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.number = number

    def kind(self) -> RowKind | None:
        return self.KINDS.get(self["field"].value() or "")

    def field_options(self):
        chosen = self["field"].value() or ""
        return [(key, kind.label, key == chosen) for key, kind in self.KINDS.items()]

    def value_inputs(self):
        """(input, the kinds that use it for the template's `data-for`, its label) for each value input."""
        names = dict.fromkeys(kind.value for kind in self.KINDS.values() if kind.value)
        return [
            (
                self[name],
                " ".join(key for key, kind in self.KINDS.items() if kind.value == name),
                self.VALUE_LABELS[name],
            )
            for name in names
        ]

    def is_blank(self, data) -> bool:
        return not data.get("field") and not any(
            data.get(name) for name in ("text", "channel", "entry_point", "inbox", "schedule", "agent", "topic")
        )

    def clean(self):
        data = super().clean()
        if self.is_blank(data):
            return data
        key = data.get("field")
        if not key:
            raise ValidationError(f"Choose what this {self.NOUN} {self.VERB}, or remove the row.")
        if key not in self.KINDS:
            raise ValidationError(f"“{key}” is not a {self.NOUN} Rules know.")
        kind = self.KINDS[key]
        self.check_operator(kind, data)
        if kind.value == "text" and not (data.get("text") or "").strip():
            self.add_error("text", self.TEXT_MISSING.get(key, "Write the text."))
        elif kind.value in VALUE_MISSING and data.get(kind.value) is None:
            self.add_error(kind.value, VALUE_MISSING[kind.value])
        return data

    def check_operator(self, kind, data):
        pass


class ConditionRowForm(RowForm):
    KINDS = CONDITIONS
    NOUN = "condition"
    VERB = "checks"
    TEXT_MISSING = {"text": "Write at least one word or phrase (separate them with commas)."}
    VALUE_LABELS = {
        "channel": "Channel",
        "entry_point": "Entry Point",
        "inbox": "inbox",
        "text": "words, separated by commas",
        "schedule": "which Business Hours",
    }

    operator = forms.CharField(required=False)
    text = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "refund, money back"}))
    channel = forms.ModelChoiceField(Channel.objects.all(), required=False, empty_label="Choose a Channel…")
    entry_point = forms.ModelChoiceField(
        EntryPoint.objects.select_related("channel").order_by("channel__kind", "display_name"),
        required=False,
        empty_label="Choose an Entry Point…",
    )
    inbox = forms.ModelChoiceField(_inboxes(), required=False, empty_label="Choose an inbox…")
    schedule = forms.ModelChoiceField(
        BusinessHours.objects.all(), required=False, empty_label="the conversation's own Business Hours"
    )

    def operator_groups(self):
        chosen = self["operator"].value() or ""
        chosen_field = self["field"].value() or ""
        return [
            (
                key,
                kind.label,
                [(op, words, key == chosen_field and op == chosen) for op, words in kind.operators.items()],
            )
            for key, kind in self.KINDS.items()
        ]

    def check_operator(self, kind, data):
        operator = data.get("operator") or ""
        if not operator and len(kind.operators) == 1:
            data["operator"] = next(iter(kind.operators))
        elif operator not in kind.operators:
            choices = " or ".join(f"“{words}”" for words in kind.operators.values())
            if operator:
                self.add_error("operator", f"{kind.label} can't be checked that way; choose {choices}.")
            else:
                self.add_error("operator", f"Choose how {kind.label} is checked: {choices}.")
        if data.get("field") == "text" and (data.get("text") or "").strip() and not _words(data["text"]):
            self.add_error("text", "The words have only commas; write at least one word.")


class ActionRowForm(RowForm):
    KINDS = ACTIONS
    NOUN = "action"
    VERB = "does"
    TEXT_MISSING = {"note": "Write the note.", "auto_reply": "Write the auto-reply."}
    VALUE_LABELS = {"text": "text", "inbox": "inbox", "agent": "agent", "topic": "topic"}

    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    inbox = forms.ModelChoiceField(_inboxes(), required=False, empty_label="Choose an inbox…")
    agent = forms.ModelChoiceField(
        get_user_model().objects.filter(is_active=True).order_by("first_name", "email"),
        required=False,
        empty_label="Choose an agent…",
    )
    topic = forms.ModelChoiceField(Topic.objects.order_by("name"), required=False, empty_label="Choose a topic…")


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.split(",") if word.strip()]


class BaseRowFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "number": None if index is None else index + 1}

    def rows(self) -> list[dict]:
        """The filled rows that are kept (valid formset only)."""
        return [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and not form.is_blank(form.cleaned_data)
        ]

    def clean(self):
        """A rule holds each condition and action once: a second row of the same kind is refused."""
        seen = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("field") or form.errors:
                continue
            key = data["field"]
            if key in seen:
                label = form.KINDS[key].label
                form.add_error(
                    "field",
                    f"{label} is already in {form.NOUN} {seen[key]}; a rule has each {form.NOUN} once. "
                    "Remove one of the two rows.",
                )
            else:
                seen[key] = form.number


ConditionFormSet = forms.formset_factory(ConditionRowForm, formset=BaseRowFormSet, extra=1, can_delete=True)
ActionFormSet = forms.formset_factory(ActionRowForm, formset=BaseRowFormSet, extra=1, can_delete=True)


def condition_rows(rule: Rule) -> list[dict]:
    rows = []
    if rule.channel_id:
        rows.append({"field": "channel", "operator": "is", "channel": rule.channel_id})
    if rule.entry_point_id:
        rows.append({"field": "entry_point", "operator": "is", "entry_point": rule.entry_point_id})
    if rule.inbox_id:
        rows.append({"field": "inbox", "operator": "is", "inbox": rule.inbox_id})
    if rule.words.strip():
        rows.append({"field": "text", "operator": rule.words_match, "text": rule.words})
    if rule.first_message_only:
        rows.append({"field": "first_message", "operator": "first"})
    if rule.customer_is_new:
        rows.append({"field": "customer", "operator": "new"})
    if rule.hours:
        rows.append({"field": "hours", "operator": rule.hours, "schedule": rule.business_hours_id})
    return rows


def action_rows(rule: Rule) -> list[dict]:
    rows = []
    if rule.note_text.strip():
        rows.append({"field": "note", "text": rule.note_text})
    if rule.auto_reply_text.strip():
        rows.append({"field": "auto_reply", "text": rule.auto_reply_text})
    if rule.move_to_inbox_id:
        rows.append({"field": "move", "inbox": rule.move_to_inbox_id})
    if rule.assign_to_id:
        rows.append({"field": "assign", "agent": rule.assign_to_id})
    if rule.add_topic_id:
        rows.append({"field": "topic", "topic": rule.add_topic_id})
    if rule.close:
        rows.append({"field": "close"})
    return rows


def apply_rows(rule: Rule, conditions: list[dict], actions: list[dict]) -> None:
    """Set the rule's condition and action fields from the rows; a field without a row is cleared."""
    rule.channel = rule.entry_point = rule.inbox = rule.business_hours = None
    rule.first_message_only = rule.customer_is_new = rule.close = False
    rule.words, rule.words_match, rule.hours = "", Rule.WordsMatch.CONTAINS, Rule.Hours.ANY
    rule.note_text = rule.auto_reply_text = ""
    rule.move_to_inbox = rule.assign_to = rule.add_topic = None
    for row in conditions:
        match row["field"]:
            case "channel":
                rule.channel = row["channel"]
            case "entry_point":
                rule.entry_point = row["entry_point"]
            case "inbox":
                rule.inbox = row["inbox"]
            case "text":
                rule.words, rule.words_match = ", ".join(_words(row["text"])), row["operator"]
            case "first_message":
                rule.first_message_only = True
            case "customer":
                rule.customer_is_new = True
            case "hours":
                rule.hours, rule.business_hours = row["operator"], row["schedule"]
    for row in actions:
        match row["field"]:
            case "note":
                rule.note_text = row["text"].strip()
            case "auto_reply":
                rule.auto_reply_text = row["text"].strip()
            case "move":
                rule.move_to_inbox = row["inbox"]
            case "assign":
                rule.assign_to = row["agent"]
            case "topic":
                rule.add_topic = row["topic"]
            case "close":
                rule.close = True


class RuleForm(forms.ModelForm):
    """Name, position and Active as fields; the conditions and actions as two sets of rows."""

    class Meta:
        model = Rule
        fields = ["name", "position", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        data = self.data if self.is_bound else None
        self.conditions = ConditionFormSet(data, prefix="conditions", initial=condition_rows(self.instance))
        self.actions = ActionFormSet(data, prefix="actions", initial=action_rows(self.instance))
        self._rows_valid = False

    @property
    def changed_data(self):
        changed = list(super().changed_data)
        if self.is_bound:
            changed += [name for name in ("conditions", "actions") if getattr(self, name).has_changed()]
        return changed

    def clean(self):
        data = super().clean()
        conditions_valid, actions_valid = self.conditions.is_valid(), self.actions.is_valid()
        self._rows_valid = conditions_valid and actions_valid
        if not self._rows_valid:
            raise ValidationError("Some conditions or actions need fixing; each says what below.")
        apply_rows(self.instance, self.conditions.rows(), self.actions.rows())
        return data

    def _post_clean(self):
        # With rows that need fixing the rule's own checks ("add at least one condition") would only confuse.
        if self._rows_valid:
            super()._post_clean()
