from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


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
    # The outbound queue's drain lease: at most one active drainer per entry point.
    drain_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    drain_lease_owner = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["channel_id", "display_name"]
        constraints = [
            # One address per Channel: a phone number can be an Entry Point of
            # both the SMS and the Voice Channel.
            models.UniqueConstraint(fields=["kind", "channel", "external_id"], name="unique_entry_point_address"),
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
        channel_id = self.entry_point.channel_id if self.entry_point_id else self.channel_id
        if self.inbox_id and channel_id and self.inbox.channel_id != channel_id:
            # Its agents work in another Channel: they would get conversations they cannot answer.
            raise ValidationError(
                {
                    "inbox": f"The {self.inbox} inbox belongs to the {self.inbox.channel} Channel; "
                    f"choose an inbox of the {self.entry_point.channel if self.entry_point_id else self.channel} "
                    "Channel."
                }
            )

    def save(self, *args, **kwargs):
        if self.entry_point_id and not self.channel_id:
            self.channel_id = self.entry_point.channel_id
        super().save(*args, **kwargs)


def default_ring_mode() -> str:
    mode = getattr(settings, "VOICE_RING_MODE", "simultaneous")
    return mode if mode in PhoneNumber.RingMode.values else PhoneNumber.RingMode.SIMULTANEOUS


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

    class RingMode(models.TextChoices):
        SIMULTANEOUS = "simultaneous", "Ring every available agent at once"
        IN_TURN = "in_turn", "Ring available agents one after another"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    entry_point = models.OneToOneField(
        EntryPoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="phone_number",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # How calls to the number are answered (Voice Channel); VOICE_RING_MODE is the default for new numbers.
    ring_mode = models.CharField(max_length=20, choices=RingMode.choices, default=default_ring_mode)
    voicemail_greeting = models.TextField(
        blank=True,
        max_length=1000,
        help_text="Read to callers before the voicemail tone, when nobody answers or outside Business Hours. "
        'Empty: "Thank you for calling [the Entry Point]. Nobody can take your call right now. Please leave a message '
        'after the tone, and we will get back to you."',
    )
    transcribe_voicemail = models.BooleanField(
        default=True, help_text="Voicemails arrive in the inbox as a recording and its transcript."
    )

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

    def entry_points(self):
        """Its Entry Points: one per Channel it is connected to (SMS, Voice). `entry_point` is the first."""
        return EntryPoint.objects.filter(kind=EntryPoint.Kind.PHONE_NUMBER, external_id=self.e164).select_related(
            "channel"
        )

    def entry_point_for(self, channel_kind: str):
        return self.entry_points().filter(channel__kind=channel_kind).first()
