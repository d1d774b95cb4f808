import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .fields import EncryptedTextField


class Channel(models.Model):
    """A kind of contact. One row per kind, created by a data migration."""

    class Kind(models.TextChoices):
        CHAT = "chat", "Chat"
        EMAIL = "email", "Email"
        VOICE = "voice", "Voice"
        SMS = "sms", "SMS"
        MESSAGING = "messaging", "Messaging"

    kind = models.CharField(max_length=20, choices=Kind.choices, unique=True)
    default_inbox = models.ForeignKey(
        "inbox.Inbox",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="default_for_channels",
        verbose_name="default Inbox",
        help_text="Where this Channel's conversations go unless an Exception says otherwise.",
    )

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.get_kind_display()


class EntryPointSettings(Channel):
    """Settings › Entry Points: a Channel's default Inbox and its Exceptions."""

    class Meta:
        proxy = True
        verbose_name = "Entry Points"
        verbose_name_plural = "Entry Points"


class EntryPoint(models.Model):
    """One address customers reach us at."""

    class Kind(models.TextChoices):
        INSTAGRAM = "instagram", "Instagram"
        MESSENGER = "messenger", "Facebook Messenger"
        WHATSAPP = "whatsapp", "WhatsApp"
        EMAIL_ADDRESS = "email_address", "Email address"
        PHONE_NUMBER = "phone_number", "Phone number"
        CHAT_WIDGET = "chat_widget", "Chat widget"

    # Which Channel each kind of entry point may belong to.
    CHANNEL_KINDS = {
        Kind.INSTAGRAM: {Channel.Kind.MESSAGING},
        Kind.MESSENGER: {Channel.Kind.MESSAGING},
        Kind.WHATSAPP: {Channel.Kind.MESSAGING},
        Kind.EMAIL_ADDRESS: {Channel.Kind.EMAIL},
        Kind.PHONE_NUMBER: {Channel.Kind.VOICE, Channel.Kind.SMS},
        Kind.CHAT_WIDGET: {Channel.Kind.CHAT},
    }

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="entry_points")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    display_name = models.CharField(max_length=200)
    external_id = models.CharField(
        max_length=100,
        help_text="The id the outside world uses: Instagram user id, address, number.",
    )
    active = models.BooleanField(
        default=True,
        help_text="Paused entry points keep inbound messages but do not route them until active again.",
    )
    business_hours = models.ForeignKey(
        "conversations.BusinessHours",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="entry_points",
        help_text="Overrides the Inbox's business hours for conversations from this entry point.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["channel_id", "display_name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "external_id"], name="unique_entry_point_address"),
        ]

    def __str__(self):
        return self.display_name

    def clean(self):
        allowed = self.CHANNEL_KINDS.get(self.kind, set())
        if self.channel_id and self.channel.kind not in allowed:
            raise ValidationError(
                {"channel": f"A {self.get_kind_display()} entry point cannot belong to {self.channel}."}
            )


