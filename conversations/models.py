import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Customer(models.Model):
    """A person. One timeline across all their conversations."""

    name = models.CharField(max_length=200, blank=True)
    username = models.CharField(max_length=100, blank=True)
    profile_picture = models.FileField(upload_to="profiles/", blank=True)
    profile_picture_url = models.URLField(max_length=2000, blank=True)
    profile_fetched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["name"]), models.Index(fields=["username"])]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        if self.name:
            return self.name
        if self.username:
            return f"@{self.username}"
        return f"Customer {self.pk}"


class CustomerIdentity(models.Model):
    """The id a customer has at one Entry Point (for Instagram: the IGSID)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    entry_point = models.ForeignKey("channels_app.EntryPoint", on_delete=models.PROTECT, related_name="identities")
    external_id = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "customer identities"
        constraints = [
            models.UniqueConstraint(fields=["entry_point", "external_id"], name="unique_customer_identity"),
        ]

    def __str__(self):
        return f"{self.external_id} at {self.entry_point}"


class Conversation(models.Model):
    """One support case with a customer, in one Inbox."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WAITING = "waiting", "Waiting"
        CLOSED = "closed", "Closed"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="conversations")
    entry_point = models.ForeignKey("channels_app.EntryPoint", on_delete=models.PROTECT, related_name="conversations")
    # Null while unrouted: the Channel has no default Inbox or the Entry Point
    # is paused. The conversation is kept and shown to admins.
    inbox = models.ForeignKey(
        "inbox.Inbox", on_delete=models.PROTECT, null=True, blank=True, related_name="conversations"
    )
    unrouted_reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
    )
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(default=timezone.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-last_activity_at"]
        indexes = [
            models.Index(fields=["inbox", "status", "sla_due_at"]),
            # The inbox's "closed" list, newest first, deep pages included.
            models.Index(fields=["inbox", "status", "closed_at"]),
            models.Index(fields=["assignee", "status"]),
            models.Index(fields=["customer", "opened_at"]),
        ]
        constraints = [
            # One conversation that is not closed per customer and entry point:
            # two workers racing on the first message cannot open two.
            models.UniqueConstraint(
                fields=["customer", "entry_point"],
                condition=~Q(status="closed"),
                name="one_active_conversation_per_customer_entry_point",
            ),
            models.CheckConstraint(
                condition=Q(status="closed", closed_at__isnull=False)
                | (~Q(status="closed") & Q(closed_at__isnull=True)),
                name="closed_conversation_has_closed_at",
            ),
        ]

    def __str__(self):
        return f"Conversation {self.pk} with {self.customer}"

    @property
    def is_closed(self):
        return self.status == self.Status.CLOSED

    @classmethod
    def touch(cls, conversation_id, **fields):
        """Mark a conversation changed (the inbox's live updates read `updated_at`)."""
        now = timezone.now()
        fields.setdefault("last_activity_at", now)
        cls.objects.filter(pk=conversation_id).update(updated_at=now, **fields)


class TimelineItem(models.Model):
    """Something that happened in a conversation."""

    class Kind(models.TextChoices):
        CUSTOMER_MESSAGE = "customer_message", "Customer message"
        AGENT_MESSAGE = "agent_message", "Agent message"
        AGENT_LIKE = "agent_like", "Agent like"
        NOTE = "note", "Note"
        AUTO_REPLY = "auto_reply", "Auto-reply"
        STORY_MENTION = "story_mention", "Story mention"
        STORY_REPLY = "story_reply", "Story reply"
        STATUS_CHANGE = "status_change", "Status change"
        OTHER_AUTOMATION = "other_automation", "Sent outside the app"

    class Direction(models.TextChoices):
        INBOUND = "in", "From the customer"
        OUTBOUND = "out", "To the customer"
        INTERNAL = "internal", "Internal"

    class Delivery(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="items")
    entry_point = models.ForeignKey("channels_app.EntryPoint", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField(blank=True)
    # Meta's message id (mid) for messages; unique per entry point so a
    # redelivered event adds nothing.
    external_id = models.CharField(max_length=255, null=True, blank=True)
    # When it happened (Meta's timestamp for inbound events).
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivery_status = models.CharField(max_length=10, choices=Delivery.choices, blank=True)
    failure_reason = models.TextField(blank=True)
    deleted_by_customer = models.BooleanField(default=False)
    unsupported = models.BooleanField(default=False)
    reply_to = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    story_url = models.URLField(max_length=2000, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["conversation", "occurred_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["entry_point", "external_id"],
                condition=Q(external_id__isnull=False),
                name="unique_item_external_id_per_entry_point",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} in {self.conversation_id}"

    @property
    def counts_as_agent_reply(self):
        """Only an agent's real message satisfies the Conversation SLA."""
        return self.kind == self.Kind.AGENT_MESSAGE and self.delivery_status != self.Delivery.FAILED


class Attachment(models.Model):
    """Media in a timeline item, stored by the app because Meta's links expire."""

    class Status(models.TextChoices):
        PENDING = "pending", "Downloading"
        STORED = "stored", "Stored"
        FAILED = "failed", "Could not be downloaded"

    item = models.ForeignKey(TimelineItem, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(max_length=20)
    original_url = models.URLField(max_length=2000, blank=True)
    file = models.FileField(upload_to="attachments/%Y/%m/", blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)

    def __str__(self):
        return f"{self.kind} attachment of item {self.item_id}"


class CustomerReaction(models.Model):
    """A reaction from the customer, kept for the record, not shown (Meta's limitation)."""

    entry_point = models.ForeignKey("channels_app.EntryPoint", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="reactions")
    message_external_id = models.CharField(max_length=255)
    action = models.CharField(max_length=10)
    reaction = models.CharField(max_length=20, blank=True)
    emoji = models.CharField(max_length=20, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Meta redelivers webhooks: the same reaction at the same moment is stored once.
            models.UniqueConstraint(
                fields=["entry_point", "customer", "message_external_id", "action", "occurred_at"],
                name="unique_customer_reaction",
            )
        ]


def validate_timezone_name(value):
    """A timezone must be an IANA name the server knows, e.g. Europe/Berlin."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"Unknown timezone “{value}”. Use an IANA name such as Europe/Berlin or America/New_York."
        ) from None


class BusinessHours(models.Model):
    """A named weekly schedule with holidays, used by an Inbox or an Entry Point."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone_name],
        help_text="IANA timezone the hours are in, e.g. Europe/Berlin or America/New_York.",
    )
    auto_reply_text = models.TextField(
        "outside-hours auto-reply",
        blank=True,
        help_text=(
            "Sent once to the first customer message of a conversation that arrives outside these hours. "
            "Leave empty to send nothing. An auto-reply never counts as an agent reply."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "Business Hours"
        verbose_name_plural = "Business Hours"

    def __str__(self):
        return self.name

    def as_schedule(self):
        """The plain schedule the time calculations in conversations.sla work on."""
        from .sla import Schedule

        return Schedule.build(
            self.timezone,
            [(i.weekday, i.opens_at, i.closes_at) for i in self.intervals.all()],
            [h.date for h in self.holidays.all()],
        )


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class BusinessHoursInterval(models.Model):
    """Open from `opens_at` to `closes_at` on a weekday (closes at 00:00 means midnight)."""

    business_hours = models.ForeignKey(BusinessHours, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField("opens")
    closes_at = models.TimeField("closes", help_text="00:00 means midnight (end of the day).")

    class Meta:
        ordering = ["weekday", "opens_at"]
        verbose_name = "opening hours"
        verbose_name_plural = "Weekly hours"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="interval_weekday_valid"),
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")) | Q(closes_at=datetime.time(0, 0)),
                name="interval_closes_after_opens",
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"

    @property
    def closes_at_midnight(self):
        return self.closes_at == datetime.time(0, 0)

    def clean(self):
        if self.opens_at is None or self.closes_at is None:
            return
        if not self.closes_at_midnight and self.closes_at <= self.opens_at:
            raise ValidationError(
                {
                    "closes_at": (
                        f"Closes at {self.closes_at:%H:%M}, before it opens at {self.opens_at:%H:%M}. "
                        "Use 00:00 to close at midnight."
                    )
                }
            )


class Holiday(models.Model):
    """A date the schedule stays closed all day (in the schedule's timezone)."""

    business_hours = models.ForeignKey(BusinessHours, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["business_hours", "date"], name="unique_holiday_date")]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.name}".strip()


class SlaPeriod(models.Model):
    """One wait of a customer for an agent's reply (the Conversation SLA clock).

    Started by a customer message when no agent reply is pending; satisfied by an
    agent's message (queued time); reopened if that message fails; stopped when
    the conversation closes. At most one is running per conversation.
    """

    class Kind(models.TextChoices):
        FIRST = "first", "First response"
        NEXT = "next", "Next response"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="sla_periods")
    inbox = models.ForeignKey("inbox.Inbox", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    satisfied_at = models.DateTimeField(null=True, blank=True)
    satisfied_by = models.ForeignKey(TimelineItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["inbox", "started_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(satisfied_at__isnull=True, stopped_at__isnull=True),
                name="one_running_sla_period_per_conversation",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} due {self.due_at:%Y-%m-%d %H:%M} in {self.conversation_id}"

    @property
    def running(self):
        return self.satisfied_at is None and self.stopped_at is None


class SlaReport(Conversation):
    """Settings › Conversation SLA report (a page, not a table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "Conversation SLA report"
        verbose_name_plural = "Conversation SLA report"


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
    close = models.BooleanField("close the conversation", default=False)
    created_at = models.DateTimeField(default=timezone.now)

    CONDITION_FIELDS = ["channel", "entry_point", "inbox", "first_message_only", "words", "customer_is_new", "hours"]
    ACTION_FIELDS = ["note_text", "auto_reply_text", "move_to_inbox", "assign_to", "close"]

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
            errors.append("Add at least one action: a note, an auto-reply, a move, an assignment or close.")
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
