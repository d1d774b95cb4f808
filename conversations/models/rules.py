"""Rules: when a customer message matches, do the actions."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .schedules import BusinessHours
from .timeline import Conversation, TimelineItem


class Rule(models.Model):
    """When a customer message matches all the conditions, do all the actions."""

    class WordsMatch(models.TextChoices):
        CONTAINS = "contains", "Message text contains any of the words"
        WHOLE_WORD = "whole_word", "Message text matches any of the words as a whole word"

    class Hours(models.TextChoices):
        ANY = "", "Any time"
        WITHIN = "within", "Within business hours"
        OUTSIDE = "outside", "Outside business hours"

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0, help_text="Rules run from the lowest position up.")
    active = models.BooleanField(default=True)

    # Conditions: all that are set must hold.
    channel = models.ForeignKey(
        "channels_app.Channel", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    entry_point = models.ForeignKey(
        "channels_app.EntryPoint", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    inbox = models.ForeignKey("inbox.Inbox", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    first_message_only = models.BooleanField(
        "first message of a conversation", default=False, help_text="Only the message that opens a conversation."
    )
    words = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated words or phrases, case does not matter."
    )
    words_match = models.CharField(
        "how words match", max_length=12, choices=WordsMatch.choices, default=WordsMatch.CONTAINS
    )
    customer_is_new = models.BooleanField(
        default=False, help_text="Only customers writing their first conversation ever."
    )
    hours = models.CharField("business hours", max_length=10, choices=Hours.choices, blank=True, default=Hours.ANY)
    business_hours = models.ForeignKey(
        BusinessHours,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="schedule",
        help_text="The schedule for the business-hours condition; empty uses the conversation's own.",
    )

    # Actions, done in this order.
    note_text = models.TextField("add a note", blank=True)
    auto_reply_text = models.TextField(
        "send auto-reply", blank=True, help_text="Never counts as an agent reply for the Conversation SLA."
    )
    move_to_inbox = models.ForeignKey("inbox.Inbox", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    assign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="assign to agent",
    )
    add_topic = models.ForeignKey(
        "Topic", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="add topic"
    )
    close = models.BooleanField("close the conversation", default=False)
    created_at = models.DateTimeField(default=timezone.now)

    CONDITION_FIELDS = ["channel", "entry_point", "inbox", "first_message_only", "words", "customer_is_new", "hours"]
    ACTION_FIELDS = ["note_text", "auto_reply_text", "move_to_inbox", "assign_to", "add_topic", "close"]

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.name

    def word_list(self):
        return [word.strip().lower() for word in self.words.split(",") if word.strip()]

    def has_condition(self):
        return any(getattr(self, name) for name in self.CONDITION_FIELDS if name != "words") or bool(self.word_list())

    def has_action(self):
        return bool(
            self.note_text.strip()
            or self.auto_reply_text.strip()
            or self.move_to_inbox_id
            or self.assign_to_id
            or self.add_topic_id
            or self.close
        )

    def clean(self):
        errors = []
        if not self.has_condition():
            errors.append(
                "Add at least one condition (for example a Channel or words), so the rule does not run on "
                "every message."
            )
        if not self.has_action():
            errors.append("Add at least one action: a note, an auto-reply, a move, an assignment, a topic or close.")
        if self.words.strip() and not self.word_list():
            errors.append("The words field has only commas; write at least one word.")
        if errors:
            raise ValidationError(errors)


class RuleFiring(models.Model):
    """A rule ran its actions for a message; unique, so a rule fires at most once per message."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="firings")
    item = models.ForeignKey(TimelineItem, on_delete=models.CASCADE, related_name="rule_firings")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="rule_firings")
    fired_at = models.DateTimeField(default=timezone.now, db_index=True)
    outcome = models.TextField(blank=True)

    class Meta:
        ordering = ["-fired_at"]
        constraints = [models.UniqueConstraint(fields=["rule", "item"], name="rule_fires_once_per_message")]

    def __str__(self):
        return f"{self.rule} on item {self.item_id}"