class RoutingException(models.Model):
    """This Entry Point goes to that Inbox instead of its Channel's default Inbox."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="exceptions")
    entry_point = models.OneToOneField(EntryPoint, on_delete=models.CASCADE, related_name="routing_exception")
    inbox = models.ForeignKey("inbox.Inbox", on_delete=models.CASCADE, related_name="routing_exceptions")

    class Meta:
        verbose_name = "Exception"
        verbose_name_plural = "Exceptions"

    def __str__(self):
        return f"{self.entry_point} → {self.inbox}"

    def clean(self):
        if self.entry_point_id and self.channel_id and self.entry_point.channel_id != self.channel_id:
            raise ValidationError({"entry_point": "Choose an entry point of this Channel."})

    def save(self, *args, **kwargs):
        if self.entry_point_id and not self.channel_id:
            self.channel_id = self.entry_point.channel_id
        super().save(*args, **kwargs)


class PhoneNumber(models.Model):
    """A number we hold, before (or after) it becomes a Voice or SMS Entry Point."""

    class Status(models.TextChoices):
        HELD = "held", "Held"
        CONNECTED = "connected", "Connected"

    e164 = models.CharField(
        "number",
        max_length=16,
        unique=True,
        help_text="In international format, e.g. +14155550100.",
    )
    label = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    entry_point = models.OneToOneField(
        EntryPoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="phone_number",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["e164"]
        constraints = [
            models.CheckConstraint(condition=Q(e164__regex=r"^\+[1-9][0-9]{6,14}$"), name="phone_number_e164"),
            models.CheckConstraint(
                condition=(
                    Q(status="held", entry_point__isnull=True) | Q(status="connected", entry_point__isnull=False)
                ),
                name="phone_number_connected_has_entry_point",
            ),
        ]

    def __str__(self):
        return f"{self.e164} ({self.get_status_display()})"


class InstagramAccount(models.Model):
    """An Instagram Professional account connected through a Facebook Page."""

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_REAUTHORIZATION = "needs_reauthorization", "Needs reauthorization"
        NOT_SUBSCRIBED = "not_subscribed", "Webhooks not subscribed"
        REMOVED = "removed", "Removed"

    entry_point = models.OneToOneField(EntryPoint, on_delete=models.PROTECT, related_name="instagram_account")
    page_id = models.CharField("Page ID", max_length=64, unique=True)
    page_name = models.CharField("Page Name", max_length=200)
    ig_user_id = models.CharField("Instagram user id", max_length=64, unique=True)
    username = models.CharField("Username", max_length=100)
    name = models.CharField(max_length=200, blank=True)
    profile_picture_url = models.URLField(max_length=1000, blank=True)
    page_access_token = EncryptedTextField(editable=False)
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.CONNECTED)
    status_reason = models.TextField(blank=True)
    convert_story_mentions = models.BooleanField(
        "Convert Story @mentions to Conversations",
        default=False,
        help_text="Warning: story mentions can create hundreds or thousands of conversations.",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="Added By",
    )
    added_on = models.DateTimeField("Added On", default=timezone.now)
    # The send queue's drain lease: at most one active drainer per account.
    drain_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    drain_lease_owner = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["page_name"]
        verbose_name = "Instagram Messaging account"
        verbose_name_plural = "Instagram Messaging"

    def __str__(self):
        return f"{self.page_name} (@{self.username})"

    @property
    def sends_paused(self):
        return self.status in (self.Status.NEEDS_REAUTHORIZATION, self.Status.REMOVED)


class AccountEvent(models.Model):
    """Things counted per account that do not become timeline items."""

    class Kind(models.TextChoices):
        IGNORED_STORY_MENTION = "ignored_story_mention", "Story mention (not converted)"
        OUTSIDE_ECHO = "outside_echo", "Message sent outside the app"

    account = models.ForeignKey(InstagramAccount, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    external_id = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["account", "kind", "occurred_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "external_id"],
                condition=~Q(external_id=""),
                name="unique_account_event",
            )
        ]


class WebhookEvent(models.Model):
    """A raw webhook delivery from Meta, stored before we acknowledge it."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored"

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    object = models.CharField(max_length=20, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # When the sweeper last handed it to the workers again (it waits between
    # tries so a backlog is not multiplied by duplicates).
    swept_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self):
        return f"Webhook {self.pk} ({self.status})"


class OutboundMessage(models.Model):
    """One queued send to Meta; sent in order per account by drain_account."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        ATTACHMENT = "attachment", "Attachment"
        REACTION = "reaction", "Reaction"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(InstagramAccount, on_delete=models.PROTECT, related_name="outbound_messages")
    item = models.OneToOneField("conversations.TimelineItem", on_delete=models.CASCADE, related_name="outbound")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    recipient_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "status", "id"])]


class SendSlot(models.Model):
    """The limiter's ledger: one row per send taken from an account's budget."""

    account = models.ForeignKey(InstagramAccount, on_delete=models.CASCADE, related_name="send_slots")
    taken_at = models.DateTimeField(default=timezone.now)
    outbound = models.ForeignKey(OutboundMessage, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "taken_at"])]
